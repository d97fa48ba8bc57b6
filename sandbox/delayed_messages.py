"""SQS message delays (`DelaySeconds`) on the virtual clock.

moto holds a delayed message for that many seconds of wall time, which in a virtual run is either
far too late (a day of virtual time passes in seconds) or, in a slow run, out of step with
everything else. So the runtime takes the delayed sends to the queues it runs out of moto's hands:
a `SendMessage` / `SendMessageBatch` carrying a delay is answered as SQS answers it (message id,
MD5 of the body and of the attributes), without reaching moto, and each message is held until its
virtual due time, when the runtime sends it for real, without delay; from then on it is an ordinary
message (receive counts, visibility, redrive are moto's and the runtime's as for any other).

Like the grant checks, this applies to the botocore sessions created after the runtime started:
every invocation's, the runtime's own; code outside (a test, a hook) uses a new session to be held
too. Only calls an invocation is allowed to make are held (a denied one is answered with its denial
first), only for this runtime's queues, and only with a valid delay (0-900 s; anything else goes to
moto, which refuses it as SQS does). The answered call is counted as a request of the caller, as the
real one would be. The queue's own default delay is not emulated: the stack sets none.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.endpoint import convert_to_response_dict
from botocore.model import OperationModel
from botocore.parsers import create_parser

from infra.flows import MAX_MESSAGE_DELAY_SECONDS
from sandbox.aws_transport import BufferedBody, install_botocore_handlers
from sandbox.clock import VirtualClock

SEND_OPERATIONS = ("SendMessage", "SendMessageBatch")
SEND_BATCH_LIMIT = 10
_HELD = "sandbox_delayed_messages"


@dataclass(frozen=True)
class HeldMessage:
    queue_url: str
    body: str
    attributes: Mapping[str, Any]
    due: datetime


@dataclass
class DelayedMessages:
    """Holds delayed sends to `queue_urls` until `clock` reaches their due time."""

    clock: VirtualClock
    queue_urls: frozenset[str]
    new_id: Callable[[], str]
    count_request: Callable[[], None]
    held: list[HeldMessage] = field(default_factory=list)
    sent_now: set[str] = field(default_factory=set)  # queues sent to without a delay, since last asked
    _remove_handlers: Callable[[], None] | None = None

    def open(self) -> DelayedMessages:
        """Install the handlers (after the grant checks, so a denied send is answered as denied)."""
        if self._remove_handlers is None:
            self._remove_handlers = install_botocore_handlers(("before-parameter-build", self._take), ("before-call", self._answer))
        return self

    def close(self) -> None:
        if self._remove_handlers is not None:
            self._remove_handlers()
            self._remove_handlers = None

    def take_sent_now(self) -> set[str]:
        """The queues that received undelayed messages since the last call (the runtime polls them)."""
        sent, self.sent_now = self.sent_now, set()
        return sent

    def next_due(self) -> datetime | None:
        return min((message.due for message in self.held), default=None)

    def release_due(self, sqs: Any) -> set[str]:
        """Send every message whose due time has come (as the runtime's own calls); returns their queues."""
        now = self.clock.now()
        due = [message for message in self.held if message.due <= now]
        if not due:
            return set()
        self.held = [message for message in self.held if message.due > now]
        by_queue: dict[str, list[HeldMessage]] = {}
        for message in sorted(due, key=lambda m: m.due):
            by_queue.setdefault(message.queue_url, []).append(message)
        for queue_url, messages in by_queue.items():
            for start in range(0, len(messages), SEND_BATCH_LIMIT):
                chunk = messages[start : start + SEND_BATCH_LIMIT]
                entries = [{"Id": str(index), "MessageBody": m.body, **_with_attributes(m.attributes)} for index, m in enumerate(chunk)]
                response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
                if response.get("Failed"):
                    raise RuntimeError(f"could not release delayed messages to {queue_url}: {response['Failed']}")
        return set(by_queue)

    # botocore handlers ------------------------------------------------------------------------
    def _take(self, params: Mapping[str, Any], model: OperationModel, context: dict[str, Any], **_: Any) -> None:
        if model.service_model.endpoint_prefix != "sqs" or model.name not in SEND_OPERATIONS:
            return
        if context.get("sandbox_access_denied") is not None or params.get("QueueUrl") not in self.queue_urls:
            return
        entries = params.get("Entries", []) if model.name == "SendMessageBatch" else [params]
        delays = [int(entry.get("DelaySeconds", 0)) for entry in entries]
        if not any(delays) or not all(0 <= delay <= MAX_MESSAGE_DELAY_SECONDS for delay in delays):
            self.sent_now.add(str(params["QueueUrl"]))  # nothing delayed, or an invalid delay moto refuses as SQS does
            return
        context[_HELD] = (str(params["QueueUrl"]), list(zip(entries, delays, strict=True)))

    def _answer(self, model: OperationModel, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        taken = context.get(_HELD)
        if taken is None:
            return None
        queue_url, entries = taken
        now = self.clock.now()
        answers = []
        for entry, delay in entries:
            attributes = entry.get("MessageAttributes", {})
            self.held.append(HeldMessage(queue_url, entry["MessageBody"], attributes, now + timedelta(seconds=delay)))
            answer = {"MessageId": self.new_id(), "MD5OfMessageBody": _md5(entry["MessageBody"].encode("utf-8"))}
            if attributes:
                answer["MD5OfMessageAttributes"] = attributes_md5(attributes)
            answers.append((entry, answer))
        self.count_request()
        if model.name == "SendMessage":
            document: dict[str, Any] = answers[0][1]
        else:
            document = {"Successful": [{"Id": entry["Id"], **answer} for entry, answer in answers], "Failed": []}
        return _json_response(model, document)


def _with_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {"MessageAttributes": dict(attributes)} if attributes else {}


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # noqa: S324 - SQS's checksum of the message, not security


def attributes_md5(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """SQS's MD5 of message attributes: for each name in order, the length-prefixed name, data type
    and a transport byte (1 string, 2 binary) with the length-prefixed value."""
    digest = hashlib.md5()  # noqa: S324 - see _md5
    for name in sorted(attributes):
        value = attributes[name]
        for part in (name.encode("utf-8"), str(value["DataType"]).encode("utf-8")):
            digest.update(struct.pack("!I", len(part)) + part)
        if "StringValue" in value:
            data, kind = str(value["StringValue"]).encode("utf-8"), 1
        else:
            raw = value["BinaryValue"]
            data, kind = (raw if isinstance(raw, bytes) else str(raw).encode("utf-8")), 2
        digest.update(bytes([kind]) + struct.pack("!I", len(data)) + data)
    return digest.hexdigest()


def _json_response(model: OperationModel, document: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    headers = {"x-amzn-RequestId": "sandbox-delayed-send", "Content-Type": "application/x-amz-json-1.0"}
    http = AWSResponse("https://sqs.sandbox.invalid/", 200, headers, BufferedBody(json.dumps(document).encode()))
    parsed = create_parser(model.service_model.resolved_protocol).parse(convert_to_response_dict(http, model), model.output_shape)
    return http, parsed
