"""The Spotify Web API's user endpoints — `/me` and playlists — as the Web API simulator serves them
for a user's token (authorization code flow), after `../shared/specs/spotify/web-api.fixed.openapi.yml`
and `PLAYLISTS-FACTS.md`.

What it enforces:
- Who: the bearer token's user and granted scopes (`SpotifyAccounts.verify`). An app token
  (client credentials) has no user: `/me...` and every write answer 401 ("Only valid bearer
  authentication supported"), reading another user's items 403.
- Development mode (the default quota mode): only users allow-listed in the app's dashboard may use
  it; anyone else gets `403 "Check settings on developer.spotify.com/dashboard, the user may not be
  registered."` on every user endpoint. Since February/March 2026 the `/playlists/{id}/tracks` paths
  (all methods) and `POST /users/{user_id}/playlists` answer 403 to development-mode apps; in
  extended quota mode they still work as the deprecated aliases they are.
- Scopes, per the playlist's visibility: a public playlist needs `playlist-modify-public` to change,
  a private one `playlist-modify-private`; a cover upload also `ugc-image-upload`; reading a private
  playlist's items, or listing private playlists in `/me/playlists`, `playlist-read-private`
  (without it, private playlists are left out of the list). Missing → `403 "Insufficient client scope"`.
- Ownership: only the owner (or a collaborator of a collaborative playlist) reads items or changes
  a playlist → 403 otherwise. Private playlists of other users are not found (404).
- Limits: at most 100 URIs per add/replace/remove request (400); 10,000 items per playlist (403);
  11,000 playlists per user (403); `limit` 1..50 on the paged reads (400); a description of at most
  300 characters (400, inferred: Spotify's clients cut it there); URIs must be `spotify:track:` or
  `spotify:episode:` with a base62 id (400), and an episode must exist (400).
- Snapshot ids: every change to a playlist's items gives it a new `snapshot_id` (an opaque
  base64 text). A reorder or remove naming a snapshot id the playlist never had is refused (400); one
  naming an older snapshot is applied to the current items, as Spotify documents for removals. Changing
  only the details (name, description, visibility) keeps the snapshot id (inferred: the spec ties
  snapshots to item positions).
- Covers: `PUT /playlists/{id}/images` with `Content-Type: image/jpeg` and a base64-encoded JPEG body
  of at most 256 KB (larger → 413, not base64 or not a JPEG → 400); answered 202 (Spotify processes
  it asynchronously; here it is visible at once). Covers have their own rolling-window rate limit
  per user, apart from the app-wide one (429 with `Retry-After`).
- "Deleting" a playlist: Spotify has no delete; an owner who removes a playlist from their library
  unfollows it. It then no longer appears in `/me/playlists` but is still served by id
  (`unfollow_by_owner`). `remove` stands for Spotify taking a playlist down altogether: 404 everywhere.

Episodes in playlists are the Web API simulator's own episodes (their JSON comes from it), so an
episode taken down on Spotify shows as not playable in the user's market.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal
from urllib.parse import urlencode

import httpx
from PIL import Image, UnidentifiedImageError

from functions.clock import Clock
from sandbox.simulators.base import RollingWindowLimit, json_response
from sandbox.simulators.spotify_accounts import IssuedToken, SpotifyAccounts
from sandbox.simulators.spotify_errors import api_error

API_BASE = "https://api.spotify.com/v1"
QuotaMode = Literal["development", "extended"]

MAX_URIS_PER_REQUEST = 100
MAX_ITEMS_PER_PLAYLIST = 10_000
MAX_PLAYLISTS_PER_USER = 11_000
MAX_PAGE_LIMIT = 50
MAX_OFFSET = 100_000
MAX_DESCRIPTION_LENGTH = 300  # inferred
MAX_COVER_PAYLOAD_BYTES = 256 * 1024
SANDBOX_USER_COUNTRY = "GB"  # the market a sandbox user's token reads in (a user's country, on Spotify)
NOT_REGISTERED = "Check settings on developer.spotify.com/dashboard, the user may not be registered."
INSUFFICIENT_SCOPE = "Insufficient client scope"
TRACKS_PATH_REMOVED = "The /tracks playlist endpoints are deprecated and not available to development mode apps; use /items"
USER_PLAYLISTS_REMOVED = "POST /users/{user_id}/playlists is not available to development mode apps; use POST /me/playlists"

_ID = re.compile(r"^[0-9A-Za-z]{22}$")
_URI = re.compile(r"^spotify:(track|episode):([0-9A-Za-z]{22})$")
_ID_ALPHABET = string.ascii_letters + string.digits
_ME = re.compile(r"^/v1/me$")
_MY_PLAYLISTS = re.compile(r"^/v1/me/playlists$")
_USER_PLAYLISTS = re.compile(r"^/v1/users/([^/]+)/playlists$")
_PLAYLIST = re.compile(r"^/v1/playlists/([^/]+)$")
_PLAYLIST_ITEMS = re.compile(r"^/v1/playlists/([^/]+)/(items|tracks)$")
_PLAYLIST_IMAGES = re.compile(r"^/v1/playlists/([^/]+)/images$")

# (episode id, market) -> the EpisodeObject as a listener in the market sees it (`is_playable` false where
# it is not offered), or None when Spotify has no such episode
EpisodeJson = Callable[[str, str], "dict[str, Any] | None"]


@dataclass
class PlaylistEntry:
    uri: str
    added_at: datetime
    added_by: str


@dataclass
class SimulatedPlaylist:
    id: str
    owner_id: str
    owner_name: str
    name: str
    description: str
    public: bool
    collaborative: bool
    created_at: datetime
    items: list[PlaylistEntry] = field(default_factory=list)
    snapshots: list[str] = field(default_factory=list)
    cover: bytes | None = None  # the JPEG as uploaded (decoded)
    cover_size: tuple[int, int] | None = None
    followed_by_owner: bool = True  # False once the owner removed it from their library ("deleted")
    removed: bool = False  # taken down by Spotify: not found at all
    collaborators: set[str] = field(default_factory=set)

    @property
    def snapshot_id(self) -> str:
        return self.snapshots[-1]

    def uris(self) -> list[str]:
        return [entry.uri for entry in self.items]


class RequestProblem(Exception):
    """A request the API refuses: carries the response to send."""

    def __init__(self, response: httpx.Response):
        super().__init__(response.status_code)
        self.response = response


def _refuse(status: int, message: str) -> RequestProblem:
    return RequestProblem(api_error(status, message))


class PlaylistService:
    """The user endpoints of the Web API simulator; `handle` answers one request on API_HOST."""

    def __init__(
        self,
        clock: Clock,
        accounts: SpotifyAccounts,
        episode_json: EpisodeJson,
        episode_exists: Callable[[str], bool],
        *,
        quota_mode: QuotaMode = "development",
        covers_per_window: int = 10,
        cover_window_seconds: float = 30.0,
        seed: int = 0,
    ):
        self.clock = clock
        self.accounts = accounts
        self.episode_json = episode_json
        self.episode_exists = episode_exists
        self.quota_mode: QuotaMode = quota_mode
        self.cover_limit = RollingWindowLimit(clock, covers_per_window, cover_window_seconds)
        self.playlists: dict[str, SimulatedPlaylist] = {}
        self.requests_by_operation: dict[str, int] = {}
        self._rng = random.Random(f"{seed}:playlists")

    # sandbox controls --------------------------------------------------------------------------------
    def unfollow_by_owner(self, playlist_id: str) -> None:
        """The owner "deleted" the playlist in a Spotify app: it leaves their library, not Spotify."""
        self.playlists[playlist_id].followed_by_owner = False

    def remove(self, playlist_id: str) -> None:
        """Spotify took the playlist down: not found from now on."""
        self.playlists[playlist_id].removed = True

    def edit_items(self, playlist_id: str, uris: list[str], by: str = "someone-in-the-app") -> None:
        """A person changed the items in a Spotify app (a new snapshot, as any change makes)."""
        playlist = self.playlists[playlist_id]
        playlist.items = [PlaylistEntry(uri, self.clock.now(), by) for uri in uris]
        self._new_snapshot(playlist)

    def owned_by(self, user_id: str) -> list[SimulatedPlaylist]:
        return sorted((p for p in self.playlists.values() if p.owner_id == user_id), key=lambda p: (p.created_at, p.id))

    def state(self) -> list[dict[str, Any]]:
        """Every playlist with what Spotify holds for it (the sandbox report)."""
        return [
            {
                "id": p.id,
                "owner": p.owner_id,
                "name": p.name,
                "description": p.description,
                "public": p.public,
                "snapshot_id": p.snapshot_id,
                "snapshots": len(p.snapshots),
                "items": p.uris(),
                "cover": {"bytes": len(p.cover), "width": p.cover_size[0], "height": p.cover_size[1]} if p.cover and p.cover_size else None,
                "in_owner_library": p.followed_by_owner,
                "removed": p.removed,
            }
            for p in sorted(self.playlists.values(), key=lambda p: (p.owner_id, p.created_at, p.id))
        ]

    # dispatch ----------------------------------------------------------------------------------------
    @staticmethod
    def serves(path: str) -> bool:
        return any(
            pattern.match(path) for pattern in (_ME, _MY_PLAYLISTS, _USER_PLAYLISTS, _PLAYLIST, _PLAYLIST_ITEMS, _PLAYLIST_IMAGES)
        )

    def handle(self, request: httpx.Request, token: IssuedToken) -> httpx.Response:
        try:
            return self._dispatch(request, token)
        except RequestProblem as problem:
            return problem.response

    def _dispatch(self, request: httpx.Request, token: IssuedToken) -> httpx.Response:
        path, method = request.url.path, request.method
        self._check_registered(token)
        if _ME.match(path):
            if method != "GET":
                return api_error(405, "Method not allowed")
            return self._counted("get-current-users-profile", self._me(token))
        if _MY_PLAYLISTS.match(path):
            if method == "GET":
                return self._counted("get-a-list-of-current-users-playlists", self._my_playlists(request, token))
            if method == "POST":
                return self._counted("create-playlist", self._create(request, self._user(token), token))
            return api_error(405, "Method not allowed")
        if match := _USER_PLAYLISTS.match(path):
            return self._create_for_user(request, token, match.group(1))
        if match := _PLAYLIST_ITEMS.match(path):
            if match.group(2) == "tracks" and self.quota_mode == "development":
                return api_error(403, TRACKS_PATH_REMOVED)
            return self._items(request, token, self._playlist(match.group(1), token))
        if match := _PLAYLIST_IMAGES.match(path):
            playlist = self._playlist(match.group(1), token)
            if method == "GET":
                return self._counted("get-playlist-cover", self._cover_json(playlist))
            if method == "PUT":
                return self._counted("upload-custom-playlist-cover", self._upload_cover(request, token, playlist))
            return api_error(405, "Method not allowed")
        if match := _PLAYLIST.match(path):
            playlist = self._playlist(match.group(1), token)
            if method == "GET":
                return self._counted("get-playlist", json_response(200, self._playlist_json(playlist, token, request)))
            if method == "PUT":
                return self._counted("change-playlist-details", self._change_details(request, token, playlist))
            return api_error(405, "Method not allowed")
        return api_error(404, "Service not found")

    def _counted(self, operation: str, response: httpx.Response) -> httpx.Response:
        self.requests_by_operation[operation] = self.requests_by_operation.get(operation, 0) + 1
        return response

    # who ---------------------------------------------------------------------------------------------
    def _check_registered(self, token: IssuedToken) -> None:
        if token.user_id is None or self.quota_mode != "development":
            return
        user = self.accounts.users.get(token.user_id)
        if user is None or not user.allow_listed:
            raise _refuse(403, NOT_REGISTERED)

    @staticmethod
    def _user(token: IssuedToken) -> str:
        if token.user_id is None:
            raise _refuse(401, "Only valid bearer authentication supported")
        return token.user_id

    @staticmethod
    def _require(token: IssuedToken, *scopes: str) -> None:
        if not set(scopes) <= token.scopes:
            raise _refuse(403, INSUFFICIENT_SCOPE)

    def _require_modify(self, token: IssuedToken, *, public: bool) -> None:
        self._require(token, "playlist-modify-public" if public else "playlist-modify-private")

    def _playlist(self, playlist_id: str, token: IssuedToken) -> SimulatedPlaylist:
        if not _ID.match(playlist_id):
            raise _refuse(400, "Invalid base62 id")
        playlist = self.playlists.get(playlist_id)
        if playlist is None or playlist.removed:
            raise _refuse(404, "Resource not found")
        if not playlist.public and not self._may_edit(playlist, token):
            raise _refuse(404, "Resource not found")
        return playlist

    @staticmethod
    def _may_edit(playlist: SimulatedPlaylist, token: IssuedToken) -> bool:
        return token.user_id is not None and (
            token.user_id == playlist.owner_id or (playlist.collaborative and token.user_id in playlist.collaborators)
        )

    def _require_editor(self, playlist: SimulatedPlaylist, token: IssuedToken) -> None:
        self._user(token)
        if not self._may_edit(playlist, token):
            raise _refuse(403, "You cannot change a playlist you do not own or collaborate on")

    # /me ---------------------------------------------------------------------------------------------
    def _me(self, token: IssuedToken) -> httpx.Response:
        user_id = self._user(token)
        user = self.accounts.users.get(user_id)
        body: dict[str, Any] = {
            "id": user_id,
            "account_id": "acc" + user_id.replace("-", "")[:20],
            "display_name": user.display_name if user else user_id,
            "external_urls": {"spotify": f"https://open.spotify.com/user/{user_id}"},
            "followers": {"href": None, "total": 0},
            "href": f"{API_BASE}/users/{user_id}",
            "images": [],
            "type": "user",
            "uri": f"spotify:user:{user_id}",
        }
        if "user-read-private" in token.scopes:
            body.update(country=SANDBOX_USER_COUNTRY, product="premium")
        if "user-read-email" in token.scopes:
            body["email"] = f"{user_id}@sandbox.example"
        return json_response(200, body)

    # /me/playlists -----------------------------------------------------------------------------------
    def _my_playlists(self, request: httpx.Request, token: IssuedToken) -> httpx.Response:
        user_id = self._user(token)
        limit, offset = _paging(request, default_limit=20)
        if offset > MAX_OFFSET:
            raise _refuse(400, f"Max offset is {MAX_OFFSET}")
        reads_private = "playlist-read-private" in token.scopes
        listed = [
            p
            for p in reversed(self.owned_by(user_id))  # the library lists the newest first
            if p.followed_by_owner and not p.removed and (p.public or reads_private)
        ]
        page = listed[offset : offset + limit]
        return json_response(200, _paging_body("/me/playlists", [self._simplified_json(p) for p in page], offset, limit, len(listed)))

    def _create_for_user(self, request: httpx.Request, token: IssuedToken, user_id: str) -> httpx.Response:
        if request.method != "POST":
            return api_error(405, "Method not allowed")
        if self.quota_mode == "development":
            return self._counted("create-playlist-for-user", api_error(403, USER_PLAYLISTS_REMOVED))
        if user_id != self._user(token):
            return self._counted("create-playlist-for-user", api_error(403, "You cannot create a playlist for another user"))
        return self._counted("create-playlist-for-user", self._create(request, user_id, token))

    def _create(self, request: httpx.Request, user_id: str, token: IssuedToken) -> httpx.Response:
        body = _json_object(request)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _refuse(400, "Missing required field: name")
        public, collaborative = body.get("public", True), body.get("collaborative", False)
        if not isinstance(public, bool) or not isinstance(collaborative, bool):
            raise _refuse(400, "public and collaborative must be booleans")
        if collaborative and public:
            raise _refuse(400, "Collaborative playlists must not be public")
        description = _description(body.get("description", ""))
        self._require_modify(token, public=public)
        if collaborative:
            self._require(token, "playlist-modify-public", "playlist-modify-private")
        if len(self.owned_by(user_id)) >= MAX_PLAYLISTS_PER_USER:
            raise _refuse(403, f"A user can own at most {MAX_PLAYLISTS_PER_USER} playlists")
        user = self.accounts.users.get(user_id)
        playlist = SimulatedPlaylist(
            id=self._new_id(),
            owner_id=user_id,
            owner_name=user.display_name if user else user_id,
            name=name,
            description=description,
            public=public,
            collaborative=collaborative,
            created_at=self.clock.now(),
        )
        self._new_snapshot(playlist)
        self.playlists[playlist.id] = playlist
        return json_response(201, self._playlist_json(playlist, token, request))

    # /playlists/{id} ---------------------------------------------------------------------------------
    def _change_details(self, request: httpx.Request, token: IssuedToken, playlist: SimulatedPlaylist) -> httpx.Response:
        self._require_editor(playlist, token)
        if token.user_id != playlist.owner_id:
            raise _refuse(403, "Only the owner can change a playlist's details")
        body = _json_object(request)
        public = body.get("public", playlist.public)
        collaborative = body.get("collaborative", playlist.collaborative)
        if not isinstance(public, bool) or not isinstance(collaborative, bool):
            raise _refuse(400, "public and collaborative must be booleans")
        if collaborative and public:
            raise _refuse(400, "Collaborative playlists must not be public")
        self._require_modify(token, public=playlist.public)
        if public != playlist.public:
            self._require_modify(token, public=public)
        name = body.get("name", playlist.name)
        if not isinstance(name, str) or not name.strip():
            raise _refuse(400, "name must be a non-empty string")
        description = _description(body["description"]) if "description" in body else playlist.description
        playlist.name, playlist.description, playlist.public, playlist.collaborative = name, description, public, collaborative
        return httpx.Response(200)

    # /playlists/{id}/items ---------------------------------------------------------------------------
    def _items(self, request: httpx.Request, token: IssuedToken, playlist: SimulatedPlaylist) -> httpx.Response:
        method = request.method
        if method == "GET":
            if not self._may_edit(playlist, token):
                raise _refuse(403, "Only the owner or a collaborator can read a playlist's items")
            if not playlist.public:
                self._require(token, "playlist-read-private")
            limit, offset = _paging(request, default_limit=20)
            return self._counted("get-playlists-items", json_response(200, self._items_page(playlist, token, request, offset, limit)))
        self._require_editor(playlist, token)
        self._require_modify(token, public=playlist.public)
        body = _json_object(request) if request.content else {}
        if method == "POST":
            uris = self._uris(request, body)
            if len(playlist.items) + len(uris) > MAX_ITEMS_PER_PLAYLIST:
                raise _refuse(403, f"A playlist can hold at most {MAX_ITEMS_PER_PLAYLIST} items")
            position = request.url.params.get("position", body.get("position"))
            at = len(playlist.items) if position is None else _int(position, "position")
            if not 0 <= at <= len(playlist.items):
                raise _refuse(400, "Index out of bounds")
            added = [PlaylistEntry(uri, self.clock.now(), token.user_id or "") for uri in uris]
            playlist.items[at:at] = added
            return self._counted("add-items-to-playlist", json_response(201, {"snapshot_id": self._new_snapshot(playlist)}))
        if method == "PUT":
            reorder = {"range_start", "insert_before", "range_length"} & set(body)
            if reorder and ("uris" in body or "uris" in request.url.params):
                raise _refuse(400, "Replace and reorder are mutually exclusive")
            if reorder:
                return self._counted("reorder-or-replace-playlists-items", self._reorder(playlist, body))
            uris = self._uris(request, body)
            playlist.items = [PlaylistEntry(uri, self.clock.now(), token.user_id or "") for uri in uris]
            return self._counted("reorder-or-replace-playlists-items", json_response(200, {"snapshot_id": self._new_snapshot(playlist)}))
        if method == "DELETE":
            items = body.get("items")
            if not isinstance(items, list) or not items:
                raise _refuse(400, "Missing required field: items")
            if len(items) > MAX_URIS_PER_REQUEST:
                raise _refuse(400, f"You can remove a maximum of {MAX_URIS_PER_REQUEST} items per request")
            uris = [self._valid_uri(item.get("uri") if isinstance(item, dict) else None) for item in items]
            self._check_snapshot(playlist, body.get("snapshot_id"))
            gone = set(uris)
            playlist.items = [entry for entry in playlist.items if entry.uri not in gone]
            return self._counted("remove-items-playlist", json_response(200, {"snapshot_id": self._new_snapshot(playlist)}))
        return api_error(405, "Method not allowed")

    def _reorder(self, playlist: SimulatedPlaylist, body: dict[str, Any]) -> httpx.Response:
        self._check_snapshot(playlist, body.get("snapshot_id"))
        start = _int(body.get("range_start"), "range_start")
        before = _int(body.get("insert_before"), "insert_before")
        length = _int(body.get("range_length", 1), "range_length")
        size = len(playlist.items)
        if length < 1 or not 0 <= start < size or start + length > size or not 0 <= before <= size:
            raise _refuse(400, "Index out of bounds")
        moved = playlist.items[start : start + length]
        rest = playlist.items[:start] + playlist.items[start + length :]
        at = before if before <= start else before - length
        playlist.items = rest[:at] + moved + rest[at:]
        return json_response(200, {"snapshot_id": self._new_snapshot(playlist)})

    def _check_snapshot(self, playlist: SimulatedPlaylist, snapshot_id: Any) -> None:
        if snapshot_id is not None and snapshot_id not in playlist.snapshots:
            raise _refuse(400, "Invalid snapshot id")

    def _uris(self, request: httpx.Request, body: dict[str, Any]) -> list[str]:
        """The URIs of an add or replace: the query's `uris` win over the body's (as documented)."""
        raw: Any = request.url.params.get("uris")
        if raw is not None:
            uris: Any = [part.strip() for part in raw.split(",") if part.strip()]
        else:
            uris = body.get("uris")
            if uris is None:
                raise _refuse(400, "Missing required field: uris")
        if not isinstance(uris, list):
            raise _refuse(400, "uris must be an array")
        if len(uris) > MAX_URIS_PER_REQUEST:
            raise _refuse(400, f"You can add a maximum of {MAX_URIS_PER_REQUEST} tracks per request.")
        valid = [self._valid_uri(uri) for uri in uris]
        for uri in valid:
            kind, identity = uri.split(":")[1:]
            if kind == "episode" and not self.episode_exists(identity):
                raise _refuse(400, "Payload contains a non-existing ID")
        return valid

    @staticmethod
    def _valid_uri(uri: Any) -> str:
        if not isinstance(uri, str) or not _URI.match(uri):
            raise _refuse(400, f"Invalid track uri: {str(uri)[:80]}")
        return uri

    # covers ------------------------------------------------------------------------------------------
    def _upload_cover(self, request: httpx.Request, token: IssuedToken, playlist: SimulatedPlaylist) -> httpx.Response:
        self._require_editor(playlist, token)
        self._require(token, "ugc-image-upload")
        self._require_modify(token, public=playlist.public)
        wait = self.cover_limit.admit(token.user_id or "")
        if wait is not None:
            return api_error(429, "Too many cover uploads", headers={"Retry-After": str(max(1, math.ceil(wait)))})
        if not request.headers.get("Content-Type", "").startswith("image/jpeg"):
            raise _refuse(400, "Content-Type must be image/jpeg")
        if len(request.content) > MAX_COVER_PAYLOAD_BYTES:
            raise _refuse(413, f"The image payload is larger than {MAX_COVER_PAYLOAD_BYTES // 1024} KB")
        try:
            jpeg = base64.b64decode(request.content, validate=True)
        except (binascii.Error, ValueError):
            raise _refuse(400, "The body must be a Base64-encoded JPEG") from None
        try:
            with Image.open(io.BytesIO(jpeg)) as image:
                if image.format != "JPEG":
                    raise _refuse(400, "The image must be a JPEG")
                image.load()
                size = image.size
        except (UnidentifiedImageError, OSError):
            raise _refuse(400, "The image could not be read as a JPEG") from None
        playlist.cover, playlist.cover_size = jpeg, size
        return httpx.Response(202)

    def _cover_json(self, playlist: SimulatedPlaylist) -> httpx.Response:
        return json_response(200, self._images(playlist))

    @staticmethod
    def _images(playlist: SimulatedPlaylist) -> list[dict[str, Any]]:
        if playlist.cover is None or playlist.cover_size is None:
            return []
        digest = base64.b32encode(playlist.cover[:64]).decode().lower()[:40]
        return [{"url": f"https://image-cdn-ak.spotifycdn.com/image/{digest}", "width": playlist.cover_size[0], "height": playlist.cover_size[1]}]

    # JSON ----------------------------------------------------------------------------------------------
    def _base_json(self, playlist: SimulatedPlaylist) -> dict[str, Any]:
        return {
            "collaborative": playlist.collaborative,
            "description": playlist.description,
            "external_urls": {"spotify": f"https://open.spotify.com/playlist/{playlist.id}"},
            "href": f"{API_BASE}/playlists/{playlist.id}",
            "id": playlist.id,
            "images": self._images(playlist),
            "name": playlist.name,
            "owner": {
                "display_name": playlist.owner_name,
                "external_urls": {"spotify": f"https://open.spotify.com/user/{playlist.owner_id}"},
                "href": f"{API_BASE}/users/{playlist.owner_id}",
                "id": playlist.owner_id,
                "type": "user",
                "uri": f"spotify:user:{playlist.owner_id}",
            },
            "public": playlist.public,
            "snapshot_id": playlist.snapshot_id,
            "type": "playlist",
            "uri": f"spotify:playlist:{playlist.id}",
        }

    def _simplified_json(self, playlist: SimulatedPlaylist) -> dict[str, Any]:
        reference = {"href": f"{API_BASE}/playlists/{playlist.id}/items", "total": len(playlist.items)}
        return {**self._base_json(playlist), "items": reference, "tracks": reference}

    def _playlist_json(self, playlist: SimulatedPlaylist, token: IssuedToken, request: httpx.Request) -> dict[str, Any]:
        body = {**self._base_json(playlist), "followers": {"href": None, "total": 0}}
        if self._may_edit(playlist, token):  # items only for the owner and collaborators
            page = self._items_page(playlist, token, request, 0, MAX_PAGE_LIMIT)
            body["items"] = page
            body["tracks"] = page
        return body

    def _items_page(self, playlist: SimulatedPlaylist, token: IssuedToken, request: httpx.Request, offset: int, limit: int) -> dict[str, Any]:
        market = request.url.params.get("market") or SANDBOX_USER_COUNTRY
        entries = playlist.items[offset : offset + limit]
        items = []
        for entry in entries:
            kind, identity = entry.uri.split(":")[1:]
            found = self.episode_json(identity, market) if kind == "episode" else None
            item = found if found is not None else _unknown_item(kind, identity)
            items.append(
                {
                    "added_at": entry.added_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "added_by": {
                        "external_urls": {"spotify": f"https://open.spotify.com/user/{entry.added_by}"},
                        "href": f"{API_BASE}/users/{entry.added_by}",
                        "id": entry.added_by,
                        "type": "user",
                        "uri": f"spotify:user:{entry.added_by}",
                    },
                    "is_local": False,
                    "item": item,
                    "track": item,
                }
            )
        return _paging_body(f"/playlists/{playlist.id}/items", items, offset, limit, len(playlist.items), {"additional_types": "episode"})

    # ids -----------------------------------------------------------------------------------------------
    def _new_id(self) -> str:
        while True:
            candidate = "".join(self._rng.choices(_ID_ALPHABET, k=22))
            if candidate not in self.playlists:
                return candidate

    def _new_snapshot(self, playlist: SimulatedPlaylist) -> str:
        version = len(playlist.snapshots) + 1
        snapshot = base64.b64encode(f"{version},{self._rng.getrandbits(128):032x}".encode()).decode()
        playlist.snapshots.append(snapshot)
        return snapshot


def _unknown_item(kind: str, identity: str) -> dict[str, Any]:
    """An entry whose track or episode Spotify no longer has: kept in the playlist, not playable."""
    return {"id": identity, "type": kind, "uri": f"spotify:{kind}:{identity}", "is_playable": False, "name": ""}


def _paging(request: httpx.Request, *, default_limit: int) -> tuple[int, int]:
    limit = _int(request.url.params.get("limit", default_limit), "limit")
    offset = _int(request.url.params.get("offset", 0), "offset")
    if not 1 <= limit <= MAX_PAGE_LIMIT:
        raise _refuse(400, f"Invalid limit: it must be 1..{MAX_PAGE_LIMIT}")
    if offset < 0:
        raise _refuse(400, "Invalid offset")
    return limit, offset


def _paging_body(
    path: str, items: list[dict[str, Any]], offset: int, limit: int, total: int, extra: dict[str, str] | None = None
) -> dict[str, Any]:
    def link(at: int) -> str:
        return f"{API_BASE}{path}?" + urlencode({"offset": at, "limit": limit, **(extra or {})})

    return {
        "href": link(offset),
        "items": items,
        "limit": limit,
        "next": link(offset + limit) if offset + limit < total else None,
        "offset": offset,
        "previous": link(max(0, offset - limit)) if offset > 0 else None,
        "total": total,
    }


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise _refuse(400, f"{name} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _refuse(400, f"{name} must be an integer") from None


def _json_object(request: httpx.Request) -> dict[str, Any]:
    if not request.content:
        return {}
    try:
        body = json.loads(request.content)
    except ValueError:
        raise _refuse(400, "Error parsing JSON.") from None
    if not isinstance(body, dict):
        raise _refuse(400, "The body must be a JSON object")
    return body


def _description(value: Any) -> str:
    if not isinstance(value, str):
        raise _refuse(400, "description must be a string")
    if len(value) > MAX_DESCRIPTION_LENGTH:
        raise _refuse(400, f"Description is longer than {MAX_DESCRIPTION_LENGTH} characters")
    return value
