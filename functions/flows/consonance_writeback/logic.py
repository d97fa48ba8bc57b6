"""Writes each episode's Spotify link and status back onto its Consonance product.

A whole SQS batch becomes ONE GraphQL request (aliased mutations), so write-back costs a fraction of a
call per episode. Exactly once in effect: the ledger remembers the link id Consonance gave us and the
last status written; a write already done is skipped; a create whose answer was lost is found again by
reading the product's web links before creating another.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.connectors.consonance import ConsonanceClient, SpotifyLinkWrite
from functions.connectors.errors import RequestRejected
from functions.domain.errors import InvalidRecord
from functions.domain.events import EpisodeDelivered
from functions.flows.ledger_keys import TARGET, episode_key
from functions.settings import Settings
from functions.state.ledger import LedgerEntry, SyncLedger


@dataclass
class WritebackDeps:
    ledger: SyncLedger
    consonance: ConsonanceClient
    settings: Settings


def spotify_url(spotify_id: str, settings: Settings) -> str:
    return settings.spotify_show_url.format(spotify_id=spotify_id)


def write_back(events: list[EpisodeDelivered], deps: WritebackDeps) -> dict[int, Exception | None]:
    """Outcome per index in `events`: None when applied (or already applied), else the error."""
    outcomes: dict[int, Exception | None] = {}
    pending: dict[int, tuple[list[int], LedgerEntry, SpotifyLinkWrite]] = {}
    for index, event in enumerate(events):
        target = deps.ledger.get(episode_key(event.product_id), TARGET)
        if target is None or not event.spotify_id:
            outcomes[index] = InvalidRecord(f"product {event.product_id} has no delivered Megaphone episode in the ledger")
            continue
        url = spotify_url(event.spotify_id, deps.settings)
        marker = f"{event.status}|{url}"
        if target.attributes.get("written_back") == marker:
            outcomes[index] = None
            continue
        if event.product_id in pending:  # the same product twice in one batch: the later event wins
            indexes, _, _ = pending[event.product_id]
            outcomes.update({i: None for i in indexes})
        link_id = target.attributes.get("consonance_link_id")
        if link_id is None and target.attributes.get("writeback_pending"):
            link_id = _existing_link_id(event.product_id, url, deps)
        write = SpotifyLinkWrite(product_id=event.product_id, url=url, status=event.status, existing_link_id=link_id)
        pending[event.product_id] = ([index], target, write)
    if not pending:
        return outcomes
    for _, target, write in pending.values():
        if write.existing_link_id is None and not target.attributes.get("writeback_pending"):
            target.attributes["writeback_pending"] = True
            deps.ledger.save(target)
    results = {r.product_id: r for r in deps.consonance.record_spotify_links([w for _, _, w in pending.values()])}
    for product_id, (indexes, target, write) in pending.items():
        result = results.get(product_id)
        if result is None or result.errors:
            reason = "; ".join(result.errors) if result else "no result returned"
            error: Exception | None = RequestRejected("consonance", f"write-back for product {product_id} rejected: {reason}")
        else:
            target.attributes.update(
                consonance_link_id=result.link_id,
                written_back=f"{write.status}|{write.url}",
                writeback_pending=False,
            )
            target.record("written_back", f"{write.status} {write.url}")
            deps.ledger.save(target)
            error = None
        outcomes.update({i: error for i in indexes})
    return outcomes


def _existing_link_id(product_id: int, url: str, deps: WritebackDeps) -> int | None:
    product = deps.consonance.product(product_id)
    for link in getattr(product, "web_links", None) or []:
        if link.link == url:
            return link.id
    return None
