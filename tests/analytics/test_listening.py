"""The sandbox's listening generator: deterministic by seed, a launch bump and a campaign bump, and the
same truth coming back through all three sources into the store and the rollups."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from functions.analytics.duckdb_runner import DuckDBRunner
from functions.analytics.megaphone_export import missing_days
from functions.analytics.rollups import run_rollup
from functions.analytics.store import local_store
from functions.connectors.spotify_creators import CreatorsLoginExpired, SpotifyCreatorsClient, CreatorsCredentials
from functions.connectors.http import route_host
from sandbox.clock import VirtualClock
from sandbox.listening import ListeningGenerator
from sandbox.simulators.spotify_creators import ACCOUNTS_HOST, API_HOST, SpotifyCreatorsSimulator
from tests.analytics import generated_world
from tests.analytics.generated_world import DIMENSIONS, PLAN

pytestmark = pytest.mark.usefixtures("cleared_routes")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, ListeningGenerator]]:
    root = tmp_path_factory.mktemp("generated")
    yield root, generated_world.build(root)


def audience(generator: ListeningGenerator, work: str, first: date, last: date) -> int:
    products = {e.product_id for e in DIMENSIONS.episodes if e.work_id == work}
    return sum(d.downloads + d.starts for (p, day), d in generator.truth.episodes.items() if p in products and first <= day <= last)


def test_the_same_seed_gives_the_same_listening() -> None:
    first, second = ListeningGenerator(DIMENSIONS, PLAN), ListeningGenerator(DIMENSIONS, PLAN)
    assert first.truth == second.truth
    assert [d.body for d in first.export_drops()] == [d.body for d in second.export_drops()]


def test_launches_and_campaigns_lift_the_audience(built: tuple[Path, ListeningGenerator]) -> None:
    _, generator = built
    for title in DIMENSIONS.titles:
        assert title.publication_date is not None
        before = audience(generator, title.work_id, title.publication_date - timedelta(days=28), title.publication_date - timedelta(days=8))
        after = audience(generator, title.work_id, title.publication_date, title.publication_date + timedelta(days=20))
        assert after > 1.3 * before, title.title
    # Hills' backlist promotion (7–20 Apr), far from its launch: the fortnight against the one before it
    during = audience(generator, "w-hills", date(2025, 4, 7), date(2025, 4, 20))
    before = audience(generator, "w-hills", date(2025, 3, 24), date(2025, 4, 6))
    assert during > 1.4 * before


def test_the_export_carries_noise_an_overwrite_a_missing_day_and_markers(built: tuple[Path, ListeningGenerator]) -> None:
    root, generator = built
    drops = generator.export_drops()
    names = [d.key for d in drops]
    assert "delivery-v2-day-2025-02-03.json.gz" not in names
    assert names.count("delivery-v2-day-2025-02-04.json.gz") == 2
    assert "_finalized_delivery_2025-02-04_20250205T110000Z" in names
    assert missing_days(local_store(root), PLAN.first_day, PLAN.last_day) == [date(2025, 2, 3)]
    rows = ds.dataset(root / "facts" / "source=megaphone_export", format="parquet", partitioning="hive").to_table().to_pylist()
    stored = {(r["entity_id"], str(r["date"])): r["value"] for r in rows if r["dimension"] == "total"}
    product_of = {e.product_id: e.megaphone_episode_id for e in DIMENSIONS.episodes}
    expected = {
        (product_of[p], day.isoformat()): d.downloads
        for (p, day), d in generator.truth.episodes.items()
        if d.downloads and day != PLAN.missing_export_day
    }
    assert stored == expected  # flagged, short and repeated deliveries dropped; the overwritten day counted once


def test_creators_and_ads_figures_arrive_as_generated(built: tuple[Path, ListeningGenerator]) -> None:
    root, generator = built
    rows = ds.dataset(root / "facts", format="parquet", partitioning="hive").to_table().to_pylist()
    spotify_of = {e.product_id: e.spotify_episode_id for e in DIMENSIONS.episodes}
    starts = {(r["entity_id"], date.fromisoformat(str(r["date"]))): r["value"] for r in rows if r["source"] == "spotify_creators" and r["metric"] == "starts" and r["entity_type"] == "episode"}
    assert starts == {(spotify_of[p], day): d.starts for (p, day), d in generator.truth.episodes.items() if d.starts or (spotify_of[p], day) in starts}
    impressions = {(r["entity_id"], date.fromisoformat(str(r["date"]))): r["value"] for r in rows if r["metric"] == "ad_impressions"}
    assert impressions == {key: stats["IMPRESSIONS"] for key, stats in generator.truth.ads.items()}
    assert all(r["official"] is (r["source"] != "spotify_creators") for r in rows)


def test_the_rollups_see_the_launch_bump(built: tuple[Path, ListeningGenerator]) -> None:
    root, _ = built
    comparison = run_rollup(DuckDBRunner(root), "launch_comparison", window_days=28, as_of=PLAN.last_day)
    plays = {(r["group_key"], r["anchor_kind"]): r for r in comparison if r["group_type"] == "title" and r["metric"] == "plays"}
    for work in ("w-tide", "w-hills", "w-letters"):
        assert plays[(work, "publication")]["change_ratio"] > 0.2, work


def test_the_plans_login_expiry_stops_the_creators_connector(virtual_clock: VirtualClock) -> None:
    generator = ListeningGenerator(DIMENSIONS, PLAN)
    simulator = SpotifyCreatorsSimulator(virtual_clock)
    simulator.add_account("sp-dc", "sp-key")
    generator.feed_creators(simulator, "sp-dc")
    route_host(ACCOUNTS_HOST, simulator)
    route_host(API_HOST, simulator)
    assert PLAN.creators_login_expires_on is not None
    simulator.expire_login("sp-dc")
    with pytest.raises(CreatorsLoginExpired):
        SpotifyCreatorsClient(CreatorsCredentials(sp_dc="sp-dc", sp_key="sp-key")).show_metadata("showcoast")
