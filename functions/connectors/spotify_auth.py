"""Spotify authorisation, for every client that talks to a Spotify API: one token source per grant.

- `ClientCredentialsTokens` — the app's own token (Web API catalogue reads): `POST /api/token` with
  `grant_type=client_credentials` and HTTP Basic `client_id:client_secret`.
- `AuthorizationCodeTokens` — a user's token for the publisher's or a brand's own account (playlists,
  Ads API), refreshed with the stored refresh token (`grant_type=refresh_token`, PKCE style: the
  client id in the form). A refresh answer that carries a new refresh token (rotation) is stored; one
  that does not keeps the old one. `invalid_grant` — refresh tokens expire six months after the user
  authorised the app, and can be revoked — is `AuthorisationLost`, a permanent error, and the
  `on_lost` callback tells an operator.
- The authorization-code flow itself (PKCE): `pkce_pair`, `authorize_url`, `exchange_code` — run once
  per account by `python -m infra.ops auth spotify`.

Tokens are cached until a minute before `expires_in` on the injected clock; a 401 from an API drops
the cached token (`renew`) and the API client sends once more. Asking for a token changes nothing on
Spotify's side, so token requests count as idempotent for retries. Values are secrets: models hold
them as `SecretStr`, and nothing here logs them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlencode

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, ValidationError

from functions.clock import epoch_seconds, utcnow
from functions.connectors.api_client import ApiClient
from functions.connectors.errors import (
    ApiError,
    AuthenticationFailed,
    NotFound,
    QuotaExceeded,
    RateLimited,
    RequestRejected,
    ServiceUnavailable,
    UnexpectedResponse,
)
from functions.connectors.http import HttpService, RetryPolicy
from functions.connectors.rate_limit import RateLimiter, UnlimitedRate
from functions.domain.errors import PermanentError

TOKEN_PATH = "/api/token"
AUTHORIZE_PATH = "/authorize"
TOKEN_REFRESH_MARGIN_SECONDS = 60
QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
INVALID_GRANT = "invalid_grant"


class SpotifyCredentials(BaseModel):
    """The Spotify app (from the developer dashboard): the secret holds this JSON."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    client_id: str
    client_secret: SecretStr


class TokenAnswer(BaseModel):
    """The token endpoint's answer (any grant)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    access_token: SecretStr
    token_type: str
    expires_in: int = Field(gt=0)
    scope: str | None = None
    refresh_token: SecretStr | None = None


class AccountAuthorisation(BaseModel):
    """One Spotify account's authorisation as stored in Secrets Manager (written by `infra.ops auth`)."""

    model_config = ConfigDict(extra="ignore")

    account: str
    client_id: str
    refresh_token: SecretStr
    scopes: tuple[str, ...] = ()
    authorized_at: AwareDatetime
    refresh_expires_at: AwareDatetime
    user_id: str | None = None

    def days_left(self, now: datetime) -> float:
        return (self.refresh_expires_at - now).total_seconds() / 86400

    def stored(self) -> str:
        """The JSON for the secret (the refresh token in clear: it is the secret's value)."""
        data = self.model_dump(mode="json")
        data["refresh_token"] = self.refresh_token.get_secret_value()
        return json.dumps(data, sort_keys=True)


# ------------------------------------------------------------------------------------------ errors
class SpotifyErrorDetail(BaseModel):
    """What Spotify said: the Web API's `{"error": {status, message, reason?}}` or the token endpoint's
    `{"error": code, "error_description": text}` (then `error_code` holds the OAuth code)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    status: int | None = None
    message: str = ""
    reason: str | None = None
    error_code: str | None = None

    @classmethod
    def from_body(cls, body: str | None) -> SpotifyErrorDetail | None:
        if not body:
            return None
        try:
            parsed = _ErrorEnvelope.model_validate_json(body)
        except ValidationError:
            return None
        if isinstance(parsed.error, _ApiErrorObject):
            return cls(status=parsed.error.status, message=parsed.error.message, reason=parsed.error.reason)
        return cls(error_code=parsed.error, message=parsed.error_description or parsed.error)


class _ApiErrorObject(BaseModel):
    status: int
    message: str
    reason: str | None = None


class _ErrorEnvelope(BaseModel):
    error: _ApiErrorObject | str
    error_description: str | None = None


class SpotifyErrorDetails:
    """Mixed into every Spotify error: the parsed error body, when there was one."""

    detail: SpotifyErrorDetail | None = None


class SpotifyRateLimited(SpotifyErrorDetails, RateLimited):
    pass


class SpotifyQuotaExceeded(SpotifyErrorDetails, QuotaExceeded):
    """The app's quota is used up (`reason: QUOTA_EXCEEDED`): waiting seconds in this invocation cannot help."""

    reason = QUOTA_EXCEEDED


class SpotifyAuthenticationFailed(SpotifyErrorDetails, AuthenticationFailed):
    """401/403 from an API, or the token endpoint refusing the app's credentials (`invalid_client`)."""


class SpotifyNotFound(SpotifyErrorDetails, NotFound):
    pass


class SpotifyRequestRejected(SpotifyErrorDetails, RequestRejected):
    pass


class SpotifyUnavailable(SpotifyErrorDetails, ServiceUnavailable):
    pass


class AuthorisationLost(PermanentError):
    """A Spotify account's authorisation no longer works (`invalid_grant`: the refresh token expired six
    months after the user authorised the app, or was revoked), or was never made. Nothing retried can
    fix it: an operator runs `python -m infra.ops auth spotify --account NAME` again."""

    code = "spotify_authorisation_lost"

    def __init__(self, account: str, why: str):
        super().__init__(f"Spotify account {account!r}: {why}; authorise it again with `python -m infra.ops auth spotify --account {account}`")
        self.account = account


def spotify_error(exc: ApiError) -> ApiError:
    """The shared typed error, re-typed as its Spotify variant with Spotify's own message and reason."""
    detail = SpotifyErrorDetail.from_body(exc.body)
    message = str(exc).removeprefix(f"{exc.service}: ").removesuffix(f" (HTTP {exc.status})")
    if detail is not None and detail.message:
        # "GET /v1/... rejected: <raw body>" becomes "GET /v1/... rejected: <Spotify's message> [reason]"
        message = f"{message.split(': ', 1)[0]}: {detail.message}" + (f" [{detail.reason}]" if detail.reason else "")
    error: ApiError
    if isinstance(exc, RateLimited) and detail is not None and detail.reason == QUOTA_EXCEEDED:
        error = SpotifyQuotaExceeded(exc.service, message, exc.retry_after, exc.status, exc.body)
    elif isinstance(exc, RateLimited):
        error = SpotifyRateLimited(exc.service, message, exc.retry_after, exc.status or 429, exc.body)
    elif isinstance(exc, AuthenticationFailed) or (detail is not None and detail.error_code == "invalid_client"):
        error = SpotifyAuthenticationFailed(exc.service, message, exc.status, exc.body)
    elif isinstance(exc, NotFound):
        error = SpotifyNotFound(exc.service, message, exc.status, exc.body)
    elif isinstance(exc, RequestRejected):
        error = SpotifyRequestRejected(exc.service, message, exc.status, exc.body)
    elif isinstance(exc, ServiceUnavailable):
        error = SpotifyUnavailable(exc.service, message, exc.status, exc.body)
    else:
        return exc
    error.detail = detail
    return error


def accounts_service(base_url: str, retry: RetryPolicy | None = None, timeout_seconds: float = 10.0) -> HttpService:
    """The Spotify Accounts service (token endpoint); not counted against an API's rate limiter."""
    return HttpService(
        service="spotify-accounts",
        base_url=base_url,
        retry=retry or RetryPolicy(),
        timeout_seconds=timeout_seconds,
        translate_error=spotify_error,
    )


def web_api_service(
    base_url: str,
    *,
    limiter: RateLimiter | None = None,
    retry: RetryPolicy | None = None,
    timeout_seconds: float = 10.0,
) -> HttpService:
    """The Web API host (catalogue reads with an app token, playlists with a user's), Spotify's error
    bodies parsed into the typed errors above. The rate limit is per app: give every client of one app
    the same limiter."""
    return HttpService(
        service="spotify-web",
        base_url=base_url,
        limiter=limiter or UnlimitedRate(),
        retry=retry or RetryPolicy(),
        timeout_seconds=timeout_seconds,
        translate_error=spotify_error,
    )


# ------------------------------------------------------------------------------------ token sources
class _CachedToken:
    """An access token held until a minute (or half its life) before it expires, on the injected clock."""

    def __init__(self) -> None:
        self._token: str | None = None
        self._valid_until = 0.0

    def current(self) -> str | None:
        return self._token if self._token is not None and epoch_seconds() < self._valid_until else None

    def keep(self, answer: TokenAnswer) -> str:
        if answer.token_type.lower() != "bearer":
            raise UnexpectedResponse("spotify-accounts", f"unexpected token type {answer.token_type!r}")
        margin = min(TOKEN_REFRESH_MARGIN_SECONDS, answer.expires_in / 2)
        self._token = answer.access_token.get_secret_value()
        self._valid_until = epoch_seconds() + answer.expires_in - margin
        return self._token

    def drop(self) -> None:
        self._token = None
        self._valid_until = 0.0


class ClientCredentialsTokens:
    """The app's token. `credentials` is read on every token request (the secrets cache refreshes it)."""

    def __init__(self, accounts: HttpService, credentials: Callable[[], SpotifyCredentials]):
        self._accounts = ApiClient(accounts)
        self._credentials = credentials
        self._cache = _CachedToken()
        self.requests = 0

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token()}"}

    def renew(self) -> bool:
        self._cache.drop()
        return True

    def access_token(self) -> str:
        cached = self._cache.current()
        if cached is not None:
            return cached
        self.requests += 1
        credentials = self._credentials()
        pair = f"{credentials.client_id}:{credentials.client_secret.get_secret_value()}".encode()
        response = self._accounts.send(
            "POST",
            TOKEN_PATH,
            idempotent=True,
            form_body={"grant_type": "client_credentials"},
            headers={"Authorization": "Basic " + base64.b64encode(pair).decode()},
        )
        return self._cache.keep(self._accounts.parse(response, TokenAnswer))


class AuthorisationStore(Protocol):
    """Where an account's authorisation lives (Secrets Manager, deployed; the same in the sandbox)."""

    def load(self, account: str) -> AccountAuthorisation | None: ...

    def save(self, authorisation: AccountAuthorisation) -> None: ...


class AuthorizationCodeTokens:
    """A user's token for one authorised account, refreshed with its stored refresh token."""

    def __init__(
        self,
        accounts: HttpService,
        store: AuthorisationStore,
        account: str,
        *,
        on_lost: Callable[[str, str], None] | None = None,
    ):
        self._accounts = ApiClient(accounts)
        self._store = store
        self.account = account
        self._on_lost = on_lost
        self._cache = _CachedToken()
        self.refreshes = 0
        self.rotations = 0

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token()}"}

    def renew(self) -> bool:
        self._cache.drop()
        return True

    def authorisation(self) -> AccountAuthorisation:
        stored = self._store.load(self.account)
        if stored is None:
            raise self._lost("no authorisation is stored")
        return stored

    def access_token(self) -> str:
        cached = self._cache.current()
        if cached is not None:
            return cached
        stored = self.authorisation()
        self.refreshes += 1
        try:
            response = self._accounts.send(
                "POST",
                TOKEN_PATH,
                idempotent=True,
                form_body={
                    "grant_type": "refresh_token",
                    "refresh_token": stored.refresh_token.get_secret_value(),
                    "client_id": stored.client_id,
                },
            )
        except RequestRejected as exc:
            detail = getattr(exc, "detail", None)
            if detail is not None and detail.error_code == INVALID_GRANT:
                raise self._lost(f"the refresh token was refused ({detail.message or INVALID_GRANT})") from exc
            raise
        answer = self._accounts.parse(response, TokenAnswer)
        if answer.refresh_token is not None and answer.refresh_token.get_secret_value() != stored.refresh_token.get_secret_value():
            # Rotated: the old refresh token may stop working, so the new one is stored before use.
            self.rotations += 1
            self._store.save(stored.model_copy(update={"refresh_token": answer.refresh_token}))
        return self._cache.keep(answer)

    def _lost(self, why: str) -> AuthorisationLost:
        error = AuthorisationLost(self.account, why)
        if self._on_lost is not None:
            self._on_lost(self.account, str(error))
        return error


# ------------------------------------------------------------------------ authorization-code flow
def pkce_pair() -> tuple[str, str]:
    """(code_verifier, code_challenge): a 64-character verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)[:64]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(accounts_url: str, client_id: str, redirect_uri: str, scopes: tuple[str, ...], state: str, challenge: str) -> str:
    query = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "scope": " ".join(scopes),
        "state": state,
        "code_challenge_method": "S256",
        "code_challenge": challenge,
    }
    return f"{accounts_url.rstrip('/')}{AUTHORIZE_PATH}?{urlencode(query)}"


def exchange_code(
    accounts: HttpService,
    *,
    account: str,
    client_id: str,
    code: str,
    redirect_uri: str,
    verifier: str,
    refresh_token_lifetime: timedelta,
) -> AccountAuthorisation:
    """Trade the authorization code for tokens (PKCE: the verifier instead of the client secret) and
    return what to store. The code is single-use, so this is never retried after an ambiguous failure."""
    client = ApiClient(accounts)
    response = client.send(
        "POST",
        TOKEN_PATH,
        idempotent=False,
        form_body={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "code_verifier": verifier,
        },
    )
    answer = client.parse(response, TokenAnswer)
    if answer.refresh_token is None:
        raise UnexpectedResponse("spotify-accounts", "the authorization-code answer carries no refresh token")
    now = utcnow()
    return AccountAuthorisation(
        account=account,
        client_id=client_id,
        refresh_token=answer.refresh_token,
        scopes=tuple(sorted((answer.scope or "").split())),
        authorized_at=now,
        refresh_expires_at=now + refresh_token_lifetime,
    )
