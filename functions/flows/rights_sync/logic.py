"""Rights sync: when rights change in Consonance, or a clearance window opens or closes with time,
recompute clearance and act on Spotify — release what became cleared, hold or withdraw (back to
draft) what lost it — through the publisher's own code path, and record the decision with its reason
in the ledger's history (the rights team's audit trail)."""

from __future__ import annotations

from datetime import date

from functions.flows.episode_publisher.logic import PublisherDeps, PublishOutcome, publish_episode
from functions.flows.rights_gate import UNENFORCEABLE
from functions.state.keys import episode_key
from functions.state.targets import MEGAPHONE


def apply_rights(product_id: int, trigger: str, deps: PublisherDeps, today: date) -> tuple[PublishOutcome, bool]:
    """Returns the outcome and whether an unenforceable territory restriction is now recorded."""
    outcome = publish_episode(product_id, None, deps, today)
    target = deps.ledger.get(episode_key(product_id), MEGAPHONE)
    if target is None:
        return outcome, False
    target.record("rights_decision", f"{trigger}: {outcome.placement.value} ({outcome.action}) — {outcome.reason}")
    deps.ledger.save(target)
    return outcome, any(f.code == UNENFORCEABLE for f in target.findings)
