"""The publishing gate: may this episode be on Spotify now, and in which state?

Checks run in order and the first that objects decides. The rule (documented in the README):
1. approval — publishing status forthcoming/active, ONIX exports allowed, master audio approved with
   distribution allowed (`functions.domain.approval.is_approved`); otherwise not ready, with a
   `not_approved` finding naming what is missing (and withdrawn if it was live);
2. data quality — a blocking finding from the mapping (bad ISBN, over-long title, ...) holds it;
3. series rules — a series conflict (duplicate part, dates out of order, missing narrator ...) holds it;
4. show — its series must map to a Megaphone podcast;
5. rights — a pluggable `RightsCheck` (the rights model plugs in here) may hold or withdraw it;
6. pre-flight — Spotify's distribution requirements (`functions.flows.preflight_gate`): artwork,
   master audio and texts as they would be pushed; a blocking finding holds it. It runs after rights,
   so a withdrawal wins and nothing is fetched for an episode that is not going out;
7. release — no release date holds it; a future date makes it a draft until that date; otherwise live.
A hold for data, series or pre-flight problems keeps what is already on Spotify untouched (nothing
wrong is pushed, nothing right is pulled); a rights hold withdraws it, because it may no longer be live.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field

from functions.domain.approval import approval_blockers, is_approved
from functions.domain.models import Episode, Finding
from functions.preflight.results import PreflightResult
from functions.state.keys import episode_key
from functions.flow_names import FlowName
from functions.flows.publishing_config import PublishingConfig



class Placement(StrEnum):
    NOT_READY = "not_ready"  # not approved: nothing to push
    HOLD = "hold"  # approved but blocked; what is live stays as it is
    WITHDRAW = "withdraw"  # must not be live: back to draft if it was pushed
    DRAFT = "draft"  # push as a draft (release date still ahead)
    LIVE = "live"  # push published


class GateDecision(BaseModel):
    placement: Placement
    reason: str
    findings: list[Finding] = Field(default_factory=list)
    preflight: PreflightResult | None = None  # the pre-flight's result, when the gate got that far


class RightsVerdict(BaseModel):
    allowed: bool
    reason: str
    findings: list[Finding] = Field(default_factory=list)


RightsCheck = Callable[[Episode, date], RightsVerdict]
PreflightCheck = Callable[[Episode], PreflightResult]


def decide(
    episode: Episode,
    *,
    today: date,
    settings: PublishingConfig,
    source_findings: list[Finding],
    series_findings: list[Finding],
    rights_check: RightsCheck,
    preflight: PreflightCheck | None = None,
) -> GateDecision:
    if not is_approved(episode, settings.mapping):
        why = "; ".join(approval_blockers(episode, settings.mapping))
        finding = _finding(episode, "not_approved", f"not approved for distribution: {why}", blocking=False)
        return GateDecision(placement=Placement.NOT_READY, reason=f"not approved for distribution: {why}", findings=[finding])
    blocking = [f for f in source_findings if f.blocking]
    if blocking:  # the findings stay on the source entry where the poller recorded them
        return GateDecision(placement=Placement.HOLD, reason=_codes("data problems", blocking))
    if series_findings:
        return GateDecision(placement=Placement.HOLD, reason=_codes("series conflict", series_findings), findings=series_findings)
    if episode.show is None or settings.podcast_for(episode.show.series_id) is None:
        finding = _finding(
            episode,
            "no_megaphone_podcast",
            f"series {episode.show.series_id if episode.show else '(none)'} is not mapped to a Megaphone podcast",
        )
        return GateDecision(placement=Placement.HOLD, reason=finding.message, findings=[finding])
    # Rights are judged for the day the episode would go live: a draft ahead of its release date is
    # not live, so what matters is whether it will be cleared then.
    rights = rights_check(episode, max(today, episode.release_date) if episode.release_date else today)
    if not rights.allowed:
        return GateDecision(placement=Placement.WITHDRAW, reason=f"rights: {rights.reason}", findings=rights.findings)
    checked = preflight(episode) if preflight is not None else None
    findings = [*rights.findings, *(checked.findings if checked is not None else ())]
    if checked is not None and checked.held:
        reason = _codes("pre-flight", list(checked.blocking_findings))
        return GateDecision(placement=Placement.HOLD, reason=reason, findings=findings, preflight=checked)
    if episode.release_date is None:
        finding = _finding(episode, "missing_release_date", "approved but has no publication date")
        return GateDecision(placement=Placement.HOLD, reason=finding.message, findings=[finding], preflight=checked)
    if episode.release_date > today:
        return GateDecision(
            placement=Placement.DRAFT, reason=f"draft until its release date {episode.release_date}", findings=findings, preflight=checked
        )
    return GateDecision(
        placement=Placement.LIVE, reason=f"approved, released {episode.release_date}, {rights.reason}", findings=findings, preflight=checked
    )


def _finding(episode: Episode, code: str, message: str, *, blocking: bool = True) -> Finding:
    return Finding(code=code, entity=str(episode_key(episode.product_id)), message=message, flow=FlowName.EPISODE_PUBLISHER, blocking=blocking)


def _codes(label: str, findings: list[Finding]) -> str:
    return f"{label}: " + ", ".join(sorted({f.code for f in findings}))
