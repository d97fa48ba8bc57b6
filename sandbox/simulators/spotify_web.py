"""Spotify Web API simulator: the accounts host (client-credentials tokens) and the API host (episodes,
show episodes; `/me` and playlists for users' tokens), as one httpx transport that dispatches on
`request.url.host`.

What it models, after `../shared/specs/spotify/` and Spotify's documented behaviour:
- Token endpoint `POST /api/token` (accounts.spotify.com): form-encoded `grant_type=client_credentials`,
  the app's id and secret in HTTP Basic (or in the form, which Spotify also accepts). A wrong client is
  `400 {"error": "invalid_client", "error_description": ...}`; another grant type
  `400 unsupported_grant_type`. Tokens expire on the virtual clock after `token_lifetime_seconds`.
- API (api.spotify.com/v1): bearer token required; none, unknown or expired → `401` with the API error
  shape `{"error": {"status": 401, "message": ...}}`.
- Rate limit per app over a rolling 30-second window (configurable) → `429` with `Retry-After` (whole
  seconds, rounded up so that waiting that long really frees a slot). An optional daily quota per app
  → `429` with `reason: QUOTA_EXCEEDED` and `Retry-After` until the next UTC midnight.
- Availability per market: each episode lists the markets where it is available. Asked with a market
  where it is not (or without a market, or before its release date on the virtual clock), the episode
  is answered `404 {"error": {"status": 404, "message": "Resource not found"}}` — the modelling choice
  here follows what Spotify does for content that cannot be offered in the market (it is not found there
  at all), rather than returning it with `is_playable: false`. The spec declares no 404 for these
  operations; the body still has the spec's `NotFound` shape. Show episode lists likewise contain only
  episodes available in the market, newest release first, paged with `offset`/`limit`/`next`/`total`.
- Faults (500, 503, timeouts, 429) come from the base `FaultPlan`, with Spotify's error shape.
- `/me`, `/me/playlists`, `/playlists/{id}` (+ `/items`, `/images`, the deprecated `/tracks`) and
  `POST /users/{id}/playlists` are answered by `PlaylistService` (spotify_playlists.py) with the user and
  scopes of the token, in development mode (default) or extended quota mode (`quota_mode`).

The sandbox drives it with `publish_episode`, `take_down` and `add_show`, and reads `state()`, which uses
the Web API's field names (`available_markets`, `release_date`, `show`). `leave_unplayable` makes a delivered
episode unplayable on request: answered with `is_playable: false` ("not_playable"), or not there at
all ("missing": 404 in every market and absent from show lists) — the spec requires `is_playable`,
so an episode is never answered without it.
"""

from __future__ import annotations

import math
import random
import re
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Literal
from urllib.parse import urlencode

import httpx

from functions.clock import Clock
from functions.domain.territories import KNOWN_TERRITORIES
from sandbox.simulators.spotify_accounts import ACCOUNTS_HOST, IssuedToken, RegisteredApp, SpotifyAccounts
from sandbox.simulators.base import FaultPlan, RollingWindowLimit, Simulator, json_response
from sandbox.simulators.spotify_errors import api_error
from sandbox.simulators.spotify_playlists import PlaylistService, QuotaMode

API_HOST = "api.spotify.com"
API_BASE = f"https://{API_HOST}/v1"
SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")
_EPISODE_PATH = re.compile(r"^/v1/episodes/([^/]+)$")
_SHOW_EPISODES_PATH = re.compile(r"^/v1/shows/([^/]+)/episodes$")


@dataclass
class SimulatedShow:
    id: str
    name: str
    publisher: str = "Consonance Sandbox Publishing"
    markets: frozenset[str] = KNOWN_TERRITORIES


@dataclass
class SimulatedEpisode:
    id: str
    show_id: str
    name: str
    markets: set[str]
    release_date: date
    description: str = ""
    duration_ms: int = 0
    taken_down_markets: set[str] = field(default_factory=set)


class SpotifyWebSimulator(Simulator):
    service = "spotify-web"

    def __init__(
        self,
        clock: Clock,
        apps: dict[str, str] | None = None,
        *,
        token_lifetime_seconds: int = 3600,
        accounts: SpotifyAccounts | None = None,
        requests_per_window: int = 100,
        window_seconds: float = 30.0,
        daily_quota: int | None = None,
        faults: FaultPlan | None = None,
        seed: int = 0,
        quota_mode: QuotaMode = "development",
    ):
        super().__init__(clock, faults=faults, rate_limit=None)  # the API host applies its own limit
        registered = dict(apps or {"sandbox-client": "sandbox-secret"})
        self.accounts = accounts or SpotifyAccounts(
            clock,
            {cid: RegisteredApp(cid, secret) for cid, secret in registered.items()},
            token_lifetime_seconds=token_lifetime_seconds,
            seed=seed,
        )
        self.api_rate_limit = RollingWindowLimit(clock, requests_per_window, window_seconds)
        self.daily_quota = daily_quota
        self.shows: dict[str, SimulatedShow] = {}
        self.episodes: dict[str, SimulatedEpisode] = {}
        self.revision = 0  # counts the changes made through publish_episode, update_episode and take_down
        self.quota_rejected = 0
        self._calls_per_day: dict[tuple[str, date], int] = {}
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._unplayable: dict[str, Literal["not_playable", "missing"]] = {}
        # /me and the playlists of users' tokens (sandbox/simulators/spotify_playlists.py)
        self.playlists = PlaylistService(
            clock, self.accounts, self._playlist_episode, lambda episode_id: episode_id in self.episodes, quota_mode=quota_mode, seed=seed
        )

    @property
    def tokens(self) -> dict[str, IssuedToken]:
        """The access tokens the accounts service issued (tests revoke them by clearing this)."""
        return self.accounts.tokens

    @tokens.setter
    def tokens(self, store: dict[str, IssuedToken]) -> None:
        self.accounts.tokens = store

    @property
    def tokens_issued(self) -> int:
        return self.accounts.tokens_issued

    # sandbox controls --------------------------------------------------------------------------------
    def add_show(self, show_id: str, name: str, publisher: str | None = None, markets: set[str] | None = None) -> None:
        _require_spotify_id(show_id)
        with self._lock:
            self.shows[show_id] = SimulatedShow(
                id=show_id,
                name=name,
                publisher=publisher or SimulatedShow.publisher,
                markets=frozenset(markets) if markets is not None else KNOWN_TERRITORIES,
            )

    def publish_episode(
        self,
        spotify_id: str,
        show_id: str,
        name: str,
        markets: set[str] | frozenset[str] | list[str] | tuple[str, ...],
        release_date: date,
        *,
        description: str = "",
        duration_ms: int = 0,
    ) -> None:
        """Create or replace an episode, available in `markets` from `release_date` (virtual clock)."""
        _require_spotify_id(spotify_id)
        unknown = set(markets) - KNOWN_TERRITORIES
        if unknown:
            raise ValueError(f"unknown markets {sorted(unknown)}")
        with self._lock:
            if show_id not in self.shows:
                self.add_show(show_id, name=f"Show {show_id}")
            self.revision += 1
            self.episodes[spotify_id] = SimulatedEpisode(
                id=spotify_id,
                show_id=show_id,
                name=name,
                markets=set(markets),
                release_date=release_date,
                description=description,
                duration_ms=duration_ms,
            )

    def update_episode(self, spotify_id: str, *, name: str, description: str, release_date: date, duration_ms: int) -> None:
        """New metadata for an episode Spotify already has (a distributed update): where it is
        available, and where it was taken down, stay as they are."""
        with self._lock:
            episode = self.episodes[spotify_id]
            self.revision += 1
            episode.name, episode.description = name, description
            episode.release_date, episode.duration_ms = release_date, duration_ms

    def take_down(self, spotify_id: str, markets: set[str] | list[str] | None = None) -> None:
        """Withdraw the episode from `markets` (all markets when None), as a takedown on Spotify does."""
        with self._lock:
            episode = self.episodes[spotify_id]
            removed = set(episode.markets) if markets is None else set(markets) & episode.markets
            self.revision += 1
            episode.markets -= removed
            episode.taken_down_markets |= removed

    def leave_unplayable(self, spotify_id: str, how: Literal["not_playable", "missing"] | None = "not_playable") -> None:
        """Answer the episode with `is_playable: false`, or as not found ("missing"); None undoes it."""
        with self._lock:
            if how is None:
                self._unplayable.pop(spotify_id, None)
            else:
                self._unplayable[spotify_id] = how

    def _with_playability(self, body: dict[str, Any]) -> dict[str, Any]:
        if self._unplayable.get(body["id"]) == "not_playable":
            body["is_playable"] = False
        return body

    def state(self) -> dict[str, Any]:
        """What Spotify offers, in the Web API's field names (plus the sandbox's takedown record)."""
        with self._lock:
            return {
                "shows": [
                    {"id": s.id, "name": s.name, "publisher": s.publisher, "available_markets": sorted(s.markets)}
                    for s in sorted(self.shows.values(), key=lambda s: s.id)
                ],
                "episodes": [
                    {
                        "id": e.id,
                        "name": e.name,
                        "release_date": e.release_date.isoformat(),
                        "release_date_precision": "day",
                        "show": {"id": e.show_id, "name": self.shows[e.show_id].name},
                        "available_markets": sorted(e.markets & self.shows[e.show_id].markets),
                        "taken_down_markets": sorted(e.taken_down_markets),
                        "is_released": e.release_date <= self._today(),
                    }
                    for e in sorted(self.episodes.values(), key=lambda e: e.id)
                ],
                "tokens_issued": self.tokens_issued,
                "requests_served": self.requests_served,
                "rate_limited": self.api_rate_limit.rejected,
                "quota_rejected": self.quota_rejected,
                "faults_injected": dict(self.faults.injected),
            }

    # transport hooks ---------------------------------------------------------------------------------
    def authenticate(self, request: httpx.Request) -> str | httpx.Response:
        if request.url.host == ACCOUNTS_HOST:
            return "accounts"  # the token endpoint checks the client itself, in `route`
        if request.url.host != API_HOST:
            return api_error(404, "Service not found")
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return api_error(401, "No token provided")
        with self._lock:
            issued = self.tokens.get(header.removeprefix("Bearer ").strip())
        if issued is None:
            return api_error(401, "Invalid access token")
        if self.clock.now() >= issued.expires_at:
            return api_error(401, "The access token expired")
        return issued.client_id  # the rate limit and quota are per app

    def route(self, request: httpx.Request, credential: str) -> httpx.Response:
        with self._lock:
            if request.url.host == ACCOUNTS_HOST:
                return self.accounts.handle(request)
            limited = self._limit(credential)
            if limited is not None:
                return limited
            return self._api(request)

    def rate_limited_response(self, retry_after: float) -> httpx.Response:
        return api_error(429, "API rate limit exceeded", headers={"Retry-After": str(max(1, math.ceil(retry_after)))})

    def fault_response(self, kind: str) -> httpx.Response:
        if kind == "429":
            return self.rate_limited_response(self.faults.retry_after_seconds)
        messages = {"500": "Server error.", "502": "Bad gateway.", "503": "Service unavailable"}
        return api_error(int(kind), messages.get(kind, "Server error."))

    # api ---------------------------------------------------------------------------------------------
    def _limit(self, client_id: str) -> httpx.Response | None:
        wait = self.api_rate_limit.admit(client_id)
        if wait is not None:
            return self.rate_limited_response(wait)
        if self.daily_quota is None:
            return None
        today = self._today()
        used = self._calls_per_day.get((client_id, today), 0)
        if used >= self.daily_quota:
            self.quota_rejected += 1
            midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
            retry_after = math.ceil((midnight - self.clock.now()).total_seconds())
            return api_error(429, "Quota exceeded for this app", reason="QUOTA_EXCEEDED", headers={"Retry-After": str(retry_after)})
        self._calls_per_day[(client_id, today)] = used + 1
        return None

    def _api(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if PlaylistService.serves(path):
            issued = self.accounts.verify(request.headers.get("Authorization", "").removeprefix("Bearer ").strip())
            if issued is None:  # authenticate() let it through a moment ago; the clock cannot move in between
                return api_error(401, "Invalid access token")
            return self.playlists.handle(request, issued)
        episode_match = _EPISODE_PATH.match(path)
        show_match = _SHOW_EPISODES_PATH.match(path)
        if not (episode_match or show_match):
            return api_error(404, "Service not found")
        if request.method != "GET":
            return api_error(405, "Method not allowed")
        market = request.url.params.get("market")
        if market is not None and market not in KNOWN_TERRITORIES:
            return api_error(400, "Invalid market code")
        if episode_match:
            return self._get_episode(episode_match.group(1), market)
        assert show_match is not None
        return self._get_show_episodes(request, show_match.group(1), market)

    def _get_episode(self, episode_id: str, market: str | None) -> httpx.Response:
        if not SPOTIFY_ID.match(episode_id):
            return api_error(400, "Invalid base62 id")
        episode = self.episodes.get(episode_id)
        if episode is None or market is None or not self._offered(episode, market):
            return api_error(404, "Resource not found")
        body = self._with_playability(self._episode_json(episode))
        return json_response(200, {**body, "show": self._show_json(self.shows[episode.show_id], market)})

    def _get_show_episodes(self, request: httpx.Request, show_id: str, market: str | None) -> httpx.Response:
        if not SPOTIFY_ID.match(show_id):
            return api_error(400, "Invalid base62 id")
        try:
            limit = int(request.url.params.get("limit", "20"))
            offset = int(request.url.params.get("offset", "0"))
        except ValueError:
            return api_error(400, "Invalid limit or offset")
        if not 1 <= limit <= 50:
            return api_error(400, "Invalid limit")
        if offset < 0:
            return api_error(400, "Invalid offset")
        show = self.shows.get(show_id)
        if show is None or market is None or market not in show.markets:
            return api_error(404, "Resource not found")
        offered = sorted(
            (e for e in self.episodes.values() if e.show_id == show_id and self._offered(e, market)),
            key=lambda e: (e.release_date, e.id),
            reverse=True,
        )
        page = offered[offset : offset + limit]

        def link(at: int) -> str:
            return f"{API_BASE}/shows/{show_id}/episodes?" + urlencode({"offset": at, "limit": limit, "market": market})

        return json_response(
            200,
            {
                "href": link(offset),
                "items": [self._with_playability(self._episode_json(e)) for e in page],
                "limit": limit,
                "next": link(offset + limit) if offset + limit < len(offered) else None,
                "offset": offset,
                "previous": link(max(0, offset - limit)) if offset > 0 else None,
                "total": len(offered),
            },
        )

    def _playlist_episode(self, episode_id: str, market: str) -> dict[str, Any] | None:
        """An episode as a playlist's items show it to a listener in `market` (not playable where it is
        not offered); None when Spotify has no such episode."""
        episode = self.episodes.get(episode_id)
        if episode is None or self._unplayable.get(episode_id) == "missing":
            return None
        body = self._with_playability(self._episode_json(episode))
        if not self._offered(episode, market):
            body["is_playable"] = False
        return {**body, "show": self._show_json(self.shows[episode.show_id], market)}

    def _offered(self, episode: SimulatedEpisode, market: str) -> bool:
        return (
            market in episode.markets
            and market in self.shows[episode.show_id].markets
            and episode.release_date <= self._today()
            and self._unplayable.get(episode.id) != "missing"
        )

    def _today(self) -> date:
        return self.clock.now().astimezone(timezone.utc).date()

    @staticmethod
    def _episode_json(episode: SimulatedEpisode) -> dict[str, Any]:
        return {
            "audio_preview_url": None,
            "description": episode.description,
            "html_description": f"<p>{episode.description}</p>" if episode.description else "",
            "duration_ms": episode.duration_ms,
            "explicit": False,
            "external_urls": {"spotify": f"https://open.spotify.com/episode/{episode.id}"},
            "href": f"{API_BASE}/episodes/{episode.id}",
            "id": episode.id,
            "images": [],
            "is_externally_hosted": False,
            "is_playable": True,
            "language": "en",
            "languages": ["en"],
            "name": episode.name,
            "release_date": episode.release_date.isoformat(),
            "release_date_precision": "day",
            "type": "episode",
            "uri": f"spotify:episode:{episode.id}",
        }

    def _show_json(self, show: SimulatedShow, market: str) -> dict[str, Any]:
        offered = sum(1 for e in self.episodes.values() if e.show_id == show.id and self._offered(e, market))
        return {
            "available_markets": sorted(show.markets),
            "copyrights": [],
            "description": "",
            "html_description": "",
            "explicit": False,
            "external_urls": {"spotify": f"https://open.spotify.com/show/{show.id}"},
            "href": f"{API_BASE}/shows/{show.id}",
            "id": show.id,
            "images": [],
            "is_externally_hosted": False,
            "languages": ["en"],
            "media_type": "audio",
            "name": show.name,
            "publisher": show.publisher,
            "total_episodes": offered,
            "type": "show",
            "uri": f"spotify:show:{show.id}",
        }


def _require_spotify_id(value: str) -> None:
    if not SPOTIFY_ID.match(value):
        raise ValueError(f"Spotify ids are 22 base62 characters: {value!r}")
