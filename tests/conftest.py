"""Fixtures shared by every test package: one in-process moto per module for those that need AWS (starting
it is most of a test's cost; each test deploys its own copy under its own prefix), the requests the
connectors sent (tests/recorded_requests.py), simulator routes cleared after each test of a connector
module, a virtual clock installed as the process clock (`virtual_clock`, or `clock`; a module moves its
start by overriding `clock_start`), the media host simulator routed on it; and how the suite is split
between `make test`'s workers (pytest-xdist, `--dist loadgroup`)."""

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
# Session fixtures built once for several modules: the tests that use them stay on one worker, so
# each is built once per run, as without workers (the e2e runs take a minute each; the stack's synthesis too).
SHARED_SESSION_FIXTURES = {"sample_run": "sample-run", "branded": "branded-run", "assets": "synthesized-stack"}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each test module is one xdist group (its module fixtures — a sandbox world, a moto — are built
    once, on one worker), except that the modules sharing an expensive session fixture form one group.
    A test that names its group already keeps it (a module fixture's parameters may each be a group)."""
    groups: dict[str, str] = {}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        fixtures = getattr(item, "fixturenames", ())
        shared = next((group for name, group in SHARED_SESSION_FIXTURES.items() if name in fixtures), None)
        if shared is not None:
            groups[module] = f"session:{shared}"
        groups.setdefault(module, module)
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(groups[item.nodeid.split("::", 1)[0]]))


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
