"""Writes each episode's Spotify link and status back onto its Consonance product, through the one
write-back service (`functions.consonance_writes`): a whole SQS batch becomes ONE GraphQL request,
a write already done is skipped, and a link whose id is not known is looked up before one is created.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.consonance_writes import ConsonanceWriteback, LinkStatus
from functions.domain.errors import InvalidRecord
from functions.domain.events import EpisodeDelivered


@dataclass
class WritebackDeps:
    writeback: ConsonanceWriteback
    spotify_url_template: str


def spotify_url(spotify_id: str, template: str) -> str:
    return template.format(spotify_id=spotify_id)


def write_back(events: list[EpisodeDelivered], deps: WritebackDeps) -> dict[int, Exception | None]:
    """Outcome per index in `events`: None when applied (or already applied), else the error."""
    outcomes: dict[int, Exception | None] = {}
    wanted: list[tuple[int, LinkStatus]] = []
    for index, event in enumerate(events):
        if not event.spotify_id:
            outcomes[index] = InvalidRecord(f"product {event.product_id}: a delivery without a Spotify id has no link to write")
            continue
        wanted.append((index, LinkStatus(product_id=event.product_id, url=spotify_url(event.spotify_id, deps.spotify_url_template), status=event.status)))
    results = deps.writeback.write_spotify_links([status for _, status in wanted])
    for (index, _), result in zip(wanted, results, strict=True):
        outcomes[index] = result
    return outcomes
