"""The dry run behind `ops plan`: what the next sync would change on Spotify, and why.

It runs the publisher's own evaluation (the same gate, series rules and Megaphone projection) over
the ledger and compares the result with what was last pushed, without calling Megaphone or writing
anything. Field-level differences come from comparing the projection with the last pushed snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from pydantic import BaseModel

from functions.domain.errors import InvalidRecord
from functions.flows.episode_publisher.gate import Placement, RightsCheck
from functions.flows.episode_publisher.logic import evaluate, respect_takedown
from functions.flows.ledger_keys import SOURCE, product_id_of
from functions.flows.megaphone_projection import desired_fields, fields_hash
from functions.flows.rights_gate import clearance_check
from functions.settings import Settings
from functions.state.ledger import SyncLedger


class PlannedChange(BaseModel):
    product_id: int
    title: str
    current_status: str
    action: str  # create | update | publish | withdraw | hold | none
    reason: str
    changed_fields: list[str] = []


def plan_changes(
    ledger: SyncLedger,
    settings: Settings,
    today: date,
    product_ids: Iterable[int] | None = None,
    rights_check: RightsCheck | None = None,
) -> list[PlannedChange]:
    rights_check = rights_check or clearance_check(settings.mapping)  # the publisher's own check
    ids = sorted(product_ids) if product_ids is not None else sorted(product_id_of(e.entity) for e in ledger.scan(SOURCE))
    plans: list[PlannedChange] = []
    for product_id in ids:
        try:
            evaluation = evaluate(product_id, None, ledger, settings, today, rights_check)
        except InvalidRecord as exc:
            plans.append(PlannedChange(product_id=product_id, title="?", current_status="unknown", action="none", reason=str(exc)))
            continue
        episode, target = evaluation.episode, evaluation.target
        decision = respect_takedown(evaluation.decision, target)
        on_megaphone = "episode_id" in target.target_ids
        live = on_megaphone and target.attributes.get("draft") is False
        action, changed = "none", []
        if decision.placement in (Placement.NOT_READY, Placement.WITHDRAW):
            action = "withdraw" if live else ("hold" if decision.placement is Placement.WITHDRAW else "none")
        elif decision.placement is Placement.HOLD:
            action = "hold"
        else:
            fields = desired_fields(episode, draft=decision.placement is Placement.DRAFT, settings=settings)
            if not on_megaphone:
                action, changed = "create", sorted(fields.wire())
            elif fields_hash(fields) != target.pushed_hash:
                previous = target.attributes.get("pushed_fields") or {}
                changed = sorted(k for k, v in fields.wire().items() if previous.get(k) != v) if previous else ["(unknown: pushed before field snapshots)"]
                action = "publish" if (not fields.draft and not live) else "update"
        plans.append(
            PlannedChange(
                product_id=product_id,
                title=episode.title,
                current_status=target.status.value,
                action=action,
                reason=decision.reason,
                changed_fields=changed,
            )
        )
    return plans
