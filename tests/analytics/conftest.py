"""Fixtures of the analytics tests: the unit tests' shared ones (in-process moto, observed requests,
simulator routes cleared after each test), and a virtual clock installed for one test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from functions.clock import SystemClock, use_clock
from sandbox.clock import VirtualClock
from tests.unit.conftest import aws, cleared_routes, exchanges  # noqa: F401  (fixtures, found by name)

CLOCK_START = datetime(2025, 3, 15, 6, 0, tzinfo=timezone.utc)


@pytest.fixture
def virtual_clock() -> Iterator[VirtualClock]:
    clock = VirtualClock(CLOCK_START)
    use_clock(clock)
    yield clock
    use_clock(SystemClock())
