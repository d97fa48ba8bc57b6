"""Acts on time rather than on Consonance: release dates that arrived, and the daily drift check.

Hourly: every entry that sits on Megaphone as a draft (or held without a date problem) and whose
release date is today or past is handed back to the publisher (`EpisodeReevaluationDue`). Once a day:
one `SeriesChanged` per known series, so metadata sync compares Megaphone with Consonance even when
nothing changed in Consonance (drift made on the Megaphone side).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from functions.domain.events import DomainEvent, EpisodeReevaluationDue, SeriesChanged
from functions.event_bus import EventBus
from functions.flows.ledger_keys import SOURCE, TARGET, product_id_of
from functions.state.cursors import CursorStore
from functions.state.ledger import LedgerStatus, SyncLedger

CURSOR = "release-sweep"


@dataclass
class SweepOutcome:
    released: list[int] = field(default_factory=list)
    drift_checks: list[int] = field(default_factory=list)


def sweep(ledger: SyncLedger, cursors: CursorStore, bus: EventBus, now: datetime) -> SweepOutcome:
    outcome = SweepOutcome()
    today = now.date()
    events: list[DomainEvent] = []
    for entry in ledger.by_status(TARGET, LedgerStatus.DRAFT):
        release = entry.attributes.get("release_date")
        if release and date.fromisoformat(release) <= today:
            product_id = product_id_of(entry.entity)
            outcome.released.append(product_id)
            events.append(EpisodeReevaluationDue(product_id=product_id, reason=f"release date {release} reached", due_at=now))
    cursor = cursors.get(CURSOR) or {}
    if cursor.get("last_drift_check") != today.isoformat():
        series = sorted({int(e.series_key.split("#", 1)[1]) for e in ledger.scan(SOURCE) if e.series_key})
        outcome.drift_checks = series
        events.extend(SeriesChanged(series_id=s, reason="daily drift check") for s in series)
    bus.publish(events)
    if outcome.drift_checks:
        cursors.put(CURSOR, {**cursor, "last_drift_check": today.isoformat()})
    return outcome
