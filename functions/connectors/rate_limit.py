"""Fixed-window rate limiting per credential.

A request takes a slot in the current window (a counter incremented atomically in a shared store);
when the window is full it waits for the next one. With the store in DynamoDB the limit holds across
every concurrent Lambda using the same credential; one conditional-free `ADD` per request keeps the
cost to a single write. Windows are short (the rate divided evenly), so bursts stay within the
provider's rolling limits.
"""

from __future__ import annotations

import math
import threading
from typing import Protocol

from functions.clock import clock, epoch_seconds

MIN_WAIT_SECONDS = 0.001


class RateLimiter(Protocol):
    def acquire(self) -> None: ...


class WindowCounterStore(Protocol):
    def increment(self, key: str, window: int, expires_at: int) -> int:
        """Add one to the counter of `window` for `key`; return the new count."""


class UnlimitedRate:
    def acquire(self) -> None:
        return None


class InMemoryWindowCounters:
    """Counters for a single process (tests, and a fallback where no table is configured)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def increment(self, key: str, window: int, expires_at: int) -> int:
        with self._lock:
            self._counts[(key, window)] = self._counts.get((key, window), 0) + 1
            if len(self._counts) > 10_000:
                oldest = min(w for _, w in self._counts)
                self._counts = {k: v for k, v in self._counts.items() if k[1] != oldest}
            return self._counts[(key, window)]


class WindowRateLimiter:
    def __init__(self, key: str, per_minute: int, store: WindowCounterStore, window_seconds: float | None = None):
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.key = key
        self.per_minute = per_minute
        self.store = store
        # Smallest window that still holds a whole request: 60/min -> 1 request per 1 s window.
        window = window_seconds or max(60.0 / per_minute, 1.0)
        self.per_window = max(1, math.floor(per_minute * window / 60.0))
        if window_seconds is None and per_minute > self.per_window:
            # Any rolling minute overlaps 60/w + 1 fixed windows (it straddles one at each edge), so
            # stretch the windows until that many hold at most `per_minute`: 60/min -> 1 per 60/59 s.
            window = 60.0 * self.per_window / (per_minute - self.per_window)
        self.window_seconds = window
        self.waited_seconds = 0.0
        self._known_full: int | None = None  # a window this process filled itself: no need to ask again

    def acquire(self) -> None:
        while True:
            now = epoch_seconds()
            window = int(now // self.window_seconds)
            if window != self._known_full:
                count = self.store.increment(self.key, window, int((window + 2) * self.window_seconds) + 60)
                if count <= self.per_window:
                    if count == self.per_window:
                        self._known_full = window
                    return
            # At least a millisecond: a virtual clock keeps microseconds, and a wait that rounds to zero
            # would leave it short of the boundary forever.
            wait = max((window + 1) * self.window_seconds - now, MIN_WAIT_SECONDS)
            self.waited_seconds += wait
            clock().sleep(wait)


class SuccessiveLimits:
    """A slot from each limiter in turn, e.g. a window shared by every concurrent Lambda (DynamoDB) and
    then a minimum spacing in this process: the pace then holds across invocations and, within one,
    between any two requests."""

    def __init__(self, *limiters: RateLimiter):
        self.limiters = limiters

    def acquire(self) -> None:
        for limiter in self.limiters:
            limiter.acquire()
