"""The licence sweep: reads branded assets' licences from Consonance, moves each licence through its
lifecycle with time, and tells the channels — level-triggered, every sweep interval.

One run:
1. Consonance: a light look at the audio products changed since the last run's date (inclusive;
   `changedSince` is a date) — their ids and work types — then the branded ones (a work type that
   maps to a licensed kind) in full, 25 to a request, with their contracts' parties, termination
   reasons and approval states. Each branded asset (`licence_mapping`) whose content changed is
   stored on its `licence#<product>` entry with its blocking findings (`licence_findings`). A
   revocation in Consonance is seen by the next run. The cursor keeps the ids of every licence read,
   so the run reads their entries by key instead of querying an index.
2. Every licence entry: its lifecycle state today (`lifecycle`). A new state is recorded with its
   reason and time (the entry's status, its history and `transitions`). Entering `expiring` for a
   window end sends ONE alert to the operations topic (the ends already alerted are kept, so a retry
   or the next run does not repeat it; a renewal's new end gets its own).
3. The channels: `LicenceChanged` when the state or the licence changed (its fingerprint), and again
   when a channel has not acted on the current fingerprint or is live where the licence no longer
   allows it — so a dead-lettered or lost delivery is retried by the next run, not forgotten.
4. Counts per licensee and state, and channel entries live past their window, for the dashboard.

Only then does the cursor move. The run is idempotent: a retry after a failure re-reads the same day.

Within one day the decision, the fingerprint and the channels allowed depend only on the licence as
Consonance gave it, so only the day's first run reads every licence's entry whole and evaluates it;
it saves, with the fingerprint, the channels the licence allows (`allowed_channels`). Every later run
that day (the cursor's `changed_since`, the last complete run's date, is today) reads projected views
instead (`EVALUATED`: status, reason, hashes and four state fields parsed; no history or findings
read) and applies the same channel rules (`Standing`) to what the first run saved. Why: the other
95 runs of a day would parse every whole licence only to reach the same decision. A licence that
Consonance changed, one first seen, or one saved by an older sweep is read whole and evaluated as on
the day's first run. A run that dies leaves the cursor's date behind (the next run evaluates all), or
licences saved with what it decided today (what a view then reads); an announcement it lost is a
lagging channel. Channels are always read as views (`CHANNEL_VIEWS`: status and `acted_on`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from functions.alerts import Alert, AlertPublisher
from functions.connectors.consonance.client import ConsonanceClient
from functions.connectors.consonance.licence_mapping import MappedAsset, map_branded_asset
from functions.domain.events import LicenceChanged
from functions.domain.licence import (
    LicenceChannel,
    LifecycleDecision,
    LifecycleState,
    channel_allowed,
    channels_on,
    licence_findings,
    lifecycle,
)
from functions.domain.models import Finding
from functions.event_bus import EventBus
from functions.mapping_config import MappingConfig
from functions.state.cursors import CursorStore
from functions.state.keys import EntityKey, licence_key
from functions.state.ledger import EntryView, LedgerEntry, StatePart, SyncLedger, TargetView, new_entry
from functions.state.targets import CHANNEL_TARGETS, LICENCE, LICENCE_TRANSITIONS_KEPT, ChannelStatus, LicenceState, LicenceTransition

CURSOR = "licence-sweep"
READ_BATCH = 25  # branded products read in full per request (aliased fields, one GraphQL request)
FIRST_SWEEP_SINCE = date(1970, 1, 1)
# A channel still live this long after its licence stopped allowing it counts as "live past window"
# (the sweep interval and the channels' own delivery time).
LIVE_PAST_WINDOW_GRACE = timedelta(minutes=30)
UNKNOWN_LICENSEE = "(none)"


class EvaluatedLicence(StatePart):
    """What a run reads of a licence its day's first run evaluated: what that run decided and saved."""

    licensee: str | None = None
    fingerprint: str | None = None
    fingerprint_at: datetime | None = None
    allowed_channels: list[LicenceChannel] | None = None


class ChannelStep(StatePart):
    """What a run compares of a channel's entry (with its status): the fingerprint it acted on."""

    acted_on: str | None = None


EVALUATED = TargetView(LICENCE, EvaluatedLicence)
CHANNEL_VIEWS = {channel: TargetView(spec, ChannelStep) for channel, spec in CHANNEL_TARGETS.items()}
CHANNEL_OF_TARGET = {spec.name: channel for channel, spec in CHANNEL_TARGETS.items()}
Evaluated = EntryView[EvaluatedLicence]
ChannelView = EntryView[ChannelStep]
Channels = dict[EntityKey, dict[LicenceChannel, ChannelView]]


@dataclass(frozen=True)
class Standing:
    """What the channels and the dashboard need of one licence today, from its whole entry as evaluated
    now or from its view (`EVALUATED`): one set of rules for both."""

    key: EntityKey
    state: LifecycleState
    reason: str
    licensee: str | None
    fingerprint: str
    fingerprint_at: datetime | None
    allowed: frozenset[LicenceChannel]
    announce: bool  # a new fingerprint: every channel hears of it


@dataclass
class LicenceSweepDeps:
    consonance: ConsonanceClient
    ledger: SyncLedger
    cursors: CursorStore
    bus: EventBus
    alerts: AlertPublisher
    mapping: MappingConfig


@dataclass
class SweepOutcome:
    changed_since: date
    products_read: int = 0
    licences_changed: int = 0
    transitions: list[str] = field(default_factory=list)  # "licence#41301: live -> expiring"
    expiry_alerts: int = 0
    announced: int = 0
    out_of_step: int = 0
    by_licensee: dict[str, dict[str, int]] = field(default_factory=dict)  # licensee -> state -> count
    live_past_window: int = 0  # channel entries still live where their licence stopped allowing it


def sweep(deps: LicenceSweepDeps, now: datetime) -> SweepOutcome:
    cursor = deps.cursors.get(CURSOR) or {}
    since = date.fromisoformat(cursor["changed_since"]) if "changed_since" in cursor else FIRST_SWEEP_SINCE
    outcome = SweepOutcome(changed_since=since)
    today = now.date()
    known = [licence_key(int(pid)) for pid in cursor.get("licences", [])]
    # `changed_since` is the date of the last complete run: when it is today, that run evaluated every
    # licence today and saved what it decided, so the licences Consonance did not change are read as views.
    evaluated_today = since == today
    views, channels = _views(deps.ledger, known, with_licences=evaluated_today)
    entries = {} if evaluated_today else deps.ledger.get_many(known, LICENCE)
    stored = {key: view.source_hash for key, view in views.items()} | {key: entry.source_hash for key, entry in entries.items()}
    sources = _read_changes(deps, since, stored, outcome)
    first_seen = sorted(set(sources) - set(known))
    if first_seen:  # a licence read for the first time this run may already have channel entries (a lost cursor)
        channels.update(_views(deps.ledger, first_seen, with_licences=False)[1])
    whole = sorted((set(sources) | {key for key, view in views.items() if not _evaluated(view)}) - set(entries))
    if whole:
        entries.update(deps.ledger.get_many(whole, LICENCE))
    changed: set[EntityKey] = set()
    for key, mapped in sorted(sources.items()):
        if _apply_source(entries.setdefault(key, new_entry(key, LICENCE)), mapped):
            changed.add(key)
            outcome.licences_changed += 1
    events: list[LicenceChanged] = []
    for key in sorted(set(entries) | set(views)):
        entry = entries.get(key)
        standing = _evaluate(deps, entry, key in changed, now, outcome) if entry is not None else _as_evaluated(views[key])
        if standing is None:
            continue
        event = _tell_channels(standing, channels.get(key, {}), now, outcome)
        if event is not None:
            events.append(event)
    if events:
        deps.bus.publish(events)
        outcome.announced = len(events)
    licences = sorted(key.number for key in set(entries) | set(views))
    deps.cursors.advance(CURSOR, cursor or None, {"changed_since": today.isoformat(), "last_success_at": now.isoformat(), "licences": licences})
    return outcome


# ------------------------------------------------------------------------------------- reading
def _read_changes(deps: LicenceSweepDeps, since: date, stored: dict[EntityKey, str | None], outcome: SweepOutcome) -> dict[EntityKey, MappedAsset]:
    """The branded assets Consonance changed since `since` whose content differs from what the ledger
    stored (`stored`: source hash by licence; absent: first seen)."""
    mapping = deps.mapping
    licensed = mapping.branded.licensed_kinds
    wanted = [
        product_id
        for product_id, work_type in deps.consonance.iter_changed_product_kinds(since)
        if mapping.episode_kinds.get(work_type or "", mapping.default_episode_kind) in licensed
    ]
    changed: dict[EntityKey, MappedAsset] = {}
    contract_status = mapping.branded.licence_approval == "contract_status"
    for start in range(0, len(wanted), READ_BATCH):
        records = deps.consonance.branded_products(wanted[start : start + READ_BATCH], contract_status=contract_status)
        for record in records.values():
            outcome.products_read += 1
            mapped = map_branded_asset(record, mapping)
            if mapped is None:
                continue
            key = licence_key(mapped.asset.product_id)
            if _source(mapped)[0] != stored.get(key):
                changed[key] = mapped
    return changed


def _source(mapped: MappedAsset) -> tuple[str, list[Finding]]:
    """The hash of everything the lifecycle or a channel uses of what Consonance says, and the findings."""
    findings = licence_findings(mapped.asset)
    content = json.dumps(
        {"asset": mapped.asset.model_dump(mode="json"), "episode": mapped.episode.content_hash(), "findings": [f.code for f in findings]},
        sort_keys=True,
    )
    return hashlib.sha256(content.encode()).hexdigest()[:32], findings


def _apply_source(entry: LedgerEntry[LicenceState], mapped: MappedAsset) -> bool:
    """Store what Consonance says now; False when nothing the lifecycle or a channel uses changed."""
    source_hash, findings = _source(mapped)
    if entry.source_hash == source_hash:
        return False
    entry.source_hash = source_hash
    entry.state.asset, entry.state.episode = mapped.asset, mapped.episode
    licensee = mapped.asset.licensee
    entry.state.licensee = licensee.name if licensee is not None else None
    entry.findings = findings
    entry.record("licence_read", ", ".join(sorted({f.code for f in findings})) or "licence changed in Consonance")
    return True


def _views(ledger: SyncLedger, keys: list[EntityKey], *, with_licences: bool) -> tuple[dict[EntityKey, Evaluated], Channels]:
    """The channels' views of these licences (and the licences' own, `with_licences`), in one projected
    BatchGetItem (100 keys a call): none of them reads a history, findings or a whole asset."""
    views = (*CHANNEL_VIEWS.values(), *((EVALUATED,) if with_licences else ()))
    licences: dict[EntityKey, Evaluated] = {}
    channels: Channels = {}
    for view in ledger.get_view_items((key, view) for key in keys for view in views):
        if view.target == LICENCE.name:
            licences[view.key] = view
        else:
            channels.setdefault(view.key, {})[CHANNEL_OF_TARGET[view.target]] = view
    return licences, channels


# ----------------------------------------------------------------------------------- deciding
def _previous(entry: LedgerEntry[LicenceState]) -> LifecycleState | None:
    return LifecycleState(entry.status) if entry.state.transitions else None


def _record_decision(entry: LedgerEntry[LicenceState], decision: LifecycleDecision, now: datetime, outcome: SweepOutcome) -> bool:
    entry.state.ends_on = decision.ends_on
    last = entry.state.transitions[-1] if entry.state.transitions else None
    if last is not None and last.state == decision.state:
        if entry.status_reason != decision.reason:
            entry.status_reason = decision.reason  # same state, a fresher explanation (not a transition)
            return True
        return False
    outcome.transitions.append(f"{entry.entity}: {last.state.value if last else 'new'} -> {decision.state.value}")
    entry.set_status(decision.state, decision.reason)
    entry.state.transitions.append(LicenceTransition(state=decision.state, reason=decision.reason, at=now))
    del entry.state.transitions[:-LICENCE_TRANSITIONS_KEPT]
    return True


def _alert_expiry(entry: LedgerEntry[LicenceState], decision: LifecycleDecision, alerts: AlertPublisher, outcome: SweepOutcome) -> bool:
    """One alert per window end: sent, then remembered on the entry (saved right after)."""
    end = decision.ends_on
    if decision.state is not LifecycleState.EXPIRING or end is None or end in entry.state.expiry_alerted_for:
        return False
    asset = entry.state.asset
    assert asset is not None
    licensee = entry.state.licensee or UNKNOWN_LICENSEE
    alerts.publish(
        Alert(
            subject=f"Branded licence expiring {end}: {asset.title} ({licensee})",
            message=(
                f"The licence of branded asset {asset.title} (product {asset.product_id}) to {licensee} ends on {end}.\n"
                f"On that day it is withdrawn from every channel (brand show, brand playlists, venue delivery) unless it is "
                f"renewed in Consonance (a later terminated date, or a new licence contract starting by then).\n\n"
                f"Details: python -m infra.ops licences --licensee {json.dumps(licensee)} --expiring-within 30d"
            ),
            attributes={"kind": "licence_expiring", "product_id": str(asset.product_id), "licensee": licensee},
        )
    )
    entry.state.expiry_alerted_for.append(end)
    entry.record("expiry_alerted", f"licence ends {end}")
    outcome.expiry_alerts += 1
    return True


def licence_fingerprint(entry: LedgerEntry[LicenceState], decision: LifecycleDecision, day: date) -> str:
    """What the channels must have acted on: the state, the window, the channels granted today and
    the licence's content. Equal fingerprints mean no channel has anything new to do."""
    asset = entry.state.asset
    channels = sorted(channels_on(asset, day)) if asset is not None else []
    content = json.dumps(
        {"state": decision.state.value, "ends_on": str(decision.ends_on), "channels": channels, "source": entry.source_hash}, sort_keys=True
    )
    return hashlib.sha256(content.encode()).hexdigest()[:24]


def _evaluate(deps: LicenceSweepDeps, entry: LedgerEntry[LicenceState], changed: bool, now: datetime, outcome: SweepOutcome) -> Standing | None:
    """The licence's lifecycle today from its whole entry: a new state, reason, alert, fingerprint or
    allowed channels is saved (with what Consonance changed); None for an entry with no asset."""
    asset = entry.state.asset
    if asset is None:
        return None
    today = now.date()
    decision = lifecycle(asset, entry.findings, today, deps.mapping.branded.expiring_days, previous=_previous(entry))
    moved = _record_decision(entry, decision, now, outcome)
    alerted = _alert_expiry(entry, decision, deps.alerts, outcome)
    fingerprint = licence_fingerprint(entry, decision, today)
    stale = fingerprint != entry.state.fingerprint
    if stale:
        entry.state.fingerprint, entry.state.fingerprint_at = fingerprint, now
    allowed = sorted(channel for channel in LicenceChannel if channel_allowed(asset, entry.findings, today, channel)[0])
    allowed_differ = allowed != entry.state.allowed_channels  # with the fingerprint, or saved by an older sweep
    entry.state.allowed_channels = allowed
    if moved or alerted or stale or allowed_differ or changed:
        deps.ledger.save(entry)
    return Standing(entry.key, decision.state, decision.reason, entry.state.licensee, fingerprint, entry.state.fingerprint_at, frozenset(allowed), stale)


def _evaluated(view: Evaluated) -> bool:
    """Whether the licence's view carries what its last evaluation decided (a licence saved by an older
    sweep does not: it is read whole and evaluated once more)."""
    return view.state.fingerprint is not None and view.state.allowed_channels is not None


def _as_evaluated(view: Evaluated) -> Standing:
    """The licence as this day's first run evaluated it (a later run the same day would decide the same)."""
    evaluated = view.state
    assert evaluated.fingerprint is not None and evaluated.allowed_channels is not None
    return Standing(
        view.key,
        LifecycleState(view.status),
        view.status_reason or "",
        evaluated.licensee,
        evaluated.fingerprint,
        evaluated.fingerprint_at,
        frozenset(evaluated.allowed_channels),
        announce=False,
    )


def _tell_channels(standing: Standing, channels: dict[LicenceChannel, ChannelView], now: datetime, outcome: SweepOutcome) -> LicenceChanged | None:
    """`LicenceChanged` when the fingerprint is new or a channel is out of step; the licence counted."""
    lagging = _out_of_step(standing, channels)
    outcome.out_of_step += bool(lagging and not standing.announce)
    counts = outcome.by_licensee.setdefault(standing.licensee or UNKNOWN_LICENSEE, {state.value: 0 for state in LifecycleState})
    counts[standing.state.value] += 1
    outcome.live_past_window += _live_past_window(standing, channels, now)
    if not (standing.announce or lagging):
        return None
    return LicenceChanged(
        product_id=standing.key.number,
        state=standing.state.value,
        reason=standing.reason,
        fingerprint=standing.fingerprint,
        correlation_id=f"licence-sweep-{now.isoformat()}",
    )


def _live_where_not_allowed(standing: Standing, channels: dict[LicenceChannel, ChannelView]) -> int:
    """How many channel entries are live where the licence does not allow them today."""
    return sum(1 for channel, target in channels.items() if target.status == ChannelStatus.LIVE and channel not in standing.allowed)


def _out_of_step(standing: Standing, channels: dict[LicenceChannel, ChannelView]) -> bool:
    """A channel that has not acted on the current fingerprint, or is live where it must not be."""
    return any(target.state.acted_on != standing.fingerprint for target in channels.values()) or _live_where_not_allowed(standing, channels) > 0


def _live_past_window(standing: Standing, channels: dict[LicenceChannel, ChannelView], now: datetime) -> int:
    """Channel entries still live where the licence stopped allowing them, more than the grace after
    the sweep saw it (any change that disallows a channel gives the licence a new fingerprint)."""
    known_since = standing.fingerprint_at or now
    if now - known_since < LIVE_PAST_WINDOW_GRACE:
        return 0
    return _live_where_not_allowed(standing, channels)
