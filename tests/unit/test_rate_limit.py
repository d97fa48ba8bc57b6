"""The shared rate limiter's slot schedule (functions.connectors.rate_limit): the slot arithmetic on a
virtual clock, the rolling-minute guarantee across several limiters standing for concurrent Lambdas
(in memory, then on a DynamoDB table in moto), and how few writes a long run costs."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import boto3
import pytest

from functions.connectors.rate_limit import (
    LATE_TOLERANCE_MS,
    MAX_BLOCK_MS,
    MAX_RESERVATION_WRITES,
    InMemorySlotSchedule,
    RateScheduleContended,
    SlotRateLimiter,
    SlotSchedule,
    block_cap,
    slot_interval_ms,
)
from functions.state.cursors import SCHEDULE_EXPIRY_MARGIN_SECONDS, DynamoSlotSchedule
from infra.tables import TABLES
from functions.clock import SystemClock, use_clock
from sandbox.clock import VirtualClock
from sandbox.resources import _create_table
from tests.botocore_events import session_events

KEY = "megaphone:abc123"
# Half a second past the minute: slot times and whole seconds do not line up.
START = datetime(2031, 3, 1, 12, 0, 0, 500_000, tzinfo=timezone.utc)
_tables = itertools.count(1)


@pytest.fixture
def clock_start() -> datetime:
    return START


def granted(limiter: SlotRateLimiter, clock: VirtualClock, times: list[float]) -> None:
    """One request through `limiter`, recorded at the moment it would be sent."""
    limiter.acquire()
    times.append(clock.now().timestamp())


def busiest_minute(times: list[float]) -> int:
    """The most requests in any rolling 60 s, counted as the simulators count them: (t - 60, t]."""
    ordered = sorted(times)
    return max(sum(1 for other in ordered if t - 60 < other <= t) for t in ordered)


# ------------------------------------------------------------------------------ slot arithmetic
@pytest.mark.parametrize("per_minute", [1, 2, 30, 59, 60, 61, 120, 300, 1200])
def test_the_interval_is_the_smallest_that_fits_a_minute_and_the_tolerance(per_minute: int) -> None:
    interval = slot_interval_ms(per_minute)
    assert per_minute * interval > 60_000 + LATE_TOLERANCE_MS
    assert per_minute * (interval - 1) <= 60_000 + LATE_TOLERANCE_MS


def test_the_interval_at_the_configured_limits() -> None:
    assert (slot_interval_ms(60), slot_interval_ms(120), slot_interval_ms(1200)) == (1017, 509, 51)
    with pytest.raises(ValueError):
        slot_interval_ms(0)


def test_blocks_double_from_one_up_to_the_cap_and_slots_follow_each_other(clock: VirtualClock) -> None:
    schedule = InMemorySlotSchedule()
    limiter = SlotRateLimiter(KEY, 60, schedule)
    times: list[float] = []
    written: list[int] = []
    for _ in range(50):
        before = limiter.reservations
        granted(limiter, clock, times)
        if limiter.reservations > before:
            written.append(len(times))

    # writes at the 1st, 2nd, 4th, 8th, 16th, 32nd and 48th request: blocks of 1, 2, 4, 8, 16, 16, 16
    assert written == [1, 2, 4, 8, 16, 32, 48] and block_cap(slot_interval_ms(60)) == 16
    start = times[0]
    assert start == pytest.approx(START.timestamp(), abs=0.001)  # an idle schedule starts now
    assert times == pytest.approx([start + k * 1.017 for k in range(50)], abs=1e-5)


def test_a_block_spans_at_most_about_sixteen_seconds_of_slots_at_any_limit() -> None:
    caps = {per_minute: block_cap(slot_interval_ms(per_minute)) for per_minute in (60, 120, 1200, 100_000)}
    assert caps == {60: 16, 120: 32, 1200: 323, 100_000: 16_500}
    assert all(cap * slot_interval_ms(per_minute) <= MAX_BLOCK_MS for per_minute, cap in caps.items())
    assert block_cap(MAX_BLOCK_MS + 1) == 1  # a slower limit than that still reserves one slot at a time


class CountingSchedule(InMemorySlotSchedule):
    """An in-memory schedule that counts its writes, as the DynamoDB one would send them."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def extend(self, key: str, amount_ms: int, now_ms: int) -> int | None:
        self.writes += 1
        return super().extend(key, amount_ms, now_ms)

    def restart(self, key: str, amount_ms: int, now_ms: int) -> int | None:
        self.writes += 1
        return super().restart(key, amount_ms, now_ms)

    def give_back(self, key: str, amount_ms: int, end_ms: int) -> bool:
        self.writes += 1
        return super().give_back(key, amount_ms, end_ms)


def test_a_one_request_invocation_costs_one_write_and_holds_no_one_back(clock: VirtualClock) -> None:
    schedule = CountingSchedule()
    limiter = SlotRateLimiter(KEY, 60, schedule)
    limiter.acquire()
    limiter.release()
    assert schedule.writes == 1  # one slot reserved, nothing left to give back
    times: list[float] = []
    granted(SlotRateLimiter(KEY, 60, schedule), clock, times)
    assert times[0] == pytest.approx(START.timestamp() + 1.017, abs=0.001)  # right after that one slot


def test_release_gives_the_unused_slots_back_to_the_next_lambda(clock: VirtualClock) -> None:
    schedule = InMemorySlotSchedule()
    first, second = SlotRateLimiter(KEY, 60, schedule), SlotRateLimiter(KEY, 60, schedule)
    times: list[float] = []
    for _ in range(4):  # blocks of 1, 2, 4: three slots left over
        granted(first, clock, times)
    first.release()
    granted(second, clock, times)
    assert times == pytest.approx([times[0] + k * 1.017 for k in range(5)], abs=1e-5)  # no gap for the left-overs


def test_without_release_the_next_lambda_waits_behind_the_unused_slots(clock: VirtualClock) -> None:
    schedule = InMemorySlotSchedule()
    first, second = SlotRateLimiter(KEY, 60, schedule), SlotRateLimiter(KEY, 60, schedule)
    times: list[float] = []
    for _ in range(4):
        granted(first, clock, times)
    granted(second, clock, times)
    assert times[4] - times[0] == pytest.approx(7 * 1.017, abs=1e-5)


def test_slots_are_not_given_back_once_another_lambda_reserved_after_them(clock: VirtualClock) -> None:
    schedule = InMemorySlotSchedule()
    first, second = SlotRateLimiter(KEY, 60, schedule), SlotRateLimiter(KEY, 60, schedule)
    times: list[float] = []
    for _ in range(2):  # blocks of 1 and 2: one slot left over, 2.034 s ahead of the start
        granted(first, clock, times)
    granted(second, clock, times)  # reserved after the left-over slot
    first.release()
    granted(second, clock, times)  # the left-over slot stays a gap
    assert [t - times[0] for t in times] == pytest.approx([0, 1.017, 3.051, 4.068], abs=1e-5)


def test_the_next_invocation_starts_with_a_block_the_size_of_the_last_ones_requests(clock: VirtualClock) -> None:
    schedule = CountingSchedule()
    limiter = SlotRateLimiter(KEY, 60, schedule)
    for _ in range(5):  # blocks of 1, 2 and 4: three writes, two slots left over
        limiter.acquire()
    limiter.release()  # one write gives the two back
    assert schedule.writes == 4
    clock.advance(900)
    for _ in range(5):  # the same again: a block of 5, one write
        limiter.acquire()
    limiter.release()
    assert schedule.writes == 5
    clock.advance(900)
    for _ in range(2):
        limiter.acquire()
    limiter.release()  # fewer this time: one block of 5, three given back
    assert schedule.writes == 7
    clock.advance(900)
    limiter.acquire()
    limiter.acquire()
    assert schedule.writes == 8  # a block of two, as the last invocation sent


def test_an_invocation_sending_as_many_as_the_last_reserves_exactly_that_many(clock: VirtualClock) -> None:
    schedule = CountingSchedule()
    limiter = SlotRateLimiter(KEY, 120, schedule)  # blocks of up to 32 slots
    for _ in range(42):  # cold: blocks of 1, 2, 4, 8, 16, 32 (21 slots over, given back)
        limiter.acquire()
    limiter.release()
    assert schedule.writes == 7
    clock.advance(3600)
    for _ in range(42):  # warm, the same sweep: 32 slots, then the 10 the last one sent beyond them
        limiter.acquire()
    limiter.release()
    assert schedule.writes == 9  # two reservations, nothing left over to give back
    clock.advance(3600)
    for _ in range(45):  # three more than last time: 32, 10, then a doubled block of 20 (17 given back)
        limiter.acquire()
    limiter.release()
    assert schedule.writes == 13


def test_an_invocation_whose_slots_came_too_late_starts_the_next_with_one(clock: VirtualClock) -> None:
    schedule = CountingSchedule()
    limiter = SlotRateLimiter(KEY, 60, schedule)
    for _ in range(3):  # sparse requests: each finds its slots of the block before too late
        limiter.acquire()
        clock.advance(30)
    assert schedule.writes == 3  # blocks of 1, 2 (one slot dropped), then 1 again, not 4
    limiter.release()
    limiter.acquire()
    limiter.acquire()
    assert schedule.writes == 5  # a block of 1 then 2: the sparse invocation taught nothing bigger


def test_an_invocation_starts_by_guessing_what_the_last_one_found(clock: VirtualClock) -> None:
    schedule = CountingSchedule()
    sweep, poller = SlotRateLimiter(KEY, 60, schedule), SlotRateLimiter(KEY, 60, schedule)
    for _ in range(3):  # every quarter hour the poller runs first, then the sweep finds the schedule busy
        poller.acquire()
        poller.release()
        before = schedule.writes
        sweep.acquire()
        sweep.release()
        clock.advance(900)
    assert schedule.writes - before == 1  # the third sweep tried "busy" first, and it was


def test_a_slot_later_than_the_tolerance_is_dropped_not_sent_in_a_burst(clock: VirtualClock) -> None:
    limiter = SlotRateLimiter(KEY, 60, InMemorySlotSchedule())
    times: list[float] = []
    for _ in range(4):  # blocks 1, 2, 4: the 4th request takes the first slot of the block of 4
        granted(limiter, clock, times)
    fourth = times[3]
    clock.advance(1.017 + LATE_TOLERANCE_MS / 1000 + 0.5)  # the next slot is now 1.5 s late, the one after 0.483 s
    granted(limiter, clock, times)
    granted(limiter, clock, times)
    assert times[4] == pytest.approx(fourth + 2.517, abs=1e-5)  # the slot at +2.034, used a little late
    assert times[5] == pytest.approx(fourth + 3 * 1.017, abs=1e-5)  # the last slot, on time
    assert limiter.reservations == 3  # the slot at +1.017 was dropped, not replaced by a new block


def test_all_left_over_slots_too_late_means_a_fresh_block_starting_now(clock: VirtualClock) -> None:
    limiter = SlotRateLimiter(KEY, 60, InMemorySlotSchedule())
    times: list[float] = []
    for _ in range(2):
        granted(limiter, clock, times)
    clock.advance(30)
    granted(limiter, clock, times)
    assert times[2] == pytest.approx(times[1] + 30, abs=0.001) and limiter.reservations == 3


def test_a_schedule_that_keeps_changing_is_a_transient_error(clock: VirtualClock) -> None:
    class AlwaysChanged:
        writes = 0

        def extend(self, key: str, amount_ms: int, now_ms: int) -> int | None:
            self.writes += 1
            return None

        restart = extend

        def give_back(self, key: str, amount_ms: int, end_ms: int) -> bool:
            return False

    schedule = AlwaysChanged()
    with pytest.raises(RateScheduleContended):
        SlotRateLimiter(KEY, 60, schedule).acquire()
    assert schedule.writes == MAX_RESERVATION_WRITES


# ------------------------------------------------------------------------------ several Lambdas
class LambdaClocks:
    """A clock per concurrent Lambda, installed as the process clock: `now` and `sleep` are those of
    the Lambda that runs; the simulation always runs the Lambda whose clock is earliest, so writes to
    the shared schedule happen in time order, as they would in AWS."""

    def __init__(self, start: datetime, count: int):
        self.moments = [start.timestamp()] * count
        self.running = 0

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.moments[self.running], tz=timezone.utc)

    def sleep(self, seconds: float) -> None:
        self.moments[self.running] += max(seconds, 0.0)

    def run_earliest(self) -> int:
        self.running = min(range(len(self.moments)), key=lambda index: self.moments[index])
        return self.running


@pytest.fixture
def lambda_clocks() -> Iterator[LambdaClocks]:
    clocks = LambdaClocks(START, 3)
    use_clock(clocks)
    yield clocks
    use_clock(SystemClock())


def run_lambdas(
    clocks: LambdaClocks, schedule: SlotSchedule, per_minute: int, requests: int, seed: int, work: tuple[float, ...] = (0.0, 0.0, 0.0, 0.2, 0.9, 1.5, 4.0)
) -> tuple[list[float], list[SlotRateLimiter]]:
    """Concurrent Lambdas on one credential (one limiter and clock each), each doing some `work`
    between requests (by default up to 4 s, so some slots come late and some too late) and ending
    its invocation (release) now and then. Returns the moments the requests were sent and the limiters."""
    rng = random.Random(seed)
    lambdas = [SlotRateLimiter(KEY, per_minute, schedule) for _ in clocks.moments]
    times: list[float] = []
    while len(times) < requests:
        running = clocks.run_earliest()
        lambdas[running].acquire()
        times.append(clocks.moments[running])
        clocks.sleep(rng.choice(work))
        if rng.random() < 0.05:
            lambdas[running].release()
            clocks.sleep(rng.choice([0.0, 5.0, 30.0]))  # until the next invocation
    return times, lambdas


@pytest.mark.parametrize("per_minute", [60, 120, 7])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_concurrent_lambdas_never_exceed_the_limit_in_any_rolling_minute(lambda_clocks: LambdaClocks, per_minute: int, seed: int) -> None:
    times, _ = run_lambdas(lambda_clocks, InMemorySlotSchedule(), per_minute, 400, seed)
    assert busiest_minute(times) <= per_minute
    assert busiest_minute(times) >= per_minute * 0.6  # and the limit is used, not starved (some slots come too late)


def test_a_lone_lambda_uses_nearly_the_whole_limit(clock: VirtualClock) -> None:
    limiter = SlotRateLimiter(KEY, 60, InMemorySlotSchedule())
    times: list[float] = []
    for _ in range(300):
        granted(limiter, clock, times)
    assert busiest_minute(times) == 59  # 60 s / 1.017 s: the tolerance costs one request a minute


# ------------------------------------------------------------------------------ DynamoDB (moto)
@pytest.fixture
def table(aws: None) -> str:
    spec = next(s for s in TABLES if s.table.value == "cursors")
    return _create_table(spec, f"rate-cursors-{next(_tables)}")


@pytest.fixture
def schedule_writes() -> Iterator[list[dict[str, Any]]]:
    """The write requests (UpdateItem, and PutItem for a restart) sent to DynamoDB from here on."""
    sent: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append(params)

    events = {"provide-client-params.dynamodb.UpdateItem": record, "provide-client-params.dynamodb.PutItem": record}
    with session_events(events):  # the limiter's client records
        yield sent


def test_a_fifty_request_run_costs_seven_writes_in_dynamodb_and_two_when_warm(
    clock: VirtualClock, table: str, schedule_writes: list[dict[str, Any]]
) -> None:
    limiter = SlotRateLimiter(KEY, 120, DynamoSlotSchedule(table))
    times: list[float] = []
    for _ in range(50):  # blocks of 1, 2, 4, 8, 16, 32 (at most 32 at 120/min): 63 slots
        granted(limiter, clock, times)
    limiter.release()  # the 13 left over are still ahead: one conditional write gives them back

    assert len(schedule_writes) == 6 + 1, [p.get("UpdateExpression", "PutItem") for p in schedule_writes]
    assert times == pytest.approx([times[0] + k * 0.509 for k in range(50)], abs=1e-5)
    item = boto3.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": f"rate#{KEY}"}}, ConsistentRead=True)["Item"]
    next_free = int(item["next_free_ms"]["N"])
    assert next_free == round(times[-1] * 1000) + 509  # right after the last slot used
    # the item expires a day after the last block reserved ends (TTL), so an idle credential leaves nothing behind
    assert 0 <= int(item["expires_at"]["N"]) - (next_free // 1000 + SCHEDULE_EXPIRY_MARGIN_SECONDS) <= 13 * 0.509 + 1

    clock.advance(3600)  # the next run of the same sweep, an hour later, in the same warm environment
    schedule_writes.clear()
    for _ in range(50):  # a block of 32 (as many as the last run sent, at most 32), then the 18 it sent beyond
        granted(limiter, clock, times)
    limiter.release()
    assert len(schedule_writes) == 2  # and nothing left over to give back


@pytest.mark.parametrize(
    ("work", "most_writes"),
    [
        ((0.0, 0.1, 0.3), 150 // 4),  # Lambdas that keep up with their slots: blocks, not a write per request
        ((0.0, 0.0, 0.0, 0.2, 0.9, 1.5, 4.0), 150),  # pauses longer than the tolerance: slots dropped, blocks shrink
    ],
)
def test_concurrent_lambdas_on_one_dynamodb_table_keep_the_rolling_limit(
    lambda_clocks: LambdaClocks, table: str, schedule_writes: list[dict[str, Any]], work: tuple[float, ...], most_writes: int
) -> None:
    times, lambdas = run_lambdas(lambda_clocks, DynamoSlotSchedule(table), 60, 150, seed=7, work=work)
    assert busiest_minute(times) <= 60
    assert len(schedule_writes) <= most_writes, len(schedule_writes)
    assert sum(limiter.reservations for limiter in lambdas) < len(schedule_writes)  # the rest: give-backs, failed guesses
