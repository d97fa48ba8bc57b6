"""Rate limiting per credential, shared by every concurrent Lambda: blocks of reserved request slots.

Each credential has one schedule: the moment its next request slot is free (`next free`, whole
milliseconds since the epoch, so the shared store adds and compares exact integers). Slots are
`interval_ms` apart. A process reserves a block of n slots with ONE atomic conditional write:

- busy (next free >= now): push next free n intervals later; the block starts at the old next free;
- idle (no schedule, or next free < now): next free = now + n intervals; the block starts now.

It tries the case its own last reservation suggests first and the other on a failed condition, then
sends each request at its slot's time, sleeping on the injected clock (`functions.clock`) until then.
The fixed-window counter this replaces cost one DynamoDB write per request (a quarter of a sandbox
run's AWS calls); a block of 16 costs one write for 16 requests.

Why no rolling 60 s can hold more than `per_minute` requests, whichever Lambdas send them: the slots
handed out on one schedule are at least one interval apart (a busy block starts where the last one
ended, an idle one starts after it ended). A slot is used no earlier than its time and at most
`LATE_TOLERANCE_MS` after it; a slot found later than that is dropped, never used late, else late
slots would bunch into a burst. So the requests of any 60 s sit on slots within 60 s + the tolerance,
and `interval_ms` is the smallest whole millisecond with per_minute x interval > 60 s + tolerance
(60/min -> 1017 ms, 120/min -> 509 ms): at most `per_minute` such slots fit in that span.

Block size adapts, so a write is rarely wasted: an invocation's first block is as many slots as the
last invocation in this environment sent requests (one at a cold start; scheduled flows repeat
themselves), a further block is what the last invocation sent beyond those so far, and once past that
each block doubles; no block is longer than `MAX_BLOCK_MS` of slots (16 at 60/min, 32 at 120/min). A
50-request sweep at 60/min costs 7 writes from a cold start and 4 when warm, with nothing to give back
when it sends as many as last time; and an invocation whose slots came too late (its requests are
sparser than the slots) drops back to blocks of one. Which case to try first at an invocation's start follows
what the last one found: flows sharing a credential tend to be scheduled together, or alone.
Slots reserved and not used hold every other Lambda on the credential back, so `release()` gives the
rest of the block back at the end of an invocation (one conditional write, only when nobody reserved
after it: the schedule still ends where this block ends, and only when some of them are still ahead);
the dependency container calls it for every limiter it built
(`functions.dependencies.Dependencies.release_rate_limits`).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from typing import Protocol

from functions.clock import clock, epoch_seconds
from functions.domain.errors import TransientError

# How late a reserved slot may still be used: a Lambda wakes a little late, a request before it may
# have taken longer than an interval, and clocks of different Lambdas differ by milliseconds. A second
# covers those and costs under 2 % of the rate at any limit (the interval pays for it).
LATE_TOLERANCE_MS = 1_000
# The longest block one write reserves, in slot time. A block is time that other Lambdas on the
# credential may have to wait behind when this one stops early and cannot give it back: about 16 s
# (16 slots at 60/min, 32 at 120/min) already cuts a long sweep's writes by 85 % or more, and doubling
# from 1 reaches it after a handful of writes.
MAX_BLOCK_MS = 16_500
# A reservation fails its condition only when another process changed the schedule between this
# one's two attempts; after this many writes something is wrong (e.g. clocks far apart).
MAX_RESERVATION_WRITES = 6


class RateLimiter(Protocol):
    def acquire(self) -> None: ...


class SlotSchedule(Protocol):
    """One schedule of request slots per key, changed atomically and shared by every process using it.
    All times are whole milliseconds since the epoch."""

    def extend(self, key: str, amount_ms: int, now_ms: int) -> int | None:
        """If the schedule is busy (its next free slot is at or after `now_ms`), push it `amount_ms`
        later and return the new next free moment; None when it is idle."""

    def restart(self, key: str, amount_ms: int, now_ms: int) -> int | None:
        """If the schedule is idle (none yet, or its next free slot is before `now_ms`), make it
        `now_ms + amount_ms` and return that; None when it is busy."""

    def give_back(self, key: str, amount_ms: int, end_ms: int) -> bool:
        """Move the next free moment `amount_ms` earlier if it still is `end_ms` (nobody reserved after
        the caller's block); whether it did."""


class RateScheduleContended(TransientError):
    """The shared schedule changed under every reservation attempt; the queue or the next run retries."""


class UnlimitedRate:
    def acquire(self) -> None:
        return None


class InMemorySlotSchedule:
    """Slot schedules held in this process (tests, benches, and several limiters standing for Lambdas)."""

    def __init__(self) -> None:
        self._next_free: dict[str, int] = {}
        self._lock = threading.Lock()

    def extend(self, key: str, amount_ms: int, now_ms: int) -> int | None:
        with self._lock:
            current = self._next_free.get(key)
            if current is None or current < now_ms:
                return None
            self._next_free[key] = current + amount_ms
            return self._next_free[key]

    def restart(self, key: str, amount_ms: int, now_ms: int) -> int | None:
        with self._lock:
            current = self._next_free.get(key)
            if current is not None and current >= now_ms:
                return None
            self._next_free[key] = now_ms + amount_ms
            return self._next_free[key]

    def give_back(self, key: str, amount_ms: int, end_ms: int) -> bool:
        with self._lock:
            if self._next_free.get(key) != end_ms:
                return False
            self._next_free[key] = end_ms - amount_ms
            return True


def block_cap(interval_ms: int) -> int:
    """The most slots one block holds at this interval: as many as fit in `MAX_BLOCK_MS`, at least one."""
    return max(1, MAX_BLOCK_MS // interval_ms)


def slot_interval_ms(per_minute: int) -> int:
    """The smallest whole millisecond with per_minute x interval > 60 s + the late tolerance."""
    if per_minute <= 0:
        raise ValueError("per_minute must be positive")
    return (60_000 + LATE_TOLERANCE_MS) // per_minute + 1


class SlotRateLimiter:
    """Requests on one credential's shared schedule (see the module docstring), reserved in blocks."""

    def __init__(self, key: str, per_minute: int, schedule: SlotSchedule, *, max_block: int | None = None):
        self.key = key
        self.per_minute = per_minute
        self.schedule = schedule
        self.interval_ms = slot_interval_ms(per_minute)
        self.max_block = max(1, max_block) if max_block is not None else block_cap(self.interval_ms)
        self.waited_seconds = 0.0
        self.reservations = 0  # writes that reserved slots (figures and tests)
        self._slots: deque[int] = deque()
        self._last_end: int | None = None  # the schedule's next free moment as this process last left it
        self._next_block = 1
        # What the last invocation showed, for the reservations of the next (see `release`): the
        # requests it sent (0 when they came slower than its slots).
        self._expected = 0
        self._busy_at_start = False
        # This invocation so far.
        self._sent = 0
        self._dropped = False
        self._reserved = 0

    def acquire(self) -> None:
        now = epoch_seconds()
        while self._slots and self._slots[0] + LATE_TOLERANCE_MS < now * 1000:
            self._slots.popleft()  # too late to use: sending now could bunch with the slots after it
            self._dropped = True
            self._next_block = 1  # requests come slower than slots: a bigger block would only hold others back
        if not self._slots:
            self._reserve(math.floor(now * 1000))
        self._sent += 1
        wait = self._slots.popleft() / 1000 - now
        if wait > 0:
            self.waited_seconds += wait
            clock().sleep(wait)

    def release(self) -> None:
        """End of an invocation: give the block's unused slots back (when nobody reserved after them),
        and size the next invocation's first block by this one: as many slots as it sent requests
        (scheduled flows repeat themselves), or one if its requests came slower than its slots."""
        if self._sent:
            self._expected = 0 if self._dropped else self._sent
        self._next_block = max(1, min(self._expected, self.max_block))
        self._sent, self._dropped, self._reserved = 0, False, 0
        if not self._slots or self._last_end is None:
            return
        first_unused, end = self._slots[0], self._last_end
        self._slots.clear()
        if end <= epoch_seconds() * 1000:
            return  # every unused slot is already past: the next reservation starts afresh anyway
        if self.schedule.give_back(self.key, end - first_unused, end):
            self._last_end = first_unused

    def _reserve(self, now_ms: int) -> None:
        expected_left = self._expected - self._sent  # as many as the last invocation sent: no slot to give back
        count = min(self._next_block, expected_left) if expected_left > 0 else self._next_block
        amount = count * self.interval_ms
        # Busy if this process's own last block still ends ahead; at an invocation's start, whatever the
        # last invocation found then (flows on one credential tend to start together, or alone).
        busy_first = (self._last_end is not None and self._last_end >= now_ms) or (self._reserved == 0 and self._busy_at_start)
        attempts = (self.schedule.extend, self.schedule.restart) if busy_first else (self.schedule.restart, self.schedule.extend)
        for write in range(MAX_RESERVATION_WRITES):
            end = attempts[write % 2](self.key, amount, now_ms)
            if end is not None:
                break
        else:
            raise RateScheduleContended(f"{self.key}: the shared rate-limit schedule changed under {MAX_RESERVATION_WRITES} reservations")
        if self._reserved == 0:
            self._busy_at_start = attempts[write % 2] == self.schedule.extend
        self.reservations += 1
        self._reserved += 1
        self._last_end = end
        self._slots.extend(end - amount + i * self.interval_ms for i in range(count))
        self._next_block = min(count * 2, self.max_block)


class SuccessiveLimits:
    """A slot from each limiter in turn, e.g. a schedule shared by every concurrent Lambda (DynamoDB) and
    then a minimum spacing in this process: the pace then holds across invocations and, within one,
    between any two requests."""

    def __init__(self, *limiters: RateLimiter):
        self.limiters = limiters

    def acquire(self) -> None:
        for limiter in self.limiters:
            limiter.acquire()
