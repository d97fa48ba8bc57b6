"""The one source of "now" for every flow.

Lambda uses the wall clock. The sandbox installs a virtual clock so that days of schedules, rate-limit
waits and release dates play out in seconds; nothing in `functions/` reads `datetime.now()` directly.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""

    def sleep(self, seconds: float) -> None:
        """Wait; a virtual clock advances instead of blocking."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


_active: Clock = SystemClock()


def use_clock(clock: Clock) -> None:
    """Install the process-wide clock (the sandbox's virtual clock, or a test's)."""
    global _active
    _active = clock


def clock() -> Clock:
    return _active


def utcnow() -> datetime:
    return _active.now()


def today() -> date:
    return _active.now().date()


def epoch_seconds() -> float:
    return _active.now().timestamp()
