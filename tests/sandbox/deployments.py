"""Isolated deployments of sample flows on one moto server: each runtime gets its own prefix."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from infra.flows import FlowDeclaration, Secret
from sandbox.resources import SandboxResources, create_resources
from sandbox.runtime import LocalRuntime
from tests.sandbox.sample_flows import SAMPLE_SECRET

START = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
_deployments = itertools.count(1)

BuildRuntime = Callable[..., LocalRuntime]  # the `build_runtime` fixture (conftest.py)


def deploy(flows: tuple[FlowDeclaration, ...], **options: Any) -> SandboxResources:
    prefix = f"rt{next(_deployments)}"
    secret_values = options.pop("secret_values", {Secret.MEGAPHONE: SAMPLE_SECRET})
    return create_resources(flows, secret_values=secret_values, prefix=prefix, event_source=f"{prefix}.sample", **options)
