"""Queue: MilestoneReached -> the title milestone's Spotify Ads drafts, validated, with its brief (see logic.py)."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from functions.dependencies import Dependencies
from functions.domain.events import DomainEvent, MilestoneReached
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import queue_flow
from functions.flows.campaign_planner.creatives import CreativeUploads
from functions.flows.campaign_planner.drafts import DraftWriter
from functions.flows.campaign_planner.logic import PlannerDeps, plan_and_apply, summary
from functions.observability import logger, metrics
from functions.settings import ConfigurationError


def planner_deps(platform: Dependencies) -> PlannerDeps:
    config = platform.marketing_settings.marketing
    if config.advertiser_name is None:
        raise ConfigurationError("MarketingSettings: MARKETING has no advertiser_name (the name ads show); set it in CDK context 'marketing'")
    ads_settings = platform.spotify_ads_settings
    _, ad_account_id = ads_settings.configured()
    ads = platform.spotify_ads
    return PlannerDeps(
        ledger=platform.ledger,
        ads=ads,
        creatives=CreativeUploads(
            ads=ads,
            media=platform.media_fetcher,
            ledger=platform.ledger,
            config=config,
            first_poll_seconds=ads_settings.spotify_ads_asset_first_poll_seconds,
            poll_seconds=ads_settings.spotify_ads_asset_poll_seconds,
            wait_seconds=ads_settings.spotify_ads_asset_wait_seconds,
        ),
        drafts=DraftWriter(ads=ads, ledger=platform.ledger),
        documents=platform.documents,
        writeback=platform.consonance_writeback,
        config=config,
        auto_publish=ad_account_id in ads_settings.spotify_ads_auto_publish,
    )


def prepare(domain_event: DomainEvent, deps: PlannerDeps) -> None:
    assert isinstance(domain_event, MilestoneReached)
    outcome = plan_and_apply(domain_event, deps)
    metrics.add_metric(name=f"Campaigns{outcome.action.title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    logger.info("campaign milestone applied", extra=summary(outcome))


handler = queue_flow(flow(FlowName.CAMPAIGN_PLANNER), build=planner_deps, handle=prepare)
