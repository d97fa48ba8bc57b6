"""The rights check the publishing gate uses: clearance from the rights model, on the day it matters.

- Contradictory or missing rights (blocking findings from `rights_findings`) withdraw/hold the episode.
- No territory cleared on the day → not allowed (withdrawn if it was live, held otherwise).
- Cleared only in some territories: Megaphone has no territory field, so a published episode is
  available wherever Spotify is. What happens is configuration (`MappingConfig.unenforceable_territories`):
  `publish_and_report` (default) publishes and records a finding a person must act on;
  `hold` keeps it back until it is cleared everywhere. Never silently.
"""

from __future__ import annotations

from datetime import date

from functions.domain.clearance import assess_rights
from functions.domain.models import Episode, Finding
from functions.domain.territories import KNOWN_TERRITORIES
from functions.flow_names import FlowName
from functions.state.keys import episode_key
from functions.flows.episode_publisher.gate import RightsCheck, RightsVerdict
from functions.mapping_config import MappingConfig

UNENFORCEABLE = "unenforceable_territory_restriction"


def clearance_check(mapping: MappingConfig) -> RightsCheck:
    policy = mapping.rights
    universe = frozenset(KNOWN_TERRITORIES)

    def check(episode: Episode, on: date) -> RightsVerdict:
        assessment = assess_rights(episode, policy, universe)
        blocking = [f for f in assessment.findings if f.blocking]
        if blocking:
            return RightsVerdict(allowed=False, reason="rights problems: " + ", ".join(sorted({f.code for f in blocking})), findings=blocking)
        live = assessment.clearance.territories_on(on)
        if not live:
            upcoming = assessment.clearance.next_change_after(on)
            reason = f"not cleared anywhere on {on}" + (f" (next change {upcoming})" if upcoming else "")
            finding = Finding(code="not_cleared", entity=str(episode_key(episode.product_id)), message=reason, flow=FlowName.RIGHTS_SYNC)
            return RightsVerdict(allowed=False, reason=reason, findings=[finding])
        if live == universe:
            return RightsVerdict(allowed=True, reason=f"cleared worldwide on {on}")
        finding = Finding(
            code=UNENFORCEABLE,
            entity=str(episode_key(episode.product_id)),
            message=(
                f"cleared only in {len(live)} territories ({', '.join(sorted(live)[:8])}"
                f"{', ...' if len(live) > 8 else ''}); Megaphone cannot restrict territories"
                + ("; held back until cleared everywhere" if mapping.unenforceable_territories == "hold" else "; published everywhere — a person must decide")
            ),
            flow=FlowName.RIGHTS_SYNC,
            blocking=mapping.unenforceable_territories == "hold",
        )
        if mapping.unenforceable_territories == "hold":
            return RightsVerdict(allowed=False, reason="territory restriction Megaphone cannot enforce", findings=[finding])
        return RightsVerdict(allowed=True, reason=f"cleared in {len(live)} territories on {on}", findings=[finding])

    return check
