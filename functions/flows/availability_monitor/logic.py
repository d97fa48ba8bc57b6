"""Finds where episodes really are live on Megaphone and Spotify, and emits `AvailabilityChanged` for
what differs from the availability table — nothing when nothing changed.

Spotify pushes nothing, so this runs on a schedule over the ledger's Megaphone entries that have an
episode there (delivered, withdrawn, draft or held), podcast by podcast:
- Megaphone: ONE paged list per podcast, read a few podcasts ahead (`MEGAPHONE_READ_AHEAD`). An
  episode that is draft, has a status other than published, or is missing from its podcast is not
  live there; a `scheduled` one is not released yet, so there is nothing to compare (Spotify would
  not show it either).
- Spotify Web API: per configured market, the podcast's show's episode list (`/shows/{id}/episodes`,
  50 a page) — which episodes Spotify offers there and whether each is playable — so a sweep costs
  about ⌈episodes ÷ 50⌉ × markets requests, not episodes × markets (the several-episodes endpoint is
  gone for development-mode apps since February 2026). The show's id is learnt once from one of its
  live episodes (`GET /episodes/{id}`) and kept in the cursor. Spotify is asked only for podcasts with
  an episode Megaphone has live; the markets of an episode Megaphone does not publish are marked not
  live without asking (Spotify cannot serve what Megaphone withdrew).

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
`playable_within` after it went live (`functions.distribution.problems.playability_deadline`, on the
table as this run leaves it) is a distribution problem. The monitor compares that with what the
distribution feedback flow reports (one query: the `distribution` entries with problems) and announces
each difference (`DistributionChanged`), both ways: the problem appears, or Spotify played it at last.
It repeats the announcement on every run until the report agrees, so none is lost.

Unchanged podcasts: most hours nothing changed, and reading every episode's stored records to find
that out was most of a run's work. A check that emitted nothing and failed nowhere is settled: the
table agrees with what was observed. The cursor keeps, per podcast, a digest of what that check
observed (`_observed_digest`: the watched ledger entries' versions, the Megaphone listing, the Spotify
offer, the settings) and each episode's playability deadline. A later run that observes the same digest
within `full_check_every` (6 h) reads no stored records for that podcast: the comparison would come out
the same, and the deadlines, compared with this run's clock, still say which episodes are overdue. The
table changes only from events; the monitor's own leave their check unsettled (so the next run compares
again), and a signed notice that takes down or reinstates also saves the entry's takedown places (a
new version, a new digest). A notice that changed the table without changing a takedown is compared
at the next full check.

Progress is checkpointed as it goes, at a cost that follows how the last run ended. A sweep marks the
cursor unfinished when it starts and clears the mark when it ends, and saves after each podcast (the
cursor names the last podcast done, and the next run starts after it; a show id is kept the moment it
is learnt). When the mark is still there as a run starts, the last sweep crashed or timed out, and this
one also saves after each market's episode list is read (kept in the cursor for `PARTIAL_READ_KEPT`, so
the next run reads only the markets still missing). So a healthy sweep costs one cursor write per
podcast compared plus one (an unchanged podcast has nothing to keep), not one per request; the first
crash loses at most one podcast's reads, every later crash at most the one request it was on, and successive runs always get further, however often they
crash. Stored availability is read per podcast (one BatchGetItem for its episodes on Megaphone and in
the watched markets), not per episode; an episode that has just gone dark on Megaphone gets its full
record set read, so a territory a notice named outside the watched markets closes too. One podcast's failure (an API error) is counted and
logged and the others go on; a Spotify quota or credential failure stops asking Spotify for the rest
of the run (every call would fail alike) while the Megaphone checks go on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from functions.connectors.errors import AuthenticationFailed
from functions.connectors.megaphone import MegaphoneClient, MegaphoneEpisode
from functions.connectors.spotify_web import SpotifyQuotaExceeded, SpotifyWebClient
from functions.domain.errors import IntegrationError
from functions.distribution.models import ProblemKind
from functions.distribution.problems import playability_deadline
from functions.domain.events import AvailabilityChanged, DistributionChanged
from functions.event_bus import EventBus
from functions.flow_names import FlowName
from functions.state.availability import CHANNEL_WIDE, AvailabilityRecord, AvailabilityStore, Channel, transition
from functions.state.cursors import CursorStore
from functions.state.ledger import EntryView, StatePart, SyncLedger, TargetView
from functions.state.targets import DISTRIBUTION, MEGAPHONE, DistributionStatus, LedgerStatus, pushed_live

FLOW = FlowName.AVAILABILITY_MONITOR
CURSOR_NAME = "availability-monitor"
# Statuses whose entries can have an episode on Megaphone worth watching. `awaiting_ingest` is left to
# the ingest checker (the episode is mid-delivery), `seen`/`failed` were never delivered.
MONITORED_STATUSES = (LedgerStatus.DELIVERED, LedgerStatus.WITHDRAWN, LedgerStatus.DRAFT, LedgerStatus.HELD)
SELF_WITHDRAWN_STATUSES = frozenset({LedgerStatus.WITHDRAWN, LedgerStatus.DRAFT})
MEGAPHONE_LIVE_STATUSES = frozenset({None, "published"})
MEGAPHONE_NOT_YET_RELEASED = "scheduled"
DEFAULT_RESERVE_SECONDS = 20.0  # stop starting entries when less than this is left of the invocation
PARTIAL_READ_KEPT = timedelta(hours=2)  # a market's list read by a run that died is reused this long
# Megaphone listings read back to back, ahead of the podcasts being checked: requests that follow each
# other take one rate-limit reservation between them, where one list per podcast between the podcast's
# Spotify requests came later than its slot and took a reservation each. Eight lists are about eight
# seconds at 60 requests a minute, well inside the time reserve.
MEGAPHONE_READ_AHEAD = 8


class WatchedDelivery(StatePart):
    """What the monitor compares of a Megaphone entry's state: where the episode is, and whether the
    integration has it published (read as a ledger view: not the pushed fields or the pre-flight)."""

    podcast_id: str | None = None
    episode_id: str | None = None
    spotify_id: str | None = None
    draft: bool | None = None
    withdraw_pending: bool = False

    @property
    def pushed_live(self) -> bool:
        return pushed_live(self)


WATCHED = TargetView(MEGAPHONE, WatchedDelivery)
Watched = EntryView[WatchedDelivery]


@dataclass
class MonitorDeps:
    ledger: SyncLedger
    availability: AvailabilityStore
    megaphone: MegaphoneClient
    spotify: SpotifyWebClient
    bus: EventBus
    cursors: CursorStore
    markets: tuple[str, ...]
    # Spotify must play an episode this long after Megaphone published it (CoreSettings.spotify_playable_within_hours).
    playable_within: timedelta = timedelta(hours=24)
    # A podcast seen exactly as at its last settled check is compared with the table again after this
    # long anyway (see "Unchanged podcasts" in the module docstring).
    full_check_every: timedelta = timedelta(hours=6)


@dataclass
class MonitorOutcome:
    checked: int = 0
    unchanged: int = 0  # of those, episodes of podcasts seen exactly as at their last settled check
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

    channel: Channel
    territory: str
    live: bool
    reason: str
    takedown: bool = False


@dataclass
class EntryBelief:
    """What the integration did with the episode, from the ledger entry."""

    entry: Watched

    @property
    def believes_live(self) -> bool:
        return self.entry.status == LedgerStatus.DELIVERED and self.entry.state.pushed_live

    def not_live_reason(self) -> str:
        """Why the episode being dark is the integration's own doing (the entry is not believed live)."""
        status, reason = self.entry.status, self.entry.status_reason or "no reason recorded"
        if status in SELF_WITHDRAWN_STATUSES or self.entry.state.withdraw_pending:
            return f"withdrawn by the integration: {reason}"
        return f"not released by the integration ({status}): {reason}"


def monitor_availability(deps: MonitorDeps, observed_at: datetime, time_left: Callable[[], float] | None = None,
                         reserve_seconds: float = DEFAULT_RESERVE_SECONDS) -> MonitorOutcome:
    outcome = MonitorOutcome()
    cursor = deps.cursors.get(CURSOR_NAME) or {}
    watched = _watched_by_podcast(deps)
    progress = SweepProgress(
        deps.cursors,
        observed_at,
        outcome,
        resume_after=cursor.get("resume_after_podcast"),
        shows=dict(cursor.get("spotify_shows") or {}),
        partial={podcast: read for podcast, read in (cursor.get("partial_reads") or {}).items() if podcast in watched},
        checks=dict(cursor.get("podcast_checks") or {}),
        careful=cursor.get("unfinished_since") is not None,
        unfinished_since=observed_at,
    )
    progress.save()  # the mark that this sweep has not finished, until it does
    order = _rotated(sorted(watched), progress.resume_after)
    requests_before = deps.spotify.api.sent
    deadlines: dict[int, datetime | None] = {}  # product id -> when Spotify must have played it
    listings: dict[str, Listing] = {}
    for position, podcast_id in enumerate(order):
        if time_left is not None and time_left() < reserve_seconds:
            outcome.deferred = sum(len(watched[p]) for p in order[position:])
            break
        if podcast_id not in listings:
            listings = _read_listings(deps.megaphone, order[position : position + MEGAPHONE_READ_AHEAD])
        compared = _check_podcast(podcast_id, watched[podcast_id], listings.pop(podcast_id), progress, deps, observed_at, outcome, deadlines)
        outcome.spotify_requests = deps.spotify.api.sent - requests_before
        progress.partial.pop(podcast_id, None)
        progress.resume_after = None if position == len(order) - 1 else podcast_id
        if progress.resume_after is not None and compared:
            progress.save()
    progress.checks = {podcast: check for podcast, check in progress.checks.items() if podcast in watched}
    progress.unfinished_since = None
    progress.save()
    _announce_playability(deps, deadlines, observed_at, outcome)
    return outcome


@dataclass
class SweepProgress:
    """What a sweep has done so far, saved in the cursor as it goes (see the module docstring)."""

    cursors: CursorStore
    observed_at: datetime
    outcome: MonitorOutcome
    resume_after: str | None
    shows: dict[str, str]  # podcast id -> Spotify show id
    partial: dict[str, dict[str, Any]]  # podcast id -> {"at": when read, "markets": {market: [playable episode ids]}}
    # podcast id -> its last settled check: {"digest": what was observed, "at": when,
    # "deadlines": {product id: playability deadline, where one applies}}
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    careful: bool = False  # the last sweep died unfinished: save after every market read
    unfinished_since: datetime | None = None  # saved while this sweep runs; cleared when it ends

    def markets_read(self, podcast_id: str) -> dict[str, set[str]]:
        """The markets a recent run read for this podcast before it died."""
        read = self.partial.get(podcast_id)
        if read is None or self.observed_at - datetime.fromisoformat(read["at"]) > PARTIAL_READ_KEPT:
            return {}
        return {market: set(ids) for market, ids in read["markets"].items()}

    def market_read(self, podcast_id: str, market: str, playable: set[str]) -> None:
        read = self.partial.setdefault(podcast_id, {"at": self.observed_at.isoformat(), "markets": {}})
        read["markets"][market] = sorted(playable)
        if self.careful:
            self.save()

    def save(self) -> None:
        self.cursors.put(
            CURSOR_NAME,
            {
                "resume_after_podcast": self.resume_after,
                "spotify_shows": self.shows,
                "partial_reads": self.partial,
                "podcast_checks": self.checks,
                "unfinished_since": self.unfinished_since.isoformat() if self.unfinished_since else None,
                "last_run_at": self.observed_at.isoformat(),
                "checked": self.outcome.checked,
                "emitted": self.outcome.emitted,
                "errors": len(self.outcome.errors),
                "deferred": self.outcome.deferred,
            },
        )


def _watched_by_podcast(deps: MonitorDeps) -> dict[str, list[Watched]]:
    watched: dict[str, list[Watched]] = {}
    for status in MONITORED_STATUSES:
        for entry in deps.ledger.views_by_status(WATCHED, status):
            if entry.state.episode_id and entry.state.podcast_id:
                watched.setdefault(entry.state.podcast_id, []).append(entry)
    return {podcast: sorted(entries, key=lambda e: e.entity) for podcast, entries in watched.items()}


def _rotated(podcasts: list[str], resume_after: str | None) -> list[str]:
    """Start after the podcast the last run finished with (it crashed or ran out of time after it)."""
    if not resume_after:
        return podcasts
    split = next((i for i, podcast in enumerate(podcasts) if podcast > resume_after), len(podcasts))
    return podcasts[split:] + podcasts[:split]


SpotifyOffer = dict[str, set[str]] | IntegrationError | None  # market -> playable episode ids; an error; None: not asked
Listing = dict[str, MegaphoneEpisode] | IntegrationError  # a podcast's episodes on Megaphone by id, or why not read


def _read_listings(megaphone: MegaphoneClient, podcasts: list[str]) -> dict[str, Listing]:
    """Each podcast's ONE paged Megaphone list, read back to back (see `MEGAPHONE_READ_AHEAD`)."""
    listings: dict[str, Listing] = {}
    for podcast_id in podcasts:
        try:
            listings[podcast_id] = {episode.id: episode for episode in megaphone.list_episodes(podcast_id)}
        except IntegrationError as exc:
            listings[podcast_id] = exc
    return listings


def _check_podcast(
    podcast_id: str,
    entries: list[Watched],
    listing: Listing,
    progress: SweepProgress,
    deps: MonitorDeps,
    observed_at: datetime,
    outcome: MonitorOutcome,
    deadlines: dict[int, datetime | None],
) -> bool:
    """Compare one podcast's episodes with the table; whether it did (False: a listing error, or the
    podcast is unchanged since its last settled check and the table was not read)."""
    if isinstance(listing, IntegrationError):
        outcome.errors.extend(f"{entry.entity}: {listing.__class__.__name__}: {listing}" for entry in entries)
        progress.checks.pop(podcast_id, None)
        return False
    offer = _spotify_offer(podcast_id, entries, listing, progress, deps, outcome)
    digest = None if isinstance(offer, IntegrationError) else _observed_digest(entries, listing, offer, deps)
    last = progress.checks.get(podcast_id)
    if digest is not None and last is not None and last["digest"] == digest and observed_at - datetime.fromisoformat(last["at"]) < deps.full_check_every:
        _kept_deadlines(entries, listing, last, deadlines, outcome)
        return False
    places: list[tuple[Channel, str]] = [("megaphone", CHANNEL_WIDE), *(("spotify", market) for market in deps.markets)]
    stored = deps.availability.get_many([entry.entity for entry in entries], places)
    found: dict[int, datetime | None] = {}
    settled = True
    for entry in entries:
        try:
            events = _check_entry(entry, listing, offer, stored[str(entry.entity)], deps, observed_at, outcome, found)
            if events:
                deps.bus.publish(events)
        except (IntegrationError, ValueError) as exc:
            outcome.errors.append(f"{entry.entity}: {exc.__class__.__name__}: {exc}")
            settled = False
            continue
        settled = settled and not events
        outcome.checked += 1
        outcome.emitted += len(events)
        outcome.takedowns += sum(1 for event in events if event.takedown)
        outcome.went_live += sum(1 for event in events if event.live)
    deadlines.update(found)
    if settled and digest is not None:
        progress.checks[podcast_id] = {
            "digest": digest,
            "at": observed_at.isoformat(),
            # Kept small (the cursor is written as the sweep goes): the few deadlines that apply; every
            # other episode compared has none.
            "deadlines": {str(product_id): at.isoformat() for product_id, at in found.items() if at is not None},
        }
    else:
        progress.checks.pop(podcast_id, None)
    return True


def _kept_deadlines(
    entries: list[Watched], listing: dict[str, MegaphoneEpisode], check: dict[str, Any], deadlines: dict[int, datetime | None], outcome: MonitorOutcome
) -> None:
    """An unchanged podcast's episodes as its last settled check left them (the digest says the
    entries and their listing are the same, so the ones not released yet are too)."""
    kept = {int(product_id): datetime.fromisoformat(at) for product_id, at in check["deadlines"].items()}
    for entry in entries:
        if _not_yet_released(listing.get(entry.state.episode_id or "")):
            outcome.not_yet_released += 1
        else:
            deadlines[entry.key.number] = kept.get(entry.key.number)
    outcome.checked += len(entries)
    outcome.unchanged += len(entries)


def _observed_digest(
    entries: list[Watched], listing: dict[str, MegaphoneEpisode], offer: dict[str, set[str]] | None, deps: MonitorDeps
) -> str:
    """Everything a check compares with the stored availability, apart from the table: each watched
    entry as the ledger has it (its version), its episode as Megaphone lists it, the markets Spotify
    offers it in, and the settings the comparison uses. The table itself changes only from events:
    the monitor's own (its check is then not settled), or a notice, whose takedown or reinstatement
    also saves the entry's takedown places, and so its version."""
    episodes = []
    for entry in entries:
        remote = listing.get(entry.state.episode_id or "")
        spotify_id = _spotify_id(entry, remote)
        served = None if offer is None or not spotify_id else sorted(market for market, ids in offer.items() if spotify_id in ids)
        megaphone = None if remote is None else [remote.status, remote.draft, remote.spotify_identifier]
        episodes.append([str(entry.entity), entry.version, megaphone, served])
    observed = {"markets": list(deps.markets), "playable_within": deps.playable_within.total_seconds(), "episodes": episodes}
    return hashlib.sha256(json.dumps(observed, sort_keys=True).encode()).hexdigest()[:32]


def _spotify_offer(
    podcast_id: str,
    entries: list[Watched],
    listing: dict[str, MegaphoneEpisode],
    progress: SweepProgress,
    deps: MonitorDeps,
    outcome: MonitorOutcome,
) -> SpotifyOffer:
    """Which episodes Spotify offers (playable) in each market, from the show's episode lists; None
    when no watched episode is live on Megaphone (nothing Spotify could serve)."""
    live = [(entry, remote) for entry in entries if (remote := listing.get(entry.state.episode_id or "")) is not None and _megaphone_state(remote)[0]]
    spotify_ids = [spotify_id for entry, remote in live if (spotify_id := _spotify_id(entry, remote))]
    if not spotify_ids:
        return None
    if outcome.spotify_stopped is not None:
        return _spotify_stopped_error(outcome.spotify_stopped)
    try:
        show_id = progress.shows.get(podcast_id)
        if show_id is None:
            show_id = _learn_show(spotify_ids, deps)
            if show_id is None:  # none of its live episodes is on Spotify in any market yet
                return {market: set() for market in deps.markets}
            progress.shows[podcast_id] = show_id
            progress.save()
        offer = progress.markets_read(podcast_id)
        for market in deps.markets:
            if market not in offer:
                offer[market] = {episode.id for episode in deps.spotify.show_episodes(show_id, market) if episode.playable}
                progress.market_read(podcast_id, market, offer[market])
        return offer
    except (SpotifyQuotaExceeded, AuthenticationFailed) as exc:
        outcome.spotify_stopped = f"{exc.__class__.__name__}: {exc}"
        return _spotify_stopped_error(outcome.spotify_stopped)
    except IntegrationError as exc:
        return exc


def _spotify_id(entry: Watched, remote: MegaphoneEpisode | None) -> str | None:
    """The episode's Spotify id: as the ledger recorded it, else as Megaphone now lists it."""
    return entry.state.spotify_id or (remote.spotify_identifier if remote else None)


def _learn_show(spotify_ids: list[str], deps: MonitorDeps) -> str | None:
    """The Spotify show of a podcast: asked once, of one of its live episodes, in the first market
    that offers it."""
    for spotify_id in spotify_ids[:3]:
        for market in deps.markets:
            found = deps.spotify.episode(spotify_id, market)
            if found is not None:
                return found.show.id
    return None


def _check_entry(
    entry: Watched,
    listing: dict[str, MegaphoneEpisode],
    offer: SpotifyOffer,
    stored: list[AvailabilityRecord],
    deps: MonitorDeps,
    observed_at: datetime,
    outcome: MonitorOutcome,
    deadlines: dict[int, datetime | None],
) -> list[AvailabilityChanged]:
    """`stored`: the episode's records on Megaphone and in the watched markets."""
    belief = EntryBelief(entry)
    remote = listing.get(entry.state.episode_id or "")
    if _not_yet_released(remote):
        outcome.not_yet_released += 1
        return []
    table = {(record.channel, record.territory): record for record in stored}
    megaphone_live, megaphone_reason = _megaphone_state(remote)
    megaphone_stored = table.get(("megaphone", CHANNEL_WIDE))
    if not megaphone_live and (megaphone_stored is None or megaphone_stored.live):
        # It has just gone dark on Megaphone (or is seen for the first time): every Spotify territory
        # still shown live closes, including any a notice named outside the watched markets.
        table = {(record.channel, record.territory): record for record in deps.availability.get_for(entry.entity)}
    observations = [_megaphone_observation(belief, megaphone_live, megaphone_reason)]

    spotify_id = _spotify_id(entry, remote)
    if megaphone_live and spotify_id:
        if isinstance(offer, IntegrationError):
            raise offer
        if offer is not None:
            observations += _spotify_observations(belief, spotify_id, offer, deps, table)
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
    deadlines[entry.key.number] = playability_deadline(entry, after, deps.playable_within)
    return _as_events(entry.key.number, changed, observed_at)


def _table_after(
    entry: Watched, table: dict[tuple[Channel, str], AvailabilityRecord], observations: list[Observation], at: datetime
) -> list[AvailabilityRecord]:
    """The episode's records as the recorder will leave them once it has this run's observations."""
    after = dict(table)
    for o in observations:
        existing = table.get((o.channel, o.territory))
        after[(o.channel, o.territory)] = transition(
            existing, entity=entry.entity, channel=o.channel, territory=o.territory, live=o.live, reason=o.reason,
            taken_down=o.takedown, source="monitor", observed_at=at,
        )  # fmt: skip
    return list(after.values())


def _announce_playability(deps: MonitorDeps, deadlines: dict[int, datetime | None], observed_at: datetime, outcome: MonitorOutcome) -> None:
    """Announce every episode whose never-playable state differs from what the distribution report says."""
    overdue = {product_id: deadline is not None and observed_at >= deadline for product_id, deadline in deadlines.items()}
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


def _not_yet_released(remote: MegaphoneEpisode | None) -> bool:
    """Published on Megaphone with a release still to come: nothing to compare yet."""
    return remote is not None and remote.status == MEGAPHONE_NOT_YET_RELEASED and remote.draft is False


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


def _spotify_observations(
    belief: EntryBelief, spotify_id: str, offer: dict[str, set[str]], deps: MonitorDeps, table: dict[tuple[Channel, str], AvailabilityRecord]
) -> list[Observation]:
    observations: list[Observation] = []
    for market in deps.markets:
        stored = table.get(("spotify", market))
        if spotify_id in offer.get(market, set()):
            observations.append(Observation("spotify", market, True, "available on Spotify"))
        elif stored is None or not stored.live:
            observations.append(Observation("spotify", market, False, "not available on Spotify (never seen serving it there)"))
        elif belief.believes_live:
            observations.append(Observation("spotify", market, False, "Spotify stopped serving it (not offered or not playable)", takedown=True))
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
