"""Prepares one title milestone's campaign on the Spotify Ads API, from its `MilestoneReached` event.

1. An event older than what the ledger applied is ignored; the same revision already applied (a
   redelivery) does nothing at all — an unchanged title writes nothing.
2. Cancelled: drafts are deleted (they never ran); a live campaign is paused (never deleted) and a
   person is told to archive or resume it.
3. A person may have published the validated drafts in Ads Manager since: the draft is gone and a
   live campaign has its id. From then on the integration does not edit it: a plan that differs
   from what was published is a finding for a person.
4. The segment and the plan are derived (`functions.marketing`); whatever cannot be derived is a
   finding and nothing is written to the Ads API.
5. Creatives are uploaded once per title and content, the drafts written (each create preceded by an
   intent, each update only when the body changed), the creatives waited for, and the hierarchy
   validated at its current version. Validation problems are findings with the API's reasons.
6. Only where the ad account is configured for it, valid drafts are published.
7. The brief (Markdown + JSON in the documents bucket) and its internal note on the work in Consonance
   are written when what they say changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from functions.clock import utcnow
from functions.connectors.errors import AmbiguousWrite
from functions.connectors.spotify_ads import AdsRequestRejected, SpotifyAdsClient, ValidationIssue
from functions.consonance_writes import ConsonanceWriteback, InternalNote
from functions.domain.errors import PermanentError
from functions.domain.events import MilestoneReached
from functions.domain.models import Finding
from functions.flow_names import FlowName
from functions.flows.campaign_planner.creatives import CreativeUploads
from functions.flows.campaign_planner.drafts import DraftWriter
from functions.marketing.brief import BriefInputs, brief_data, brief_markdown, note_markdown
from functions.marketing.config import MarketingConfig
from functions.marketing.milestones import MilestoneRule
from functions.marketing.plan import CampaignPlan, PlanProblem, plan_campaign
from functions.marketing.targeting import Segment, SegmentProblem, derive_segment
from functions.state.documents import DocumentStore
from functions.state.keys import EntityKey, campaign_key, work_key
from functions.state.ledger import LedgerEntry, SyncLedger
from functions.state.targets import ADS_CREATIVES, CAMPAIGN_SETTLED, SPOTIFY_ADS, AdsCampaignState, CampaignStatus, CreativesState, ValidationRecord

SETTLED = CAMPAIGN_SETTLED
FLOW = str(FlowName.CAMPAIGN_PLANNER)


class UnknownMilestone(PermanentError):
    code = "unknown_milestone"


@dataclass
class PlannerDeps:
    ledger: SyncLedger
    ads: SpotifyAdsClient
    creatives: CreativeUploads
    drafts: DraftWriter
    documents: DocumentStore
    writeback: ConsonanceWriteback
    config: MarketingConfig
    auto_publish: bool


@dataclass
class PlannerOutcome:
    key: str
    action: str  # unchanged | stale | needs_person | validated | invalid | published | live | live_differs | stopped
    detail: str = ""
    ads_writes: int = 0


def plan_and_apply(event: MilestoneReached, deps: PlannerDeps) -> PlannerOutcome:
    key = campaign_key(event.title.work_id, event.milestone)
    entry = deps.ledger.get_or_new(key, SPOTIFY_ADS)
    if event.revision < entry.state.revision:
        return PlannerOutcome(str(key), "stale", f"revision {event.revision} is older than the applied {entry.state.revision}")
    if event.revision == entry.state.revision and entry.status in SETTLED and entry.pending_create is None:
        return PlannerOutcome(str(key), "unchanged", f"revision {event.revision} already applied")
    try:
        rule = deps.config.milestones.rule(event.milestone)
    except KeyError:
        raise UnknownMilestone(f"{key}: milestone {event.milestone!r} is not in the configured rules") from None
    if event.change == "cancelled":
        return _stop(entry, event, rule, deps)
    if entry.status is CampaignStatus.STOPPED and entry.state.live_status is not None:
        return _paused_title_back(entry, event, rule, deps)
    if entry.state.campaign_id is not None and entry.status not in (CampaignStatus.LIVE, CampaignStatus.STOPPED):
        _notice_publication(entry, deps)
    if entry.state.deleted_outside:  # a person deleted the drafts: they are not recreated
        return _finish(entry, event, rule, deps, None, None, "stopped")
    segment = derive_segment(event.title, deps.config.targeting, deps.config.countries)
    plan = plan_campaign(event.title, rule, event.window, segment, deps.config, event.reached_on) if isinstance(segment, Segment) else None
    problems: list[SegmentProblem | PlanProblem] = [*([] if isinstance(segment, Segment) else segment), *(plan if isinstance(plan, list) else [])]
    if problems or not isinstance(plan, CampaignPlan) or not isinstance(segment, Segment):
        entry.findings = _findings(key, problems)
        if entry.status is not CampaignStatus.LIVE:
            entry.set_status(CampaignStatus.NEEDS_PERSON, "; ".join(sorted({p.code for p in problems})))
        return _finish(entry, event, rule, deps, None, None, "needs_person")
    if entry.status is CampaignStatus.LIVE:
        return _compare_live(entry, event, rule, deps, segment, plan)
    return _draft(entry, event, rule, deps, segment, plan)


def _draft(
    entry: LedgerEntry[AdsCampaignState], event: MilestoneReached, rule: MilestoneRule, deps: PlannerDeps, segment: Segment, plan: CampaignPlan
) -> PlannerOutcome:
    key = entry.key
    creatives = deps.ledger.get_or_new(work_key(event.title.work_id), ADS_CREATIVES)
    assets = deps.creatives.ensure(event.title, creatives)
    if isinstance(assets, list):
        entry.findings = _findings(key, assets)
        entry.set_status(CampaignStatus.NEEDS_PERSON, "; ".join(p.code for p in assets))
        return _finish(entry, event, rule, deps, segment, plan, "needs_person", creatives.state)
    if entry.status is CampaignStatus.PLANNED:
        entry.set_status(CampaignStatus.DRAFTING, f"revision {event.revision}")
    writes = deps.drafts.write(entry, plan, assets)
    plan_hash = plan.plan_hash(_creative_hashes(creatives.state))
    if writes == 0 and entry.state.plan_hash == plan_hash and entry.state.validation is not None:
        return _finish(entry, event, rule, deps, segment, plan, str(entry.status), creatives.state)  # as validated before
    rejected = deps.creatives.wait_until_ready(creatives)
    if rejected:
        entry.findings = _findings(key, rejected)
        entry.set_status(CampaignStatus.INVALID, "a creative was rejected")
        return _finish(entry, event, rule, deps, segment, plan, "invalid", creatives.state, writes)
    campaign_id = entry.state.campaign_id
    assert campaign_id is not None
    outcome = deps.ads.validate(campaign_id)
    entry.state.validation = ValidationRecord(
        valid=outcome.valid, hierarchy_version=outcome.hierarchy_version, issues=[i.text() for i in outcome.issues], at=utcnow()
    )
    entry.state.starts_on, entry.state.ends_on = plan.starts_on, plan.ends_on
    if not outcome.valid:
        entry.findings = _validation_findings(key, outcome.issues)
        entry.set_status(CampaignStatus.INVALID, f"{len(outcome.issues)} validation problem(s) at hierarchy version {outcome.hierarchy_version}")
        return _finish(entry, event, rule, deps, segment, plan, "invalid", creatives.state, writes)
    entry.findings = []
    action = "validated"
    if deps.auto_publish:
        action = _publish(entry, deps, campaign_id)
    else:
        entry.set_status(CampaignStatus.VALIDATED, "waiting for a person to publish it in Ads Manager")
    entry.state.plan_hash = plan_hash
    return _finish(entry, event, rule, deps, segment, plan, action, creatives.state, writes)


def _publish(entry: LedgerEntry[AdsCampaignState], deps: PlannerDeps, campaign_id: str) -> str:
    """Auto-publish (the ad account is configured for it). After an ambiguous answer, the live
    campaign's existence says whether it happened."""
    try:
        outcome = deps.ads.publish(campaign_id)
        status = outcome.campaign_status
        if not outcome.valid:
            entry.findings = _validation_findings(entry.key, outcome.issues)
            entry.set_status(CampaignStatus.INVALID, "PUBLISH found problems")
            return "invalid"
    except AmbiguousWrite:
        live = deps.ads.get_campaign(campaign_id)
        if live is None:
            raise
        status = live.status
    entry.state.live_status, entry.state.published_by = status, "integration"
    entry.set_status(CampaignStatus.LIVE, "published by the integration (auto-publish is on for this ad account)")
    return "published"


def _notice_publication(entry: LedgerEntry[AdsCampaignState], deps: PlannerDeps) -> None:
    """A person may have published the drafts (the draft disappears; the live campaign has its id)."""
    campaign_id = entry.state.campaign_id
    assert campaign_id is not None
    if deps.ads.get_draft_campaign(campaign_id) is not None:
        return
    live = deps.ads.get_campaign(campaign_id)
    if live is not None:
        entry.state.live_status, entry.state.published_by = live.status, "person"
        entry.set_status(CampaignStatus.LIVE, "published in Ads Manager")
        return
    entry.state.deleted_outside = True
    entry.state.campaign_id, entry.state.campaign_hash, entry.state.ad_sets, entry.state.ads = None, None, {}, {}
    entry.findings = [
        Finding(
            code="draft_deleted_outside",
            entity=str(entry.key),
            message=f"draft campaign {campaign_id} was deleted in Ads Manager; the integration does not recreate it",
            flow=FLOW,
            blocking=False,
        )
    ]
    entry.set_status(CampaignStatus.STOPPED, "the drafts were deleted in Ads Manager")


def _compare_live(
    entry: LedgerEntry[AdsCampaignState], event: MilestoneReached, rule: MilestoneRule, deps: PlannerDeps, segment: Segment, plan: CampaignPlan
) -> PlannerOutcome:
    creatives = deps.ledger.get(work_key(event.title.work_id), ADS_CREATIVES)
    hashes = _creative_hashes(creatives.state) if creatives is not None else ("", "")
    same_creatives = creatives is not None and _same_sources(event, creatives.state)
    if same_creatives and plan.plan_hash(hashes) == entry.state.plan_hash:
        entry.findings = [f for f in entry.findings if f.code != "live_campaign_differs"]
        return _finish(entry, event, rule, deps, segment, plan, "live", creatives.state if creatives else None)
    entry.findings = [
        Finding(
            code="live_campaign_differs",
            entity=str(entry.key),
            message=(
                f"the title changed after campaign {entry.state.campaign_id} went live; the plan now says {plan.starts_on} – {plan.ends_on}, "
                f"countries {', '.join(s.country for s in plan.ad_sets)}, tagline {plan.copy_text.tagline!r}: a person edits the live campaign in Ads Manager"
            ),
            flow=FLOW,
        )
    ]
    return _finish(entry, event, rule, deps, segment, plan, "live_differs", creatives.state if creatives else None)


def _stop(entry: LedgerEntry[AdsCampaignState], event: MilestoneReached, rule: MilestoneRule, deps: PlannerDeps) -> PlannerOutcome:
    campaign_id = entry.state.campaign_id
    action = "stopped"
    if campaign_id is not None and entry.status is not CampaignStatus.STOPPED:
        if entry.status is not CampaignStatus.LIVE:
            _notice_publication(entry, deps)
        if entry.status is CampaignStatus.LIVE:
            _pause(deps.ads, campaign_id)
            entry.state.live_status = "PAUSED"
            entry.findings = [
                Finding(
                    code="live_campaign_paused",
                    entity=str(entry.key),
                    message=f"the title was cancelled (status {event.title.publishing_status_code}); live campaign {campaign_id} is paused: archive or resume it in Ads Manager",
                    flow=FLOW,
                )
            ]
        elif entry.status is not CampaignStatus.STOPPED:
            deps.ads.delete_draft_campaign(campaign_id)
            entry.record("drafts_deleted", f"campaign {campaign_id} and its ad sets and ads")
            entry.state.campaign_id, entry.state.campaign_hash = None, None
            entry.state.ad_sets, entry.state.ads = {}, {}
            entry.state.validation = None
            entry.findings = []
    else:
        entry.findings = []
    entry.state.plan_hash = None
    entry.set_status(CampaignStatus.STOPPED, f"title cancelled (publishing status {event.title.publishing_status_code})")
    return _finish(entry, event, rule, deps, None, None, action)


def _paused_title_back(entry: LedgerEntry[AdsCampaignState], event: MilestoneReached, rule: MilestoneRule, deps: PlannerDeps) -> PlannerOutcome:
    """A title whose live campaign was paused at its cancellation is live again: resuming spend is a person's call."""
    entry.findings = [
        Finding(
            code="paused_campaign_title_back",
            entity=str(entry.key),
            message=f"the title is {event.title.publishing_status_code} again; its campaign {entry.state.campaign_id} stays paused: resume it (or archive it) in Ads Manager",
            flow=FLOW,
        )
    ]
    return _finish(entry, event, rule, deps, None, None, "stopped")


def _pause(ads: SpotifyAdsClient, campaign_id: str) -> None:
    """Pause a live campaign; one a person paused or archived already is left as it is."""
    try:
        ads.set_campaign_status(campaign_id, "PAUSED")
    except AmbiguousWrite:
        live = ads.get_campaign(campaign_id)
        if live is None or live.status not in ("PAUSED", "ARCHIVED"):
            ads.set_campaign_status(campaign_id, "PAUSED")
    except AdsRequestRejected:
        live = ads.get_campaign(campaign_id)
        if live is None or live.status not in ("PAUSED", "ARCHIVED"):
            raise


def _finish(
    entry: LedgerEntry[AdsCampaignState],
    event: MilestoneReached,
    rule: MilestoneRule,
    deps: PlannerDeps,
    segment: Segment | None,
    plan: CampaignPlan | None,
    action: str,
    creatives: CreativesState | None = None,
    ads_writes: int = 0,
) -> PlannerOutcome:
    """Write the brief and its note where they changed, then record the revision as applied (last: a
    failed note write leaves the revision unapplied, so the retry writes the note)."""
    inputs = BriefInputs(
        title=event.title,
        milestone=event.milestone,
        label=rule.label,
        window=event.window,
        status=CampaignStatus(entry.status),
        status_reason=entry.status_reason,
        segment=segment,
        plan=plan,
        campaign=entry.state,
        creatives=creatives,
        findings=tuple(entry.findings),
    )
    document_key = brief_key(entry.key)
    stored = deps.documents.put(document_key, brief_markdown(inputs), brief_data(inputs))
    note = InternalNote(
        key=entry.key,
        purpose=f"campaign-brief:{event.milestone}",
        work_id=event.title.work_id,
        markdown=note_markdown(inputs, stored.link),
        product_ids=event.title.product_ids,
    )
    [failure] = deps.writeback.write_internal_notes([note])
    if failure is not None:
        raise failure
    entry.state.brief_key, entry.state.brief_link, entry.state.brief_hash = document_key, stored.link, stored.content_hash
    if stored.written:
        entry.record("brief_written", stored.link)
    entry.state.revision = event.revision
    deps.ledger.save(entry)
    return PlannerOutcome(str(entry.key), action, entry.status_reason, ads_writes)


class _Problem(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def message(self) -> str: ...


def _findings(key: EntityKey, problems: Sequence[_Problem]) -> list[Finding]:
    return [Finding(code=p.code, entity=str(key), message=p.message, flow=FLOW) for p in problems]


def _validation_findings(key: EntityKey, issues: Sequence[ValidationIssue]) -> list[Finding]:
    """The Ads API's reasons, one finding each."""
    return [Finding(code="ads_validation", entity=str(key), message=issue.text(), flow=FLOW) for issue in issues]


def brief_key(key: EntityKey) -> str:
    work_id, milestone = key.id.split(":", 1)
    return f"campaign-briefs/{work_id}/{milestone}"


def _creative_hashes(state: CreativesState) -> tuple[str, str]:
    return (state.audio.sha256 if state.audio else "", state.image.sha256 if state.image else "")


def _same_sources(event: MilestoneReached, state: CreativesState) -> bool:
    spot = event.title.audio_spot.url if event.title.audio_spot else None
    return state.audio is not None and state.image is not None and state.audio.source_url == spot and state.image.source_url == event.title.cover_url


def summary(outcome: PlannerOutcome) -> dict[str, Any]:
    return {"key": outcome.key, "action": outcome.action, "detail": outcome.detail, "ads_writes": outcome.ads_writes}
