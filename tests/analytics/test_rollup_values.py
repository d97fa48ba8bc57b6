"""Exact rollup values on the hand dataset (tests/analytics/hand_dataset.py), run on DuckDB with the same
SQL text Athena receives. Each expected number is worked out in the comment beside it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from functions.analytics.duckdb_runner import DuckDBRunner
from functions.analytics.facts import Metric, fact
from functions.analytics.rollups import RollupArgumentsInvalid, UnknownRollup, load_rollup, run_rollup
from functions.analytics.store import Partition, local_store
from tests.analytics import hand_dataset
from tests.analytics.hand_dataset import FROM_DAY, TO_DAY


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBRunner]:
    root = tmp_path_factory.mktemp("store")
    hand_dataset.write(root)
    engine = DuckDBRunner(root)
    yield engine
    engine.close()


def by_group(rows: list[dict], group_type: str) -> dict[str, dict]:
    return {r["group_key"]: r for r in rows if r["group_type"] == group_type}


def test_engagement_per_episode(runner: DuckDBRunner) -> None:
    episodes = by_group(run_rollup(runner, "engagement", from_day=FROM_DAY, to_day=TO_DAY), "episode")
    assert set(episodes) == {"p1", "p2", "p3"}
    p1 = episodes["p1"]
    # m1: 10 + 20 downloads in the window (the 20 Feb 100 is outside, the GB slice is not a total)
    assert (p1["downloads"], p1["starts"], p1["plays"], p1["listener_days"]) == (30, 10, 40, 3)
    assert p1["followers_gained"] == 0  # followers are a show's, not an episode's
    assert p1["ad_impressions"] == 0  # campaigns count for titles and up, not episodes
    assert p1["median_completion_pct"] == 50  # the latest snapshot (12 Mar), not 40 from 5 Mar
    assert p1["reached_75_pct"] == 30
    assert (episodes["p2"]["plays"], episodes["p2"]["median_completion_pct"]) == (15, 80)  # 5 downloads + 10 starts
    p3 = episodes["p3"]
    assert (p3["plays"], p3["downloads"], p3["starts"], p3["median_completion_pct"]) == (7, 7, 0, None)


def test_engagement_per_title_series_author_genre(runner: DuckDBRunner) -> None:
    rows = run_rollup(runner, "engagement", from_day=FROM_DAY, to_day=TO_DAY)
    titles = by_group(rows, "title")
    assert (titles["w1"]["plays"], titles["w1"]["followers_gained"], titles["w1"]["ad_impressions"], titles["w1"]["ad_clicks"]) == (40, 2, 1000, 10)
    assert (titles["w2"]["plays"], titles["w2"]["followers_gained"], titles["w2"]["ad_impressions"]) == (15, 2, 0)
    assert (titles["w3"]["plays"], titles["w3"]["followers_gained"]) == (7, 0)  # w3's shows belong to no series

    series = by_group(rows, "series")["s1"]
    # p1 + p2; the show's 2 followers once (not once per title); the show-level 100 starts ignored
    assert (series["episodes"], series["downloads"], series["starts"], series["plays"], series["followers_gained"]) == (2, 35, 20, 55, 2)
    assert series["median_completion_pct"] == 65  # (50·10 + 80·10) / 20 starts
    assert series["reached_75_pct"] == 45  # (30·10 + 60·10) / 20

    authors = by_group(rows, "author")
    assert set(authors) == {"c1", "c2"}  # Nel only narrates (E07)
    ann, bob = authors["c1"], authors["c2"]
    assert (ann["plays"], ann["followers_gained"], ann["ad_impressions"], ann["median_completion_pct"]) == (55, 2, 1000, 65)
    # Bob: w2 (p2: 5 + 10) and w3 (p3: 7); completion only from p2
    assert (bob["episodes"], bob["plays"], bob["followers_gained"], bob["median_completion_pct"], bob["reached_75_pct"]) == (2, 22, 2, 80, 60)

    genres = by_group(rows, "genre")
    assert genres["THEMA:FBA"]["group_label"] == "Modern fiction (THEMA FBA)"
    assert genres["THEMA:FBA"]["plays"] == 55
    assert genres["BISAC:HIS000000"]["plays"] == 7


def test_growth_over_7_and_28_days(runner: DuckDBRunner) -> None:
    rows = run_rollup(runner, "growth", to_day=TO_DAY)
    plays = {r["group_key"]: r for r in rows if r["group_type"] == "title" and r["metric"] == "plays"}
    w1 = plays["w1"]
    # last 7 days (8–14 Mar): 20 + 6 = 26; the 7 before (1–7 Mar): 10 + 4 = 14
    assert (w1["last_7"], w1["prior_7"]) == (26, 14)
    assert w1["growth_7d"] == pytest.approx(12 / 14)
    # last 28 days (15 Feb – 14 Mar): 100 + 14 + 26 = 140; the 28 before: nothing, so no ratio
    assert (w1["last_28"], w1["prior_28"], w1["growth_28d"]) == (140, 0, None)


def comparison(rows: list[dict], group_type: str, key: str, kind: str, anchor: date, metric: str) -> dict:
    [row] = [
        r for r in rows
        if (r["group_type"], r["group_key"], r["anchor_kind"], r["anchor_date"], r["metric"]) == (group_type, key, kind, anchor, metric)
    ]
    return row


def test_launch_comparison_around_publication_and_milestones(runner: DuckDBRunner) -> None:
    rows = run_rollup(runner, "launch_comparison", window_days=28, as_of=TO_DAY)
    # Tide published 10 Mar: before = 10 Feb – 9 Mar (100 + 10 + 4), after = 10 Mar – 6 Apr (20 + 6)
    tide = comparison(rows, "title", "w1", "publication", date(2025, 3, 10), "plays")
    assert (tide["before_value"], tide["after_value"]) == (114, 26)
    assert tide["change_ratio"] == pytest.approx((26 - 114) / 114)
    assert tide["after_days_observed"] == 5  # 10–14 Mar of 28
    # its pre-order on 3 Mar: before = 3 Feb – 2 Mar (100), after = 3–30 Mar (14 + 26)
    pre_order = comparison(rows, "title", "w1", "pre_order", date(2025, 3, 3), "plays")
    assert (pre_order["before_value"], pre_order["after_value"]) == (100, 40)
    # Ann around Storm's launch (20 Mar): all her audio in the 28 days before (100 + 14 + 26 + 15), none after yet
    storm = comparison(rows, "author", "c1", "publication", date(2025, 3, 20), "plays")
    assert (storm["before_value"], storm["after_value"], storm["after_days_observed"]) == (155, 0, 0)
    assert storm["anchor_title"] == "Storm"
    followers = comparison(rows, "series", "s1", "publication", date(2025, 3, 10), "followers_gained")
    assert (followers["before_value"], followers["after_value"]) == (0, 2)


def test_launch_curve_is_aligned_on_publication_and_averaged_over_launches(runner: DuckDBRunner) -> None:
    rows = run_rollup(runner, "launch_curve", window_days=28, group_type="title")
    tide = {r["offset_days"]: r["value_per_launch"] for r in rows if (r["group_type"], r["group_key"], r["metric"]) == ("title", "w1", "plays")}
    assert tide == {-18: 100, -6: 0, -5: 14, 2: 26}  # -6: the campaign's day (impressions, no plays)
    # Coast: launches 10 and 20 Mar; plays 100 (20 Feb), 14 (5 Mar), 41 (12 Mar: 20 + 6 + 5 + 10), halved
    rows = run_rollup(runner, "launch_curve", window_days=28, group_type="series")
    coast = {r["offset_days"]: r["value_per_launch"] for r in rows if (r["group_type"], r["group_key"], r["metric"]) == ("series", "s1", "plays")}
    assert coast == {-28: 50, -18: 50, -16: 0, -15: 7, -8: 20.5, -6: 0, -5: 7, 2: 20.5}  # -16, -6: the campaign's day


def test_campaign_windows_in_days_from_publication(runner: DuckDBRunner) -> None:
    rows = [r for r in run_rollup(runner, "campaign_windows") if r["group_type"] == "title"]
    assert [(r["group_key"], r["milestone"], r["campaign_id"], r["start_offset"], r["end_offset"]) for r in rows] == [
        ("w1", "pre_order", "camp-1", -7, -1)
    ]


def test_re_ingesting_a_day_changes_nothing(tmp_path: Path) -> None:
    hand_dataset.write(tmp_path)
    before = run_rollup(DuckDBRunner(tmp_path), "engagement", from_day=FROM_DAY, to_day=TO_DAY)
    hand_dataset.write(tmp_path)  # every batch written again
    assert run_rollup(DuckDBRunner(tmp_path), "engagement", from_day=FROM_DAY, to_day=TO_DAY) == before
    # an overwritten export day replaces that day's figures: m1 on 12 Mar becomes 25 instead of 20
    day = date(2025, 3, 12)
    replaced = [f for f in hand_dataset.facts() if f.source == "megaphone_export" and f.day == day and f.entity_id != "m1"]
    replaced.append(fact("megaphone_export", day, "episode", "m1", Metric.DOWNLOADS, 25, retrieved_at=hand_dataset.RETRIEVED, origin="hand"))
    local_store(tmp_path).replace_batch(Partition("megaphone_export", day), "hand", replaced)
    after = by_group(run_rollup(DuckDBRunner(tmp_path), "engagement", from_day=FROM_DAY, to_day=TO_DAY), "episode")
    assert after["p1"]["downloads"] == 35


def test_an_empty_store_rolls_up_to_nothing(tmp_path: Path) -> None:
    assert run_rollup(DuckDBRunner(tmp_path), "engagement", from_day=FROM_DAY, to_day=TO_DAY) == []


def test_arguments_are_checked() -> None:
    with pytest.raises(RollupArgumentsInvalid, match="missing"):
        load_rollup("engagement").values({"from_day": FROM_DAY})
    with pytest.raises(RollupArgumentsInvalid, match="must be a date"):
        load_rollup("engagement").values({"from_day": "2025-03-01", "to_day": TO_DAY})
    with pytest.raises(UnknownRollup):
        load_rollup("nope")
