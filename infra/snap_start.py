"""The `snapStart` deployment setting: which flows' functions run with Lambda SnapStart.

| value in cdk.json / `-c snapStart=...`  | meaning                                         |
| --------------------------------------- | ----------------------------------------------- |
| absent, `false`, "false", "" (default)  | no flow: functions are invoked at $LATEST       |
| `true`, "true"                          | every flow                                      |
| a list, or "webhook-ingest,rights-sync" | only the named flows (names from infra/flows.py) |

A flow with SnapStart gets `SnapStart: PublishedVersions`, a version published on each change and
the alias `live` (SNAP_START_ALIAS) that its queue's event source, its schedule and its function URL
invoke: SnapStart only applies to published versions, never to $LATEST. Why it is off by default,
what it costs and what it asks of the code are in docs/cold-start.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from infra.deployment_context import DeploymentContextError

SNAP_START_CONTEXT_KEY = "snapStart"
SNAP_START_ALIAS = "live"
# CDK feature flag (set in cdk.json): with it, a new layer changes the function's version hash, so a
# dependency update publishes a new version; without it the alias would keep the old layer.
LAYER_VERSION_FLAG = "@aws-cdk/aws-lambda:recognizeLayerVersion"
_ON = frozenset({"true", "on", "yes", "all"})
_OFF = frozenset({"false", "off", "no", "none", ""})


def snap_start_flows(value: Any, declared: Iterable[str]) -> frozenset[str]:
    """The flow names the context value selects; DeploymentContextError for anything else, so a typo
    stops `make synth` instead of silently deploying without (or with) SnapStart."""
    names = tuple(declared)
    if value is None or value is False:
        return frozenset()
    if value is True:
        return frozenset(names)
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in _ON:
            return frozenset(names)
        if text.lower() in _OFF:
            return frozenset()
        chosen = [part.strip() for part in text.split(",") if part.strip()]
    elif isinstance(value, list | tuple):
        if not all(isinstance(part, str) for part in value):
            raise DeploymentContextError(f"context {SNAP_START_CONTEXT_KEY!r}: a list must hold flow names, got {value!r}")
        chosen = [part.strip() for part in value]
    else:
        raise DeploymentContextError(
            f"context {SNAP_START_CONTEXT_KEY!r} must be true, false or a list of flow names, got {value!r}"
        )
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        raise DeploymentContextError(
            f"context {SNAP_START_CONTEXT_KEY!r} names flows that are not declared: {unknown}; declared: {sorted(names)}"
        )
    return frozenset(chosen)


def require_layer_aware_versions(selected: frozenset[str], layer_flag_enabled: bool) -> None:
    """SnapStart's alias follows published versions only; refuse it when a layer update would not
    publish one."""
    if selected and not layer_flag_enabled:
        raise DeploymentContextError(
            f"context {SNAP_START_CONTEXT_KEY!r} needs the CDK feature flag {LAYER_VERSION_FLAG!r} set to true (cdk.json): "
            "without it a new dependency layer publishes no new version and the live alias keeps the old layer"
        )
