"""`backfill`: push a series, a release-date range or the whole catalogue through the same flows the
poller feeds, at a pace the downstream APIs' rate limits can take.

Nothing here decides anything about publishing. For each product in scope, read from Consonance with
the poller's own client (and its shared rate limiter), it does what a poll does when a product
changed — `functions.flows.consonance_poller.logic.announcement`, forced even when nothing changed:
the events go on the bus first (`EpisodeChanged`, `RightsChanged` when the rights changed, then one
`SeriesChanged` per series at the end), then the source entry is saved. The bus is built with the
poller's declared `emits`, so a backfill can put nothing the poller could not. The publisher, rights
sync and metadata sync take it from there as they would any change, each with its own idempotency
and its own checks.

Pacing: one product every 60 / `per_minute` seconds (on `functions.clock`, so the sandbox's virtual
clock paces a sandbox backfill). The default leaves the flows' own traffic room under Megaphone's
limit, the tightest downstream budget:

    per_minute = floor(MEGAPHONE_RATE_PER_MINUTE × BACKFILL_SHARE_OF_MEGAPHONE / MEGAPHONE_CALLS_PER_EPISODE)

with the deployed MEGAPHONE_RATE_PER_MINUTE (60 unless configured), half of it for the backfill, and
three Megaphone calls per new episode (inferred: the publisher's create, the ingest checker's status
read, the metadata sync's series update) — 10 products a minute by default; `--per-minute` overrides.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from functions.clock import Clock
from functions.connectors.consonance.client import ConsonanceClient
from functions.connectors.consonance.mapping import map_product
from functions.connectors.consonance.records import ProductRecord
from functions.domain.events import SeriesChanged
from functions.domain.models import Episode
from functions.event_bus import EventBus
from functions.flows.consonance_poller.logic import FIRST_POLL_SINCE, announcement
from functions.mapping_config import MappingConfig
from functions.state.keys import episode_key
from functions.state.ledger import SyncLedger, new_entry
from functions.state.targets import EPISODE_SOURCE

MEGAPHONE_CALLS_PER_EPISODE = 3  # inferred: create, ingest status read, series update
BACKFILL_SHARE_OF_MEGAPHONE = 0.5  # the other half stays for the flows' own edits during the backfill


def default_per_minute(megaphone_rate_per_minute: int) -> int:
    """Products a minute that keep a backfill inside its share of Megaphone's rate limit."""
    return max(1, math.floor(megaphone_rate_per_minute * BACKFILL_SHARE_OF_MEGAPHONE / MEGAPHONE_CALLS_PER_EPISODE))


@dataclass(frozen=True)
class BackfillScope:
    """Which products: one series, a range of release dates (inclusive), both, or everything."""

    series_id: int | None = None
    released_from: date | None = None
    released_to: date | None = None

    def __post_init__(self) -> None:
        if self.released_from and self.released_to and self.released_from > self.released_to:
            raise ValueError(f"the range starts after it ends: {self.released_from} > {self.released_to}")

    @property
    def whole_catalogue(self) -> bool:
        return self.series_id is None and self.released_from is None and self.released_to is None

    def includes(self, episode: Episode | None) -> bool:
        """A product is in scope by what the mapping makes of it; one that maps to no episode (its
        findings say why) is in scope only for the whole catalogue: the poller would record it too."""
        if episode is None:
            return self.whole_catalogue
        if self.series_id is not None and (episode.show is None or episode.show.series_id != self.series_id):
            return False
        if self.released_from is None and self.released_to is None:
            return True
        released = episode.release_date
        if released is None:
            return False
        return (self.released_from is None or released >= self.released_from) and (self.released_to is None or released <= self.released_to)

    def describe(self) -> str:
        parts = [f"series {self.series_id}"] if self.series_id is not None else []
        if self.released_from or self.released_to:
            parts.append(f"released {self.released_from or '…'} to {self.released_to or '…'}")
        return ", ".join(parts) or "the whole catalogue"


def products_in_scope(
    consonance: ConsonanceClient, mapping: MappingConfig, scope: BackfillScope, on_read: Callable[[int], None] = lambda count: None
) -> list[ProductRecord]:
    """Every audio product in Consonance (as a first poll reads them), kept when in scope."""
    chosen: list[ProductRecord] = []
    for read, record in enumerate(consonance.iter_changed_products(FIRST_POLL_SINCE), start=1):
        on_read(read)
        if record.id is not None and scope.includes(map_product(record, mapping).episode):
            chosen.append(record)
    return chosen


class Pacer:
    """At most `per_minute` starts a minute, evenly spaced, on the given clock."""

    def __init__(self, per_minute: int, clock: Clock):
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.per_minute = per_minute
        self.interval = timedelta(minutes=1) / per_minute
        self.clock = clock
        self._next: datetime | None = None

    def wait(self) -> None:
        now = self.clock.now()
        if self._next is not None and now < self._next:
            self.clock.sleep((self._next - now).total_seconds())
            now = self._next
        self._next = now + self.interval

    def time_for(self, count: int) -> timedelta:
        """How long `count` more starts take at this pace."""
        return self.interval * max(0, count - 1) if self._next is None else self.interval * count


@dataclass
class BackfillOutcome:
    scope: str
    per_minute: int
    announced: list[int] = field(default_factory=list)  # product ids whose EpisodeChanged went on the bus
    rights_changed: list[int] = field(default_factory=list)
    not_publishable: list[int] = field(default_factory=list)  # mapped to no episode: the findings are on the source entry
    series_changed: list[int] = field(default_factory=list)
    events_put: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "scope": self.scope,
            "per_minute": self.per_minute,
            "announced": self.announced,
            "rights_changed": self.rights_changed,
            "not_publishable": self.not_publishable,
            "series_changed": self.series_changed,
            "events_put": self.events_put,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


@dataclass
class BackfillDeps:
    ledger: SyncLedger
    bus: EventBus  # built with the poller's declared emits
    mapping: MappingConfig


def backfill(
    deps: BackfillDeps,
    records: Iterable[ProductRecord],
    scope: BackfillScope,
    pacer: Pacer,
    correlation_id: str,
    on_product: Callable[[int], None] = lambda product_id: None,
) -> BackfillOutcome:
    """Announce each product as the poller would, one every pacer interval; then each series once."""
    outcome = BackfillOutcome(scope=scope.describe(), per_minute=pacer.per_minute, started_at=pacer.clock.now())
    series: set[int] = set()
    why = f"backfill {correlation_id} ({scope.describe()})"
    for record in _with_ids(records):
        pacer.wait()
        key = episode_key(record.id)  # type: ignore[arg-type]  # _with_ids keeps records with an id
        entry = deps.ledger.get(key, EPISODE_SOURCE) or new_entry(key, EPISODE_SOURCE)
        announced = announcement(record, entry, deps.mapping, correlation_id, even_if_unchanged=why)
        assert announced is not None  # forced: always an announcement
        entry, events = announced
        if events:
            deps.bus.publish(events)
            outcome.events_put += len(events)
        deps.ledger.save(entry)
        episode = entry.state.episode
        if episode is None:
            outcome.not_publishable.append(entry.key.number)
        else:
            outcome.announced.append(episode.product_id)
            outcome.rights_changed += [episode.product_id for event in events if event.detail_type == "RightsChanged"]
            if episode.show is not None:
                series.add(episode.show.series_id)
        on_product(entry.key.number)
    if series:
        deps.bus.publish([SeriesChanged(series_id=s, reason=f"backfill: {scope.describe()}", correlation_id=correlation_id) for s in sorted(series)])
        outcome.events_put += len(series)
    outcome.series_changed = sorted(series)
    outcome.finished_at = pacer.clock.now()
    return outcome


def _with_ids(records: Iterable[ProductRecord]) -> Iterator[ProductRecord]:
    return (record for record in records if record.id is not None)
