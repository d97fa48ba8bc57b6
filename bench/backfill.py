"""The backfill figures, measured on the real wiring (`sandbox.world.SandboxWorld`: simulators, local
runtime, virtual clock, the resources built from the flow declarations), with no fault injection.

Harness-only changes, none of which changes a virtual-time or call-count figure (bench.aws,
bench.simulator_indexes): AWS is moto in process instead of the moto server, moto's slow paths are
short-cut, and the Consonance simulator's look-ups are indexed. With `lambda_timeouts` (the bench's
default for the figures) an invocation is stopped at its declared timeout as Lambda would stop it
(bench.lambda_timeouts) instead of finishing late.

Three phases in one world:

1. Backfill: a synthetic catalogue (bench.catalogue, 20 series × 50 parts by default, every episode
   approved, cleared, released and valid) is polled, published, ingested and written back. The run
   stops once every episode has a live Spotify link written back to Consonance (checked every few
   virtual minutes, bounded); completion is the virtual moment of the last write-back.
   - backfill_floor_ratio = (last Megaphone call − first Megaphone POST) ÷ (Megaphone calls in that
     span ÷ the Megaphone rate limit per second). Megaphone's per-token limit is the binding
     constraint: every episode needs Megaphone calls (create, ingest check) and Megaphone allows half
     of Consonance's rate. Consonance's own floor is reported beside it.
   - calls_per_new_episode = every Megaphone and Consonance call (polls, creates, ingest checks,
     series lists, write-backs, 429s included) up to completion ÷ episodes created. Other services'
     calls (the availability monitor's Spotify Web API reads) are listed, not counted.
2. Change: after the day has rolled over (so the poller's date cursor no longer re-reads the
   backfill's write-backs), N episodes' titles are edited in the Consonance simulator's catalogue
   (stamped changed today, as a timeline edit would be) just after a poll; the runtime steps one
   virtual minute at a time until Megaphone carries every new title; every external call in that
   window ÷ N = calls_per_changed_episode.
3. Unchanged re-sync: the poller's cursor is reset so its next run re-reads the whole catalogue;
   once that poll and everything it caused have run, writes_on_unchanged_resync = Megaphone
   POST/PUT + Consonance mutations + ledger writes (PutItem/UpdateItem/... counted on the ledger table
   in this process, cross-checked against item versions).
"""

from __future__ import annotations

import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from bench.aws import in_process_world
from bench.catalogue import backfill_catalogue, product_id
from bench.instrument import AwsCallCounter, Call, CallLog, count_by_service, describe_calls, diff
from bench.lambda_timeouts import hard_timeouts
from bench.simulator_indexes import index_lookups
from functions.flows.consonance_poller.logic import CURSOR as POLLER_CURSOR
from functions.state.targets import CONSONANCE_WRITEBACK, WritebackStatus
from functions.state.targets import MEGAPHONE as TARGET
from functions.state.cursors import CursorStore
from functions.state.ledger import SyncLedger
from infra.flows import ScheduleTrigger, Table, flow
from sandbox.world import SandboxWorld, WorldOptions

# The backfill starts late in the virtual day: the poller's cursor is a DATE, so every product written
# back "today" is re-read by every poll until midnight. Starting at 22:00 leaves the backfill itself
# unchanged (it ends before midnight) and bounds the idle re-reads before phase 2 (wall time); their
# cost per poll is measured and reported (`after_backfill`), so a daytime backfill can be costed.
BACKFILL_START_HOUR = 22
CHECK_EVERY = timedelta(minutes=5)
MAX_BACKFILL = timedelta(hours=12)
MAX_SETTLE = timedelta(hours=2)


@dataclass
class PhaseCalls:
    calls: list[Call]
    start: datetime
    end: datetime
    wall_seconds: float
    aws: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        return {
            "virtual_start": self.start.isoformat(),
            "virtual_end": self.end.isoformat(),
            "virtual_seconds": round((self.end - self.start).total_seconds(), 3),
            "wall_seconds": round(self.wall_seconds, 1),
            "calls_by_service": count_by_service(self.calls),
            "calls": describe_calls(self.calls),
            "aws_calls": AwsCallCounter.total(self.aws),
        }


@dataclass
class BackfillResult:
    episodes: int
    series: int
    megaphone_rate_per_minute: int
    consonance_rate_per_minute: int
    backfill: dict[str, Any]
    changed: dict[str, Any]
    resync: dict[str, Any]
    ledger_after_backfill: dict[str, int]
    wall_seconds: float
    after_backfill: dict[str, Any] = field(default_factory=dict)


def floor_ratio(calls: list[Call], rate_per_minute: float, wait_seconds: float = 0.0) -> dict[str, Any]:
    """Elapsed virtual time between the first and the last call ÷ (calls ÷ allowed rate + `wait_seconds`,
    a wait no pacing can avoid: for Megaphone, the last create's audio ingest before its check)."""
    if not calls:
        return {"calls": 0, "elapsed_seconds": 0.0, "floor_seconds": 0.0, "ratio": None}
    elapsed = (calls[-1].at - calls[0].at).total_seconds()
    floor = len(calls) / (rate_per_minute / 60.0) + wait_seconds
    return {
        "unavoidable_wait_seconds": wait_seconds,
        "calls": len(calls),
        "elapsed_seconds": round(elapsed, 3),
        "floor_seconds": round(floor, 3),
        "ratio": round(elapsed / floor, 4) if floor else None,
        "first_call": calls[0].at.isoformat(),
        "last_call": calls[-1].at.isoformat(),
    }


def ledger_status_counts(ledger: SyncLedger) -> dict[str, int]:
    """Megaphone entries by status, pending creates, and the episodes' write-back entries by status
    (pending: a write started whose outcome is unknown) and how many carry no written link."""
    counts: Counter[str] = Counter()
    megaphone = list(ledger.scan(TARGET))
    for entry in megaphone:
        counts[str(entry.status)] += 1
        if entry.pending_create:
            counts["pending_create"] += 1
    writebacks = ledger.get_many([entry.key for entry in megaphone], CONSONANCE_WRITEBACK)
    for entry in megaphone:
        writeback = writebacks.get(entry.key)
        if writeback is not None and writeback.status == WritebackStatus.PENDING:
            counts["writeback_pending"] += 1
        if writeback is None or not writeback.state.links:
            counts["not_written_back"] += 1
    return dict(sorted(counts.items()))


def ledger_versions(ledger: SyncLedger) -> dict[tuple[str, str], int]:
    return {(e.entity, e.target): e.version for e in ledger.scan()}


def run_backfill(
    series: int = 40,
    parts: int = 50,
    changed: int = 100,
    *,
    lambda_timeouts: bool = False,
    backfill_only: bool = False,
    progress: Any = None,
) -> BackfillResult:
    """`lambda_timeouts`: stop invocations at their declared timeout (bench.lambda_timeouts) instead
    of the sandbox's finish-then-mark. `backfill_only`: phase 1 only (phases 2 and 3 left empty)."""
    say = progress or (lambda message: None)
    catalogue = backfill_catalogue(series, parts)
    expected = {p.id for p in catalogue.products}
    options = WorldOptions(seed=7)
    started_wall = time.perf_counter()
    world = SandboxWorld(catalogue, options)
    # Start late in the day (see BACKFILL_START_HOUR): the clock is moved before the runtime exists,
    # so schedules start from here as they would from a deployment at that hour.
    world.clock.advance_to(catalogue.start_moment() + timedelta(hours=BACKFILL_START_HOUR))
    wall_start = time.perf_counter()

    def report_progress(count: int, call: Call) -> None:
        if count % 1000 == 0:
            say(f"  ... {count} external calls, virtual {call.at:%H:%M:%S}, wall {time.perf_counter() - wall_start:.0f} s")

    with ExitStack() as stack:
        stack.enter_context(in_process_world())
        stack.enter_context(world)
        log = stack.enter_context(CallLog(report_progress))  # before the deadline guard: it sees every call
        aws = stack.enter_context(AwsCallCounter())
        guard = stack.enter_context(hard_timeouts(options.flows, world.clock)) if lambda_timeouts else None
        index_lookups(world.consonance)
        ledger = SyncLedger(world.resources.tables[Table.LEDGER])
        cursors = CursorStore(world.resources.tables[Table.CURSORS])

        # 1. backfill -------------------------------------------------------------------------
        t0, aws0, begin = time.perf_counter(), aws.snapshot(), world.clock.now()
        deadline = begin + MAX_BACKFILL
        while world.clock.now() < deadline:
            world.runtime.run_for(minutes=CHECK_EVERY.total_seconds() / 60)
            live = {w.product_id for w in world.consonance.write_backs if w.description == "Spotify: live"}
            say(f"  backfill: virtual {world.clock.now():%H:%M}, {len(log.calls)} calls, {len(live)}/{len(expected)} written back, wall {time.perf_counter() - t0:.0f} s")
            if expected <= live:
                break
        written = [w for w in world.consonance.write_backs if w.product_id in expected and w.description == "Spotify: live"]
        complete = len({w.product_id for w in written}) == len(expected)
        completion = max(w.at for w in written) if complete else world.clock.now()
        phase1_calls = [c for c in log.calls if c.at <= completion]
        backfill_wall = time.perf_counter() - t0
        ledger_after = ledger_status_counts(ledger)
        phase1 = PhaseCalls(phase1_calls, begin, completion, backfill_wall, diff(aws.snapshot(), aws0))
        megaphone_posts = [c for c in phase1_calls if c.service == "megaphone" and c.method == "POST"]
        created = sum(1 for c in megaphone_posts if c.status == 201)
        first_publish = megaphone_posts[0].at if megaphone_posts else completion
        megaphone_span = [c for c in phase1_calls if c.service == "megaphone" and c.at >= first_publish]
        consonance_calls = [c for c in phase1_calls if c.service == "consonance"]
        backfill = {
            **phase1.summary(),
            "complete": complete,
            "episodes_expected": len(expected),
            "episodes_created": created,
            "episodes_written_back": len({w.product_id for w in written}),
            "megaphone_floor": floor_ratio(megaphone_span, options.megaphone_rate_per_minute, options.ingest_delay_seconds),
            "consonance_floor": floor_ratio(consonance_calls, options.consonance_rate_per_minute),
            "megaphone_calls_before_first_publish": sum(1 for c in phase1_calls if c.service == "megaphone" and c.at < first_publish),
            "rate_limited_429": sum(1 for c in phase1_calls if c.status == 429),
            "counted_calls": len(_counted(phase1_calls)),
            "calls_per_new_episode": round(len(_counted(phase1_calls)) / created, 4) if created else None,
            "ledger_writes": AwsCallCounter.writes_to(ledger.table_name, phase1.aws),
            "runtime_flows": _flow_summary(world),
            "lambda_timeouts": lambda_timeouts,
            "stopped_at_timeout": dict(guard.stopped) if guard else {},
            "megaphone_idle_seconds": _idle_seconds(megaphone_span, options.megaphone_rate_per_minute),
        }
        say(f"  backfill done: {created} created, {len(phase1_calls)} calls, wall {backfill_wall:.0f} s")
        if backfill_only:
            return BackfillResult(
                episodes=len(expected),
                series=series,
                megaphone_rate_per_minute=options.megaphone_rate_per_minute,
                consonance_rate_per_minute=options.consonance_rate_per_minute,
                backfill=backfill,
                changed={},
                resync={},
                ledger_after_backfill=ledger_after,
                wall_seconds=round(time.perf_counter() - started_wall, 1),
            )

        # 2. change N titles on a later day -----------------------------------------------------
        t0 = time.perf_counter()
        next_day = datetime.combine(completion.date() + timedelta(days=1), datetime.min.time(), completion.tzinfo)
        # After 02:00 the new day's first poll (cursor moves to the new date) and the release sweep's
        # daily drift check (one Megaphone list per series) have both run: neither is the change's cost.
        edit_at = next_day + timedelta(hours=2)
        world.runtime.run_until(edit_at)
        idle_wall = time.perf_counter() - t0
        after_backfill = _after_backfill(world, log.calls, completion, edit_at)
        say(f"  idle until {edit_at:%Y-%m-%d %H:%M}: wall {idle_wall:.0f} s")
        t0, aws0, mark = time.perf_counter(), aws.snapshot(), len(log.calls)
        step = max(1, parts * series // max(1, changed))
        chosen = [p for i, p in enumerate(sorted(world.consonance.catalogue.products, key=lambda p: p.id)) if i % step == 0][:changed]
        new_titles = {}
        for product in chosen:
            product.title = f"{product.title} (revised)"
            product.changed_on = world.clock.now().date()
            new_titles[product.id] = product.title
        settle_deadline = world.clock.now() + MAX_SETTLE
        pending = set(new_titles)
        while pending and world.clock.now() < settle_deadline:
            world.runtime.run_for(minutes=1)
            pending = {pid for pid in pending if not _title_on_megaphone(world, pid, new_titles[pid])}
        change_end = world.clock.now()
        change_calls = log.since_index(mark)
        phase2 = PhaseCalls(change_calls, edit_at, change_end, time.perf_counter() - t0, diff(aws.snapshot(), aws0))
        changed_result = {
            **phase2.summary(),
            "episodes_changed": len(new_titles),
            "series_touched": len({(pid - product_id(0, 0)) // 1000 for pid in new_titles}),
            "all_updated": not pending,
            "megaphone_writes": sum(1 for c in change_calls if c.service == "megaphone" and c.is_external_write),
            "counted_calls": len(_counted(change_calls)),
            "calls_per_changed_episode": round(len(_counted(change_calls)) / len(new_titles), 4) if new_titles else None,
            "ledger_writes": AwsCallCounter.writes_to(ledger.table_name, phase2.aws),
        }
        say(f"  change done: {len(change_calls)} calls for {len(new_titles)} episodes, wall {phase2.wall_seconds:.0f} s")

        # 3. unchanged full re-sync ---------------------------------------------------------------
        t0 = time.perf_counter()
        world.runtime.run_for(minutes=10)  # leave the change's window behind
        versions_before = ledger_versions(ledger)
        aws0, mark, reset_at = aws.snapshot(), len(log.calls), world.clock.now()
        cursors.put(POLLER_CURSOR, {})  # no `changed_since`: the next poll reads from the beginning
        polls_before = sum(1 for r in world.runtime.invocation_log if r.flow == "consonance-poller")
        resync_deadline = world.clock.now() + MAX_SETTLE
        while world.clock.now() < resync_deadline:
            world.runtime.run_for(minutes=1)
            polls = [r for r in world.runtime.invocation_log if r.flow == "consonance-poller"][polls_before:]
            if any(r.outcome == "succeeded" for r in polls):
                break  # that tick also drained every queue the poll fed
        resync_calls = log.since_index(mark)
        phase3 = PhaseCalls(resync_calls, reset_at, world.clock.now(), time.perf_counter() - t0, diff(aws.snapshot(), aws0))
        versions_after = ledger_versions(ledger)
        changed_items = sorted(f"{k[0]}/{k[1]}" for k, v in versions_after.items() if versions_before.get(k) != v)
        megaphone_writes = sum(1 for c in resync_calls if c.service == "megaphone" and c.is_external_write)
        consonance_mutations = sum(1 for c in resync_calls if c.service == "consonance" and c.mutation)
        ledger_writes = AwsCallCounter.writes_to(ledger.table_name, phase3.aws)
        resync = {
            **phase3.summary(),
            "poll_pages": sum(1 for c in resync_calls if c.operation == "ChangedAudioProducts"),
            "megaphone_writes": megaphone_writes,
            "consonance_mutations": consonance_mutations,
            "ledger_write_calls": ledger_writes,
            "ledger_items_changed": len(changed_items),
            "ledger_items_changed_sample": changed_items[:10],
            "writes": megaphone_writes + consonance_mutations + max(ledger_writes, len(changed_items)),
            "poll_outcomes": [r.outcome for r in world.runtime.invocation_log if r.flow == "consonance-poller"][polls_before:],
        }
        say(f"  re-sync done: {resync['writes']} writes, {len(resync_calls)} calls, wall {phase3.wall_seconds:.0f} s")

    return BackfillResult(
        episodes=len(expected),
        series=series,
        megaphone_rate_per_minute=options.megaphone_rate_per_minute,
        consonance_rate_per_minute=options.consonance_rate_per_minute,
        backfill=backfill,
        changed={**changed_result, "idle_wall_seconds_before": round(idle_wall, 1)},
        after_backfill=after_backfill,
        resync=resync,
        ledger_after_backfill=ledger_after,
        wall_seconds=round(time.perf_counter() - started_wall, 1),
    )


def _after_backfill(world: SandboxWorld, calls: list[Call], completion: datetime, until: datetime) -> dict[str, Any]:
    """What the backfill still costs after its last write-back: the poller's date cursor makes every
    poll re-read every product changed (written back) that day, until a poll on the next day moves it."""
    window = [c for c in calls if completion < c.at < until]
    polls: list[dict[str, Any]] = []
    for record in world.runtime.invocation_log:
        if record.flow == "consonance-poller" and completion < record.started_at < until:
            pages = sum(1 for c in window if c.operation == "ChangedAudioProducts" and record.started_at <= c.at <= record.finished_at)
            polls.append({"at": record.started_at.isoformat(), "pages": pages})
    rereads = [p for p in polls if p["pages"] > 1]
    per_poll = max((p["pages"] for p in rereads), default=0)
    return {
        "window": [completion.isoformat(), until.isoformat()],
        "calls": describe_calls(window),
        "polls": len(polls),
        "polls_rereading_the_backfill": len(rereads),
        "reread_calls": sum(p["pages"] for p in rereads),
        "reread_calls_per_poll": per_poll,
        "reread_calls_per_hour": per_poll * 60 // every_minutes("consonance-poller"),
        "poll_pages": polls,
    }


COUNTED_SERVICES = frozenset({"megaphone", "consonance"})


def _counted(calls: list[Call]) -> list[Call]:
    """The calls the per-episode figures count: Megaphone and Consonance (the issue's definition).
    Spotify Web API calls (the availability monitor) are listed in the breakdown but not counted."""
    return [c for c in calls if c.service in COUNTED_SERVICES]


def _idle_seconds(calls: list[Call], rate_per_minute: float, slack: float = 2.0) -> float:
    """Virtual seconds in gaps between consecutive calls longer than `slack` call intervals: time the
    credential sat unused."""
    interval = 60.0 / rate_per_minute
    idle = 0.0
    for before, after in pairwise(calls):
        gap = (after.at - before.at).total_seconds()
        if gap > slack * interval:
            idle += gap - interval
    return round(idle, 1)


def every_minutes(flow_name: str) -> int:
    """A scheduled flow's interval, as declared."""
    trigger = flow(flow_name).trigger
    assert isinstance(trigger, ScheduleTrigger), flow_name
    return trigger.every_minutes


def _title_on_megaphone(world: SandboxWorld, pid: int, title: str) -> bool:
    episode = world.megaphone.episode_by_external_id(str(pid))
    return episode is not None and episode.get("title") == title


def _flow_summary(world: SandboxWorld) -> dict[str, dict[str, int]]:
    return {
        name: {"invocations": s.invocations, "delivered": s.delivered, "retried": s.retried, "errors": s.errors, "timeouts": s.timeouts}
        for name, s in world.runtime.stats().items()
        if s.invocations
    }
