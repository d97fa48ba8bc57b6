"""Every flow's AWS calls in a run of the sample catalogue stay inside its declaration's grants.

The run is cut down to a day of four Salt Road parts, with edits that make every flow work: a title
change (publisher, ingest checker, write-back), a narration agreement ending early (the poller's
RightsChanged, rights-sync), a takedown on Spotify (availability monitor, recorder, its SNS alert),
the daily drift check (release sweep, metadata-sync), a signed takedown notice (webhook ingest), a
branded asset licensed on every channel (the branded-audio flows), a title in pre-order (the campaign
flows) and the listening analytics' first night and first export file (nightly, Creators collector,
export ingest).
Before the declarations were fixed this run denied metadata-sync's idempotency writes and the
poller's RightsChanged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import time
from typing import Any

import pytest

from functions.webhook.signature import signature_headers
from infra.flows import FLOWS, Secret, Table
from sandbox.aws_grants import OUTSIDE_INVOCATIONS, Permission
from sandbox.catalogue import SpotifyTakedown, TimelineEdit, load_catalogue
from sandbox.world import SandboxWorld, WorldOptions
from tests.integration.small_catalogue import derived_sample

KEPT = {41003, 41008, 41009, 41010, 44904}  # 41003 is live (taken down below); 41010 is forthcoming
# 44904 is a branded asset whose licence is live on every channel: the licence sweep, brand show,
# brand playlists (on the brand's authorised account), venue delivery and licence status all work.
# Salt and Lantern Light (hardback and ebook): its pre-order is open at the start, so the milestone
# detector announces it, the campaign planner drafts it and the Ads report collector reads it.
KEPT |= {78021, 78022}


def scenario_catalogue() -> Any:
    catalogue = derived_sample(load_catalogue(), KEPT, before_day=1)
    edits = [
        TimelineEdit(day=0, at=time(3, 0), action="update", entity="product", id=41010, changes={"title": "Storm Glass (revised)"}),
        TimelineEdit(day=0, at=time(4, 0), action="update", entity="contract", id=7002, changes={"terminated_date": "2026-12-20"}),
    ]
    takedown = SpotifyTakedown(day=0, at=time(6, 0), product_id=41003, reason="rights complaint (test)")
    return catalogue.model_copy(update={"timeline": catalogue.timeline + edits, "spotify_takedowns": [takedown]})


def signed_notice(world: SandboxWorld) -> dict[str, Any]:
    """A function URL request carrying a takedown notice signed with the run's webhook key."""
    now = world.clock.now()
    body = json.dumps(
        {
            "notice_id": "sample-grants-0001",
            "kind": "takedown",
            "product_id": 41008,
            "isbn13": next(p.isbn13 for p in world.catalogue.products if p.id == 41008),
            "territories": ["US"],
            "reason": "rights holder complaint",
            "reported_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "source": "spotify",
        }
    )
    headers = signature_headers(world.secret_values[Secret.WEBHOOK], int(now.timestamp()), body)
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": {"content-type": "application/json", **{name.lower(): value for name, value in headers.items()}},
        "requestContext": {"http": {"method": "POST", "path": "/", "sourceIp": "203.0.113.9"}, "requestId": "grants-1"},
        "body": body,
        "isBase64Encoded": False,
    }


@pytest.fixture(scope="module")
def sample_world() -> Iterator[SandboxWorld]:
    with SandboxWorld(scenario_catalogue(), WorldOptions(seed=11)) as world:
        world.run_for(1)
        response = world.runtime.invoke("webhook-ingest", signed_notice(world))
        assert response["statusCode"] == 202, response
        # on to 04:30: Megaphone's export file of the first day arrives at 04:00 (the ingest's turn)
        world.runtime.run_for(hours=4, minutes=30)
        yield world


def test_no_flow_made_a_call_its_declaration_does_not_grant(sample_world: SandboxWorld) -> None:
    denials = sorted({(d.flow, d.permission.describe()) for d in sample_world.runtime.access.denials})
    assert denials == []
    assert sample_world.runtime.dead_letters() == []


def test_every_flow_ran_and_called_aws(sample_world: SandboxWorld) -> None:
    invoked = {record.flow for record in sample_world.runtime.invocation_log}
    assert invoked == {flow.name for flow in FLOWS}
    requests = sample_world.runtime.access.requests_by_flow
    assert all(requests[flow.name] > 0 for flow in FLOWS), requests
    assert requests[OUTSIDE_INVOCATIONS] > 0  # the runtime's own receives and deletes are counted apart


def test_the_calls_that_needed_the_declaration_fixes_were_made_and_allowed(sample_world: SandboxWorld) -> None:
    access, resources = sample_world.runtime.access, sample_world.resources
    idempotency_table = f"arn:aws:dynamodb:{resources.region}:{resources.account}:table/{resources.tables[Table.IDEMPOTENCY]}"
    assert Permission("dynamodb:PutItem", idempotency_table) in access.used["metadata-sync"]
    assert Permission("events:PutEvents", resources.event_bus_arn, detail_type="RightsChanged") in access.used["consonance-poller"]
    assert any(p.action == "sns:Publish" for p in access.used["availability-recorder"])


def test_each_flow_put_only_the_detail_types_it_declares(sample_world: SandboxWorld) -> None:
    declared = {flow.name: set(flow.emitted_detail_types) for flow in FLOWS}
    for flow, permissions in sample_world.runtime.access.used.items():
        put = {p.detail_type for p in permissions if p.action == "events:PutEvents"}
        assert put <= declared[flow], flow
