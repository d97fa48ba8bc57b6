"""One moto server for the sandbox tests; each runtime a test builds gets its own deployment on it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from functions.connectors.http import clear_routes, route_host
from infra.flows import FlowDeclaration
from sandbox.clock import VirtualClock
from sandbox.moto_server import MotoServer
from sandbox.runtime import LocalRuntime
from tests.sandbox import sample_flows
from tests.sandbox.deployments import START, BuildRuntime, deploy


@pytest.fixture(scope="module")
def moto_server() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture
def build_runtime(moto_server: MotoServer) -> Iterator[BuildRuntime]:
    """Each runtime gets its own deployment (prefix) on the shared moto server; `deploy_options`
    go to `create_resources`."""
    sample_flows.reset_world()
    route_host(sample_flows.SAMPLE_API_HOST, sample_flows.sample_api_transport())
    runtimes: list[LocalRuntime] = []

    def build(flows: tuple[FlowDeclaration, ...], deploy_options: dict[str, Any] | None = None, **options: Any) -> LocalRuntime:
        resources = deploy(flows, **(deploy_options or {}))
        runtime = LocalRuntime(flows, resources, VirtualClock(START), **options)
        runtimes.append(runtime)
        return runtime

    yield build
    for runtime in runtimes:
        runtime.close()
    clear_routes()
