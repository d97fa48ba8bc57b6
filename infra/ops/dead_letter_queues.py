"""Reading and redriving the flows' dead-letter queues, by name (infra/naming.py), through boto3.

What a DLQ message can be, and how it is explained:
- dead-lettered by the handler (functions/dead_letters.py): message attributes `flow`, `error_code`,
  `reason`, `receive_count`, `original_message_id`;
- moved by SQS's redrive policy after `max_receives` (the invocation crashed before the handler could
  say why): no attributes — "moved by SQS redrive (no handler reason)";
- a scheduled flow's failed asynchronous invocation, kept by Lambda: attributes `ErrorCode`,
  `ErrorMessage`, `RequestID`; the body is the schedule's event.

Listing groups the messages by reason (`group_by_reason`): per queue, how many share a reason — the
numbers in a reason (product ids, counts, timestamps) masked, so "product 41 has no title" and
"product 42 has no title" are one group — then each message. Listing never consumes: messages are received with a short visibility timeout (so paging moves on
instead of returning the same ten again), then made visible again at once. The DLQ copy's
ApproximateReceiveCount goes up by one per listing; nothing reads it (DLQs have no redrive policy).

Redriving sends the original body back to the flow's queue without the reason attributes, and deletes
the DLQ message only after the send succeeded: a crash in between leaves a duplicate, never a loss,
and the flows are idempotent. A scheduled flow's messages are redriven by invoking its function
asynchronously with the stored event.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError

from functions.domain.errors import PermanentError
from functions.domain.events import EVENT_TYPES, BusEvent, parse_bus_envelope
from functions.object_events import OBJECT_CREATED, parse_object_created
from infra.flows import FlowDeclaration, ScheduleTrigger
from infra.naming import ResourceNames

SQS_REDRIVE_REASON = "moved by SQS redrive (no handler reason)"
# Long enough to page through a large DLQ in one listing; short enough that messages a crashed
# listing left hidden reappear soon.
PEEK_VISIBILITY_SECONDS = 30
REDRIVE_VISIBILITY_SECONDS = 60
# Long polling asks every SQS server, so an empty answer means the queue is drained, not "unlucky".
RECEIVE_WAIT_SECONDS = 1
SQS_BATCH = 10
SUMMARY_CHARS = 80


NUMBERS = re.compile(r"\d+")
NUMBER_MASK = "#"


class QueueNotFound(LookupError):
    """The deployment (prefix) has no queue of that name."""


@dataclass(frozen=True)
class DeadLetter:
    """One DLQ message as an operator needs to see it."""

    flow: str
    message_id: str
    origin: str  # handler | sqs-redrive | lambda-async
    error_code: str | None
    reason: str
    receive_count: str | None
    detail_type: str | None
    entity: str | None
    dead_lettered_at: str | None
    original_message_id: str | None
    body: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ReasonGroup:
    """The dead letters of one queue that failed for the same reason (numbers in it masked)."""

    flow: str
    error_code: str | None
    reason: str  # the shared reason, its numbers shown as "#"
    example: str  # one message's reason as it was written
    message_ids: list[str]

    @property
    def count(self) -> int:
        return len(self.message_ids)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"count": self.count}


def reason_pattern(reason: str) -> str:
    """A reason with its numbers masked: what messages failing the same way have in common."""
    return NUMBERS.sub(NUMBER_MASK, " ".join(reason.split()))


def group_by_reason(messages: Sequence[DeadLetter]) -> list[ReasonGroup]:
    """Per queue (in the order given), the reasons from the most to the least frequent."""
    groups: dict[tuple[str, str | None, str], ReasonGroup] = {}
    for message in messages:
        pattern = reason_pattern(message.reason)
        key = (message.flow, message.error_code, pattern)
        if key not in groups:
            groups[key] = ReasonGroup(message.flow, message.error_code, pattern, message.reason, [])
        groups[key].message_ids.append(message.message_id)
    flow_order = list(dict.fromkeys(message.flow for message in messages))
    return sorted(groups.values(), key=lambda group: (flow_order.index(group.flow), -group.count, group.reason))


def in_group_order(messages: Sequence[DeadLetter], groups: Sequence[ReasonGroup]) -> list[DeadLetter]:
    """The messages in the order of their groups, so each group's messages are listed together."""
    position = {message_id: index for index, group in enumerate(groups) for message_id in group.message_ids}
    return sorted(messages, key=lambda message: position[message.message_id])


@dataclass(frozen=True)
class ReceivedMessage:
    receipt_handle: str
    dead_letter: DeadLetter


@dataclass
class RedriveResult:
    flow: str
    target: str  # the queue or function the messages went back to
    dry_run: bool
    moved: list[str]
    failed: dict[str, str]  # message id -> why
    left_in_place: int = 0
    note: str = ""
    # What moved (or, in a dry run, would move): for the operator's record of what was replayed.
    moved_messages: list[DeadLetter] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["moved_messages"] = [
            {key: value for key, value in message.as_dict().items() if key != "body"} for message in self.moved_messages
        ]
        return document


def has_dead_letter_queue(declaration: FlowDeclaration) -> bool:
    """Queue flows (domain events or S3 object events) and scheduled flows keep what failed; an HTTP
    flow answers its caller instead."""
    return declaration.consumes_queue or isinstance(declaration.trigger, ScheduleTrigger)


def queue_url(sqs: Any, name: str) -> str:
    try:
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] in {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}:
            raise QueueNotFound(name) from exc
        raise


def describe(flow: str, message: dict[str, Any]) -> DeadLetter:
    """Turn a received SQS message into the operator's view of it."""
    attributes = {name: value.get("StringValue") for name, value in message.get("MessageAttributes", {}).items()}
    system = message.get("Attributes", {})
    body = message.get("Body", "")
    detail_type, entity = summarize_body(body)
    if "reason" in attributes:
        origin, error_code, reason = "handler", attributes.get("error_code"), attributes["reason"] or ""
    elif "ErrorMessage" in attributes or "ErrorCode" in attributes:
        origin = "lambda-async"
        error_code = attributes.get("ErrorCode")
        reason = f"Lambda gave up on the asynchronous invocation: {attributes.get('ErrorMessage') or 'no message'}"
    else:
        origin, error_code, reason = "sqs-redrive", None, SQS_REDRIVE_REASON
    sent = system.get("SentTimestamp")
    return DeadLetter(
        flow=flow,
        message_id=message["MessageId"],
        origin=origin,
        error_code=error_code,
        reason=reason,
        receive_count=attributes.get("receive_count"),
        detail_type=detail_type,
        entity=entity,
        dead_lettered_at=datetime.fromtimestamp(int(sent) / 1000, tz=timezone.utc).isoformat(timespec="seconds") if sent else None,
        original_message_id=attributes.get("original_message_id") or attributes.get("RequestID"),
        body=body,
    )


def summarize_body(body: str) -> tuple[str | None, str | None]:
    """(detail-type, entity) of an EventBridge event body; as much as can be read of a broken one."""
    try:
        _, event = parse_bus_envelope(body, tuple(EVENT_TYPES.values()))
        return event.detail_type, event.entity_key()
    except PermanentError:
        pass
    try:  # an S3 object event (the export ingest's): the object is the entity
        stored = parse_object_created(body)
        return OBJECT_CREATED, stored.entity_key()
    except PermanentError:
        pass
    try:
        envelope = BusEvent.model_validate_json(body)
    except ValueError:
        compact = " ".join(body.split())
        return None, f"unreadable body: {compact[:SUMMARY_CHARS]}"
    return envelope.detail_type, entity_hint(envelope.detail)


def entity_hint(detail: dict[str, Any]) -> str | None:
    """The entity of a detail that did not validate (an unknown version, a missing field)."""
    if isinstance(detail.get("product_id"), int):
        return f"episode#{detail['product_id']}"
    episode = detail.get("episode")
    if isinstance(episode, dict) and isinstance(episode.get("product_id"), int):
        return f"episode#{episode['product_id']}"
    if isinstance(detail.get("series_id"), int):
        return f"series#{detail['series_id']}"
    return None


def receive_all(sqs: Any, url: str, flow: str, visibility_seconds: int, limit: int | None = None) -> Iterator[ReceivedMessage]:
    """Every message currently in the queue, each once, hidden for `visibility_seconds` after it is
    yielded. Stops on an empty long-polled receive, or after `limit` messages."""
    seen: set[str] = set()
    while limit is None or len(seen) < limit:
        wanted = SQS_BATCH if limit is None else min(SQS_BATCH, limit - len(seen))
        response = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=wanted,
            VisibilityTimeout=visibility_seconds,
            WaitTimeSeconds=RECEIVE_WAIT_SECONDS,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        )
        messages = [m for m in response.get("Messages", []) if m["MessageId"] not in seen]
        if not messages:
            return
        for message in messages:
            seen.add(message["MessageId"])
            yield ReceivedMessage(receipt_handle=message["ReceiptHandle"], dead_letter=describe(flow, message))


def release(sqs: Any, url: str, receipt_handles: list[str]) -> None:
    """Make received messages visible again at once."""
    for start in range(0, len(receipt_handles), SQS_BATCH):
        batch = receipt_handles[start : start + SQS_BATCH]
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0} for i, handle in enumerate(batch)],
        )


def list_dead_letters(sqs: Any, names: ResourceNames, flow: str) -> list[DeadLetter]:
    """Every message in the flow's DLQ, left in place. Raises QueueNotFound."""
    url = queue_url(sqs, names.dead_letter_queue(flow))
    received = list(receive_all(sqs, url, flow, PEEK_VISIBILITY_SECONDS))
    release(sqs, url, [m.receipt_handle for m in received])
    return [m.dead_letter for m in received]


def redrive_to_queue(sqs: Any, names: ResourceNames, flow: str, *, dry_run: bool, limit: int | None) -> RedriveResult:
    """Move DLQ messages back to the flow's queue. Raises QueueNotFound."""
    dead_letter_url = queue_url(sqs, names.dead_letter_queue(flow))
    target_url = queue_url(sqs, names.queue(flow))
    result = RedriveResult(flow=flow, target=names.queue(flow), dry_run=dry_run, moved=[], failed={})

    def send(message: DeadLetter) -> None:
        sqs.send_message(QueueUrl=target_url, MessageBody=message.body)

    _redrive(sqs, dead_letter_url, flow, send, result, limit)
    return result


def redrive_to_function(
    sqs: Any, lambda_client: Any, names: ResourceNames, flow: str, *, dry_run: bool, limit: int | None
) -> RedriveResult:
    """Re-run a scheduled flow's failed invocations asynchronously. Without a deployed function (the
    sandbox plays scheduled flows itself) the messages stay: the next scheduled run does their work."""
    dead_letter_url = queue_url(sqs, names.dead_letter_queue(flow))
    function_name = names.function(flow)
    result = RedriveResult(flow=flow, target=function_name, dry_run=dry_run, moved=[], failed={})
    if not function_exists(lambda_client, function_name):
        waiting = list(receive_all(sqs, dead_letter_url, flow, PEEK_VISIBILITY_SECONDS, limit))
        release(sqs, dead_letter_url, [m.receipt_handle for m in waiting])
        result.left_in_place = len(waiting)
        result.note = (
            f"no Lambda function {function_name} in this deployment (the sandbox runs scheduled flows itself): "
            f"the next scheduled run of {flow} covers what these runs would have done"
        )
        return result

    def invoke(message: DeadLetter) -> None:
        response = lambda_client.invoke(FunctionName=function_name, InvocationType="Event", Payload=message.body.encode())
        if response.get("StatusCode") != 202:
            raise RuntimeError(f"asynchronous invoke answered {response.get('StatusCode')}")

    _redrive(sqs, dead_letter_url, flow, invoke, result, limit)
    return result


def function_exists(lambda_client: Any, function_name: str) -> bool:
    try:
        lambda_client.get_function(FunctionName=function_name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return False
        raise
    return True


def _redrive(
    sqs: Any,
    dead_letter_url: str,
    flow: str,
    deliver: Callable[[DeadLetter], None],
    result: RedriveResult,
    limit: int | None,
) -> None:
    """Deliver each message, then delete it; a message whose delivery failed is made visible again."""
    keep: list[str] = []
    for received in receive_all(sqs, dead_letter_url, flow, REDRIVE_VISIBILITY_SECONDS, limit):
        message = received.dead_letter
        if result.dry_run:
            keep.append(received.receipt_handle)
        else:
            try:
                deliver(message)
            except (ClientError, RuntimeError) as exc:
                result.failed[message.message_id] = str(exc)
                keep.append(received.receipt_handle)
                continue
            sqs.delete_message(QueueUrl=dead_letter_url, ReceiptHandle=received.receipt_handle)
        result.moved.append(message.message_id)
        result.moved_messages.append(message)
    release(sqs, dead_letter_url, keep)
    result.left_in_place = len(keep)


def redrive_summary(result: RedriveResult) -> str:
    if result.note:
        return f"{result.flow}: {result.left_in_place} message(s) left in the DLQ; {result.note}"
    verb = "would move" if result.dry_run else "moved"
    summary = f"{result.flow}: {verb} {len(result.moved)} message(s) to {result.target}"
    if result.failed:
        summary += f"; {len(result.failed)} failed and stay in the DLQ"
    return summary
