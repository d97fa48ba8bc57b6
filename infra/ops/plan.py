"""`plan`: what the next sync would change on Spotify and why, computed by the publisher's own logic
(`functions.flows.planning.plan_changes`) over the deployed ledger, changing nothing.

The settings are the episode publisher's, as deployed: the cdk.json context resolved for that flow
(infra/deployment_context.py), then the process environment on top (same variable names, e.g.
MEGAPHONE_PODCASTS or MAPPING), so a value given with `cdk deploy -c` can be given here too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

from functions.flows import planning
from functions.flows.publishing_config import PublishingConfig
from functions.flows.licence_gate import publishing_rights_check
from functions.mapping_config import MappingConfig
from functions.state.keys import episode_key
from functions.state.ledger import SyncLedger
from functions.state.targets import EPISODE_SOURCE
from infra.deployment_context import environment_for_flow, load_cdk_json_context, resolve_context
from infra.flows import FlowName, Table, flow
from infra.naming import ResourceNames

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PLANNING_FLOW = FlowName.EPISODE_PUBLISHER


def deployed_settings(project_root: Path = PROJECT_ROOT, environ: Mapping[str, str] | None = None) -> PublishingConfig:
    """The publisher's publishing configuration: cdk.json context for its flow, overridden by the
    environment (same variable names: MAPPING, MEGAPHONE_PODCASTS, MEGAPHONE_EXPLICIT_VALUE)."""
    context = load_cdk_json_context(project_root) if (project_root / "cdk.json").is_file() else {}
    deployed = environment_for_flow(flow(PLANNING_FLOW), resolve_context(context.get))
    env = {**deployed, **(os.environ if environ is None else environ)}
    return PublishingConfig(
        mapping=MappingConfig.model_validate(json.loads(env["MAPPING"])) if env.get("MAPPING") else MappingConfig(),
        podcasts=json.loads(env["MEGAPHONE_PODCASTS"]) if env.get("MEGAPHONE_PODCASTS") else {},
        explicit_value=env.get("MEGAPHONE_EXPLICIT_VALUE") or "clean",
    )


def unknown_products(ledger: SyncLedger, product_ids: Sequence[int]) -> list[int]:
    """Requested products the poller has never recorded: nothing can be planned for them."""
    return [product_id for product_id in product_ids if ledger.get(episode_key(product_id), EPISODE_SOURCE) is None]


def plan(
    names: ResourceNames, config: PublishingConfig, today: date, product_ids: Sequence[int] | None
) -> tuple[list[planning.PlannedChange], list[int]]:
    """(planned changes, requested product ids not in the ledger)."""
    ledger = SyncLedger(names.table(Table.LEDGER))
    missing = unknown_products(ledger, product_ids) if product_ids else []
    wanted = [product_id for product_id in product_ids if product_id not in missing] if product_ids else None
    if product_ids and not wanted:
        return [], missing
    # The rights check the publisher is built with (episode_publisher/deps.py).
    return planning.plan_changes(ledger, config, today, publishing_rights_check(config.mapping, ledger), product_ids=wanted), missing
