"""The reconciler: level-triggered repair. Events make changes fast; this compares what each side
says now and re-emits what is out of step, so nothing stays stuck because one delivery died (a
record dead-lettered, a crash between two writes, an event lost).

Every run (hourly), from one read of the ledger (views: the few fields compared below, not whole
entries — see `COMPARED`):
- an episode whose latest source (Consonance, as the poller last saw it) the publisher never
  evaluated, or evaluated at another source hash (its `EpisodeChanged` was dead-lettered or lost;
  the ledger entry is stuck where the poller left it) → `EpisodeReevaluationDue`;
- a create intent older than `stuck_after` (the create's answer was lost and its retries died with
  it) → `EpisodeReevaluationDue`: the publisher looks the episode up by externalId before creating;
- an episode live or withdrawn on Spotify whose Spotify link in Consonance was never written, is
  still pending, or shows the integration's own status for the other state → `EpisodeDelivered`
  (a status another flow put there — a takedown, a distribution problem — is that flow's to keep);
- a campaign milestone the campaign planner never applied (an older revision, no entry) or left
  mid-way (not settled, or a pending create) for longer than `stuck_after` → its last
  `MilestoneReached` again (the planner ignores a revision it already settled).
Once a day, against the systems themselves (each half checkpointed on its own):
- Consonance: every product is read again and compared with the ledger exactly as the poller
  compares (events only for real changes), without moving the poller's cursor;
- Megaphone: each podcast's episodes are listed once; an episode carrying one of our products'
  externalId while the ledger does not know it (a create whose answer was lost and whose intent
  went with it) is marked in the ledger for adoption and handed to the publisher.

What other sweeps already keep level (and this flow therefore leaves alone): a draft whose release
date came (release sweep, hourly, by status index), the daily series drift check and rights windows
(release sweep), audio still being ingested (ingest checker), an episode gone dark or missing on
Megaphone (availability monitor: a takedown, never re-created by the integration), branded channels
out of step with their licence (licence sweep re-announces `LicenceChanged`), author playlists (their
hourly flow compares every promotable author) and listening intake (nightly analytics).

A remedy is re-emitted at once the first time, then again only after a growing pause
(`stuck_after`, doubled each time, at most `retry_cap`), so something that fails for good does not
fill a dead-letter queue every hour; the pause is forgotten once the thing is in step again.
Re-emitting is harmless: every consumer compares hashes or revisions before it writes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from functions.connectors.megaphone import MegaphoneClient
from functions.distribution.consonance_view import OWN_STATUSES
from functions.domain.errors import IntegrationError
from functions.domain.events import DomainEvent, EpisodeDelivered, EpisodeReevaluationDue
from functions.consonance_writes import SPOTIFY_LINK
from functions.event_bus import EventBus
from functions.flows.consonance_poller.logic import FIRST_POLL_SINCE, PollDeps, detect_changes
from functions.flows.milestone_detector.logic import last_announcement
from functions.state.cursors import CursorStore
from functions.state.keys import EntityKey, EntityKind, episode_key, parse_entity_key
from functions.state.ledger import ConcurrentUpdate, EntryView, StatePart, SyncLedger, TargetView, new_entry
from functions.state.targets import (
    CONSONANCE_WRITEBACK,
    EPISODE_SOURCE,
    MEGAPHONE,
    MILESTONE,
    SPOTIFY_ADS,
    CAMPAIGN_SETTLED,
    LedgerStatus,
    MilestoneState,
    MilestoneStatus,
    WritebackState,
)

CURSOR = "reconciler"
ADOPT_MARK = "adopt:"  # a pending-create mark the reconciler sets: the episode is on Megaphone already
WRITTEN_BACK_STATUSES = (LedgerStatus.DELIVERED, LedgerStatus.WITHDRAWN)  # what the publisher announces


# What it reads of each target it compares: the entries' common scalars and these state fields only.
class SourceFacts(StatePart):
    """Of an episode source: whether Consonance's record mapped to an episode, and its series (both in
    the entry's summary: the episode itself is not read)."""

    mapped: bool = False
    series_id: int | None = None


class DeliveryFacts(StatePart):
    """Of a Megaphone delivery: the source it was decided on, and its ids for the write-back."""

    podcast_id: str | None = None
    episode_id: str | None = None
    spotify_id: str | None = None
    evaluated_source_hash: str | None = None
    withdraw_pending: bool = False


class CampaignRevision(StatePart):
    revision: int = 0


COMPARED = (
    TargetView(EPISODE_SOURCE, SourceFacts),
    TargetView(MEGAPHONE, DeliveryFacts),
    TargetView(CONSONANCE_WRITEBACK, WritebackState, kinds=frozenset({EntityKind.EPISODE})),  # only episodes' links are compared
    TargetView(MILESTONE, MilestoneState),  # all of it: a remedy repeats its announcement
    TargetView(SPOTIFY_ADS, CampaignRevision),
)


class Kind:
    """What was found out of step (the counters and the log say these)."""

    NEVER_EVALUATED = "never evaluated by the publisher"
    SOURCE_NOT_EVALUATED = "source changed since the publisher last evaluated it"
    CREATE_STUCK = "create intent stuck"
    NOT_WRITTEN_BACK = "delivery not written back to Consonance"
    CAMPAIGN_NOT_APPLIED = "milestone not applied by the campaign planner"
    CAMPAIGN_STUCK = "campaign left mid-way"
    ORPHAN_ON_MEGAPHONE = "on Megaphone but not in the ledger"


@dataclass
class ReconcileDeps:
    ledger: SyncLedger
    cursors: CursorStore
    bus: EventBus
    megaphone: MegaphoneClient
    poll: PollDeps  # Consonance, read the poller's way
    podcasts: dict[str, str]  # Consonance series id -> Megaphone podcast id
    stuck_after: timedelta = timedelta(hours=1)
    retry_cap: timedelta = timedelta(days=1)


@dataclass(frozen=True)
class OutOfStep:
    key: EntityKey
    kind: str
    remedy: DomainEvent

    @property
    def pause_key(self) -> str:
        """One pause per entity and remedy: two findings that re-emit the same event share it."""
        return f"{self.key}|{self.remedy.detail_type}"


@dataclass
class ReconcileOutcome:
    found: Counter[str] = field(default_factory=Counter)
    re_emitted: int = 0
    paused: int = 0  # out of step, re-emitted before and still within its pause
    consonance_read: bool = False
    consonance_changes: int = 0
    megaphone_listed: bool = False
    errors: list[str] = field(default_factory=list)


Entries = dict[tuple[str, str], EntryView[Any]]


def reconcile(deps: ReconcileDeps, now: datetime) -> ReconcileOutcome:
    outcome = ReconcileOutcome()
    cursor = deps.cursors.get(CURSOR) or {}
    today = now.date().isoformat()
    if cursor.get("consonance_read_on") != today:  # first: what it finds is what the ledger then shows
        try:
            outcome.consonance_changes = detect_changes(deps.poll, FIRST_POLL_SINCE, correlation_id=f"reconcile-{now.isoformat()}").changed
        except IntegrationError as exc:
            outcome.errors.append(f"consonance: {exc}")
        else:
            outcome.consonance_read = True
            cursor["consonance_read_on"] = today
            deps.cursors.put(CURSOR, cursor)  # checkpoint: a crash after this does not read it again today
    entries: Entries = {(e.entity, e.target): e for e in deps.ledger.scan_views(*COMPARED)}
    found = [*publisher_out_of_step(entries, now, deps.stuck_after), *write_back_out_of_step(entries), *campaigns_out_of_step(entries, now, deps.stuck_after)]
    if cursor.get("megaphone_listed_on") != today:
        orphans, complete = megaphone_orphans(deps, entries, now, outcome)
        found += orphans
        if complete:
            outcome.megaphone_listed = True
            cursor["megaphone_listed_on"] = today
    for item in found:
        outcome.found[item.kind] += 1
    due, cursor["paused"] = due_remedies(found, cursor.get("paused") or {}, now, deps.stuck_after, deps.retry_cap)
    outcome.paused = len({item.pause_key for item in found}) - len(due)
    deps.bus.publish(due)
    outcome.re_emitted = len(due)
    cursor["last_run_at"] = now.isoformat()
    deps.cursors.put(CURSOR, cursor)
    return outcome


# ------------------------------------------------------------------------------------------ episodes
def publisher_out_of_step(entries: Entries, now: datetime, stuck_after: timedelta) -> list[OutOfStep]:
    found: list[OutOfStep] = []
    for (entity, target_name), source in sorted(entries.items()):
        if target_name != EPISODE_SOURCE.name or not source.state.mapped:
            continue
        target = entries.get((entity, MEGAPHONE.name))
        kind = _publisher_kind(source, target, now, stuck_after)
        if kind is not None:
            key = parse_entity_key(entity)
            found.append(OutOfStep(key, kind, EpisodeReevaluationDue(product_id=key.number, reason=f"reconcile: {kind}", due_at=now)))
    return found


def _publisher_kind(source: EntryView[SourceFacts], target: EntryView[DeliveryFacts] | None, now: datetime, stuck_after: timedelta) -> str | None:
    if target is None:
        return Kind.NEVER_EVALUATED
    if target.state.evaluated_source_hash != source.source_hash:
        return Kind.SOURCE_NOT_EVALUATED
    if target.pending_create and (target.updated_at is None or now - target.updated_at >= stuck_after):
        return Kind.CREATE_STUCK
    return None


def write_back_out_of_step(entries: Entries) -> list[OutOfStep]:
    """Deliveries the write-back flow never recorded (see the module docstring)."""
    found: list[OutOfStep] = []
    for (entity, target_name), target in sorted(entries.items()):
        if target_name != MEGAPHONE.name or target.status not in WRITTEN_BACK_STATUSES:
            continue
        state = target.state
        if not (state.spotify_id and state.episode_id and state.podcast_id) or state.withdraw_pending:
            continue
        wanted = OWN_STATUSES[LedgerStatus(target.status)]
        written = entries.get((entity, CONSONANCE_WRITEBACK.name))
        link = written.state.links.get(SPOTIFY_LINK) if written is not None else None
        if link is not None and not link.pending and (link.status == wanted or link.status not in OWN_STATUSES.values()):
            continue
        key = parse_entity_key(entity)
        delivered = EpisodeDelivered(
            product_id=key.number,
            megaphone_episode_id=state.episode_id,
            podcast_id=state.podcast_id,
            spotify_id=state.spotify_id,
            status=wanted,
            content_hash=target.pushed_hash or "",
            correlation_id=f"reconcile:{key}",
        )
        found.append(OutOfStep(key, Kind.NOT_WRITTEN_BACK, delivered))
    return found


# ----------------------------------------------------------------------------------------- campaigns
def campaigns_out_of_step(entries: Entries, now: datetime, stuck_after: timedelta) -> list[OutOfStep]:
    found: list[OutOfStep] = []
    for (entity, target_name), milestone in sorted(entries.items()):
        if target_name != MILESTONE.name:
            continue
        state = milestone.state
        if None in (state.announced_hash, state.title, state.window, state.reached_on):
            continue  # never announced: nothing to repeat
        campaign = entries.get((entity, SPOTIFY_ADS.name))
        kind = _campaign_kind(milestone, campaign, now, stuck_after)
        if kind is not None:
            found.append(OutOfStep(parse_entity_key(entity), kind, last_announcement(milestone)))
    return found


def _campaign_kind(milestone: EntryView[MilestoneState], campaign: EntryView[CampaignRevision] | None, now: datetime, stuck_after: timedelta) -> str | None:
    old_enough = milestone.updated_at is None or now - milestone.updated_at >= stuck_after  # its event may still be queued
    if campaign is None or campaign.state.revision < milestone.state.revision:
        if campaign is None and milestone.status is MilestoneStatus.CANCELLED:
            return None  # cancelled before anything was planned: nothing to stop
        return Kind.CAMPAIGN_NOT_APPLIED if old_enough else None
    mid_way = campaign.status not in CAMPAIGN_SETTLED or campaign.pending_create is not None
    if mid_way and (campaign.updated_at is None or now - campaign.updated_at >= stuck_after):
        return Kind.CAMPAIGN_STUCK
    return None


# ----------------------------------------------------------------------------------------- megaphone
def megaphone_orphans(deps: ReconcileDeps, entries: Entries, now: datetime, outcome: ReconcileOutcome) -> tuple[list[OutOfStep], bool]:
    """Our products' episodes on Megaphone that the ledger does not know: each is marked for adoption
    (so the publisher looks it up instead of creating another) and handed to the publisher. Returns
    them and whether every podcast could be listed."""
    by_podcast: dict[str, set[str]] = {}
    for (entity, target_name), source in entries.items():
        series_id = source.state.series_id if target_name == EPISODE_SOURCE.name else None
        podcast = deps.podcasts.get(str(series_id)) if series_id is not None else None
        if podcast is not None:
            by_podcast.setdefault(podcast, set()).add(str(parse_entity_key(entity).number))
    found: list[OutOfStep] = []
    complete = True
    for podcast_id, products in sorted(by_podcast.items()):
        try:
            listed = [(e.external_id, e.id) for e in deps.megaphone.list_episodes(podcast_id) if e.external_id in products]
        except IntegrationError as exc:
            outcome.errors.append(f"megaphone podcast {podcast_id}: {exc}")
            complete = False
            continue
        for external_id, episode_id in sorted(listed):
            key = episode_key(int(external_id))
            target = entries.get((str(key), MEGAPHONE.name))
            if target is not None and (target.state.episode_id is not None or target.pending_create):
                continue
            try:
                _mark_for_adoption(deps.ledger, key, target, episode_id, podcast_id)
            except ConcurrentUpdate:
                continue  # someone is writing it right now (or did since the scan): the next run looks again
            found.append(OutOfStep(key, Kind.ORPHAN_ON_MEGAPHONE, EpisodeReevaluationDue(product_id=key.number, reason=f"reconcile: {Kind.ORPHAN_ON_MEGAPHONE}", due_at=now)))
    return found, complete


def _mark_for_adoption(ledger: SyncLedger, key: EntityKey, seen: EntryView[Any] | None, episode_id: str, podcast_id: str) -> None:
    """The entry itself is read (the scan read a view of it) and saved only if it is still the one seen."""
    entry = ledger.get(key, MEGAPHONE) if seen is not None else new_entry(key, MEGAPHONE)
    if entry is None or (seen is not None and entry.version != seen.version):
        raise ConcurrentUpdate(f"{key}/{MEGAPHONE.name} changed since the reconciler read it")
    entry.pending_create = f"{ADOPT_MARK}{episode_id}"
    entry.record("found_on_megaphone", f"episode {episode_id} in podcast {podcast_id} carries this product's externalId; to be adopted")
    ledger.save(entry)


# ------------------------------------------------------------------------------------------- pauses
def due_remedies(
    found: Iterable[OutOfStep], paused: dict[str, Any], now: datetime, first_pause: timedelta, cap: timedelta
) -> tuple[list[DomainEvent], dict[str, Any]]:
    """The remedies to emit now (one per entity and event type) and the pauses to keep: a remedy is
    emitted at once the first time, then after `first_pause`, doubled each time, at most `cap`.
    Pauses of things no longer out of step are dropped."""
    due: list[DomainEvent] = []
    kept: dict[str, Any] = {}
    for item in found:
        name = item.pause_key
        if name in kept:
            continue
        previous = paused.get(name)
        if previous is not None:
            times = int(previous["times"])
            wait = min(first_pause * (2 ** (times - 1)), cap)
            if now - datetime.fromisoformat(previous["at"]) < wait:
                kept[name] = previous
                continue
        else:
            times = 0
        due.append(item.remedy)
        kept[name] = {"times": times + 1, "at": now.isoformat()}
    return due, kept
