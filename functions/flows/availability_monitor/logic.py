"""Finds where episodes really are live on Megaphone and Spotify, and emits `AvailabilityChanged` for
what differs from the availability table — nothing when nothing changed.

Spotify pushes nothing, so this runs on a schedule over the ledger's Megaphone entries that have an
episode there (delivered, withdrawn, draft or held):
- Megaphone: ONE paged list per podcast (not one GET per episode). An episode that is draft, has a
  status other than published, or is missing from its podcast is not live there; a `scheduled` one
  is not released yet, so there is nothing to compare (Spotify would not show it either).
- Spotify Web API: one request per (episode, configured market), only while Megaphone has the episode
  live; a 404 or a market restriction means not available there. While Megaphone does not have it
  live, the Spotify markets the table still shows as live are marked not live without asking Spotify
  (it cannot serve what Megaphone withdrew).

What counts as a takedown: the integration believes the episode live (ledger `delivered`, pushed with
`draft: false`) and it went dark on Megaphone, or a Spotify market that was serving it stopped. A
withdrawal the integration made itself (ledger `withdrawn`/`draft`) is recorded as not live, never as a
takedown. A market that was never seen serving the episode is recorded as not available, without a
takedown: a freshly delivered episode takes a while to reach every market, and an alarm for that
would be noise.

The monitor only reads the table; the availability recorder writes it from these events. If a run
comes before the recorder caught up, an event is emitted twice, and the recorder's "write only what
changed" makes the repeat a no-op.

Never playable: an episode Megaphone publishes that Spotify has served in none of the watched markets
`playable_within` after it went live (`functions.distribution.problems.playability_overdue`, on the
table as this run leaves it) is a distribution problem. The monitor compares that with what the
distribution feedback flow reports (one query: the `distribution` entries with problems) and announces
each difference (`DistributionChanged`), both ways: the problem appears, or Spotify played it at last.
It repeats the announcement on every run until the report agrees, so none is lost.

One entry's failure (an API error) is counted and logged and the entry is checked again next run; a
Spotify quota or credential failure stops asking Spotify for the rest of the run (every call would fail
alike) while the Megaphone checks go on. Runs are bounded by the invocation's remaining time: entries
left over are checked first by the next run (a cursor in the cursors table).
"""

from __future__ import annotations

import zlib

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from functions.connectors.errors import AuthenticationFailed
from functions.connectors.megaphone import MegaphoneClient, MegaphoneEpisode
from functions.connectors.spotify_web import SpotifyQuotaExceeded, SpotifyWebClient
from functions.domain.errors import IntegrationError
from functions.distribution.models import ProblemKind
from functions.distribution.problems import playability_overdue
from functions.domain.events import AvailabilityChanged, DistributionChanged
from functions.event_bus import EventBus
from functions.flow_names import FlowName
from functions.state.availability import CHANNEL_WIDE, AvailabilityRecord, AvailabilityStore, transition
from functions.state.cursors import CursorStore
from functions.state.ledger import LedgerEntry, SyncLedger
from functions.state.targets import DISTRIBUTION, MEGAPHONE, DistributionStatus, LedgerStatus, MegaphoneState

FLOW = FlowName.AVAILABILITY_MONITOR
CURSOR_NAME = "availability-monitor"
# Statuses whose entries can have an episode on Megaphone worth watching. `awaiting_ingest` is left to
# the ingest checker (the episode is mid-delivery), `seen`/`failed` were never delivered.
MONITORED_STATUSES = (LedgerStatus.DELIVERED, LedgerStatus.WITHDRAWN, LedgerStatus.DRAFT, LedgerStatus.HELD)
SELF_WITHDRAWN_STATUSES = frozenset({LedgerStatus.WITHDRAWN, LedgerStatus.DRAFT})
MEGAPHONE_LIVE_STATUSES = frozenset({None, "published"})
MEGAPHONE_NOT_YET_RELEASED = "scheduled"
DEFAULT_RESERVE_SECONDS = 20.0  # stop starting entries when less than this is left of the invocation


@dataclass
class MonitorDeps:
    ledger: SyncLedger
    availability: AvailabilityStore
    megaphone: MegaphoneClient
    spotify: SpotifyWebClient
    bus: EventBus
    cursors: CursorStore
    markets: tuple[str, ...]
    # Spotify is asked about each episode on one run in this many (spread evenly by entity), and on
    # every run while it has no Spotify record yet: markets × episodes per hour would otherwise eat
    # the app's rate limit as the catalogue grows. Megaphone (one list per podcast) is read every run.
    spotify_check_every_runs: int = 1
    # Spotify must play an episode this long after Megaphone published it (CoreSettings.spotify_playable_within_hours).
    playable_within: timedelta = timedelta(hours=24)


@dataclass
class MonitorOutcome:
    checked: int = 0
    not_yet_released: int = 0
    emitted: int = 0
    takedowns: int = 0
    went_live: int = 0  # first seen live, or live again
    spotify_requests: int = 0
    deferred: int = 0  # left for the next run (time budget)
    errors: list[str] = field(default_factory=list)
    spotify_stopped: str | None = None  # why Spotify was not asked for the rest of the run
    not_playable: int = 0  # published, never served by Spotify in time
    playability_announced: int = 0  # differences from the distribution report announced

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Observation:
    """One channel/territory as seen now, and how to describe it if it differs from the table."""

    channel: str
    territory: str
    live: bool
    reason: str
    takedown: bool = False


@dataclass
class EntryBelief:
    """What the integration did with the episode, from the ledger entry."""

    entry: LedgerEntry[MegaphoneState]

    @property
    def believes_live(self) -> bool:
        return self.entry.status == LedgerStatus.DELIVERED and self.entry.state.draft is False

    def not_live_reason(self) -> str:
        """Why the episode being dark is the integration's own doing (the entry is not believed live)."""
        status, reason = self.entry.status, self.entry.status_reason or "no reason recorded"
        if status in SELF_WITHDRAWN_STATUSES:
            return f"withdrawn by the integration: {reason}"
        return f"not released by the integration ({status}): {reason}"


def monitor_availability(deps: MonitorDeps, observed_at: datetime, time_left: Callable[[], float] | None = None,
                         reserve_seconds: float = DEFAULT_RESERVE_SECONDS) -> MonitorOutcome:
    outcome = MonitorOutcome()
    entries = _entries_in_run_order(deps)
    listings: dict[str, dict[str, MegaphoneEpisode] | IntegrationError] = {}
    resume_after: str | None = None
    overdue: dict[int, bool] = {}  # product id -> never played by Spotify in time
    for position, entry in enumerate(entries):
        if time_left is not None and time_left() < reserve_seconds:
            outcome.deferred = len(entries) - position
            resume_after = entries[position - 1].entity if position else None
            break
        try:
            events = _check_entry(entry, deps, observed_at, listings, outcome, overdue)
            if events:
                deps.bus.publish(events)
        except (IntegrationError, ValueError) as exc:
            outcome.errors.append(f"{entry.entity}: {exc.__class__.__name__}: {exc}")
            continue
        outcome.checked += 1
        outcome.emitted += len(events)
        outcome.takedowns += sum(1 for event in events if event.takedown)
        outcome.went_live += sum(1 for event in events if event.live)
    _announce_playability(deps, overdue, outcome)
    deps.cursors.put(
        CURSOR_NAME,
        {
            "resume_after": resume_after,
            "last_run_at": observed_at.isoformat(),
            "checked": outcome.checked,
            "emitted": outcome.emitted,
            "errors": len(outcome.errors),
            "deferred": outcome.deferred,
        },
    )
    return outcome


def _entries_in_run_order(deps: MonitorDeps) -> list[LedgerEntry[MegaphoneState]]:
    """Watched entries by entity, starting after where the last run ran out of time."""
    entries = sorted(
        (
            entry
            for status in MONITORED_STATUSES
            for entry in deps.ledger.by_status(MEGAPHONE, status)
            if entry.state.episode_id and entry.state.podcast_id
        ),
        key=lambda entry: entry.entity,
    )
    cursor = deps.cursors.get(CURSOR_NAME) or {}
    resume_after = cursor.get("resume_after")
    if not resume_after:
        return entries
    split = next((i for i, entry in enumerate(entries) if entry.entity > resume_after), len(entries))
    return entries[split:] + entries[:split]


def _check_entry(
    entry: LedgerEntry[MegaphoneState],
    deps: MonitorDeps,
    observed_at: datetime,
    listings: dict[str, dict[str, MegaphoneEpisode] | IntegrationError],
    outcome: MonitorOutcome,
    overdue: dict[int, bool],
) -> list[AvailabilityChanged]:
    belief = EntryBelief(entry)
    podcast_id, episode_id = entry.state.podcast_id, entry.state.episode_id
    assert podcast_id is not None and episode_id is not None  # the run only watches entries on Megaphone
    listing = _podcast_listing(podcast_id, deps.megaphone, listings)
    remote = listing.get(episode_id)
    if remote is not None and remote.status == MEGAPHONE_NOT_YET_RELEASED and remote.draft is False:
        outcome.not_yet_released += 1
        return []
    table = {(record.channel, record.territory): record for record in deps.availability.get_for(entry.entity)}

    megaphone_live, megaphone_reason = _megaphone_state(remote)
    observations = [_megaphone_observation(belief, megaphone_live, megaphone_reason)]

    spotify_id = entry.state.spotify_id or (remote.spotify_identifier if remote else None)
    if megaphone_live and spotify_id and _spotify_due(entry.entity, table, deps, observed_at):
        observations += _spotify_observations(belief, spotify_id, deps, table, outcome)
    elif not megaphone_live:
        # Spotify cannot serve what Megaphone does not publish: close the markets still shown as live.
        reason = f"not on Megaphone ({megaphone_reason})" if belief.believes_live else belief.not_live_reason()
        observations += [
            Observation("spotify", record.territory, False, reason)
            for (channel, _), record in sorted(table.items())
            if channel == "spotify" and record.live
        ]
    changed = [o for o in observations if _differs(o, table.get((o.channel, o.territory)))]
    after = _table_after(entry, table, observations, observed_at)
    overdue[entry.key.number] = playability_overdue(entry, after, observed_at, deps.playable_within) is not None
    return _as_events(entry.key.number, changed, observed_at)


def _table_after(
    entry: LedgerEntry[MegaphoneState], table: dict[tuple[str, str], AvailabilityRecord], observations: list[Observation], at: datetime
) -> list[AvailabilityRecord]:
    """The episode's records as the recorder will leave them once it has this run's observations."""
    after = dict(table)
    for o in observations:
        channel = "megaphone" if o.channel == "megaphone" else "spotify"
        existing = table.get((o.channel, o.territory))
        after[(o.channel, o.territory)] = transition(
            existing, entity=entry.entity, channel=channel, territory=o.territory, live=o.live, reason=o.reason,
            taken_down=o.takedown, source="monitor", observed_at=at,
        )  # fmt: skip
    return list(after.values())


def _announce_playability(deps: MonitorDeps, overdue: dict[int, bool], outcome: MonitorOutcome) -> None:
    """Announce every episode whose never-playable state differs from what the distribution report says."""
    outcome.not_playable = sum(overdue.values())
    reported = {
        entry.key.number
        for entry in deps.ledger.by_status(DISTRIBUTION, DistributionStatus.PROBLEMS)
        if any(problem.kind is ProblemKind.NOT_PLAYABLE for problem in entry.state.problems)
    }
    due = sorted(product_id for product_id, late in overdue.items() if late != (product_id in reported))
    if due:
        deps.bus.publish(
            [DistributionChanged(product_id=product_id, reason="Spotify playability checked by the availability monitor") for product_id in due]
        )
    outcome.playability_announced = len(due)


def _podcast_listing(
    podcast_id: str, megaphone: MegaphoneClient, listings: dict[str, dict[str, MegaphoneEpisode] | IntegrationError]
) -> dict[str, MegaphoneEpisode]:
    """A podcast's episodes by id, listed once per run; a failed listing fails each of its entries."""
    if podcast_id not in listings:
        try:
            listings[podcast_id] = {episode.id: episode for episode in megaphone.list_episodes(podcast_id)}
        except IntegrationError as exc:
            listings[podcast_id] = exc
    listing = listings[podcast_id]
    if isinstance(listing, IntegrationError):
        raise listing
    return listing


def _megaphone_state(remote: MegaphoneEpisode | None) -> tuple[bool, str]:
    if remote is None:
        return False, "removed from Megaphone"
    if remote.draft is not False:
        return False, "draft on Megaphone"
    if remote.status not in MEGAPHONE_LIVE_STATUSES:
        return False, f"status {remote.status!r} on Megaphone"
    return True, "published on Megaphone"


def _megaphone_observation(belief: EntryBelief, live: bool, reason: str) -> Observation:
    if live:
        if not belief.believes_live:
            reason = f"published on Megaphone although the integration has it {belief.entry.status}"
        return Observation("megaphone", CHANNEL_WIDE, True, reason)
    if belief.believes_live:
        return Observation("megaphone", CHANNEL_WIDE, False, f"{reason} although the integration published it", takedown=True)
    return Observation("megaphone", CHANNEL_WIDE, False, belief.not_live_reason())


def _spotify_due(entity: str, table: dict[tuple[str, str], AvailabilityRecord], deps: MonitorDeps, observed_at: datetime) -> bool:
    every = max(1, deps.spotify_check_every_runs)
    if every == 1 or not any(channel == "spotify" for channel, _ in table):
        return True
    run = int(observed_at.timestamp() // 3600)  # the monitor runs hourly: one slot per hour
    return run % every == zlib.crc32(entity.encode()) % every


def _spotify_observations(
    belief: EntryBelief, spotify_id: str, deps: MonitorDeps, table: dict[tuple[str, str], AvailabilityRecord], outcome: MonitorOutcome
) -> list[Observation]:
    if outcome.spotify_stopped is not None:
        raise _spotify_stopped_error(outcome.spotify_stopped)
    try:
        playable = deps.spotify.episode_markets(spotify_id, deps.markets)
    except (SpotifyQuotaExceeded, AuthenticationFailed) as exc:
        outcome.spotify_stopped = f"{exc.__class__.__name__}: {exc}"
        raise _spotify_stopped_error(outcome.spotify_stopped) from exc
    finally:
        outcome.spotify_requests += len(deps.markets)
    observations: list[Observation] = []
    for market, available in playable.items():
        stored = table.get(("spotify", market))
        if available:
            observations.append(Observation("spotify", market, True, "available on Spotify"))
        elif stored is None or not stored.live:
            observations.append(Observation("spotify", market, False, "not available on Spotify (never seen serving it there)"))
        elif belief.believes_live:
            observations.append(Observation("spotify", market, False, "Spotify stopped serving it (404 or not playable)", takedown=True))
        else:
            observations.append(Observation("spotify", market, False, belief.not_live_reason()))
    return observations


def _spotify_stopped_error(reason: str) -> IntegrationError:
    return IntegrationError(f"Spotify not asked this run: {reason}")


def _differs(observation: Observation, stored: AvailabilityRecord | None) -> bool:
    """First sight, or the live state flipped. A stored stop keeps its reason until it is live again."""
    return stored is None or stored.live != observation.live


def _as_events(product_id: int, observations: Iterable[Observation], observed_at: datetime) -> list[AvailabilityChanged]:
    """One event per channel and outcome: markets that changed the same way travel together."""
    grouped: dict[tuple[str, bool, bool, str], list[str]] = {}
    for o in observations:
        grouped.setdefault((o.channel, o.live, o.takedown, o.reason), []).append(o.territory)
    return [
        AvailabilityChanged(
            product_id=product_id,
            channel=channel,
            territories=() if territories == [CHANNEL_WIDE] else tuple(sorted(territories)),
            live=live,
            reason=reason,
            observed_at=observed_at,
            takedown=takedown,
            correlation_id=f"{FLOW}:{product_id}:{observed_at.isoformat()}",
        )
        for (channel, live, takedown, reason), territories in grouped.items()
    ]
