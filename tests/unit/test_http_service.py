"""The shared HttpService (retries, backoff, client-side rate limiting, redaction) against the Megaphone
simulator, on a virtual clock."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest

from functions.connectors.errors import AuthenticationFailed, ServiceUnavailable
from functions.connectors.http import HttpService, RetryPolicy, route_host
from functions.connectors.megaphone import MegaphoneClient
from functions.connectors.rate_limit import InMemorySlotSchedule, RateLimiter, SlotRateLimiter, UnlimitedRate
from sandbox.clock import VirtualClock
from sandbox.simulators.megaphone import BASE_URL, MegaphoneSimulator, ScriptedFaults

pytestmark = pytest.mark.usefixtures("cleared_routes")

HOST = "cms.megaphone.fm"
NETWORK = "net-penguin"
PODCAST = "pod-long-chapter"
TOKEN = "mp-secret-token-7d3c0b"
# Half a second past the minute, so fixed client windows and the server's rolling window do not line up.
START = datetime(2031, 3, 1, 12, 0, 0, 500_000, tzinfo=timezone.utc)


class RecordingClock(VirtualClock):
    """A virtual clock that remembers each wait, to check backoff one retry at a time."""

    def __init__(self, start: datetime):
        super().__init__(start)
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        super().sleep(seconds)


@pytest.fixture
def clock_type() -> type[VirtualClock]:
    return RecordingClock


@pytest.fixture
def clock_start() -> datetime:
    return START


def megaphone(
    sim: MegaphoneSimulator,
    *,
    token: str = TOKEN,
    limiter: RateLimiter | None = None,
    retry: RetryPolicy | None = None,
) -> MegaphoneClient:
    route_host(HOST, sim)
    http = HttpService(
        service="megaphone",
        base_url=BASE_URL,
        auth_headers=lambda: {"Authorization": f"Token token={token}"},
        limiter=limiter or UnlimitedRate(),
        retry=retry or RetryPolicy(),
    )
    return MegaphoneClient(http, NETWORK)


def simulator(clock: VirtualClock, **options) -> MegaphoneSimulator:
    return MegaphoneSimulator(clock, network_id=NETWORK, podcasts={PODCAST: "The Long Chapter"}, tokens=[TOKEN], **options)


# ------------------------------------------------------------------------------ backoff
def test_backoff_is_jittered_exponential_and_capped_by_the_policy(clock):
    policy = RetryPolicy(max_attempts=9, backoff_initial_seconds=0.5, backoff_cap_seconds=3.0)
    runs: list[list[float]] = []
    for _ in range(2):
        sim = simulator(clock, faults=ScriptedFaults(*["503"] * 9))
        client = megaphone(sim, retry=policy)
        clock.sleeps.clear()
        with pytest.raises(ServiceUnavailable):
            list(client.list_podcasts())
        assert len(sim.requests_received("GET")) == policy.max_attempts
        runs.append(list(clock.sleeps))

    for sleeps in runs:
        assert len(sleeps) == policy.max_attempts - 1
        for retry, seconds in enumerate(sleeps):
            ceiling = min(policy.backoff_cap_seconds, policy.backoff_initial_seconds * 2**retry)
            assert 0 <= seconds <= ceiling
    assert runs[0] != runs[1]  # jittered: two runs of the same failures wait differently
    assert max(max(sleeps) for sleeps in runs) <= policy.backoff_cap_seconds


def test_retry_after_is_honoured_instead_of_the_backoff(clock):
    sim = simulator(clock, faults=ScriptedFaults("429", "429", retry_after_seconds=5))
    list(megaphone(sim).list_podcasts())
    assert clock.sleeps == [5.0, 5.0]


# ------------------------------------------------------------------------------ client-side rate limit
@pytest.mark.parametrize(
    ("client_per_minute", "server_per_minute", "calls"),
    [(60, 60, 150), (30, 60, 75), (59, 60, 150), (300, 300, 700)],
)
def test_the_slot_limiter_keeps_under_the_servers_rolling_limit(clock, exchanges, client_per_minute, server_per_minute, calls):
    sim = simulator(clock, rate_limit_per_window=server_per_minute, rate_window_seconds=60)
    limiter = SlotRateLimiter(f"megaphone:{client_per_minute}", client_per_minute, InMemorySlotSchedule())
    client = megaphone(sim, limiter=limiter)
    started = clock.now()

    for _ in range(calls):
        list(client.list_podcasts())

    elapsed = (clock.now() - started).total_seconds()
    assert sim.rate_limit is not None and sim.rate_limit.rejected == 0
    assert {e.status for e in exchanges} == {200} and len(exchanges) == calls
    ideal = calls * 60 / client_per_minute
    assert 0.9 * ideal <= elapsed <= 1.1 * ideal


def test_without_the_limiter_the_server_limit_bites_and_retry_after_recovers(clock, exchanges):
    sim = simulator(clock, rate_limit_per_window=60, rate_window_seconds=60)
    client = megaphone(sim)
    for _ in range(90):
        list(client.list_podcasts())
    assert sim.rate_limit is not None and sim.rate_limit.rejected > 0
    assert [e.status for e in exchanges].count(200) == 90


# ------------------------------------------------------------------------------ redaction
def test_observers_never_see_the_token(clock, exchanges):
    sim = simulator(clock, faults=ScriptedFaults("503"))
    client = megaphone(sim)
    list(client.list_podcasts())
    wrong = "mp-wrong-token-91aa"
    with pytest.raises(AuthenticationFailed) as refused:
        list(megaphone(sim, token=wrong).list_podcasts())

    assert [e.status for e in exchanges] == [503, 200, 401]
    for exchange in exchanges:
        assert exchange.request_headers["authorization"] == "[redacted]"
        seen = repr(dataclasses.asdict(exchange))
        assert TOKEN not in seen and wrong not in seen
    assert wrong not in str(refused.value) and wrong not in (refused.value.body or "")


def test_observers_never_see_the_secrets_an_oauth_form_carries(exchanges, cleared_routes):
    import httpx

    route_host("accounts.example", httpx.MockTransport(lambda request: httpx.Response(200, json={})))
    service = HttpService(service="accounts", base_url="https://accounts.example")
    form = {"grant_type": "refresh_token", "refresh_token": "rt-secret", "client_id": "app-id", "code_verifier": "v"}
    service.request("POST", "/api/token", idempotent=True, form_body=form)
    assert exchanges[-1].request_body == {
        "grant_type": "refresh_token",
        "refresh_token": "[redacted]",
        "client_id": "[redacted]",
        "code_verifier": "[redacted]",
    }


# ------------------------------------------------------------------------------ cookies
def test_a_cookie_one_response_sets_never_rides_on_the_next_request(cleared_routes):
    """The APIs authenticate by headers: a session cookie a response sets (a load balancer's, say)
    must not become hidden state that a warm Lambda's later requests carry."""
    import httpx

    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, headers={"Set-Cookie": "session=abc123; Path=/"}, json={})

    route_host("api.example", httpx.MockTransport(answer))
    service = HttpService(service="api", base_url="https://api.example")
    service.request("GET", "/first", idempotent=True)
    service.request("GET", "/second", idempotent=True)
    assert [request.url.path for request in sent] == ["/first", "/second"]
    assert "cookie" not in sent[1].headers
    assert len(service.client().cookies) == 0
