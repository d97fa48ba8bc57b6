"""What the integration and end-to-end tests share to drive and observe a `SandboxWorld`.

Nothing here stands in for project code: events are read from a real EventBridge rule on the
sandbox's bus (moto routes it to an SQS "tap" queue), requests from the simulators' own records and
`tests/recorded_requests.py`, state from the ledger and cursor tables.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import boto3

from functions.domain.events import DomainEvent
from functions.state.keys import episode_key
from functions.consonance_writes import SPOTIFY_LINK
from functions.state.targets import CONSONANCE_WRITEBACK
from functions.state.targets import EPISODE_SOURCE as SOURCE, MEGAPHONE as TARGET
from functions.state.cursors import CursorStore
from functions.state.ledger import LedgerEntry, SyncLedger
from infra.flows import FLOWS, FlowDeclaration, Table
from sandbox.catalogue import Catalogue
from sandbox.world import SandboxWorld, WorldOptions

# The flows of the Consonance -> Megaphone path (the availability flows belong to another issue).
PUBLISHING_FLOWS: tuple[FlowDeclaration, ...] = tuple(
    flow
    for flow in FLOWS
    if flow.name
    in {"consonance-poller", "episode-publisher", "ingest-checker", "ingest-follow-up", "consonance-writeback", "metadata-sync", "release-sweep", "rights-sync"}
)


@contextmanager
def open_world(catalogue: Catalogue, **options: Any) -> Iterator[SandboxWorld]:
    options.setdefault("flows", PUBLISHING_FLOWS)
    with SandboxWorld(catalogue, WorldOptions(**options)) as world:
        yield world


# ------------------------------------------------------------------------------------ events
class EventTap:
    """Every event put on the sandbox bus, copied by an EventBridge rule into an SQS queue."""

    def __init__(self, world: SandboxWorld):
        resources = world.resources
        self._sqs = boto3.client("sqs")
        events = boto3.client("events")
        name = f"{resources.prefix}-test-tap"
        self.queue_url = self._sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(
            Name=name, EventBusName=resources.event_bus_name, EventPattern=json.dumps({"source": [resources.event_source]})
        )
        events.put_targets(Rule=name, EventBusName=resources.event_bus_name, Targets=[{"Id": "tap", "Arn": arn}])

    def take(self) -> list[dict[str, Any]]:
        """The EventBridge events put since the last call (removed from the tap)."""
        taken: list[dict[str, Any]] = []
        while True:
            messages = self._sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                return taken
            taken += [json.loads(m["Body"]) for m in messages]
            self._sqs.delete_message_batch(
                QueueUrl=self.queue_url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
            )


def of_type(events: list[dict[str, Any]], detail_type: str) -> list[dict[str, Any]]:
    return [event for event in events if event["detail-type"] == detail_type]


def put_event(world: SandboxWorld, event: DomainEvent) -> None:
    """Put a domain event on the sandbox bus, as a producer flow would."""
    response = boto3.client("events").put_events(
        Entries=[
            {
                "EventBusName": world.resources.event_bus_name,
                "Source": world.resources.event_source,
                "DetailType": event.detail_type,
                "Detail": json.dumps(event.model_dump(mode="json")),
            }
        ]
    )
    assert response["FailedEntryCount"] == 0
    world.runtime.expect_messages()


# ------------------------------------------------------------------------------------ invoking handlers
def scheduled_event(world: SandboxWorld, flow: str) -> dict[str, Any]:
    """EventBridge's "Scheduled Event", as the schedule rule would send it now."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": world.resources.account,
        "time": world.clock.now().astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": world.resources.region,
        "resources": [world.resources.schedules[flow].rule_arn],
        "detail": {},
    }


def bus_envelope(world: SandboxWorld, detail_type: str, detail: dict[str, Any], event_id: str | None = None) -> str:
    """An SQS message body as an EventBridge rule delivers it."""
    return json.dumps(
        {
            "version": "0",
            "id": event_id or str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": world.resources.event_source,
            "account": world.resources.account,
            "time": world.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": world.resources.region,
            "resources": [],
            "detail": detail,
        }
    )


def sqs_event(world: SandboxWorld, flow: str, *bodies: str) -> dict[str, Any]:
    """Lambda's SQS event for `bodies`, first receive, from the flow's queue."""
    wiring = world.resources.queues[flow]
    sent = str(int(world.clock.now().timestamp() * 1000))
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"handle-{index}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": sent,
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": sent,
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": wiring.queue_arn,
                "awsRegion": world.resources.region,
            }
            for index, body in enumerate(bodies)
        ]
    }


# ------------------------------------------------------------------------------------ reading state
def ledger(world: SandboxWorld) -> SyncLedger:
    return SyncLedger(world.resources.tables[Table.LEDGER])


def source_entry(world: SandboxWorld, product_id: int) -> LedgerEntry | None:
    return ledger(world).get(episode_key(product_id), SOURCE)


def target_entry(world: SandboxWorld, product_id: int) -> LedgerEntry | None:
    return ledger(world).get(episode_key(product_id), TARGET)


def written_link(world: SandboxWorld, product_id: int) -> str | None:
    """What the write-back service recorded for the product's Spotify link, as "<status>|<url>"."""
    entry = ledger(world).get(episode_key(product_id), CONSONANCE_WRITEBACK)
    link = entry.state.links.get(SPOTIFY_LINK) if entry is not None else None
    return f"{link.status}|{link.url}" if link is not None else None


def ledger_versions(world: SandboxWorld) -> dict[tuple[str, str], int]:
    return {(entry.entity, entry.target): entry.version for entry in ledger(world).scan()}


def cursor(world: SandboxWorld, name: str) -> dict[str, Any] | None:
    return CursorStore(world.resources.tables[Table.CURSORS]).get(name)


def megaphone_episode(world: SandboxWorld, product_id: int) -> dict[str, Any] | None:
    return world.megaphone.episode_by_external_id(str(product_id))


def megaphone_writes(world: SandboxWorld, since: datetime | None = None) -> list[tuple[str, str]]:
    """(method, path) of every POST and PUT that reached the Megaphone simulator (faults included)."""
    return [
        (r.method, r.path)
        for r in world.megaphone.received
        if r.method in ("POST", "PUT") and (since is None or r.at >= since)
    ]


def write_backs_for(world: SandboxWorld, product_id: int) -> list[Any]:
    return [w for w in world.consonance.write_backs if w.product_id == product_id]


