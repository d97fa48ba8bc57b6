"""The local Lambda runtime: runs the declared flows on one machine, on a virtual clock.

It plays the parts of AWS that moto does not: Lambda's SQS event source mapping, EventBridge
schedules, Lambda's async retries and the invocation environment (variables, context, timeout).

Queue flows, exactly like the event source mapping:
- ReceiveMessage with MaxNumberOfMessages = batch size (receiving again up to the batch size when it
  is above SQS's 10), AttributeNames=All, MessageAttributeNames=All; the records are handed to the
  handler in Lambda's SQS event shape.
- ReportBatchItemFailures: the listed messages stay in the queue, the rest are deleted. A handler
  that raises, crashes or times out fails the whole batch; so does a response naming a message that
  is not in the batch (Lambda's rule). A `None`/empty response is complete success.
- Visibility: moto's visibility timeout runs on the wall clock, which would make a virtual run depend
  on how fast the machine is. So the runtime receives with the longest visibility SQS allows and
  keeps the queue's own `VisibilityTimeout` on the virtual clock: a message that was not deleted
  becomes visible again (ChangeMessageVisibility 0) once virtual time has passed its receive time
  plus the queue's visibility timeout — not at the next round.
- Delays: a message sent with `DelaySeconds` becomes visible that many seconds of virtual time
  later, not of wall time as in moto: the runtime holds it and sends it when it is due
  (`sandbox.delayed_messages`), and `run_until` stops at that moment (between ticks), so it is
  delivered on time. A flow's undelayed send to another flow's queue (a direct trigger) makes the
  runtime poll that queue after the invocation.
- Redrive: SQS moves a message to the DLQ on the receive after `maxReceiveCount` receives; moto does
  exactly that on ReceiveMessage (checked with moto 5.2.1), so the runtime leaves it to moto. Such
  messages carry no reason; handlers dead-letter explicitly (with a reason) before that point.

Scheduled flows fire every `every_minutes` of virtual time from the moment the runtime started (the
rule's creation), with EventBridge's "Scheduled Event" shape. The next slot is computed from the
clock, not from ticks: if a handler's sleep carries the clock past several slots, the rule fires once
for the latest and the skipped slots are counted. A failed invocation is retried like Lambda's async
invocation: two more attempts, one minute and then two minutes after the failure.

Time: `run_until` advances the clock in ticks; at each tick it calls the `before_tick` hooks, makes
due messages visible, fires due schedules and drains every queue (round-robin in declaration order,
one batch per flow per round) until no queue has a visible message. Handlers' own sleeps (rate-limit
waits, backoff) advance the same clock. Polling every queue at every tick would cost one AWS call
per queue per virtual minute, so queues are polled when something could have put a message there —
an invocation that put events on the bus (the queues whose rules take the detail-types it put, as
seen at the transport), a message made visible again, a call to `run_until` — and otherwise every
`idle_poll_interval` of virtual time. Code that sends messages from outside the runtime between
ticks (a hook) should call `expect_messages()`.

Each flow as it deploys (`sandbox.execution_environments`, `sandbox.aws_grants`): an invocation
runs with exactly its flow's environment variables, in the flow's own execution environment (its
settings, clients and secrets cache survive between its invocations, never shared with another
flow; a crash or timeout discards them, so the next invocation is a cold start), and every AWS call
it makes is held to its declaration's grants — a call outside them fails with the AccessDenied
error AWS answers, and is recorded in `access.denials`.

Faults: with `crash_probability` p, after each HTTP exchange a connector completes inside an
invocation, the invocation dies with probability p (seeded): `SimulatedCrash` is a BaseException,
so no `except Exception` in flow code can swallow it; the whole batch is redelivered after the
visibility timeout, as when a Lambda environment dies. A handler that runs longer (in virtual time)
than its declared timeout is treated as timed out — its batch failed — after it returns; the
runtime cannot stop it midway, so side effects after the deadline still happen.

Flows with any other trigger (an HTTP endpoint) are only run by `invoke`. Invocations run one at a
time; `max_concurrency` is not emulated.
"""

from __future__ import annotations

import base64
import importlib
import random
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import ClientError

import functions.clock
from functions.connectors.http import HttpExchange, observe_requests
from functions.flow_template import reset_environments
from infra.flows import FlowDeclaration, ScheduleTrigger
from sandbox.aws_grants import AwsAccess, FlowGrants
from sandbox.clock import VirtualClock
from sandbox.delayed_messages import DelayedMessages
from sandbox.execution_environments import ExecutionEnvironments
from sandbox.resources import QueueWiring, SandboxResources

SQS_MAX_BATCH = 10
SQS_MAX_VISIBILITY_SECONDS = 43200
ASYNC_RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=2))  # Lambda: 2 retries, 1 then 2 minutes apart
MAX_DELIVERY_ROUNDS_PER_TICK = 10_000
SYSTEM_ATTRIBUTES = ("ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp")

BeforeTick = Callable[[datetime], object]
AfterInvocation = Callable[["InvocationRecord"], object]
Outcome = Literal["succeeded", "partial", "error", "crash", "timeout", "malformed_response"]


class SimulatedCrash(BaseException):
    """The execution environment died mid-invocation: no response, nothing reported. A BaseException
    so that per-record `except Exception` handling cannot turn it into a handled failure."""


class InvocationTimedOut(Exception):
    """The handler ran past its declared timeout in virtual time; Lambda would have stopped it."""


@dataclass
class LocalLambdaContext:
    """What Lambda passes as `context`; Powertools' decorators read these attributes."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    deadline: datetime
    clock: functions.clock.Clock
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - self.clock.now()).total_seconds() * 1000))


@dataclass
class FlowStats:
    """Per flow. Queue flows count records: delivered = acknowledged + retried, where acknowledged =
    succeeded + dead-lettered by the handler. Scheduled flows count events: delivered = succeeded +
    retried + failed_runs."""

    flow: str
    trigger: Literal["queue", "schedule", "direct"]
    invocations: int = 0
    delivered: int = 0  # records (or scheduled events) handed to the handler, redeliveries included
    acknowledged: int = 0  # queue: records not reported as failed (deleted from the queue)
    succeeded: int = 0  # queue: acknowledged and not dead-lettered by the handler; schedule: attempts that succeeded
    retried: int = 0  # records reported as failed or in a failed/crashed batch; schedule: attempts retried
    dead_lettered: int = 0  # messages in the flow's DLQ when the stats were read
    moved_by_redrive: int = 0  # of those, moved by SQS's redrive (no handler reason)
    crashes: int = 0
    errors: int = 0  # invocations that raised (or answered with a malformed response)
    timeouts: int = 0
    scheduled_runs: int = 0  # schedule rule firings (retries not included)
    skipped_slots: int = 0  # schedule slots passed while the clock jumped (fired once for the latest)
    failed_runs: int = 0  # scheduled events that failed all three attempts


@dataclass(frozen=True)
class InvocationRecord:
    flow: str
    source: Literal["sqs", "schedule", "direct"]
    started_at: datetime
    finished_at: datetime
    records: int
    failed: int
    outcome: Outcome
    error: str | None = None


@dataclass(frozen=True)
class DeadLetter:
    """A message in a flow's DLQ. `dead_lettered_by` says whether the handler put it there with a
    reason or SQS's redrive moved it after too many receives (a crash or timeout every time)."""

    flow: str
    message_id: str
    body: str
    error_code: str | None
    reason: str
    receive_count: int | None
    original_message_id: str | None
    dead_lettered_by: Literal["handler", "sqs-redrive"]


@dataclass
class _InFlight:
    flow: str
    queue_url: str
    receipt_handle: str
    visible_at: datetime


@dataclass
class _PendingRetry:
    due: datetime
    flow: str
    event: dict[str, Any]
    attempt: int


@dataclass(frozen=True)
class _InvocationResult:
    response: Any
    exception: BaseException | None
    record: InvocationRecord


class LocalRuntime:
    """Runs `flows` against `resources` (see `sandbox.resources.create_resources`) on `clock`.

    Use as a context manager: it installs the clock for `functions.clock`, sets each flow's
    environment variables around its invocations and checks their AWS calls, and on exit restores
    the clock and the variables and removes the checks.
    """

    def __init__(
        self,
        flows: Sequence[FlowDeclaration],
        resources: SandboxResources,
        clock: VirtualClock,
        *,
        tick: timedelta = timedelta(minutes=1),
        seed: int = 0,
        crash_probability: float = 0.0,
        enforce_timeouts: bool = True,
        idle_poll_interval: timedelta = timedelta(minutes=15),
        before_tick: Iterable[BeforeTick] = (),
        holding_messages: Callable[[Iterable[str]], set[str]] | None = None,
    ):
        if tick <= timedelta(0):
            raise ValueError("tick must be positive")
        if not 0.0 <= crash_probability <= 1.0:
            raise ValueError("crash_probability must be between 0 and 1")
        self.flows = tuple(flows)
        self.resources = resources
        self.clock = clock
        self.tick = tick
        self.crash_probability = crash_probability
        self.enforce_timeouts = enforce_timeouts
        self.idle_poll_interval = idle_poll_interval
        # Which of the given queue URLs hold any message, when that can be known without a request
        # (moto's backend in this process); None: poll every queue.
        self._holding_messages = holding_messages
        self.invocation_log: list[InvocationRecord] = []

        self._by_name: dict[str, FlowDeclaration] = {flow.name: flow for flow in self.flows}  # FlowName is a str
        self._queue_flows = [flow for flow in self.flows if flow.consumes_queue]
        self._schedule_flows = [flow for flow in self.flows if isinstance(flow.trigger, ScheduleTrigger)]
        for flow in self.flows:
            missing_wiring = (flow.consumes_queue and flow.name not in resources.queues) or (
                isinstance(flow.trigger, ScheduleTrigger) and flow.name not in resources.schedules
            )
            if flow.name not in resources.environments or missing_wiring:
                raise ValueError(f"{flow.name} has no resources; create them from the same declarations")
        self._before_tick: list[BeforeTick] = list(before_tick)
        self._after_invocation: list[AfterInvocation] = []
        self._ids = random.Random(f"{seed}:ids")
        self._crash_rng = random.Random(f"{seed}:crashes")
        self._stats = {flow.name: FlowStats(flow=flow.name, trigger=_trigger_kind(flow)) for flow in self.flows}
        self._handlers: dict[str, Callable[[Any, Any], Any]] = {}
        self.environments = ExecutionEnvironments({flow.name: resources.environments[flow.name] for flow in self.flows})
        self.access = AwsAccess(resources.region, resources.account).open()
        self._grants = {flow.name: FlowGrants.of(flow, resources) for flow in self.flows}
        self.delayed = DelayedMessages(
            clock, frozenset(wiring.queue_url for wiring in resources.queues.values()), self._new_id, self.access.count_request
        ).open()  # after the grant checks: a denied send is answered as denied, never held
        self._in_flight: list[_InFlight] = []
        self._pending_retries: list[_PendingRetry] = []
        self._last_receive_count: dict[str, int] = {}
        self._acknowledged_ids: dict[str, set[str]] = {}
        # Queue flows that may have visible messages. After an invocation only the queues subscribed
        # to the detail-types it put are polled; `expect_messages`, `run_until` and the idle poll
        # poll every queue.
        self._queues_to_poll: set[str] = {flow.name for flow in self._queue_flows}
        self._hooks_ran_at: datetime | None = None
        self._closed = False

        self._previous_clock = functions.clock.clock()
        functions.clock.use_clock(clock)
        reset_environments()  # a new deployment: nothing built for another environment survives
        self._sqs = boto3.session.Session().client("sqs")  # a session made after the checks: its calls are counted
        self._visibility = {flow.name: self._queue_visibility(resources.queues[flow.name]) for flow in self._queue_flows}
        started = clock.now()
        self._last_poll_at = started
        self._next_slot = {
            flow.name: started + timedelta(minutes=flow.trigger.every_minutes)
            for flow in self._schedule_flows
            if isinstance(flow.trigger, ScheduleTrigger)
        }

    # lifecycle ---------------------------------------------------------------------------------
    def __enter__(self) -> LocalRuntime:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Put the process back as it was: environment variables and the clock."""
        if self._closed:
            return
        self._closed = True
        self.environments.close()
        self.delayed.close()
        self.access.close()
        functions.clock.use_clock(self._previous_clock)

    # hooks ---------------------------------------------------------------------------------------
    def add_before_tick(self, hook: BeforeTick) -> Callable[[], None]:
        """Call `hook(now)` at every tick, before anything is delivered; returns its remover."""
        self._before_tick.append(hook)
        return lambda: self._before_tick.remove(hook)

    def add_after_invocation(self, hook: AfterInvocation) -> Callable[[], None]:
        """Call `hook(record)` after each invocation, outside the flow's environment (the ops replay
        attributes what changed to the flow that changed it); returns its remover."""
        self._after_invocation.append(hook)
        return lambda: self._after_invocation.remove(hook)

    def expect_messages(self) -> None:
        """Something outside the runtime sent messages: poll every queue at the next opportunity."""
        self._poll_every_queue()

    def _poll_every_queue(self) -> None:
        """Every queue flow's queue, or — when the runtime can see which queues hold messages — those
        holding any: an empty queue's receive returns nothing, so skipping it changes no delivery."""
        names = [flow.name for flow in self._queue_flows]
        if self._holding_messages is not None:
            holding = self._holding_messages([self.resources.queues[name].queue_url for name in names])
            names = [name for name in names if self.resources.queues[name].queue_url in holding]
            self._last_poll_at = self.clock.now()  # every queue was looked at: that is the idle poll
        self._queues_to_poll = set(names)

    def _poll_subscribers_of(self, detail_types: set[str]) -> None:
        """Poll the queues whose rules take any of `detail_types` (put on the bus, seen at the transport)."""
        if detail_types:
            self._queues_to_poll.update(
                queue_flow.name
                for queue_flow in self._queue_flows
                if detail_types & set(self.resources.queues[queue_flow.name].detail_types)
            )

    # running -------------------------------------------------------------------------------------
    def run_for(self, days: float = 0, *, hours: float = 0, minutes: float = 0) -> None:
        self.run_until(self.clock.now() + timedelta(days=days, hours=hours, minutes=minutes))

    def run_until(self, moment: datetime) -> None:
        """Process the current moment, then advance tick by tick until `moment`, processing each."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        self._poll_every_queue()  # messages may have been sent since the last call
        self.run_due()
        while self.clock.now() < moment:
            stop = min(self.clock.now() + self.tick, moment)
            held_until = self.delayed.next_due()
            if held_until is not None and self.clock.now() < held_until < stop:
                stop = held_until  # a delayed message is delivered when it is due, not at the next tick
            self.clock.advance_to(stop)
            self.run_due()

    def run_due(self) -> None:
        """Everything due at the current virtual moment: hooks (once per moment), messages whose
        visibility timeout passed, due schedules and async retries, then every queue until empty.

        Schedules and retries count as due when they are due at the moment this call started: one
        that falls due while handlers sleep waits for the next tick, so a handler sleeping longer
        than its period cannot keep this call going forever."""
        now = self.clock.now()
        if self._hooks_ran_at != now:
            self._hooks_ran_at = now
            for hook in list(self._before_tick):
                hook(now)  # a hook that sends messages says so with `expect_messages()`
        while True:
            released = self._release_due_messages()
            fired = self._fire_due_schedules(horizon=now)
            delivered = False
            if self._idle_poll_due():
                self._poll_every_queue()
            if released or fired or self._queues_to_poll:
                delivered = self.drain()
            if not (released or fired or delivered):
                return

    def drain(self) -> bool:
        """Deliver batches, one per queue flow per round, until a round finds every queue empty.
        Returns whether anything was delivered."""
        delivered_any = False
        for _ in range(MAX_DELIVERY_ROUNDS_PER_TICK):
            delivered = False
            polled_all = len(self._queues_to_poll) == len(self._queue_flows)
            for flow in self._queue_flows:
                if flow.name not in self._queues_to_poll:
                    continue
                if self._deliver_batch(flow):
                    delivered = True  # stays in the set: a full batch may leave more behind
                else:
                    self._queues_to_poll.discard(flow.name)
            if polled_all:
                self._last_poll_at = self.clock.now()
            if not delivered:
                return delivered_any
            delivered_any = True
            self._release_due_messages()  # handlers' sleeps may have carried the clock past deadlines
        raise RuntimeError(
            f"queues still had messages after {MAX_DELIVERY_ROUNDS_PER_TICK} delivery rounds at {self.clock.now()}: "
            "flows are probably feeding each other in a loop"
        )

    # invoking ------------------------------------------------------------------------------------
    def invoke(self, declaration: FlowDeclaration | str, event: dict[str, Any]) -> Any:
        """Call a flow's handler as Lambda would — its environment, a context, the virtual clock —
        and return its response or raise what it raised (`InvocationTimedOut` past its timeout)."""
        flow = self._flow(declaration)
        result = self._invoke(flow, event, source="direct", records=0)
        if result.exception is not None:
            raise result.exception
        return result.response

    def _invoke(
        self, flow: FlowDeclaration, event: dict[str, Any], *, source: Literal["sqs", "schedule", "direct"], records: int
    ) -> _InvocationResult:
        stats = self._stats[flow.name]
        stats.invocations += 1
        started = self.clock.now()
        context = self._context(flow, started)
        stop_crashing = observe_requests(self._crash_point(flow)) if self.crash_probability > 0 else None
        response: Any = None
        exception: BaseException | None = None
        with self.environments.entered(flow.name), self.access.invocation(self._grants[flow.name]) as access:
            try:
                response = self._handler(flow)(event, context)  # an import error fails the invocation, as in Lambda
            except SimulatedCrash as crash:
                exception = crash
            except Exception as error:
                exception = error
            finally:
                if stop_crashing is not None:
                    stop_crashing()
        self._poll_subscribers_of(access.detail_types_put)  # whatever the handler put is now in those queues
        self._poll_queues_at(self.delayed.take_sent_now())  # and what it sent straight to a queue
        elapsed = (self.clock.now() - started).total_seconds()
        if self.enforce_timeouts and elapsed > flow.timeout_seconds and not isinstance(exception, SimulatedCrash):
            exception = InvocationTimedOut(f"{flow.name} ran {elapsed:.0f} s of virtual time; its timeout is {flow.timeout_seconds} s")
        if isinstance(exception, (SimulatedCrash, InvocationTimedOut)):
            self.environments.discard(flow.name)  # Lambda replaces an environment that crashed or timed out
        outcome: Outcome = "succeeded"
        if isinstance(exception, SimulatedCrash):
            stats.crashes += 1
            outcome = "crash"
        elif isinstance(exception, InvocationTimedOut):
            stats.timeouts += 1
            outcome = "timeout"
        elif exception is not None:
            stats.errors += 1
            outcome = "error"
        record = InvocationRecord(
            flow=flow.name,
            source=source,
            started_at=started,
            finished_at=self.clock.now(),
            records=records,
            failed=records if exception is not None else 0,
            outcome=outcome,
            error=_describe(exception) if exception is not None else None,
        )
        if source == "direct":
            self.invocation_log.append(record)
        for hook in list(self._after_invocation):
            hook(record)
        return _InvocationResult(response=response, exception=exception, record=record)

    def _crash_point(self, flow: FlowDeclaration) -> Callable[[HttpExchange], None]:
        def maybe_crash(exchange: HttpExchange) -> None:
            if self._crash_rng.random() < self.crash_probability:
                path = urlsplit(exchange.url).path  # never the query: it could carry a credential
                raise SimulatedCrash(f"{flow.name} crashed after {exchange.method} {path} ({exchange.status})")

        return maybe_crash

    def _handler(self, flow: FlowDeclaration) -> Callable[[Any, Any], Any]:
        if flow.name not in self._handlers:
            module_name, _, attribute = flow.handler.rpartition(".")
            module = importlib.import_module(module_name)  # imported under the flow's environment, like a cold start
            self._handlers[flow.name] = getattr(module, attribute)
        return self._handlers[flow.name]

    def _context(self, flow: FlowDeclaration, started: datetime) -> LocalLambdaContext:
        function_name = self.resources.function_name(flow.name)
        return LocalLambdaContext(
            function_name=function_name,
            memory_limit_in_mb=flow.memory_mb,
            invoked_function_arn=self.resources.function_arn(flow.name),
            aws_request_id=self._new_id(),
            deadline=started + timedelta(seconds=flow.timeout_seconds),
            clock=self.clock,
            log_group_name=f"/aws/lambda/{function_name}",
            log_stream_name=f"{started:%Y/%m/%d}/[$LATEST]{self._new_id().replace('-', '')}",
        )

    def _flow(self, declaration: FlowDeclaration | str) -> FlowDeclaration:
        name = declaration if isinstance(declaration, str) else declaration.name
        if name not in self._by_name:
            raise KeyError(f"{name} is not one of this runtime's flows")
        return self._by_name[name]

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    # queues --------------------------------------------------------------------------------------
    def _queue_visibility(self, wiring: QueueWiring) -> timedelta:
        attributes = self._sqs.get_queue_attributes(QueueUrl=wiring.queue_url, AttributeNames=["VisibilityTimeout"])
        return timedelta(seconds=int(attributes["Attributes"]["VisibilityTimeout"]))

    def _deliver_batch(self, flow: FlowDeclaration) -> bool:
        wiring = self.resources.queues[flow.name]
        messages = self._receive(wiring, flow.batch_size)
        if not messages:
            return False
        received_at = self.clock.now()
        for message in messages:
            self._last_receive_count[message["MessageId"]] = int(message["Attributes"]["ApproximateReceiveCount"])
        event = {"Records": [self._lambda_record(message, wiring) for message in messages]}
        message_ids = [message["MessageId"] for message in messages]
        stats = self._stats[flow.name]
        stats.delivered += len(messages)

        result = self._invoke(flow, event, source="sqs", records=len(messages))
        record = result.record
        if result.exception is None:
            failed_ids = _reported_failures(result.response, message_ids)
            if failed_ids is None:
                stats.errors += 1
                failed_ids = set(message_ids)
                record = replace(record, outcome="malformed_response", error=f"not a valid batch response: {result.response!r:.300}")
            record = replace(record, failed=len(failed_ids))
            if failed_ids and record.outcome == "succeeded":
                record = replace(record, outcome="partial")
        else:
            failed_ids = set(message_ids)
        self.invocation_log.append(record)

        acknowledged = [message for message in messages if message["MessageId"] not in failed_ids]
        self._delete(wiring, acknowledged)
        stats.acknowledged += len(acknowledged)
        stats.retried += len(messages) - len(acknowledged)
        self._acknowledged_ids.setdefault(flow.name, set()).update(message["MessageId"] for message in acknowledged)
        visible_at = received_at + self._visibility[flow.name]
        self._in_flight.extend(
            _InFlight(flow.name, wiring.queue_url, message["ReceiptHandle"], visible_at)
            for message in messages
            if message["MessageId"] in failed_ids
        )
        return True

    def _receive(self, wiring: QueueWiring, batch_size: int) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while len(messages) < batch_size:
            response = self._sqs.receive_message(
                QueueUrl=wiring.queue_url,
                MaxNumberOfMessages=min(SQS_MAX_BATCH, batch_size - len(messages)),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                VisibilityTimeout=SQS_MAX_VISIBILITY_SECONDS,  # the virtual clock decides when it is visible again
                WaitTimeSeconds=0,
            )
            received = response.get("Messages", [])
            messages.extend(received)
            if len(received) < SQS_MAX_BATCH:
                break
        return messages

    def _lambda_record(self, message: dict[str, Any], wiring: QueueWiring) -> dict[str, Any]:
        """One record of Lambda's SQS event (lower-camel keys, attribute values as Lambda spells them)."""
        attributes = message.get("Attributes", {})
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {name: attributes[name] for name in SYSTEM_ATTRIBUTES if name in attributes}
            | {name: value for name, value in attributes.items() if name not in SYSTEM_ATTRIBUTES},
            "messageAttributes": {
                name: _lambda_message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": wiring.queue_arn,
            "awsRegion": self.resources.region,
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record

    def _delete(self, wiring: QueueWiring, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), SQS_MAX_BATCH):
            chunk = messages[start : start + SQS_MAX_BATCH]
            response = self._sqs.delete_message_batch(
                QueueUrl=wiring.queue_url,
                Entries=[{"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]} for index, message in enumerate(chunk)],
            )
            if response.get("Failed"):
                raise RuntimeError(f"could not delete processed messages from {wiring.queue_name}: {response['Failed']}")

    def _poll_queues_at(self, urls: set[str]) -> None:
        if urls:
            self._queues_to_poll.update(name for name, wiring in self.resources.queues.items() if wiring.queue_url in urls)

    def _release_due_messages(self) -> bool:
        """Send the held delayed messages that are due; make visible again the messages whose
        (virtual) visibility timeout has passed."""
        released_delayed = self.delayed.release_due(self._sqs)
        self._poll_queues_at(released_delayed)
        now = self.clock.now()
        due = [message for message in self._in_flight if message.visible_at <= now]
        if not due:
            return bool(released_delayed)
        self._in_flight = [message for message in self._in_flight if message.visible_at > now]
        by_queue: dict[str, list[_InFlight]] = {}
        for message in due:
            by_queue.setdefault(message.queue_url, []).append(message)
        for queue_url, messages in by_queue.items():
            for start in range(0, len(messages), SQS_MAX_BATCH):
                chunk = messages[start : start + SQS_MAX_BATCH]
                try:
                    self._sqs.change_message_visibility_batch(
                        QueueUrl=queue_url,
                        Entries=[
                            {"Id": str(index), "ReceiptHandle": message.receipt_handle, "VisibilityTimeout": 0}
                            for index, message in enumerate(chunk)
                        ],
                    )  # entries whose message is gone (deleted, purged) fail individually: nothing to release
                except ClientError as error:
                    if error.response["Error"]["Code"] not in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
                        raise
        _after_moto_released(time.time())
        self._poll_queues_at({message.queue_url for message in due})
        return True

    def _idle_poll_due(self) -> bool:
        return bool(self._queue_flows) and self.clock.now() - self._last_poll_at >= self.idle_poll_interval

    # schedules -----------------------------------------------------------------------------------
    def _fire_due_schedules(self, horizon: datetime) -> bool:
        fired = False
        due_retries = sorted(
            (retry for retry in self._pending_retries if retry.due <= horizon),
            key=lambda retry: (retry.due, self.flows.index(self._by_name[retry.flow])),
        )
        for retry in due_retries:
            self._pending_retries.remove(retry)
            self._run_scheduled(self._by_name[retry.flow], retry.event, retry.attempt)
            fired = True
        for flow in self._schedule_flows:
            assert isinstance(flow.trigger, ScheduleTrigger)
            slot = self._next_slot[flow.name]
            if horizon < slot:
                continue
            every = timedelta(minutes=flow.trigger.every_minutes)
            skipped = (self.clock.now() - slot) // every
            slot += skipped * every
            self._next_slot[flow.name] = slot + every
            stats = self._stats[flow.name]
            stats.scheduled_runs += 1
            stats.skipped_slots += skipped
            self._run_scheduled(flow, self._scheduled_event(flow, slot), attempt=1)
            fired = True
        return fired

    def _run_scheduled(self, flow: FlowDeclaration, event: dict[str, Any], attempt: int) -> None:
        stats = self._stats[flow.name]
        stats.delivered += 1
        result = self._invoke(flow, event, source="schedule", records=1)
        self.invocation_log.append(result.record)
        if result.exception is None:
            stats.succeeded += 1
        elif attempt <= len(ASYNC_RETRY_DELAYS):
            stats.retried += 1
            due = self.clock.now() + ASYNC_RETRY_DELAYS[attempt - 1]
            self._pending_retries.append(_PendingRetry(due=due, flow=flow.name, event=event, attempt=attempt + 1))
        else:
            stats.failed_runs += 1

    def _scheduled_event(self, flow: FlowDeclaration, slot: datetime) -> dict[str, Any]:
        return {
            "version": "0",
            "id": self._new_id(),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.resources.account,
            "time": slot.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.resources.region,
            "resources": [self.resources.schedules[flow.name].rule_arn],
            "detail": {},
        }

    # reading the outcome -------------------------------------------------------------------------
    def dead_letters(self) -> list[DeadLetter]:
        """Every message in every flow's DLQ (read, not removed), in flow order."""
        letters: list[DeadLetter] = []
        for flow in self._queue_flows:
            wiring = self.resources.queues[flow.name]
            for message in self._peek(wiring.dead_letter_queue_url):
                letters.append(self._dead_letter(flow, wiring, message))
        return letters

    def stats(self) -> dict[str, FlowStats]:
        """A snapshot per flow; dead letters are counted now, by reading the DLQs."""
        snapshot: dict[str, FlowStats] = {name: replace(stats) for name, stats in self._stats.items()}
        letters = self.dead_letters()
        for flow in self._queue_flows:
            own = [letter for letter in letters if letter.flow == flow.name]
            by_handler = {letter.original_message_id for letter in own if letter.dead_lettered_by == "handler"}
            acknowledged = self._acknowledged_ids.get(flow.name, set())
            stats = snapshot[flow.name]
            stats.dead_lettered = len(own)
            stats.moved_by_redrive = sum(1 for letter in own if letter.dead_lettered_by == "sqs-redrive")
            stats.succeeded = len(acknowledged - by_handler)
        return snapshot

    def _peek(self, queue_url: str) -> list[dict[str, Any]]:
        """Receive everything (hidden briefly so each message is seen once), then make it visible again."""
        seen: dict[str, dict[str, Any]] = {}
        handles: list[str] = []
        while True:
            response = self._sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=SQS_MAX_BATCH,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                VisibilityTimeout=60,
                WaitTimeSeconds=0,
            )
            received = response.get("Messages", [])
            if not received:
                break
            for message in received:
                seen.setdefault(message["MessageId"], message)
                handles.append(message["ReceiptHandle"])
        for start in range(0, len(handles), SQS_MAX_BATCH):
            self._sqs.change_message_visibility_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                    for index, handle in enumerate(handles[start : start + SQS_MAX_BATCH])
                ],
            )
        return list(seen.values())

    def _dead_letter(self, flow: FlowDeclaration, wiring: QueueWiring, message: dict[str, Any]) -> DeadLetter:
        attributes = {name: value.get("StringValue") for name, value in message.get("MessageAttributes", {}).items()}
        if attributes.get("reason"):
            count = attributes.get("receive_count")
            return DeadLetter(
                flow=flow.name,
                message_id=message["MessageId"],
                body=message["Body"],
                error_code=attributes.get("error_code"),
                reason=attributes["reason"] or "",
                receive_count=int(count) if count and count.isdigit() else None,
                original_message_id=attributes.get("original_message_id"),
                dead_lettered_by="handler",
            )
        # SQS keeps the message id when redrive moves a message; the runtime saw its last receive.
        receives = self._last_receive_count.get(message["MessageId"], wiring.max_receives)
        return DeadLetter(
            flow=flow.name,
            message_id=message["MessageId"],
            body=message["Body"],
            error_code=None,
            reason=f"moved by SQS redrive after {receives} receives (no handler reason)",
            receive_count=receives,
            original_message_id=message["MessageId"],
            dead_lettered_by="sqs-redrive",
        )


def _after_moto_released(released_at: float) -> None:
    """moto makes a message visible again when its wall clock (float milliseconds, from a datetime:
    microsecond steps) is strictly past the moment of ChangeMessageVisibility(0). Wait until the
    clock has moved past the moment the release returned — a few microseconds, not a fixed 2 ms —
    so the next receive sees the message."""
    while time.time() <= released_at + 0.000_002:
        time.sleep(0)


def _trigger_kind(flow: FlowDeclaration) -> Literal["queue", "schedule", "direct"]:
    if flow.consumes_queue:
        return "queue"
    return "schedule" if isinstance(flow.trigger, ScheduleTrigger) else "direct"


def _reported_failures(response: Any, message_ids: list[str]) -> set[str] | None:
    """The message ids a ReportBatchItemFailures response names; None when Lambda would reject it
    (and fail the whole batch)."""
    if response is None:
        return set()
    if not isinstance(response, dict):
        return None
    failures = response.get("batchItemFailures")
    if not failures:
        return set()
    if not isinstance(failures, list):
        return None
    known = set(message_ids)
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in known:
            return None
        failed.add(identifier)
    return failed


def _lambda_message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    attribute["stringListValues"] = list(value.get("StringListValues", []))
    attribute["binaryListValues"] = [base64.b64encode(item).decode("ascii") for item in value.get("BinaryListValues", [])]
    attribute["dataType"] = value["DataType"]
    return attribute


def _describe(error: BaseException) -> str:
    return f"{error.__class__.__name__}: {error}"[:1000]
