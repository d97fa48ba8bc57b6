"""The marketing rules on their own: when a title enters a milestone (rules as data, validated), what
audience it gets and why (or a finding, never a guess), the ad copy within the Ads API's limits, the
campaign plan (dates, budget, call to action by milestone) and the brief."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from functions.domain.marketing import AudioSpot, MarketedTitle, MilestoneWindow, SubjectCode
from functions.domain.models import Territories
from functions.marketing.ad_copy import derive_copy, shorten
from functions.marketing.brief import BriefInputs, brief_data, brief_markdown, note_markdown
from functions.marketing.config import MarketingConfig
from functions.marketing.milestones import MilestoneRule, MilestoneRules
from functions.marketing.plan import AssetIds, CampaignPlan, plan_campaign
from functions.marketing.targeting import CountryChoice, Segment, TargetingTable, derive_segment
from functions.state.targets import AdsCampaignState, CampaignStatus

CONFIG = MarketingConfig(advertiser_name="Larkspur & Vine", companion_shows={3503: "4rOoJ6Egrf8K2IrywzwOMk"})
TODAY = date(2026, 12, 3)


def title(**changes: object) -> MarketedTitle:
    values: dict[str, object] = {
        "work_id": 3501,
        "title": "The Glass Orchard",
        "author": "Oluwaseun Bright",
        "lead_product_id": 78011,
        "product_ids": (78011, 78012),
        "isbn13": "9781915405012",
        "publishing_status_code": "02",
        "publication_date": date(2027, 1, 28),
        "planned_publication_date": date(2027, 1, 28),
        "subjects": (SubjectCode(scheme="THEMA", code="FBA", main=True), SubjectCode(scheme="BISAC", code="FIC019000")),
        "audience_codes": ("01",),
        "territories": Territories(included=("GB", "IE", "US")),
        "cover_url": "https://assets.example/covers/glass.jpg",
        "audio_spot": AudioSpot(url="https://assets.example/spots/glass.mp3"),
        "landing_page": "https://larkspurvine.example/books/9781915405012",
    }
    values.update(changes)
    return MarketedTitle.model_validate(values)


# ------------------------------------------------------------------------------------------ milestones
def test_the_shipped_rules_are_valid_data_with_the_three_milestones() -> None:
    rules = MarketingConfig().milestones
    assert [rule.milestone for rule in rules.rules] == ["pre_order", "publication", "backlist"]
    assert rules.rule("pre_order").campaign.call_to_action == "ORDER_NOW"
    assert rules.rule("backlist").marketing_tiers == frozenset({"backlist-push"})


def test_pre_order_opens_eight_weeks_before_publication_for_a_forthcoming_title() -> None:
    rule = CONFIG.milestones.rule("pre_order")
    assert rule.entered(title(), TODAY - timedelta(days=1)) is None  # the window opens on 3 December
    window = rule.entered(title(), TODAY)
    assert window is not None and (window.opens_on, window.closes_on) == (date(2026, 12, 3), date(2027, 1, 28))
    assert window.reason == "Pre-order: 56 days before the publication date (2027-01-28)"
    assert rule.entered(title(publishing_status_code="04"), TODAY) is None  # only forthcoming titles
    assert rule.entered(title(), date(2027, 1, 28)) is None  # closed on publication day


def test_the_planned_date_counts_when_consonance_has_no_publication_date() -> None:
    window = CONFIG.milestones.rule("pre_order").entered(title(publication_date=None, planned_publication_date=date(2027, 1, 28)), TODAY)
    assert window is not None and "planned publication date" in window.reason


def test_backlist_opens_a_year_after_publication_or_when_a_person_marks_the_title() -> None:
    rule = CONFIG.milestones.rule("backlist")
    published = title(publishing_status_code="04", publication_date=date(2025, 12, 3), planned_publication_date=None)
    assert rule.entered(published, date(2026, 12, 2)) is None
    assert rule.entered(published, date(2026, 12, 3)) is not None
    assert rule.entered(published, date(2026, 12, 10)) is None  # a week to start: an old catalogue does not all fire at once
    marked = rule.entered(title(publishing_status_code="04", publication_date=date(2024, 5, 10), marketing_tier="backlist-push"), TODAY)
    assert marked is not None and marked.basis == "marking" and marked.opens_on == TODAY and "backlist-push" in marked.reason


def test_a_moved_date_moves_a_reached_window_and_a_marking_keeps_its_day() -> None:
    rule = CONFIG.milestones.rule("pre_order")
    reached = rule.entered(title(), TODAY)
    assert reached is not None
    moved = rule.current_window(title(publication_date=date(2027, 3, 10), planned_publication_date=date(2027, 3, 10)), reached)
    assert (moved.opens_on, moved.closes_on) == (date(2027, 1, 13), date(2027, 3, 10))
    marking = MilestoneWindow(opens_on=TODAY, basis="marking", reason="Backlist promotion: marketing tier 'backlist-push'")
    assert CONFIG.milestones.rule("backlist").current_window(title(publication_date=date(2020, 1, 1)), marking) == marking


def test_next_boundary_is_the_next_window_opening_of_a_milestone_not_reached() -> None:
    rules = CONFIG.milestones
    assert rules.next_boundary(title(), date(2026, 11, 1), frozenset()) == date(2026, 12, 3)
    assert rules.next_boundary(title(), TODAY, frozenset({"pre_order"})) == date(2027, 1, 28)  # publication
    assert rules.next_boundary(title(), TODAY, frozenset({"pre_order", "publication"})) == date(2028, 1, 28)  # backlist
    assert not rules.is_live(title(publishing_status_code="01"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"milestone": "Pre Order"}, "lower-case letters"),
        ({"statuses": ["forthcoming"]}, "ONIX list 64"),
        ({"opens_days": 10, "closes_days": 5}, "must be after"),
        ({"opens_days": None, "closes_days": None}, "never opens"),
        ({"campaign": {"objective": "UNSET"}}, "objective"),
        ({"campaign": {"taglines": ["Pre-order {name}"]}}, "unknown fields"),
        ({"campaign": {"budget_micro_amount": 0}}, "budget_micro_amount"),
    ],
)
def test_malformed_rules_are_refused_at_start_with_the_reason(change: dict[str, object], message: str) -> None:
    rule = json.loads(CONFIG.milestones.rule("pre_order").model_dump_json())
    campaign = change.pop("campaign", None)
    rule.update(change)
    if isinstance(campaign, dict):
        rule["campaign"].update(campaign)
    with pytest.raises(ValidationError, match=message):
        MilestoneRule.model_validate(rule)


def test_a_milestone_named_twice_is_refused() -> None:
    rule = CONFIG.milestones.rule("pre_order")
    with pytest.raises(ValidationError, match="named twice"):
        MilestoneRules(rules=(rule, rule))


def test_a_deployment_overrides_the_rules_through_the_marketing_setting() -> None:
    override = json.dumps({"milestones": {"rules": [json.loads(CONFIG.milestones.rule("publication").model_dump_json())]}, "advertiser_name": "Imprint"})
    config = MarketingConfig.from_json(override)
    assert [r.milestone for r in config.milestones.rules] == ["publication"] and config.targeting.subjects  # the table stays the default
    with pytest.raises(ValidationError, match="extra"):
        MarketingConfig.from_json(json.dumps({"milestone_rules": {}}))


# ------------------------------------------------------------------------------------------ segment
def test_the_segment_comes_from_subjects_audience_and_territories_with_reasons() -> None:
    segment = derive_segment(title(), CONFIG.targeting, CONFIG.countries)
    assert isinstance(segment, Segment)
    assert segment.topics == ("books-and-literature",) and segment.genre == "Literary fiction"
    assert [(a.min, a.max) for a in segment.age_ranges] == [(18, 99)]
    assert segment.countries == ("GB", "US")  # IE is on sale but not an Ad Studio market
    assert "THEMA FBA (main) → topics books-and-literature; genre Literary fiction" in segment.reasons
    assert "audience 01 (General/trade) → ages 18+" in segment.reasons
    assert segment.left_out == ("IE: on sale, but not countries this Ads account targets",)


def test_the_longest_prefix_wins_and_young_adult_subjects_give_ages_without_audience_codes() -> None:
    ya = title(subjects=(SubjectCode(scheme="BISAC", code="YAF019000", main=True), SubjectCode(scheme="THEMA", code="FF")), audience_codes=())
    segment = derive_segment(ya, CONFIG.targeting, CONFIG.countries)
    assert isinstance(segment, Segment)
    assert segment.genre == "Young adult fiction" and [(a.min, a.max) for a in segment.age_ranges] == [(13, 24)]
    assert any("from the subjects" in reason for reason in segment.reasons)


def test_a_segment_that_cannot_be_derived_is_a_list_of_findings_not_a_guess() -> None:
    puzzles = title(subjects=(SubjectCode(scheme="THEMA", code="WDKC", main=True),), audience_codes=("99",), territories=Territories(included=("IE",)))
    problems = derive_segment(puzzles, CONFIG.targeting, CONFIG.countries)
    assert isinstance(problems, list)
    assert {p.code for p in problems} == {"segment_no_topic", "segment_no_age", "segment_no_country"}
    assert "THEMA WDKC (main)" in next(p.message for p in problems if p.code == "segment_no_topic")


def test_worldwide_titles_get_the_first_countries_in_priority_order() -> None:
    segment = derive_segment(title(territories=Territories(worldwide=True, excluded=("US",))), CONFIG.targeting, CountryChoice(countries=("US", "GB", "CA", "AU"), max_countries=2))
    assert isinstance(segment, Segment) and segment.countries == ("GB", "CA")
    assert any("beyond the first 2 countries" in line for line in segment.left_out)


def test_the_targeting_table_refuses_topics_the_ads_api_does_not_have() -> None:
    with pytest.raises(ValidationError, match="not podcast episode topics"):
        TargetingTable.model_validate({"subjects": [{"scheme": "THEMA", "prefix": "F", "genre": "Fiction", "topics": ["novels"]}]})


# ------------------------------------------------------------------------------------------ copy
def test_copy_uses_the_first_tagline_that_fits_and_shortens_at_a_word_boundary() -> None:
    fitted = derive_copy(advertiser="Larkspur & Vine", taglines=("Pre-order {title} by {author}", "Pre-order {title}"), title="The Glass Orchard", author="Oluwaseun Bright")
    assert not isinstance(fitted, list) and fitted.tagline == "Pre-order The Glass Orchard"  # 44 characters with the author
    long = derive_copy(advertiser="The Larkspur & Vine Publishing Group Ltd", taglines=("Pre-order {title}",), title="An Extraordinarily Long Title About Cartography and Loss", author=None)
    assert not isinstance(long, list)
    assert long.advertiser_name == "The Larkspur & Vine…" and len(long.advertiser_name) <= 25
    assert long.tagline == "Pre-order An Extraordinarily Long Title…" and len(long.tagline) <= 40
    assert shorten("  spaced   out  ", 40) == "spaced out"


def test_copy_that_cannot_fit_is_a_finding() -> None:
    problems = derive_copy(advertiser="X", taglines=("{title}",), title="Supercalifragilisticexpialidociousnessesque", author=None)
    assert isinstance(problems, list) and {p.code for p in problems} == {"ad_copy_advertiser_name", "ad_copy_tagline"}


# ------------------------------------------------------------------------------------------ plan
def plan_for(milestone: str, the_title: MarketedTitle, reached_on: date = TODAY) -> CampaignPlan:
    rule = CONFIG.milestones.rule(milestone)
    window = rule.entered(the_title, reached_on)
    assert window is not None
    segment = derive_segment(the_title, CONFIG.targeting, CONFIG.countries)
    assert isinstance(segment, Segment)
    plan = plan_campaign(the_title, rule, window, segment, CONFIG, reached_on)
    assert isinstance(plan, CampaignPlan), plan
    return plan


def test_a_pre_order_plan_runs_from_the_day_after_until_publication_with_order_now() -> None:
    plan = plan_for("pre_order", title())
    assert (plan.starts_on, plan.ends_on) == (date(2026, 12, 4), date(2027, 1, 28))
    assert plan.campaign_body == {"name": "cs:3501:pre_order The Glass Orchard (pre-order)", "objective": "CLICKS"}
    assert [s.country for s in plan.ad_sets] == ["GB", "US"]
    gb = plan.ad_sets[0].body
    assert gb["start_time"] == "2026-12-04T00:00:00Z" and gb["end_time"] == "2027-01-28T00:00:00Z"
    assert gb["budget"] == {"micro_amount": 250_000_000, "type": "LIFETIME"} and gb["asset_format"] == "AUDIO"
    assert gb["targets"] == {
        "placements": ["PODCAST"],
        "age_ranges": [{"min": 18, "max": 99}],
        "podcast_episode_topic_ids": ["books-and-literature"],
        "geo_targets": {"country_code": "GB"},
    }
    assert gb["name"].startswith("cs:3501:pre_order GB ") and plan.call_to_action["key"] == "ORDER_NOW"
    ad = plan.ad_body(plan.ad_sets[0], AssetIds(audio="a-1", image="i-1"))
    assert ad["assets"] == {"asset_id": "a-1", "companion_asset_id": "i-1", "logo_asset_id": "i-1"}
    assert ad["call_to_action"]["clickthrough_url"] == "https://larkspurvine.example/books/9781915405012"


def test_publication_buys_now_and_backlist_with_a_companion_show_promotes_the_podcast() -> None:
    published = title(publishing_status_code="04", publication_date=TODAY, planned_publication_date=TODAY)
    assert plan_for("publication", published).call_to_action["key"] == "BUY_NOW"
    backlist = plan_for("backlist", title(work_id=3503, publishing_status_code="04", publication_date=date(2024, 5, 10), marketing_tier="backlist-push"))
    assert backlist.call_to_action == {"key": "LISTEN_NOW", "language": "ENGLISH", "clickthrough_url": "https://open.spotify.com/show/4rOoJ6Egrf8K2IrywzwOMk"}
    assert backlist.ad_sets[0].body["promotion"] == {"promotion_goal": "PODCAST_PROMO", "promotion_target_id": "4rOoJ6Egrf8K2IrywzwOMk"}
    assert backlist.campaign_body["objective"] == "PODCAST_STREAMS" and (backlist.ends_on - backlist.starts_on).days == 30


def test_a_plan_is_the_same_for_the_same_inputs_and_differs_when_the_date_moves() -> None:
    first, again = plan_for("pre_order", title()), plan_for("pre_order", title())
    assert first.plan_hash(("a", "b")) == again.plan_hash(("a", "b"))
    assert first.plan_hash(("a", "b")) != first.plan_hash(("a", "c"))  # a new spot is a new plan
    rule = CONFIG.milestones.rule("pre_order")
    moved_title = title(publication_date=date(2027, 3, 10), planned_publication_date=date(2027, 3, 10))
    reached = rule.entered(title(), TODAY)
    assert reached is not None
    segment = derive_segment(moved_title, CONFIG.targeting, CONFIG.countries)
    assert isinstance(segment, Segment)
    moved = plan_campaign(moved_title, rule, rule.current_window(moved_title, reached), segment, CONFIG, TODAY)
    assert isinstance(moved, CampaignPlan) and (moved.starts_on, moved.ends_on) == (date(2027, 1, 13), date(2027, 3, 10))


def test_missing_creatives_a_landing_page_or_a_closed_window_are_findings() -> None:
    rule = CONFIG.milestones.rule("pre_order")
    bare = title(audio_spot=None, cover_url=None, landing_page=None)
    segment = derive_segment(bare, CONFIG.targeting, CONFIG.countries)
    assert isinstance(segment, Segment)
    late = MilestoneWindow(anchor_date=TODAY, opens_on=TODAY - timedelta(days=56), closes_on=TODAY, reason="Pre-order")
    problems = plan_campaign(bare, rule, late, segment, CONFIG, TODAY)
    assert isinstance(problems, list)
    assert {p.code for p in problems} == {"campaign_no_audio_spot", "campaign_no_cover", "campaign_no_landing_page", "campaign_window_closed"}


# ------------------------------------------------------------------------------------------ brief
def test_the_brief_says_why_for_each_targeting_choice_and_what_stays_a_persons_decision() -> None:
    plan = plan_for("pre_order", title())
    segment = derive_segment(title(), CONFIG.targeting, CONFIG.countries)
    assert isinstance(segment, Segment)
    window = CONFIG.milestones.rule("pre_order").entered(title(), TODAY)
    assert window is not None
    inputs = BriefInputs(
        title=title(), milestone="pre_order", label="Pre-order", window=window, status=CampaignStatus.VALIDATED, status_reason="",
        segment=segment, plan=plan, campaign=AdsCampaignState(campaign_id="c-1"), creatives=None, findings=(),
    )  # fmt: skip
    markdown = brief_markdown(inputs)
    assert markdown.startswith("# Campaign brief: The Glass Orchard — Pre-order")
    assert "waiting for a person to publish them in Ads Manager" in markdown
    assert "- THEMA FBA (main) → topics books-and-literature; genre Literary fiction" in markdown
    assert "Tagline: Pre-order The Glass Orchard (27/40)" in markdown and "250.00" in markdown
    assert "## What stays a person's decision" in markdown and "Campaign c-1" in markdown
    data = brief_data(inputs)
    assert data["campaign"]["budget_micro_amount_total"] == 500_000_000 and data["drafts"]["campaign_id"] == "c-1"
    assert json.loads(json.dumps(data)) == data  # JSON as it is
    assert brief_markdown(inputs) == markdown  # nothing in it changes without its inputs (no clock)
    note = note_markdown(inputs, "https://docs.example/brief.md")
    assert "Campaign 2026-12-04 – 2027-01-28." in note and note.endswith("Campaign brief: https://docs.example/brief.md\n")
