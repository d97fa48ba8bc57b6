"""Spotify for Creators analytics — UNOFFICIAL, opt-in per show, off by default.

Spotify publishes no organic-listening API for podcasts. This connector reads the dashboard's own
"podcasters v0" REST endpoints (ANALYTICS-FACTS.md §a1) with a logged-in user's browser session, as
the web app does. Risk, stated plainly: it reuses Spotify's first-party web client id and a person's
`sp_dc`/`sp_key` cookies, which Spotify's developer terms do not cover; it can stop working without
notice. So it is never the only data path (the Megaphone export and the Ads API are official), every
fact from it is marked `official = false`, and it runs only for shows an operator opted in.

Login (the web app's PKCE flow with `prompt=none`):
1. `GET accounts.spotify.com/oauth2/v2/auth` with the cookies → an HTML page holding
   `authorizationResponse = {type: "authorization_response", response: {code, state}}`; a page saying
   `login_required` means the cookies expired → `CreatorsLoginExpired` (permanent: a person must log in
   again and store new cookies; the lead's flow raises an operator alert).
2. `POST accounts.spotify.com/api/token` (form: authorization_code, client id, code, redirect uri,
   code_verifier) → `{access_token, expires_in}` (about an hour), cached on the injected clock.
3. `GET generic.wg.spotify.com/podcasters/v0/…` with `Authorization: Bearer`; a 401 logs in again once.

Pacing: at most one request a second (`MinimumSpacing`, on the injected clock), login included.
Retries (HttpService): 429 honours Retry-After, 5xx/timeouts back off (every call is a GET or the
idempotent token exchange). Responses are validated (pydantic, mirroring the JSON schemas in
`sandbox/specs/spotify-creators/`); a changed shape is `CreatorsResponseInvalid` (permanent: the
unofficial API moved). Credentials come only from the secret value passed in; cookies and tokens are
redacted from request logs by HttpService.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from functions.clock import clock, epoch_seconds
from functions.connectors.api_client import ApiClient
from functions.connectors.errors import ApiError, UnexpectedResponse
from functions.connectors.http import HttpService, RetryPolicy
from functions.connectors.rate_limit import RateLimiter
from functions.domain.errors import PermanentError

ACCOUNTS_URL = "https://accounts.spotify.com"
API_URL = "https://generic.wg.spotify.com/podcasters/v0"
WEB_CLIENT_ID = "05a1371ee5194c27860b3ff3ff3979d2"  # the dashboard web app's own client id (facts sheet a1)
REDIRECT_URI = "https://podcasters.spotify.com"
SCOPE = "streaming ugc-image-upload user-read-email user-read-private"
MIN_REQUEST_INTERVAL_SECONDS = 1.0
TOKEN_REFRESH_MARGIN_SECONDS = 60
LOGIN_REQUIRED = "login_required"
PAGE_SIZE = 50

_ID = re.compile(r"^[0-9A-Za-z]{1,64}$")
_AUTHORIZATION = re.compile(r"authorizationResponse\s*=\s*(\{.*?\})\s*;", re.DOTALL)
_FIELD = r"""["']?{name}["']?\s*:\s*["']([^"']+)["']"""


# ------------------------------------------------------------------------------------------ errors
class CreatorsLoginExpired(ApiError, PermanentError):
    """The stored cookies no longer log in (`login_required`): a person must refresh the secret."""

    code = "creators_login_required"


class CreatorsResponseInvalid(UnexpectedResponse):
    """The unofficial API answered in a shape this connector does not know (it changed)."""

    code = "creators_response_invalid"


class CreatorsCredentialsInvalid(PermanentError):
    code = "creators_credentials_invalid"


# ------------------------------------------------------------------------------------------ models
class CreatorsCredentials(BaseModel):
    """The secret's value: `{"sp_dc": "...", "sp_key": "..."}` (browser cookies of the account)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sp_dc: SecretStr = Field(min_length=1)
    sp_key: SecretStr = Field(min_length=1)

    @classmethod
    def from_secret(cls, value: str) -> "CreatorsCredentials":
        try:
            return cls.model_validate_json(value)
        except ValidationError as exc:
            fields = sorted({str(e["loc"][0]) for e in exc.errors() if e.get("loc")})
            raise CreatorsCredentialsInvalid(f"the Creators secret must be JSON with sp_dc and sp_key (problem with: {fields})") from None

    def cookie_header(self) -> str:
        return f"sp_dc={self.sp_dc.get_secret_value()}; sp_key={self.sp_key.get_secret_value()}"


class CreatorsModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class StartsAndStreams(CreatorsModel):
    date: date
    starts: float
    streams: float


class DetailedStreams(CreatorsModel):
    detailedStreams: list[StartsAndStreams]


class DailyCount(CreatorsModel):
    date: date
    count: float


class DailyCounts(CreatorsModel):
    """`listeners` and `followers` (followers: the show's follower count at each day's end)."""

    counts: list[DailyCount]


class GenderSplit(CreatorsModel):
    FEMALE: float
    MALE: float
    NON_BINARY: float
    NOT_SPECIFIED: float


class GenderCounts(CreatorsModel):
    counts: GenderSplit


class CountryCounts(CreatorsModel):
    countryCode: str
    counts: GenderSplit


class Aggregate(CreatorsModel):
    """Demographics over [start, end]: by age band and gender, and by country."""

    start: date
    end: date
    count: float
    ageFacetedCounts: dict[str, GenderCounts]
    genderedCounts: GenderCounts
    countryFacetedCounts: dict[str, CountryCounts] = Field(default_factory=dict)


class MedianCompletion(CreatorsModel):
    percentage: float
    seconds: float


class Performance(CreatorsModel):
    """An episode's all-time completion curve. `percentiles[q]` is read as the % of starts that reached
    q % of the episode (inferred from the curve's shape; the dashboard does not define it)."""

    samples: list[float]
    sampleRate: float = 1000
    max: float
    seconds: float
    percentiles: dict[str, float]
    medianCompletion: MedianCompletion


class ShowMetadata(CreatorsModel):
    totalEpisodes: float
    starts: float
    streams: float
    listeners: float
    followers: float
    id: str | None = None
    name: str | None = None


class EpisodeListItem(CreatorsModel):
    id: str
    name: str | None = None
    releaseDate: date | None = None


class EpisodePage(CreatorsModel):
    episodes: list[EpisodeListItem]
    totalPages: int


class _Token(CreatorsModel):
    access_token: SecretStr
    expires_in: int = Field(gt=0)


_Model = TypeVar("_Model", bound=BaseModel)


# ------------------------------------------------------------------------------------------ pacing
class MinimumSpacing:
    """At most one request per `interval_seconds` in this process, on the injected clock.

    Stricter than a fixed-window limiter (which allows two requests either side of a window edge); the
    collector runs as a single Lambda at a time per account (reserved concurrency 1), so one process
    holds the pace."""

    def __init__(self, interval_seconds: float = MIN_REQUEST_INTERVAL_SECONDS):
        self.interval_seconds = interval_seconds
        self._last: float | None = None
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    def acquire(self) -> None:
        with self._lock:
            now = epoch_seconds()
            if self._last is not None and now < self._last + self.interval_seconds:
                wait = self._last + self.interval_seconds - now
                clock().sleep(wait)
                self.waited_seconds += wait
                now = epoch_seconds()
            self._last = now


# ------------------------------------------------------------------------------------------ client
class SpotifyCreatorsClient:
    """The v0 analytics endpoints for one Creators account (one set of cookies)."""

    def __init__(
        self,
        credentials: CreatorsCredentials | Callable[[], CreatorsCredentials],
        *,
        pacing: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        accounts_url: str = ACCOUNTS_URL,
        api_url: str = API_URL,
        client_id: str = WEB_CLIENT_ID,
        redirect_uri: str = REDIRECT_URI,
        timeout_seconds: float = 10.0,
    ):
        self._credentials = credentials if callable(credentials) else (lambda: credentials)
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.pacing: RateLimiter = pacing or MinimumSpacing()
        self.logins = 0
        self._token: str | None = None
        self._token_valid_until = 0.0
        self.accounts = ApiClient(
            HttpService(
                service="spotify-creators-accounts",
                base_url=accounts_url,
                limiter=self.pacing,
                retry=retry or RetryPolicy(),
                timeout_seconds=timeout_seconds,
            )
        )
        self.api = ApiClient(
            HttpService(
                service="spotify-creators",
                base_url=api_url,
                limiter=self.pacing,
                retry=retry or RetryPolicy(),
                timeout_seconds=timeout_seconds,
            ),
            tokens=self,  # a token source: `headers` logs in when needed, `renew` drops the token
        )

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token()}"}

    def renew(self) -> bool:
        self.forget_token()
        return True

    # login -----------------------------------------------------------------------------------------
    def access_token(self) -> str:
        if self._token is None or epoch_seconds() >= self._token_valid_until:
            self.login()
        assert self._token is not None
        return self._token

    def forget_token(self) -> None:
        self._token = None
        self._token_valid_until = 0.0

    def login(self) -> None:
        """The web app's PKCE authorization with the cookies, then the code exchanged for a token."""
        self.logins += 1
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        state = secrets.token_urlsafe(24)
        page = self.accounts.send(
            "GET",
            "/oauth2/v2/auth",
            idempotent=True,
            params={
                "response_type": "code",
                "client_id": self.client_id,
                "scope": SCOPE,
                "redirect_uri": self.redirect_uri,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "state": state,
                "response_mode": "web_message",
                "prompt": "none",
            },
            headers={"Cookie": self._credentials().cookie_header(), "Accept": "text/html"},
        )
        code = self._authorization_code(page.text, state)
        response = self.accounts.send(
            "POST",
            "/api/token",
            idempotent=True,  # a failed exchange changes nothing; the code is single-use either way
            form_body={
                "grant_type": "authorization_code",
                "client_id": self.client_id,
                "code": code,
                "redirect_uri": self.redirect_uri,
                "code_verifier": verifier,
            },
        )
        token = self._validated(_Token, self.accounts.json(response), self.accounts.service, "/api/token")
        margin = min(TOKEN_REFRESH_MARGIN_SECONDS, token.expires_in / 2)
        self._token = token.access_token.get_secret_value()
        self._token_valid_until = epoch_seconds() + token.expires_in - margin

    def _authorization_code(self, page: str, state: str) -> str:
        if LOGIN_REQUIRED in page:
            raise CreatorsLoginExpired(
                self.accounts.service,
                "the stored sp_dc/sp_key cookies no longer log in (login_required): log in to Spotify for Creators "
                "in a browser and store the new cookies in the secret",
            )
        found = _AUTHORIZATION.search(page)
        if found is None:
            raise CreatorsResponseInvalid(self.accounts.service, "the authorization page holds no authorizationResponse")
        body = found.group(1)
        code = re.search(_FIELD.format(name="code"), body)
        returned_state = re.search(_FIELD.format(name="state"), body)
        if code is None or returned_state is None:
            raise CreatorsResponseInvalid(self.accounts.service, "the authorizationResponse has no code or state")
        if returned_state.group(1) != state:
            raise CreatorsResponseInvalid(self.accounts.service, "the authorizationResponse answers another request (state differs)")
        return code.group(1)

    # requests --------------------------------------------------------------------------------------
    def _get(self, path: str, model: type[_Model], params: dict[str, Any] | None = None) -> _Model:
        self.access_token()  # the login's own requests never nest inside the API request's retries
        response = self.api.send("GET", path, idempotent=True, params=params)  # a 401 logs in again once
        return self._validated(model, self.api.json(response), self.api.service, path)

    @staticmethod
    def _validated(model: type[_Model], body: Any, service: str, path: str) -> _Model:
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:3])
            raise CreatorsResponseInvalid(service, f"GET {path}: unexpected shape ({problems})", body=json.dumps(body)[:500]) from None

    # endpoints -------------------------------------------------------------------------------------
    def show_metadata(self, show_id: str) -> ShowMetadata:
        return self._get(f"/shows/{_id(show_id)}/metadata", ShowMetadata)

    def starts_and_streams(self, kind: str, entity_id: str, start: date, end: date) -> DetailedStreams:
        return self._get(f"/{_kind(kind)}/{_id(entity_id)}/detailedStreams", DetailedStreams, _range(start, end))

    def listeners(self, kind: str, entity_id: str, start: date, end: date) -> DailyCounts:
        return self._get(f"/{_kind(kind)}/{_id(entity_id)}/listeners", DailyCounts, _range(start, end))

    def followers(self, show_id: str, start: date, end: date) -> DailyCounts:
        return self._get(f"/shows/{_id(show_id)}/followers", DailyCounts, _range(start, end))

    def aggregate(self, kind: str, entity_id: str, start: date, end: date) -> Aggregate:
        return self._get(f"/{_kind(kind)}/{_id(entity_id)}/aggregate", Aggregate, _range(start, end))

    def performance(self, episode_id: str) -> Performance:
        return self._get(f"/episodes/{_id(episode_id)}/performance", Performance)

    def show_episodes(self, show_id: str, start: date, end: date) -> Iterator[EpisodeListItem]:
        """Every episode of the show, page by page (pages count from 1 until `totalPages`)."""
        page = 1
        while True:
            params = {**_range(start, end), "page": page, "size": PAGE_SIZE, "sortBy": "releaseDate", "sortOrder": "descending", "filter": ""}
            listing = self._get(f"/shows/{_id(show_id)}/episodes", EpisodePage, params)
            yield from listing.episodes
            if page >= listing.totalPages:
                return
            page += 1


def _id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"not a Spotify id: {value[:80]!r}")
    return value


def _kind(kind: str) -> str:
    if kind not in ("shows", "episodes"):
        raise ValueError(f"kind must be 'shows' or 'episodes', not {kind!r}")
    return kind


def _range(start: date, end: date) -> dict[str, str]:
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    return {"start": start.isoformat(), "end": end.isoformat()}
