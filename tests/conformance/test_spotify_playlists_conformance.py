"""The playlist connector and the simulator's playlist endpoints held against Spotify's published
OpenAPI spec (`../shared/specs/spotify/web-api.fixed.openapi.yml`, the 2026 paths).

One recorded session runs every call of `SpotifyPlaylistsClient` — and the refusals it meets: a
missing scope, a user not allow-listed in development mode, a rate limit, a playlist that is not
there — through the simulator. Then:
- every request is a request of the spec: path, method, path and query parameters (only declared
  ones), and a JSON body valid against the operation's request body schema (the cover: Base64 text);
- no request uses a deprecated operation (the `/tracks` paths, `POST /users/{id}/playlists`);
- every response validates against the response the spec declares for its status (the spec declares
  no 400/404/413 for these operations: those are held against its `ErrorObject`, status in the body
  equal to the HTTP status);
- the scopes each operation's `security` names are the scopes the simulator demands.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from openapi_core import Config, OpenAPI
from openapi_core.validation.request.validators import V30RequestParametersValidator
from openapi_schema_validator import OAS30Validator

from functions.clock import SystemClock, use_clock
from functions.connectors.errors import ApiError
from functions.connectors.http import RetryPolicy, clear_routes, route_host
from functions.connectors.spotify_auth import AuthorizationCodeTokens, accounts_service
from functions.connectors.spotify_playlists import SpotifyPlaylistsClient, episode_uri, playlists_service
from infra.ops.auth import authorise_account
from sandbox import media
from sandbox.clock import VirtualClock
from sandbox.consent import ConsentBrowser
from sandbox.simulators.spotify_accounts import SandboxUser
from sandbox.simulators.spotify_web import ACCOUNTS_HOST, API_HOST, SpotifyWebSimulator
from tests.conformance.test_spotify_web_conformance import (
    SPEC_PATH,
    OpenAPIRequest,
    OpenAPIResponse,
    RecordingTransport,
    operation_for,
    resolve,
    spec,
)
from tests.unit.test_spotify_authorisation_check import Store
from tests.unit.test_spotify_playlists import APP

pytestmark = pytest.mark.skipif(
    not SPEC_PATH.exists(),
    reason=f"Spotify's OpenAPI spec is not present at {SPEC_PATH} (../shared/specs is outside the project; CI has it)",
)
__all__ = ["spec"]  # the module fixture shared with the catalogue conformance test

SHOW = "38bS44xjbVVZ3No3ByF1dJ"
EPISODES = [f"{n:04d}" + "c" * 18 for n in range(120)]
SCOPES = ("playlist-modify-private", "playlist-modify-public", "playlist-read-private", "ugc-image-upload")


def authorise(simulator: SpotifyWebSimulator, store: Store, account: str, user: str, scopes: tuple[str, ...]) -> SpotifyPlaylistsClient:
    authorise_account(
        account=account,
        app=APP,
        accounts_url=f"https://{ACCOUNTS_HOST}",
        scopes=scopes,
        store=store,
        refresh_token_lifetime=timedelta(days=182),
        open_url=ConsentBrowser(simulator, user).open,
        port=0,
        timeout_seconds=10,
    )
    retry = RetryPolicy(max_attempts=3)
    return SpotifyPlaylistsClient(playlists_service(retry=retry), AuthorizationCodeTokens(accounts_service(f"https://{ACCOUNTS_HOST}", retry), store, account))


@pytest.fixture(scope="module")
def openapi(spec: dict[str, Any]) -> OpenAPI:
    """The spec as published, with one repair: `PlaylistTrackObject.item` (and `track`) discriminate on
    `type` without a mapping, so a validator looks for schemas named "episode" and "track", which the
    spec does not have; the mapping to `EpisodeObject`/`TrackObject` is what the spec means."""
    repaired = copy.deepcopy(spec)
    mapping = {"episode": "#/components/schemas/EpisodeObject", "track": "#/components/schemas/TrackObject"}
    for name in ("item", "track"):
        repaired["components"]["schemas"]["PlaylistTrackObject"]["properties"][name]["discriminator"]["mapping"] = mapping
    return OpenAPI.from_dict(repaired, config=Config(request_validator_cls=V30RequestParametersValidator))


@pytest.fixture(scope="module")
def recorded() -> Iterator[list[tuple[httpx.Request, httpx.Response]]]:
    clock = VirtualClock(datetime(2031, 3, 1, 12, tzinfo=timezone.utc))
    use_clock(clock)
    simulator = SpotifyWebSimulator(clock, {APP.client_id: APP.client_secret.get_secret_value()}, requests_per_window=25)
    simulator.accounts.users.update(
        {"publisher": SandboxUser("publisher", "Larkspur & Vine Audio"), "stranger": SandboxUser("stranger", "Unlisted", allow_listed=False)}
    )
    simulator.add_show(SHOW, "Larkspur Conversations")
    for number, episode in enumerate(EPISODES):
        simulator.publish_episode(episode, SHOW, f"Conversation {number}", {"GB"}, date(2031, 1, 1))
    recorder = RecordingTransport(simulator)
    clear_routes()
    route_host(ACCOUNTS_HOST, simulator)
    route_host(API_HOST, recorder)
    store = Store()
    try:
        client = authorise(simulator, store, "publisher", "publisher", SCOPES)
        client.me()
        playlist = client.create_playlist("Conversations with Imogen Thale", "Every conversation, in release order.", public=True)
        client.replace_items(playlist.id, [episode_uri(e) for e in EPISODES])  # PUT 100 + POST 20
        client.items(playlist.id)  # the full object, then /items pages
        client.update_details(playlist.id, name="Imogen Thale on Spotify", description="Interviews and readings.")
        client.remove_items(playlist.id, [episode_uri(EPISODES[0])], snapshot_id=playlist.snapshot_id)
        client.upload_cover(playlist.id, media.cover(600, 600, "JPEG"))
        client.my_playlists()
        client.playlist("0" * 22)  # 404
        with pytest.raises(ApiError):
            client.remove_items(playlist.id, [episode_uri(EPISODES[1])], snapshot_id=base64.b64encode(b"never").decode())  # 400
        small = client.create_playlist("Two conversations", "", public=False)
        client.replace_items(small.id, [episode_uri(e) for e in EPISODES[:2]])
        for _ in range(30):
            client.playlist(small.id)  # runs into the rolling window: 429 + Retry-After, then 200
        limited = authorise(simulator, store, "no-covers", "publisher", ("playlist-modify-public",))
        with pytest.raises(ApiError):
            limited.upload_cover(playlist.id, media.cover(300, 300, "JPEG"))  # 403 insufficient scope
        stranger = authorise(simulator, store, "stranger", "stranger", SCOPES)
        with pytest.raises(ApiError):
            stranger.me()  # 403 not registered (development mode)
        simulator.tokens.clear()
        client.my_playlists()  # 401, a new token, 200
        yield recorder.exchanges
    finally:
        clear_routes()
        use_clock(SystemClock())


def test_the_session_covers_every_playlist_operation_and_refusal(spec: dict[str, Any], recorded: list[tuple[httpx.Request, httpx.Response]]) -> None:
    seen = {(operation_for(spec, request)[1]["operationId"], response.status_code) for request, response in recorded}
    assert {
        ("get-current-users-profile", 200),
        ("get-current-users-profile", 403),
        ("create-playlist", 201),
        ("reorder-or-replace-playlists-items", 200),
        ("add-items-to-playlist", 201),
        ("get-playlist", 200),
        ("get-playlist", 404),
        ("get-playlist", 429),
        ("get-playlists-items", 200),
        ("change-playlist-details", 200),
        ("remove-items-playlist", 200),
        ("remove-items-playlist", 400),
        ("upload-custom-playlist-cover", 202),
        ("upload-custom-playlist-cover", 403),
        ("get-a-list-of-current-users-playlists", 200),
        ("get-a-list-of-current-users-playlists", 401),
    } <= seen


def test_every_request_is_a_request_of_the_spec_and_none_is_deprecated(
    spec: dict[str, Any], openapi: Any, recorded: list[tuple[httpx.Request, httpx.Response]]
) -> None:
    for request, _ in recorded:
        openapi.validate_request(OpenAPIRequest(request))
        template, operation = operation_for(spec, request)
        assert not operation.get("deprecated"), f"{request.method} {template} is deprecated"
        declared = {p["name"] for p in resolve(operation.get("parameters", []), spec) if p["in"] == "query"}
        assert set(request.url.params.keys()) <= declared, template
        content = resolve(operation.get("requestBody", {}), spec).get("content", {})
        if request.content and "application/json" in content:
            OAS30Validator(content["application/json"]["schema"]).validate(httpx.Response(200, content=request.content).json())
        elif request.content:
            assert request.headers["content-type"] == "image/jpeg" and "image/jpeg" in content
            base64.b64decode(request.content, validate=True)
        assert request.headers["authorization"].startswith("Bearer ")


def test_every_response_matches_the_spec(spec: dict[str, Any], openapi: Any, recorded: list[tuple[httpx.Request, httpx.Response]]) -> None:
    error_object = resolve(spec["components"]["schemas"]["ErrorObject"], spec)
    for request, response in recorded:
        _, operation = operation_for(spec, request)
        if str(response.status_code) in operation["responses"]:
            openapi.validate_response(OpenAPIRequest(request), OpenAPIResponse(response))
        if response.status_code >= 400:
            error = response.json()["error"]
            OAS30Validator(error_object).validate(error)
            assert error["status"] == response.status_code
        if response.status_code == 429:
            assert response.headers["Retry-After"].isdigit() and int(response.headers["Retry-After"]) >= 1


def test_the_simulator_demands_the_scopes_the_spec_names(spec: dict[str, Any]) -> None:
    """For each write the spec secures with modify scopes, a token with neither is refused (403)."""
    clock = VirtualClock(datetime(2031, 3, 1, 12, tzinfo=timezone.utc))
    use_clock(clock)
    try:
        simulator = SpotifyWebSimulator(clock, {APP.client_id: APP.client_secret.get_secret_value()})
        simulator.accounts.users["publisher"] = SandboxUser("publisher", "Larkspur & Vine Audio")
        simulator.add_show(SHOW, "Larkspur Conversations")
        simulator.publish_episode(EPISODES[0], SHOW, "Conversation", {"GB"}, date(2031, 1, 1))
        clear_routes()
        route_host(ACCOUNTS_HOST, simulator)
        route_host(API_HOST, simulator)
        store = Store()
        owner = authorise(simulator, store, "owner", "publisher", SCOPES)
        playlist = owner.create_playlist("Scopes", "", public=True)
        reader = authorise(simulator, store, "reader", "publisher", ("user-read-email",))
        token = reader.tokens.access_token()
        writes = {
            ("PUT", f"/playlists/{playlist.id}"): {"name": "x"},
            ("POST", f"/playlists/{playlist.id}/items"): {"uris": [episode_uri(EPISODES[0])]},
            ("PUT", f"/playlists/{playlist.id}/items"): {"uris": []},
            ("DELETE", f"/playlists/{playlist.id}/items"): {"items": [{"uri": episode_uri(EPISODES[0])}]},
            ("POST", "/me/playlists"): {"name": "x"},
        }
        with httpx.Client(transport=simulator, base_url=f"https://{API_HOST}/v1", headers={"Authorization": f"Bearer {token}"}) as raw:
            for (method, path), body in writes.items():
                template = path.replace(playlist.id, "{playlist_id}")
                secured = spec["paths"][template][method.lower()]["security"][0]["oauth_2_0"]
                assert {"playlist-modify-public", "playlist-modify-private"} <= set(secured)
                answer = raw.request(method, path, json=body)
                assert answer.status_code == 403 and answer.json()["error"]["message"] == "Insufficient client scope", (method, path)
            cover = raw.put(f"/playlists/{playlist.id}/images", content=base64.b64encode(media.cover(100, 100, "JPEG")), headers={"Content-Type": "image/jpeg"})
            assert "ugc-image-upload" in spec["paths"]["/playlists/{playlist_id}/images"]["put"]["security"][0]["oauth_2_0"]
            assert cover.status_code == 403
    finally:
        clear_routes()
        use_clock(SystemClock())
