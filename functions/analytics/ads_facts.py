"""Spotify Ads API reporting (official) → daily facts: what the aggregate report's rows become.

The reader is the Ads connector's `daily_reports` (paging `GET /ad_accounts/{id}/aggregate_reports` by
`continuation_token`, windows of at most 90 days, `granularity=DAY` with midnight `report_start`/
`report_end`), run nightly by the Ads report collector (`functions/flows/ads_report_collector`), which
writes each day's facts as one batch of the `spotify_ads` partition. The rows, after the spec
(`AggregateReportResponse`):
`{continuation_token, granularity, rows: [{entity_type, entity_id, entity_name, entity_status,
parent_entity, start_time, end_time, stats: [{field_type, field_value}]}]}`.

- One DAY row → facts for the UTC day it starts on, entity_type `campaign` or `ad_set`, keyed by the
  Ads entity id (dim_milestone's `campaign_id`, from the campaign planner's ledger entries, maps
  campaigns to the audio works beside their title; the rollups read paid delivery at campaign level).
- Counts only (`FIELD_METRICS`); rates are recomputed in the rollups from counts (summing rates across
  days is meaningless). Where a report has COMPLETION_RATE and IMPRESSIONS but not COMPLETES, completes
  are derived as rate × impressions (the rate read as a fraction when ≤ 1, else a percentage —
  inferred, as the spec gives no unit).
- A negative value is Spotify's privacy mask (counts 1–4 reported as -5): left out, not stored as -5.
- Paid delivery only: these are ad impressions, not organic listening; the metrics are prefixed `ad_`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict

from functions.analytics.facts import DailyFact, EntityType, Metric, Source, fact
from functions.domain.errors import PermanentError

SOURCE: Source = "spotify_ads"
FIELD_METRICS: dict[str, Metric] = {
    "IMPRESSIONS": Metric.AD_IMPRESSIONS,
    "REACH": Metric.AD_REACH,
    "LISTENERS": Metric.AD_LISTENERS,
    "NEW_LISTENERS": Metric.AD_NEW_LISTENERS,
    "STREAMS": Metric.AD_STREAMS,
    "CLICKS": Metric.AD_CLICKS,
    "COMPLETES": Metric.AD_COMPLETES,
    "FIRST_QUARTILES": Metric.AD_FIRST_QUARTILES,
    "MIDPOINTS": Metric.AD_MIDPOINTS,
    "THIRD_QUARTILES": Metric.AD_THIRD_QUARTILES,
}
REPORT_FIELDS: tuple[str, ...] = (*FIELD_METRICS, "COMPLETION_RATE")  # what the reader asks for
_ENTITY_TYPES: dict[str, EntityType] = {"CAMPAIGN": "campaign", "AD_SET": "ad_set"}


class AdsReportUnusable(PermanentError):
    code = "ads_report_unusable"


class ReportStat(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    field_type: str
    field_value: float


class ParentEntity(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    name: str | None = None
    status: str | None = None


class AggregateReportRow(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    entity_type: str
    entity_id: str
    entity_name: str | None = None
    entity_status: str | None = None
    parent_entity: ParentEntity | None = None
    start_time: datetime
    end_time: datetime
    stats: list[ReportStat]


class AggregateReport(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    continuation_token: str | None = None
    granularity: Literal["DAY", "HOUR", "LIFETIME"]
    rows: list[AggregateReportRow]


def row_facts(row: AggregateReportRow, *, retrieved_at: datetime, origin: str) -> list[DailyFact]:
    """The facts of one DAY row (see the module docstring for the rules)."""
    entity_type = _ENTITY_TYPES.get(row.entity_type)
    if entity_type is None:
        raise AdsReportUnusable(f"{row.entity_type} rows are not mapped; ask for CAMPAIGN or AD_SET")
    start = row.start_time.astimezone(timezone.utc)
    if start.time() != datetime.min.time() or row.end_time.astimezone(timezone.utc) - start != timedelta(days=1):
        raise AdsReportUnusable(f"row for {row.entity_id} spans {row.start_time} – {row.end_time}, not one UTC day")
    values = {stat.field_type: stat.field_value for stat in row.stats if stat.field_value >= 0}
    if "COMPLETES" not in values and "COMPLETION_RATE" in values and "IMPRESSIONS" in values:
        rate = values["COMPLETION_RATE"]
        values["COMPLETES"] = round((rate if rate <= 1 else rate / 100) * values["IMPRESSIONS"])
    show_id = row.parent_entity.id if row.parent_entity else None
    return [
        fact(SOURCE, start.date(), entity_type, row.entity_id, metric, values[name], retrieved_at=retrieved_at, origin=origin, show_id=show_id)
        for name, metric in FIELD_METRICS.items()
        if name in values
    ]


def report_facts(report: AggregateReport, *, retrieved_at: datetime, origin: str) -> list[DailyFact]:
    if report.granularity != "DAY":
        raise AdsReportUnusable(f"granularity {report.granularity}: daily facts need DAY")
    return [row for entry in report.rows for row in row_facts(entry, retrieved_at=retrieved_at, origin=origin)]
