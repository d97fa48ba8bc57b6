"""The campaign brief: what a person reads before publishing a title's milestone campaign in Ads
Manager — the title, milestone and dates, the segment and why (which subject and audience codes led
to which targeting), the creatives with their status, the copy, the budget, the drafts' ids and the
validation result — as Markdown for people and the same facts as JSON for machines.

Rendering is pure and holds nothing that changes without the inputs changing (no clock), so a brief
is rewritten (and its note in Consonance updated) only when what it says changed. The short `note`
is what goes into Consonance: the status in a line and the brief's link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from functions.domain.marketing import MarketedTitle, MilestoneWindow
from functions.domain.models import Finding
from functions.marketing.plan import CampaignPlan
from functions.marketing.targeting import Segment
from functions.state.targets import AdsCampaignState, CampaignStatus, CreativesState

STATUS_LINES = {
    CampaignStatus.PLANNED: "Not on the Ads API yet.",
    CampaignStatus.DRAFTING: "Drafts being written on the Ads API.",
    CampaignStatus.VALIDATED: "Drafts validated on the Ads API — waiting for a person to publish them in Ads Manager.",
    CampaignStatus.INVALID: "Drafts on the Ads API, but validation found problems (below) — a person fixes them or the title.",
    CampaignStatus.NEEDS_PERSON: "Nothing written to the Ads API: what the campaign needs could not be derived (below).",
    CampaignStatus.LIVE: "Live on Spotify: published in Ads Manager. The integration no longer edits it; differences are findings.",
    CampaignStatus.STOPPED: "Stopped: drafts deleted, or the live campaign paused (below).",
}
PERSONS_DECISIONS = (
    "Publishing the drafts (Ads Manager → the draft campaign → Publish), unless this ad account is set to auto-publish.",
    "The budget, bid strategy and schedule beyond what the milestone rules set.",
    "Any change to a live campaign: the integration pauses or reports, it never edits or deletes live entities.",
    "Targeting a title whose segment could not be derived (the findings name what was missing).",
)


@dataclass(frozen=True)
class BriefInputs:
    title: MarketedTitle
    milestone: str
    label: str
    window: MilestoneWindow
    status: CampaignStatus
    status_reason: str
    segment: Segment | None
    plan: CampaignPlan | None
    campaign: AdsCampaignState
    creatives: CreativesState | None
    findings: tuple[Finding, ...]
    currency: str = "(ad account currency)"


def brief_data(inputs: BriefInputs) -> dict[str, Any]:
    title, plan, segment, campaign = inputs.title, inputs.plan, inputs.segment, inputs.campaign
    return {
        "work_id": title.work_id,
        "title": title.title,
        "author": title.author,
        "isbn13": title.isbn13,
        "milestone": inputs.milestone,
        "milestone_label": inputs.label,
        "status": str(inputs.status),
        "status_reason": inputs.status_reason,
        "window": inputs.window.model_dump(mode="json"),
        "publishing_status": title.publishing_status_code,
        "publication_date": _iso(title.publication_date),
        "campaign": {
            "starts_on": _iso(plan.starts_on) if plan else _iso(campaign.starts_on),
            "ends_on": _iso(plan.ends_on) if plan else _iso(campaign.ends_on),
            "objective": plan.campaign_body["objective"] if plan else None,
            "budget_micro_amount_per_ad_set": plan.budget_micro_amount if plan else None,
            "budget_micro_amount_total": plan.total_budget_micro_amount if plan else None,
            "call_to_action": plan.call_to_action if plan else None,
            "advertiser_name": plan.copy_text.advertiser_name if plan else None,
            "tagline": plan.copy_text.tagline if plan else None,
            "companion_show_id": plan.companion_show_id if plan else None,
        },
        "segment": segment.model_dump(mode="json") if segment else None,
        "creatives": inputs.creatives.model_dump(mode="json") if inputs.creatives else None,
        "drafts": {
            "campaign_id": campaign.campaign_id,
            "ad_sets": {country: e.id for country, e in sorted(campaign.ad_sets.items())},
            "ads": {country: e.id for country, e in sorted(campaign.ads.items())},
        },
        "validation": campaign.validation.model_dump(mode="json", exclude={"at"}) if campaign.validation else None,
        "live_status": campaign.live_status,
        "published_by": campaign.published_by,
        "findings": [f.model_dump(mode="json") for f in inputs.findings],
    }


def brief_markdown(inputs: BriefInputs) -> str:
    title, plan, segment, campaign = inputs.title, inputs.plan, inputs.segment, inputs.campaign
    lines = [
        f"# Campaign brief: {title.title} — {inputs.label}",
        "",
        f"**Status:** {STATUS_LINES[inputs.status]}" + (f" ({inputs.status_reason})" if inputs.status_reason else ""),
        "",
        "## Title and milestone",
        f"- Work {title.work_id}{f' by {title.author}' if title.author else ''}; ISBN {title.isbn13 or '—'}; publishing status {title.publishing_status_code or '—'}",
        f"- Publication date: {_iso(title.publication_date) or '—'} (planned {_iso(title.planned_publication_date) or '—'})",
        f"- Milestone: {inputs.window.reason}; window {inputs.window.opens_on} – {inputs.window.closes_on or 'open'}",
    ]
    if plan is not None:
        lines.append(f"- Campaign: {plan.starts_on} – {plan.ends_on} (UTC), objective {plan.campaign_body['objective']}")
    lines += ["", "## Audience segment and why"]
    if segment is not None:
        lines += [f"- {reason}" for reason in segment.reasons]
        ages = ", ".join(a.text() for a in segment.age_ranges)
        lines.append(f"- Targeting: podcast episode topics {', '.join(segment.topics)}; ages {ages}; one ad set per country: {', '.join(segment.countries)}")
        lines += [f"- Not covered: {line}" for line in segment.left_out]
    else:
        lines.append("- Not derived (see the findings).")
    lines += ["", "## Creatives"]
    creatives = inputs.creatives
    for label, asset in (("Audio spot", creatives.audio if creatives else None), ("Companion image (cover)", creatives.image if creatives else None)):
        if asset is None:
            lines.append(f"- {label}: not uploaded")
        else:
            lines.append(f"- {label}: `{asset.name}` — {asset.detail or 'checked'}; Ads asset {asset.asset_id or '—'}, {asset.status}")
    source = title.audio_spot.url if title.audio_spot else None
    lines.append(f"- Sources in Consonance: spot {source or '—'}; cover {title.cover_url or '—'}")
    lines += ["", "## Copy and call to action"]
    if plan is not None:
        cta = plan.call_to_action
        lines += [
            f"- Advertiser name: {plan.copy_text.advertiser_name} ({len(plan.copy_text.advertiser_name)}/25)",
            f"- Tagline: {plan.copy_text.tagline} ({len(plan.copy_text.tagline)}/40)",
            f"- Call to action: {cta['key']} → {cta['clickthrough_url']}" + (f" (promotes show {plan.companion_show_id})" if plan.companion_show_id else ""),
        ]
        lines += [
            "",
            "## Budget",
            f"- {_money(plan.budget_micro_amount)} {inputs.currency} per ad set (lifetime), {len(plan.ad_sets)} ad set(s): "
            f"{_money(plan.total_budget_micro_amount)} in all; bid strategy AUTOBID",
        ]
    else:
        lines.append("- Not derived (see the findings).")
    lines += ["", "## Drafts on the Ads API"]
    if campaign.campaign_id:
        lines.append(f"- Campaign {campaign.campaign_id}" + (f" — live status {campaign.live_status}" if campaign.live_status else ""))
        for country in sorted(campaign.ad_sets):
            ad = campaign.ads.get(country)
            lines.append(f"- {country}: ad set {campaign.ad_sets[country].id}, ad {ad.id if ad else '—'}")
    else:
        lines.append("- None")
    lines += ["", "## Validation"]
    validation = campaign.validation
    if validation is None:
        lines.append("- Not validated")
    elif validation.valid:
        lines.append(f"- Valid (hierarchy version {validation.hierarchy_version})")
    else:
        lines.append(f"- Problems found (hierarchy version {validation.hierarchy_version}):")
        lines += [f"  - {issue}" for issue in validation.issues]
    if inputs.findings:
        lines += ["", "## Findings for a person"]
        lines += [f"- `{f.code}`: {f.message}" for f in inputs.findings]
    lines += ["", "## What stays a person's decision"]
    lines += [f"- {decision}" for decision in PERSONS_DECISIONS]
    return "\n".join(lines) + "\n"


def note_markdown(inputs: BriefInputs, link: str) -> str:
    """The internal note in Consonance: the status in a line, the dates and the brief's link."""
    plan = inputs.plan
    dates = f" Campaign {plan.starts_on} – {plan.ends_on}." if plan else ""
    problems = f" {len(inputs.findings)} finding(s) for a person." if inputs.findings else ""
    return (
        f"**Spotify campaign — {inputs.label}:** {STATUS_LINES[inputs.status]}{dates}{problems}\n\n"
        f"Campaign brief: {link}\n"
    )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _money(micro: int) -> str:
    return f"{micro / 1_000_000:,.2f}"
