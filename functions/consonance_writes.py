"""The one way anything is written back to Consonance, for every flow that does (the write-back flow,
the availability recorder, and the notes the marketing, distribution and analytics flows keep).

Each entity's write-backs are a ledger target of their own (`consonance-writeback`): per purpose (the
Spotify link, a note ...) what was written, the id Consonance gave it, and whether a write is pending.
So a write is made only when what Consonance should show differs from what was last written, and a
whole batch goes out as ONE GraphQL request.

Exactly once in effect — one rule for a link whose id is not known (never written by us, written by
a person, or a create whose answer was lost): read the products first and adopt the link Consonance
already has for that role; create only when there is none. A create is marked pending in the ledger
before it is sent, so a crash between Consonance applying it and the ledger recording it is healed by
the same read on the next attempt.

Internal notes (a campaign brief's summary, distribution problems, an analytics summary) are
marketing texts kept out of ONIX feeds: the note is the *internal* text; the external text Consonance
requires is one fixed line saying it is not for publication; no ONIX text variant is set, so no feed
maps it to an ONIX text type. (Consonance's docs do not say how feeds treat a variant-less text:
confirm with Consonance support for your account — `README.md`, "Notes in Consonance".) Each note
starts with a marker line naming the entity and purpose, which is how a note whose create answer was
lost is found again — the same look-before-create rule as links.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import hashlib
from typing import Literal

from functions.connectors.consonance.client import ConsonanceClient
from functions.connectors.consonance.records import InternalNoteWrite, ProductRecord, SpotifyLinkWrite, WebLinkRecord
from functions.connectors.errors import RequestRejected
from functions.state.keys import EntityKey, episode_key
from functions.state.ledger import LedgerEntry, SyncLedger, new_entry
from functions.state.targets import CONSONANCE_WRITEBACK, WritebackState, WritebackStatus, WrittenLink, WrittenText

SPOTIFY_LINK = "spotify"  # the purpose of the Spotify episode link on a product
NOT_FOR_PUBLICATION = "Internal note kept by the Consonance-Spotify integration. Not for publication."
NOTE_MARKER = "<!-- consonance-spotify note: {entity} {purpose} -->"


@dataclass(frozen=True)
class InternalNote:
    """What one internal note on a Consonance work (and some of its products) should say."""

    key: EntityKey  # the ledger entity the note belongs to (a work, an episode, a campaign ...)
    purpose: str  # one note per purpose per entity, updated in place: "campaign-brief", "distribution" ...
    work_id: int
    markdown: str
    product_ids: tuple[int, ...] = ()

    @property
    def marker(self) -> str:
        return NOTE_MARKER.format(entity=self.key, purpose=self.purpose)

    @property
    def body(self) -> str:
        return f"{self.marker}\n\n{self.markdown.strip()}\n"

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.body.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class LinkPurpose:
    """A kind of web link the integration keeps on products. Its description reads
    "<label>: <status>"; `role` is its ONIX website role (None: the deployment's Spotify link role).
    `find` is how a link of this purpose whose id the ledger does not know is recognised on the
    product (the recovery rule): its role, and its description's label."""

    name: str  # the key in the write-back entry's `links`
    label: str
    role: str | None = None

    def find(self, product: ProductRecord, default_role: str) -> WebLinkRecord | None:
        role = self.role or default_role
        prefix = f"{self.label}: "
        return next((link for link in product.web_links if link.role == role and (link.description or "").startswith(prefix)), None)

    def status_in(self, description: str | None) -> str | None:
        prefix = f"{self.label}: "
        return description.removeprefix(prefix) if description is not None and description.startswith(prefix) else None


@dataclass(frozen=True)
class SpotifyLinkPurpose(LinkPurpose):
    """The Spotify episode link: recognised by its role and a Spotify host, whoever wrote it."""

    def find(self, product: ProductRecord, default_role: str) -> WebLinkRecord | None:
        return product.spotify_link(self.role or default_role)


SPOTIFY_LINK_PURPOSE = SpotifyLinkPurpose(SPOTIFY_LINK, "Spotify")


@dataclass(frozen=True)
class WebLinkStatus:
    """What one web link of one purpose on a product should show; `key` is the ledger entity whose
    write-back entry remembers it (the episode for the Spotify link, the licence for status links)."""

    key: EntityKey
    product_id: int
    purpose: LinkPurpose
    url: str
    status: str


@dataclass(frozen=True)
class LinkStatus:
    """What a product's Spotify link should show."""

    product_id: int
    url: str
    status: str  # e.g. "live", "draft", "withdrawn", "taken down in US"


class ConsonanceWriteback:
    def __init__(self, consonance: ConsonanceClient, ledger: SyncLedger, note_updates: Literal["update", "recreate"] = "update"):
        self.consonance = consonance
        self.ledger = ledger
        self.note_updates = note_updates

    def shown_link_status(self, product_id: int) -> str | None:
        """The status last written on the product's Spotify link, by any flow."""
        entry = self.ledger.get(episode_key(product_id), CONSONANCE_WRITEBACK)
        link = entry.state.links.get(SPOTIFY_LINK) if entry is not None else None
        return link.status if link is not None and not link.pending else None

    def write_spotify_links(self, wanted: Sequence[LinkStatus]) -> list[Exception | None]:
        """Outcome per item of `wanted`: None when Consonance shows it (now or already), else the error.
        The same product twice: the later item wins and the earlier one counts as done."""
        return self.write_web_links(
            [WebLinkStatus(episode_key(item.product_id), item.product_id, SPOTIFY_LINK_PURPOSE, item.url, item.status) for item in wanted]
        )

    def write_web_links(self, wanted: Sequence[WebLinkStatus]) -> list[Exception | None]:
        """Any web link the integration keeps on products (the Spotify link, a branded asset's status
        links), by purpose, in ONE request. Outcome per item: None when Consonance shows it (now or
        already), else the error; the same (entity, purpose) twice: the later one wins."""
        outcomes: list[Exception | None] = [None] * len(wanted)
        latest = {(item.key, item.purpose.name): index for index, item in enumerate(wanted)}
        entries = self.ledger.get_many(list(dict.fromkeys(item.key for item in wanted)), CONSONANCE_WRITEBACK)
        due: list[int] = []
        for (key, purpose), index in latest.items():
            item = wanted[index]
            entry = entries.setdefault(key, new_entry(key, CONSONANCE_WRITEBACK))
            current = entry.state.links.get(purpose)
            if current is not None and not current.pending and (current.url, current.status) == (item.url, item.status):
                continue
            due.append(index)
        if not due:
            return outcomes
        self._adopt_existing_links([wanted[i] for i in due], entries)
        writes: list[int] = []
        for index in due:
            item, entry = wanted[index], entries[wanted[index].key]
            link = entry.state.links.get(item.purpose.name)
            if link is not None and not link.pending and (link.url, link.status) == (item.url, item.status):
                self.ledger.save(entry)  # Consonance already shows it: adopted, nothing to write
                continue
            if link is None or link.link_id is None:  # a create: mark it before sending it
                entry.state.links[item.purpose.name] = WrittenLink(url=item.url, status=item.status, pending=True)
                entry.set_status(WritebackStatus.PENDING, f"creating the {item.purpose.label} link ({item.status})")
                self.ledger.save(entry)
            writes.append(index)
        if not writes:
            return outcomes
        requests = [self._link_write(wanted[index], entries[wanted[index].key]) for index in writes]
        results = self.consonance.record_spotify_links(requests)
        for index, request, result in zip(writes, requests, results, strict=True):
            item, entry = wanted[index], entries[wanted[index].key]
            if result.errors:
                reason = "; ".join(result.errors)
                outcomes[index] = RequestRejected("consonance", f"{item.purpose.label} link on product {item.product_id} rejected: {reason}")
                continue
            entry.state.links[item.purpose.name] = WrittenLink(link_id=result.link_id, url=request.url, status=request.status)
            entry.set_status(WritebackStatus.CURRENT, f"{item.purpose.label} link: {request.status}")
            entry.record("written_back", f"{item.purpose.name}: {request.status} {request.url}")
            self.ledger.save(entry)
        return outcomes

    @staticmethod
    def _link_write(item: WebLinkStatus, entry: LedgerEntry[WritebackState]) -> SpotifyLinkWrite:
        link = entry.state.links.get(item.purpose.name)
        return SpotifyLinkWrite(
            product_id=item.product_id,
            url=item.url,
            status=item.status,
            existing_link_id=link.link_id if link is not None else None,
            label=item.purpose.label,
            role=item.purpose.role,
        )

    def _adopt_existing_links(self, items: list[WebLinkStatus], entries: dict[EntityKey, LedgerEntry[WritebackState]]) -> None:
        """The recovery rule: products holding links whose id we do not know are read (one request),
        and the link Consonance already has for that purpose is adopted, with what it shows now."""
        unknown = [
            item for item in items if (link := entries[item.key].state.links.get(item.purpose.name)) is None or link.link_id is None
        ]
        if not unknown:
            return
        products = self.consonance.products(list(dict.fromkeys(item.product_id for item in unknown)))
        for item in unknown:
            record = products.get(item.product_id)
            existing = item.purpose.find(record, self.consonance.link_role) if record is not None else None
            if existing is None:
                continue
            entry = entries[item.key]
            entry.state.links[item.purpose.name] = WrittenLink(link_id=existing.id, url=existing.link, status=item.purpose.status_in(existing.description) or "")
            entry.record("link_adopted", f"Consonance already has link {existing.id} ({existing.description or 'no description'})")

    # notes -----------------------------------------------------------------------------------------
    def write_internal_notes(self, notes: Sequence[InternalNote]) -> list[Exception | None]:
        """Outcome per note: None when Consonance shows it (now or already), else the error. Unchanged
        notes write nothing; the same (entity, purpose) twice: the later one wins."""
        outcomes: list[Exception | None] = [None] * len(notes)
        latest = {(note.key, note.purpose): index for index, note in enumerate(notes)}
        entries = self.ledger.get_many(list(dict.fromkeys(note.key for note in notes)), CONSONANCE_WRITEBACK)
        due: list[int] = []
        for (key, purpose), index in latest.items():
            if key not in entries:
                entries[key] = new_entry(key, CONSONANCE_WRITEBACK)
            current = entries[key].state.texts.get(purpose)
            if current is None or current.pending or current.content_hash != notes[index].content_hash:
                due.append(index)
        if not due:
            return outcomes
        self._adopt_existing_notes([notes[i] for i in due], entries)
        writes: list[tuple[int, InternalNoteWrite]] = []
        for index in due:
            note, entry = notes[index], entries[notes[index].key]
            current = entry.state.texts.get(note.purpose)
            if current is not None and not current.pending and current.content_hash == note.content_hash:
                self.ledger.save(entry)  # adopted, and already what it should say
                continue
            existing = current.text_id if current is not None and self.note_updates == "update" else None
            if existing is None:  # a create: mark it before sending it
                entry.state.texts[note.purpose] = WrittenText(text_id=None, content_hash=note.content_hash, pending=True)
                entry.set_status(WritebackStatus.PENDING, f"creating the {note.purpose} note")
                self.ledger.save(entry)
            writes.append(
                (
                    index,
                    InternalNoteWrite(
                        work_id=note.work_id,
                        product_ids=note.product_ids,
                        internal_markdown=note.body,
                        external_markdown=NOT_FOR_PUBLICATION,
                        existing_text_id=existing,
                        client_reference=f"{note.key}:{note.purpose}",
                    ),
                )
            )
        if not writes:
            return outcomes
        results = self.consonance.record_internal_notes([write for _, write in writes])
        for (index, write), result in zip(writes, results, strict=True):
            note, entry = notes[index], entries[notes[index].key]
            if not result.ok:
                outcomes[index] = RequestRejected("consonance", f"{note.purpose} note on work {note.work_id} rejected: {'; '.join(result.errors)}")
                continue
            entry.state.texts[note.purpose] = WrittenText(text_id=result.text_id, content_hash=note.content_hash)
            entry.set_status(WritebackStatus.CURRENT, f"{note.purpose} note written")
            entry.record("note_written", f"{note.purpose} (text {result.text_id}, {'updated' if write.existing_text_id else 'created'})")
            self.ledger.save(entry)
        return outcomes

    def _adopt_existing_notes(self, notes: list[InternalNote], entries: dict[EntityKey, LedgerEntry[WritebackState]]) -> None:
        """The recovery rule for notes: where the note's text id is not known, read the works' marketing
        texts (one request) and adopt the one that starts with the note's marker."""
        unknown = [n for n in notes if (t := entries[n.key].state.texts.get(n.purpose)) is None or t.text_id is None]
        if not unknown:
            return
        texts = self.consonance.notes_of_works([note.work_id for note in unknown])
        for note in unknown:
            found = next((t for t in texts.get(note.work_id, []) if t.internal_text_markdown.startswith(note.marker)), None)
            if found is None or found.id is None:
                continue
            body_hash = hashlib.sha256(found.internal_text_markdown.encode()).hexdigest()[:32]
            entries[note.key].state.texts[note.purpose] = WrittenText(text_id=found.id, content_hash=body_hash)
            entries[note.key].record("note_adopted", f"{note.purpose}: Consonance already has text {found.id}")
