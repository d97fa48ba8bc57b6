"""The Spotify Web API connector against its simulator, on a virtual clock."""

from __future__ import annotations

from datetime import date, datetime, timezone

import httpx
import pytest

from functions.connectors.errors import ApiError, RateLimited, ServiceUnavailable
from functions.connectors.http import HttpExchange, RetryPolicy, clear_routes, route_host
from functions.connectors.spotify_web import (
    SpotifyAuthenticationFailed,
    SpotifyCredentials,
    SpotifyErrorDetail,
    SpotifyQuotaExceeded,
    SpotifyUnavailable,
    SpotifyWebClient,
)
from sandbox.clock import VirtualClock
from sandbox.simulators.base import FaultPlan
from sandbox.simulators.spotify_web import ACCOUNTS_HOST, API_HOST, SpotifyWebSimulator

pytestmark = pytest.mark.usefixtures("cleared_routes")

EPISODE = "4rOoJ6Egrf8K2IrywzwOMk"
OTHER_EPISODE = "0Q86acNRm6V9GYx55SXKwf"
SHOW = "38bS44xjbVVZ3No3ByF1dJ"
CREDENTIALS = SpotifyCredentials(client_id="sandbox-client", client_secret="sandbox-secret")
START = datetime(2031, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock_start() -> datetime:
    return START


def connect(simulator: SpotifyWebSimulator, credentials: SpotifyCredentials = CREDENTIALS) -> SpotifyWebClient:
    clear_routes()
    route_host(ACCOUNTS_HOST, simulator)
    route_host(API_HOST, simulator)
    return SpotifyWebClient(credentials, retry=RetryPolicy(max_attempts=4, backoff_initial_seconds=0.5))


def published(clock: VirtualClock, **options) -> SpotifyWebSimulator:
    simulator = SpotifyWebSimulator(clock, **options)
    simulator.add_show(SHOW, "The Long Chapter")
    simulator.publish_episode(EPISODE, SHOW, "Chapter 1", {"GB", "IE"}, date(2031, 2, 1))
    return simulator


def statuses(exchanges: list[HttpExchange], host: str) -> list[int | None]:
    return [e.status for e in exchanges if httpx.URL(e.url).host == host]


# ------------------------------------------------------------------------------------ tokens
def test_one_token_serves_many_calls(clock, exchanges):
    simulator = published(clock)
    client = connect(simulator)
    for _ in range(10):
        assert client.episode(EPISODE, "GB") is not None
    assert simulator.tokens_issued == 1 and client.token_requests == 1
    [token_call] = [e for e in exchanges if httpx.URL(e.url).host == ACCOUNTS_HOST]
    assert token_call.method == "POST" and token_call.request_body == {"grant_type": "client_credentials"}


def test_token_is_renewed_shortly_before_it_expires(clock, exchanges):
    simulator = published(clock)
    client = connect(simulator)
    client.episode(EPISODE, "GB")
    clock.advance(3600 - 90)
    client.episode(EPISODE, "GB")
    assert simulator.tokens_issued == 1
    clock.advance(45)  # inside the last minute of the token's life: renew before using it
    client.episode(EPISODE, "GB")
    assert simulator.tokens_issued == 2
    assert 401 not in statuses(exchanges, API_HOST)


def test_a_401_refreshes_the_token_once_and_retries(clock, exchanges):
    simulator = published(clock)
    client = connect(simulator)
    client.episode(EPISODE, "GB")
    simulator.tokens.clear()  # revoked (or expired earlier than announced)
    assert client.episode(EPISODE, "GB") is not None
    assert statuses(exchanges, API_HOST) == [200, 401, 200]
    assert simulator.tokens_issued == 2


class ForgetfulTokenStore(dict):
    """Issued tokens that the API never recognises (revoked as soon as they are issued)."""

    def __setitem__(self, key, value) -> None:
        return None


def test_a_second_401_is_not_retried_again(clock, exchanges):
    simulator = published(clock)
    simulator.tokens = ForgetfulTokenStore()
    client = connect(simulator)
    with pytest.raises(SpotifyAuthenticationFailed) as raised:
        client.episode(EPISODE, "GB")
    assert raised.value.status == 401 and raised.value.detail.message == "Invalid access token"
    assert simulator.tokens_issued == 2 and statuses(exchanges, API_HOST) == [401, 401]


def test_an_expired_token_is_refused_by_the_simulator(clock, exchanges):
    simulator = published(clock, token_lifetime_seconds=30)
    client = connect(simulator)
    client.episode(EPISODE, "GB")
    clock.advance(31)  # the client renews 15 s before the end (half a short lifetime), so it never sends it
    client.episode(EPISODE, "GB")
    assert statuses(exchanges, API_HOST) == [200, 200] and simulator.tokens_issued == 2
    stale = next(iter(simulator.tokens))
    response = simulator.handle_request(
        httpx.Request("GET", f"https://{API_HOST}/v1/episodes/{EPISODE}?market=GB", headers={"Authorization": f"Bearer {stale}"})
    )
    assert response.status_code == 401 and response.json() == {"error": {"status": 401, "message": "The access token expired"}}


def test_wrong_client_secret_is_a_typed_authentication_failure(clock, exchanges):
    simulator = published(clock)
    client = connect(simulator, SpotifyCredentials(client_id="sandbox-client", client_secret="wrong"))
    with pytest.raises(SpotifyAuthenticationFailed) as raised:
        client.episode(EPISODE, "GB")
    assert raised.value.detail.error_code == "invalid_client"
    assert "Invalid client secret" in str(raised.value)
    assert statuses(exchanges, ACCOUNTS_HOST) == [400] and statuses(exchanges, API_HOST) == []


def test_secrets_never_reach_the_request_log(clock, exchanges):
    client = connect(published(clock))
    client.episode(EPISODE, "GB")
    logged = repr(exchanges)
    assert "sandbox-secret" not in logged and client.access_token() not in logged
    assert all(e.request_headers["authorization"] == "[redacted]" for e in exchanges)


# ------------------------------------------------------------------------------------ limits and errors
def test_429_waits_for_retry_after_then_succeeds(clock, exchanges):
    simulator = published(clock, requests_per_window=2, window_seconds=30)
    client = connect(simulator)
    client.episode(EPISODE, "GB")
    clock.advance(10)
    client.episode(EPISODE, "GB")
    assert client.episode(EPISODE, "GB") is not None
    assert statuses(exchanges, API_HOST) == [200, 200, 429, 200]
    assert clock.slept_seconds == pytest.approx(20)  # the first slot frees 30 s after it was taken
    assert simulator.api_rate_limit.rejected == 1


def test_quota_exceeded_is_typed_and_not_retried_in_process(clock, exchanges):
    simulator = published(clock, daily_quota=1)
    client = connect(simulator)
    client.episode(EPISODE, "GB")
    with pytest.raises(SpotifyQuotaExceeded) as raised:
        client.episode(EPISODE, "GB")
    error = raised.value
    assert error.reason == "QUOTA_EXCEEDED" and error.detail.reason == "QUOTA_EXCEEDED"
    assert error.retry_after == 12 * 3600  # until the next UTC midnight
    assert not isinstance(error, RateLimited) and error.code == "quota_exceeded"
    assert statuses(exchanges, API_HOST) == [200, 429]
    assert clock.slept_seconds == 0


def test_server_errors_are_retried_then_raised_typed(clock, exchanges):
    simulator = published(clock)
    client = connect(simulator)
    client.access_token()
    simulator.faults = FaultPlan(rate=1.0, kinds=("503",))
    with pytest.raises(SpotifyUnavailable) as raised:
        client.episode(EPISODE, "GB")
    assert isinstance(raised.value, ServiceUnavailable) and raised.value.detail.status == 503
    assert statuses(exchanges, API_HOST) == [503, 503, 503, 503]


def test_error_shapes_are_parsed():
    api = SpotifyErrorDetail.from_body('{"error": {"status": 429, "message": "slow down", "reason": "QUOTA_EXCEEDED"}}')
    assert api == SpotifyErrorDetail(status=429, message="slow down", reason="QUOTA_EXCEEDED")
    oauth = SpotifyErrorDetail.from_body('{"error": "invalid_client", "error_description": "Invalid client"}')
    assert oauth == SpotifyErrorDetail(error_code="invalid_client", message="Invalid client")
    assert SpotifyErrorDetail.from_body("<html>bad gateway</html>") is None
    assert SpotifyErrorDetail.from_body(None) is None


# ------------------------------------------------------------------------------------ catalogue
def test_episode_found_with_its_show(clock):
    client = connect(published(clock))
    episode = client.episode(EPISODE, "IE")
    assert episode is not None
    assert (episode.id, episode.name, episode.show.id, episode.show.name) == (EPISODE, "Chapter 1", SHOW, "The Long Chapter")
    assert episode.playable and episode.released_on == date(2031, 2, 1)


def test_episode_not_offered_in_a_market_is_none(clock):
    client = connect(published(clock))
    assert client.episode(EPISODE, "US") is None
    assert client.episode(OTHER_EPISODE, "GB") is None


def test_episode_markets_asks_each_market(clock, exchanges):
    simulator = published(clock)
    client = connect(simulator)
    assert client.episode_markets(EPISODE, ["GB", "US", "IE", "GB"]) == {"GB": True, "US": False, "IE": True}
    assert statuses(exchanges, API_HOST) == [200, 404, 200]


def test_takedown_and_release_date_show_in_availability(clock):
    simulator = published(clock)
    simulator.publish_episode(OTHER_EPISODE, SHOW, "Chapter 2", {"GB"}, date(2031, 3, 5))
    client = connect(simulator)
    assert client.episode(OTHER_EPISODE, "GB") is None  # not released yet
    clock.advance(4 * 86400)
    assert client.episode(OTHER_EPISODE, "GB") is not None
    simulator.take_down(EPISODE, {"GB"})
    assert client.episode_markets(EPISODE, ["GB", "IE"]) == {"GB": False, "IE": True}
    [state] = [e for e in simulator.state()["episodes"] if e["id"] == EPISODE]
    assert state["available_markets"] == ["IE"] and state["taken_down_markets"] == ["GB"]


def test_show_episodes_follow_next_pages(clock, exchanges):
    simulator = published(clock)
    ids = [f"{n:02d}" + "x" * 20 for n in range(5)]
    for n, spotify_id in enumerate(ids):
        simulator.publish_episode(spotify_id, SHOW, f"Part {n}", {"GB"}, date(2031, 1, 1 + n))
    simulator.publish_episode(OTHER_EPISODE, SHOW, "US only", {"US"}, date(2031, 1, 20))
    client = connect(simulator)
    listed = list(client.show_episodes(SHOW, "GB", page_size=2))
    assert [e.id for e in listed] == [EPISODE, *reversed(ids)]  # newest first
    assert statuses(exchanges, API_HOST) == [200, 200, 200]
    assert "offset=4" in exchanges[-1].url


def test_show_unknown_or_not_offered_has_no_episodes(clock):
    simulator = published(clock)
    client = connect(simulator)
    assert list(client.show_episodes("1" * 22, "GB")) == []


def test_next_links_to_another_host_are_refused(clock):
    def api(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={"href": str(request.url), "items": [], "limit": 50, "offset": 0, "total": 60, "previous": None,
                  "next": "https://collector.example.com/steal?offset=50"},
        )

    simulator = published(clock)
    clear_routes()
    route_host(ACCOUNTS_HOST, simulator)
    route_host(API_HOST, httpx.MockTransport(api))
    client = SpotifyWebClient(CREDENTIALS)
    with pytest.raises(ApiError, match="another host"):
        list(client.show_episodes(SHOW, "GB"))


def test_ids_and_markets_are_checked_before_any_request(clock, exchanges):
    client = connect(published(clock))
    with pytest.raises(ValueError):
        client.episode("../me", "GB")
    with pytest.raises(ValueError):
        client.episode(EPISODE, "gb")
    assert exchanges == []

