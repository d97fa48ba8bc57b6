"""What one title's milestone asks for on the Ads API: one draft campaign, one ad set per country of the
segment (dates relative to the milestone, a LIFETIME budget in micro-units, AUDIO on podcasts), and one
ad per ad set carrying the title's audio spot with its cover as the companion image.

Pure: the plan is a function of the title, the milestone's window, the configuration and the day the
milestone was announced (`as_of`), so planning again with the same inputs gives the same plan and the
same hash — which is how an unchanged title writes nothing. Asset ids are filled in when the ads are
written (`ad_body`); the plan carries the creatives' content hashes instead.

Names are deterministic and carry the title and milestone (`cs:3501:pre_order ...`): after an
ambiguous answer the connector finds what it may have created by that marker.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from functions.domain.marketing import MarketedTitle, MilestoneWindow
from functions.domain.models import Frozen
from functions.marketing.ad_copy import AdCopy, derive_copy, entity_name
from functions.marketing.config import MarketingConfig
from functions.marketing.milestones import MilestoneRule
from functions.marketing.targeting import Segment

SPOTIFY_SHOW_URL = "https://open.spotify.com/show/{show_id}"


class PlanProblem(Frozen):
    code: str
    message: str


class AssetIds(Frozen):
    """The Ads API's ids of a title's creatives."""

    audio: str
    image: str


class AdSetPlan(Frozen):
    country: str
    name: str
    ad_name: str
    body: dict[str, Any]  # the draft ad set, without `campaign_id`


class CampaignPlan(Frozen):
    work_id: int
    milestone: str
    label: str
    marker: str  # in every entity name: how a lost create is found again
    campaign_name: str
    campaign_body: dict[str, Any]
    starts_on: date
    ends_on: date
    ad_sets: tuple[AdSetPlan, ...]
    copy_text: AdCopy
    call_to_action: dict[str, Any]
    companion_show_id: str | None = None
    budget_micro_amount: int

    def ad_body(self, ad_set: AdSetPlan, assets: AssetIds) -> dict[str, Any]:
        """The draft ad of one ad set, without `ad_set_id`: the spot, the cover as companion and logo."""
        return {
            "name": ad_set.ad_name,
            "advertiser_name": self.copy_text.advertiser_name,
            "tagline": self.copy_text.tagline,
            "asset_format": "AUDIO",
            "assets": {"asset_id": assets.audio, "companion_asset_id": assets.image, "logo_asset_id": assets.image},
            "call_to_action": dict(self.call_to_action),
        }

    def plan_hash(self, creatives: tuple[str, str]) -> str:
        """Everything pushed, with the creatives' content hashes standing for their asset ids."""
        canonical = json.dumps({"plan": self.model_dump(mode="json"), "creatives": creatives}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]

    @property
    def total_budget_micro_amount(self) -> int:
        return self.budget_micro_amount * len(self.ad_sets)


def marker(config: MarketingConfig, work_id: int, milestone: str) -> str:
    return f"{config.name_prefix}:{work_id}:{milestone}"


def campaign_dates(window: MilestoneWindow, rule: MilestoneRule, as_of: date, lead_days: int) -> tuple[date, date] | PlanProblem:
    """From the window's opening (never sooner than `lead_days` after the milestone was announced, so a
    person can review the drafts) for the campaign's length, cut at the window's close if the rule says."""
    starts = max(window.opens_on, as_of + timedelta(days=lead_days))
    ends = starts + timedelta(days=rule.campaign.duration_days)
    if rule.campaign.end_at_window_close and window.closes_on is not None:
        ends = min(ends, window.closes_on)
    if ends <= starts:
        return PlanProblem(
            code="campaign_window_closed",
            message=f"the {rule.label.lower()} window closes on {window.closes_on} — before a campaign could start ({starts})",
        )
    return starts, ends


def plan_campaign(
    title: MarketedTitle, rule: MilestoneRule, window: MilestoneWindow, segment: Segment, config: MarketingConfig, as_of: date
) -> CampaignPlan | list[PlanProblem]:
    problems: list[PlanProblem] = []
    mark = marker(config, title.work_id, rule.milestone)
    template = rule.campaign
    show_id = config.companion_shows.get(title.work_id) if template.promote_companion_show else None
    if title.audio_spot is None:
        problems.append(PlanProblem(code="campaign_no_audio_spot", message=f"no approved production file of variant {config.audio_spot_variant!r}: the audio ad has no spot"))
    if title.cover_url is None:
        problems.append(PlanProblem(code="campaign_no_cover", message=f"no supporting resource of variant {config.cover_variant!r}: the ad has no companion image"))
    clickthrough = SPOTIFY_SHOW_URL.format(show_id=show_id) if show_id else title.landing_page
    if clickthrough is None:
        problems.append(
            PlanProblem(
                code="campaign_no_landing_page",
                message=f"no web link of role {config.landing_page_role} on the lead product and no landing page template: the call to action has nowhere to go",
            )
        )
    copy_text = derive_copy(advertiser=config.advertiser_name or "", taglines=template.taglines, title=title.title, author=title.author)
    if isinstance(copy_text, list):
        problems += [PlanProblem(code=p.code, message=p.message) for p in copy_text]
    dates = campaign_dates(window, rule, as_of, config.campaign_lead_days)
    if isinstance(dates, PlanProblem):
        problems.append(dates)
    if problems:
        return problems
    assert isinstance(copy_text, AdCopy) and not isinstance(dates, PlanProblem) and clickthrough is not None
    starts, ends = dates
    targets_base: dict[str, Any] = {
        "placements": list(template.placements),
        "age_ranges": [{"min": a.min, "max": a.max} for a in segment.age_ranges],
        "podcast_episode_topic_ids": list(segment.topics),
    }
    if segment.genre_ids:
        targets_base["genre_ids"] = list(segment.genre_ids)
    ad_sets = []
    for country in segment.countries:
        body: dict[str, Any] = {
            "name": entity_name(mark, country, f"{rule.label} · {segment.genre}"),
            "start_time": _utc_midnight(starts),
            "end_time": _utc_midnight(ends),
            "budget": {"micro_amount": template.budget_micro_amount, "type": "LIFETIME"},
            "asset_format": "AUDIO",
            "bid_strategy": "AUTOBID",
            "category": config.category,
            "targets": {**targets_base, "geo_targets": {"country_code": country}},
        }
        if show_id:
            body["promotion"] = {"promotion_goal": "PODCAST_PROMO", "promotion_target_id": show_id}
        ad_sets.append(AdSetPlan(country=country, name=body["name"], ad_name=entity_name(mark, country, "spot"), body=body))
    campaign_name = entity_name(mark, title.title, f"({rule.label.lower()})")
    objective = template.companion_show_objective if show_id else template.objective
    return CampaignPlan(
        work_id=title.work_id,
        milestone=rule.milestone,
        label=rule.label,
        marker=mark,
        campaign_name=campaign_name,
        campaign_body={"name": campaign_name, "objective": objective},
        starts_on=starts,
        ends_on=ends,
        ad_sets=tuple(ad_sets),
        copy_text=copy_text,
        call_to_action={
            "key": template.companion_show_call_to_action if show_id else template.call_to_action,
            "language": config.ad_language,
            "clickthrough_url": clickthrough,
        },
        companion_show_id=show_id,
        budget_micro_amount=template.budget_micro_amount,
    )


def _utc_midnight(day: date) -> str:
    return datetime.combine(day, time(0, 0), tzinfo=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
