"""The HTTP base every connector shares: transport choice, rate limiting, retries and request logging.

- Transport: Lambda talks to the real hosts. The sandbox routes a host to an in-process simulator by
  registering a transport for it (`route_host`); nothing else in the connectors changes.
- Rate limits: every request first takes a slot from the credential's `RateLimiter` (shared across
  concurrent Lambdas through DynamoDB when deployed).
- Retries (tenacity): 429 honours `Retry-After` for any request (the server did not act on it); 5xx
  and timeouts are retried with capped, jittered exponential backoff for idempotent requests only. A
  non-idempotent request that fails ambiguously raises `AmbiguousWrite` so the caller looks up first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from functions.clock import clock, utcnow
from functions.connectors.errors import (
    AmbiguousWrite,
    ApiError,
    AuthenticationFailed,
    Conflict,
    NotFound,
    RateLimited,
    RequestRejected,
    ServiceUnavailable,
)
from functions.connectors.rate_limit import RateLimiter, UnlimitedRate

SECRET_HEADERS = frozenset({"authorization", "x-api-key", "cookie", "x-signature", "proxy-authorization"})
# OAuth token requests carry their secrets in the form (a refresh token, an authorization code and its
# PKCE verifier); the app's client id is part of a stored secret here too. Observers see them redacted.
SECRET_FORM_FIELDS = frozenset({"refresh_token", "access_token", "code", "code_verifier", "client_secret", "client_id", "password"})

_transports: dict[str, httpx.BaseTransport] = {}
_observers: list[Callable[["HttpExchange"], None]] = []


@dataclass(frozen=True)
class HttpExchange:
    """One request a connector sent and what came back, with secrets already redacted."""

    service: str
    method: str
    url: str
    status: int | None
    virtual_time: str
    request_headers: dict[str, str]
    request_body: Any
    error: str | None = None


class _NoCookies(httpx.Cookies):
    """A jar that keeps nothing: see `CookielessClient`."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None


class CookielessClient(httpx.Client):
    """An httpx client that keeps no cookies between requests. Every API here authenticates each request
    by its headers; a cookie one response set would otherwise ride along on later requests of the same
    warm Lambda, state no credential accounts for. It also skips httpx's per-response cookie parsing,
    which builds two urllib compatibility objects for every response, Set-Cookie or not."""

    def __init__(self, **options: Any):
        if options.get("cookies"):
            raise ValueError("a CookielessClient takes no cookies")
        super().__init__(**options)
        self._cookies = _NoCookies()  # one empty jar for the client's life (httpx reads it twice a request)

    @property
    def cookies(self) -> httpx.Cookies:
        return self._cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        if cookies:
            raise ValueError("a CookielessClient takes no cookies")


def route_host(host: str, transport: httpx.BaseTransport) -> None:
    """Send every request for `host` through `transport` (the sandbox's simulators)."""
    _transports[host] = transport


def clear_routes() -> None:
    _transports.clear()


def observe_requests(observer: Callable[[HttpExchange], None]) -> Callable[[], None]:
    _observers.append(observer)
    return lambda: _observers.remove(observer)


def redact_headers(headers: httpx.Headers | dict[str, str]) -> dict[str, str]:
    return {k.lower(): ("[redacted]" if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


@dataclass(frozen=True)
class _Body:
    json_body: Any = None
    form_body: dict[str, str] | None = None
    content: bytes | None = None
    files: dict[str, Any] | None = None

    def observed(self) -> Any:
        """What observers (the request log) see: JSON or form fields; binary payloads by size only."""
        if self.content is not None:
            return {"bytes": len(self.content)}
        form = {k: ("[redacted]" if k in SECRET_FORM_FIELDS else v) for k, v in (self.form_body or {}).items()}
        if self.files is not None:
            return {**form, "files": sorted(self.files)}
        return self.json_body if self.form_body is None else form


@dataclass
class RetryPolicy:
    max_attempts: int = 4
    backoff_initial_seconds: float = 0.5
    backoff_cap_seconds: float = 20.0


@dataclass
class HttpService:
    """A base URL, its credential's headers and limiter, and the retry policy; one per external API."""

    service: str
    base_url: str
    auth_headers: Callable[[], dict[str, str]] = lambda: {}
    limiter: RateLimiter = field(default_factory=UnlimitedRate)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_seconds: float = 10.0
    # Turns a typed error into the API's own richer one (its error body parsed); applied before the
    # retry decision, so a translated error is retried exactly when its class says so.
    translate_error: Callable[[ApiError], ApiError] | None = None
    _client: httpx.Client | None = None

    def client(self) -> httpx.Client:
        if self._client is None:
            host = urlsplit(self.base_url).netloc
            self._client = CookielessClient(
                transport=_transports.get(host),
                timeout=httpx.Timeout(self.timeout_seconds),
                headers={"Accept": "application/json", "User-Agent": "consonance-spotify/1.0"},
            )
        return self._client

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        form_body: dict[str, str] | None = None,
        content: bytes | None = None,
        files: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """Send one logical request; returns a 2xx response or raises a typed `ApiError`.

        The body is one of: `json_body` (JSON), `form_body` (`application/x-www-form-urlencoded`, OAuth
        token endpoints), `content` (raw bytes with the caller's Content-Type, e.g. an image) or `files`
        (multipart/form-data uploads, with `form_body` as the other form fields).
        """

        def should_retry(exc: BaseException) -> bool:
            if isinstance(exc, RateLimited):
                return True
            return idempotent and isinstance(exc, ServiceUnavailable)

        retrying = Retrying(
            stop=stop_after_attempt(self.retry.max_attempts),
            retry=retry_if_exception(should_retry),
            wait=self.backoff,
            sleep=clock().sleep,
            reraise=True,
        )
        body = _Body(json_body=json_body, form_body=form_body, content=content, files=files)
        return retrying(self._send_once, method, path, params, body, headers or {}, idempotent)

    def backoff(self, state: RetryCallState) -> float:
        """How long to wait before the next attempt: Retry-After for 429, capped jitter otherwise."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return min(exc.retry_after, self.retry.backoff_cap_seconds * 3)
        jitter = wait_random_exponential(multiplier=self.retry.backoff_initial_seconds, max=self.retry.backoff_cap_seconds)
        return jitter(state)

    def _send_once(
        self, method: str, path: str, params: dict[str, Any] | None, body: _Body, headers: dict[str, str], idempotent: bool
    ) -> httpx.Response:
        self.limiter.acquire()
        request = self.client().build_request(
            method,
            self.url(path),
            params=params,
            json=body.json_body,
            data=body.form_body,
            content=body.content,
            files=body.files,
            headers={**headers, **self.auth_headers()},
        )
        observed_body = body.observed()
        try:
            response = self.client().send(request)
        except httpx.TimeoutException as exc:
            self.notify(request, None, observed_body, f"timeout: {exc.__class__.__name__}")
            if not idempotent:
                raise AmbiguousWrite(self.service, f"{method} {request.url.path} timed out; outcome unknown") from exc
            raise ServiceUnavailable(self.service, f"{method} {request.url.path} timed out") from exc
        except httpx.TransportError as exc:
            self.notify(request, None, observed_body, f"transport: {exc.__class__.__name__}")
            raise ServiceUnavailable(self.service, f"{method} {request.url.path} failed: {exc}") from exc
        self.notify(request, response.status_code, observed_body, None)
        try:
            raise_for_status(self.service, request, response, idempotent=idempotent)
        except ApiError as exc:
            translated = self.translate_error(exc) if self.translate_error else exc
            if translated is exc:
                raise
            raise translated from exc
        return response

    def notify(self, request: httpx.Request, status: int | None, body: Any, error: str | None) -> None:
        if not _observers:
            return
        exchange = HttpExchange(
            service=self.service,
            method=request.method,
            url=str(request.url),
            status=status,
            virtual_time=utcnow().isoformat(),
            request_headers=redact_headers(request.headers),
            request_body=body,
            error=error,
        )
        for observer in list(_observers):
            observer(exchange)


def raise_for_status(service: str, request: httpx.Request, response: httpx.Response, *, idempotent: bool) -> None:
    status = response.status_code
    if status < 400:
        return
    where = f"{request.method} {request.url.path}"
    body = response.text[:2000]
    if status == 429:
        raise RateLimited(service, f"{where} rate limited", retry_after=_retry_after(response), body=body)
    if status in (401, 403):
        raise AuthenticationFailed(service, f"{where} not authorised", status, body)
    if status == 404:
        raise NotFound(service, f"{where} not found", status, body)
    if status == 409:
        raise Conflict(service, f"{where} conflicts: {body[:300]}", status, body)
    if status >= 500:
        if not idempotent:
            raise AmbiguousWrite(service, f"{where} failed with {status}; outcome unknown", status, body)
        raise ServiceUnavailable(service, f"{where} failed", status, body)
    raise RequestRejected(service, f"{where} rejected: {body[:300]}", status, body)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


