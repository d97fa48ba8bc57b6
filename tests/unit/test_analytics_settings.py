"""The analytics settings: Spotify for Creators is off unless enabled and listed; a bucket's settings
reach only the flows using that bucket; malformed values stop synthesis; a flow asks only for what it
declares."""

from __future__ import annotations

import pytest

from functions.analytics.creators_facts import CreatorsOptIn
from functions.dependencies import Dependencies
from functions.settings import AnalyticsSettings, ConfigurationError, FlowSettings, MegaphoneExportSettings
from infra.deployment_context import DeploymentContextError, environment_for_flow, resolve_context, validate_flow_environments
from infra.flows import FLOWS, flow

CONTEXT = {
    "creatorsEnabled": True,
    "creatorsShows": {"4rOoJ6Egrf8K2IrywzwOMk": 9101},
    "analyticsRelatedBooks": {"9102": [3301, 3302]},
    "analyticsAuthorRoles": "A01, E07",
    "megaphoneExportPrefix": "megaphone/",
    "megaphoneExportCounting": {"min_seconds_downloaded": 30, "bot_user_agent_markers": ["bot"]},
}
WIRING = {"EVENT_BUS_NAME": "bus", "LEDGER_TABLE": "ledger", "CURSORS_TABLE": "cursors", "ANALYTICS_BUCKET": "a", "MEGAPHONE_EXPORT_BUCKET": "e"}


def test_creators_collection_is_off_by_default() -> None:
    defaults = AnalyticsSettings()
    assert (defaults.creators_enabled, defaults.creators_shows) == (False, {})
    assert CreatorsOptIn(enabled=defaults.creators_enabled, shows=tuple(defaults.creators_shows)).shows_to_collect() == ()
    listed_but_off = AnalyticsSettings.from_environment({"CREATORS_SHOWS": '{"showa": 1}'})
    assert CreatorsOptIn(enabled=listed_but_off.creators_enabled, shows=tuple(listed_but_off.creators_shows)).shows_to_collect() == ()


def test_a_buckets_settings_reach_only_the_flows_using_it() -> None:
    resolved = resolve_context(CONTEXT.get)
    for declaration in FLOWS:
        environment = environment_for_flow(declaration, resolved)
        assert ("CREATORS_SHOWS" in environment) == any(b.value == "analytics" for b in declaration.buckets), declaration.name
        assert ("MEGAPHONE_EXPORT_COUNTING" in environment) == any(b.value == "megaphone-export" for b in declaration.buckets), declaration.name
    ingest = FlowSettings(flow("analytics-export-ingest"), {**WIRING, **environment_for_flow(flow("analytics-export-ingest"), resolved)})
    assert ingest.megaphone_export.megaphone_export_prefix == "megaphone"
    assert ingest.megaphone_export.megaphone_export_counting.min_seconds_downloaded == 30
    nightly = FlowSettings(flow("analytics-nightly"), {**WIRING, "CONSONANCE_SECRET_ID": "c", **environment_for_flow(flow("analytics-nightly"), resolved)})
    assert nightly.analytics.analytics_author_roles == ("A01", "E07")
    assert nightly.analytics.analytics_related_books == {"9102": (3301, 3302)}
    assert nightly.analytics.creators_shows == {"4rOoJ6Egrf8K2IrywzwOMk": 9101} and nightly.analytics.creators_enabled
    with pytest.raises(ConfigurationError, match="does not declare bucket megaphone-export"):
        _ = nightly.megaphone_export


@pytest.mark.parametrize(
    ("context", "problem"),
    [
        ({"megaphoneExportCounting": {"min_seconds": 30}}, "MEGAPHONE_EXPORT_COUNTING"),
        ({"creatorsShows": {"showa": "the salt road"}}, "CREATORS_SHOWS"),
        ({"creatorsEnabled": "perhaps"}, "CREATORS_ENABLED"),
    ],
)
def test_malformed_analytics_settings_stop_synthesis(context: dict[str, object], problem: str) -> None:
    with pytest.raises(DeploymentContextError, match=problem):
        validate_flow_environments(resolve_context(context.get), FLOWS)


def test_counting_rules_are_checked_with_pydantic_alone() -> None:
    with pytest.raises(ConfigurationError, match="MEGAPHONE_EXPORT_COUNTING"):
        MegaphoneExportSettings.from_environment({"MEGAPHONE_EXPORT_COUNTING": '{"max_rejected_line_ratio": 2}'})


def test_only_a_flow_that_runs_athena_queries_builds_the_athena_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")  # boto3 builds the Athena client (no call is made)
    ingest = Dependencies(FlowSettings(flow("analytics-export-ingest"), WIRING))
    with pytest.raises(ConfigurationError):
        _ = ingest.athena_rollups
    unwired = Dependencies(FlowSettings(flow("analytics-nightly"), {**WIRING, "CONSONANCE_SECRET_ID": "c"}))
    with pytest.raises(ConfigurationError, match="ANALYTICS_GLUE_DATABASE"):
        _ = unwired.athena_rollups
    wired = Dependencies(
        FlowSettings(
            flow("analytics-nightly"),
            {**WIRING, "CONSONANCE_SECRET_ID": "c", "ANALYTICS_GLUE_DATABASE": "db", "ANALYTICS_ATHENA_WORKGROUP": "wg"},
        )
    )
    assert (wired.athena_rollups.location.database, wired.athena_rollups.location.workgroup) == ("db", "wg")
