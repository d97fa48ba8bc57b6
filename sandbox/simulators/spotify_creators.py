"""Spotify for Creators simulator: the dashboard's cookie login on accounts.spotify.com and the
unofficial "podcasters v0" analytics endpoints on generic.wg.spotify.com, as one httpx transport.

What it models (ANALYTICS-FACTS.md §a1; shapes from `sandbox/specs/spotify-creators/*.json`):
- Login: `GET /oauth2/v2/auth` with the account's `sp_dc`/`sp_key` cookies answers an HTML page with
  `const authorizationResponse = {type: "authorization_response", response: {code: "…", state: "…"}};`
  (keys unquoted, as the real page); unknown or expired cookies answer the same page with
  `error: "login_required"`. `expire_login` turns an account's cookies stale.
- Token: `POST /api/token` with `grant_type=authorization_code`, the web client id, the code, the redirect
  URI and a PKCE verifier whose S256 hash matches the challenge → `{access_token, token_type,
  expires_in}`; codes are single-use and live 60 s. Any other accounts request goes to `fallback` (the
  Spotify Web API simulator, which serves client-credentials tokens on the same host) or is a 400.
- API: bearer token required (missing, unknown or expired → 401); a show or episode outside the
  token's account → 403; one request per second per token at most (faster → 429 with Retry-After);
  `fail_aggregate_on(day)` makes `aggregate` answer 500 for ranges that include that day (the real
  endpoint does that now and then).
- Every JSON body is validated against the project's copies of the schemas before it is sent, so the
  simulator cannot drift from the shapes the connector is built for.

The listening generator (`sandbox/listening.py`) feeds it with `add_show`, `add_episode`, `record_day`
and `set_followers`; demographics are split from each day's listeners by the show's fixed shares.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import re
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import jsonschema

from functions.clock import Clock
from functions.connectors.spotify_creators import REDIRECT_URI, WEB_CLIENT_ID
from sandbox.simulators.base import FaultPlan, Simulator, json_response

ACCOUNTS_HOST = "accounts.spotify.com"
API_HOST = "generic.wg.spotify.com"
API_PREFIX = "/podcasters/v0"
SCHEMAS = Path(__file__).resolve().parents[1] / "specs" / "spotify-creators"
CODE_LIFETIME_SECONDS = 60
AGE_BANDS = ("0-17", "18-22", "23-27", "28-34", "35-44", "45-59", "60-150", "unknown")
GENDERS = ("FEMALE", "MALE", "NON_BINARY", "NOT_SPECIFIED")
_PATH = re.compile(rf"^{API_PREFIX}/(shows|episodes)/([^/]+)/(metadata|detailedStreams|listeners|followers|aggregate|performance|episodes)$")
_SCHEMA_OF = {
    "detailedStreams": "detailedStreams.json",
    "listeners": "listeners.json",
    "followers": "followers.json",
    "aggregate": "aggregate.json",
    "performance": "performance.json",
    ("episodes", "metadata"): "episodeMetadata.json",
    ("shows", "metadata"): "podcastMetadata.json",
}


class SimulatorContractBroken(AssertionError):
    """The simulator built a body its own schema rejects: a bug in the simulator, never the client's."""


@cache
def schema_validator(name: str) -> jsonschema.protocols.Validator:
    """One checked validator per schema file (building it checks the schema itself, which is slow)."""
    document = json.loads((SCHEMAS / name).read_text())
    validator_class = jsonschema.validators.validator_for(document)
    validator_class.check_schema(document)
    return validator_class(document)


@dataclass
class Account:
    sp_dc: str
    sp_key: str
    shows: set[str] = field(default_factory=set)
    expired: bool = False


@dataclass
class DayStats:
    starts: int
    streams: int
    listeners: int


@dataclass
class CreatorsShow:
    id: str
    name: str
    age_shares: dict[str, float]
    gender_shares: dict[str, float]
    country_shares: dict[str, float]


@dataclass
class CreatorsEpisode:
    id: str
    show_id: str
    name: str
    release_date: date
    duration_seconds: int
    median_completion: float  # fraction of the episode the median start reaches, 0..1


@dataclass
class IssuedCode:
    sp_dc: str
    challenge: str
    expires_at: datetime


@dataclass
class IssuedToken:
    sp_dc: str
    expires_at: datetime
    last_request_at: datetime | None = None


class SpotifyCreatorsSimulator(Simulator):
    service = "spotify-creators"

    def __init__(
        self,
        clock: Clock,
        *,
        token_lifetime_seconds: int = 3600,
        min_interval_seconds: float = 1.0,
        fallback: httpx.BaseTransport | None = None,
        faults: FaultPlan | None = None,
        seed: int = 0,
    ):
        super().__init__(clock, faults=faults, rate_limit=None)
        self.token_lifetime_seconds = token_lifetime_seconds
        self.min_interval_seconds = min_interval_seconds
        self.fallback = fallback
        self.accounts: dict[str, Account] = {}
        self.shows: dict[str, CreatorsShow] = {}
        self.episodes: dict[str, CreatorsEpisode] = {}
        self.days: dict[tuple[str, date], DayStats] = {}
        self.followers: dict[tuple[str, date], int] = {}
        self.codes: dict[str, IssuedCode] = {}
        self.tokens: dict[str, IssuedToken] = {}
        self.aggregate_failures: set[date] = set()
        self.logins_refused = 0
        self.paced_out = 0
        self._rng = random.Random(seed)
        self._lock = threading.RLock()

    # sandbox controls --------------------------------------------------------------------------------
    def add_account(self, sp_dc: str, sp_key: str) -> None:
        with self._lock:
            self.accounts[sp_dc] = Account(sp_dc, sp_key)

    def expire_login(self, sp_dc: str) -> None:
        """The cookies stop logging in (tokens already issued live out their hour, as real ones do)."""
        with self._lock:
            self.accounts[sp_dc].expired = True

    def add_show(
        self,
        show_id: str,
        name: str,
        account: str,
        *,
        age_shares: dict[str, float] | None = None,
        gender_shares: dict[str, float] | None = None,
        country_shares: dict[str, float] | None = None,
    ) -> None:
        with self._lock:
            self.shows[show_id] = CreatorsShow(
                show_id,
                name,
                age_shares or {"18-22": 0.1, "23-27": 0.15, "28-34": 0.25, "35-44": 0.25, "45-59": 0.15, "60-150": 0.05, "unknown": 0.05},
                gender_shares or {"FEMALE": 0.52, "MALE": 0.42, "NON_BINARY": 0.02, "NOT_SPECIFIED": 0.04},
                country_shares or {"GB": 0.6, "US": 0.25, "IE": 0.1, "AU": 0.05},
            )
            self.accounts[account].shows.add(show_id)

    def add_episode(self, episode_id: str, show_id: str, name: str, release_date: date, duration_seconds: int, median_completion: float) -> None:
        with self._lock:
            self.episodes[episode_id] = CreatorsEpisode(episode_id, show_id, name, release_date, duration_seconds, median_completion)

    def record_day(self, entity_id: str, day: date, starts: int, streams: int, listeners: int) -> None:
        """Set one day's figures for a show or an episode (a show's are its own, not a sum the simulator makes)."""
        with self._lock:
            self.days[(entity_id, day)] = DayStats(starts, streams, listeners)

    def set_followers(self, show_id: str, day: date, count: int) -> None:
        with self._lock:
            self.followers[(show_id, day)] = count

    def fail_aggregate_on(self, day: date) -> None:
        with self._lock:
            self.aggregate_failures.add(day)

    # transport ---------------------------------------------------------------------------------------
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        if request.url.host == ACCOUNTS_HOST and not self._is_creators_login(request):
            if self.fallback is None:
                return json_response(400, {"error": "unsupported_grant_type", "error_description": "not served by the Creators simulator"})
            return self.fallback.handle_request(request)
        return super().handle_request(request)

    def authenticate(self, request: httpx.Request) -> str | httpx.Response:
        if request.url.host == ACCOUNTS_HOST:
            return "accounts"
        if request.url.host != API_HOST:
            return json_response(404, {"error": "not found"})
        header = request.headers.get("Authorization", "")
        with self._lock:
            issued = self.tokens.get(header.removeprefix("Bearer ").strip()) if header.startswith("Bearer ") else None
            if issued is None:
                return json_response(401, {"error": {"status": 401, "message": "Invalid access token"}})
            if self.clock.now() >= issued.expires_at:
                return json_response(401, {"error": {"status": 401, "message": "The access token expired"}})
            return header.removeprefix("Bearer ").strip()

    def route(self, request: httpx.Request, credential: str) -> httpx.Response:
        with self._lock:
            if request.url.host == ACCOUNTS_HOST:
                return self._accounts(request)
            issued = self.tokens[credential]
            now = self.clock.now()
            if issued.last_request_at is not None and (now - issued.last_request_at).total_seconds() < self.min_interval_seconds:
                self.paced_out += 1
                return json_response(429, {"error": {"status": 429, "message": "Too many requests"}}, headers={"Retry-After": "1"})
            issued.last_request_at = now
            return self._api(request, self.accounts[issued.sp_dc])

    def _is_creators_login(self, request: httpx.Request) -> bool:
        if request.url.path == "/oauth2/v2/auth":
            return True
        if request.url.path == "/api/token" and request.method == "POST":
            form = _form(request)
            return form.get("grant_type") == "authorization_code" and form.get("client_id") == WEB_CLIENT_ID
        return False

    # accounts ----------------------------------------------------------------------------------------
    def _accounts(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/v2/auth":
            return self._authorize(request)
        return self._token(request)

    def _authorize(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        state = params.get("state", "")
        cookies = _cookies(request.headers.get("Cookie", ""))
        account = self.accounts.get(cookies.get("sp_dc", ""))
        valid = (
            account is not None
            and not account.expired
            and cookies.get("sp_key") == account.sp_key
            and params.get("client_id") == WEB_CLIENT_ID
            and params.get("redirect_uri") == REDIRECT_URI
            and params.get("code_challenge_method") == "S256"
            and params.get("prompt") == "none"
            and bool(params.get("code_challenge"))
        )
        if not valid or account is None:
            self.logins_refused += 1
            response = f'{{type: "authorization_response", response: {{error: "login_required", state: "{state}"}}}}'
        else:
            code = "AQ" + "".join(self._rng.choices("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", k=40))
            self.codes[code] = IssuedCode(account.sp_dc, params["code_challenge"], self.clock.now() + timedelta(seconds=CODE_LIFETIME_SECONDS))
            response = f'{{type: "authorization_response", response: {{code: "{code}", state: "{state}"}}}}'
        page = f"<!DOCTYPE html><html><head><script>const authorizationResponse = {response};\nwindow.opener.postMessage(authorizationResponse, '*');</script></head><body></body></html>"
        return httpx.Response(200, headers={"Content-Type": "text/html; charset=utf-8"}, content=page.encode())

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = _form(request)
        issued = self.codes.pop(form.get("code", ""), None)
        if issued is None or self.clock.now() >= issued.expires_at:
            return json_response(400, {"error": "invalid_grant", "error_description": "Invalid authorization code"})
        if form.get("redirect_uri") != REDIRECT_URI:
            return json_response(400, {"error": "invalid_grant", "error_description": "Invalid redirect URI"})
        verifier = form.get("code_verifier", "")
        if base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=") != issued.challenge:
            return json_response(400, {"error": "invalid_grant", "error_description": "code_verifier was incorrect"})
        token = "BQ" + "".join(self._rng.choices("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", k=60))
        self.tokens[token] = IssuedToken(issued.sp_dc, self.clock.now() + timedelta(seconds=self.token_lifetime_seconds))
        return json_response(200, {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime_seconds, "scope": ""})

    # api ---------------------------------------------------------------------------------------------
    def _api(self, request: httpx.Request, account: Account) -> httpx.Response:
        match = _PATH.match(request.url.path)
        if match is None or request.method != "GET":
            return json_response(404, {"error": {"status": 404, "message": "Not found"}})
        kind, entity_id, endpoint = match.groups()
        show_id = entity_id if kind == "shows" else (self.episodes[entity_id].show_id if entity_id in self.episodes else None)
        if show_id is None or show_id not in self.shows:
            return json_response(404, {"error": {"status": 404, "message": "Not found"}})
        if show_id not in account.shows:
            return json_response(403, {"error": {"status": 403, "message": "Forbidden"}})
        if (kind, endpoint) in (("episodes", "followers"), ("episodes", "episodes"), ("shows", "performance")):
            return json_response(404, {"error": {"status": 404, "message": "Not found"}})
        window = self._window(request) if endpoint not in ("metadata", "performance") else None
        if isinstance(window, httpx.Response):
            return window
        if endpoint == "aggregate" and window is not None and any(window[0] <= d <= window[1] for d in self.aggregate_failures):
            return json_response(500, {"error": {"status": 500, "message": "Internal server error"}})
        body = self._body(kind, entity_id, show_id, endpoint, window, request)
        schema_name = _SCHEMA_OF.get(endpoint) or _SCHEMA_OF.get((kind, endpoint))
        if isinstance(schema_name, str):
            error = jsonschema.exceptions.best_match(schema_validator(schema_name).iter_errors(body))
            if error is not None:
                raise SimulatorContractBroken(f"{endpoint} body breaks {schema_name}: {error.message}")
        return json_response(200, body)

    def _window(self, request: httpx.Request) -> tuple[date, date] | httpx.Response:
        try:
            start = date.fromisoformat(request.url.params["start"])
            end = date.fromisoformat(request.url.params["end"])
        except (KeyError, ValueError):
            return json_response(400, {"error": {"status": 400, "message": "start and end (YYYY-MM-DD) are required"}})
        if end < start:
            return json_response(400, {"error": {"status": 400, "message": "end is before start"}})
        return start, end

    def _body(self, kind: str, entity_id: str, show_id: str, endpoint: str, window: tuple[date, date] | None, request: httpx.Request) -> dict[str, Any]:
        days = _days(*window) if window else []
        if endpoint == "detailedStreams":
            return {"detailedStreams": [{"date": d.isoformat(), "starts": s.starts, "streams": s.streams} for d in days if (s := self.days.get((entity_id, d)))]}
        if endpoint == "listeners":
            return {"counts": [{"date": d.isoformat(), "count": s.listeners} for d in days if (s := self.days.get((entity_id, d)))]}
        if endpoint == "followers":
            return {"counts": [{"date": d.isoformat(), "count": self.followers[(entity_id, d)]} for d in days if (entity_id, d) in self.followers]}
        if endpoint == "aggregate":
            assert window is not None
            return self._aggregate(entity_id, self.shows[show_id], window)
        if endpoint == "performance":
            return self._performance(self.episodes[entity_id])
        if endpoint == "episodes":
            return self._episode_page(show_id, request)
        return self._metadata(kind, entity_id)

    def _totals(self, entity_id: str) -> DayStats:
        today = self.clock.now().date()
        rows = [s for (e, d), s in self.days.items() if e == entity_id and d <= today]
        return DayStats(sum(r.starts for r in rows), sum(r.streams for r in rows), sum(r.listeners for r in rows))

    def _metadata(self, kind: str, entity_id: str) -> dict[str, Any]:
        totals = self._totals(entity_id)
        if kind == "episodes":
            episode = self.episodes[entity_id]
            return {
                "name": episode.name, "id": episode.id, "url": f"https://open.spotify.com/episode/{episode.id}",
                "releaseDate": episode.release_date.isoformat(), "artworkUrl": "", "description": "", "explict": False,
                "language": "en", "duration": episode.duration_seconds * 1000, "starts": totals.starts, "streams": totals.streams,
                "listeners": totals.listeners, "sparkLine": [], "hasVideo": False,
            }
        show = self.shows[entity_id]
        followers = [c for (s, d), c in sorted(self.followers.items()) if s == entity_id and d <= self.clock.now().date()]
        return {
            "name": show.name, "id": show.id, "url": f"https://open.spotify.com/show/{show.id}", "artworkUrl": "",
            "releaseDate": "", "description": "", "explict": False,
            "totalEpisodes": sum(1 for e in self.episodes.values() if e.show_id == show.id),
            "starts": totals.starts, "streams": totals.streams, "listeners": totals.listeners,
            "followers": followers[-1] if followers else 0, "sparkLine": [], "published": True,
            "publisher": "Consonance Sandbox Publishing", "consumptionOrder": "EPISODIC", "coverImage": "", "language": "en",
            "categories": [], "feedUrl": "",
        }

    def _aggregate(self, entity_id: str, show: CreatorsShow, window: tuple[date, date]) -> dict[str, Any]:
        listeners = sum(s.listeners for d in _days(*window) if (s := self.days.get((entity_id, d))))

        def split(total: float, shares: dict[str, float]) -> dict[str, int]:
            parts = {key: math.floor(total * share) for key, share in shares.items()}
            first = next(iter(parts))
            parts[first] += int(total) - sum(parts.values())
            return parts

        def by_gender(total: float) -> dict[str, int]:
            return {g: split(total, show.gender_shares).get(g, 0) for g in GENDERS}

        ages = split(listeners, show.age_shares)
        countries = split(listeners, show.country_shares)
        return {
            "start": window[0].isoformat(),
            "end": window[1].isoformat(),
            "count": listeners,
            "ageFacetedCounts": {band: {"counts": by_gender(ages.get(band, 0))} for band in AGE_BANDS},
            "genderedCounts": {"counts": by_gender(listeners)},
            "countryFacetedCounts": {code: {"countryCode": code, "counts": by_gender(n)} for code, n in countries.items()},
        }

    def _performance(self, episode: CreatorsEpisode) -> dict[str, Any]:
        """Retention r(x) = exp(-λx) over the fraction x of the episode heard, with r(median) = 1/2."""
        starts = self._totals(episode.id).starts
        decay = math.log(2) / max(episode.median_completion, 0.01)

        def reached(fraction: float) -> float:
            return math.exp(-decay * fraction)

        seconds = episode.duration_seconds
        samples = [round(starts * reached(t / seconds)) for t in range(seconds)]
        return {
            "samples": samples,
            "sampleRate": 1000,
            "max": max(samples, default=0),
            "seconds": seconds,
            "percentiles": {q: round(100 * reached(int(q) / 100), 1) for q in ("25", "50", "75", "100")},
            "medianCompletion": {"percentage": round(100 * episode.median_completion, 1), "seconds": round(seconds * episode.median_completion)},
        }

    def _episode_page(self, show_id: str, request: httpx.Request) -> dict[str, Any]:
        page = int(request.url.params.get("page", "1"))
        size = int(request.url.params.get("size", "50"))
        episodes = sorted((e for e in self.episodes.values() if e.show_id == show_id), key=lambda e: (e.release_date, e.id), reverse=True)
        chunk = episodes[(page - 1) * size : page * size]
        return {
            "episodes": [{"id": e.id, "name": e.name, "releaseDate": e.release_date.isoformat()} for e in chunk],
            "totalPages": max(1, math.ceil(len(episodes) / size)),
        }


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode(errors="replace")).items()}


def _cookies(header: str) -> dict[str, str]:
    pairs = (part.strip().split("=", 1) for part in header.split(";") if "=" in part)
    return {name: value for name, value in pairs}
