"""Small flows for testing the local runtime on its own: a queue flow built on the project's
`consume_sqs_batch` whose records choose how they behave, a raw queue handler that shows exactly
what Lambda hands over, and scheduled flows (plain, sleeping, flaky, producing events).

What the handlers saw is kept in `WORLD`, which each test resets.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, ClassVar

import boto3
import httpx
from botocore.exceptions import ClientError

from functions.clock import clock, utcnow
from functions.connectors.http import HttpService
from functions.domain.errors import InvalidRecord, TransientError
from functions.domain.events import DomainEvent, register
from functions.observability import logger, metrics
from functions.secrets import secret_value
from functions.event_bus import EventBus
from functions.settings import CoreSettings
from functions.sqs_batch import consume_sqs_batch
from functions.dependencies import Dependencies
from functions.execution_environment import built_once
from functions.settings import FlowSettings
from functions.state.dynamo import dynamodb_client
from functions.state.idempotency import IdempotencyStore
from infra.flows import DirectTrigger, EventTrigger, FlowDeclaration, ScheduleTrigger, Secret, Table

SAMPLE_API_HOST = "sample-api.invalid"
SAMPLE_SECRET = "sample-token-3f9c1e7a"
PROBE_DETAIL_TYPE = "SampleProbe"


class SampleOrderPlaced(DomainEvent):
    """`behaviour`: succeed | fail_times:N | always_fail | permanent | call_api | leaky_call_api | slow."""

    detail_type: ClassVar[str] = "SampleOrderPlaced"
    order_id: str
    behaviour: str = "succeed"

    def entity_key(self) -> str:
        return f"order#{self.order_id}"


register(SampleOrderPlaced)


class SampleProbe(DomainEvent):
    """Delivered to the raw probe handler, which reads the SQS event itself (never parsed here)."""

    detail_type: ClassVar[str] = PROBE_DETAIL_TYPE


class SampleCallRequested(DomainEvent):
    """Routed to the caller flow (its handler reads the SQS event itself)."""

    detail_type: ClassVar[str] = "SampleCallRequested"


class SampleUnavailable(TransientError):
    code = "sample_unavailable"


@dataclass(frozen=True)
class Delivery:
    order_id: str
    receive_count: int
    at: datetime


@dataclass
class SampleWorld:
    deliveries: list[Delivery] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    completed: list[str] = field(default_factory=list)
    probe_events: list[dict[str, Any]] = field(default_factory=list)
    probe_environments: list[dict[str, str | None]] = field(default_factory=list)
    probe_contexts: list[dict[str, Any]] = field(default_factory=list)
    dead_letter_urls_seen: dict[str, set[str | None]] = field(default_factory=dict)
    schedule_runs: list[tuple[str, str, str, datetime]] = field(default_factory=list)  # flow, event id, event time, now
    schedule_events: list[dict[str, Any]] = field(default_factory=list)
    flaky_failures_left: int = 0
    produced: int = 0
    producer_environment: dict[str, str] = field(default_factory=dict)
    api_requests: list[httpx.Request] = field(default_factory=list)
    remaining_after_sleep_ms: list[int] = field(default_factory=list)


WORLD = SampleWorld()


def reset_world() -> None:
    """In place, so every module holding `WORLD` sees the fresh state."""
    WORLD.__dict__.update(SampleWorld().__dict__)


def sample_api_transport() -> httpx.MockTransport:
    """The external API the `call_api` records write to: records each request, answers 201."""

    def answer(request: httpx.Request) -> httpx.Response:
        WORLD.api_requests.append(request)
        return httpx.Response(201, json={"id": f"remote-{len(WORLD.api_requests)}"})

    return httpx.MockTransport(answer)


def _sample_api() -> HttpService:
    secret_id = os.environ["MEGAPHONE_SECRET_ID"]  # the secret the declaration grants
    return HttpService(
        service="sample",
        base_url=f"https://{SAMPLE_API_HOST}/v1",
        auth_headers=lambda: {"Authorization": f"Bearer {secret_value(secret_id)}"},
    )


def _remember_dead_letter_url(flow: str) -> None:
    WORLD.dead_letter_urls_seen.setdefault(flow, set()).add(CoreSettings.from_environment().dead_letter_queue_url)


# queue flow on the project's batch consumer ------------------------------------------------------
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def orders_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _remember_dead_letter_url("sample-orders")
    for record in event["Records"]:
        order_id = json.loads(record["body"])["detail"]["order_id"]
        WORLD.deliveries.append(Delivery(order_id, int(record["attributes"]["ApproximateReceiveCount"]), utcnow()))
    return consume_sqs_batch(
        event,
        context,
        flow="sample-orders",
        core=CoreSettings.from_environment(),
        accept=(SampleOrderPlaced,),
        handle=lambda e: _handle_order(e, context),
    )


def _handle_order(event: DomainEvent, context: Any) -> None:
    assert isinstance(event, SampleOrderPlaced)
    attempt = WORLD.attempts.get(event.order_id, 0) + 1
    WORLD.attempts[event.order_id] = attempt
    behaviour, _, argument = event.behaviour.partition(":")
    if behaviour == "fail_times" and attempt <= int(argument):
        raise SampleUnavailable(f"order service unavailable for {event.order_id} (attempt {attempt})")
    if behaviour == "always_fail":
        raise SampleUnavailable(f"order service unavailable for {event.order_id}")
    if behaviour == "permanent":
        raise InvalidRecord(f"order {event.order_id} has no customer")
    if behaviour == "call_api":
        _sample_api().request("POST", "/orders", idempotent=False, json_body={"order_id": event.order_id})
    if behaviour == "leaky_call_api":  # a connector bug: the credential in the query string
        token = secret_value(os.environ["MEGAPHONE_SECRET_ID"])
        _sample_api().request("GET", "/orders", idempotent=True, params={"order_id": event.order_id, "token": token})
    if behaviour == "slow" and attempt == 1:
        clock().sleep(45)
        WORLD.remaining_after_sleep_ms.append(context.get_remaining_time_in_millis())
    WORLD.completed.append(event.order_id)


# raw queue handler: records exactly what it was given ---------------------------------------------
@logger.inject_lambda_context
def probe_handler(event: dict[str, Any], context: Any) -> dict[str, Any] | str:
    _remember_dead_letter_url("sample-probe")
    WORLD.probe_events.append(event)
    WORLD.probe_environments.append(
        {
            name: os.environ.get(name)
            for name in (
                "DEAD_LETTER_QUEUE_URL",
                "MAX_RECEIVES",
                "POWERTOOLS_SERVICE_NAME",
                "LEDGER_TABLE",
                "CURSORS_TABLE",
                "EVENT_BUS_NAME",
                "EVENT_SOURCE",
            )
        }
    )
    WORLD.probe_contexts.append(
        {
            "function_name": context.function_name,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "remaining_ms": context.get_remaining_time_in_millis(),
        }
    )
    details = [_detail(record["body"]) for record in event["Records"]]
    if any(detail.get("explode") for detail in details):
        raise RuntimeError("probe asked to explode")
    if any(detail.get("answer") == "unknown-id" for detail in details):
        return {"batchItemFailures": [{"itemIdentifier": "not-a-message-in-this-batch"}]}
    return {"batchItemFailures": []}


def _detail(body: str) -> dict[str, Any]:
    try:
        return dict(json.loads(body).get("detail", {}))
    except (ValueError, AttributeError):
        return {}  # a message sent to the queue directly, not through the bus


# scheduled flows ---------------------------------------------------------------------------------
def _record_schedule_run(event: dict[str, Any]) -> None:
    WORLD.schedule_runs.append((os.environ["POWERTOOLS_SERVICE_NAME"], event["id"], event["time"], utcnow()))


@logger.inject_lambda_context(clear_state=True)
def ticker_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _record_schedule_run(event)
    WORLD.schedule_events.append(event)
    return {"ok": True}


def sleepy_ticker_handler(event: dict[str, Any], context: Any) -> None:
    _record_schedule_run(event)
    clock().sleep(7 * 60)  # e.g. a rate-limit wait: the virtual clock moves, nothing blocks


def oversleeping_ticker_handler(event: dict[str, Any], context: Any) -> None:
    _record_schedule_run(event)
    clock().sleep(25 * 60)


def flaky_ticker_handler(event: dict[str, Any], context: Any) -> None:
    _record_schedule_run(event)
    if WORLD.flaky_failures_left > 0:
        WORLD.flaky_failures_left -= 1
        raise RuntimeError("upstream not ready")


def producer_handler(event: dict[str, Any], context: Any) -> None:
    WORLD.produced += 1
    WORLD.producer_environment = dict(os.environ)
    core = CoreSettings.from_environment()
    EventBus(core.event_bus_name, core.event_source, allowed=PRODUCER.emits).publish([SampleOrderPlaced(order_id=f"produced-{WORLD.produced}")])


# flows that reach for AWS: what their grants let through --------------------------------------------
def aws_caller_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Makes the one call `event` names (`service`, `operation`, `params`) and says how AWS answered."""
    client = boto3.client(event["service"])
    try:
        response = getattr(client, event["operation"])(**event.get("params", {}))
    except ClientError as error:
        return {
            "allowed": False,
            "code": error.response["Error"]["Code"],
            "status": error.response["ResponseMetadata"]["HTTPStatusCode"],
            "message": error.response["Error"]["Message"],
            "exception": type(error).__name__,
        }
    return {"allowed": True, "response": response}


def remembered_orders_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A queue flow that remembers applied events in the idempotency table, as the real ones do."""
    # like code that finds the table by convention (the deployment's prefix) rather than through its
    # declaration: the grant check, not the missing variable, is what must stop it
    table = os.environ.get("IDEMPOTENCY_TABLE") or f"{os.environ['EVENT_BUS_NAME']}-idempotency"
    return consume_sqs_batch(
        event,
        context,
        flow="sample-remembered",
        core=CoreSettings.from_environment(),
        accept=(SampleOrderPlaced,),
        handle=lambda e: None,
        idempotency=IdempotencyStore(table),
    )


@built_once
def _warm_platform() -> Dependencies:
    """The warm-state flows' platform dependencies, built once per execution environment."""
    declaration = WARM_A if os.environ["POWERTOOLS_SERVICE_NAME"] == WARM_A.name else WARM_B
    return Dependencies(FlowSettings(declaration, {**os.environ, "MEGAPHONE_NETWORK_ID": "sample-network"}))


def warm_state_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """What this execution environment built: the same objects on a warm start, new ones after a cold one."""
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    platform = _warm_platform()
    secret_value(os.environ["MEGAPHONE_SECRET_ID"])  # fills the Powertools secrets cache
    if event.get("crash"):
        from sandbox.runtime import SimulatedCrash

        raise SimulatedCrash("the environment dies")
    return {  # the objects themselves: a test holding them keeps their identities unique
        "settings": platform.settings,
        "dynamodb": dynamodb_client(),
        "event_bus": platform.event_bus,
        "secrets_provider": DEFAULT_PROVIDERS["secrets"],
        "boto3_session": boto3.DEFAULT_SESSION,
        "service": os.environ["POWERTOOLS_SERVICE_NAME"],
    }


# declarations ------------------------------------------------------------------------------------
ORDERS = FlowDeclaration(
    name="sample-orders",
    handler="tests.sandbox.sample_flows.orders_handler",
    description="sample queue flow on consume_sqs_batch",
    trigger=EventTrigger(events=(SampleOrderPlaced,)),
    batch_size=5,
    max_receives=3,
    timeout_seconds=20,  # visibility timeout: 120 s
    secrets=(Secret.MEGAPHONE,),
)
PROBE = FlowDeclaration(
    name="sample-probe",
    handler="tests.sandbox.sample_flows.probe_handler",
    description="raw queue handler recording its event, environment and context",
    trigger=EventTrigger(events=(SampleProbe,)),
    batch_size=10,
    max_receives=2,
    timeout_seconds=30,  # visibility timeout: 180 s
    reads=(Table.LEDGER,),
)
HOURLY = FlowDeclaration(
    name="sample-hourly",
    handler="tests.sandbox.sample_flows.ticker_handler",
    description="scheduled every hour",
    trigger=ScheduleTrigger(every_minutes=60),
)
QUARTER_HOURLY_SLEEPER = FlowDeclaration(
    name="sample-quarter-hourly",
    handler="tests.sandbox.sample_flows.sleepy_ticker_handler",
    description="scheduled every 15 minutes, sleeps 7 minutes on the clock",
    trigger=ScheduleTrigger(every_minutes=15),
    timeout_seconds=600,
)
OVERSLEEPER = FlowDeclaration(
    name="sample-oversleeper",
    handler="tests.sandbox.sample_flows.oversleeping_ticker_handler",
    description="scheduled every 10 minutes, sleeps 25",
    trigger=ScheduleTrigger(every_minutes=10),
    timeout_seconds=1800,
)
FLAKY = FlowDeclaration(
    name="sample-flaky",
    handler="tests.sandbox.sample_flows.flaky_ticker_handler",
    description="scheduled every hour, fails while WORLD.flaky_failures_left > 0",
    trigger=ScheduleTrigger(every_minutes=60),
)
PRODUCER = FlowDeclaration(
    name="sample-producer",
    handler="tests.sandbox.sample_flows.producer_handler",
    description="scheduled every 30 minutes, publishes one SampleOrderPlaced",
    trigger=ScheduleTrigger(every_minutes=30),
    emits=(SampleOrderPlaced,),
)
CALLER = FlowDeclaration(
    name="sample-caller",
    handler="tests.sandbox.sample_flows.aws_caller_handler",
    description="makes the AWS call it is asked to make",
    trigger=EventTrigger(events=(SampleCallRequested,)),
    reads=(Table.LEDGER,),
    writes=(Table.CURSORS,),
    secrets=(Secret.MEGAPHONE,),
    emits=(SampleOrderPlaced,),
)
DIRECT = replace(
    PROBE,
    name="sample-direct",
    description="a direct-trigger flow: fed by its senders, not by a rule",
    trigger=DirectTrigger(events=(SampleProbe,)),
)
SENDER = replace(CALLER, name="sample-sender", description="makes the AWS call it is asked to make; may send to sample-direct", sends_to=(DIRECT.name,))
ALERTER = FlowDeclaration(
    name="sample-alerter",
    handler="tests.sandbox.sample_flows.aws_caller_handler",
    description="makes the AWS call it is asked to make; may publish alerts",
    trigger=ScheduleTrigger(every_minutes=60),
    publishes_alerts=True,
)
REMEMBERED_UNGRANTED = FlowDeclaration(
    name="sample-remembered",
    handler="tests.sandbox.sample_flows.remembered_orders_handler",
    description="uses the idempotency table without declaring it (the metadata-sync bug)",
    trigger=EventTrigger(events=(SampleOrderPlaced,)),
    max_receives=2,
)
REMEMBERED = replace(REMEMBERED_UNGRANTED, reads=(Table.IDEMPOTENCY,), writes=(Table.IDEMPOTENCY,), description="declares what it uses")
WARM_A = FlowDeclaration(
    name="sample-warm-a",
    handler="tests.sandbox.sample_flows.warm_state_handler",
    description="reports the objects its execution environment built",
    trigger=ScheduleTrigger(every_minutes=60),
    secrets=(Secret.MEGAPHONE,),
)
WARM_B = replace(WARM_A, name="sample-warm-b")
