"""Finds what really changed in Consonance since the last poll and announces only that.

Consonance has no webhooks and its `changedSince` is a date (and may fire for a sibling record), so:
poll from the date of the last successful poll (inclusive: changes later that same day are not
missed), page with `after`, normalise each record into the domain model, and compare its content
hash (and mapping findings) with the ledger. Only a real difference emits `EpisodeChanged` (plus one
`SeriesChanged` per affected series). Events for a page are published before the ledger is updated,
so a crash in between re-announces on the next poll rather than losing a change. The cursor moves only
after a complete, successful run.

Because `changedSince` is a date, every poll of a day re-reads that day's changes. The cursor keeps a
digest of each page of records the last successful run compared (with the mapping it compared them
under): a page that comes back identical was compared and announced then, so it is not read from the
ledger or mapped again. The reconciler's daily pass compares every product regardless.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from functions.connectors.consonance.client import ConsonanceClient
from functions.connectors.consonance.mapping import map_product
from functions.connectors.consonance.records import ProductRecord
from functions.domain.events import DomainEvent, EpisodeChanged, RightsChanged, SeriesChanged
from functions.domain.models import Episode, Finding
from functions.event_bus import EventBus
from functions.mapping_config import MappingConfig
from functions.state.cursors import CursorStore
from functions.state.keys import episode_key, series_key
from functions.state.ledger import LedgerEntry, SyncLedger, new_entry
from functions.state.targets import EPISODE_SOURCE, EpisodeSourceState

CURSOR = "consonance-poller"
FIRST_POLL_SINCE = date(1970, 1, 1)
PAGE_FLUSH = 50
# Page digests kept in the cursor item (32 characters each): 400 pages of 50 is 20,000 products a day.
COMPARED_PAGES_KEPT = 400


@dataclass
class PollDeps:
    consonance: ConsonanceClient
    ledger: SyncLedger
    cursors: CursorStore
    bus: EventBus
    mapping: MappingConfig


@dataclass
class PollOutcome:
    changed_since: date
    products_seen: int = 0
    changed: int = 0
    unchanged: int = 0
    with_findings: int = 0
    malformed: list[str] = field(default_factory=list)
    series_changed: list[int] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)  # digests of the pages of records compared
    pages_skipped: int = 0  # identical to a page the last run compared


def poll(deps: PollDeps, started_at: datetime) -> PollOutcome:
    """Products changed since the last successful poll's date; moves the cursor after a full run."""
    cursor = deps.cursors.get(CURSOR) or {}
    since = date.fromisoformat(cursor["changed_since"]) if "changed_since" in cursor else FIRST_POLL_SINCE
    basis = _comparison_basis(deps.mapping)
    compared = frozenset(cursor.get("compared_pages") or ()) if cursor.get("compared_basis") == basis else frozenset()
    outcome = detect_changes(deps, since, correlation_id=f"poll-{started_at.isoformat()}", compared_before=compared)
    deps.cursors.advance(
        CURSOR,
        cursor or None,
        {
            "changed_since": started_at.date().isoformat(),
            "last_success_at": started_at.isoformat(),
            "compared_basis": basis,
            "compared_pages": outcome.pages[:COMPARED_PAGES_KEPT],
        },
    )
    return outcome


def detect_changes(deps: PollDeps, since: date, correlation_id: str, compared_before: frozenset[str] = frozenset()) -> PollOutcome:
    """Every product changed since `since`, compared with the ledger; events for real changes only.
    A page of records whose digest is in `compared_before` is counted, not compared again.
    The reconciler runs it from the beginning of time (every product) without touching the cursor."""
    outcome = PollOutcome(changed_since=since)
    events: list[DomainEvent] = []
    entries: list[LedgerEntry[EpisodeSourceState]] = []
    series: set[int] = set()
    for chunk in _chunks(deps.consonance.iter_changed_products(since), PAGE_FLUSH):
        digest = _page_digest(chunk)
        outcome.pages.append(digest)
        if digest in compared_before:
            outcome.pages_skipped += 1
            outcome.products_seen += len(chunk)
            outcome.unchanged += sum(1 for record in chunk if record.id is not None)
            outcome.malformed += [_malformed(record) for record in chunk if record.id is None]
            continue
        keys = [episode_key(record.id) for record in chunk if record.id is not None]
        known = deps.ledger.get_many(keys, EPISODE_SOURCE)
        for record in chunk:
            outcome.products_seen += 1
            if record.id is None:  # the schema says Int!: nothing to key a ledger entry by, so it is reported
                outcome.malformed.append(_malformed(record))
                continue
            key = episode_key(record.id)
            change = announcement(record, known.get(key) or new_entry(key, EPISODE_SOURCE), deps.mapping, correlation_id)
            if change is None:
                outcome.unchanged += 1
                continue
            entry, changed_events = change
            outcome.changed += 1
            outcome.with_findings += bool(entry.findings)
            entries.append(entry)
            events.extend(changed_events)
            series.update(e.episode.show.series_id for e in changed_events if isinstance(e, EpisodeChanged) and e.episode.show)
        _flush(events, entries, deps)
    events.extend(SeriesChanged(series_id=s, correlation_id=correlation_id) for s in sorted(series))
    _flush(events, entries, deps)
    outcome.series_changed = sorted(series)
    return outcome


def _malformed(record: ProductRecord) -> str:
    return f"a product without an id (title {record.title!r})"


def _page_digest(records: list[ProductRecord]) -> str:
    """What a page of records says, exactly (field order fixed by the model)."""
    digest = hashlib.sha256()
    for record in records:
        digest.update(record.model_dump_json().encode())
        digest.update(b"\n")
    return digest.hexdigest()[:32]


def _comparison_basis(mapping: MappingConfig) -> str:
    """The mapping the pages were compared under: a changed mapping compares every page again."""
    return hashlib.sha256(mapping.model_dump_json().encode()).hexdigest()[:32]


def _chunks(records: Iterator[ProductRecord], size: int) -> Iterator[list[ProductRecord]]:
    chunk: list[ProductRecord] = []
    for record in records:
        chunk.append(record)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def announcement(
    record: ProductRecord,
    entry: LedgerEntry[EpisodeSourceState],
    mapping: MappingConfig,
    correlation_id: str,
    *,
    even_if_unchanged: str | None = None,
) -> tuple[LedgerEntry[EpisodeSourceState], list[DomainEvent]] | None:
    """The source entry updated from `record` and the events that announce it; None when nothing we
    use changed. `even_if_unchanged` (the why, for the entry's history) announces it anyway: the ops
    backfill pushes products through the same flows with the events this poll would emit."""
    mapped = map_product(record, mapping)
    episode = mapped.episode
    new_hash = _source_hash(episode.content_hash() if episode else None, mapped.findings)
    if entry.source_hash == new_hash and even_if_unchanged is None:
        return None  # the "changed" signal fired but nothing we use changed
    previous = entry.source_hash
    entry.source_hash = new_hash
    entry.state.episode = episode
    entry.series_key = str(series_key(episode.show.series_id)) if episode and episode.show else None
    entry.findings = list(mapped.findings)
    if previous == new_hash and even_if_unchanged is not None:
        entry.record("announced", even_if_unchanged)
    else:
        entry.record("source_changed", ", ".join(sorted({f.code for f in mapped.findings})) or "content changed")
    if episode is None:
        return entry, []
    events: list[DomainEvent] = [
        EpisodeChanged(episode=episode, content_hash=new_hash, previous_hash=previous, correlation_id=correlation_id)
    ]
    rights = rights_hash(episode)
    if entry.state.rights_hash not in (None, rights):
        events.append(RightsChanged(product_id=episode.product_id, rights_hash=rights, correlation_id=correlation_id))
    entry.state.rights_hash = rights
    return entry, events


def rights_hash(episode: Episode) -> str:
    """What clearance depends on: the grants, the sales territories and the kind (its required rights)."""
    part = episode.model_dump(mode="json", include={"rights", "territories", "kind"})
    return hashlib.sha256(json.dumps(part, sort_keys=True).encode()).hexdigest()[:32]


def _source_hash(episode_hash: str | None, findings: list[Finding]) -> str:
    codes = ",".join(sorted(f"{f.code}:{f.message}" for f in findings))
    return hashlib.sha256(f"{episode_hash}|{codes}".encode()).hexdigest()[:32]


def _flush(events: list[DomainEvent], entries: list[LedgerEntry[EpisodeSourceState]], deps: PollDeps) -> None:
    if events:
        deps.bus.publish(events)
    for entry in entries:
        deps.ledger.save(entry)
    events.clear()
    entries.clear()
