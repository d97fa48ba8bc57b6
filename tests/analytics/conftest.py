"""Fixtures of the analytics tests: the shared ones (tests/conftest.py) with the clock starting where
the analytics datasets begin."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

CLOCK_START = datetime(2025, 3, 15, 6, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock_start() -> datetime:
    return CLOCK_START
