"""Webhook signatures: valid, forged, tampered, stale, future, replayed; and strict notices."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import datetime, timezone

import boto3
import pytest
from moto import mock_aws

from functions.domain.notices import AvailabilityNotice, InvalidNotice, NoticeKind, parse_notice
from functions.state import dynamo
from functions.webhook import signature as webhook
from functions.webhook.signature import (
    BadSignature,
    DynamoReplayGuard,
    InMemoryReplayGuard,
    MissingSignature,
    ReplayedDelivery,
    StaleTimestamp,
    authenticate_delivery,
    delivery_id,
    sign,
    signature_headers,
    verify,
)

SECRET = "whsec-3c1f0d9e8b7a"
NOW = datetime(2031, 3, 1, 12, 0, tzinfo=timezone.utc)
T = int(NOW.timestamp())
BODY = json.dumps(
    {
        "notice_id": "spotify-takedown-0001",
        "kind": "takedown",
        "product_id": 1204,
        "isbn13": "9780306406157",
        "spotify_episode_id": "4rOoJ6Egrf8K2IrywzwOMk",
        "megaphone_episode_id": "e1f5a2c0-77aa",
        "territories": ["US", "CA"],
        "reason": "rights holder complaint",
        "reported_at": "2031-03-01T11:58:00Z",
        "source": "spotify",
    }
).encode()


@pytest.fixture
def clock_start() -> datetime:
    return NOW


# ------------------------------------------------------------------------------------ signature
def test_signature_is_hex_hmac_sha256_over_timestamp_dot_body():
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, T, BODY) == f"sha256={expected}"
    assert signature_headers(SECRET, T, BODY) == {"X-Signature-Timestamp": str(T), "X-Signature": f"sha256={expected}"}


def test_valid_delivery_is_accepted():
    verified = verify(SECRET, str(T), sign(SECRET, T, BODY), BODY, NOW)
    assert verified.timestamp == T and sign(SECRET, T, BODY).endswith(verified.signature)
    assert verified.expires_at() == T + 300


def test_str_and_bytes_bodies_sign_alike():
    assert sign(SECRET, T, BODY.decode()) == sign(SECRET, T, BODY)
    verify(SECRET, str(T), sign(SECRET, T, BODY.decode()), BODY, NOW)


def test_forged_signature_is_rejected():
    with pytest.raises(BadSignature) as raised:
        verify(SECRET, str(T), sign("guessed-secret", T, BODY), BODY, NOW)
    assert raised.value.http_status == 401
    assert SECRET not in str(raised.value)


def test_tampered_body_is_rejected():
    tampered = BODY.replace(b'"US", "CA"', b'"US", "CA", "GB"')
    with pytest.raises(BadSignature):
        verify(SECRET, str(T), sign(SECRET, T, BODY), tampered, NOW)


def test_tampered_timestamp_is_rejected():
    with pytest.raises(BadSignature):
        verify(SECRET, str(T + 60), sign(SECRET, T, BODY), BODY, NOW)


@pytest.mark.parametrize("age", [301, 3600, 86400])
def test_stale_timestamp_is_rejected(age):
    signed_at = T - age
    with pytest.raises(StaleTimestamp) as raised:
        verify(SECRET, str(signed_at), sign(SECRET, signed_at, BODY), BODY, NOW)
    assert raised.value.http_status == 401


@pytest.mark.parametrize("ahead", [301, 7200])
def test_future_timestamp_beyond_tolerance_is_rejected(ahead):
    signed_at = T + ahead
    with pytest.raises(StaleTimestamp):
        verify(SECRET, str(signed_at), sign(SECRET, signed_at, BODY), BODY, NOW)


@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
def test_timestamps_within_five_minutes_either_way_are_accepted(offset):
    signed_at = T + offset
    assert verify(SECRET, str(signed_at), sign(SECRET, signed_at, BODY), BODY, NOW).timestamp == signed_at


def test_tolerance_is_configurable():
    signed_at = T - 100
    with pytest.raises(StaleTimestamp):
        verify(SECRET, str(signed_at), sign(SECRET, signed_at, BODY), BODY, NOW, tolerance=60)


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [(None, "sha256=00"), (str(T), None), ("", "sha256=00"), ("yesterday", "sha256=00"), (str(T), "md5=abc"), (str(T), "sha256=")],
)
def test_missing_or_malformed_headers_are_rejected(timestamp, signature):
    with pytest.raises(MissingSignature):
        verify(SECRET, timestamp, signature, BODY, NOW)


def test_rotated_secrets_and_multiple_signatures_are_accepted():
    header = f"{sign('old-secret', T, BODY)}, {sign(SECRET, T, BODY)}"
    assert verify([SECRET, "another"], str(T), header, BODY, NOW).signature == sign(SECRET, T, BODY).removeprefix("sha256=")
    with pytest.raises(BadSignature):
        verify(["another"], str(T), header, BODY, NOW)


def test_an_unconfigured_secret_is_a_configuration_error_not_an_acceptance():
    with pytest.raises(ValueError):
        verify("", str(T), sign("", T, BODY), BODY, NOW)


def test_comparison_is_constant_time(monkeypatch):
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(webhook.hmac, "compare_digest", spy)
    verify(SECRET, str(T), sign(SECRET, T, BODY), BODY, NOW)
    with pytest.raises(BadSignature):
        verify(SECRET, str(T), sign("forged", T, BODY), BODY, NOW)
    assert len(calls) == 2


# ------------------------------------------------------------------------------------ replays
def test_replay_is_rejected_in_memory(clock):
    guard = InMemoryReplayGuard()
    headers = signature_headers(SECRET, T, BODY)
    authenticate_delivery(SECRET, headers, BODY, clock.now(), guard)
    with pytest.raises(ReplayedDelivery) as raised:
        authenticate_delivery(SECRET, headers, BODY, clock.now(), guard)
    assert raised.value.http_status == 409


def test_headers_are_matched_whatever_their_case(clock):
    headers = {name.lower(): value for name, value in signature_headers(SECRET, T, BODY).items()}
    assert authenticate_delivery(SECRET, headers, BODY, clock.now(), InMemoryReplayGuard()).timestamp == T


def test_a_rejected_delivery_is_not_remembered(clock):
    guard = InMemoryReplayGuard()
    forged = {**signature_headers(SECRET, T, BODY), "X-Signature": sign("forged", T, BODY)}
    with pytest.raises(BadSignature):
        authenticate_delivery(SECRET, forged, BODY, clock.now(), guard)
    authenticate_delivery(SECRET, signature_headers(SECRET, T, BODY), BODY, clock.now(), guard)


@pytest.fixture
def replay_table(monkeypatch) -> Iterator[str]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    dynamo.reset_clients()
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName="idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield "idempotency"
        dynamo.reset_clients()


def test_replay_is_rejected_through_dynamodb(clock, replay_table):
    guard = DynamoReplayGuard(replay_table)
    headers = signature_headers(SECRET, T, BODY)
    verified = authenticate_delivery(SECRET, headers, BODY, clock.now(), guard)
    with pytest.raises(ReplayedDelivery):
        authenticate_delivery(SECRET, headers, BODY, clock.now(), guard)
    item = boto3.client("dynamodb").get_item(TableName=replay_table, Key={"id": {"S": f"webhook-delivery#{verified.delivery_id}"}})["Item"]
    assert item["expiration"] == {"N": str(T + 300)}


def test_a_second_lambda_sees_the_first_ones_record(clock, replay_table):
    delivery = delivery_id(T, BODY)
    assert DynamoReplayGuard(replay_table).first_time(delivery, T + 300)
    dynamo.reset_clients()  # a fresh client, as another execution environment would have
    assert not DynamoReplayGuard(replay_table).first_time(delivery, T + 300)
    assert DynamoReplayGuard(replay_table).first_time("another-delivery", T + 300)


def test_the_guard_keys_on_the_delivery_not_on_the_key_that_signed_it(clock):
    """Two keys valid while rotating: the same timestamp and body is one delivery, whichever digest is offered."""
    guard = InMemoryReplayGuard()
    both = {"X-Signature-Timestamp": str(T), "X-Signature": f"{sign('new-key', T, BODY)}, {sign(SECRET, T, BODY)}"}
    first = authenticate_delivery([SECRET, "new-key"], both, BODY, clock.now(), guard)
    assert first.delivery_id == delivery_id(T, BODY) and SECRET not in first.delivery_id
    for only_one in (sign(SECRET, T, BODY), sign("new-key", T, BODY)):
        with pytest.raises(ReplayedDelivery):
            authenticate_delivery([SECRET, "new-key"], {"X-Signature-Timestamp": str(T), "X-Signature": only_one}, BODY, clock.now(), guard)


@pytest.mark.parametrize("timestamp", [str(10**30), "9" * 400, "-1", "nan", "1e9", f"{T}.0", "٣٣٣"])
def test_a_timestamp_that_is_not_plain_unix_seconds_is_malformed_even_when_signed(timestamp):
    digest = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + BODY, "sha256").hexdigest()
    with pytest.raises(MissingSignature, match="not Unix seconds"):
        verify(SECRET, timestamp, f"sha256={digest}", BODY, NOW)


def test_an_expired_record_not_yet_swept_by_ttl_does_not_block(clock, replay_table):
    guard = DynamoReplayGuard(replay_table)
    assert guard.first_time("abc", T + 300)
    clock.advance(301)
    assert guard.first_time("abc", T + 601)


def test_after_the_window_a_replay_is_stale_rather_than_remembered(clock):
    guard = InMemoryReplayGuard()
    headers = signature_headers(SECRET, T, BODY)
    authenticate_delivery(SECRET, headers, BODY, clock.now(), guard)
    clock.advance(301)
    with pytest.raises(StaleTimestamp):
        authenticate_delivery(SECRET, headers, BODY, clock.now(), guard)


# ------------------------------------------------------------------------------------ notices
def test_a_valid_notice_parses():
    notice = parse_notice(BODY)
    assert isinstance(notice, AvailabilityNotice)
    assert notice.kind is NoticeKind.TAKEDOWN and notice.territories == ("CA", "US")
    assert notice.entity_key() == "episode#1204"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"product_id": "1204"}, "product_id"),
        ({"isbn13": "9780306406158"}, "check digit"),
        ({"territories": ["US", "UK"]}, "UK"),
        ({"territories": ["US", "US"]}, "more than once"),
        ({"territories": [], "worldwide": False}, "exactly one"),
        ({"worldwide": True}, "exactly one"),
        ({"reported_at": "2031-03-01T11:58:00"}, "timezone"),
        ({"kind": "deleted"}, "kind"),
        ({"reason": "   "}, "blank"),
        ({"spotify_episode_id": "spotify:episode:4rOo"}, "spotify_episode_id"),
        ({"product_id": None, "isbn13": None}, "product_id or isbn13"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_invalid_notices_are_rejected_with_a_reason(change, reason):
    body = {**json.loads(BODY), **change}
    with pytest.raises(InvalidNotice, match=reason):
        parse_notice(json.dumps(body))


def test_a_worldwide_notice_by_isbn():
    body = {**json.loads(BODY), "product_id": None, "territories": [], "worldwide": True}
    notice = parse_notice(json.dumps(body))
    assert notice.worldwide and notice.entity_key() == "isbn#9780306406157"
