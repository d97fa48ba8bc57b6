"""Contributors as promotion sees them, independent of Consonance's shapes.

A contributor's verified details live in two places in Consonance: the contact (name, bio, tags) and the
works they are credited on (titles, descriptions, publication dates, subjects — and the images, since a
person has no image field: a headshot is a work-level supporting resource). `PromotedWork` is one work
as the promotion poller last read it (`functions/connectors/consonance/promotion_mapping.py` makes it);
`assemble_contributor` puts one contributor together from their contact details and all their works:

- promotable: the contact carries the configured approval tag (`PromotionPolicy.approval_tag`);
- bio: `biographicalNote` reduced to the safe HTML subset, then to plain text (`functions.domain.validation`);
  each target trims it to its own limit at a word boundary (`bio_within`);
- headshot: among the supporting resources of every work they are on, those whose variant is
  `headshot_variant`, whose status is `approved_resource_status` and whose caption names the person
  (accents and case ignored, whole words); the newest (highest id) wins;
- books: the works they are on that are not podcast content (an episode is promoted through the author
  playlist, a book in the promo brief), newest publication first, with the contributor's roles on each.

Findings (non-blocking, on `contributor#<id>`): `unsafe_bio` (markup removed from the bio), and for a
promotable contributor `promotion_without_bio` and `promotion_without_headshot`.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from datetime import date
from typing import Literal

from functions.domain.models import Finding, Frozen
from functions.domain.promotion_policy import PromotionPolicy
from functions.domain.validation import plain_text, sanitise_description, truncate_at_word
from functions.flow_names import FlowName
from functions.state.keys import contributor_key

ContactKind = Literal["person", "organisation"]


class ContactDetails(Frozen):
    """What Consonance says about the contact itself (the same on every work that credits it)."""

    contributor_id: int
    name: str
    kind: ContactKind = "person"
    biographical_note: str | None = None  # as stored: HTML
    tags: tuple[str, ...] = ()


class WorkCredit(Frozen):
    contributor_id: int
    role_code: str  # ONIX list 17


class SupportingImage(Frozen):
    resource_id: int
    variant: str
    url: str
    caption: str = ""
    status: str = ""
    copyright: str | None = None


class PromotedWork(Frozen):
    """One Consonance work as promotion reads it."""

    work_id: int
    title: str
    podcast_content: bool  # its audio products are episodes (see `is_podcast_content` in the mapping)
    description: str = ""  # the first short description of its products, as stored (HTML)
    cover_url: str | None = None
    publication_date: date | None = None  # the earliest of its products' (publication, else planned)
    product_ids: tuple[int, ...] = ()
    subjects: tuple[str, ...] = ()  # BIC then BISAC codes
    credits: tuple[WorkCredit, ...] = ()
    contacts: tuple[ContactDetails, ...] = ()
    images: tuple[SupportingImage, ...] = ()

    def content_hash(self) -> str:
        return _hash(self)

    def contributor_ids(self) -> set[int]:
        return {credit.contributor_id for credit in self.credits}


class Headshot(Frozen):
    resource_id: int
    work_id: int
    url: str
    caption: str
    credit: str | None = None  # the resource's copyright line: printed with the photo


class Book(Frozen):
    work_id: int
    title: str
    roles: tuple[str, ...]
    description: str = ""  # plain text, whole (a brief trims it)
    cover_url: str | None = None
    publication_date: date | None = None
    product_ids: tuple[int, ...] = ()
    subjects: tuple[str, ...] = ()


class Contributor(Frozen):
    contributor_id: int
    name: str
    kind: ContactKind = "person"
    bio: str = ""  # plain text, whole
    tags: tuple[str, ...] = ()
    promotable: bool = False
    headshot: Headshot | None = None
    books: tuple[Book, ...] = ()
    work_ids: tuple[int, ...] = ()  # every work they are credited on, episodes included

    def content_hash(self) -> str:
        return _hash(self)

    def bio_within(self, limit: int) -> str:
        return truncate_at_word(self.bio, limit)


def assemble_contributor(
    contact: ContactDetails, works: list[PromotedWork], policy: PromotionPolicy
) -> tuple[Contributor, list[Finding]]:
    """The contributor from their contact details and every work that credits them (see the module docstring)."""
    findings: list[Finding] = []
    cleaned = sanitise_description(contact.biographical_note or "")
    if cleaned.removed:
        findings.append(_finding("unsafe_bio", contact.contributor_id, f"the bio contained {', '.join(cleaned.removed)}; removed"))
    bio = plain_text(cleaned.html)
    promotable = policy.approval_tag.casefold() in {tag.strip().casefold() for tag in contact.tags}
    crediting = sorted((w for w in works if contact.contributor_id in w.contributor_ids()), key=lambda w: w.work_id)
    headshot = _headshot(contact, crediting, policy)
    if promotable and not bio:
        findings.append(_finding("promotion_without_bio", contact.contributor_id, "approved for promotion but has no biographical note"))
    if promotable and headshot is None:
        findings.append(
            _finding(
                "promotion_without_headshot",
                contact.contributor_id,
                f"approved for promotion but no approved '{policy.headshot_variant}' image names them in its caption",
            )
        )
    books = [
        Book(
            work_id=work.work_id,
            title=work.title,
            roles=tuple(sorted({c.role_code for c in work.credits if c.contributor_id == contact.contributor_id})),
            description=plain_text(sanitise_description(work.description).html),
            cover_url=work.cover_url,
            publication_date=work.publication_date,
            product_ids=work.product_ids,
            subjects=work.subjects,
        )
        for work in crediting
        if not work.podcast_content
    ]
    books.sort(key=lambda b: (b.publication_date is None, -(b.publication_date or date.min).toordinal(), b.work_id))
    contributor = Contributor(
        contributor_id=contact.contributor_id,
        name=contact.name,
        kind=contact.kind,
        bio=bio,
        tags=contact.tags,
        promotable=promotable,
        headshot=headshot,
        books=tuple(books),
        work_ids=tuple(w.work_id for w in crediting),
    )
    return contributor, findings


def names_person(caption: str, name: str) -> bool:
    """Whether a caption names the person: their whole name as words, ignoring accents and case."""
    wanted = _folded(name)
    return bool(wanted) and re.search(rf"(?<!\w){re.escape(wanted)}(?!\w)", _folded(caption)) is not None


def _headshot(contact: ContactDetails, works: list[PromotedWork], policy: PromotionPolicy) -> Headshot | None:
    variant, status = policy.headshot_variant.casefold(), policy.approved_resource_status.casefold()
    candidates = [
        (image.resource_id, work.work_id, image)
        for work in works
        for image in work.images
        if image.variant.casefold() == variant
        and image.status.strip().casefold() == status
        and image.url
        and names_person(image.caption, contact.name)
    ]
    if not candidates:
        return None
    resource_id, work_id, image = max(candidates, key=lambda found: found[0])
    return Headshot(resource_id=resource_id, work_id=work_id, url=image.url, caption=image.caption, credit=image.copyright)


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return re.sub(r"\s+", " ", "".join(c for c in decomposed if not unicodedata.combining(c))).strip().casefold()


def _finding(code: str, contributor_id: int, message: str) -> Finding:
    return Finding(code=code, entity=str(contributor_key(contributor_id)), message=message, flow=FlowName.CONTRIBUTOR_POLLER, blocking=False)


def _hash(model: Frozen) -> str:
    canonical = json.dumps(model.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
