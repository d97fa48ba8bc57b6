"""The dry run behind `ops plan`: what the next sync would change on Spotify, and why.

It runs the publisher's own `evaluate` and `decide_action` (the same gate, series rules, takedown rule
and Megaphone projection) over the ledger, without calling Megaphone or writing anything, so the plan
cannot drift from what the publisher would do. Each planned change carries the findings the gate
would record, so an episode that is not on Spotify always says why.

The distribution pre-flight runs too, from what the ledger keeps only (`StoredChecksOnly`): a plan
never downloads media or stores a rendition. An episode whose cover or master the pre-flight has not
checked yet is planned as `check` (the publisher fetches it on its next run), with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from pydantic import BaseModel

from functions.domain.errors import InvalidRecord
from functions.domain.models import Finding
from functions.flows.episode_publisher.gate import RightsCheck
from functions.flows.episode_publisher.logic import ActionKind, decide_action, evaluate
from functions.flows.preflight_gate import PreflightGate, PreflightNotChecked
from functions.flows.publishing_config import PublishingConfig
from functions.state.ledger import SyncLedger
from functions.state.keys import episode_key
from functions.state.targets import EPISODE_SOURCE, MEGAPHONE


class PlannedChange(BaseModel):
    product_id: int
    title: str
    current_status: str
    action: str  # create | update | publish | withdraw | hold | check | none
    reason: str
    changed_fields: list[str] = []
    findings: list[Finding] = []


def plan_changes(
    ledger: SyncLedger,
    config: PublishingConfig,
    today: date,
    rights_check: RightsCheck,
    product_ids: Iterable[int] | None = None,
    preflight: PreflightGate | None = None,
) -> list[PlannedChange]:
    ids = sorted(product_ids) if product_ids is not None else sorted(e.key.number for e in ledger.scan(EPISODE_SOURCE))
    plans: list[PlannedChange] = []
    for product_id in ids:
        try:
            evaluation = evaluate(product_id, None, ledger, config, today, rights_check, preflight)
        except InvalidRecord as exc:
            plans.append(PlannedChange(product_id=product_id, title="?", current_status="unknown", action="none", reason=str(exc)))
            continue
        except PreflightNotChecked as exc:
            plans.append(_not_checked(ledger, product_id, str(exc)))
            continue
        action = decide_action(evaluation, config, preflight)
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


def _not_checked(ledger: SyncLedger, product_id: int, reason: str) -> PlannedChange:
    """An episode the pre-flight must fetch before anything can be planned for it."""
    source = ledger.get(episode_key(product_id), EPISODE_SOURCE)
    target = ledger.get(episode_key(product_id), MEGAPHONE)
    title = source.state.episode.title if source is not None and source.state.episode else "?"
    status = target.status if target is not None else "seen"
    return PlannedChange(product_id=product_id, title=title, current_status=status, action="check", reason=f"pre-flight: {reason}")

