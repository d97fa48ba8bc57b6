"""The words on an ad, held to the Ads API's limits before anything is sent: advertiser name 2–25
characters, tagline 2–40 characters with no space at either end (`^\\S.*\\S$`), ad and entity names
2–200. What does not fit is shortened at a word boundary, never cut mid-word; what cannot be made to
fit is a finding (`AdCopyProblem`), not a rejected request.
"""

from __future__ import annotations

import re
import unicodedata

from functions.domain.models import Frozen

ADVERTISER_NAME_MAX = 25
TAGLINE_MAX = 40
NAME_MAX = 200
ELLIPSIS = "…"
_NO_OUTER_SPACE = re.compile(r"^\S.*\S$", re.DOTALL)


class AdCopyProblem(Frozen):
    code: str
    message: str


class AdCopy(Frozen):
    advertiser_name: str
    tagline: str


def shorten(text: str, limit: int) -> str:
    """`text` in at most `limit` characters: whole words, an ellipsis when something was left out."""
    clean = " ".join(unicodedata.normalize("NFC", text).split())
    if len(clean) <= limit:
        return clean
    words, kept = clean.split(" "), ""
    for word in words:
        candidate = f"{kept} {word}".strip()
        if len(candidate) + len(ELLIPSIS) > limit:
            break
        kept = candidate
    return (kept.rstrip(",;:—-– ") + ELLIPSIS) if kept else ""


def fits(text: str, low: int, high: int) -> bool:
    return low <= len(text) <= high and bool(_NO_OUTER_SPACE.match(text))


def derive_copy(
    *, advertiser: str, taglines: tuple[str, ...], title: str, author: str | None
) -> AdCopy | list[AdCopyProblem]:
    """The advertiser name (the publisher or imprint, shortened to 25) and the first tagline template
    that fits 40 characters with the title and author filled in; failing all, the shortest template
    with the title shortened."""
    problems: list[AdCopyProblem] = []
    name = shorten(advertiser, ADVERTISER_NAME_MAX)
    if not fits(name, 2, ADVERTISER_NAME_MAX):
        problems.append(AdCopyProblem(code="ad_copy_advertiser_name", message=f"advertiser name {advertiser!r} cannot be made 2–25 characters"))
    tagline = _tagline(taglines, title, author)
    if tagline is None:
        problems.append(
            AdCopyProblem(code="ad_copy_tagline", message=f"no tagline of 2–40 characters can be made for {title!r} from {list(taglines)}")
        )
    if problems:
        return problems
    assert tagline is not None
    return AdCopy(advertiser_name=name, tagline=tagline)


def _tagline(templates: tuple[str, ...], title: str, author: str | None) -> str | None:
    usable = [t for t in templates if author or "{author}" not in t]
    for template in usable:
        text = " ".join(template.format(title=title, author=author or "").split())
        if fits(text, 2, TAGLINE_MAX):
            return text
    if not usable:
        return None
    shortest = min(usable, key=lambda t: len(t.format(title="", author=author or "")))
    room = TAGLINE_MAX - len(" ".join(shortest.format(title="", author=author or "").split()))
    short_title = shorten(title, room)
    text = " ".join(shortest.format(title=short_title, author=author or "").split()) if short_title else ""
    return text if fits(text, 2, TAGLINE_MAX) else None


def entity_name(*parts: str) -> str:
    """An Ads entity name (2–200 characters) from its parts, the identifying marker first."""
    return shorten(" ".join(p for p in parts if p), NAME_MAX)
