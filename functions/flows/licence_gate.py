"""The publishing gate's rights check for branded assets: the rights model first, then the licence.

A product of a licensed kind (`MappingConfig.branded.licensed_kinds`) is a branded asset: it may be on
the brand show (Megaphone -> Spotify) only on a day its licence is live and grants the brand show,
and only when both its clearance and its licence reach every territory — Megaphone has no territory
field, so the facts sheet's rule applies: a territory restriction is enforced by not publishing,
whatever `unenforceable_territories` says for other content (venue delivery carries the territories
instead). The licence is read from the ledger (`licence#<product>`), where the licence sweep keeps
it; an asset the sweep has not read yet is held.

The episode publisher, rights sync, the brand-show channel and the dry run (`infra.ops plan`) all
judge with this one check, so none of them can put a branded episode live outside its licence.
"""

from __future__ import annotations

from datetime import date

from functions.domain.licence import LicenceChannel, channel_allowed, is_worldwide, licence_territories
from functions.domain.models import Episode, Finding
from functions.flow_names import FlowName
from functions.flows.episode_publisher.gate import RightsCheck, RightsVerdict
from functions.flows.rights_gate import UNENFORCEABLE, clearance_check
from functions.mapping_config import MappingConfig
from functions.state.keys import episode_key, licence_key
from functions.state.ledger import SyncLedger
from functions.state.targets import LICENCE

NOT_LICENSED = "not_licensed"


def publishing_rights_check(mapping: MappingConfig, ledger: SyncLedger) -> RightsCheck:
    """The clearance check, and for branded assets their licence as well."""
    clearance = clearance_check(mapping)
    licensed_kinds = mapping.branded.licensed_kinds

    def check(episode: Episode, on: date) -> RightsVerdict:
        verdict = clearance(episode, on)
        if episode.kind not in licensed_kinds or not verdict.allowed:
            return verdict
        if any(f.code == UNENFORCEABLE for f in verdict.findings):
            return _refused(episode, "rights cleared only in some territories; a branded asset is never published beyond them")
        entry = ledger.get(licence_key(episode.product_id), LICENCE)
        if entry is None or entry.state.asset is None:
            return _refused(episode, "a branded asset whose licence the licence sweep has not read yet")
        asset = entry.state.asset
        allowed, why = channel_allowed(asset, entry.findings, on, LicenceChannel.BRAND_SHOW)
        if not allowed:
            return _refused(episode, f"licence: {why}")
        if not is_worldwide(asset):
            places = ", ".join(sorted(licence_territories(asset))[:8])
            return _refused(episode, f"licence limited to {places}; Megaphone cannot restrict territories, so the brand show holds it")
        return RightsVerdict(allowed=True, reason=f"{verdict.reason}; {why}", findings=verdict.findings)

    return check


def _refused(episode: Episode, reason: str) -> RightsVerdict:
    finding = Finding(code=NOT_LICENSED, entity=str(episode_key(episode.product_id)), message=reason, flow=FlowName.BRAND_SHOW, blocking=False)
    return RightsVerdict(allowed=False, reason=reason, findings=[finding])
