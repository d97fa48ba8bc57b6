"""Acts on time rather than on Consonance: release dates that arrived, rights windows that opened or
closed, and the daily drift check.

Hourly: every entry that sits on Megaphone as a draft and whose release date is today or past is
handed back to the publisher (`EpisodeReevaluationDue`). On the first run of each day: every episode
whose clearance changed since the previous day's check (a narrator agreement that ended at midnight,
a licence that starts today) gets `RightsWindowDue`, so rights sync withdraws or releases it without
any change in Consonance; and one `SeriesChanged` per known series, so metadata sync compares
Megaphone with Consonance even when nothing changed in Consonance (drift made on the Megaphone side).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from functions.domain.clearance import compute_clearance
from functions.domain.events import DomainEvent, EpisodeReevaluationDue, RightsWindowDue, SeriesChanged
from functions.domain.models import Episode
from functions.domain.rights import RightsPolicy
from functions.event_bus import EventBus
from functions.state.cursors import CursorStore
from functions.state.keys import parse_entity_key
from functions.state.ledger import SyncLedger
from functions.state.targets import EPISODE_SOURCE, MEGAPHONE, LedgerStatus

CURSOR = "release-sweep"


@dataclass
class SweepOutcome:
    released: list[int] = field(default_factory=list)
    rights_windows: list[int] = field(default_factory=list)
    drift_checks: list[int] = field(default_factory=list)


def sweep(ledger: SyncLedger, cursors: CursorStore, bus: EventBus, now: datetime, policy: RightsPolicy) -> SweepOutcome:
    outcome = SweepOutcome()
    today = now.date()
    events: list[DomainEvent] = []
    for entry in ledger.by_status(MEGAPHONE, LedgerStatus.DRAFT):
        release = entry.state.release_date
        if release and release <= today:
            product_id = entry.key.number
            outcome.released.append(product_id)
            events.append(EpisodeReevaluationDue(product_id=product_id, reason=f"release date {release} reached", due_at=now))
    cursor = cursors.get(CURSOR) or {}
    if cursor.get("last_daily_check") != today.isoformat():
        sources = [e for e in ledger.scan(EPISODE_SOURCE) if e.state.episode]
        checked_on = date.fromisoformat(cursor["last_daily_check"]) if "last_daily_check" in cursor else None
        for source in sources:
            edge = _clearance_edge(source.state.episode, checked_on, today, policy)
            if edge is not None:
                outcome.rights_windows.append(source.key.number)
                events.append(RightsWindowDue(product_id=source.key.number, due_at=now, reason=f"clearance changed on {edge}"))
        outcome.drift_checks = sorted({parse_entity_key(e.series_key).number for e in sources if e.series_key})
        events.extend(SeriesChanged(series_id=s, reason=f"daily drift check {today}") for s in outcome.drift_checks)
    bus.publish(events)
    if cursor.get("last_daily_check") != today.isoformat():
        cursors.put(CURSOR, {**cursor, "last_daily_check": today.isoformat()})
    return outcome


def _clearance_edge(episode: Episode | None, checked_on: date | None, today: date, policy: RightsPolicy) -> date | None:
    """The day clearance changed in (checked_on, today], or None. The first check looks back a day."""
    if episode is None:
        return None
    clearance = compute_clearance(episode, policy)
    edge = clearance.next_change_after(checked_on or today - timedelta(days=1))
    return edge if edge is not None and edge <= today else None
