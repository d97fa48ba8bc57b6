"""The nightly analytics run and the Spotify for Creators collector, as deployed in the sandbox.

The ledger knows three audio products of the sample catalogue (two Salt Road parts, one Inside the
Ember Court episode) with their Megaphone and Spotify ids, and the campaign flows' record of The Ash
Crown (the Ember Court episode's launch): its pre-order milestone with a live Ads campaign, and a
cancelled backlist milestone whose drafts were deleted; the store holds ten days of the episodes'
Megaphone downloads (one day missing) and the campaign's Ads delivery. One night then:
- writes the dimensions (titles with the launch each is compared against, from Consonance's works,
  and the book's campaign milestone beside the episode, so the launch comparison includes it),
- reports the missing export day,
- asks the collector for the opted-in show (The Salt Road), which reads the Creators simulator,
- rolls up on the sandbox's Athena and writes each work's summary to Consonance, with the report link;
and the same night run again writes nothing. The next night the Creators login has expired: operators
are told once, the record is dead-lettered with its reason, and the export and summaries go on.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest

from functions.analytics.facts import Metric, fact
from functions.analytics.store import Partition, s3_store
from functions.domain.models import Credit, Episode, EpisodeKind, Show
from functions.flow_names import FlowName
from functions.analytics.duckdb_runner import DuckDBRunner
from functions.analytics.rollups import run_rollup
from functions.analytics.store import copy_to_directory
from functions.domain.marketing import MilestoneWindow
from functions.state.keys import campaign_key, episode_key, listening_key
from functions.state.ledger import SyncLedger, new_entry
from functions.state.targets import EPISODE_SOURCE, LISTENING, MEGAPHONE, MILESTONE, SPOTIFY_ADS, CampaignStatus, ListeningStatus, MilestoneStatus
from infra.flows import FLOWS, Bucket, Table
from sandbox.analytics_report import store_objects
from sandbox.catalogue import load_catalogue
from sandbox.distribution import spotify_show_id
from sandbox.world import SANDBOX_REPORT_URL, SandboxWorld, WorldOptions

ANALYTICS_FLOWS = tuple(f for f in FLOWS if f.name.startswith("analytics-"))
SALT_SHOW = spotify_show_id("mp-salt-road")
PRODUCTS = {  # product: (work, title, series, podcast, release)
    41009: (3009, "The Drowned Chapel", (9101, "The Salt Road"), "mp-salt-road", date(2026, 12, 1)),
    41008: (3008, "Brine and Bone", (9101, "The Salt Road"), "mp-salt-road", date(2026, 11, 24)),
    41105: (3105, "Secret Passages", (9102, "Inside the Ember Court"), "mp-inside-ember-court", date(2026, 10, 1)),
}
DAYS = [date(2026, 11, 20) + timedelta(days=n) for n in range(11)]  # 20 to 30 November
MISSING = date(2026, 11, 25)
ASH_CROWN = 3302  # The Ash Crown: the novel Secret Passages (3105) is compared with
PRE_ORDER = date(2026, 11, 24)  # its pre-order campaign runs from here until 23 December (the window opened on 10 Nov)
CAMPAIGN = "camp-ash-crown"
AD_IMPRESSIONS = 250  # a day, from the campaign's start


def downloads(product: int, day: date) -> int:
    return (product % 7 + 3) * (2 if day >= date(2026, 11, 24) else 1)


@pytest.fixture(scope="module")
def world() -> Iterator[SandboxWorld]:
    with SandboxWorld(load_catalogue(), WorldOptions(flows=ANALYTICS_FLOWS)) as world:
        ledger = SyncLedger(world.resources.tables[Table.LEDGER])
        for product, (work, title, series, podcast, release) in PRODUCTS.items():
            source = new_entry(episode_key(product), EPISODE_SOURCE)
            source.state.episode = Episode(
                product_id=product, work_id=work, kind=EpisodeKind.SERIALIZED_FICTION, title=title, show=Show(series_id=series[0], name=series[1]),
                release_date=release, credits=(Credit(contributor_id=501, name="Imogen Thale", role_code="A01", sequence=1),),
            )
            ledger.save(source)
            delivery = new_entry(episode_key(product), MEGAPHONE)
            delivery.state.podcast_id, delivery.state.episode_id, delivery.state.spotify_id = podcast, f"mep-{product}", f"sp{product}"
            ledger.save(delivery)
        pre_order = new_entry(campaign_key(ASH_CROWN, "pre_order"), MILESTONE)
        pre_order.state.window = MilestoneWindow(anchor_date=date(2027, 2, 4), opens_on=date(2026, 11, 10), closes_on=date(2027, 2, 4), reason="pre-order")
        ledger.save(pre_order)
        campaign = new_entry(campaign_key(ASH_CROWN, "pre_order"), SPOTIFY_ADS)
        campaign.status, campaign.state.campaign_id = CampaignStatus.LIVE, CAMPAIGN
        campaign.state.starts_on, campaign.state.ends_on = PRE_ORDER, date(2026, 12, 24)
        ledger.save(campaign)
        backlist = new_entry(campaign_key(ASH_CROWN, "backlist"), MILESTONE)  # cancelled, its drafts deleted: never ran
        backlist.status, backlist.state.window = MilestoneStatus.CANCELLED, MilestoneWindow(opens_on=date(2026, 11, 22), reason="marked")
        ledger.save(backlist)
        store = s3_store(world.resources.buckets[Bucket.ANALYTICS])
        retrieved = datetime(2026, 12, 1, tzinfo=timezone.utc)
        for day in DAYS:
            if day >= PRE_ORDER:
                delivery = [fact("spotify_ads", day, "campaign", CAMPAIGN, Metric.AD_IMPRESSIONS, AD_IMPRESSIONS, retrieved_at=retrieved, origin="test")]
                store.replace_batch(Partition("spotify_ads", day), "account-test", delivery)
        for day in DAYS:
            if day != MISSING:
                facts = [
                    fact("megaphone_export", day, "episode", f"mep-{p}", Metric.DOWNLOADS, downloads(p, day), retrieved_at=retrieved, origin="test", show_id=PRODUCTS[p][3])
                    for p in PRODUCTS
                ]
                store.replace_partition(Partition("megaphone_export", day), "delivery", facts)
        creators = world.creators  # Spotify's own figures of the opted-in show's episodes
        for product in (41008, 41009):
            creators.add_episode(f"sp{product}", SALT_SHOW, PRODUCTS[product][1], PRODUCTS[product][4], 1800, 0.6)
            for day in DAYS[-3:]:
                creators.record_day(f"sp{product}", day, 10, 8, 9)
        for day in DAYS[-4:]:
            creators.set_followers(SALT_SHOW, day, 100 + day.day)
        yield world


def nightly(world: SandboxWorld) -> dict[str, Any]:
    event = {"version": "0", "id": "test", "detail-type": "Scheduled Event", "source": "aws.events", "time": world.clock.now().isoformat(), "detail": {}}
    outcome = world.runtime.invoke(FlowName.ANALYTICS_NIGHTLY, event)
    world.runtime.run_due()  # what it put on the bus (the Creators requests) is delivered
    return outcome


def dimension(world: SandboxWorld, name: str) -> list[dict[str, Any]]:
    body = boto3.client("s3").get_object(Bucket=world.resources.buckets[Bucket.ANALYTICS], Key=f"dimensions/{name}/{name}.parquet")["Body"].read()
    return pq.read_table(io.BytesIO(body)).to_pylist()


def summaries(world: SandboxWorld) -> list[Any]:
    return [n for n in world.consonance.notes_written if "analytics-summary -->" in n.internal_markdown.splitlines()[0]]


@pytest.fixture(scope="module")
def first_night(world: SandboxWorld) -> dict[str, Any]:
    return nightly(world)


def test_the_night_writes_the_dimensions(world: SandboxWorld, first_night: dict[str, Any]) -> None:
    assert (first_night["titles"], first_night["episodes"]) == (3, 3)
    titles = {row["work_id"]: row for row in dimension(world, "dim_title")}
    assert titles["3009"]["publication_date"] == date(2026, 12, 1)  # a serial part: its own release
    assert titles["3105"]["publication_date"] == date(2027, 2, 4)  # released 1 Oct: The Ash Crown (126 days) is nearer than The Ember Court (203)
    assert (titles["3105"]["main_subject_scheme"], titles["3105"]["main_subject_code"]) == ("THEMA", "FM")
    episodes = {row["product_id"]: row for row in dimension(world, "dim_episode")}
    assert episodes["41009"]["spotify_show_id"] == SALT_SHOW and episodes["41105"]["spotify_show_id"] is None  # only the opted-in show
    authors = {(row["work_id"], row["contributor_name"]) for row in dimension(world, "dim_contributor") if row["role_code"] == "A01"}
    assert ("3105", "Rowan Ashby") in authors  # the related novel's author


def test_the_books_campaign_milestone_is_in_the_launch_comparison(world: SandboxWorld, first_night: dict[str, Any], tmp_path: Path) -> None:
    milestones = [(r["work_id"], r["milestone"], r["milestone_date"], r["campaign_id"], r["window_end"]) for r in dimension(world, "dim_milestone")]
    # dated by its campaign's first day, not the window's opening; the cancelled one never ran
    assert milestones == [("3105", "pre_order", PRE_ORDER, CAMPAIGN, date(2026, 12, 23))]
    copy_to_directory(store_objects(world), tmp_path)
    runner = DuckDBRunner(tmp_path)
    try:
        comparison = run_rollup(runner, "launch_comparison", window_days=28, as_of=DAYS[-1])
        windows = run_rollup(runner, "campaign_windows")
    finally:
        runner.close()
    around = {r["metric"]: r for r in comparison if (r["group_type"], r["group_key"], r["anchor_kind"]) == ("title", "3105", "pre_order")}
    assert around["plays"]["anchor_date"] == PRE_ORDER and around["plays"]["after_days_observed"] == 7
    assert around["plays"]["before_value"] == sum(downloads(41105, d) for d in DAYS if d < PRE_ORDER)
    assert around["plays"]["after_value"] == sum(downloads(41105, d) for d in DAYS if d >= PRE_ORDER and d != MISSING)
    assert (around["ad_impressions"]["before_value"], around["ad_impressions"]["after_value"]) == (0, 7 * AD_IMPRESSIONS)
    series = {r["anchor_kind"] for r in comparison if (r["group_type"], r["group_key"]) == ("series", "9102")}
    assert series == {"pre_order"}  # the episode's series sees the book's campaign too (its publication is 66 days past the data)
    # on the launch-aligned charts (day 0 = 4 Feb 2027, The Ash Crown's publication): 72 to 43 days before
    assert [(w["group_key"], w["milestone"], w["campaign_id"], w["start_offset"], w["end_offset"]) for w in windows if w["group_type"] == "title"] == [
        ("3105", "pre_order", CAMPAIGN, -72, -43)
    ]


def test_the_missing_export_day_is_a_finding(world: SandboxWorld, first_night: dict[str, Any]) -> None:
    assert first_night["missing_export_days"] == [MISSING.isoformat()]
    entry = SyncLedger(world.resources.tables[Table.LEDGER]).get(listening_key("megaphone_export", MISSING.isoformat()), LISTENING)
    assert entry.status == ListeningStatus.MISSING and [f.code for f in entry.findings] == ["export_day_missing"]


def test_the_opted_in_show_is_collected(world: SandboxWorld, first_night: dict[str, Any]) -> None:
    assert first_night["creators_requested"] == [SALT_SHOW]
    entry = SyncLedger(world.resources.tables[Table.LEDGER]).get(listening_key("spotify_creators", SALT_SHOW), LISTENING)
    assert entry.status == ListeningStatus.INGESTED
    assert (entry.state.first_day, entry.state.last_day) == (date(2026, 11, 3), date(2026, 11, 30))  # the 28-day backfill
    s3 = boto3.client("s3")
    bucket = world.resources.buckets[Bucket.ANALYTICS]
    starts = 0.0
    for day in DAYS[-3:]:
        for item in s3.list_objects_v2(Bucket=bucket, Prefix=f"facts/source=spotify_creators/date={day}/").get("Contents", []):
            rows = pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())).to_pylist()
            starts += sum(r["value"] for r in rows if r["metric"] == "starts" and r["entity_type"] == "episode" and r["dimension"] == "total")
            assert all(r["official"] is False for r in rows)
    assert starts == 2 * 3 * 10


def test_each_work_with_audio_gets_its_summary_with_the_report_link(world: SandboxWorld, first_night: dict[str, Any]) -> None:
    written = summaries(world)
    assert {n.work_id for n in written} == {3008, 3009, 3105} and first_night["summaries"] == 3
    salt = next(n for n in written if n.work_id == 3008).internal_markdown
    # 28 days to 30 Nov: the store's downloads; the Creators figures are collected after the rollups ran
    plays = sum(downloads(41008, d) for d in DAYS if d != MISSING)
    assert f"- Plays: {plays:,} ({plays:,} downloads via Megaphone, 0 Spotify starts)" in salt
    assert salt.splitlines()[0].startswith("<!-- consonance-spotify note: work#3008 analytics-summary -->")
    assert f"Full report: {SANDBOX_REPORT_URL}" in salt


def test_the_same_night_again_writes_nothing_new(world: SandboxWorld, first_night: dict[str, Any]) -> None:
    before = len(summaries(world))
    nightly(world)  # the Creators figures collected since change the two Salt Road parts' texts, in place
    changed = summaries(world)[before:]
    assert sorted((n.operation, n.work_id) for n in changed) == [("updateMarketingText", 3008), ("updateMarketingText", 3009)]
    assert "30 Spotify starts" in next(n for n in changed if n.work_id == 3008).internal_markdown
    nightly(world)
    assert len(summaries(world)) == before + 2  # nothing changed: nothing written


def test_an_expired_login_alerts_once_and_dead_letters_while_the_rest_goes_on(world: SandboxWorld, first_night: dict[str, Any]) -> None:
    world.creators.expire_login(world.creators_login.sp_dc)
    alerts_before = len(world.alerts.received())
    world.run_for(1)  # the next night fires by itself
    nightly(world)  # and once more the same day
    letters = [d for d in world.runtime.dead_letters() if d.flow == FlowName.ANALYTICS_CREATORS_COLLECTOR]
    assert [d.error_code for d in letters] == ["creators_login_required", "creators_login_required"]
    assert all("log in to Spotify for Creators" in d.reason and world.creators_login.sp_dc not in d.reason for d in letters)
    alerts = world.alerts.received()
    assert len(alerts) == 1 and alerts_before == 0  # once a day, not once per attempt
    assert "sp_dc" in alerts[0] and world.creators_login.sp_dc not in alerts[0] and "Megaphone export" in alerts[0]
    entry = SyncLedger(world.resources.tables[Table.LEDGER]).get(listening_key("spotify_creators", SALT_SHOW), LISTENING)
    assert entry.status == ListeningStatus.LOGIN_EXPIRED and entry.state.last_day == date(2026, 11, 30)
    nightly_stats = world.runtime.stats()[FlowName.ANALYTICS_NIGHTLY]
    assert nightly_stats.errors == 0 and nightly_stats.failed_runs == 0  # the rest keeps working


def test_a_show_that_is_not_opted_in_is_refused(world: SandboxWorld) -> None:
    detail = {"schema_version": 1, "show_id": spotify_show_id("mp-larkspur-conversations"), "first_day": "2026-11-29", "last_day": "2026-11-30"}
    boto3.client("events").put_events(
        Entries=[{"EventBusName": world.resources.event_bus_name, "Source": world.resources.event_source, "DetailType": "CreatorsCollectionDue", "Detail": json.dumps(detail)}]
    )
    world.runtime.expect_messages()
    world.runtime.run_due()
    letters = [d for d in world.runtime.dead_letters() if d.flow == FlowName.ANALYTICS_CREATORS_COLLECTOR]
    assert letters[-1].error_code == "creators_not_opted_in"


def test_no_call_outside_the_declared_grants(world: SandboxWorld) -> None:
    assert [d.message for d in world.runtime.access.denials] == []
