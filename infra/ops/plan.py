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
from functions.flows.preflight_gate import PreflightGate, StoredChecksOnly
from functions.flows.publishing_config import PublishingConfig
from functions.flows.licence_gate import publishing_rights_check
from functions.mapping_config import MappingConfig
from functions.preflight.settings import PreflightSettings
from functions.settings import deployed_preflight, preflight_rules
from functions.state.keys import episode_key
from functions.state.ledger import SyncLedger
from functions.state.targets import EPISODE_SOURCE
from infra.flows import FlowName, Table, flow
from infra.naming import ResourceNames
from infra.ops.deployed_flow import PROJECT_ROOT, context_environment

PLANNING_FLOW = FlowName.EPISODE_PUBLISHER


def deployed_environment(project_root: Path = PROJECT_ROOT, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The publisher's settings as deployed: cdk.json context for its flow, overridden by the environment."""
    return {**context_environment(flow(PLANNING_FLOW), project_root), **(os.environ if environ is None else environ)}


def deployed_settings(project_root: Path = PROJECT_ROOT, environ: Mapping[str, str] | None = None) -> PublishingConfig:
    """The publisher's publishing configuration: cdk.json context for its flow, overridden by the
    environment (same variable names: MAPPING, MEGAPHONE_PODCASTS, MEGAPHONE_EXPLICIT_VALUE)."""
    env = deployed_environment(project_root, environ)
    return PublishingConfig(
        mapping=MappingConfig.model_validate(json.loads(env["MAPPING"])) if env.get("MAPPING") else MappingConfig(),
        podcasts=json.loads(env["MEGAPHONE_PODCASTS"]) if env.get("MEGAPHONE_PODCASTS") else {},
        explicit_value=env.get("MEGAPHONE_EXPLICIT_VALUE") or "clean",
    )


def dry_run_preflight(config: PublishingConfig, environ: Mapping[str, str] | None = None) -> PreflightGate:
    """The publisher's pre-flight as deployed (PREFLIGHT, MEGAPHONE_EXPLICIT_VALUE, RENDITIONS_BASE_URL),
    reading only what the ledger keeps: the plan fetches no media and stores no rendition."""
    env = deployed_environment(environ=environ)
    rules = preflight_rules(
        PreflightSettings.model_validate(deployed_preflight(env.get("PREFLIGHT") or {})), env.get("MEGAPHONE_EXPLICIT_VALUE") or "clean"
    )
    stored = StoredChecksOnly(env.get("RENDITIONS_BASE_URL") or None)
    return PreflightGate(media=stored, renditions=stored, settings=rules, config=config)


def unknown_products(ledger: SyncLedger, product_ids: Sequence[int]) -> list[int]:
    """Requested products the poller has never recorded: nothing can be planned for them."""
    return [product_id for product_id in product_ids if ledger.get(episode_key(product_id), EPISODE_SOURCE) is None]


def plan(
    names: ResourceNames,
    config: PublishingConfig,
    today: date,
    product_ids: Sequence[int] | None,
    environ: Mapping[str, str] | None = None,
) -> tuple[list[planning.PlannedChange], list[int]]:
    """(planned changes, requested product ids not in the ledger). `environ`: the publisher's
    variables when not the process's (the replay passes the sandbox publisher's own)."""
    ledger = SyncLedger(names.table(Table.LEDGER))
    missing = unknown_products(ledger, product_ids) if product_ids else []
    wanted = [product_id for product_id in product_ids if product_id not in missing] if product_ids else None
    if product_ids and not wanted:
        return [], missing
    # The rights check the publisher is built with (episode_publisher/deps.py).
    preflight = dry_run_preflight(config, environ)
    rights_check = publishing_rights_check(config.mapping, ledger)
    return planning.plan_changes(ledger, config, today, rights_check, product_ids=wanted, preflight=preflight), missing
