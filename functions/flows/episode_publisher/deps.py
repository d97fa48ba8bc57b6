"""The publisher's dependency factory. Rights sync and the brand-show channel publish through the same
logic and build their dependencies with this same factory (never by importing the publisher's
handler); its rights check is the rights model plus, for branded assets, their licence."""

from __future__ import annotations

from functions.dependencies import Dependencies
from functions.flows.episode_publisher.logic import PublisherDeps
from functions.flows.preflight_gate import PreflightGate
from functions.flows.publishing_config import PublishingConfig
from functions.flows.licence_gate import publishing_rights_check


def publisher_deps(platform: Dependencies) -> PublisherDeps:
    config = PublishingConfig.from_settings(platform.settings)
    return PublisherDeps(
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
