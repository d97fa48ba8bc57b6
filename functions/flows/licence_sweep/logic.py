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
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

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
from functions.event_bus import EventBus
from functions.mapping_config import MappingConfig
from functions.state.cursors import CursorStore
from functions.state.keys import EntityKey, licence_key
from functions.state.ledger import LedgerEntry, SyncLedger, new_entry
from functions.state.targets import CHANNEL_TARGETS, LICENCE, LICENCE_TRANSITIONS_KEPT, ChannelStatus, LicenceState, LicenceTransition

CURSOR = "licence-sweep"
READ_BATCH = 25  # branded products read in full per request (aliased fields, one GraphQL request)
FIRST_SWEEP_SINCE = date(1970, 1, 1)
# A channel still live this long after its licence stopped allowing it counts as "live past window"
# (the sweep interval and the channels' own delivery time).
LIVE_PAST_WINDOW_GRACE = timedelta(minutes=30)
UNKNOWN_LICENSEE = "(none)"


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
    known = [licence_key(int(pid)) for pid in cursor.get("licences", [])]
    entries, channels = _licences_and_channels(deps.ledger, known)
    changed = _read_changes(deps, since, entries, outcome)
    today = now.date()
    first_seen = sorted(set(entries) - set(known))
    if first_seen:  # a licence read for the first time this run may already have channel entries (a lost cursor)
        channels.update(_licences_and_channels(deps.ledger, first_seen, with_licences=False)[1])
    events: list[LicenceChanged] = []
    for key, entry in sorted(entries.items()):
        if entry.state.asset is None:
            continue
        decision = lifecycle(entry.state.asset, entry.findings, today, deps.mapping.branded.expiring_days, previous=_previous(entry))
        moved = _record_decision(entry, decision, now, outcome)
        alerted = _alert_expiry(entry, decision, deps.alerts, outcome)
        fingerprint = licence_fingerprint(entry, decision, today)
        stale = fingerprint != entry.state.fingerprint
        if stale:
            entry.state.fingerprint, entry.state.fingerprint_at = fingerprint, now
        if moved or alerted or stale or key in changed:
            deps.ledger.save(entry)
        lagging = _out_of_step(entry, channels.get(key, {}), fingerprint, now)
        outcome.out_of_step += bool(lagging and not stale)
        if stale or lagging:
            events.append(
                LicenceChanged(
                    product_id=key.number,
                    state=decision.state.value,
                    reason=decision.reason,
                    fingerprint=fingerprint,
                    correlation_id=f"licence-sweep-{now.isoformat()}",
                )
            )
        licensee = entry.state.licensee or UNKNOWN_LICENSEE
        counts = outcome.by_licensee.setdefault(licensee, {state.value: 0 for state in LifecycleState})
        counts[decision.state.value] += 1
        outcome.live_past_window += _live_past_window(entry, channels.get(key, {}), now)
    if events:
        deps.bus.publish(events)
        outcome.announced = len(events)
    licences = sorted(key.number for key in entries)
    deps.cursors.advance(CURSOR, cursor or None, {"changed_since": today.isoformat(), "last_success_at": now.isoformat(), "licences": licences})
    return outcome


# ------------------------------------------------------------------------------------- reading
def _read_changes(
    deps: LicenceSweepDeps, since: date, entries: dict[EntityKey, LedgerEntry[LicenceState]], outcome: SweepOutcome
) -> set[EntityKey]:
    mapping = deps.mapping
    licensed = mapping.branded.licensed_kinds
    wanted = [
        product_id
        for product_id, work_type in deps.consonance.iter_changed_product_kinds(since)
        if mapping.episode_kinds.get(work_type or "", mapping.default_episode_kind) in licensed
    ]
    changed: set[EntityKey] = set()
    contract_status = mapping.branded.licence_approval == "contract_status"
    for start in range(0, len(wanted), READ_BATCH):
        records = deps.consonance.branded_products(wanted[start : start + READ_BATCH], contract_status=contract_status)
        for record in records.values():
            outcome.products_read += 1
            mapped = map_branded_asset(record, mapping)
            if mapped is None:
                continue
            key = licence_key(mapped.asset.product_id)
            entry = entries.get(key) or new_entry(key, LICENCE)
            if _apply_source(entry, mapped):
                entries[key] = entry
                changed.add(key)
                outcome.licences_changed += 1
    return changed


def _apply_source(entry: LedgerEntry[LicenceState], mapped: MappedAsset) -> bool:
    """Store what Consonance says now; False when nothing the lifecycle or a channel uses changed."""
    findings = licence_findings(mapped.asset)
    content = json.dumps(
        {"asset": mapped.asset.model_dump(mode="json"), "episode": mapped.episode.content_hash(), "findings": [f.code for f in findings]},
        sort_keys=True,
    )
    source_hash = hashlib.sha256(content.encode()).hexdigest()[:32]
    if entry.source_hash == source_hash:
        return False
    entry.source_hash = source_hash
    entry.state.asset, entry.state.episode = mapped.asset, mapped.episode
    licensee = mapped.asset.licensee
    entry.state.licensee = licensee.name if licensee is not None else None
    entry.findings = findings
    entry.record("licence_read", ", ".join(sorted({f.code for f in findings})) or "licence changed in Consonance")
    return True


def _licences_and_channels(
    ledger: SyncLedger, keys: list[EntityKey], *, with_licences: bool = True
) -> tuple[dict[EntityKey, LedgerEntry[LicenceState]], dict[EntityKey, dict[LicenceChannel, LedgerEntry[Any]]]]:
    """The licences' entries and their channels' entries, in one BatchGetItem (100 keys a call)."""
    by_target = {spec.name: channel for channel, spec in CHANNEL_TARGETS.items()}
    targets = (LICENCE, *CHANNEL_TARGETS.values()) if with_licences else tuple(CHANNEL_TARGETS.values())
    licences: dict[EntityKey, LedgerEntry[LicenceState]] = {}
    channels: dict[EntityKey, dict[LicenceChannel, LedgerEntry[Any]]] = {}
    for item in ledger.get_items((key, spec) for key in keys for spec in targets):
        if item.target == LICENCE.name:
            licences[item.key] = item
        else:
            channels.setdefault(item.key, {})[by_target[item.target]] = item
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


def _out_of_step(
    entry: LedgerEntry[LicenceState], channels: dict[LicenceChannel, LedgerEntry[Any]], fingerprint: str, now: datetime
) -> bool:
    """A channel that has not acted on the current fingerprint, or is live where it must not be."""
    asset = entry.state.asset
    assert asset is not None
    for channel, target in channels.items():
        if target.state.acted_on != fingerprint:
            return True
        if target.status == ChannelStatus.LIVE and not channel_allowed(asset, entry.findings, now.date(), channel)[0]:
            return True
    return False


def _live_past_window(entry: LedgerEntry[LicenceState], channels: dict[LicenceChannel, LedgerEntry[Any]], now: datetime) -> int:
    """Channel entries still live where the licence stopped allowing them, more than the grace after
    the sweep saw it (any change that disallows a channel gives the licence a new fingerprint)."""
    asset = entry.state.asset
    assert asset is not None
    known_since = entry.state.fingerprint_at or now
    if now - known_since < LIVE_PAST_WINDOW_GRACE:
        return 0
    return sum(
        1
        for channel, target in channels.items()
        if target.status == ChannelStatus.LIVE and not channel_allowed(asset, entry.findings, now.date(), channel)[0]
    )
