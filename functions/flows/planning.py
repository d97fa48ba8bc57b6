"""The dry run behind `ops plan`: what the next sync would change on Spotify, and why.

It runs the publisher's own `evaluate` and `decide_action` (the same gate, series rules, takedown rule
and Megaphone projection) over the ledger, without calling Megaphone or writing anything, so the plan
cannot drift from what the publisher would do. Each planned change carries the findings the gate
would record, so an episode that is not on Spotify always says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from pydantic import BaseModel

from functions.domain.errors import InvalidRecord
from functions.domain.models import Finding
from functions.flows.episode_publisher.gate import RightsCheck
from functions.flows.episode_publisher.logic import ActionKind, decide_action, evaluate
from functions.flows.publishing_config import PublishingConfig
from functions.state.ledger import SyncLedger
from functions.state.targets import EPISODE_SOURCE


class PlannedChange(BaseModel):
    product_id: int
    title: str
    current_status: str
    action: str  # create | update | publish | withdraw | hold | none
    reason: str
    changed_fields: list[str] = []
    findings: list[Finding] = []


def plan_changes(
    ledger: SyncLedger,
    config: PublishingConfig,
    today: date,
    rights_check: RightsCheck,
    product_ids: Iterable[int] | None = None,
) -> list[PlannedChange]:
    ids = sorted(product_ids) if product_ids is not None else sorted(e.key.number for e in ledger.scan(EPISODE_SOURCE))
    plans: list[PlannedChange] = []
    for product_id in ids:
        try:
            evaluation = evaluate(product_id, None, ledger, config, today, rights_check)
        except InvalidRecord as exc:
            plans.append(PlannedChange(product_id=product_id, title="?", current_status="unknown", action="none", reason=str(exc)))
            continue
        action = decide_action(evaluation, config)
        source = ledger.get(evaluation.target.key, EPISODE_SOURCE)
        plans.append(
            PlannedChange(
                product_id=product_id,
                title=evaluation.episode.title,
                current_status=evaluation.target.status,
                action=ActionKind.NONE.value if action.kind is ActionKind.NONE else action.kind.value,
                reason=action.decision.reason,
                changed_fields=list(action.changed_fields),
                findings=[*(source.findings if source else []), *action.decision.findings],
            )
        )
    return plans
