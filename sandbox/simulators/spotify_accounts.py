"""The Spotify Accounts service (accounts.spotify.com), as the sandbox's Spotify APIs share it: app
tokens, user authorisation with its consent page, and refresh tokens that expire.

What it models, after `../shared/specs/spotify/PLAYLISTS-FACTS.md` §2 and the Web API spec's security
schemes:
- `GET /authorize` (client_id, response_type=code, redirect_uri, scope, state, code_challenge_method=S256,
  code_challenge) answers an HTML consent page naming the app, the scopes and the sandbox's users; the
  redirect URI must be registered for the app, HTTPS or a loopback literal (`http://127.0.0.1:PORT/...`,
  any port, as Spotify allows for loopback); `localhost` is refused. `POST /authorize/decision` is the
  page's form: approving redirects to the redirect URI with `code` and `state`; denying with
  `error=access_denied`.
- `POST /api/token`, form-encoded:
  - `client_credentials` with the app's id and secret (HTTP Basic, or in the form);
  - `authorization_code`: the code (single use, ten minutes), the same redirect URI, and either the
    app's secret or the PKCE `code_verifier` matching the challenge; answers an access token, the
    granted `scope` and a refresh token;
  - `refresh_token`: answers a new access token; every `rotate_every`-th refresh also a new refresh
    token (the old one stops working), otherwise none (keep the old one). Refresh tokens expire
    `refresh_token_lifetime` after the user's authorisation, whatever the refreshes — then, or once
    revoked, `400 {"error": "invalid_grant"}`.
- Errors in the accounts shape `{"error": code, "error_description": text}`.

The APIs (Web API, Ads API simulators) ask `verify(token)` who a bearer token belongs to.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import random
import string
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from functions.clock import Clock
from sandbox.simulators.base import json_response

ACCOUNTS_HOST = "accounts.spotify.com"
CODE_LIFETIME = timedelta(minutes=10)
DEFAULT_REFRESH_TOKEN_LIFETIME = timedelta(days=182)  # six months after the user's authorisation (2026)
_TOKEN_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class SandboxUser:
    """A Spotify user of the sandbox (a publisher's or brand's account)."""

    id: str
    display_name: str
    allow_listed: bool = True  # development mode: only allow-listed users may use the app


@dataclass(frozen=True)
class RegisteredApp:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...] = ("http://127.0.0.1/callback",)  # loopback: any port


@dataclass(frozen=True)
class IssuedToken:
    client_id: str
    expires_at: datetime
    user_id: str | None = None  # None: an app (client-credentials) token
    scopes: frozenset[str] = frozenset()


@dataclass
class _Authorisation:
    client_id: str
    user_id: str
    scopes: frozenset[str]
    authorised_at: datetime
    refresh_token: str
    refreshes: int = 0
    revoked: bool = False


@dataclass
class _PendingRequest:
    client_id: str
    redirect_uri: str
    scopes: frozenset[str]
    state: str | None
    challenge: str | None


@dataclass
class _Code:
    request: _PendingRequest
    user_id: str
    expires_at: datetime
    used: bool = False


@dataclass
class SpotifyAccounts:
    clock: Clock
    apps: dict[str, RegisteredApp]
    users: dict[str, SandboxUser] = field(default_factory=dict)
    token_lifetime_seconds: int = 3600
    refresh_token_lifetime: timedelta = DEFAULT_REFRESH_TOKEN_LIFETIME
    rotate_every: int = 3  # every 3rd refresh rotates the refresh token
    seed: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(f"{self.seed}:accounts")
        self._lock = threading.RLock()
        self.tokens: dict[str, IssuedToken] = {}
        self._authorisations: dict[str, _Authorisation] = {}  # by refresh token
        self._pending: dict[str, _PendingRequest] = {}
        self._codes: dict[str, _Code] = {}
        self.tokens_issued = 0
        self.consents_given = 0

    # sandbox controls ------------------------------------------------------------------------------
    def verify(self, token: str) -> IssuedToken | None:
        """Who a bearer token belongs to, while it is valid."""
        with self._lock:
            issued = self.tokens.get(token)
        if issued is None or self.clock.now() >= issued.expires_at:
            return None
        return issued

    def revoke_user(self, user_id: str) -> None:
        """The user removed the app from their account: every refresh token of theirs stops working."""
        with self._lock:
            for authorisation in self._authorisations.values():
                if authorisation.user_id == user_id:
                    authorisation.revoked = True

    # transport -------------------------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            path = request.url.path
            if path == "/authorize" and request.method == "GET":
                return self._consent_page(request)
            if path == "/authorize/decision" and request.method == "POST":
                return self._decision(request)
            if path == "/api/token":
                if request.method != "POST":
                    return json_response(405, {"error": "invalid_request", "error_description": "Method not allowed"})
                return self._token(request)
            return json_response(404, {"error": "not_found", "error_description": "Not found"})

    # authorize -------------------------------------------------------------------------------------
    def _consent_page(self, request: httpx.Request) -> httpx.Response:
        query = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        app = self.apps.get(query.get("client_id", ""))
        if app is None:
            return _page(400, "INVALID_CLIENT: Invalid client")
        redirect_uri = query.get("redirect_uri", "")
        problem = _redirect_problem(redirect_uri, app)
        if problem:
            return _page(400, f"INVALID_CLIENT: {problem}")
        if query.get("response_type") != "code":
            return _redirect(redirect_uri, {"error": "unsupported_response_type", "state": query.get("state")})
        if query.get("code_challenge") and query.get("code_challenge_method") != "S256":
            return _redirect(redirect_uri, {"error": "invalid_request", "state": query.get("state")})
        request_id = self._token_text(24)
        scopes = frozenset((query.get("scope") or "").split())
        self._pending[request_id] = _PendingRequest(app.client_id, redirect_uri, scopes, query.get("state"), query.get("code_challenge"))
        users = "".join(
            f'<option value="{html.escape(u.id)}">{html.escape(u.display_name)} ({html.escape(u.id)})</option>' for u in self.users.values()
        )
        scope_items = "".join(f"<li>{html.escape(s)}</li>" for s in sorted(scopes)) or "<li>(no scopes)</li>"
        body = (
            "<!doctype html><html><head><title>Authorise an app - Spotify (sandbox)</title></head><body>"
            f"<h1>{html.escape(app.client_id)} wants to use your Spotify account</h1>"
            f"<p>It asks for:</p><ul>{scope_items}</ul>"
            '<form method="post" action="/authorize/decision">'
            f'<input type="hidden" name="request" value="{request_id}">'
            f'<label>Log in as <select name="user">{users}</select></label>'
            '<button type="submit" name="decision" value="approve">Agree</button>'
            '<button type="submit" name="decision" value="deny">Cancel</button>'
            "</form></body></html>"
        )
        return httpx.Response(200, headers={"Content-Type": "text/html; charset=utf-8"}, content=body.encode())

    def _decision(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode(errors="replace")).items()}
        pending = self._pending.pop(form.get("request", ""), None)
        if pending is None:
            return _page(400, "This authorisation request has expired; start again")
        if form.get("decision") != "approve":
            return _redirect(pending.redirect_uri, {"error": "access_denied", "state": pending.state})
        user = self.users.get(form.get("user", ""))
        if user is None:
            return _page(400, "Unknown user")
        code = self._token_text(48)
        self._codes[code] = _Code(pending, user.id, self.clock.now() + CODE_LIFETIME)
        self.consents_given += 1
        return _redirect(pending.redirect_uri, {"code": code, "state": pending.state})

    # token -----------------------------------------------------------------------------------------
    def _token(self, request: httpx.Request) -> httpx.Response:
        if not request.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return oauth_error("invalid_request", "Content-Type must be application/x-www-form-urlencoded")
        form = {k: v[0] for k, v in parse_qs(request.content.decode(errors="replace")).items()}
        basic = _basic_credentials(request)
        client_id = basic[0] if basic else form.get("client_id")
        secret = basic[1] if basic else form.get("client_secret")
        app = self.apps.get(client_id or "")
        if app is None:
            return oauth_error("invalid_client", "Invalid client")
        if secret is not None and secret != app.client_secret:
            return oauth_error("invalid_client", "Invalid client secret")
        grant = form.get("grant_type")
        if grant is None:
            return oauth_error("unsupported_grant_type", "grant_type parameter is missing")
        if grant == "client_credentials":
            if secret is None:
                return oauth_error("invalid_client", "Invalid client secret")
            return self._issue(app.client_id, None, frozenset())
        if grant == "authorization_code":
            return self._code_grant(app, form, secret_given=secret is not None)
        if grant == "refresh_token":
            return self._refresh_grant(app, form)
        return oauth_error("unsupported_grant_type", "grant_type must be client_credentials, authorization_code or refresh_token")

    def _code_grant(self, app: RegisteredApp, form: dict[str, str], *, secret_given: bool) -> httpx.Response:
        code = self._codes.get(form.get("code", ""))
        if code is None or code.used or self.clock.now() >= code.expires_at or code.request.client_id != app.client_id:
            return oauth_error("invalid_grant", "Invalid authorization code")
        if form.get("redirect_uri") != code.request.redirect_uri:
            return oauth_error("invalid_grant", "Invalid redirect URI")
        if code.request.challenge is not None or not secret_given:
            verifier = form.get("code_verifier", "")
            expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if not verifier or expected != code.request.challenge:
                return oauth_error("invalid_grant", "code_verifier was incorrect")
        code.used = True
        refresh = self._token_text(64)
        self._authorisations[refresh] = _Authorisation(app.client_id, code.user_id, code.request.scopes, self.clock.now(), refresh)
        return self._issue(app.client_id, code.user_id, code.request.scopes, refresh_token=refresh)

    def _refresh_grant(self, app: RegisteredApp, form: dict[str, str]) -> httpx.Response:
        authorisation = self._authorisations.get(form.get("refresh_token", ""))
        if authorisation is None or authorisation.client_id != app.client_id:
            return oauth_error("invalid_grant", "Invalid refresh token")
        if authorisation.revoked:
            return oauth_error("invalid_grant", "Refresh token revoked")
        if self.clock.now() >= authorisation.authorised_at + self.refresh_token_lifetime:
            return oauth_error("invalid_grant", "Refresh token expired")
        authorisation.refreshes += 1
        rotated: str | None = None
        if self.rotate_every and authorisation.refreshes % self.rotate_every == 0:
            rotated = self._token_text(64)
            del self._authorisations[authorisation.refresh_token]
            authorisation.refresh_token = rotated
            self._authorisations[rotated] = authorisation
        return self._issue(app.client_id, authorisation.user_id, authorisation.scopes, refresh_token=rotated)

    def _issue(self, client_id: str, user_id: str | None, scopes: frozenset[str], refresh_token: str | None = None) -> httpx.Response:
        token = "BQ" + self._token_text(40)
        self.tokens[token] = IssuedToken(client_id, self.clock.now() + timedelta(seconds=self.token_lifetime_seconds), user_id, scopes)
        self.tokens_issued += 1
        body: dict[str, Any] = {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime_seconds}
        if user_id is not None:
            body["scope"] = " ".join(sorted(scopes))
        if refresh_token is not None:
            body["refresh_token"] = refresh_token
        return json_response(200, body)

    def _token_text(self, length: int) -> str:
        return "".join(self._rng.choices(_TOKEN_ALPHABET, k=length))


def _redirect_problem(redirect_uri: str, app: RegisteredApp) -> str | None:
    parts = urlsplit(redirect_uri)
    if parts.hostname == "localhost":
        return "Insecure redirect URI: localhost is not allowed; use http://127.0.0.1:PORT"
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "::1"):
        return "Insecure redirect URI: HTTPS is required except for loopback addresses"
    for registered in app.redirect_uris:
        known = urlsplit(registered)
        loopback = known.hostname in ("127.0.0.1", "::1")
        if (parts.scheme, parts.hostname, parts.path) == (known.scheme, known.hostname, known.path) and (loopback or parts.port == known.port):
            return None
    return "Invalid redirect URI"


def _redirect(redirect_uri: str, params: dict[str, str | None]) -> httpx.Response:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return httpx.Response(303, headers={"Location": f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{query}"})


def _page(status: int, message: str) -> httpx.Response:
    body = f"<!doctype html><html><body><h1>{html.escape(message)}</h1></body></html>"
    return httpx.Response(status, headers={"Content-Type": "text/html; charset=utf-8"}, content=body.encode())


def oauth_error(code: str, description: str, status: int = 400) -> httpx.Response:
    """The accounts service's error shape: `{"error": code, "error_description": text}`."""
    return json_response(status, {"error": code, "error_description": description})


def _basic_credentials(request: httpx.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(header.removeprefix("Basic ").strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, separator, client_secret = decoded.partition(":")
    return (client_id, client_secret) if separator else None
