"""Nightly: the daily delivery of the campaigns this integration prepared, from the Ads API's aggregate
report, as analytics facts (`functions.analytics.ads_facts`: official, source `spotify_ads`).

Which campaigns: the ledger's campaign entries with an Ads campaign id (validated drafts too: a person
may have published them since; a draft simply has no rows). Both levels are read — CAMPAIGN and
AD_SET rows (the ad sets are the countries) — with `granularity=DAY`, windows of at most 90 days,
50 ids a request and `continuation_token` paging (the connector's `daily_reports`).

Which days: every day from the last one collected, less `lookback_days` (delivery figures settle for a
few days), up to yesterday (UTC); on the first run, from the earliest campaign start. Each day is one
batch of its partition (`facts/source=spotify_ads/date=<day>/account-<id>.parquet`), replaced whole:
re-collecting a day changes nothing, a day whose figures went away is replaced by an empty batch.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from functions.analytics.ads_facts import REPORT_FIELDS, report_facts
from functions.analytics.facts import DailyFact
from functions.analytics.store import FactStore, Partition
from functions.connectors.spotify_ads import SpotifyAdsClient
from functions.state.cursors import CursorStore
from functions.state.ledger import SyncLedger
from functions.state.targets import SPOTIFY_ADS, CampaignStatus

CURSOR = "ads-report-collector"
REPORTED_STATUSES = (CampaignStatus.VALIDATED, CampaignStatus.LIVE, CampaignStatus.STOPPED)


@dataclass
class CollectorDeps:
    ledger: SyncLedger
    cursors: CursorStore
    ads: SpotifyAdsClient
    facts: FactStore
    ad_account_id: str
    lookback_days: int


@dataclass
class CollectionOutcome:
    first_day: date | None = None
    last_day: date | None = None
    campaigns: int = 0
    ad_sets: int = 0
    facts_by_day: dict[str, int] = field(default_factory=dict)


def collect(deps: CollectorDeps, now: datetime) -> CollectionOutcome:
    outcome = CollectionOutcome()
    yesterday = now.date() - timedelta(days=1)
    campaign_ids: list[str] = []
    ad_set_ids: list[str] = []
    starts: list[date] = []
    for status in REPORTED_STATUSES:
        for entry in deps.ledger.by_status(SPOTIFY_ADS, status):
            if entry.state.campaign_id:
                campaign_ids.append(entry.state.campaign_id)
                ad_set_ids += [draft.id for draft in entry.state.ad_sets.values()]
                if entry.state.starts_on:
                    starts.append(entry.state.starts_on)
    outcome.campaigns, outcome.ad_sets = len(campaign_ids), len(ad_set_ids)
    cursor = deps.cursors.get(CURSOR) or {}
    earliest = min(starts, default=yesterday)  # nothing is delivered before the first campaign starts
    if "last_day" in cursor:
        first = max(date.fromisoformat(cursor["last_day"]) - timedelta(days=deps.lookback_days - 1), earliest)
    else:
        first = earliest
    if not campaign_ids or first > yesterday:
        deps.cursors.put(CURSOR, {**cursor, "last_run_at": now.isoformat()})
        return outcome
    by_day: dict[date, list[DailyFact]] = defaultdict(list)
    origin = f"ads:/ad_accounts/{deps.ad_account_id}/aggregate_reports"
    for entity_type, ids in (("CAMPAIGN", campaign_ids), ("AD_SET", ad_set_ids)):
        if not ids:
            continue
        for report in deps.ads.daily_reports(entity_type, ids, first, yesterday, REPORT_FIELDS):  # type: ignore[arg-type]
            for fact in report_facts(report, retrieved_at=now, origin=origin):
                by_day[fact.day].append(fact)
    day = first
    while day <= yesterday:
        written = deps.facts.replace_batch(Partition("spotify_ads", day), f"account-{deps.ad_account_id}", by_day.get(day, []))
        outcome.facts_by_day[day.isoformat()] = written.rows
        day += timedelta(days=1)
    outcome.first_day, outcome.last_day = first, yesterday
    deps.cursors.put(CURSOR, {"last_day": yesterday.isoformat(), "last_run_at": now.isoformat()})
    return outcome
