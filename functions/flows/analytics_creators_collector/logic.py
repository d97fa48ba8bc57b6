"""One opted-in show's Spotify for Creators figures (UNOFFICIAL) into the analytics store.

A `CreatorsCollectionDue` (the nightly run sends one per opted-in show) names the show and the days.
The collector lists the show's episodes from the dashboard API, reads the show's own figures and
then its episodes bucket by bucket (`creators_facts.collect_show`), writes each (day, batch) it read —
replacing what an earlier run wrote, so re-collecting a day never counts it twice — and records the
intake in the ledger. When the invocation's time runs short between buckets, the buckets left go out
as a continuation event, so a large show is collected over several invocations, never cut mid-bucket.

An expired login (`CreatorsLoginExpired`, permanent) tells operators — once a day — what stopped,
what still works and how to resume, marks the show in the ledger and dead-letters the record with
its reason. The Megaphone export, the Ads reports and the rollups do not depend on this source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from functions.alerts import AlertPublisher
from functions.analytics.creators_facts import CreatorsOptIn, collect_show, login_expired_alert, write_collection
from functions.analytics.intake import record_creators_collected, record_creators_login_expired
from functions.analytics.store import FactStore
from functions.connectors.spotify_creators import CreatorsLoginExpired, SpotifyCreatorsClient
from functions.domain.events import CreatorsCollectionDue
from functions.event_bus import EventBus
from functions.state.ledger import SyncLedger

SECONDS_PER_BUCKET = 60.0  # stop between buckets with less than this left (a bucket's episodes, paced)


@dataclass
class CollectorDeps:
    client: SpotifyCreatorsClient
    store: FactStore
    ledger: SyncLedger
    bus: EventBus
    alerts: AlertPublisher
    opt_in: CreatorsOptIn
    secret_id: str
    flow: str


@dataclass
class CollectOutcome:
    show_id: str
    rows: int
    objects: int
    requests: int
    continued_buckets: tuple[int, ...]
    findings: int


def collect(due: CreatorsCollectionDue, deps: CollectorDeps, now: datetime, time_left: Callable[[], float]) -> CollectOutcome:
    deps.opt_in.require(due.show_id)
    try:
        episodes = [item.id for item in deps.client.show_episodes(due.show_id, due.first_day, due.last_day)]
        collection = collect_show(
            deps.client,
            due.show_id,
            episodes,
            due.first_day,
            due.last_day,
            retrieved_at=now,
            opt_in=deps.opt_in,
            buckets=due.buckets,
            time_left=time_left,
            seconds_per_bucket=SECONDS_PER_BUCKET,
            with_show_facts=due.buckets is None,
            flow=deps.flow,
        )
    except CreatorsLoginExpired as exc:
        if record_creators_login_expired(deps.ledger, due.show_id, exc, now.date(), deps.flow):
            deps.alerts.publish(login_expired_alert(exc, deps.opt_in.shows_to_collect(), deps.secret_id))
        raise
    keys = write_collection(deps.store, collection)
    rows = sum(len(rows) for rows in collection.batches.values())
    record_creators_collected(deps.ledger, collection, due.first_day, due.last_day, rows, f"creators:/shows/{due.show_id}")
    if collection.remaining_buckets:
        deps.bus.publish(
            [
                CreatorsCollectionDue(
                    show_id=due.show_id,
                    first_day=due.first_day,
                    last_day=due.last_day,
                    buckets=collection.remaining_buckets,
                    correlation_id=due.correlation_id,
                )
            ]
        )
    return CollectOutcome(due.show_id, rows, len(keys), collection.requests, collection.remaining_buckets, len(collection.findings))
