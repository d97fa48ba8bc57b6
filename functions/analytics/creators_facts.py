"""Spotify for Creators (unofficial) → daily facts, and the collection of one opted-in show.

What becomes a fact (all `official = false`, source `spotify_creators`):
- per episode and per show, per day: starts, streams, listeners (`detailedStreams`, `listeners`);
- per show, per day: the follower count (a level) and `followers_gained` (its change from the day
  before; the collector asks for one extra day before the range so the first day has a change too);
- per show, per day: listeners by age band, gender and country (`aggregate` for that single day);
  when the endpoint fails for a day (it does, now and then) the slices are left out with a finding —
  not filled with zeros, which would read as "nobody listened";
- per episode, on the day it is read: the all-time completion curve's median completion and the
  share of starts reaching 25/50/75/100 % (snapshots; the rollups read the latest in a window).

Storage batches: a show's own facts go to batch `show-<id>`; its episodes' facts to one of
`EPISODE_BUCKETS` batches `show-<id>-b<k>` chosen by a stable hash of the episode id. Only buckets holding at least one
of the show's episodes are written. A collection works bucket by bucket and stops between buckets when its deadline nears, returning the buckets
left, so a run cut short never replaces a bucket with part of its episodes, and a re-run of a day
replaces exactly what it read (no double counting).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from functions.analytics.facts import DailyFact, Dimension, EntityType, Metric, Source, fact
from functions.analytics.store import FactStore, Partition
from functions.alerts import Alert
from functions.connectors.errors import ServiceUnavailable
from functions.connectors.spotify_creators import (
    Aggregate,
    CreatorsLoginExpired,
    DailyCounts,
    DetailedStreams,
    Performance,
    SpotifyCreatorsClient,
)
from functions.domain.errors import PermanentError
from functions.domain.models import Finding

SOURCE: Source = "spotify_creators"
EPISODE_BUCKETS = 16
_REACHED = {"25": Metric.REACHED_25_PCT, "50": Metric.REACHED_50_PCT, "75": Metric.REACHED_75_PCT, "100": Metric.REACHED_100_PCT}


class CreatorsNotOptedIn(PermanentError):
    code = "creators_not_opted_in"


class CreatorsOptIn(BaseModel):
    """Off unless an operator turns it on, and then only for the shows listed (Spotify show ids)."""

    model_config = ConfigDict(frozen=True)

    enabled: bool = False
    shows: tuple[str, ...] = ()

    def shows_to_collect(self) -> tuple[str, ...]:
        return self.shows if self.enabled else ()

    def require(self, show_id: str) -> None:
        if show_id not in self.shows_to_collect():
            raise CreatorsNotOptedIn(f"show {show_id} is not opted in to the unofficial Spotify for Creators collection")


def bucket_of(episode_id: str, buckets: int = EPISODE_BUCKETS) -> int:
    return zlib.crc32(episode_id.encode()) % buckets


def batch_name(show_id: str, bucket: int | None = None) -> str:
    return f"show-{show_id}" if bucket is None else f"show-{show_id}-b{bucket}"


# ------------------------------------------------------------------------------------------ mapping
@dataclass(frozen=True)
class Context:
    entity_type: EntityType
    entity_id: str
    show_id: str
    retrieved_at: datetime
    origin: str

    def fact(self, day: date, metric: Metric, value: float, dimension: Dimension = "total", dimension_value: str = "") -> DailyFact:
        return fact(
            SOURCE, day, self.entity_type, self.entity_id, metric, value,
            retrieved_at=self.retrieved_at, origin=self.origin, show_id=self.show_id,
            dimension=dimension, dimension_value=dimension_value,
        )


def listening_facts(context: Context, streams: DetailedStreams, listeners: DailyCounts, days: set[date]) -> list[DailyFact]:
    rows = []
    for entry in streams.detailedStreams:
        if entry.date in days:
            rows += [context.fact(entry.date, Metric.STARTS, entry.starts), context.fact(entry.date, Metric.STREAMS, entry.streams)]
    rows += [context.fact(entry.date, Metric.LISTENERS, entry.count) for entry in listeners.counts if entry.date in days]
    return rows


def follower_facts(context: Context, followers: DailyCounts, days: set[date]) -> list[DailyFact]:
    """The level each day, and the change from the day before where that day was read too."""
    by_day = {entry.date: entry.count for entry in followers.counts}
    rows = []
    for day in sorted(d for d in by_day if d in days):
        rows.append(context.fact(day, Metric.FOLLOWERS, by_day[day]))
        previous = by_day.get(day - timedelta(days=1))
        if previous is not None:
            rows.append(context.fact(day, Metric.FOLLOWERS_GAINED, by_day[day] - previous))
    return rows


def demographic_facts(context: Context, aggregate: Aggregate, day: date) -> list[DailyFact]:
    """Listeners of one day by age band, gender and country (slices; the total comes from `listeners`)."""
    rows = [
        context.fact(day, Metric.LISTENERS, sum(counts.counts.model_dump().values()), "age", band)
        for band, counts in sorted(aggregate.ageFacetedCounts.items())
    ]
    rows += [context.fact(day, Metric.LISTENERS, value, "gender", gender) for gender, value in sorted(aggregate.genderedCounts.counts.model_dump().items())]
    rows += [
        context.fact(day, Metric.LISTENERS, sum(country.counts.model_dump().values()), "country", country.countryCode.upper())
        for _, country in sorted(aggregate.countryFacetedCounts.items())
    ]
    return rows


def completion_facts(context: Context, performance: Performance, day: date) -> list[DailyFact]:
    rows = [context.fact(day, Metric.MEDIAN_COMPLETION_PCT, performance.medianCompletion.percentage)]
    rows += [context.fact(day, metric, performance.percentiles[q]) for q, metric in _REACHED.items() if q in performance.percentiles]
    return rows


# ------------------------------------------------------------------------------------------ collection
@dataclass
class CreatorsCollection:
    """Facts by (day, batch), the episode buckets not reached before the deadline, and findings."""

    show_id: str
    batches: dict[tuple[date, str], list[DailyFact]] = field(default_factory=dict)
    remaining_buckets: tuple[int, ...] = ()
    findings: list[Finding] = field(default_factory=list)
    requests: int = 0

    def add(self, day: date, batch: str, rows: list[DailyFact]) -> None:
        self.batches.setdefault((day, batch), []).extend(rows)


def collect_show(
    client: SpotifyCreatorsClient,
    show_id: str,
    episode_ids: Sequence[str],
    first_day: date,
    last_day: date,
    *,
    retrieved_at: datetime,
    opt_in: CreatorsOptIn,
    buckets: Sequence[int] | None = None,
    time_left: Callable[[], float] | None = None,
    seconds_per_bucket: float = 60.0,
    with_show_facts: bool = True,
    flow: str = "analytics-creators-collector",
) -> CreatorsCollection:
    """Read one opted-in show's days [first_day, last_day]: show facts, then episode buckets in order
    while `time_left()` (seconds, e.g. Lambda's remaining time) exceeds `seconds_per_bucket`.

    Every day of the range and every bucket collected gets a batch, even an empty one, so a re-run
    replaces what an earlier run wrote. `CreatorsLoginExpired` propagates (permanent; alert a person).
    """
    opt_in.require(show_id)
    if last_day < first_day:
        raise ValueError("last_day is before first_day")
    days = {first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)}
    collection = CreatorsCollection(show_id=show_id)
    if with_show_facts:
        _collect_show_level(client, show_id, first_day, last_day, days, retrieved_at, collection, flow)
    members: dict[int, list[str]] = {}
    for episode_id in episode_ids:
        members.setdefault(bucket_of(episode_id), []).append(episode_id)
    # a bucket no episode hashes to has nothing to read and nothing to replace
    todo = sorted((set(buckets) if buckets is not None else set(range(EPISODE_BUCKETS))) & set(members))
    while todo:
        if time_left is not None and time_left() < seconds_per_bucket:
            break
        bucket = todo.pop(0)
        for day in days:
            collection.add(day, batch_name(show_id, bucket), [])
        for episode_id in sorted(members.get(bucket, [])):
            _collect_episode(client, show_id, episode_id, first_day, last_day, days, retrieved_at, collection, bucket)
    collection.remaining_buckets = tuple(todo)
    return collection


def _collect_show_level(
    client: SpotifyCreatorsClient, show_id: str, first_day: date, last_day: date, days: set[date],
    retrieved_at: datetime, collection: CreatorsCollection, flow: str,
) -> None:
    context = Context("show", show_id, show_id, retrieved_at, f"creators:/shows/{show_id}")
    batch = batch_name(show_id)
    for day in days:
        collection.add(day, batch, [])
    streams = client.starts_and_streams("shows", show_id, first_day, last_day)
    listeners = client.listeners("shows", show_id, first_day, last_day)
    followers = client.followers(show_id, first_day - timedelta(days=1), last_day)
    collection.requests += 3
    rows = listening_facts(context, streams, listeners, days) + follower_facts(context, followers, days)
    for day in sorted(days):
        try:
            aggregate = client.aggregate("shows", show_id, day, day)
        except ServiceUnavailable as exc:
            collection.findings.append(
                Finding(
                    code="creators_demographics_unavailable",
                    entity=f"spotify-show:{show_id}",
                    message=f"Spotify for Creators gave no demographics for {day} ({exc}); left out for that day, not zero",
                    flow=flow,
                    blocking=False,
                )
            )
            continue
        finally:
            collection.requests += 1
        rows += demographic_facts(context, aggregate, day)
    for row in rows:
        collection.add(row.day, batch, [row])


def _collect_episode(
    client: SpotifyCreatorsClient, show_id: str, episode_id: str, first_day: date, last_day: date, days: set[date],
    retrieved_at: datetime, collection: CreatorsCollection, bucket: int,
) -> None:
    context = Context("episode", episode_id, show_id, retrieved_at, f"creators:/episodes/{episode_id}")
    streams = client.starts_and_streams("episodes", episode_id, first_day, last_day)
    listeners = client.listeners("episodes", episode_id, first_day, last_day)
    performance = client.performance(episode_id)
    collection.requests += 3
    snapshot_day = last_day  # the curve is all-time: it is filed on the last day collected
    rows = listening_facts(context, streams, listeners, days) + completion_facts(context, performance, snapshot_day)
    for row in rows:
        collection.add(row.day, batch_name(show_id, bucket), [row])


def write_collection(store: FactStore, collection: CreatorsCollection) -> list[str]:
    """Replace each (day, batch) the collection read; returns the object keys written."""
    keys = []
    for (day, batch), rows in sorted(collection.batches.items()):
        keys.append(store.replace_batch(Partition(SOURCE, day), batch, rows).key)
    return keys


def login_expired_alert(error: CreatorsLoginExpired, shows: Sequence[str], secret_id: str) -> Alert:
    """The operator alert for stale Creators cookies: what stopped, what still works, what to do."""
    return Alert(
        subject="Spotify for Creators login expired: unofficial Spotify figures paused",
        message=(
            f"{error}\n\n"
            f"Shows whose Spotify starts, listeners, followers and completion are no longer collected: {', '.join(shows) or '-'}.\n"
            "The Megaphone export and the Ads API reports are official and keep arriving; rollups and reports go on without "
            "the unofficial figures.\n"
            f"To resume: log in to Spotify for Creators in a browser with the publisher's account and store the new sp_dc and "
            f"sp_key cookies as JSON in the secret {secret_id}."
        ),
        attributes={"kind": "creators_login_required"},
    )
