"""Spotify Web API client for an app (client-credentials flow): is an episode live, and in which markets?

The monitors use it to see what Spotify really shows, since Spotify pushes nothing. Only catalogue reads
are needed, so the app token (client credentials) suffices; no user is involved.

- Token: the app's client-credentials token (`functions.connectors.spotify_auth.ClientCredentialsTokens`),
  cached on the injected clock; a 401 from the API drops it and the kit sends once more with a new one.
- Transport, limits, retries: `HttpService` for both hosts (the sandbox routes both to its simulator).
  429 honours `Retry-After`; 5xx and timeouts back off and retry (every call here is a GET).
- Errors: the API's shape `{"error": {"status", "message", "reason"?}}` and the token endpoint's
  `{"error", "error_description"}` are parsed into `SpotifyErrorDetail` and carried by the typed errors
  of `spotify_auth`. A 429 whose reason is `QUOTA_EXCEEDED` is not a short rolling-window limit: it becomes
  `SpotifyQuotaExceeded`, which the HTTP layer does not retry in-process (the queue or the next
  scheduled run does, later).
- Availability: the spec's `EpisodeObject` has no `available_markets` (only the show has one, and it is
  deprecated); what an episode has is `is_playable` — "true if the episode is playable in the given
  market" — and `restrictions.reason` (`market`, `product`, `explicit`). So availability is asked per
  market (`market=XX`), and an episode that is not available there comes back as 404 or as not playable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from functions.connectors.api_client import ApiClient, NextUrlPaging, PageRequest
from functions.connectors.errors import NotFound
from functions.connectors.http import RetryPolicy
from functions.connectors.rate_limit import RateLimiter
from functions.connectors.spotify_auth import (
    ClientCredentialsTokens,
    SpotifyAuthenticationFailed,
    SpotifyCredentials,
    SpotifyErrorDetail,
    SpotifyNotFound,
    SpotifyQuotaExceeded,
    SpotifyRateLimited,
    SpotifyRequestRejected,
    SpotifyUnavailable,
    accounts_service,
    web_api_service,
)
from functions.domain.territories import KNOWN_TERRITORIES

__all__ = [
    "SpotifyAuthenticationFailed",
    "SpotifyCredentials",
    "SpotifyErrorDetail",
    "SpotifyEpisode",
    "SpotifyNotFound",
    "SpotifyQuotaExceeded",
    "SpotifyRateLimited",
    "SpotifyRequestRejected",
    "SpotifySimplifiedEpisode",
    "SpotifyUnavailable",
    "SpotifyWebClient",
]

ACCOUNTS_URL = "https://accounts.spotify.com"
API_URL = "https://api.spotify.com/v1"
MAX_PAGE_SIZE = 50  # the spec's maximum `limit`

_SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{1,64}$")  # base62; checked so an id can never change the path


# ------------------------------------------------------------------------------------------ models
class SpotifyModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class EpisodeRestriction(SpotifyModel):
    reason: str | None = None


class SpotifyShowRef(SpotifyModel):
    id: str
    name: str
    publisher: str | None = None


class SpotifySimplifiedEpisode(SpotifyModel):
    """The spec's `SimplifiedEpisodeObject` (the fields the integration reads)."""

    id: str
    name: str
    uri: str | None = None
    is_playable: bool | None = None
    restrictions: EpisodeRestriction | None = None
    release_date: str | None = None
    release_date_precision: str | None = None
    duration_ms: int | None = None
    description: str | None = None
    external_urls: dict[str, str] = Field(default_factory=dict)

    @property
    def playable(self) -> bool:
        """Playable in the market asked for: not flagged unplayable and not restricted by market."""
        restricted_by_market = self.restrictions is not None and self.restrictions.reason == "market"
        return self.is_playable is not False and not restricted_by_market

    @property
    def released_on(self) -> date | None:
        """The release date when Spotify knows it to the day."""
        if self.release_date_precision not in (None, "day") or not self.release_date:
            return None
        try:
            return date.fromisoformat(self.release_date)
        except ValueError:
            return None


class SpotifyEpisode(SpotifySimplifiedEpisode):
    """The spec's `EpisodeObject`: a simplified episode plus its show."""

    show: SpotifyShowRef


class SpotifyWebClient:
    """Catalogue reads with an app token; one instance per process keeps the token between invocations."""

    def __init__(
        self,
        credentials: SpotifyCredentials | Callable[[], SpotifyCredentials],
        *,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        accounts_url: str = ACCOUNTS_URL,
        api_url: str = API_URL,
        timeout_seconds: float = 10.0,
    ):
        read_credentials = credentials if callable(credentials) else (lambda: credentials)
        self.tokens = ClientCredentialsTokens(accounts_service(accounts_url, retry, timeout_seconds), read_credentials)
        self.api = ApiClient(web_api_service(api_url, limiter=limiter, retry=retry, timeout_seconds=timeout_seconds), self.tokens)

    @property
    def token_requests(self) -> int:
        return self.tokens.requests

    def access_token(self) -> str:
        return self.tokens.access_token()

    def _get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        # The token is fetched before the API request, so the token endpoint's own retries never
        # nest inside the API request's retries.
        self.tokens.access_token()
        return self.api.send("GET", path, idempotent=True, params=params)

    # catalogue -------------------------------------------------------------------------------------
    def episode(self, episode_id: str, market: str) -> SpotifyEpisode | None:
        """The episode as listeners in `market` see it; None when Spotify does not offer it there (404)."""
        try:
            response = self._get(f"/episodes/{_spotify_id(episode_id)}", {"market": _market(market)})
        except NotFound:
            return None
        return self.api.parse(response, SpotifyEpisode)

    def episode_markets(self, episode_id: str, markets: Iterable[str]) -> dict[str, bool]:
        """Whether the episode is playable in each market: one request per market, since the episode
        object carries no `available_markets` list (see the module docstring)."""
        result: dict[str, bool] = {}
        for market in dict.fromkeys(markets):
            found = self.episode(episode_id, market)
            result[market] = found is not None and found.playable
        return result

    def show_episodes(self, show_id: str, market: str, page_size: int = MAX_PAGE_SIZE) -> Iterator[SpotifySimplifiedEpisode]:
        """Every episode of the show offered in `market`, following `next` page by page.

        A show that Spotify does not offer in the market (404: unknown or unavailable there — Spotify does
        not tell them apart) has no episodes there.
        """
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")
        self.tokens.access_token()
        first = PageRequest(path=f"/shows/{_spotify_id(show_id)}/episodes", params={"market": _market(market), "limit": page_size, "offset": 0})
        try:
            for page in self.api.pages(first, NextUrlPaging()):
                # the spec allows null items; an episode not available in the market can come back as one
                yield from self.api.parse_list(page.response, SpotifySimplifiedEpisode, [item for item in page.items if item is not None])
        except NotFound:
            return


def _spotify_id(value: str) -> str:
    if not _SPOTIFY_ID.match(value):
        raise ValueError(f"not a Spotify id: {value[:80]!r}")
    return value


def _market(value: str) -> str:
    if value not in KNOWN_TERRITORIES:
        raise ValueError(f"not an ISO 3166-1 alpha-2 market: {value[:10]!r}")
    return value
