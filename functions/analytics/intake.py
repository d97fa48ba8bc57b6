"""What each listening source delivered, kept in the sync ledger where people look for findings.

One ledger entry (target `analytics`) per unit of intake: `listening#megaphone_export:<day>` for an
export day, `listening#spotify_creators:<show>` for a Creators show. Its status says whether the unit
is in the store (`ingested`), expected and absent (`missing`), unusable (`rejected`, dead-lettered
with its reason) or blocked (`login_expired`); its findings say what a person should look at (unknown
episodes, rejected lines, a missing day). Each intake replaces the unit's findings, so a day whose
file finally arrives stops being reported missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta

from functions.analytics.creators_facts import CreatorsCollection
from functions.analytics.facts import Source
from functions.analytics.megaphone_export import ExportIngest
from functions.analytics.store import FactStore
from functions.domain.errors import PermanentError
from functions.domain.models import Finding
from functions.state.keys import listening_key
from functions.state.ledger import ConcurrentUpdate, LedgerEntry, SyncLedger
from functions.state.targets import LISTENING, ListeningState, ListeningStatus

EXPORT: Source = "megaphone_export"
CREATORS: Source = "spotify_creators"
SAVE_ATTEMPTS = 3
# Megaphone's V2 export finalises a day by 11:00 UTC the next day (the legacy one by 04:30): at a run
# on day D, the days up to D-2 are final.
FINAL_AFTER_DAYS = 2


def _update(ledger: SyncLedger, source: str, subject: str, change: Callable[[LedgerEntry[ListeningState]], None]) -> LedgerEntry[ListeningState]:
    """Read, change and save the unit's entry; a concurrent writer makes it read and change again."""
    key = listening_key(source, subject)
    for attempt in range(SAVE_ATTEMPTS):
        entry = ledger.get_or_new(key, LISTENING)
        change(entry)
        try:
            ledger.save(entry)
            return entry
        except ConcurrentUpdate:
            if attempt == SAVE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


# ------------------------------------------------------------------------------------------ export
def record_export_ingest(ledger: SyncLedger, result: ExportIngest) -> LedgerEntry[ListeningState]:
    day = result.object.day.isoformat()

    def change(entry: LedgerEntry[ListeningState]) -> None:
        entry.state = ListeningState(
            source=EXPORT,
            subject=day,
            origin=result.object.key,
            rows=len(result.facts),
            downloads=result.downloads,
            lines_read=result.lines_read,
            dropped={
                "flagged": result.flagged,
                "too_short": result.too_short,
                "repeated_listener": result.repeated_listener,
                "unknown_episode": result.unknown_episode,
                "other_day": result.other_day,
                "rejected_lines": result.rejected_lines,
            },
        )
        entry.findings = list(result.findings)
        entry.set_status(ListeningStatus.INGESTED, f"{result.downloads} downloads from {result.object.key}")
        entry.record("ingested", f"{result.object.key}: {result.lines_read} lines, {result.downloads} downloads")

    return _update(ledger, EXPORT, day, change)


def record_export_rejected(ledger: SyncLedger, day: date, key: str, error: PermanentError, flow: str) -> None:
    """A day file that cannot be ingested: the day keeps its earlier figures, a person is told why."""

    def change(entry: LedgerEntry[ListeningState]) -> None:
        entry.state = entry.state.model_copy(update={"source": EXPORT, "subject": day.isoformat(), "origin": key})
        entry.findings = [
            Finding(code=error.code, entity=f"megaphone-export:{key}", message=f"{key} was not ingested: {error}", flow=flow, blocking=False)
        ]
        entry.set_status(ListeningStatus.REJECTED, f"{key}: {error.code}")

    _update(ledger, EXPORT, day.isoformat(), change)


def record_missing_export_days(ledger: SyncLedger, store: FactStore, today: date, lookback_days: int, flow: str) -> list[date]:
    """Days (within the lookback, from the first day ever ingested) that are final and have no export
    in the store: each gets a finding. Megaphone keeps no backfill, so a person must ask its support."""
    present = set(store.partition_days(EXPORT))
    if not present:
        return []  # no export has arrived yet: nothing can be called missing
    first = max(min(present), today - timedelta(days=lookback_days))
    last = today - timedelta(days=FINAL_AFTER_DAYS)
    missing = [first + timedelta(days=n) for n in range((last - first).days + 1) if first + timedelta(days=n) not in present]
    for day in missing:

        def change(entry: LedgerEntry[ListeningState], day: date = day) -> None:
            entry.state = entry.state.model_copy(update={"source": EXPORT, "subject": day.isoformat()})
            entry.findings = [
                Finding(
                    code="export_day_missing",
                    entity=f"megaphone-export:{day.isoformat()}",
                    message=f"no Megaphone delivery export for {day.isoformat()} arrived (final by 11:00 UTC the next day); "
                    "downloads for that day are absent, not zero. Megaphone has no backfill: ask its support to resend the file",
                    flow=flow,
                    blocking=False,
                )
            ]
            entry.set_status(ListeningStatus.MISSING, "no export file after the day was final")

        existing = ledger.get(listening_key(EXPORT, day.isoformat()), LISTENING)
        if existing is None or existing.status != ListeningStatus.MISSING:
            _update(ledger, EXPORT, day.isoformat(), change)
    return missing


# ------------------------------------------------------------------------------------------ Creators
def creators_entry(ledger: SyncLedger, show_id: str) -> LedgerEntry[ListeningState] | None:
    return ledger.get(listening_key(CREATORS, show_id), LISTENING)


def record_creators_collected(
    ledger: SyncLedger, collection: CreatorsCollection, first_day: date, last_day: date, rows: int, origin: str
) -> None:
    def change(entry: LedgerEntry[ListeningState]) -> None:
        previous_last = entry.state.last_day if entry.status == ListeningStatus.INGESTED else None
        entry.state = ListeningState(
            source=CREATORS,
            subject=collection.show_id,
            origin=origin,
            rows=rows,
            first_day=first_day,
            last_day=max(last_day, previous_last) if previous_last else last_day,
            requests=collection.requests,
        )
        entry.findings = list(collection.findings)
        left = f"; {len(collection.remaining_buckets)} episode buckets continue in another run" if collection.remaining_buckets else ""
        entry.set_status(ListeningStatus.INGESTED, f"{first_day} to {last_day}: {rows} facts{left}")

    _update(ledger, CREATORS, collection.show_id, change)


def record_creators_login_expired(ledger: SyncLedger, show_id: str, error: Exception, today: date, flow: str) -> bool:
    """Mark the show blocked by an expired login; True when operators have not been told today."""
    told: list[bool] = []

    def change(entry: LedgerEntry[ListeningState]) -> None:
        told.clear()
        told.append(entry.state.login_alerted_on == today)
        entry.state = entry.state.model_copy(update={"source": CREATORS, "subject": show_id, "login_alerted_on": today})
        entry.findings = [
            Finding(
                code="creators_login_required",
                entity=f"spotify-show:{show_id}",
                message=f"Spotify for Creators figures of show {show_id} are paused: {error}",
                flow=flow,
                blocking=False,
            )
        ]
        entry.set_status(ListeningStatus.LOGIN_EXPIRED, "the stored Spotify for Creators session no longer logs in")

    _update(ledger, CREATORS, show_id, change)
    return not told[0]


def intake_entries(ledger: SyncLedger, source: str | None = None) -> Sequence[LedgerEntry[ListeningState]]:
    """Every listening unit the ledger holds (of one source, when given), for reports."""
    entries = [entry for entry in ledger.scan(LISTENING) if source is None or entry.state.source == source]
    return sorted(entries, key=lambda e: e.entity)

