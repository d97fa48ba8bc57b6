"""The Creators collector's logic on the Creators simulator: a show collected bucket by bucket, and when
the invocation's time runs short, the buckets left sent on as a continuation (never one cut halfway);
the continuation collects exactly the rest; an expired login is recorded and alerted once a day."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from functions.alerts import Alert
from functions.analytics.creators_facts import CreatorsOptIn, bucket_of
from functions.analytics.store import local_store
from functions.connectors.http import route_host
from functions.connectors.spotify_creators import CreatorsCredentials, CreatorsLoginExpired, SpotifyCreatorsClient
from functions.domain.events import CreatorsCollectionDue, DomainEvent
from functions.flows.analytics_creators_collector.logic import SECONDS_PER_BUCKET, CollectorDeps, collect
from functions.state.keys import listening_key
from functions.state.ledger import SyncLedger
from functions.state.targets import LISTENING, ListeningStatus
from infra.tables import TABLES
from sandbox.clock import VirtualClock
from sandbox.resources import _create_table
from sandbox.simulators.spotify_creators import ACCOUNTS_HOST, API_HOST, SpotifyCreatorsSimulator

pytestmark = pytest.mark.usefixtures("cleared_routes")
SHOW = "showcoast"
EPISODES = [f"ep{n}" for n in range(12)]
FIRST, LAST = date(2025, 3, 10), date(2025, 3, 12)
_tables = itertools.count(1)


@dataclass
class Published:
    events: list[DomainEvent]

    def publish(self, events: list[DomainEvent]) -> None:
        self.events.extend(events)


@dataclass
class Alerts:
    sent: list[str]

    def publish(self, alert: Alert) -> None:
        self.sent.append(alert.message)


@pytest.fixture
def setup(aws: None, virtual_clock: VirtualClock, tmp_path: Path) -> Iterator[tuple[CollectorDeps, SpotifyCreatorsSimulator, Published, Alerts]]:
    simulator = SpotifyCreatorsSimulator(virtual_clock)
    simulator.add_account("dc", "key")
    simulator.add_show(SHOW, "Coast", "dc")
    for episode in EPISODES:
        simulator.add_episode(episode, SHOW, episode, date(2025, 1, 1), 1800, 0.5)
        for day in (FIRST, date(2025, 3, 11), LAST):
            simulator.record_day(episode, day, 10, 8, 9)
    route_host(ACCOUNTS_HOST, simulator)
    route_host(API_HOST, simulator)
    ledger = SyncLedger(_create_table(next(s for s in TABLES if s.table.value == "ledger"), f"collector-{next(_tables)}"))
    published, alerts = Published([]), Alerts([])
    deps = CollectorDeps(
        client=SpotifyCreatorsClient(CreatorsCredentials(sp_dc="dc", sp_key="key")),
        store=local_store(tmp_path),
        ledger=ledger,
        bus=published,  # type: ignore[arg-type]
        alerts=alerts,  # type: ignore[arg-type]
        opt_in=CreatorsOptIn(enabled=True, shows=(SHOW,)),
        secret_id="consonance-spotify/spotify-creators-session",
        flow="analytics-creators-collector",
    )
    yield deps, simulator, published, alerts


def episode_starts(root: Path) -> dict[str, float]:
    rows = ds.dataset(root / "facts", format="parquet", partitioning="hive").to_table().to_pylist()
    starts: dict[str, float] = {}
    for row in rows:
        if row["entity_type"] == "episode" and row["metric"] == "starts" and row["dimension"] == "total":
            starts[row["entity_id"]] = starts.get(row["entity_id"], 0) + row["value"]
    return starts


def test_a_short_budget_sends_the_buckets_left_on_and_the_continuation_collects_them(
    setup: tuple[CollectorDeps, SpotifyCreatorsSimulator, Published, Alerts], tmp_path: Path
) -> None:
    deps, _, published, _ = setup
    buckets = sorted({bucket_of(e) for e in EPISODES})
    budget = iter([SECONDS_PER_BUCKET + 1] * 2 + [0.0] * 100)  # time for two buckets, then none
    now = datetime(2025, 3, 15, 6, 0, tzinfo=timezone.utc)
    first = collect(CreatorsCollectionDue(show_id=SHOW, first_day=FIRST, last_day=LAST), deps, now, lambda: next(budget))
    assert first.continued_buckets == tuple(buckets[2:])
    (continuation,) = published.events
    assert isinstance(continuation, CreatorsCollectionDue) and continuation.buckets == tuple(buckets[2:])
    done = {e for e in EPISODES if bucket_of(e) in buckets[:2]}
    assert set(episode_starts(tmp_path)) == done  # whole buckets only
    second = collect(continuation, deps, now, lambda: 900.0)
    assert second.continued_buckets == () and len(published.events) == 1
    assert episode_starts(tmp_path) == {e: 30.0 for e in EPISODES}  # every episode once: 3 days x 10 starts
    entry = deps.ledger.get(listening_key("spotify_creators", SHOW), LISTENING)
    assert entry is not None and entry.status == ListeningStatus.INGESTED and entry.state.last_day == LAST


def test_an_expired_login_is_recorded_and_alerted_once_a_day(setup: tuple[CollectorDeps, SpotifyCreatorsSimulator, Published, Alerts]) -> None:
    deps, simulator, _, alerts = setup
    simulator.expire_login("dc")
    now = datetime(2025, 3, 15, 6, 0, tzinfo=timezone.utc)
    due = CreatorsCollectionDue(show_id=SHOW, first_day=FIRST, last_day=LAST)
    for moment in (now, now.replace(hour=9), now.replace(day=16)):
        with pytest.raises(CreatorsLoginExpired):
            collect(due, deps, moment, lambda: 900.0)
    assert len(alerts.sent) == 2  # the 15th once, the 16th once
    assert "Megaphone export and the Ads API" in alerts.sent[0] and "consonance-spotify/spotify-creators-session" in alerts.sent[0]
    entry = deps.ledger.get(listening_key("spotify_creators", SHOW), LISTENING)
    assert entry is not None and entry.status == ListeningStatus.LOGIN_EXPIRED
