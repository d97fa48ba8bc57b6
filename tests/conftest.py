"""Fixtures shared by every test package: one in-process moto per module for those that need AWS (starting
it is most of a test's cost; each test deploys its own copy under its own prefix), the requests the
connectors sent (tests/recorded_requests.py), simulator routes cleared after each test of a connector
module, a virtual clock installed as the process clock (`virtual_clock`, or `clock`; a module moves its
start by overriding `clock_start`), and the media host simulator routed on it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from moto import mock_aws

from functions.clock import SystemClock, use_clock
from functions.connectors.http import HttpExchange, clear_routes, route_host
from sandbox.clock import VirtualClock
from sandbox.moto_server import reset_client_caches
from sandbox.simulators.media_host import MediaHostSimulator
from tests.recorded_requests import recording_requests

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
    with recording_requests() as log:
        yield log.exchanges


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
def clock_type() -> type[VirtualClock]:
    """The virtual clock's class; a module that checks each wait overrides it with a subclass."""
    return VirtualClock


@pytest.fixture
def virtual_clock(clock_start: datetime, clock_type: type[VirtualClock]) -> Iterator[VirtualClock]:
    """A virtual clock starting at `clock_start`, installed as the process clock for the test."""
    clock = clock_type(clock_start)
    use_clock(clock)
    yield clock
    use_clock(SystemClock())


@pytest.fixture
def clock(virtual_clock: VirtualClock) -> VirtualClock:
    """`virtual_clock` under the short name the connector and simulator tests use."""
    return virtual_clock


@pytest.fixture
def media_host(virtual_clock: VirtualClock, cleared_routes: None) -> MediaHostSimulator:
    """The media host simulator, routed for the connectors until the test ends."""
    host = MediaHostSimulator(virtual_clock)
    route_host(host.host, host)
    return host
