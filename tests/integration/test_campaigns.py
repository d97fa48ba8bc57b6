"""Campaign milestones on the sandbox world: the sample titles (sandbox/catalogue/sample.d/campaigns.json)
over the demo's seven days, through the milestone detector, the campaign planner and the Ads report
collector as they deploy — the Ads API, Consonance, S3 and DynamoDB all simulated, the Ads account
authorised at world start through the consent page.

What the week holds: pre-order for The Glass Orchard (day 2; a person publishes it; Canada added to its
territories on day 6, a change to a live campaign), Salt and Lantern Light (pre-order open at the start
and published by a person; publication on day 3), The Cartographer's Daughter (marked for backlist
promotion on day 4, with a companion podcast), Winter Sparrows (young adult, a year after publication
on day 3), A Lantern for the Drowned (publication moved on day 5), The Orchid Ledger (cancelled on
day 2) and a puzzle book whose subjects map to no podcast topic."""

from __future__ import annotations

import io
import json
from datetime import date, time
from pathlib import Path
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest

from functions.analytics.duckdb_runner import DuckDBRunner
from functions.analytics.rollups import run_rollup
from functions.analytics.store import copy_to_directory
from functions.domain.models import Episode, EpisodeKind, Show
from functions.flow_names import FlowName
from functions.flows.milestone_detector.logic import last_announcement
from functions.state.keys import campaign_key, episode_key
from functions.state.ledger import new_entry
from functions.state.targets import EPISODE_SOURCE, MILESTONE, SPOTIFY_ADS, CampaignStatus, MilestoneStatus
from infra.flows import FLOWS, Bucket, Secret
from infra.naming import ResourceNames
from sandbox.analytics_report import store_objects
from sandbox.catalogue import TimelineEdit, load_catalogue
from sandbox.marketing import AD_ACCOUNT, MARKETING_FLOWS
from sandbox.world import SandboxWorld
from tests.integration.harness import ledger, ledger_versions, open_world, put_event, scheduled_event
from tests.recorded_requests import recording_requests

MARKETING = tuple(flow for flow in FLOWS if flow.name in MARKETING_FLOWS)
DAYS = 7
CAMPAIGN_PART = ("campaigns.json",)  # the main sample and the campaign titles (other parts add titles of their own)


@pytest.fixture(scope="module")
def week() -> Iterator[SandboxWorld]:
    with open_world(load_catalogue(parts=CAMPAIGN_PART), flows=MARKETING) as world:
        world.run_for(DAYS)
        yield world


def entry(world: SandboxWorld, work_id: int, milestone: str) -> Any:
    found = ledger(world).get(campaign_key(work_id, milestone), SPOTIFY_ADS)
    assert found is not None, f"{work_id}:{milestone}"
    return found


def drafts_named(world: SandboxWorld, marker: str) -> dict[str, list[dict[str, Any]]]:
    assert world.marketing is not None
    state = world.marketing.ads.state()
    kinds = ("draft_campaigns", "draft_ad_sets", "draft_ads", "campaigns", "ad_sets", "ads")
    return {kind: [e for e in state[kind] if str(e.get("name", "")).startswith(marker)] for kind in kinds}


def test_every_title_milestone_ends_where_the_week_takes_it(week: SandboxWorld) -> None:
    expected = {
        (3501, "pre_order"): (CampaignStatus.LIVE, ["live_campaign_differs"]),
        (3502, "pre_order"): (CampaignStatus.LIVE, []),
        (3502, "publication"): (CampaignStatus.VALIDATED, []),
        (3503, "backlist"): (CampaignStatus.VALIDATED, []),
        (3504, "backlist"): (CampaignStatus.VALIDATED, []),
        (3505, "pre_order"): (CampaignStatus.VALIDATED, []),
        (3506, "pre_order"): (CampaignStatus.STOPPED, []),
        (3507, "pre_order"): (CampaignStatus.NEEDS_PERSON, ["segment_no_topic"]),
    }
    found = {tuple(e.entity.split("#")[1].split(":")): (e.status, [f.code for f in e.findings]) for e in ledger(week).scan(SPOTIFY_ADS)}
    assert found == {(str(w), m): v for (w, m), v in expected.items()}
    for (work_id, milestone), (status, _) in expected.items():
        if status in (CampaignStatus.VALIDATED, CampaignStatus.LIVE):
            assert entry(week, work_id, milestone).state.validation.valid


def test_each_milestone_is_announced_once_and_again_only_when_it_changed(week: SandboxWorld) -> None:
    announced = {e.entity: e for e in ledger(week).scan(MILESTONE)}
    revisions = {key.split("#")[1]: e.state.revision for key, e in announced.items()}
    # moved (3505), cancelled (3506), new territories (3501), published status (3502 pre-order): one more each
    assert revisions == {
        "3501:pre_order": 2, "3502:pre_order": 2, "3502:publication": 1, "3503:backlist": 1,
        "3504:backlist": 1, "3505:pre_order": 2, "3506:pre_order": 2, "3507:pre_order": 1,
    }  # fmt: skip
    assert announced["campaign#3506:pre_order"].status is MilestoneStatus.CANCELLED
    assert [h.action for h in announced["campaign#3505:pre_order"].history if h.action.startswith("announced")] == ["announced:reached", "announced:updated"]
    assert announced["campaign#3503:backlist"].state.window.basis == "marking"
    assert announced["campaign#3504:backlist"].state.window.reason == "Backlist promotion: 365 days after the publication date (2025-12-04)"


def test_a_moved_publication_date_updates_the_same_drafts(week: SandboxWorld) -> None:
    moved = entry(week, 3505, "pre_order")
    drafts = drafts_named(week, "cs:3505:pre_order ")
    assert [c["id"] for c in drafts["draft_campaigns"]] == [moved.state.campaign_id]  # one campaign, not a second
    [ad_set] = drafts["draft_ad_sets"]
    assert (ad_set["start_time"], ad_set["end_time"]) == ("2027-01-13T00:00:00Z", "2027-03-10T00:00:00Z")
    assert [h.action for h in moved.history].count("draft_updated") == 1  # the ad set; campaign and ad unchanged
    assert moved.state.validation.hierarchy_version == 4  # 3 creates and the update


def test_a_cancelled_title_stops_its_drafts_and_nothing_is_left_on_the_ads_api(week: SandboxWorld) -> None:
    stopped = entry(week, 3506, "pre_order")
    assert stopped.state.campaign_id is None and "drafts_deleted" in [h.action for h in stopped.history]
    assert drafts_named(week, "cs:3506:pre_order ") == {k: [] for k in ("draft_campaigns", "draft_ad_sets", "draft_ads", "campaigns", "ad_sets", "ads")}


def test_a_change_to_a_live_campaign_is_a_finding_and_the_live_campaign_is_not_touched(week: SandboxWorld) -> None:
    live = entry(week, 3501, "pre_order")
    drafts = drafts_named(week, "cs:3501:pre_order ")
    assert [c["id"] for c in drafts["campaigns"]] == [live.state.campaign_id] and drafts["draft_campaigns"] == []
    assert sorted(s["targets"]["geo_targets"]["country_code"] for s in drafts["ad_sets"]) == ["GB", "US"]  # no CA added
    [finding] = live.findings
    assert "countries GB, US, CA" in finding.message and "a person edits the live campaign in Ads Manager" in finding.message
    assert week.marketing is not None
    live_writes = [r for r in week.marketing.ads.received if r.method in ("PATCH", "DELETE") and "/drafts/" not in r.path]
    assert live_writes == []


def test_the_segment_and_copy_reach_the_drafts(week: SandboxWorld) -> None:
    backlist = drafts_named(week, "cs:3503:backlist ")
    assert sorted(s["targets"]["geo_targets"]["country_code"] for s in backlist["draft_ad_sets"]) == ["AU", "GB", "NZ"]
    assert {json.dumps(s["promotion"], sort_keys=True) for s in backlist["draft_ad_sets"]} == {
        json.dumps({"promotion_goal": "PODCAST_PROMO", "promotion_target_id": "4rOoJ6Egrf8K2IrywzwOMk"}, sort_keys=True)
    }
    assert {a["call_to_action"]["key"] for a in backlist["draft_ads"]} == {"LISTEN_NOW"}
    young = drafts_named(week, "cs:3504:backlist ")
    assert {json.dumps(s["targets"]["age_ranges"]) for s in young["draft_ad_sets"]} == {json.dumps([{"min": 13, "max": 24}])}
    assert {(a["advertiser_name"], a["tagline"]) for a in young["draft_ads"]} == {("Larkspur & Vine", "Rediscover Winter Sparrows")}  # with the author: 42 > 40
    publication = drafts_named(week, "cs:3502:publication ")
    assert {a["call_to_action"]["key"] for a in publication["draft_ads"]} == {"BUY_NOW"}


def test_nothing_on_the_ads_api_is_doubled_and_creatives_are_shared_by_a_titles_milestones(week: SandboxWorld) -> None:
    assert week.marketing is not None
    state = week.marketing.ads.state()
    names = Counter(e["name"] for kind in ("draft_campaigns", "draft_ad_sets", "draft_ads", "campaigns", "ad_sets", "ads", "assets") for e in state[kind])
    assert names and max(names.values()) == 1
    assert len(state["assets"]) == 2 * 6  # spot + companion image for the six titles that got drafts; 3502's two milestones share them
    assert {a["status"] for a in state["assets"]} == {"READY"}
    assert {a["width"] for a in state["assets"] if a["asset_type"] == "IMAGE"} == {640}


def test_each_campaign_has_a_brief_in_s3_and_one_internal_note_in_consonance_updated_in_place(week: SandboxWorld) -> None:
    s3 = boto3.client("s3")
    bucket = week.resources.buckets[Bucket.DOCUMENTS]
    for campaign in ledger(week).scan(SPOTIFY_ADS):
        key = campaign.state.brief_key
        markdown = s3.get_object(Bucket=bucket, Key=f"{key}.md")["Body"].read().decode()
        data = json.loads(s3.get_object(Bucket=bucket, Key=f"{key}.json")["Body"].read())
        assert markdown.startswith("# Campaign brief: ") and data["status"] == str(campaign.status)
        assert campaign.state.brief_link.endswith(f"{key}.md")
    notes = [t for t in week.consonance.catalogue.marketing_texts if "campaign-brief:" in t.internal_markdown]
    markers = Counter(t.internal_markdown.splitlines()[0] for t in notes)
    assert len(markers) == 8 and max(markers.values()) == 1  # one note per title milestone
    assert all(t.external_markdown.startswith("Internal note") and t.variant is None for t in notes)  # kept out of ONIX
    moved = [n.operation for n in week.consonance.notes_written if "campaign#3505:pre_order" in n.internal_markdown]
    assert moved == ["createMarketingText", "updateMarketingText"]
    cryptic = next(t for t in notes if "campaign#3507:pre_order" in t.internal_markdown)
    assert "Nothing written to the Ads API" in cryptic.internal_markdown and "campaign-briefs/3507/pre_order.md" in cryptic.internal_markdown


def test_the_collector_writes_the_live_campaigns_daily_delivery_as_facts(week: SandboxWorld) -> None:
    assert week.marketing is not None
    s3 = boto3.client("s3")
    bucket = week.resources.buckets[Bucket.ANALYTICS]
    key = f"facts/source=spotify_ads/date=2026-12-02/account-{AD_ACCOUNT.id}.parquet"
    table = pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())).to_pylist()
    live = entry(week, 3502, "pre_order")
    campaign_rows = {r["metric"]: r["value"] for r in table if r["entity_type"] == "campaign" and r["entity_id"] == live.state.campaign_id}
    recorded = [f for a in week.marketing.ads.state()["ads"] for f in [a] if a["ad_set_id"] in {s.id for s in live.state.ad_sets.values()}]
    assert len(recorded) == 3 and campaign_rows["ad_impressions"] > 0 and campaign_rows["ad_completes"] > 0
    ad_set_rows = [r for r in table if r["entity_type"] == "ad_set" and r["metric"] == "ad_impressions"]
    assert len(ad_set_rows) == 3 and sum(r["value"] for r in ad_set_rows) == campaign_rows["ad_impressions"]
    assert {r["official"] for r in table} == {True}
    days = sorted(k.split("date=")[1][:10] for k in (o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="facts/source=spotify_ads/")["Contents"]))
    assert days[0] == "2026-12-02" and days[-1] == "2026-12-07"  # from the first campaign's start to yesterday


def test_the_ads_account_was_authorised_through_the_consent_page_at_world_start(week: SandboxWorld) -> None:
    secret = ResourceNames(week.resources.prefix).family_member(Secret.SPOTIFY_ACCOUNTS, "ads")
    stored = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=secret)["SecretString"])
    assert stored["account"] == "ads" and stored["scopes"] == []
    assert week.spotify.accounts.consents_given == 1


def test_an_unchanged_title_writes_nothing(week: SandboxWorld) -> None:
    """The last announcement of a validated milestone delivered again (a duplicate) and the detector run
    again: no Ads API request, no ledger, S3 or Consonance write."""
    assert week.marketing is not None
    announced = ledger(week).get(campaign_key(3505, "pre_order"), MILESTONE)
    assert announced is not None
    planned = week.runtime.stats()["campaign-planner"].succeeded
    before = (ledger_versions(week), len(week.marketing.ads.received), len(week.consonance.notes_written), _document_versions(week))
    put_event(week, last_announcement(announced))
    week.run_for(1 / 24)  # the detector's hourly run comes round too
    after = (ledger_versions(week), len(week.marketing.ads.received), len(week.consonance.notes_written), _document_versions(week))
    assert week.runtime.stats()["campaign-planner"].succeeded == planned + 1  # the duplicate was handled
    assert after == before


def test_drafts_a_person_deleted_are_not_recreated(week: SandboxWorld) -> None:
    """Runs after the others on the week's world: a person deletes a validated draft campaign in Ads
    Manager; the title's next change finds it gone, says so, and writes no new draft."""
    assert week.marketing is not None
    before = entry(week, 3503, "backlist")
    answer = week.marketing.person_request("DELETE", f"/ad_accounts/{AD_ACCOUNT.id}/drafts/campaigns/{before.state.campaign_id}")
    assert answer.status_code == 204
    announced = ledger(week).get(campaign_key(3503, "backlist"), MILESTONE)
    assert announced is not None
    changed = last_announcement(announced).model_copy(update={"revision": announced.state.revision + 1})
    put_event(week, changed)
    week.run_for(1 / 24)
    after = entry(week, 3503, "backlist")
    assert after.status is CampaignStatus.STOPPED and [f.code for f in after.findings] == ["draft_deleted_outside"]
    assert after.state.campaign_id is None and drafts_named(week, "cs:3503:backlist ")["draft_campaigns"] == []


def _document_versions(world: SandboxWorld) -> int:
    versions = boto3.client("s3").list_object_versions(Bucket=world.resources.buckets[Bucket.DOCUMENTS])
    return len(versions.get("Versions", []))


def test_with_auto_publish_the_integration_publishes_and_a_cancelled_title_pauses_its_live_campaign() -> None:
    catalogue = load_catalogue(parts=CAMPAIGN_PART)
    reinstated = [
        TimelineEdit(day=2, at=time(18, 0), action="update", entity="product", id=product_id, changes={"publishing_status": "02"}, note="cancelled in error")
        for product_id in (78061, 78062)
    ]
    catalogue = catalogue.model_copy(update={"timeline": catalogue.timeline + reinstated})
    with open_world(catalogue, flows=MARKETING, ads_auto_publish=True) as world:
        assert world.marketing is not None
        world.run_for(2.7)  # the cancellation on day 2 at 14:00 has been handled
        published = entry(world, 3502, "pre_order")
        cancelled = entry(world, 3506, "pre_order")
        state = world.marketing.ads.state()
        world.run_for(0.3)  # the title is forthcoming again at 18:00
        reinstated_entry = entry(world, 3506, "pre_order")
        after = world.marketing.ads.state()
    assert published.status is CampaignStatus.LIVE and published.state.published_by == "integration"
    assert published.state.campaign_id in {c["id"] for c in state["campaigns"]}
    assert cancelled.status is CampaignStatus.STOPPED and cancelled.state.live_status == "PAUSED"
    assert [f.code for f in cancelled.findings] == ["live_campaign_paused"]
    assert {c["status"] for c in state["campaigns"] if c["id"] == cancelled.state.campaign_id} == {"PAUSED"}
    # back to forthcoming: resuming spend is a person's call, nothing is drafted again or resumed
    assert reinstated_entry.status is CampaignStatus.STOPPED and [f.code for f in reinstated_entry.findings] == ["paused_campaign_title_back"]
    assert {c["status"] for c in after["campaigns"] if c["id"] == cancelled.state.campaign_id} == {"PAUSED"}
    assert not [c for c in after["draft_campaigns"] if c["name"].startswith("cs:3506:")]


def test_without_the_inferred_consonance_fields_the_settings_read_bisacs_and_take_ages_from_subjects() -> None:
    """`subject_source = "bisac_list"` and `audience_source = "subjects"`: the queries select only fields of
    the transcribed schema; a young-adult title still gets its ages (from its BISAC subject), a general
    title gets a finding instead of a guessed age."""
    settings = {"advertiser_name": "Larkspur & Vine", "subject_source": "bisac_list", "audience_source": "subjects"}
    with open_world(load_catalogue(parts=CAMPAIGN_PART), flows=MARKETING, extra_environment={"MARKETING": json.dumps(settings)}) as world, recording_requests() as log:
        world.run_for(3.5)
        young = entry(world, 3504, "backlist")
        general = entry(world, 3502, "pre_order")
    queries = [e.request_body["query"] for e in log.of("consonance") if "MarketedWorks" in e.request_body["query"]]
    assert young.status is CampaignStatus.VALIDATED
    assert general.status is CampaignStatus.NEEDS_PERSON and [f.code for f in general.findings] == ["segment_no_age"]
    assert queries and all("subjectCodes" not in q and "onixContentAudienceCodes" not in q and "bisacs" in q for q in queries)



def test_a_books_campaign_milestones_reach_the_analytics_launch_comparison(tmp_path: Path) -> None:
    """Issue 12's launch comparison around each campaign milestone, from what the campaign flows record:
    Inside the Ember Court's episode (3105, no book of its own) is configured to launch with Salt and
    Lantern Light (3502). After four days of the marketing flows, the nightly analytics run lists 3502's
    pre-order and publication milestones beside the episode, and the pre-order campaign's Ads delivery —
    collected by the Ads report collector — is in the comparison around its milestone."""
    flows = MARKETING + tuple(flow for flow in FLOWS if flow.name == FlowName.ANALYTICS_NIGHTLY)
    related = {"ANALYTICS_RELATED_BOOKS": json.dumps({"9102": [3502]})}
    with open_world(load_catalogue(parts=CAMPAIGN_PART), flows=flows, extra_environment=related) as world:
        source = new_entry(episode_key(41105), EPISODE_SOURCE)
        source.state.episode = Episode(
            product_id=41105, work_id=3105, kind=EpisodeKind.COMPANION_PODCAST, title="Secret Passages",
            show=Show(series_id=9102, name="Inside the Ember Court"), release_date=date(2026, 10, 1),
        )
        ledger(world).save(source)
        world.run_for(4)
        world.runtime.invoke(FlowName.ANALYTICS_NIGHTLY, scheduled_event(world, FlowName.ANALYTICS_NIGHTLY))
        pre_order, publication = entry(world, 3502, "pre_order"), entry(world, 3502, "publication")
        announced = ledger(world).get(campaign_key(3502, "pre_order"), MILESTONE)
        copy_to_directory(store_objects(world), tmp_path)
    assert announced is not None and announced.state.window is not None
    runner = DuckDBRunner(tmp_path)
    try:
        milestones = run_rollup(runner, "campaign_windows")
        comparison = run_rollup(runner, "launch_comparison", window_days=28, as_of=date(2026, 12, 4))
        ads = pq.read_table(tmp_path / "facts" / "source=spotify_ads").to_pylist()
    finally:
        runner.close()
    beside = {(w["work_id"], w["milestone"], w["campaign_id"]) for w in milestones if w["group_type"] == "title"}
    assert beside == {("3105", "pre_order", pre_order.state.campaign_id), ("3105", "publication", publication.state.campaign_id)}
    around = {r["metric"]: r for r in comparison if (r["group_type"], r["group_key"], r["anchor_kind"]) == ("title", "3105", "pre_order")}
    assert around["ad_impressions"]["anchor_date"] == pre_order.state.starts_on > announced.state.window.opens_on  # the campaign's start
    delivered = sum(r["value"] for r in ads if r["entity_type"] == "campaign" and r["entity_id"] == pre_order.state.campaign_id and r["metric"] == "ad_impressions")
    assert delivered > 0 and around["ad_impressions"]["after_value"] == delivered
