"""A flow's settings as the stack deploys them, rebuilt on an operator's machine from the resource
names alone, so an ops command uses that flow's own clients (its connector, its rate limiter, its
bus) exactly as the deployed function would.

The environment is: the cdk.json context resolved for that flow (infra/deployment_context.py), then
the process environment on top (same variable names, e.g. CONSONANCE_URL, MAPPING — so a value given
with `cdk deploy -c` can be given here too), then the wiring the stack gives the function: the event
bus, the flow's tables and its secrets' ids, all named from `--prefix` (infra/naming.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from functions.dependencies import Dependencies
from functions.settings import FlowSettings
from infra.deployment_context import environment_for_flow, load_cdk_json_context, resolve_context
from infra.flows import SECRET_SPECS, FlowDeclaration, flow
from infra.naming import ResourceNames
from infra.tables import table_spec

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def context_environment(declaration: FlowDeclaration, project_root: Path = PROJECT_ROOT) -> dict[str, str]:
    """The declaration's slice of the cdk.json context, resolved as `make synth` resolves it."""
    context = load_cdk_json_context(project_root) if (project_root / "cdk.json").is_file() else {}
    return environment_for_flow(declaration, resolve_context(context.get))


def named_wiring(declaration: FlowDeclaration, names: ResourceNames) -> dict[str, str]:
    """What the stack wires into the function, named from the prefix: the bus, its tables, its secrets' ids."""
    return {
        "EVENT_BUS_NAME": names.event_bus,
        **{table_spec(table).env_var: names.table(table) for table in declaration.tables},
        **{SECRET_SPECS[secret].env_var: names.secret(secret) for secret in declaration.secrets},
    }


def deployed_flow_environment(
    names: ResourceNames, flow_name: str, project_root: Path = PROJECT_ROOT, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    declaration = flow(flow_name)
    return {**context_environment(declaration, project_root), **(os.environ if environ is None else environ), **named_wiring(declaration, names)}


def deployed_dependencies(names: ResourceNames, flow_name: str, environ: Mapping[str, str] | None = None) -> Dependencies:
    """The clients the deployed `flow_name` builds (and no others: its declaration's grants hold)."""
    return Dependencies(FlowSettings(flow(flow_name), deployed_flow_environment(names, flow_name, environ=environ)))
