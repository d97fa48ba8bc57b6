"""Signed webhook deliveries: HMAC-SHA256 over the timestamp and the body, a tolerance window, replays
rejected.

The sender signs every delivery with the shared secret and sends two headers:
- `X-Signature-Timestamp`: Unix seconds when it signed;
- `X-Signature`: `sha256=<hex>`, the HMAC-SHA256 of `f"{timestamp}.{body}"` (the raw body bytes).
Several `sha256=` values may be sent comma-separated, and several secrets may be accepted, so a
secret can be rotated without dropping deliveries.

The receiver (`authenticate_delivery`) rejects, in this order, and emits nothing for a rejected call:
- headers missing or malformed → `MissingSignature` (401);
- no signature matches (compared with `hmac.compare_digest`, constant time) → `BadSignature` (401);
- timestamp more than `tolerance` seconds (default 300) before or after now → `StaleTimestamp` (401);
- the same delivery (timestamp and body) seen before within its window → `ReplayedDelivery` (409: the
  sender may treat it as already received).
The timestamp must be Unix seconds in ASCII digits (at most `MAX_TIMESTAMP_DIGITS`): a negative, fractional,
NaN, exponent or absurdly large value is a malformed header (401), never arithmetic that overflows.
The replay guard keys on the delivery, not on which key's digest matched: while two keys are valid
(rotation) a delivery signed with both, replayed with only the other signature, is still the same delivery.
The signature is checked before the time, so a forger learns nothing from which rule failed. A replay
is remembered only until its timestamp leaves the tolerance window: after that the staleness rule
rejects it anyway, so the guard's records expire (DynamoDB TTL on `expiration`).

Secrets are never logged or put into error messages.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from functions.clock import epoch_seconds
from functions.domain.errors import PermanentError
from functions.state.dynamo import dynamodb_client, to_item, unless_condition_failed

TIMESTAMP_HEADER = "X-Signature-Timestamp"
SIGNATURE_HEADER = "X-Signature"
SIGNATURE_SCHEME = "sha256"
DEFAULT_TOLERANCE_SECONDS = 300
# Unix seconds in ASCII digits; 11 digits reach the year 5138, so anything longer is not a real clock.
MAX_TIMESTAMP_DIGITS = 11
_TIMESTAMP = re.compile(rf"[0-9]{{1,{MAX_TIMESTAMP_DIGITS}}}")


class WebhookRejected(PermanentError):
    """A delivery the endpoint refuses; `http_status` is what the sender is told."""

    code = "webhook_rejected"
    http_status = 401


class MissingSignature(WebhookRejected):
    code = "missing_signature"


class BadSignature(WebhookRejected):
    code = "bad_signature"


class StaleTimestamp(WebhookRejected):
    code = "stale_timestamp"


class ReplayedDelivery(WebhookRejected):
    code = "replayed_delivery"
    http_status = 409


@dataclass(frozen=True)
class VerifiedSignature:
    timestamp: int
    signature: str  # the hex digest that matched (which key it was depends on the rotation)
    delivery_id: str  # keyless digest of timestamp and body: the delivery's identity for replay protection

    def expires_at(self, tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> int:
        """After this moment the timestamp is stale, so nobody needs to remember the signature."""
        return self.timestamp + tolerance


def sign(secret: str, timestamp: int, body: bytes | str) -> str:
    """The `X-Signature` value for a delivery: `sha256=<hex>`."""
    return f"{SIGNATURE_SCHEME}={_digest(secret, timestamp, _bytes(body))}"


def signature_headers(secret: str, timestamp: int, body: bytes | str) -> dict[str, str]:
    """Both headers a sender adds (for senders in this project and for tests)."""
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(
    secret: str | Sequence[str],
    timestamp_header: str | None,
    signature_header: str | None,
    body: bytes | str,
    now: datetime | float,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> VerifiedSignature:
    """Check a delivery's signature and freshness; raise a `WebhookRejected` subclass otherwise."""
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets or not all(secrets):
        raise ValueError("the webhook secret is not configured")
    if not timestamp_header or not signature_header:
        raise MissingSignature(f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers are required")
    if not _TIMESTAMP.fullmatch(timestamp_header.strip()):
        raise MissingSignature(f"{TIMESTAMP_HEADER} is not Unix seconds (up to {MAX_TIMESTAMP_DIGITS} digits)")
    timestamp = int(timestamp_header.strip())
    offered = _offered_signatures(signature_header)
    if not offered:
        raise MissingSignature(f"{SIGNATURE_HEADER} carries no {SIGNATURE_SCHEME}=<hex> value")

    payload = _bytes(body)
    matched: str | None = None
    for candidate_secret in secrets:
        expected = _digest(candidate_secret, timestamp, payload)
        for candidate in offered:
            if hmac.compare_digest(expected.encode(), candidate.encode()):
                matched = expected
    if matched is None:
        raise BadSignature("signature does not match")

    current = now.timestamp() if isinstance(now, datetime) else float(now)
    if abs(current - timestamp) > tolerance:
        raise StaleTimestamp(f"timestamp is {current - timestamp:+.0f} s from now; tolerance is ±{tolerance} s")
    return VerifiedSignature(timestamp=timestamp, signature=matched, delivery_id=delivery_id(timestamp, payload))


def delivery_id(timestamp: int, body: bytes | str) -> str:
    """The delivery's identity, whichever key signed it: SHA-256 of `f"{timestamp}."` and the body."""
    return hashlib.sha256(f"{timestamp}.".encode() + _bytes(body)).hexdigest()


class ReplayGuard(Protocol):
    def first_time(self, delivery: str, expires_at: int) -> bool:
        """Record `delivery` (its id) until `expires_at` (Unix seconds); False if it was already recorded."""


def authenticate_delivery(
    secret: str | Sequence[str],
    headers: Mapping[str, str],
    body: bytes | str,
    now: datetime | float,
    guard: ReplayGuard,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> VerifiedSignature:
    """Verify a delivery from its headers (any case, as API Gateway passes them) and reject replays."""
    lowered = {name.lower(): value for name, value in headers.items()}
    verified = verify(
        secret, lowered.get(TIMESTAMP_HEADER.lower()), lowered.get(SIGNATURE_HEADER.lower()), body, now, tolerance
    )
    if not guard.first_time(verified.delivery_id, verified.expires_at(tolerance)):
        raise ReplayedDelivery("this delivery was already received")
    return verified


class InMemoryReplayGuard:
    """One process's memory of deliveries (the sandbox's single process, and tests)."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def first_time(self, delivery: str, expires_at: int) -> bool:
        now = epoch_seconds()
        with self._lock:
            self._seen = {s: until for s, until in self._seen.items() if until >= now}
            if delivery in self._seen:
                return False
            self._seen[delivery] = expires_at
            return True


class DynamoReplayGuard:
    """Deliveries recorded in a DynamoDB table with a conditional put, so concurrent Lambdas agree.

    Uses a table keyed by `key_attribute` with TTL on `expiration` — the idempotency table has exactly
    that shape, so the webhook shares it (keys prefixed so they cannot meet idempotency keys). A record
    whose `expiration` has passed but which TTL has not yet deleted counts as gone.
    """

    def __init__(self, table_name: str, key_attribute: str = "id", key_prefix: str = "webhook-delivery#"):
        self.table_name = table_name
        self.key_attribute = key_attribute
        self.key_prefix = key_prefix

    def first_time(self, delivery: str, expires_at: int) -> bool:
        written = unless_condition_failed(
            lambda: dynamodb_client().put_item(
                TableName=self.table_name,
                Item=to_item({self.key_attribute: self.key_prefix + delivery, "expiration": int(expires_at)}),
                ConditionExpression="attribute_not_exists(#key) OR #expiration < :now",
                ExpressionAttributeNames={"#key": self.key_attribute, "#expiration": "expiration"},
                ExpressionAttributeValues=to_item({":now": int(epoch_seconds())}),
            )
        )
        return written is not None


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body


def _offered_signatures(header: str) -> list[str]:
    prefix = f"{SIGNATURE_SCHEME}="
    values = [part.strip() for part in header.split(",")]
    return [value.removeprefix(prefix).lower() for value in values if value.startswith(prefix) and len(value) > len(prefix)]
