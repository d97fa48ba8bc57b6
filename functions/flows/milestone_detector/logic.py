"""Finds the titles that entered a marketing milestone, or whose milestone changed, and announces each
once (`MilestoneReached`), from Consonance data only.

Two things move a title: Consonance (a status, a date, a marketing tier, a subject changed) and time (a
window opens on a date). So each run
1. reads the works with a book edition changed since the last run (`changedSince` is a date: from the
   day of the last run, inclusive), then those works with everything a campaign needs (20 a request),
   and keeps each as a marketed title in the ledger — only a different content hash counts;
2. on the first run of a day, adds the titles whose next window opens today or before (`watching`
   titles, read through the ledger's status index — never a scan);
3. evaluates the milestone rules for those titles: a milestone entered is announced (`reached`); one
   already reached is announced again only when what it says changed (`updated`: a moved date moves
   its window) or when the title left the live publishing statuses (`cancelled`).

Events go out before the ledger records them, so a crash in between announces again (the consumer
recognises the same revision and content) rather than losing an announcement; the cursor moves only
after a complete run. A work that stopped being a marketed title cancels what it reached.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from functions.connectors.consonance.client import ConsonanceClient
from functions.connectors.consonance.titles import map_title
from functions.domain.events import DomainEvent, MilestoneReached
from functions.domain.marketing import MarketedTitle, MilestoneChange, MilestoneWindow
from functions.event_bus import EventBus
from functions.mapping_config import MappingConfig
from functions.marketing.config import MarketingConfig
from functions.marketing.milestones import MilestoneRule
from functions.state.cursors import CursorStore
from functions.state.keys import EntityKey, campaign_key, work_key
from functions.state.ledger import EntryView, LedgerEntry, SyncLedger, new_entry
from functions.state.targets import MILESTONE, TITLE_SOURCE, MilestoneState, MilestoneStatus, TitleSourceState, TitleWatch

CURSOR = "milestone-detector"
FIRST_RUN_SINCE = date(1970, 1, 1)
WORKS_PER_REQUEST = 20


@dataclass
class DetectorDeps:
    consonance: ConsonanceClient
    ledger: SyncLedger
    cursors: CursorStore
    bus: EventBus
    config: MarketingConfig
    mapping: MappingConfig


@dataclass
class DetectionOutcome:
    changed_since: date
    works_read: int = 0
    titles_changed: int = 0
    due_by_date: int = 0
    announced: dict[str, list[str]] = field(default_factory=lambda: {"reached": [], "updated": [], "cancelled": []})


def detect(deps: DetectorDeps, now: datetime) -> DetectionOutcome:
    cursor = deps.cursors.get(CURSOR) or {}
    since = date.fromisoformat(cursor["changed_since"]) if "changed_since" in cursor else FIRST_RUN_SINCE
    today = now.date()
    outcome = DetectionOutcome(changed_since=since)
    config = deps.config
    work_ids = deps.consonance.changed_title_works(since, config.title_product_types)
    outcome.works_read = len(work_ids)
    sources = deps.ledger.get_many([work_key(w) for w in work_ids], TITLE_SOURCE)
    due: dict[int, LedgerEntry[TitleSourceState]] = {}
    for chunk in _chunks(work_ids, WORKS_PER_REQUEST):
        records = deps.consonance.marketed_works(chunk, config.subject_source, config.audience_source)
        for work_id in chunk:
            key = work_key(work_id)
            entry = sources.get(key) or new_entry(key, TITLE_SOURCE)
            record = records.get(work_id)
            title = map_title(record, config, deps.mapping) if record is not None else f"work {work_id} is no longer in Consonance"
            content = title.content_hash() if isinstance(title, MarketedTitle) else hashlib.sha256(title.encode()).hexdigest()[:32]
            if entry.source_hash == content:
                continue  # changedSince fired, but nothing a campaign reads changed
            entry.source_hash = content
            entry.state.title = title if isinstance(title, MarketedTitle) else None
            entry.record("title_changed", "" if isinstance(title, MarketedTitle) else title)
            if not isinstance(title, MarketedTitle):
                entry.set_status(TitleWatch.SETTLED, title)
            due[work_id] = entry
            outcome.titles_changed += 1
    if cursor.get("last_daily_check") != today.isoformat():
        for entry in deps.ledger.by_status(TITLE_SOURCE, TitleWatch.WATCHING):
            boundary = entry.state.next_boundary
            if boundary is not None and boundary <= today and entry.key.number not in due:
                due[entry.key.number] = entry
                outcome.due_by_date += 1
    events, milestones = _evaluate(due, deps, today)
    for event in events:
        assert isinstance(event, MilestoneReached)
        outcome.announced[event.change].append(f"{event.title.work_id}:{event.milestone}")
    if events:
        deps.bus.publish(events)
    for milestone in milestones:
        deps.ledger.save(milestone)
    for source in due.values():
        deps.ledger.save(source)
    deps.cursors.advance(CURSOR, cursor or None, {"changed_since": today.isoformat(), "last_daily_check": today.isoformat(), "last_success_at": now.isoformat()})
    return outcome


def _evaluate(
    due: dict[int, LedgerEntry[TitleSourceState]], deps: DetectorDeps, today: date
) -> tuple[list[DomainEvent], list[LedgerEntry[MilestoneState]]]:
    rules = deps.config.milestones
    keys = [campaign_key(work_id, rule.milestone) for work_id in due for rule in rules.rules]
    known = deps.ledger.get_many(keys, MILESTONE)
    events: list[DomainEvent] = []
    changed: list[LedgerEntry[MilestoneState]] = []
    for work_id, source in due.items():
        title = source.state.title
        reached: set[str] = set()
        for rule in rules.rules:
            key = campaign_key(work_id, rule.milestone)
            entry = known.get(key)
            announcement = _announcement(rule, title, entry, today, deps.config)
            if announcement is not None:
                change, window, announced_title = announcement
                entry = entry or new_entry(key, MILESTONE)
                events.append(_announce(entry, key, rule, change, window, announced_title, today))
                changed.append(entry)
            if entry is not None and entry.status is MilestoneStatus.REACHED:
                reached.add(rule.milestone)
        if title is not None:
            boundary = rules.next_boundary(title, today, frozenset(reached))
            source.state.next_boundary = boundary
            source.set_status(
                TitleWatch.WATCHING if boundary else TitleWatch.SETTLED,
                f"next milestone window opens on {boundary}" if boundary else "no milestone opens by date alone",
            )
    return events, changed


def _announcement(
    rule: MilestoneRule, title: MarketedTitle | None, entry: LedgerEntry[MilestoneState] | None, today: date, config: MarketingConfig
) -> tuple[MilestoneChange, MilestoneWindow, MarketedTitle] | None:
    """What to announce for one title and milestone now, if anything."""
    reached = entry is not None and entry.status is MilestoneStatus.REACHED
    if not reached:
        if title is None or not config.milestones.is_live(title):
            return None
        window = rule.entered(title, today)
        return ("reached", window, title) if window is not None else None
    assert entry is not None and entry.state.window is not None and entry.state.title is not None
    if title is None or not config.milestones.is_live(title):
        return "cancelled", entry.state.window, title or entry.state.title
    window = rule.current_window(title, entry.state.window)
    if _announced_hash(title, window, "updated") == entry.state.announced_hash:
        return None
    return "updated", window, title


def _announce(
    entry: LedgerEntry[MilestoneState],
    key: EntityKey,
    rule: MilestoneRule,
    change: MilestoneChange,
    window: MilestoneWindow,
    title: MarketedTitle,
    today: date,
) -> MilestoneReached:
    state = entry.state
    state.revision += 1
    state.title, state.window, state.announced_on = title, window, today
    # "reached" and "updated" say the same thing about a live milestone: they hash alike, so an
    # unchanged title after (re-)entering announces nothing more
    state.announced_hash = _announced_hash(title, window, "cancelled" if change == "cancelled" else "updated")
    if change == "reached" or state.reached_on is None:
        state.reached_on = today
    entry.set_status(MilestoneStatus.CANCELLED if change == "cancelled" else MilestoneStatus.REACHED, window.reason)
    entry.record(f"announced:{change}", f"revision {state.revision}: {window.opens_on} – {window.closes_on or 'open'}")
    return MilestoneReached(
        title=title,
        milestone=rule.milestone,
        window=window,
        change=change,
        revision=state.revision,
        reached_on=state.reached_on,
        content_hash=state.announced_hash,
        correlation_id=f"{key}:{state.revision}",
    )


def last_announcement(entry: LedgerEntry[MilestoneState] | EntryView[MilestoneState]) -> MilestoneReached:
    """The milestone's last announcement again, as a duplicate delivery carries it (a consumer that
    applied it does nothing)."""
    state = entry.state
    if state.title is None or state.window is None or state.reached_on is None or state.announced_hash is None:
        raise ValueError(f"{entry.entity} was never announced")
    work_id, milestone = entry.key.id.split(":", 1)
    return MilestoneReached(
        title=state.title,
        milestone=milestone,
        window=state.window,
        change="cancelled" if entry.status is MilestoneStatus.CANCELLED else "updated",
        revision=state.revision,
        reached_on=state.reached_on,
        content_hash=state.announced_hash,
        correlation_id=f"{entry.key}:{state.revision}",
    )


def _announced_hash(title: MarketedTitle, window: MilestoneWindow, kind: str) -> str:
    canonical = json.dumps({"title": title.content_hash(), "window": window.model_dump(mode="json"), "kind": kind}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _chunks(items: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
