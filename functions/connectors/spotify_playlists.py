"""Spotify Web API client for playlists on a publisher's or brand's own account (authorization code).

The 2026 Web API (see `../shared/specs/spotify/PLAYLISTS-FACTS.md`): playlists are created for the
current user with `POST /me/playlists` (`POST /users/{id}/playlists` is gone for development-mode apps)
and their contents live under `/playlists/{id}/items` (the `/tracks` paths answer 403 to
development-mode apps). Everything is owner-scoped: the token is the account's own, refreshed from its
stored authorisation (`AuthorizationCodeTokens`).

Retry rules, per call:
- reads, `PUT` (details, replace, cover) and `DELETE` (remove items) are idempotent: 429 honours
  `Retry-After`, 5xx and timeouts back off and retry (the `HttpService`'s policy);
- `POST /me/playlists` is not: a create whose outcome is unknown (`AmbiguousWrite`) is looked up by name
  among the account's playlists (`/me/playlists`) before it is sent again — playlist names need not
  be unique on Spotify, so callers give their playlists names they own;
- `POST /playlists/{id}/items` (appending past the first 100 of a replace) is not either: an ambiguous
  append restarts the whole replace from its `PUT`, which overwrites whatever the lost append did.

Limits checked before sending, as Spotify would refuse them: 100 URIs per request (longer lists are
split), a description of at most 300 characters, and a cover that is a JPEG whose Base64 text is at most
256 KB (`CoverTooLarge`: the caller must shrink it).

Errors are the typed Spotify errors of `spotify_auth`; two 403s get their own type because an operator
acts on them differently: `SpotifyUserNotRegistered` (development mode: the account is not one of the
app's allow-listed users) and `SpotifyScopeMissing` (the authorisation lacks a scope: authorise again).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from functions.connectors.api_client import ApiClient, NextUrlPaging, PageRequest
from functions.connectors.errors import AmbiguousWrite, AuthenticationFailed, NotFound
from functions.connectors.http import HttpService, RetryPolicy
from functions.connectors.rate_limit import RateLimiter
from functions.connectors.spotify_auth import AuthorizationCodeTokens, SpotifyAuthenticationFailed, spotify_error, web_api_service
from functions.domain.errors import PermanentError

API_URL = "https://api.spotify.com/v1"
PAGE_LIMIT = 50  # the spec's maximum `limit` for /me/playlists and /playlists/{id}/items
URIS_PER_REQUEST = 100
MAX_DESCRIPTION_LENGTH = 300
MAX_COVER_PAYLOAD_BYTES = 256 * 1024  # the Base64 text, as sent
CREATE_ATTEMPTS = 3  # creates sent when each answer was lost and no playlist of that name appeared
REPLACE_ATTEMPTS = 3  # full replaces started over after an append's answer was lost
JPEG_MAGIC = b"\xff\xd8\xff"
NOT_REGISTERED_HINT = "may not be registered"
SCOPE_HINT = "insufficient client scope"


# ------------------------------------------------------------------------------------------ models
class PlaylistModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class SpotifyUser(PlaylistModel):
    """`GET /me`: the account the token belongs to (`account_id` is the stable id since May 2026)."""

    id: str
    display_name: str | None = None
    account_id: str | None = None
    uri: str | None = None


class PlaylistOwner(PlaylistModel):
    id: str
    display_name: str | None = None


class PlaylistImage(PlaylistModel):
    url: str
    width: int | None = None
    height: int | None = None


class PlaylistItemsRef(PlaylistModel):
    """`items` of a playlist: a reference (`href`, `total`) in lists, the first page in a full object."""

    href: str | None = None
    total: int = 0


class Playlist(PlaylistModel):
    """A playlist as `/me/playlists` (simplified) or `/playlists/{id}` (full) answers it.

    `description` is what Spotify chose to return ("only returned for modified, verified playlists,
    otherwise null"): never compare it with what was set."""

    id: str
    name: str
    description: str | None = None
    public: bool | None = None
    collaborative: bool = False
    snapshot_id: str
    uri: str
    owner: PlaylistOwner
    images: tuple[PlaylistImage, ...] = ()
    external_urls: dict[str, str] = Field(default_factory=dict)
    items: PlaylistItemsRef | None = None

    @property
    def url(self) -> str:
        return self.external_urls.get("spotify") or f"https://open.spotify.com/playlist/{self.id}"


class _ItemRef(PlaylistModel):
    uri: str | None = None


class _PlaylistEntry(PlaylistModel):
    item: _ItemRef | None = None
    track: _ItemRef | None = None  # the deprecated alias of `item`

    @property
    def uri(self) -> str | None:
        found = self.item or self.track
        return found.uri if found is not None else None


class _FullPlaylistPage(PlaylistModel):
    """The parts of a full playlist object that the item walk reads."""

    snapshot_id: str
    items: dict[str, Any] | None = None


class SnapshotAnswer(PlaylistModel):
    snapshot_id: str


# ------------------------------------------------------------------------------------------ errors
class SpotifyUserNotRegistered(SpotifyAuthenticationFailed):
    """403 in development mode: the account is not one of the (at most five) users allow-listed for the
    app in Spotify's developer dashboard. Add it there, or move the app to extended quota."""

    code = "spotify_user_not_registered"


class SpotifyScopeMissing(SpotifyAuthenticationFailed):
    """403 "Insufficient client scope": the account's authorisation lacks a scope this call needs; run
    `python -m infra.ops auth spotify --account NAME` again (it asks for every scope the flows declare)."""

    code = "spotify_scope_missing"


class CoverTooLarge(PermanentError):
    """The cover's Base64 text is over Spotify's 256 KB limit (or it is not a JPEG): shrink it first."""

    code = "spotify_cover_too_large"


class PlaylistRequestInvalid(PermanentError):
    """A request Spotify would refuse, caught before sending (a too long description, a malformed URI)."""

    code = "spotify_playlist_request_invalid"


def episode_uri(spotify_id: str) -> str:
    return f"spotify:episode:{spotify_id}"


def playlists_service(
    *, api_url: str = API_URL, limiter: RateLimiter | None = None, retry: RetryPolicy | None = None, timeout_seconds: float = 10.0
) -> HttpService:
    """The Web API host for this client; share the app's limiter with the catalogue client (the rate
    limit is per app)."""
    return web_api_service(api_url, limiter=limiter, retry=retry, timeout_seconds=timeout_seconds)


class SpotifyPlaylistsClient:
    """Playlists of the account whose tokens are given. One instance per account per process."""

    def __init__(self, http: HttpService, tokens: AuthorizationCodeTokens):
        if http.translate_error is None:
            http.translate_error = spotify_error
        self.api = ApiClient(http, tokens)
        self.tokens = tokens
        self._me: SpotifyUser | None = None

    # who -----------------------------------------------------------------------------------------------
    def me(self) -> SpotifyUser:
        """The account's user (asked once per process: it does not change)."""
        if self._me is None:
            self._me = self.api.parse(self._send("GET", "/me", idempotent=True), SpotifyUser)
        return self._me

    # playlists -----------------------------------------------------------------------------------------
    def my_playlists(self) -> list[Playlist]:
        """Every playlist in the account's library (owned or followed), newest first, 50 a page. A
        playlist its owner "deleted" in a Spotify app is unfollowed, so it is not here any more."""
        first = PageRequest(path="/me/playlists", params={"limit": PAGE_LIMIT, "offset": 0})
        found: list[Playlist] = []
        for page in self._pages(first):
            found += self.api.parse_list(page.response, Playlist, [item for item in page.items if item is not None])
        return found

    def find_my_playlist(self, name: str) -> Playlist | None:
        """The account's own playlist with this name (the first, newest first), if any."""
        owner = self.me().id
        return next((p for p in self.my_playlists() if p.name == name and p.owner.id == owner), None)

    def create_playlist(self, name: str, description: str, public: bool) -> Playlist:
        """Create a playlist on the account. Not idempotent: when the answer is lost, the playlist is
        looked up by name before anything is sent again (see the module docstring)."""
        body = {"name": name, "description": _checked_description(description), "public": public}
        attempts_left = CREATE_ATTEMPTS
        while True:
            try:
                return self.api.parse(self._send("POST", "/me/playlists", idempotent=False, json_body=body), Playlist)
            except AmbiguousWrite:
                found = self.find_my_playlist(name)
                if found is not None:
                    return found
                attempts_left -= 1
                if attempts_left == 0:
                    raise

    def playlist(self, playlist_id: str) -> Playlist | None:
        """The playlist, or None when Spotify does not have it (404). A playlist its owner unfollowed
        ("deleted") is still served by id: look for it in `my_playlists` to know it is in the library."""
        try:
            return self.api.parse(self._send("GET", f"/playlists/{_id(playlist_id)}", idempotent=True), Playlist)
        except NotFound:
            return None

    def update_details(self, playlist_id: str, *, name: str | None = None, description: str | None = None, public: bool | None = None) -> None:
        """Change the name, description or visibility (only what is given)."""
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if description is not None:
            body["description"] = _checked_description(description)
        if public is not None:
            body["public"] = public
        if body:
            self._send("PUT", f"/playlists/{_id(playlist_id)}", idempotent=True, json_body=body)

    # items ---------------------------------------------------------------------------------------------
    def items(self, playlist_id: str) -> tuple[list[str], str]:
        """(every item's URI in order, the snapshot id they belong to): the full playlist object (its
        snapshot id and first page), then the `/items` pages it links to."""
        response = self._send("GET", f"/playlists/{_id(playlist_id)}", idempotent=True, params={"additional_types": "episode"})
        full = self.api.parse(response, _FullPlaylistPage)
        uris: list[str] = []
        page_body = full.items or {}
        uris += self._uris_of(response, page_body.get("items") or [])
        following = page_body.get("next")
        if isinstance(following, str) and following:
            for page in self._pages(PageRequest(path=following)):
                uris += self._uris_of(page.response, page.items)
        return uris, full.snapshot_id

    def replace_items(self, playlist_id: str, uris: Sequence[str]) -> str:
        """Make the playlist hold exactly `uris`, in order; returns the new snapshot id. The first 100
        replace (`PUT`), the rest are appended 100 at a time (`POST`)."""
        wanted = [_checked_uri(uri) for uri in uris]
        chunks = [wanted[i : i + URIS_PER_REQUEST] for i in range(0, len(wanted), URIS_PER_REQUEST)] or [[]]
        path = f"/playlists/{_id(playlist_id)}/items"
        attempts_left = REPLACE_ATTEMPTS
        while True:
            answer = self.api.parse(self._send("PUT", path, idempotent=True, json_body={"uris": chunks[0]}), SnapshotAnswer)
            try:
                for chunk in chunks[1:]:
                    answer = self.api.parse(self._send("POST", path, idempotent=False, json_body={"uris": chunk}), SnapshotAnswer)
            except AmbiguousWrite:
                attempts_left -= 1
                if attempts_left == 0:
                    raise
                continue  # the PUT starts over: a lost append that did happen is overwritten
            return answer.snapshot_id

    def remove_items(self, playlist_id: str, uris: Sequence[str], snapshot_id: str | None = None) -> str:
        """Remove every occurrence of `uris` (100 a request); returns the new snapshot id."""
        wanted = list(dict.fromkeys(_checked_uri(uri) for uri in uris))
        if not wanted:
            raise PlaylistRequestInvalid("nothing to remove")
        snapshot = snapshot_id
        for start in range(0, len(wanted), URIS_PER_REQUEST):
            body: dict[str, Any] = {"items": [{"uri": uri} for uri in wanted[start : start + URIS_PER_REQUEST]]}
            if snapshot is not None:
                body["snapshot_id"] = snapshot
            response = self._send("DELETE", f"/playlists/{_id(playlist_id)}/items", idempotent=True, json_body=body)
            snapshot = self.api.parse(response, SnapshotAnswer).snapshot_id
        assert snapshot is not None
        return snapshot

    # cover ---------------------------------------------------------------------------------------------
    def upload_cover(self, playlist_id: str, jpeg: bytes) -> None:
        """Replace the playlist's cover with this JPEG (sent Base64-encoded; Spotify applies it later)."""
        if not jpeg.startswith(JPEG_MAGIC):
            raise CoverTooLarge("a playlist cover must be a JPEG")
        encoded = base64.b64encode(jpeg)
        if len(encoded) > MAX_COVER_PAYLOAD_BYTES:
            raise CoverTooLarge(f"the cover is {len(encoded)} bytes in Base64; Spotify takes at most {MAX_COVER_PAYLOAD_BYTES}")
        self._send("PUT", f"/playlists/{_id(playlist_id)}/images", idempotent=True, content=encoded, headers={"Content-Type": "image/jpeg"})

    # plumbing ------------------------------------------------------------------------------------------
    def _send(self, method: str, path: str, *, idempotent: bool, **kwargs: Any) -> Any:
        # The token is fetched first, so the token endpoint's retries never nest inside the API's.
        self.tokens.access_token()
        try:
            return self.api.send(method, path, idempotent=idempotent, **kwargs)
        except AuthenticationFailed as exc:
            raise _explained(exc) from exc

    def _pages(self, first: PageRequest) -> Iterator[Any]:
        self.tokens.access_token()
        try:
            yield from self.api.pages(first, NextUrlPaging())
        except AuthenticationFailed as exc:
            raise _explained(exc) from exc

    def _uris_of(self, response: Any, raw_items: list[Any]) -> list[str]:
        entries = self.api.parse_list(response, _PlaylistEntry, [item for item in raw_items if isinstance(item, dict)])
        return [entry.uri for entry in entries if entry.uri]


def _explained(exc: AuthenticationFailed) -> AuthenticationFailed:
    """A 403 whose cause an operator can act on, as its own type; anything else as it was."""
    detail = getattr(exc, "detail", None)
    message = (detail.message if detail is not None else "") or ""
    if exc.status == 403 and NOT_REGISTERED_HINT in message.lower():
        error: AuthenticationFailed = SpotifyUserNotRegistered(
            exc.service,
            f"{exc}: the account is not allow-listed for this app (development mode allows five users; add it in the "
            "developer dashboard)",
            exc.status,
            exc.body,
        )
    elif exc.status == 403 and SCOPE_HINT in message.lower():
        error = SpotifyScopeMissing(
            exc.service, f"{exc}: authorise the account again (`python -m infra.ops auth spotify`)", exc.status, exc.body
        )
    else:
        return exc
    error.detail = detail  # type: ignore[attr-defined]
    return error


def _checked_description(description: str) -> str:
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise PlaylistRequestInvalid(f"a playlist description is at most {MAX_DESCRIPTION_LENGTH} characters (got {len(description)})")
    return description


def _checked_uri(uri: str) -> str:
    kind, _, identity = uri.removeprefix("spotify:").partition(":")
    if not uri.startswith("spotify:") or kind not in ("track", "episode") or len(identity) != 22 or not identity.isalnum():
        raise PlaylistRequestInvalid(f"not a Spotify track or episode URI: {uri[:80]!r}")
    return uri


def _id(playlist_id: str) -> str:
    if len(playlist_id) != 22 or not playlist_id.isalnum() or not playlist_id.isascii():
        raise PlaylistRequestInvalid(f"not a Spotify playlist id: {playlist_id[:80]!r}")
    return playlist_id
