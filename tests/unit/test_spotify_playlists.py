"""The playlist connector against the Web API simulator's playlist endpoints, on a virtual clock, with
the account authorised the way operators do it (`infra.ops.auth.authorise_account` + the consent page)."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import httpx
import pytest
from PIL import Image

from functions.connectors.errors import RequestRejected
from functions.connectors.http import HttpExchange, RetryPolicy, route_host
from functions.connectors.spotify_auth import (
    AuthorizationCodeTokens,
    SpotifyAuthenticationFailed,
    SpotifyCredentials,
    accounts_service,
)
from functions.connectors.spotify_playlists import (
    CoverTooLarge,
    PlaylistRequestInvalid,
    SpotifyPlaylistsClient,
    SpotifyScopeMissing,
    SpotifyUserNotRegistered,
    episode_uri,
    playlists_service,
)
from infra.ops.auth import authorise_account
from sandbox import media
from sandbox.clock import VirtualClock
from sandbox.consent import ConsentBrowser
from sandbox.simulators.megaphone import ScriptedFaults
from sandbox.simulators.spotify_accounts import SandboxUser
from sandbox.simulators.spotify_web import ACCOUNTS_HOST, API_HOST, SpotifyWebSimulator
from tests.unit.test_spotify_authorisation_check import Store

pytestmark = pytest.mark.usefixtures("cleared_routes")

APP = SpotifyCredentials(client_id="playlist-app", client_secret="playlist-secret")
SHOW = "38bS44xjbVVZ3No3ByF1dJ"
ALL_SCOPES = ("playlist-modify-private", "playlist-modify-public", "playlist-read-private", "ugc-image-upload")


def episode_ids(count: int) -> list[str]:
    return [f"{n:04d}" + "e" * 18 for n in range(count)]


@dataclass
class Spotify:
    simulator: SpotifyWebSimulator
    store: Store

    def client(self, account: str = "publisher", *, attempts: int = 4) -> SpotifyPlaylistsClient:
        retry = RetryPolicy(max_attempts=attempts, backoff_initial_seconds=0.5)
        tokens = AuthorizationCodeTokens(accounts_service(f"https://{ACCOUNTS_HOST}", retry), self.store, account)
        return SpotifyPlaylistsClient(playlists_service(retry=retry), tokens)

    def authorise(self, account: str, user: str, scopes: tuple[str, ...] = ALL_SCOPES) -> None:
        authorise_account(
            account=account,
            app=APP,
            accounts_url=f"https://{ACCOUNTS_HOST}",
            scopes=scopes,
            store=self.store,
            refresh_token_lifetime=timedelta(days=182),
            open_url=ConsentBrowser(self.simulator, user).open,
            port=0,
            timeout_seconds=10,
        )


@pytest.fixture
def spotify(virtual_clock: VirtualClock) -> Iterator[Spotify]:
    simulator = SpotifyWebSimulator(virtual_clock, {APP.client_id: APP.client_secret.get_secret_value()})
    simulator.accounts.users.update(
        {
            "larkspur-vine": SandboxUser("larkspur-vine", "Larkspur & Vine Audio"),
            "stranger": SandboxUser("stranger", "Not on the allow-list", allow_listed=False),
        }
    )
    simulator.add_show(SHOW, "Larkspur Conversations")
    for number, episode_id in enumerate(episode_ids(250)):
        simulator.publish_episode(episode_id, SHOW, f"Conversation {number}", {"GB", "US"}, date(2031, 1, 1) + timedelta(days=number % 100))
    route_host(ACCOUNTS_HOST, simulator)
    route_host(API_HOST, simulator)
    world = Spotify(simulator, Store())
    world.authorise("publisher", "larkspur-vine")
    yield world


def jpeg(side: int = 640, quality: int = 85) -> bytes:
    return media.cover(side, side, "JPEG", quality=quality)


# ------------------------------------------------------------------------------------------ basics
def test_a_playlist_is_created_on_the_accounts_own_user_and_found_in_its_library(spotify: Spotify) -> None:
    client = spotify.client()
    created = client.create_playlist("Imogen Thale: interviews and readings", "Everything Imogen Thale on Spotify.", public=True)

    assert client.me().id == "larkspur-vine"
    assert created.owner.id == "larkspur-vine" and created.url == f"https://open.spotify.com/playlist/{created.id}"
    listed = client.my_playlists()
    assert [p.id for p in listed] == [created.id] and listed[0].snapshot_id == created.snapshot_id
    assert client.playlist(created.id) == client.playlist(created.id)  # a full object, read twice the same
    assert spotify.simulator.playlists.requests_by_operation["create-playlist"] == 1


def test_replacing_items_puts_the_first_hundred_then_appends_the_rest_in_order(spotify: Spotify, exchanges: list[HttpExchange]) -> None:
    client = spotify.client()
    playlist = client.create_playlist("All of it", "", public=True)
    wanted = [episode_uri(e) for e in episode_ids(230)]

    snapshot = client.replace_items(playlist.id, wanted)

    writes = [(e.method, len(e.request_body["uris"])) for e in exchanges if e.url.endswith(f"/playlists/{playlist.id}/items")]
    assert writes == [("PUT", 100), ("POST", 100), ("POST", 30)]
    uris, read_snapshot = client.items(playlist.id)
    assert uris == wanted and read_snapshot == snapshot
    # the walk: the full object (its first 50), then /items pages of 50 through `next`
    reads = [e.url for e in exchanges if e.method == "GET" and playlist.id in e.url]
    assert len(reads) == 1 + 4 and all("/items?" in url for url in reads[1:])


def test_every_change_to_the_items_gives_a_new_snapshot_but_details_keep_it(spotify: Spotify) -> None:
    client = spotify.client()
    playlist = client.create_playlist("Snapshots", "", public=True)
    first = client.replace_items(playlist.id, [episode_uri(e) for e in episode_ids(3)])
    client.update_details(playlist.id, name="Snapshots, renamed", description="New words.")
    assert client.items(playlist.id)[1] == first
    second = client.remove_items(playlist.id, [episode_uri(episode_ids(3)[1])], snapshot_id=first)
    assert second != first and client.items(playlist.id) == ([episode_uri(e) for e in episode_ids(3)[::2]], second)
    with pytest.raises(RequestRejected, match="Invalid snapshot id"):
        client.remove_items(playlist.id, [episode_uri(episode_ids(3)[0])], snapshot_id="bm90IGEgc25hcHNob3Q=")
    assert client.replace_items(playlist.id, []) not in (first, second)
    assert client.items(playlist.id)[0] == []


def test_the_cover_is_sent_base64_encoded_and_over_256_kb_is_refused_before_sending(spotify: Spotify, exchanges: list[HttpExchange]) -> None:
    client = spotify.client()
    playlist = client.create_playlist("Cover", "", public=True)
    client.upload_cover(playlist.id, jpeg(640))
    sent = [e for e in exchanges if e.url.endswith("/images")]
    assert sent[0].method == "PUT" and sent[0].status == 202 and sent[0].request_headers["content-type"] == "image/jpeg"
    image = client.playlist(playlist.id).images[0]  # type: ignore[union-attr]
    assert (image.width, image.height) == (640, 640)

    noisy = media.cover(1200, 1200, "JPEG", grain=200, quality=95)
    assert len(base64.b64encode(noisy)) > 256 * 1024
    with pytest.raises(CoverTooLarge, match="at most 262144"):
        client.upload_cover(playlist.id, noisy)
    with pytest.raises(CoverTooLarge, match="must be a JPEG"):
        client.upload_cover(playlist.id, media.cover(300, 300, "PNG"))
    assert len([e for e in exchanges if e.url.endswith("/images")]) == 1  # neither reached Spotify


def test_the_simulator_itself_refuses_an_oversized_or_undecodable_cover(spotify: Spotify) -> None:
    client = spotify.client()
    playlist = client.create_playlist("Raw covers", "", public=True)
    headers = {"Authorization": f"Bearer {client.tokens.access_token()}", "Content-Type": "image/jpeg"}
    url = f"https://{API_HOST}/v1/playlists/{playlist.id}/images"
    with httpx.Client(transport=spotify.simulator) as raw:
        too_big = raw.put(url, headers=headers, content=base64.b64encode(media.cover(1200, 1200, "JPEG", grain=200, quality=95)))
        not_base64 = raw.put(url, headers=headers, content=b"\xff\xd8\xff not base64 at all")
        png = raw.put(url, headers=headers, content=base64.b64encode(media.cover(200, 200, "PNG")))
    assert (too_big.status_code, not_base64.status_code, png.status_code) == (413, 400, 400)


def test_limits_spotify_enforces_are_checked_before_sending(spotify: Spotify) -> None:
    client = spotify.client()
    with pytest.raises(PlaylistRequestInvalid, match="at most 300"):
        client.create_playlist("Too wordy", "x" * 301, public=True)
    playlist = client.create_playlist("Fine", "x" * 300, public=True)
    with pytest.raises(PlaylistRequestInvalid, match="not a Spotify track or episode URI"):
        client.replace_items(playlist.id, ["https://open.spotify.com/episode/" + episode_ids(1)[0]])
    with pytest.raises(RequestRejected, match="non-existing ID"):
        client.replace_items(playlist.id, [episode_uri("Z" * 22)])


# ------------------------------------------------------------------------------------------ who may do what
def test_a_user_who_is_not_allow_listed_in_development_mode_is_refused_with_a_clear_type(spotify: Spotify) -> None:
    spotify.authorise("stranger-account", "stranger")
    with pytest.raises(SpotifyUserNotRegistered, match="allow-listed"):
        spotify.client("stranger-account").me()
    spotify.simulator.playlists.quota_mode = "extended"  # extended quota: any user may use the app
    assert spotify.client("stranger-account").me().id == "stranger"


def test_a_missing_scope_is_refused_with_a_clear_type(spotify: Spotify) -> None:
    spotify.authorise("no-covers", "larkspur-vine", scopes=("playlist-modify-public",))
    client = spotify.client("no-covers")
    playlist = client.create_playlist("Public is allowed", "", public=True)
    with pytest.raises(SpotifyScopeMissing, match="authorise the account again"):
        client.upload_cover(playlist.id, jpeg())
    with pytest.raises(SpotifyScopeMissing):
        client.create_playlist("Private is not", "", public=False)


def test_the_deprecated_paths_answer_403_to_a_development_mode_app(spotify: Spotify) -> None:
    client = spotify.client()
    playlist = client.create_playlist("Paths", "", public=True)
    headers = {"Authorization": f"Bearer {client.tokens.access_token()}"}
    with httpx.Client(transport=spotify.simulator, base_url=f"https://{API_HOST}/v1", headers=headers) as raw:
        tracks = raw.get(f"/playlists/{playlist.id}/tracks")
        for_user = raw.post("/users/larkspur-vine/playlists", json={"name": "Old way"})
        spotify.simulator.playlists.quota_mode = "extended"
        tracks_extended = raw.get(f"/playlists/{playlist.id}/tracks")
    assert tracks.status_code == 403 and "deprecated" in tracks.json()["error"]["message"]
    assert for_user.status_code == 403
    assert tracks_extended.status_code == 200


def test_an_app_token_cannot_act_as_a_user(spotify: Spotify) -> None:
    from functions.connectors.spotify_web import SpotifyWebClient

    app = SpotifyWebClient(APP)
    with httpx.Client(transport=spotify.simulator) as raw:
        answer = raw.get(f"https://{API_HOST}/v1/me/playlists", headers={"Authorization": f"Bearer {app.access_token()}"})
    assert answer.status_code == 401


def test_another_users_playlist_cannot_be_changed(spotify: Spotify) -> None:
    owner = spotify.client()
    playlist = owner.create_playlist("Mine", "", public=True)
    spotify.simulator.accounts.users["brand"] = SandboxUser("brand", "A brand")
    spotify.authorise("brand-account", "brand")
    with pytest.raises(SpotifyAuthenticationFailed, match="do not own"):
        spotify.client("brand-account").replace_items(playlist.id, [episode_uri(episode_ids(1)[0])])


# ------------------------------------------------------------------------------------------ failures
def test_a_create_whose_answer_was_lost_is_found_by_name_not_made_twice(spotify: Spotify) -> None:
    client = spotify.client()
    client.me()  # the token and the user id are known before the fault
    spotify.simulator.faults = ScriptedFaults("timeout-after-write")
    created = client.create_playlist("Lost answer", "", public=True)
    assert [p.id for p in client.my_playlists()] == [created.id]
    assert spotify.simulator.playlists.requests_by_operation["create-playlist"] == 1


def test_a_create_lost_before_the_server_acted_is_sent_again(spotify: Spotify) -> None:
    client = spotify.client()
    client.me()
    spotify.simulator.faults = ScriptedFaults("timeout")
    created = client.create_playlist("Lost request", "", public=True)
    assert [p.id for p in client.my_playlists()] == [created.id]


def test_a_lost_append_restarts_the_replace_so_nothing_is_doubled(spotify: Spotify) -> None:
    client = spotify.client()
    playlist = client.create_playlist("Long", "", public=True)
    wanted = [episode_uri(e) for e in episode_ids(150)]
    original = spotify.simulator.handle_request
    calls = {"n": 0}

    def lose_first_append(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/items") and calls["n"] == 0:
            calls["n"] += 1
            original(request)  # Spotify appends ...
            raise httpx.ReadTimeout("answer lost", request=request)  # ... and the answer never arrives
        return original(request)

    route_host(API_HOST, httpx.MockTransport(lose_first_append))
    client.replace_items(playlist.id, wanted)
    assert client.items(playlist.id)[0] == wanted


def test_rate_limits_are_waited_out_on_the_virtual_clock(spotify: Spotify, virtual_clock: VirtualClock) -> None:
    client = spotify.client()
    playlist = client.create_playlist("Busy", "", public=True)
    spotify.simulator.api_rate_limit.limit = 3
    started = virtual_clock.now()
    for _ in range(5):
        client.update_details(playlist.id, description="Again.")
    assert spotify.simulator.api_rate_limit.rejected >= 1 and virtual_clock.now() > started


def test_covers_have_their_own_rate_limit(spotify: Spotify, virtual_clock: VirtualClock) -> None:
    client = spotify.client()
    playlist = client.create_playlist("Covers", "", public=True)
    spotify.simulator.playlists.cover_limit.limit = 1
    client.upload_cover(playlist.id, jpeg(300))
    client.upload_cover(playlist.id, jpeg(320))  # 429 with Retry-After, waited out, then accepted
    assert spotify.simulator.playlists.cover_limit.rejected == 1
    assert client.playlist(playlist.id).images[0].width == 320  # type: ignore[union-attr]


def test_a_playlist_its_owner_deleted_leaves_the_library_and_one_spotify_removed_is_not_found(spotify: Spotify) -> None:
    client = spotify.client()
    deleted = client.create_playlist("Deleted in the app", "", public=True)
    removed = client.create_playlist("Removed by Spotify", "", public=True)
    spotify.simulator.playlists.unfollow_by_owner(deleted.id)
    spotify.simulator.playlists.remove(removed.id)
    assert client.my_playlists() == []
    assert client.playlist(deleted.id) is not None  # still served by id: unfollowed, not gone
    assert client.playlist(removed.id) is None


def test_private_playlists_need_the_read_private_scope_to_be_listed(spotify: Spotify) -> None:
    spotify.authorise("no-reading", "larkspur-vine", scopes=("playlist-modify-private", "playlist-modify-public"))
    writer = spotify.client("no-reading")
    private = writer.create_playlist("Private", "", public=False)
    public = writer.create_playlist("Public", "", public=True)
    assert [p.id for p in writer.my_playlists()] == [public.id]
    assert [p.id for p in spotify.client().my_playlists()] == [public.id, private.id]


def test_a_taken_down_episode_stays_in_a_playlist_as_not_playable(spotify: Spotify) -> None:
    client = spotify.client()
    playlist = client.create_playlist("Takedowns", "", public=True)
    first, second = episode_ids(2)
    client.replace_items(playlist.id, [episode_uri(first), episode_uri(second)])
    spotify.simulator.take_down(second)
    token = client.tokens.access_token()
    with httpx.Client(transport=spotify.simulator) as raw:
        page = raw.get(f"https://{API_HOST}/v1/playlists/{playlist.id}/items", headers={"Authorization": f"Bearer {token}"}).json()
    assert [(entry["item"]["id"], entry["item"]["is_playable"]) for entry in page["items"]] == [(first, True), (second, False)]


def test_cover_bytes_are_a_real_jpeg_after_the_round_trip(spotify: Spotify) -> None:
    client = spotify.client()
    playlist = client.create_playlist("Round trip", "", public=True)
    client.upload_cover(playlist.id, jpeg(500))
    stored = spotify.simulator.playlists.playlists[playlist.id].cover
    assert stored is not None and Image.open(io.BytesIO(stored)).format == "JPEG"
