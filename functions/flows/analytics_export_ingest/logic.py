"""Megaphone's delivery export, one S3 object at a time, into the analytics store.

What an object in the export bucket means (`megaphone_export.classify_key`):
- a delivery day file (legacy `metrics-day-…` or V2 `delivery-v2-day-…`): its current content is read
  and replaces that day's downloads (Megaphone overwrites it hourly; the last version read wins, and a
  re-read of the same version changes nothing). A legacy file for a day that also has a V2 file is
  left alone: V2 supersedes it;
- a completion marker `_finalized_<type>_<day>_<stamp>`: the day is final, so its day file (V2 first,
  then legacy) is read once more — the version that counts;
- an impressions file (`impression-day-…`, `impressions-v2-day-…`): ad impressions, not delivery;
  ignored, as is anything else in the bucket.

Bad input: a truncated gzip or a file that is not delivery records raises its `PermanentError` (the
record goes to the dead-letter queue with that reason) after the day's ledger entry says so; the
day keeps its earlier figures. Unknown episodes, rejected lines and rows of other days are left out
and become findings on the day's entry; the rest is ingested.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from functions.analytics.export_objects import ExportObjects
from functions.analytics.intake import record_export_ingest, record_export_rejected
from functions.analytics.download_counting import DownloadCounting
from functions.analytics.megaphone_export import ExportIngest, ExportObject, classify_key, ingest_day_file
from functions.analytics.store import FactStore
from functions.clock import utcnow
from functions.domain.errors import PermanentError
from functions.object_events import StoredObject
from functions.state.ledger import SyncLedger
from functions.state.targets import MEGAPHONE

Action = Literal["ingested", "ignored", "superseded", "gone"]
KNOWN_EPISODES_TTL = timedelta(minutes=5)


@dataclass
class IngestDeps:
    exports: ExportObjects
    store: FactStore
    ledger: SyncLedger
    counting: DownloadCounting
    known_episodes: Callable[[], frozenset[str]]
    flow: str


@dataclass
class IngestOutcome:
    key: str
    action: Action
    reason: str
    ingested: list[ExportIngest] = field(default_factory=list)


class KnownEpisodes:
    """The Megaphone episode ids the integration published (the ledger's Megaphone entries), read at
    most every few minutes by a warm environment: a day file of an unknown episode is a finding."""

    def __init__(self, ledger: SyncLedger, ttl: timedelta = KNOWN_EPISODES_TTL):
        self.ledger = ledger
        self.ttl = ttl
        self._ids: frozenset[str] = frozenset()
        self._read_at: datetime | None = None

    def __call__(self) -> frozenset[str]:
        now = utcnow()
        if self._read_at is None or now - self._read_at >= self.ttl:
            self._ids = frozenset(
                entry.state.episode_id for entry in self.ledger.scan(MEGAPHONE) if entry.state.episode_id
            )
            self._read_at = now
        return self._ids


def handle_object(stored: StoredObject, deps: IngestDeps, now: datetime) -> IngestOutcome:
    if not deps.exports.in_scope(stored.key):
        return IngestOutcome(stored.key, "ignored", "outside the export prefix")
    exported = classify_key(stored.key)
    if exported is None:
        return IngestOutcome(stored.key, "ignored", "not a Megaphone export object")
    if exported.kind == "impressions":
        return IngestOutcome(stored.key, "ignored", "ad impressions, not delivery")
    if exported.kind == "delivery":
        if exported.naming == "legacy" and _exists(deps, ExportObjects.beside(stored.key, exported.day_file_names[0])):
            return IngestOutcome(stored.key, "superseded", f"the V2 file of {exported.day} supersedes the legacy one")
        return _ingest(stored.key, exported, deps, now)
    for name in exported.day_file_names:  # a completion marker: the day's file, once more
        key = ExportObjects.beside(stored.key, name)
        day_file = classify_key(key)
        assert day_file is not None
        outcome = _ingest(key, day_file, deps, now)
        if outcome.action == "ingested":
            return IngestOutcome(stored.key, "ingested", f"{exported.day} is final: {key} read again", outcome.ingested)
    return IngestOutcome(stored.key, "gone", f"{exported.day} is final but no day file is there (it stays missing)")


def _exists(deps: IngestDeps, key: str) -> bool:
    stream = deps.exports.open(key)
    if stream is None:
        return False
    stream.close()
    return True


def _ingest(key: str, exported: ExportObject, deps: IngestDeps, now: datetime) -> IngestOutcome:
    stream = deps.exports.open(key)
    if stream is None:
        return IngestOutcome(key, "gone", "the object is no longer there")
    try:
        result = ingest_day_file(
            stream, key, deps.store, retrieved_at=now, known_episodes=deps.known_episodes(), counting=deps.counting, flow=deps.flow
        )
    except PermanentError as exc:
        record_export_rejected(deps.ledger, exported.day, key, exc, deps.flow)
        raise
    finally:
        stream.close()
    record_export_ingest(deps.ledger, result)
    return IngestOutcome(key, "ingested", f"{result.downloads} downloads for {exported.day}", [result])
