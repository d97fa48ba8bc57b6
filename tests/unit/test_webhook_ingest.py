"""The signed webhook through its Lambda handler (function URL payload 2.0), with moto for the
idempotency table, the secret and the bus, whose rule routes TakedownReported into the availability
recorder's queue as deployed: only an authentic, fresh, first-time, valid notice lands there."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest

from functions.flows.webhook_ingest.handler import MISCONFIGURED_METRIC, handler
from functions.flows.webhook_ingest.logic import MAX_BODY_BYTES
from functions.webhook.signature import sign, signature_headers
from infra.flows import Secret, flow
from sandbox.moto_server import reset_client_caches
from sandbox.clock import VirtualClock
from sandbox.resources import SandboxResources, create_resources
from sandbox.runtime import LocalLambdaContext

NOW = datetime(2031, 3, 1, 12, 0, tzinfo=timezone.utc)
T = int(NOW.timestamp())
SECRET = "whsec-3c1f0d9e8b7a5d2e"
WEBHOOK = flow("webhook-ingest")
RECORDER = flow("availability-recorder")
_requests = itertools.count(1)


def notice_body(**changes: Any) -> bytes:
    notice: dict[str, Any] = {
        "notice_id": "spotify-takedown-0001",
        "kind": "takedown",
        "product_id": 41003,
        "isbn13": "9781915401038",
        "territories": ["US", "CA"],
        "reason": "rights holder complaint",
        "reported_at": "2031-03-01T11:58:00Z",
        "source": "spotify",
    }
    notice.update(changes)
    return json.dumps(notice).encode()


def function_url_event(body: bytes | str, headers: dict[str, str], method: str = "POST", base64_body: bool = False) -> dict[str, Any]:
    raw = body.decode() if isinstance(body, bytes) else body
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": {"content-type": "application/json", **{name.lower(): value for name, value in headers.items()}},
        "requestContext": {
            "accountId": "anonymous",
            "domainName": "abc.lambda-url.eu-west-1.on.aws",
            "http": {"method": method, "path": "/", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "notifier/1"},
            "requestId": f"req-{next(_requests)}",
            "timeEpoch": T * 1000,
        },
        "body": base64.b64encode(raw.encode()).decode() if base64_body else raw,
        "isBase64Encoded": base64_body,
    }


@dataclass
class Endpoint:
    clock: VirtualClock
    resources: SandboxResources

    def call(self, event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        context = LocalLambdaContext(
            function_name="webhook-ingest",
            memory_limit_in_mb=256,
            invoked_function_arn="arn:aws:lambda:eu-west-1:123456789012:function:webhook-ingest",
            aws_request_id=f"req-{next(_requests)}",
            deadline=self.clock.now() + timedelta(seconds=10),
            clock=self.clock,
        )
        response = handler(event, context)
        return response["statusCode"], json.loads(response["body"]), response["headers"]

    def post(self, body: bytes, *, secret: str = SECRET, timestamp: int = T, base64_body: bool = False) -> tuple[int, dict[str, Any]]:
        status, answer, _ = self.call(function_url_event(body, signature_headers(secret, timestamp, body), base64_body=base64_body))
        return status, answer

    def emitted(self) -> list[dict[str, Any]]:
        """Events the bus routed to the recorder's queue (and removes them)."""
        sqs = boto3.client("sqs")
        url = self.resources.queues[RECORDER.name].queue_url
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(message["Body"]) for message in messages]






@pytest.fixture
def clock_start() -> datetime:
    return NOW


@pytest.fixture
def endpoint(aws: None, monkeypatch: pytest.MonkeyPatch, clock: VirtualClock) -> Iterator[Endpoint]:
    prefix = f"wh{next(_requests)}"
    resources = create_resources(
        [WEBHOOK, RECORDER], secret_values={Secret.WEBHOOK: SECRET, Secret.CONSONANCE: "unused"}, prefix=prefix, event_source=prefix
    )
    for name, value in resources.environments[WEBHOOK.name].items():
        monkeypatch.setenv(name, value)
    reset_client_caches()
    yield Endpoint(clock, resources)
    reset_client_caches()


# ------------------------------------------------------------------------------------------ accepted
def test_a_valid_notice_is_accepted_and_becomes_one_event(endpoint: Endpoint):
    status, answer = endpoint.post(notice_body())

    assert (status, answer) == (202, {"accepted": "spotify-takedown-0001"})
    [event] = endpoint.emitted()
    assert event["detail-type"] == "TakedownReported"
    assert event["detail"]["notice"]["notice_id"] == "spotify-takedown-0001"
    assert event["detail"]["notice"]["territories"] == ["CA", "US"]
    assert event["detail"]["correlation_id"] == "spotify-takedown-0001"


def test_a_base64_body_is_verified_over_its_decoded_bytes(endpoint: Endpoint):
    status, _ = endpoint.post(notice_body(), base64_body=True)

    assert status == 202 and len(endpoint.emitted()) == 1


def test_a_rotated_key_list_accepts_either_key(endpoint: Endpoint):
    boto3.client("secretsmanager").put_secret_value(
        SecretId=endpoint.resources.secret_ids[Secret.WEBHOOK], SecretString=json.dumps(["whsec-new-key-0001", SECRET])
    )
    reset_client_caches()

    assert endpoint.post(notice_body(notice_id="n-old-key"))[0] == 202
    assert endpoint.post(notice_body(notice_id="n-new-key"), secret="whsec-new-key-0001")[0] == 202
    assert len(endpoint.emitted()) == 2


def test_the_same_notice_re_signed_is_acknowledged_but_not_emitted_twice(endpoint: Endpoint):
    assert endpoint.post(notice_body())[0] == 202
    endpoint.clock.advance(30)

    status, answer = endpoint.post(notice_body(), timestamp=T + 30)

    assert (status, answer) == (202, {"accepted": "spotify-takedown-0001", "duplicate": True})
    assert len(endpoint.emitted()) == 1


# ------------------------------------------------------------------------------------------ rejected
def test_a_forged_signature_is_401_and_emits_nothing(endpoint: Endpoint):
    status, answer = endpoint.post(notice_body(), secret="guessed-secret")

    assert status == 401 and answer["error"] == "unauthenticated"
    assert "secret" not in answer["message"].lower() and SECRET not in json.dumps(answer)
    assert endpoint.emitted() == []


def test_a_tampered_body_is_401(endpoint: Endpoint):
    headers = signature_headers(SECRET, T, notice_body())
    status, answer, _ = endpoint.call(function_url_event(notice_body(territories=["GB"]), headers))

    assert status == 401 and endpoint.emitted() == []


def test_missing_signature_headers_are_401(endpoint: Endpoint):
    status, answer, _ = endpoint.call(function_url_event(notice_body(), {}))

    assert status == 401 and answer["error"] == "unauthenticated" and endpoint.emitted() == []


def test_a_stale_delivery_is_401_with_the_same_answer_as_a_forged_one(endpoint: Endpoint):
    stale = endpoint.post(notice_body(), timestamp=T - 301)
    forged = endpoint.post(notice_body(), secret="guessed-secret")

    assert stale[0] == forged[0] == 401 and stale[1] == forged[1]
    assert endpoint.emitted() == []


def test_a_replayed_delivery_is_409_and_emits_nothing_more(endpoint: Endpoint):
    event = function_url_event(notice_body(), signature_headers(SECRET, T, notice_body()))
    assert endpoint.call(event)[0] == 202
    endpoint.clock.advance(60)

    status, answer, _ = endpoint.call(event)

    assert status == 409 and answer["error"] == "replayed_delivery"
    assert len(endpoint.emitted()) == 1


def test_an_authentic_but_invalid_notice_is_422_and_names_the_problem(endpoint: Endpoint):
    status, answer = endpoint.post(notice_body(territories=["XX"]))

    assert status == 422 and answer["error"] == "invalid_notice" and "territories" in answer["message"]
    assert endpoint.emitted() == []


def test_a_notice_that_is_not_json_is_422(endpoint: Endpoint):
    assert endpoint.post(b"takedown everything")[0] == 422
    assert endpoint.emitted() == []


def test_get_is_405(endpoint: Endpoint):
    status, answer, headers = endpoint.call(function_url_event("", {}, method="GET"))

    assert status == 405 and headers["allow"] == "POST" and endpoint.emitted() == []


def test_a_body_over_the_limit_is_413_before_anything_else(endpoint: Endpoint):
    body = notice_body(reason="x" * MAX_BODY_BYTES)

    assert endpoint.post(body)[0] == 413
    assert endpoint.post(body, base64_body=True)[0] == 413
    assert endpoint.emitted() == []


def test_a_body_flagged_base64_that_is_not_is_400(endpoint: Endpoint):
    event = function_url_event("not base64 at all!", {"x-signature-timestamp": str(T), "x-signature": sign(SECRET, T, b"x")})
    event["isBase64Encoded"] = True

    assert endpoint.call(event)[0] == 400


def test_an_event_that_is_not_a_function_url_request_is_400_not_500(endpoint: Endpoint):
    status, answer, _ = endpoint.call({"Records": []})

    assert status == 400 and answer["error"] == "malformed_request"


# ------------------------------------------------------------------------------------------ failures
def test_when_the_bus_is_unavailable_the_sender_is_told_to_retry_and_the_retry_is_accepted(endpoint: Endpoint, monkeypatch):
    event = function_url_event(notice_body(), signature_headers(SECRET, T, notice_body()))
    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")
    reset_client_caches()

    status, answer, headers = endpoint.call(event)

    assert status == 503 and answer["error"] == "unavailable" and headers["retry-after"] == "30"
    monkeypatch.setenv("EVENT_BUS_NAME", endpoint.resources.event_bus_name)
    reset_client_caches()
    assert endpoint.call(event)[0] == 202  # the same delivery: not a replay, since it was never forwarded
    assert len(endpoint.emitted()) == 1


def test_logs_carry_the_outcome_but_never_the_body_signature_or_secret(endpoint: Endpoint, capsys, caplog):
    body = notice_body(reason="confidential complaint text")
    signature = sign(SECRET, T, body)
    endpoint.call(function_url_event(body, {"x-signature-timestamp": str(T), "x-signature": signature}))
    endpoint.post(notice_body(notice_id="n-forged"), secret="guessed-secret")

    logged = capsys.readouterr().out + "\n".join(str(record.__dict__) for record in caplog.records)
    assert "webhook notice accepted" in logged and "webhook delivery rejected" in logged
    assert "bad_signature" in logged and "WebhookRejected" in logged
    for secret_or_content in (SECRET, signature.removeprefix("sha256="), "confidential complaint text"):
        assert secret_or_content not in logged


# ------------------------------------------------------------------------------------------ hardening
def signed_with_raw_timestamp(body: bytes, timestamp: str, *secrets: str) -> dict[str, str]:
    """Headers a sender with the key would send for a timestamp that is not a sane number."""
    digests = [hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest() for secret in secrets]
    return {"x-signature-timestamp": timestamp, "x-signature": ", ".join(f"sha256={digest}" for digest in digests)}


@pytest.mark.parametrize("timestamp", [str(10**30), "9" * 400, "-5", f"-{T}", "nan", "NaN", "inf", "1e30", f"{T}.5", "٣٣٣", "0x10", "yesterday"])
def test_an_absurd_timestamp_signed_with_the_real_key_is_4xx_never_500(endpoint: Endpoint, timestamp: str):
    body = notice_body()
    status, answer, _ = endpoint.call(function_url_event(body, signed_with_raw_timestamp(body, timestamp, SECRET)))

    assert status == 401 and answer["error"] == "unauthenticated"
    assert endpoint.emitted() == []


def test_during_rotation_a_delivery_replayed_with_the_other_keys_signature_is_still_a_replay(endpoint: Endpoint):
    new_key = "whsec-new-key-0002"
    boto3.client("secretsmanager").put_secret_value(
        SecretId=endpoint.resources.secret_ids[Secret.WEBHOOK], SecretString=json.dumps([new_key, SECRET])
    )
    reset_client_caches()
    body = notice_body()
    both = signed_with_raw_timestamp(body, str(T), new_key, SECRET)
    assert endpoint.call(function_url_event(body, both))[0] == 202

    for only_one in (signed_with_raw_timestamp(body, str(T), SECRET), signed_with_raw_timestamp(body, str(T), new_key)):
        status, answer, _ = endpoint.call(function_url_event(body, only_one))
        assert status == 409 and answer["error"] == "replayed_delivery"
    assert len(endpoint.emitted()) == 1


@pytest.mark.parametrize("stored", ["   ", "[\"whsec-new-key-0003\", \"\"]", "[\"whsec-new-key-0003\", \"  \"]", "[not json", "[]"])
def test_a_blank_or_malformed_signing_key_is_503_with_the_misconfiguration_alarm(endpoint: Endpoint, capsys, stored: str):
    boto3.client("secretsmanager").put_secret_value(SecretId=endpoint.resources.secret_ids[Secret.WEBHOOK], SecretString=stored)
    reset_client_caches()

    status, answer, headers = endpoint.call(function_url_event(notice_body(), signature_headers(SECRET, T, notice_body())))

    assert status == 503 and answer["error"] == "unavailable" and headers["retry-after"] == "30"
    logged = capsys.readouterr().out
    assert MISCONFIGURED_METRIC in logged and "WebhookFailed" not in logged
    assert endpoint.emitted() == []


def test_a_missing_setting_is_503_with_the_misconfiguration_alarm(endpoint: Endpoint, capsys, monkeypatch):
    monkeypatch.delenv("WEBHOOK_SECRET_ID")
    reset_client_caches()

    status, answer, _ = endpoint.call(function_url_event(notice_body(), signature_headers(SECRET, T, notice_body())))

    assert status == 503 and answer["error"] == "unavailable"
    assert MISCONFIGURED_METRIC in capsys.readouterr().out


@pytest.mark.parametrize(
    ("reported_at", "problem"),
    [
        ("0001-01-01T00:00:00+23:59", "reported_at must be between 2000-01-01 and 2100-01-01"),
        ("9999-12-31T23:59:59-23:59", "reported_at must be between 2000-01-01 and 2100-01-01"),
        ("2031-03-01T12:10:00Z", "reported_at is in the future"),  # ten minutes ahead: beyond the 5-minute tolerance
        (10**30, "reported_at: Input should be a valid datetime"),
        ("NaN", "reported_at: Input should be a valid datetime"),
    ],
)
def test_an_absurd_report_time_in_an_authentic_notice_is_422(endpoint: Endpoint, reported_at: object, problem: str):
    status, answer = endpoint.post(notice_body(reported_at=reported_at))

    assert status == 422 and answer["error"] == "invalid_notice" and problem in answer["message"]
    assert endpoint.emitted() == []


def test_a_report_time_within_the_tolerance_ahead_is_accepted(endpoint: Endpoint):
    assert endpoint.post(notice_body(notice_id="n-clock-skew", reported_at="2031-03-01T12:04:00Z"))[0] == 202
