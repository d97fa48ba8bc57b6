"""The one way anything is written back to Consonance, for every flow that does (the write-back flow,
the availability recorder, and the marketing flows' notes).

Each entity's write-backs are a ledger target of their own (`consonance-writeback`): per purpose (the
Spotify link, a note ...) what was written, the id Consonance gave it, and whether a write is pending.
So a write is made only when what Consonance should show differs from what was last written, and a
whole batch goes out as ONE GraphQL request.

Exactly once in effect — one rule for a link whose id is not known (never written by us, written by
a person, or a create whose answer was lost): read the products first and adopt the link Consonance
already has for that role; create only when there is none. A create is marked pending in the ledger
before it is sent, so a crash between Consonance applying it and the ledger recording it is healed by
the same read on the next attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from functions.connectors.consonance.client import ConsonanceClient
from functions.connectors.consonance.records import SpotifyLinkWrite
from functions.connectors.errors import RequestRejected
from functions.state.keys import episode_key
from functions.state.ledger import LedgerEntry, SyncLedger, new_entry
from functions.state.targets import CONSONANCE_WRITEBACK, WritebackState, WritebackStatus, WrittenLink

SPOTIFY_LINK = "spotify"  # the purpose of the Spotify episode link on a product


@dataclass(frozen=True)
class LinkStatus:
    """What a product's Spotify link should show."""

    product_id: int
    url: str
    status: str  # e.g. "live", "draft", "withdrawn", "taken down in US"


class ConsonanceWriteback:
    def __init__(self, consonance: ConsonanceClient, ledger: SyncLedger):
        self.consonance = consonance
        self.ledger = ledger

    def shown_link_status(self, product_id: int) -> str | None:
        """The status last written on the product's Spotify link, by any flow."""
        entry = self.ledger.get(episode_key(product_id), CONSONANCE_WRITEBACK)
        link = entry.state.links.get(SPOTIFY_LINK) if entry is not None else None
        return link.status if link is not None and not link.pending else None

    def write_spotify_links(self, wanted: Sequence[LinkStatus]) -> list[Exception | None]:
        """Outcome per item of `wanted`: None when Consonance shows it (now or already), else the error.
        The same product twice: the later item wins and the earlier one counts as done."""
        outcomes: list[Exception | None] = [None] * len(wanted)
        latest = {item.product_id: index for index, item in enumerate(wanted)}
        entries = self.ledger.get_many([episode_key(pid) for pid in latest], CONSONANCE_WRITEBACK)
        pending: dict[int, LedgerEntry[WritebackState]] = {}
        for product_id, index in latest.items():
            item = wanted[index]
            entry = entries.get(episode_key(product_id)) or new_entry(episode_key(product_id), CONSONANCE_WRITEBACK)
            current = entry.state.links.get(SPOTIFY_LINK)
            if current is not None and not current.pending and (current.url, current.status) == (item.url, item.status):
                continue
            pending[product_id] = entry
        if not pending:
            return outcomes
        self._adopt_existing_links(pending, {pid: wanted[latest[pid]] for pid in pending})
        writes: list[tuple[int, LedgerEntry[WritebackState]]] = []
        for product_id, entry in pending.items():
            item, link = wanted[latest[product_id]], entry.state.links.get(SPOTIFY_LINK)
            if link is not None and not link.pending and (link.url, link.status) == (item.url, item.status):
                self.ledger.save(entry)  # Consonance already shows it: adopted, nothing to write
                continue
            if link is None or link.link_id is None:  # a create: mark it before sending it
                entry.state.links[SPOTIFY_LINK] = WrittenLink(url=item.url, status=item.status, pending=True)
                entry.set_status(WritebackStatus.PENDING, f"creating the Spotify link ({item.status})")
                self.ledger.save(entry)
            writes.append((product_id, entry))
        if not writes:
            return outcomes
        requests = [
            SpotifyLinkWrite(
                product_id=product_id,
                url=wanted[latest[product_id]].url,
                status=wanted[latest[product_id]].status,
                existing_link_id=entry.state.links[SPOTIFY_LINK].link_id if SPOTIFY_LINK in entry.state.links else None,
            )
            for product_id, entry in writes
        ]
        results = {result.product_id: result for result in self.consonance.record_spotify_links(requests)}
        for (product_id, entry), request in zip(writes, requests, strict=True):
            result = results.get(product_id)
            if result is None or result.errors:
                reason = "; ".join(result.errors) if result else "no result returned"
                outcomes[latest[product_id]] = RequestRejected("consonance", f"write-back for product {product_id} rejected: {reason}")
                continue
            entry.state.links[SPOTIFY_LINK] = WrittenLink(link_id=result.link_id, url=request.url, status=request.status)
            entry.set_status(WritebackStatus.CURRENT, f"Spotify link: {request.status}")
            entry.record("written_back", f"{request.status} {request.url}")
            self.ledger.save(entry)
        return outcomes

    def _adopt_existing_links(self, entries: dict[int, LedgerEntry[WritebackState]], wanted: dict[int, LinkStatus]) -> None:
        """The recovery rule: products whose link id we do not know are read (one request), and the
        Spotify link Consonance already has is adopted, with what it shows now."""
        unknown = [pid for pid, entry in entries.items() if (link := entry.state.links.get(SPOTIFY_LINK)) is None or link.link_id is None]
        if not unknown:
            return
        products = self.consonance.products(unknown)
        for product_id in unknown:
            record = products.get(product_id)
            link = record.spotify_link(self.consonance.link_role) if record is not None else None
            if link is None:
                continue
            status = SpotifyLinkWrite.status_in(link.description) or ""
            entry = entries[product_id]
            entry.state.links[SPOTIFY_LINK] = WrittenLink(link_id=link.id, url=link.link, status=status)
            entry.record("link_adopted", f"Consonance already has link {link.id} ({link.description or 'no description'})")
