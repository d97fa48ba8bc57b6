"""What a Spotify Ads API daily aggregate report becomes (the reader plugs in once the simulator exists)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from functions.analytics.ads_facts import REPORT_FIELDS, AdsReportUnusable, AggregateReport, report_facts

RETRIEVED = datetime(2025, 8, 3, 5, 0, tzinfo=timezone.utc)


def report(rows: list[dict], granularity: str = "DAY") -> AggregateReport:
    return AggregateReport.model_validate({"continuation_token": None, "granularity": granularity, "rows": rows})


def row(stats: dict[str, float], entity_type: str = "CAMPAIGN", start: str = "2025-08-01T00:00:00Z", end: str = "2025-08-02T00:00:00Z") -> dict:
    return {
        "entity_type": entity_type, "entity_id": "camp-1", "entity_name": "Tide pre-order", "entity_status": "ACTIVE",
        "start_time": start, "end_time": end, "stats": [{"field_type": k, "field_value": v} for k, v in stats.items()],
    }


def test_a_day_row_becomes_official_count_facts() -> None:
    stats = {"IMPRESSIONS": 1920, "REACH": 1500, "CLICKS": 9, "COMPLETES": 1200, "FIRST_QUARTILES": 1800, "MIDPOINTS": 1600,
             "THIRD_QUARTILES": 1400, "LISTENERS": 300, "CTR": 0.47, "SPEND": 12.5}
    facts = report_facts(report([row(stats)]), retrieved_at=RETRIEVED, origin="ads:/ad_accounts/acc-1/aggregate_reports")
    assert {(f.metric.value, f.value) for f in facts} == {
        ("ad_impressions", 1920), ("ad_reach", 1500), ("ad_clicks", 9), ("ad_completes", 1200), ("ad_first_quartiles", 1800),
        ("ad_midpoints", 1600), ("ad_third_quartiles", 1400), ("ad_listeners", 300),
    }
    assert {(f.source, f.official, f.day, f.entity_type, f.entity_id) for f in facts} == {("spotify_ads", True, date(2025, 8, 1), "campaign", "camp-1")}
    assert "COMPLETION_RATE" in REPORT_FIELDS and "IMPRESSIONS" in REPORT_FIELDS


def test_completes_are_derived_from_the_rate_and_masked_values_left_out() -> None:
    facts = report_facts(report([row({"IMPRESSIONS": 1000, "COMPLETION_RATE": 0.62, "CLICKS": -5}, entity_type="AD_SET")]), retrieved_at=RETRIEVED, origin="x")
    assert {(f.metric.value, f.value, f.entity_type) for f in facts} == {("ad_impressions", 1000, "ad_set"), ("ad_completes", 620, "ad_set")}
    as_percent = report_facts(report([row({"IMPRESSIONS": 1000, "COMPLETION_RATE": 62})]), retrieved_at=RETRIEVED, origin="x")
    assert {f.metric.value: f.value for f in as_percent}["ad_completes"] == 620


@pytest.mark.parametrize(
    ("rows", "granularity", "reason"),
    [
        ([row({"IMPRESSIONS": 1})], "LIFETIME", "need DAY"),
        ([row({"IMPRESSIONS": 1}, start="2025-08-01T04:00:00Z", end="2025-08-02T04:00:00Z")], "DAY", "not one UTC day"),
        ([row({"IMPRESSIONS": 1}, entity_type="AD")], "DAY", "not mapped"),
    ],
)
def test_unusable_reports_are_permanent_errors(rows: list[dict], granularity: str, reason: str) -> None:
    with pytest.raises(AdsReportUnusable, match=reason):
        report_facts(report(rows, granularity), retrieved_at=RETRIEVED, origin="x")
