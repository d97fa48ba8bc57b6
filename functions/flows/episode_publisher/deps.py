"""The publisher's dependency factory. Rights sync and the brand-show channel publish through the same
logic and build their dependencies with this same factory (never by importing the publisher's
handler); its rights check is the rights model plus, for branded assets, their licence."""

from __future__ import annotations

from functions.dependencies import Dependencies
from functions.flow_names import FlowName
from functions.flows.episode_publisher.ingest_checks import IngestChecks
from functions.flows.episode_publisher.logic import PublisherDeps
from functions.flows.preflight_gate import PreflightGate
from functions.flows.publishing_config import PublishingConfig
from functions.flows.licence_gate import publishing_rights_check


def publisher_deps(platform: Dependencies) -> PublisherDeps:
    config = PublishingConfig.from_settings(platform.settings)
    return PublisherDeps(
        ingest_checks=_ingest_checks(platform),
        ledger=platform.ledger,
        megaphone=platform.megaphone,
        bus=platform.event_bus,
        config=config,
        rights_check=publishing_rights_check(config.mapping, platform.ledger),
        preflight=PreflightGate(
            media=platform.media_fetcher,
            renditions=platform.renditions,
            settings=platform.settings.megaphone.preflight_rules(),
            config=config,
        ),
    )


def _ingest_checks(platform: Dependencies) -> IngestChecks | None:
    """Only for a flow that declares sending to the ingest follow-up, whose queue the deployment then
    wires: every flow sharing this factory does (the publisher, rights sync, the brand show), so any
    push that leaves an episode awaiting ingest gets its prompt check; the sweep is the safety net."""
    if FlowName.INGEST_FOLLOW_UP not in platform.settings.declaration.sends_to:
        return None
    messages = platform.direct_messages(FlowName.INGEST_FOLLOW_UP)
    if messages is None:
        return None
    return IngestChecks(messages, delay_seconds=platform.settings.megaphone.megaphone_ingest_seconds)
