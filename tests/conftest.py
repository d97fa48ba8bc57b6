"""Fixtures shared by every test package: one in-process moto per module for those that need AWS (starting
it is most of a test's cost; each test deploys its own copy under its own prefix), the requests the
connectors sent, simulator routes cleared after each test of a connector module, a virtual clock
installed as the process clock, and the media host simulator routed on it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from moto import mock_aws

from functions.clock import SystemClock, use_clock
from functions.connectors.http import HttpExchange, clear_routes, observe_requests, route_host
from sandbox.clock import VirtualClock
from sandbox.moto_server import reset_client_caches
from sandbox.simulators.media_host import MediaHostSimulator

VIRTUAL_START = datetime(2031, 6, 1, 8, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def aws() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
            patch.delenv(name, raising=False)
        for name, value in {"AWS_DEFAULT_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
            patch.setenv(name, value)
        reset_client_caches()
        with mock_aws():
            yield
        reset_client_caches()


@pytest.fixture
def exchanges() -> Iterator[list[HttpExchange]]:
    """Every request the connectors send during the test, as observers see them (secrets redacted)."""
    seen: list[HttpExchange] = []
    stop = observe_requests(seen.append)
    yield seen
    stop()


@pytest.fixture
def cleared_routes() -> Iterator[None]:
    """Use with `pytestmark = pytest.mark.usefixtures("cleared_routes")`: no simulator route outlives its test."""
    yield
    clear_routes()


@pytest.fixture
def clock_start() -> datetime:
    """Where `virtual_clock` starts; a test package or module overrides this fixture to start elsewhere."""
    return VIRTUAL_START


@pytest.fixture
def virtual_clock(clock_start: datetime) -> Iterator[VirtualClock]:
    """A virtual clock starting at `clock_start`, installed as the process clock for the test."""
    clock = VirtualClock(clock_start)
    use_clock(clock)
    yield clock
    use_clock(SystemClock())


@pytest.fixture
def media_host(virtual_clock: VirtualClock, cleared_routes: None) -> MediaHostSimulator:
    """The media host simulator, routed for the connectors until the test ends."""
    host = MediaHostSimulator(virtual_clock)
    route_host(host.host, host)
    return host
