"""The Spotify Web API connector and simulator held against Spotify's published OpenAPI spec.

Every request the connector sends to api.spotify.com is validated as a request of the spec (path,
method, path and query parameters; every query parameter must be one the operation declares), and every
simulator response to it is validated against the response the spec declares for that status. The
spec declares no 404 (or 5xx) for the episode operations; such responses are held against the spec's
own `NotFound` response and `ErrorObject`, with the status in the body equal to the HTTP status.

The token endpoint (accounts.spotify.com) is not part of the spec; its requests are checked against
OAuth 2.0's client-credentials grant (RFC 6749 §4.4), as Spotify documents it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl

import httpx
import pytest
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.request.validators import V30RequestParametersValidator
from openapi_schema_validator import OAS30Validator
from werkzeug.datastructures import Headers, ImmutableMultiDict

from functions.clock import SystemClock, use_clock
from functions.connectors.errors import ApiError
from functions.connectors.http import RetryPolicy, clear_routes, route_host
from functions.connectors.spotify_web import SpotifyCredentials, SpotifyWebClient
from sandbox.clock import VirtualClock
from sandbox.simulators.base import FaultPlan
from sandbox.simulators.spotify_web import ACCOUNTS_HOST, API_HOST, SpotifyWebSimulator

SPEC_PATH = Path(__file__).parents[2].parent / "shared/specs/spotify/web-api.fixed.openapi.yml"
pytestmark = pytest.mark.skipif(
    not SPEC_PATH.exists(),
    reason=f"Spotify's OpenAPI spec is not present at {SPEC_PATH} (../shared/specs is outside the project; CI has it)",
)

EPISODE = "4rOoJ6Egrf8K2IrywzwOMk"
LATER_EPISODE = "0Q86acNRm6V9GYx55SXKwf"
SHOW = "38bS44xjbVVZ3No3ByF1dJ"
CREDENTIALS = SpotifyCredentials(client_id="sandbox-client", client_secret="sandbox-secret")
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# ------------------------------------------------------------------------------------ spec access
@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    with SPEC_PATH.open("rb") as handle:
        return yaml.load(handle, Loader=YAML_LOADER)


@pytest.fixture(scope="module")
def openapi(spec: dict[str, Any]) -> OpenAPI:
    return OpenAPI.from_dict(spec, config=Config(request_validator_cls=V30RequestParametersValidator))


class OpenAPIRequest:
    """An httpx request in the shape openapi-core reads (its `Request` protocol)."""

    def __init__(self, request: httpx.Request):
        self.host_url = f"{request.url.scheme}://{request.url.netloc.decode()}"
        self.path = request.url.path
        self.method = request.method.lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(request.url.query.decode(), keep_blank_values=True)),
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(),
        )
        self.content_type = request.headers.get("content-type", "")
        self.body = request.content or None


class OpenAPIResponse:
    """An httpx response in the shape openapi-core reads (its `Response` protocol)."""

    def __init__(self, response: httpx.Response):
        self.status_code = response.status_code
        self.headers = Headers(list(response.headers.items()))
        self.content_type = response.headers.get("content-type", "")
        self.data = response.content


def resolve(node: Any, spec: dict[str, Any]) -> Any:
    """`node` with every local `$ref` inlined (the schemas used here have no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            return resolve(target, spec)
        return {key: resolve(value, spec) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(item, spec) for item in node]
    return node


def operation_for(spec: dict[str, Any], request: httpx.Request) -> tuple[str, dict[str, Any]]:
    path = request.url.path.removeprefix("/v1")
    for template, item in spec["paths"].items():
        parts, actual = template.strip("/").split("/"), path.strip("/").split("/")
        if len(parts) == len(actual) and all(p == a or p.startswith("{") for p, a in zip(parts, actual, strict=True)):
            return template, item[request.method.lower()]
    raise AssertionError(f"{request.method} {path} is not an operation of the spec")


# ------------------------------------------------------------------------------------ recording
class RecordingTransport(httpx.BaseTransport):
    """Passes requests to the simulator and keeps each request with the response it got."""

    def __init__(self, inner: httpx.BaseTransport):
        self.inner = inner
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        self.exchanges.append((request, response))
        return response


@pytest.fixture(scope="module")
def recorded() -> Iterator[list[tuple[httpx.Request, httpx.Response]]]:
    """One session exercising every connector call and every response the simulator can give them."""
    clock = VirtualClock(datetime(2031, 3, 1, 12, tzinfo=timezone.utc))
    use_clock(clock)
    simulator = SpotifyWebSimulator(clock, requests_per_window=12, window_seconds=30, daily_quota=40)
    simulator.add_show(SHOW, "The Long Chapter")
    simulator.publish_episode(EPISODE, SHOW, "Chapter 1", {"GB", "IE"}, date(2031, 2, 1), description="Opening")
    for n in range(5):
        simulator.publish_episode(f"{n:02d}" + "p" * 20, SHOW, f"Part {n}", {"GB"}, date(2031, 1, 1 + n))
    simulator.publish_episode(LATER_EPISODE, SHOW, "Chapter 2", {"GB"}, date(2031, 4, 1))
    recorder = RecordingTransport(simulator)
    clear_routes()
    route_host(ACCOUNTS_HOST, recorder)
    route_host(API_HOST, recorder)
    client = SpotifyWebClient(CREDENTIALS, retry=RetryPolicy(max_attempts=3))
    try:
        client.episode(EPISODE, "GB")  # 200
        client.episode(EPISODE, "US")  # 404: not offered there
        client.episode(LATER_EPISODE, "GB")  # 404: not released yet
        client.episode_markets(EPISODE, ["GB", "IE", "FR"])
        list(client.show_episodes(SHOW, "GB", page_size=2))  # three pages through `next`
        list(client.show_episodes("1" * 22, "GB"))  # 404 show
        simulator.tokens.clear()
        client.episode(EPISODE, "IE")  # 401, new token, 200
        for _ in range(6):
            client.episode(EPISODE, "GB")  # runs into the rolling window: 429 + Retry-After, then 200
        simulator.faults = FaultPlan(rate=1.0, kinds=("503", "500"), seed=3)
        with pytest.raises(ApiError):
            client.episode(EPISODE, "GB")
        simulator.faults = FaultPlan()
        with pytest.raises(ApiError):
            while True:
                client.episode(EPISODE, "GB")  # until the daily quota: 429 QUOTA_EXCEEDED
        yield recorder.exchanges
    finally:
        clear_routes()
        use_clock(SystemClock())


def api_exchanges(recorded: list[tuple[httpx.Request, httpx.Response]]) -> list[tuple[httpx.Request, httpx.Response]]:
    return [(request, response) for request, response in recorded if request.url.host == API_HOST]


# ------------------------------------------------------------------------------------ tests
def test_the_session_covers_every_response_the_connector_meets(spec, recorded):
    seen = {(operation_for(spec, request)[1]["operationId"], response.status_code) for request, response in api_exchanges(recorded)}
    assert {
        ("get-an-episode", 200),
        ("get-an-episode", 404),
        ("get-an-episode", 401),
        ("get-an-episode", 429),
        ("get-a-shows-episodes", 200),
        ("get-a-shows-episodes", 404),
    } <= seen
    assert any(status >= 500 for _, status in seen)
    bodies = [response.json() for _, response in api_exchanges(recorded) if response.status_code == 429]
    assert any(body["error"].get("reason") == "QUOTA_EXCEEDED" for body in bodies)
    assert any("reason" not in body["error"] for body in bodies)


def test_every_api_request_is_a_request_of_the_spec(spec, openapi, recorded):
    for request, _ in api_exchanges(recorded):
        openapi.validate_request(OpenAPIRequest(request))
        _, operation = operation_for(spec, request)
        declared = {p["name"] for p in resolve(operation.get("parameters", []), spec) if p["in"] == "query"}
        sent = set(request.url.params.keys())
        assert sent <= declared, f"{request.url.path} sends undeclared query parameters {sent - declared}"
        assert request.method == "GET"
        assert request.headers["authorization"].startswith("Bearer ")


def test_every_simulator_response_matches_the_spec(spec, openapi, recorded):
    error_object = resolve(spec["components"]["schemas"]["ErrorObject"], spec)
    for request, response in api_exchanges(recorded):
        _, operation = operation_for(spec, request)
        if str(response.status_code) in operation["responses"]:
            openapi.validate_response(OpenAPIRequest(request), OpenAPIResponse(response))
        else:
            name = {400: "BadRequest", 404: "NotFound"}.get(response.status_code, "NotFound")
            envelope = resolve(spec["components"]["responses"][name]["content"]["application/json"]["schema"], spec)
            OAS30Validator(envelope).validate(response.json())
        if response.status_code >= 400:
            error = response.json()["error"]
            OAS30Validator(error_object).validate(error)
            assert error["status"] == response.status_code


def test_rate_limited_responses_carry_retry_after_in_whole_seconds(recorded):
    limited = [response for request, response in api_exchanges(recorded) if response.status_code == 429]
    assert limited
    for response in limited:
        assert response.headers["Retry-After"].isdigit() and int(response.headers["Retry-After"]) >= 1


def test_token_requests_follow_the_client_credentials_grant(recorded):
    token_requests = [request for request, _ in recorded if request.url.host == ACCOUNTS_HOST]
    assert len(token_requests) == 2  # the first, and one after the token was revoked
    for request in token_requests:
        assert (request.method, request.url.path) == ("POST", "/api/token")
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        assert parse_qs(request.content.decode()) == {"grant_type": ["client_credentials"]}
        scheme, _, encoded = request.headers["authorization"].partition(" ")
        assert scheme == "Basic"
        assert base64.b64decode(encoded).decode() == "sandbox-client:sandbox-secret"
    for _, response in [(q, r) for q, r in recorded if q.url.host == ACCOUNTS_HOST]:
        body = response.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["access_token"]
