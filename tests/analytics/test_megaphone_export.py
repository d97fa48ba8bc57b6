"""The Megaphone delivery export: key naming, counting rules, idempotent re-ingest of overwritten day
files, and bad files (truncated gzip, wrong schema, unknown episodes) with their reasons."""

from __future__ import annotations

import gzip
import io
import json
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

from functions.analytics.megaphone_export import (
    DownloadCounting,
    ExportFieldNames,
    ExportFileCorrupt,
    ExportSchemaMismatch,
    NotADeliveryFile,
    classify_key,
    ingest_day_file,
    missing_days,
    parse_day_file,
)
from functions.analytics.store import local_store

DAY = date(2025, 7, 1)
KEY = "megaphone/delivery-v2-day-2025-07-01.json.gz"
RETRIEVED = datetime(2025, 7, 1, 12, 5, tzinfo=timezone.utc)


def delivery(episode: str = "ep-1", *, ip: str = "203.0.113.1", country: str = "GB", at: str = "2025-07-01T08:00:00Z", **extra: Any) -> dict[str, Any]:
    return {
        "id": f"d-{episode}-{ip}-{at}",
        "created_at": at,
        "podcast_id": "pod-1",
        "episode_id": episode,
        "country": country,
        "region": "ENG",
        "city": "London",
        "dma_name": None,
        "ip": ip,
        "user_agent": "AppleCoreMedia/1.0",
        "normalized_user_agent": "Apple Podcasts",
        "source": "rss",
        "filesize": 30_000_000,
        "bytes_sent": 30_000_000,
        "seconds_downloaded": 1800.0,
        "duration": 1800.0,
        "blacklisted_ip": False,
        "blacklisted_ua": False,
        **extra,
    }


def gz(lines: list[Any]) -> io.BytesIO:
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    return io.BytesIO(gzip.compress(text.encode()))


def totals(facts: list) -> dict[str, float]:
    return {f.entity_id: f.value for f in facts if f.dimension == "total"}


def test_keys_are_classified_by_megaphone_naming() -> None:
    legacy = classify_key("exports/metrics-day-2025-07-01.json.gz")
    assert legacy is not None and (legacy.kind, legacy.naming, legacy.day) == ("delivery", "legacy", DAY)
    v2 = classify_key("delivery-v2-day-2025-07-01.json.gz")
    assert v2 is not None and (v2.kind, v2.naming) == ("delivery", "v2")
    assert classify_key("impressions-v2-day-2025-07-01.json.gz").kind == "impressions"  # type: ignore[union-attr]
    marker = classify_key("exports/_finalized_delivery_2025-07-01_20250702T110000Z")
    assert marker is not None and (marker.kind, marker.metric_type, marker.day) == ("finalized_marker", "delivery", DAY)
    assert marker.day_file_names == ("delivery-v2-day-2025-07-01.json.gz", "metrics-day-2025-07-01.json.gz")
    assert classify_key("exports/readme.txt") is None


def test_deliveries_are_filtered_deduplicated_and_reduced_per_episode_and_country() -> None:
    lines = [
        delivery("ep-1", ip="203.0.113.1", country="GB"),
        delivery("ep-1", ip="203.0.113.1", country="GB", at="2025-07-01T09:00:00Z"),  # same listener again that day
        delivery("ep-1", ip="203.0.113.2", country="us"),
        delivery("ep-1", ip="203.0.113.3", blacklisted_ip=True),
        delivery("ep-1", ip="203.0.113.4", blacklisted_ua=True),
        delivery("ep-1", ip="203.0.113.5", seconds_downloaded=12.0),  # less than a minute of audio
        delivery("ep-2", ip="203.0.113.6", seconds_downloaded=40.0, duration=40.0),  # a 40 s trailer, whole
        delivery("ep-2", ip="203.0.113.7", country=None),
        "",
    ]
    result = parse_day_file(gz(lines), KEY, retrieved_at=RETRIEVED)
    assert (result.lines_read, result.downloads, result.flagged, result.too_short, result.repeated_listener) == (8, 4, 2, 1, 1)
    assert totals(result.facts) == {"ep-1": 2, "ep-2": 2}
    slices = {(f.entity_id, f.dimension_value): f.value for f in result.facts if f.dimension == "country"}
    assert slices == {("ep-1", "GB"): 1, ("ep-1", "US"): 1, ("ep-2", "GB"): 1, ("ep-2", "ZZ"): 1}
    first = result.facts[0]
    assert (first.source, first.official, first.day, first.show_id, first.origin) == ("megaphone_export", True, DAY, "pod-1", KEY)
    assert result.findings == []


def test_counting_rules_and_field_names_are_settings() -> None:
    lines = [delivery("ep-1", ip="1.1.1.1", user_agent="Googlebot/2.1", normalized_user_agent=None), delivery("ep-1", ip="1.1.1.2", seconds_downloaded=5.0)]
    lenient = parse_day_file(gz(lines), KEY, retrieved_at=RETRIEVED, counting=DownloadCounting(min_seconds_downloaded=None))
    assert totals(lenient.facts) == {"ep-1": 2}
    strict = parse_day_file(gz(lines), KEY, retrieved_at=RETRIEVED, counting=DownloadCounting(bot_user_agent_markers=("bot",)))
    assert (totals(strict.facts), strict.flagged, strict.too_short) == ({}, 1, 1)
    renamed = [{**{k: v for k, v in delivery("ep-9").items() if k != "episode_id"}, "episode_uid": "ep-9"}]
    configured = DownloadCounting(fields=ExportFieldNames(episode_id="episode_uid"))
    assert totals(parse_day_file(gz(renamed), KEY, retrieved_at=RETRIEVED, counting=configured).facts) == {"ep-9": 1}


def test_unknown_episodes_and_other_days_are_left_out_with_findings() -> None:
    lines = [delivery("ep-1"), delivery("ep-x", ip="2.2.2.2"), delivery("ep-x", ip="2.2.2.3"), delivery("ep-1", ip="3.3.3.3", at="2025-06-30T23:59:00Z")]
    result = parse_day_file(gz(lines), KEY, retrieved_at=RETRIEVED, known_episodes={"ep-1"})
    assert totals(result.facts) == {"ep-1": 1}
    assert (result.unknown_episode, result.other_day) == (2, 1)
    codes = {(f.code, f.entity) for f in result.findings}
    assert codes == {("unknown_episode", "megaphone-episode:ep-x"), ("export_rows_other_day", f"megaphone-export:{KEY}")}
    unknown = next(f for f in result.findings if f.code == "unknown_episode")
    assert "2 deliveries" in unknown.message and not unknown.blocking


def test_a_truncated_file_is_corrupt_and_writes_nothing(tmp_path: Path) -> None:
    whole = gz([delivery(ip=f"10.0.0.{i}") for i in range(200)]).getvalue()
    store = local_store(tmp_path)
    ingest_day_file(io.BytesIO(whole), KEY, store, retrieved_at=RETRIEVED)
    with pytest.raises(ExportFileCorrupt, match="unreadable gzip"):
        ingest_day_file(io.BytesIO(whole[: len(whole) // 2]), KEY, store, retrieved_at=RETRIEVED)
    with pytest.raises(ExportFileCorrupt):
        parse_day_file(io.BytesIO(b'{"not": "gzip"}\n'), KEY, retrieved_at=RETRIEVED)
    rows = ds.dataset(tmp_path / "facts", format="parquet", partitioning="hive").to_table().to_pylist()
    assert sum(r["value"] for r in rows if r["dimension"] == "total") == 200  # the earlier version stands


def test_a_file_of_another_shape_is_a_schema_mismatch() -> None:
    with pytest.raises(ExportSchemaMismatch, match="episode_id"):
        parse_day_file(gz([{"impression_id": i, "created_at": "2025-07-01T00:00:00Z"} for i in range(10)]), KEY, retrieved_at=RETRIEVED)
    with pytest.raises(ExportSchemaMismatch, match="line 1"):
        parse_day_file(gz(["not json at all"]), KEY, retrieved_at=RETRIEVED)


def test_a_few_bad_lines_are_reported_and_the_rest_ingested() -> None:
    lines: list[Any] = [delivery(ip=f"10.0.0.{i}") for i in range(199)] + [{"episode_id": "ep-1"}]
    result = parse_day_file(gz(lines), KEY, retrieved_at=RETRIEVED, counting=DownloadCounting(max_rejected_line_ratio=0.01))
    assert totals(result.facts) == {"ep-1": 199}
    [finding] = result.findings
    assert finding.code == "export_lines_rejected" and "line 200" in finding.message and "created_at" in finding.message


def test_other_objects_are_not_parsed_as_delivery() -> None:
    with pytest.raises(NotADeliveryFile):
        parse_day_file(gz([]), "impressions-v2-day-2025-07-01.json.gz", retrieved_at=RETRIEVED)


def test_an_overwritten_day_file_replaces_that_day(tmp_path: Path) -> None:
    store = local_store(tmp_path)
    morning = [delivery(ip=f"10.0.0.{i}") for i in range(3)]
    evening = morning + [delivery(ip=f"10.0.1.{i}", country="IE") for i in range(4)]
    ingest_day_file(gz(morning), KEY, store, retrieved_at=RETRIEVED)
    ingest_day_file(gz(evening), KEY, store, retrieved_at=RETRIEVED)
    ingest_day_file(gz(evening), KEY, store, retrieved_at=RETRIEVED)  # the same file again (a redelivered notification)
    legacy = ingest_day_file(gz(evening), "metrics-day-2025-07-01.json.gz", store, retrieved_at=RETRIEVED)  # legacy naming, same day
    assert legacy.written is not None and legacy.written.key.endswith("date=2025-07-01/delivery.parquet")
    rows = ds.dataset(tmp_path / "facts", format="parquet", partitioning="hive").to_table().to_pylist()
    assert sum(r["value"] for r in rows if r["dimension"] == "total") == 7
    assert {r["dimension_value"]: r["value"] for r in rows if r["dimension"] == "country"} == {"GB": 3, "IE": 4}


def test_missing_export_days_are_found(tmp_path: Path) -> None:
    store = local_store(tmp_path)
    for day in (1, 3):
        ingest_day_file(gz([delivery(at=f"2025-07-0{day}T08:00:00Z")]), f"delivery-v2-day-2025-07-0{day}.json.gz", store, retrieved_at=RETRIEVED)
    assert missing_days(store, date(2025, 7, 1), date(2025, 7, 4)) == [date(2025, 7, 2), date(2025, 7, 4)]


@pytest.mark.usefixtures("aws")
def test_a_day_file_streams_straight_from_s3(tmp_path: Path) -> None:
    import boto3

    client = boto3.client("s3", region_name="eu-west-1")
    client.create_bucket(Bucket="megaphone-export", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    client.put_object(Bucket="megaphone-export", Key=KEY, Body=gz([delivery(ip=f"10.0.0.{i}") for i in range(5)]).getvalue())
    body = client.get_object(Bucket="megaphone-export", Key=KEY)["Body"]  # botocore's StreamingBody, read as it arrives
    result = ingest_day_file(body, KEY, local_store(tmp_path), retrieved_at=RETRIEVED)
    assert (result.downloads, totals(result.facts)) == (5, {"ep-1": 5})
