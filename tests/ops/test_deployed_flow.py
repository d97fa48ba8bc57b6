"""An ops command builds a flow's clients from the names alone: the cdk.json context for that flow,
the operator's environment over it, and the stack's wiring (bus, tables, secrets) over both."""

from __future__ import annotations

import json
from pathlib import Path

from infra.naming import ResourceNames
from infra.ops.deployed_flow import deployed_dependencies, deployed_flow_environment

NAMES = ResourceNames("ops-env")


def test_the_pollers_environment_is_its_context_slice_the_operators_overrides_and_the_wiring(tmp_path: Path) -> None:
    (tmp_path / "cdk.json").write_text(json.dumps({"context": {"consonanceRatePerMinute": 90, "megaphoneRatePerMinute": 30}}))
    environment = deployed_flow_environment(
        NAMES, "consonance-poller", tmp_path, environ={"CONSONANCE_URL": "https://consonance.test/graphql", "LEDGER_TABLE": "someone-elses"}
    )
    assert environment["CONSONANCE_RATE_PER_MINUTE"] == "90"
    assert "MEGAPHONE_RATE_PER_MINUTE" not in environment  # the poller holds no Megaphone secret: not its setting
    assert environment["CONSONANCE_URL"] == "https://consonance.test/graphql"
    assert environment["LEDGER_TABLE"] == "ops-env-ledger"  # the wiring wins: --prefix names the deployment
    assert environment["EVENT_BUS_NAME"] == NAMES.event_bus and environment["CONSONANCE_SECRET_ID"] == "ops-env/consonance-api-key"


def test_the_clients_are_only_those_the_flow_declares() -> None:
    poller = deployed_dependencies(NAMES, "consonance-poller", environ={})
    assert poller.ledger.table_name == "ops-env-ledger"
    assert {event.__name__ for event in poller.event_bus.allowed or ()} == {"EpisodeChanged", "SeriesChanged", "RightsChanged"}
