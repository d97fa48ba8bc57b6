"""Finds what really changed about contributors in Consonance and announces only that.

Consonance has no contributor search by change date and no webhooks, but its product search's
`changedSince` (a date) fires for sibling changes — a contributor's bio or tags, a work's supporting
resources — so each poll asks for the products changed since the last successful poll's date and reads
every such product's whole work (`ConsonanceClient.iter_changed_works`).

1. Each work is mapped (`map_promoted_work`) and compared, by content hash, with the ledger's copy
   (target `promotion-work`); an unchanged work is dropped here.
2. The contributors credited on a changed work, before or after the change, are affected. Each is
   assembled from their contact details and ALL their works (the changed ones just read, the others
   from the ledger), and compared by content hash (with the findings) with the ledger (target
   `promotion-contributor`).
3. Only a real difference emits `ContributorChanged` (versioned) — and only for a contributor who is
   promotable now or was until now: an unapproved contributor's details are kept, not announced.

Events go out before the ledger is written (contributors, then works), so a crash in between announces
again on the next poll instead of losing a change; the cursor moves only after a complete run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime

from functions.connectors.consonance.client import ConsonanceClient
from functions.connectors.consonance.promotion_mapping import map_promoted_work
from functions.domain.contributors import ContactDetails, PromotedWork, assemble_contributor
from functions.domain.events import ContributorChanged
from functions.domain.models import Finding
from functions.event_bus import EventBus
from functions.mapping_config import MappingConfig
from functions.state.cursors import CursorStore
from functions.state.keys import contributor_key, work_key
from functions.state.ledger import LedgerEntry, SyncLedger, new_entry
from functions.state.targets import (
    CONTRIBUTOR_SOURCE,
    WORK_PROMOTION_SOURCE,
    ContributorSourceState,
    PromotionSourceStatus,
    WorkPromotionState,
)

CURSOR = "contributor-poller"
FIRST_POLL_SINCE = date(1970, 1, 1)


@dataclass
class ContributorPollDeps:
    consonance: ConsonanceClient
    ledger: SyncLedger
    cursors: CursorStore
    bus: EventBus
    mapping: MappingConfig


@dataclass
class ContributorPollOutcome:
    changed_since: date
    works_read: int = 0
    works_changed: int = 0
    contributors_changed: list[int] = field(default_factory=list)
    announced: list[int] = field(default_factory=list)


def poll_contributors(deps: ContributorPollDeps, started_at: datetime) -> ContributorPollOutcome:
    cursor = deps.cursors.get(CURSOR) or {}
    since = date.fromisoformat(cursor["changed_since"]) if "changed_since" in cursor else FIRST_POLL_SINCE
    outcome = ContributorPollOutcome(changed_since=since)
    read = {work.work_id: work for work in (map_promoted_work(r, deps.mapping) for r in deps.consonance.iter_changed_works(since))}
    outcome.works_read = len(read)
    stored = deps.ledger.get_many([work_key(w) for w in read], WORK_PROMOTION_SOURCE)
    work_entries: list[LedgerEntry[WorkPromotionState]] = []
    affected: set[int] = set()
    for work in read.values():
        entry = stored.get(work_key(work.work_id)) or new_entry(work_key(work.work_id), WORK_PROMOTION_SOURCE)
        if entry.source_hash == work.content_hash():
            continue
        affected |= work.contributor_ids() | (entry.state.work.contributor_ids() if entry.state.work else set())
        entry.source_hash, entry.state.work = work.content_hash(), work
        entry.record("source_changed", work.title)
        work_entries.append(entry)
    outcome.works_changed = len(work_entries)
    changed = {entry.state.work.work_id: entry.state.work for entry in work_entries if entry.state.work}
    events, contributor_entries = _contributor_changes(deps, affected, changed, started_at)
    outcome.contributors_changed = sorted(e.key.number for e in contributor_entries)
    outcome.announced = sorted(e.contributor.contributor_id for e in events)
    if events:
        deps.bus.publish(events)
    for contributor_entry in contributor_entries:
        deps.ledger.save(contributor_entry)
    for work_entry in work_entries:
        deps.ledger.save(work_entry)
    deps.cursors.advance(CURSOR, cursor or None, {"changed_since": started_at.date().isoformat(), "last_success_at": started_at.isoformat()})
    return outcome


def _contributor_changes(
    deps: ContributorPollDeps, affected: set[int], changed: dict[int, PromotedWork], started_at: datetime
) -> tuple[list[ContributorChanged], list[LedgerEntry[ContributorSourceState]]]:
    entries = deps.ledger.get_many([contributor_key(c) for c in affected], CONTRIBUTOR_SOURCE)
    plans: dict[int, tuple[LedgerEntry[ContributorSourceState], ContactDetails | None, list[int]]] = {}
    needed: set[int] = set()
    for contributor_id in sorted(affected):
        entry = entries.get(contributor_key(contributor_id)) or new_entry(contributor_key(contributor_id), CONTRIBUTOR_SOURCE)
        crediting = {w for w, work in changed.items() if contributor_id in work.contributor_ids()}
        work_ids = sorted((set(entry.state.work_ids) - set(changed)) | crediting)
        contact = next((c for w in sorted(crediting) for c in changed[w].contacts if c.contributor_id == contributor_id), entry.state.contact)
        plans[contributor_id] = (entry, contact, work_ids)
        needed |= set(work_ids) - set(changed)
    kept = {key.number: e.state.work for key, e in deps.ledger.get_many([work_key(w) for w in needed], WORK_PROMOTION_SOURCE).items() if e.state.work}
    works = {**kept, **changed}
    events: list[ContributorChanged] = []
    saved: list[LedgerEntry[ContributorSourceState]] = []
    correlation_id = f"contributor-poll-{started_at.isoformat()}"
    for entry, contact, work_ids in plans.values():
        if contact is None:
            continue  # never seen with contact details (a credit on a work it no longer has)
        contributor, findings = assemble_contributor(contact, [works[w] for w in work_ids if w in works], deps.mapping.promotion)
        new_hash = _source_hash(contributor.content_hash(), findings)
        if entry.source_hash == new_hash:
            continue
        was_promotable = entry.status is PromotionSourceStatus.PROMOTABLE
        previous = entry.source_hash
        entry.source_hash = new_hash
        entry.state.contributor, entry.state.contact, entry.state.work_ids = contributor, contact, work_ids
        entry.findings = findings
        entry.set_status(PromotionSourceStatus.PROMOTABLE if contributor.promotable else PromotionSourceStatus.NOT_PROMOTABLE)
        entry.record("source_changed", ", ".join(sorted(f.code for f in findings)) or "details changed")
        saved.append(entry)
        if contributor.promotable or was_promotable:
            events.append(
                ContributorChanged(
                    contributor=contributor,
                    content_hash=new_hash,
                    previous_hash=previous,
                    was_promotable=was_promotable,
                    correlation_id=correlation_id,
                )
            )
    return events, saved


def _source_hash(contributor_hash: str, findings: list[Finding]) -> str:
    codes = ",".join(sorted(f"{f.code}:{f.message}" for f in findings))
    return hashlib.sha256(f"{contributor_hash}|{codes}".encode()).hexdigest()[:32]
