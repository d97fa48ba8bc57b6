"""The signed webhook: a delivery becomes a `TakedownReported` event only when it is a POST within the
size limit, authentic (HMAC-SHA256 over timestamp and body, constant-time comparison), fresh (within
the tolerance), first-time (this delivery — timestamp and body — not seen before, whichever key signed it), and a valid notice.

Checks run in that order and the first failure answers. Rejections are plain, stable JSON
(`{"error": code, "message": text}`) that say which rule failed but nothing that helps a forger: a
signature that does not match and a stale timestamp both answer 401 with the same message, because
`authenticate_delivery` checks the signature before the time. Bad input never answers 500.

| status | when |
| --- | --- |
| 202 | accepted: `{"accepted": notice_id}` (also for a notice id already accepted: it is not emitted twice) |
| 400 | a body flagged base64 that is not base64 |
| 401 | signature headers missing or malformed, signature wrong, or timestamp outside the tolerance |
| 405 | not a POST (with `Allow: POST`) |
| 409 | this exact delivery (timestamp and body) was already received |
| 413 | body larger than `MAX_BODY_BYTES` |
| 422 | authentic, but not a valid notice (the first validation problem is named; a `reported_at` in the future beyond the tolerance, or outside 2000–2100, is not valid) |
| 503 | the endpoint cannot verify or forward right now (secret or event bus unavailable), or its own
configuration is broken (a setting missing, a blank or malformed signing key: `misconfigured`, counted as
`WebhookMisconfigured`, an alarm): retry later |

Senders retrying a lost answer re-sign (new timestamp, so a new signature); the notice id then keeps
the event single: an accepted notice id is remembered for `NOTICE_RETENTION_SECONDS`. When forwarding
to the bus fails, the delivery and the notice id are forgotten again, so the sender's retry of the
very same delivery is accepted instead of being refused as a replay.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field, field_validator

from functions.domain.errors import TransientError
from functions.domain.events import TakedownReported
from functions.domain.notices import InvalidNotice, parse_notice
from functions.event_bus import EventBus
from functions.settings import ConfigurationError
from functions.state.dynamo import dynamodb_client, to_item
from functions.state.idempotency import AlreadyInProgress, IdempotencyStore
from functions.webhook.signature import DynamoReplayGuard, ReplayGuard, WebhookRejected, authenticate_delivery

MAX_BODY_BYTES = 64 * 1024
NOTICE_RETENTION_SECONDS = 7 * 24 * 3600
NOTICE_KEY_PREFIX = "webhook-notice#"
CLAIM_LEASE_SECONDS = 30.0
UNAUTHENTICATED_MESSAGE = "the delivery is not signed correctly or its timestamp is outside the allowed window"


class FunctionUrlHttp(BaseModel):
    model_config = ConfigDict(extra="ignore")

    method: str
    source_ip: str | None = Field(default=None, alias="sourceIp")


class FunctionUrlContext(BaseModel):
    model_config = ConfigDict(extra="ignore")

    http: FunctionUrlHttp
    request_id: str | None = Field(default=None, alias="requestId")


class FunctionUrlRequest(BaseModel):
    """A Lambda function URL event (payload format 2.0): lower-case headers, maybe a base64 body."""

    model_config = ConfigDict(extra="ignore")

    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    is_base64_encoded: bool = Field(default=False, alias="isBase64Encoded")
    request_context: FunctionUrlContext = Field(alias="requestContext")

    @field_validator("headers", mode="before")
    @classmethod
    def _no_headers_is_empty(cls, value: object) -> object:
        return {} if value is None else value


class WebhookResponse(BaseModel):
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = Field(default_factory=dict)
    rejection: str | None = None  # the rule a 4xx delivery failed, for the metric and the log
    failure: str | None = None  # why a 503 happened (the endpoint's problem, not the sender's)
    misconfigured: bool = False  # the 503 is the deployment's fault (a setting or the signing key), not a passing outage
    notice_id: str | None = None

    def as_function_url_response(self) -> dict[str, Any]:
        return {
            "statusCode": self.status,
            "headers": {"content-type": "application/json", **self.headers},
            "body": json.dumps(self.body),
        }


@dataclass
class WebhookDeps:
    secrets: Callable[[], Sequence[str]]  # the signing keys accepted now (more than one while rotating)
    replay_guard: ReplayGuard
    notices: IdempotencyStore
    bus: EventBus
    tolerance_seconds: int
    max_body_bytes: int = MAX_BODY_BYTES
    forget_delivery: Callable[[str], None] = field(default=lambda delivery: None)


def receive_delivery(request: FunctionUrlRequest, deps: WebhookDeps, now: datetime) -> WebhookResponse:
    method = request.request_context.http.method.upper()
    if method != "POST":
        return _rejected(405, "method_not_allowed", "only POST is accepted", headers={"allow": "POST"})

    body = _body_bytes(request, deps.max_body_bytes)
    if isinstance(body, WebhookResponse):
        return body

    try:
        secrets = list(deps.secrets())
    except ConfigurationError as exc:  # the secret holds something that is not a usable key
        return misconfigured(str(exc))
    except Exception:  # whatever went wrong reading the keys, the sender only learns "later"
        return _unavailable("secret_unavailable")
    if not secrets or not all(key.strip() for key in secrets):
        return misconfigured("the webhook signing key is blank")
    try:
        verified = authenticate_delivery(secrets, request.headers, body, now, deps.replay_guard, deps.tolerance_seconds)
    except WebhookRejected as exc:
        if exc.http_status == 409:
            return _rejected(409, exc.code, "this delivery was already received")
        return _rejected(401, exc.code, UNAUTHENTICATED_MESSAGE, public_code="unauthenticated")
    except (ClientError, BotoCoreError):
        return _unavailable("replay_guard_unavailable")

    try:
        notice = parse_notice(body)
    except InvalidNotice as exc:
        return _rejected(422, exc.code, f"not a valid notice: {exc}")
    if notice.reported_at > now + timedelta(seconds=deps.tolerance_seconds):
        return _rejected(422, InvalidNotice.code, "not a valid notice: reported_at is in the future")

    key = NOTICE_KEY_PREFIX + notice.notice_id
    try:
        if deps.notices.claim(key, CLAIM_LEASE_SECONDS) is not None:
            return WebhookResponse(status=202, body={"accepted": notice.notice_id, "duplicate": True}, notice_id=notice.notice_id)
    except AlreadyInProgress:
        # The same notice is being forwarded by a concurrent delivery; answer "later", keep its claim.
        _forget(deps, verified.delivery_id, None)
        return _unavailable("notice_in_progress")
    except (TransientError, ClientError, BotoCoreError):
        _forget(deps, verified.delivery_id, None)
        return _unavailable("notice_store_unavailable")
    try:
        deps.bus.publish([TakedownReported(notice=notice, correlation_id=notice.notice_id)])
    except (TransientError, ClientError, BotoCoreError):
        _forget(deps, verified.delivery_id, key)
        return _unavailable("forwarding_failed")
    try:
        deps.notices.complete(key, {"accepted": notice.notice_id})
    except (ClientError, BotoCoreError):
        pass  # the event is out; the claim's lease lapses, and a re-sent notice is harmless downstream
    return WebhookResponse(status=202, body={"accepted": notice.notice_id}, notice_id=notice.notice_id)


def _body_bytes(request: FunctionUrlRequest, limit: int) -> bytes | WebhookResponse:
    raw = request.body or ""
    # Cheap size check before decoding: base64 is 4 characters per 3 bytes.
    encoded_limit = (limit + 2) // 3 * 4 if request.is_base64_encoded else limit * 4
    if len(raw) > encoded_limit:
        return _too_large(limit)
    if request.is_base64_encoded:
        try:
            body = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return _rejected(400, "bad_encoding", "the body is flagged base64 but is not valid base64")
    else:
        try:
            body = raw.encode("utf-8")
        except UnicodeEncodeError:
            return _rejected(400, "bad_encoding", "the body is not valid UTF-8 text")
    return _too_large(limit) if len(body) > limit else body


def _forget(deps: WebhookDeps, delivery: str, notice_key: str | None) -> None:
    """Undo what this delivery recorded, so its retry is not mistaken for a replay or a duplicate."""
    try:
        deps.forget_delivery(delivery)
        if notice_key is not None:
            deps.notices.release(notice_key)
    except (ClientError, BotoCoreError):
        pass  # the records expire on their own (TTL); the sender's re-signed retry still gets through


def forget_delivery_in(guard: DynamoReplayGuard) -> Callable[[str], None]:
    """Deletes a delivery the DynamoDB replay guard recorded (the guard itself only records)."""

    def forget(delivery: str) -> None:
        dynamodb_client().delete_item(TableName=guard.table_name, Key=to_item({guard.key_attribute: guard.key_prefix + delivery}))

    return forget


def _rejected(
    status: int, reason: str, message: str, *, public_code: str | None = None, headers: Mapping[str, str] | None = None
) -> WebhookResponse:
    return WebhookResponse(
        status=status,
        body={"error": public_code or reason, "message": message},
        headers=dict(headers or {}),
        rejection=reason,
    )


def _too_large(limit: int) -> WebhookResponse:
    return _rejected(413, "body_too_large", f"the body is larger than {limit} bytes")


def _unavailable(reason: str, *, misconfigured: bool = False) -> WebhookResponse:
    return WebhookResponse(
        status=503,
        body={"error": "unavailable", "message": "the delivery could not be processed now; retry later"},
        headers={"retry-after": "30"},
        failure=reason,
        misconfigured=misconfigured,
    )


def malformed_event() -> WebhookResponse:
    """What a caller gets when the invocation is not a function URL request at all."""
    return _rejected(400, "malformed_request", "not an HTTP request this endpoint understands")


def misconfigured(problem: str) -> WebhookResponse:
    """The endpoint's own deployment is broken (a setting missing, a blank key): the sender should retry
    later, and the `WebhookMisconfigured` alarm tells an operator to fix it."""
    return _unavailable(f"misconfigured: {problem}", misconfigured=True)
