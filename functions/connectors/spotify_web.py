"""Spotify Web API client for an app (client-credentials flow): is an episode live, and in which markets?

The monitors use it to see what Spotify really shows, since Spotify pushes nothing. Only catalogue reads
are needed, so the app token (client credentials) suffices; no user is involved.

- Token: `POST https://accounts.spotify.com/api/token` with `grant_type=client_credentials`, form-encoded,
  HTTP Basic `client_id:client_secret`. Tokens live `expires_in` (3600 s); the token is cached until a
  minute before that, on the injected clock, and a 401 from the API (revoked or expired early) drops it,
  fetches a new one and retries once. Asking again for a token changes nothing on Spotify's side, so the
  token request counts as idempotent for retries.
- Transport, limits, retries: `HttpService` for both hosts (the sandbox routes both to its simulator).
  429 honours `Retry-After`; 5xx and timeouts back off and retry (every call here is a GET).
- Errors: the API's shape `{"error": {"status", "message", "reason"?}}` and the token endpoint's
  `{"error", "error_description"}` are parsed into `SpotifyErrorDetail` and carried by the typed errors
  below. A 429 whose reason is `QUOTA_EXCEEDED` is not a short rolling-window limit: it becomes
  `SpotifyQuotaExceeded`, which the HTTP layer does not retry in-process (the queue or the next
  scheduled run does, later).
- Availability: the spec's `EpisodeObject` has no `available_markets` (only the show has one, and it is
  deprecated); what an episode has is `is_playable` — "true if the episode is playable in the given
  market" — and `restrictions.reason` (`market`, `product`, `explicit`). So availability is asked per
  market (`market=XX`), and an episode that is not available there comes back as 404 or as not playable.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from functions.clock import epoch_seconds
from functions.connectors.errors import (
    ApiError,
    AuthenticationFailed,
    NotFound,
    RateLimited,
    RequestRejected,
    ServiceUnavailable,
)
from functions.connectors.http import HttpService, RetryPolicy, json_or_error
from functions.connectors.rate_limit import RateLimiter, UnlimitedRate
from functions.domain.errors import TransientError
from functions.domain.territories import KNOWN_TERRITORIES

ACCOUNTS_URL = "https://accounts.spotify.com"
API_URL = "https://api.spotify.com/v1"
TOKEN_REFRESH_MARGIN_SECONDS = 60
MAX_PAGE_SIZE = 50  # the spec's maximum `limit`
QUOTA_EXCEEDED = "QUOTA_EXCEEDED"

_SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{1,64}$")  # base62; checked so an id can never change the path


# ------------------------------------------------------------------------------------------ models
class SpotifyModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class SpotifyCredentials(SpotifyModel):
    client_id: str
    client_secret: SecretStr


class AccessToken(SpotifyModel):
    access_token: SecretStr
    token_type: str
    expires_in: int = Field(gt=0)


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


class EpisodePage(SpotifyModel):
    """The spec's `PagingSimplifiedEpisodeObject`."""

    items: list[SpotifySimplifiedEpisode | None]
    limit: int
    offset: int
    total: int
    next: str | None = None
    previous: str | None = None


class SpotifyErrorDetail(SpotifyModel):
    """What Spotify said: the Web API's `{"error": {status, message, reason?}}` or the token endpoint's
    `{"error": code, "error_description": text}` (then `error_code` holds the OAuth code)."""

    status: int | None = None
    message: str = ""
    reason: str | None = None
    error_code: str | None = None

    @classmethod
    def from_body(cls, body: str | None) -> "SpotifyErrorDetail | None":
        if not body:
            return None
        try:
            parsed = _ErrorEnvelope.model_validate_json(body)
        except ValidationError:
            return None
        if isinstance(parsed.error, _ApiErrorObject):
            return cls(status=parsed.error.status, message=parsed.error.message, reason=parsed.error.reason)
        return cls(error_code=parsed.error, message=parsed.error_description or parsed.error)


class _ApiErrorObject(SpotifyModel):
    status: int
    message: str
    reason: str | None = None


class _ErrorEnvelope(SpotifyModel):
    error: _ApiErrorObject | str
    error_description: str | None = None


# ------------------------------------------------------------------------------------------ errors
class SpotifyErrorDetails:
    """Mixed into every Spotify error: the parsed error body, when there was one."""

    detail: SpotifyErrorDetail | None = None


class SpotifyRateLimited(SpotifyErrorDetails, RateLimited):
    pass


class SpotifyQuotaExceeded(SpotifyErrorDetails, ApiError, TransientError):
    """The app's quota is used up (`reason: QUOTA_EXCEEDED`): waiting seconds in this invocation cannot help."""

    code = "quota_exceeded"

    def __init__(self, service: str, message: str, retry_after: float | None, status: int | None, body: str | None):
        super().__init__(service, message, status, body)
        self.retry_after = retry_after
        self.reason = QUOTA_EXCEEDED


class SpotifyAuthenticationFailed(SpotifyErrorDetails, AuthenticationFailed):
    """401/403 from the API, or the token endpoint refusing the app's credentials (`invalid_client`)."""


class SpotifyNotFound(SpotifyErrorDetails, NotFound):
    pass


class SpotifyRequestRejected(SpotifyErrorDetails, RequestRejected):
    pass


class SpotifyUnavailable(SpotifyErrorDetails, ServiceUnavailable):
    pass


def spotify_error(exc: ApiError) -> ApiError:
    """The shared typed error, re-typed as its Spotify variant with Spotify's own message and reason."""
    detail = SpotifyErrorDetail.from_body(exc.body)
    message = str(exc).removeprefix(f"{exc.service}: ").removesuffix(f" (HTTP {exc.status})")
    if detail is not None and detail.message:
        # "GET /v1/... rejected: <raw body>" becomes "GET /v1/... rejected: <Spotify's message> [reason]"
        message = f"{message.split(': ', 1)[0]}: {detail.message}" + (f" [{detail.reason}]" if detail.reason else "")
    if isinstance(exc, RateLimited) and detail is not None and detail.reason == QUOTA_EXCEEDED:
        return _with_detail(SpotifyQuotaExceeded(exc.service, message, exc.retry_after, exc.status, exc.body), detail)
    if isinstance(exc, RateLimited):
        return _with_detail(SpotifyRateLimited(exc.service, message, exc.retry_after, exc.status or 429, exc.body), detail)
    if isinstance(exc, AuthenticationFailed) or (detail is not None and detail.error_code == "invalid_client"):
        return _with_detail(SpotifyAuthenticationFailed(exc.service, message, exc.status, exc.body), detail)
    if isinstance(exc, NotFound):
        return _with_detail(SpotifyNotFound(exc.service, message, exc.status, exc.body), detail)
    if isinstance(exc, RequestRejected):
        return _with_detail(SpotifyRequestRejected(exc.service, message, exc.status, exc.body), detail)
    if isinstance(exc, ServiceUnavailable):
        return _with_detail(SpotifyUnavailable(exc.service, message, exc.status, exc.body), detail)
    return exc


_Error = TypeVar("_Error", bound=SpotifyErrorDetails)


def _with_detail(error: _Error, detail: SpotifyErrorDetail | None) -> _Error:
    error.detail = detail
    return error


# ------------------------------------------------------------------------------------------ client
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
        self._credentials = credentials if callable(credentials) else (lambda: credentials)
        self._token: str | None = None
        self._token_valid_until = 0.0
        self.token_requests = 0
        self.accounts = HttpService(
            service="spotify-accounts",
            base_url=accounts_url,
            auth_headers=self._basic_auth,
            retry=retry or RetryPolicy(),
            timeout_seconds=timeout_seconds,
            translate_error=spotify_error,
        )
        self.api = HttpService(
            service="spotify-web",
            base_url=api_url,
            auth_headers=self._bearer_auth,
            limiter=limiter or UnlimitedRate(),
            retry=retry or RetryPolicy(),
            timeout_seconds=timeout_seconds,
            translate_error=spotify_error,
        )

    # token -----------------------------------------------------------------------------------------
    def _basic_auth(self) -> dict[str, str]:
        credentials = self._credentials()
        pair = f"{credentials.client_id}:{credentials.client_secret.get_secret_value()}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}

    def _bearer_auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token()}"}

    def access_token(self) -> str:
        """The cached app token, fetched anew when it is missing or within a minute of expiring."""
        if self._token is None or epoch_seconds() >= self._token_valid_until:
            self._fetch_token()
        assert self._token is not None
        return self._token

    def forget_token(self) -> None:
        self._token = None
        self._token_valid_until = 0.0

    def _fetch_token(self) -> None:
        self.token_requests += 1
        response = self.accounts.request(
            "POST", "/api/token", idempotent=True, form_body={"grant_type": "client_credentials"}
        )
        try:
            token = AccessToken.model_validate(json_or_error(self.accounts.service, response))
        except ValidationError as exc:
            raise ApiError(self.accounts.service, "token response lacks access_token/expires_in", response.status_code) from exc
        if token.token_type.lower() != "bearer":
            raise ApiError(self.accounts.service, f"unexpected token type {token.token_type!r}", response.status_code)
        margin = min(TOKEN_REFRESH_MARGIN_SECONDS, token.expires_in / 2)
        self._token = token.access_token.get_secret_value()
        self._token_valid_until = epoch_seconds() + token.expires_in - margin

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET with the app token; a 401 (token expired or revoked) refreshes the token and retries once.

        The token is fetched before the API request, so the token endpoint's own retries never nest
        inside the API request's retries.
        """
        self.access_token()
        try:
            response = self.api.request("GET", path, idempotent=True, params=params)
        except AuthenticationFailed as exc:
            if exc.status != 401 or exc.service != self.api.service:
                raise
            self.forget_token()
            self.access_token()
            response = self.api.request("GET", path, idempotent=True, params=params)
        return json_or_error(self.api.service, response)

    # catalogue -------------------------------------------------------------------------------------
    def episode(self, episode_id: str, market: str) -> SpotifyEpisode | None:
        """The episode as listeners in `market` see it; None when Spotify does not offer it there (404)."""
        try:
            body = self._get(f"/episodes/{_spotify_id(episode_id)}", {"market": _market(market)})
        except NotFound:
            return None
        return SpotifyEpisode.model_validate(body)

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
        path: str | None = f"/shows/{_spotify_id(show_id)}/episodes"
        params: dict[str, Any] | None = {"market": _market(market), "limit": page_size, "offset": 0}
        while path is not None:
            try:
                page = EpisodePage.model_validate(self._get(path, params))
            except NotFound:
                return
            yield from (item for item in page.items if item is not None)
            path, params = self._next_page(page.next), None

    def _next_page(self, next_url: str | None) -> str | None:
        """Follow `next` only to the API's own host: the bearer token must never go anywhere else."""
        if next_url is None:
            return None
        if httpx.URL(next_url).host != httpx.URL(self.api.base_url).host:
            raise ApiError(self.api.service, f"refusing to follow a next link to another host: {next_url[:100]}")
        return next_url


def _spotify_id(value: str) -> str:
    if not _SPOTIFY_ID.match(value):
        raise ValueError(f"not a Spotify id: {value[:80]!r}")
    return value


def _market(value: str) -> str:
    if value not in KNOWN_TERRITORIES:
        raise ValueError(f"not an ISO 3166-1 alpha-2 market: {value[:10]!r}")
    return value
