"""The facts store: one schema, Hive layout, and replacement (never double counting) on S3 and on disk."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import boto3
import pyarrow.dataset as ds
import pytest
from pydantic import ValidationError

from functions.analytics.facts import (
    COLUMNS,
    ContributorDimension,
    DailyFact,
    DimensionConflict,
    Dimensions,
    EpisodeDimension,
    Metric,
    MilestoneDimension,
    TitleDimension,
    fact,
    glue_columns,
    glue_partition_keys,
)
from functions.analytics.store import FACT_SCHEMA, InvalidBatch, Partition, dimension_tables, local_store, s3_store

RETRIEVED = datetime(2025, 7, 2, 5, 0, tzinfo=timezone.utc)
DAY = date(2025, 7, 1)


def downloads(episode: str, value: float, day: date = DAY, country: str | None = None) -> DailyFact:
    return fact(
        "megaphone_export",
        day,
        "episode",
        episode,
        Metric.DOWNLOADS,
        value,
        retrieved_at=RETRIEVED,
        origin="delivery-v2-day-2025-07-01.json.gz",
        show_id="pod-1",
        dimension="country" if country else "total",
        dimension_value=country or "",
    )


def read_all(root: Path) -> list[dict]:
    dataset = ds.dataset(root / "facts", format="parquet", partitioning="hive")
    return sorted(dataset.to_table().to_pylist(), key=lambda r: (str(r["date"]), r["entity_id"], r["dimension_value"]))


def test_the_model_and_the_columns_are_one_schema() -> None:
    model_fields = set(DailyFact.model_fields) - {"source", "day"}
    assert model_fields == {c.name for c in COLUMNS}
    assert [f.name for f in FACT_SCHEMA] == [c.name for c in COLUMNS]
    assert [c["Name"] for c in glue_partition_keys()] == ["source", "date"]
    assert all(c["Type"] in {"string", "double", "boolean", "timestamp", "date", "bigint"} for c in glue_columns())


def test_officialness_follows_the_source_and_slices_are_consistent() -> None:
    assert downloads("ep-1", 3).official is True
    with pytest.raises(ValidationError, match="official"):
        DailyFact(**{**downloads("ep-1", 3).model_dump(), "official": False})
    with pytest.raises(ValidationError, match="dimension_value"):
        DailyFact(**{**downloads("ep-1", 3).model_dump(), "dimension": "country"})
    with pytest.raises(ValidationError, match="finite"):
        DailyFact(**{**downloads("ep-1", 3).model_dump(), "value": float("nan")})
    with pytest.raises(ValidationError, match="time zone"):
        DailyFact(**{**downloads("ep-1", 3).model_dump(), "retrieved_at": datetime(2025, 7, 2)})  # noqa: DTZ001 - naive on purpose: it must be refused


def test_hive_layout_and_rewriting_a_batch_replaces_it(tmp_path: Path) -> None:
    store = local_store(tmp_path)
    partition = Partition("megaphone_export", DAY)
    written = store.replace_batch(partition, "delivery", [downloads("ep-1", 3), downloads("ep-1", 2, country="GB")])
    assert written.key == "facts/source=megaphone_export/date=2025-07-01/delivery.parquet"
    assert (tmp_path / written.key).is_file()

    store.replace_batch(partition, "delivery", [downloads("ep-1", 5), downloads("ep-2", 1)])
    rows = read_all(tmp_path)
    assert [(r["entity_id"], r["value"], str(r["date"]), r["source"]) for r in rows] == [
        ("ep-1", 5.0, "2025-07-01", "megaphone_export"),
        ("ep-2", 1.0, "2025-07-01", "megaphone_export"),
    ]
    assert rows[0]["retrieved_at"] == RETRIEVED.replace(tzinfo=None)
    assert not list(tmp_path.rglob("*.tmp"))


def test_an_empty_batch_replaces_earlier_figures(tmp_path: Path) -> None:
    store = local_store(tmp_path)
    partition = Partition("megaphone_export", DAY)
    store.replace_batch(partition, "delivery", [downloads("ep-1", 3)])
    store.replace_batch(partition, "delivery", [])
    assert read_all(tmp_path) == []


def test_batches_of_one_day_sit_side_by_side_until_the_partition_is_replaced(tmp_path: Path) -> None:
    store = local_store(tmp_path)
    partition = Partition("megaphone_export", DAY)
    store.replace_batch(partition, "legacy", [downloads("ep-1", 3)])
    store.replace_batch(partition, "delivery", [downloads("ep-2", 4)])
    assert len(read_all(tmp_path)) == 2
    written = store.replace_partition(partition, "delivery", [downloads("ep-2", 4)])
    assert written.replaced_other_batches == ("facts/source=megaphone_export/date=2025-07-01/legacy.parquet",)
    assert [r["entity_id"] for r in read_all(tmp_path)] == ["ep-2"]
    assert store.partition_days("megaphone_export") == [DAY]
    assert store.partition_days("spotify_ads") == []


def test_facts_must_belong_to_the_partition_and_batch_names_are_safe(tmp_path: Path) -> None:
    store = local_store(tmp_path)
    with pytest.raises(InvalidBatch, match="do not belong"):
        store.replace_batch(Partition("megaphone_export", date(2025, 7, 2)), "delivery", [downloads("ep-1", 1)])
    with pytest.raises(InvalidBatch, match="batch name"):
        store.replace_batch(Partition("megaphone_export", DAY), "../escape", [downloads("ep-1", 1)])


@pytest.mark.usefixtures("aws")
def test_the_s3_store_writes_the_same_layout_and_replaces() -> None:
    client = boto3.client("s3", region_name="eu-west-1")
    client.create_bucket(Bucket="analytics", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    store = s3_store("analytics", "store/", client)
    partition = Partition("megaphone_export", DAY)
    store.replace_batch(partition, "legacy", [downloads("ep-1", 1)])
    store.replace_partition(partition, "delivery", [downloads("ep-1", 3)])
    keys = [o["Key"] for o in client.list_objects_v2(Bucket="analytics")["Contents"]]
    assert keys == ["store/facts/source=megaphone_export/date=2025-07-01/delivery.parquet"]
    assert store.partition_days("megaphone_export") == [DAY]


def small_dimensions() -> Dimensions:
    return Dimensions(
        titles=(
            TitleDimension(work_id="w1", title="The Tide", series_id="s1", series_name="Coast", main_subject_scheme="THEMA", main_subject_code="FBA", main_subject_label="Modern fiction", publication_date=date(2025, 3, 1)),
        ),
        episodes=(
            EpisodeDimension(product_id="p1", work_id="w1", episode_title="Part 1", megaphone_podcast_id="pod-1", megaphone_episode_id="m1", spotify_show_id="show1", spotify_episode_id="sp1"),
        ),
        contributors=(
            ContributorDimension(work_id="w1", contributor_id="c1", contributor_name="Ann Author", role_code="A01"),
            ContributorDimension(work_id="w1", contributor_id="c2", contributor_name="Ned Narrator", role_code="E07"),
        ),
        milestones=(MilestoneDimension(work_id="w1", milestone="publication", milestone_date=date(2025, 3, 1), campaign_id="camp-1"),),
    )


def test_dimensions_derive_the_key_and_group_bridges() -> None:
    dimensions = small_dimensions()
    keys = {(k.source, k.entity_type, k.entity_id): (k.product_id, k.work_id, k.series_id) for k in dimensions.key_rows()}
    assert keys == {
        ("megaphone_export", "episode", "m1"): ("p1", "w1", "s1"),
        ("spotify_creators", "episode", "sp1"): ("p1", "w1", "s1"),
        ("megaphone_export", "show", "pod-1"): (None, None, "s1"),
        ("spotify_creators", "show", "show1"): (None, None, "s1"),
        ("spotify_ads", "campaign", "camp-1"): (None, "w1", "s1"),
    }
    groups = {(g.group_type, g.group_key, g.group_label) for g in dimensions.group_rows()}
    assert groups == {
        ("episode", "p1", "Part 1"),
        ("title", "w1", "The Tide"),
        ("series", "s1", "Coast"),
        ("author", "c1", "Ann Author"),
        ("genre", "THEMA:FBA", "Modern fiction (THEMA FBA)"),
    }
    assert ("author", "c2", "Ned Narrator") in {(g.group_type, g.group_key, g.group_label) for g in dimensions.group_rows(("A01", "E07"))}
    tables = dimension_tables(dimensions)
    assert tables["dim_title"].schema.field("publication_date").type == "date32[day]"
    assert tables["dim_contributor"].schema.field("sequence_number").type == "int64"
    assert tables["dim_group"].num_rows == 5


def test_dimensions_refuse_contradictions() -> None:
    with pytest.raises(ValidationError, match="missing from titles"):
        Dimensions(episodes=(EpisodeDimension(product_id="p1", work_id="nope", episode_title="x"),))
    clash = small_dimensions().model_copy(
        update={"episodes": small_dimensions().episodes + (EpisodeDimension(product_id="p2", work_id="w1", episode_title="x", megaphone_episode_id="m1"),)}
    )
    with pytest.raises(DimensionConflict, match="two different"):
        clash.key_rows()


def test_every_column_is_documented() -> None:
    from pathlib import Path

    documented = (Path(__file__).parents[2] / "docs" / "analytics.md").read_text()
    for column in (*COLUMNS,):
        assert f"| `{column.name}`" in documented, column.name
    for source in ("megaphone_export", "spotify_creators", "spotify_ads"):
        assert f"`{source}`" in documented
