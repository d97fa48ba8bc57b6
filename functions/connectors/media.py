"""Fetching a media file (cover, master audio) from wherever Consonance says it lives, for the pre-flight.

What a fetch promises:
- a byte cap: the body is streamed and reading stops as soon as it passes `max_bytes` (or at once when
  `Content-Length` already says so) → `MediaTooLarge`, permanent: the file must shrink, retrying
  cannot help;
- a timeout per network operation (`timeout_seconds`) and a deadline for the whole download
  (`deadline_seconds`, wall clock), so a slow drip cannot hold a Lambda until it is killed;
- typed errors: the server said "not there" or "not for you" (404, 410, 401, 403, other 4xx), the URL
  is not http(s), or redirects loop → `MediaUnreachable`, permanent (a finding, not a retry);
  timeouts, connection failures, 5xx and 429 → `ServiceUnavailable`/`RateLimited`, transient: retried
  here with the connector kit's backoff (429 honours `Retry-After`), then raised so the queue retries
  the record. A fetch that did not complete (including a body shorter than its `Content-Length`)
  never produces a `FetchedMedia`, so it can never become a verdict;
- the body is spooled: in memory up to `spool_bytes`, then in a temporary file (Lambda's /tmp), so a
  master audio file does not have to fit in memory; its SHA-256 is computed while it streams.

Every host gets its own `HttpService` (the sandbox routes a host to its simulator, observers see each
attempt as for any other connector). Media URLs are public (or pre-signed): no auth headers are sent.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO
from urllib.parse import urlsplit

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from functions.clock import clock
from functions.connectors.errors import (
    ApiError,
    AuthenticationFailed,
    NotFound,
    RateLimited,
    RequestRejected,
    ServiceUnavailable,
)
from functions.connectors.http import HttpService, RetryPolicy, raise_for_status
from functions.domain.errors import PermanentError

SERVICE = "media"
MIB = 1024 * 1024


class MediaUnreachable(ApiError, PermanentError):
    """The URL cannot give the file: the server answered that it is not there or not for us."""

    code = "media_unreachable"


class MediaTooLarge(ApiError, PermanentError):
    """The file is larger than the caller's cap; reading stopped at the cap."""

    code = "media_too_large"

    def __init__(self, service: str, message: str, *, limit: int, status: int | None = None):
        super().__init__(service, message, status)
        self.limit = limit


@dataclass
class FetchedMedia:
    """A completely fetched file: its bytes (spooled), size, SHA-256 and what the server said about it."""

    url: str
    size: int
    sha256: str
    content_type: str | None
    etag: str | None
    body: IO[bytes]

    def read(self) -> bytes:
        self.body.seek(0)
        return self.body.read()

    def close(self) -> None:
        self.body.close()

    def __enter__(self) -> "FetchedMedia":
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.close()


@dataclass
class MediaFetcher:
    """GETs media files with a byte cap, timeouts and retries (see the module docstring)."""

    timeout_seconds: float = 30.0
    deadline_seconds: float = 600.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    spool_bytes: int = 32 * MIB
    chunk_bytes: int = 1 * MIB
    stopwatch: Callable[[], float] = time.monotonic  # wall-clock seconds for the deadline
    _services: dict[str, HttpService] = field(default_factory=dict)

    def fetch(self, url: str, *, max_bytes: int) -> FetchedMedia:
        """The whole file at `url`, at most `max_bytes` long; typed errors otherwise."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise MediaUnreachable(SERVICE, f"{url!r} is not an http(s) URL")
        service = self._service(f"{parts.scheme}://{parts.netloc}")
        retrying = Retrying(
            stop=stop_after_attempt(service.retry.max_attempts),
            retry=retry_if_exception_type((ServiceUnavailable, RateLimited)),
            wait=service.backoff,  # the connector kit's backoff: Retry-After for 429, capped jitter otherwise
            sleep=clock().sleep,
            reraise=True,
        )
        return retrying(self._fetch_once, service, url, max_bytes)

    def _service(self, origin: str) -> HttpService:
        if origin not in self._services:
            self._services[origin] = HttpService(
                service=SERVICE, base_url=origin, auth_headers=dict, retry=self.retry, timeout_seconds=self.timeout_seconds
            )
        return self._services[origin]

    def _fetch_once(self, service: HttpService, url: str, max_bytes: int) -> FetchedMedia:
        service.limiter.acquire()
        client = service.client()
        request = client.build_request("GET", url, headers={"Accept": "*/*"})
        try:
            response = client.send(request, stream=True, follow_redirects=True)
        except httpx.TooManyRedirects as exc:
            service.notify(request, None, None, "too many redirects")
            raise MediaUnreachable(SERVICE, f"GET {url} redirects in a loop") from exc
        except httpx.TimeoutException as exc:
            service.notify(request, None, None, f"timeout: {exc.__class__.__name__}")
            raise ServiceUnavailable(SERVICE, f"GET {url} timed out") from exc
        except httpx.TransportError as exc:
            service.notify(request, None, None, f"transport: {exc.__class__.__name__}")
            raise ServiceUnavailable(SERVICE, f"GET {url} failed: {exc}") from exc
        try:
            service.notify(request, response.status_code, None, None)
            _raise_for_answer(request, response, url)
            declared = _declared_length(response)
            if declared is not None and declared > max_bytes:
                raise MediaTooLarge(SERVICE, f"GET {url}: {declared:,} bytes, more than {max_bytes:,}", limit=max_bytes)
            fetched = self._stream(response, url, max_bytes)
            if declared is not None and fetched.size != declared:
                fetched.close()
                raise ServiceUnavailable(SERVICE, f"GET {url} ended after {fetched.size:,} of {declared:,} bytes")
            return fetched
        finally:
            response.close()

    def _stream(self, response: httpx.Response, url: str, max_bytes: int) -> FetchedMedia:
        # not a `with`: the spooled body outlives this call and is closed by `FetchedMedia.close`
        body: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=self.spool_bytes)  # noqa: SIM115
        digest = hashlib.sha256()
        size = 0
        started = self.stopwatch()
        try:
            for chunk in response.iter_bytes(self.chunk_bytes):
                size += len(chunk)
                if size > max_bytes:
                    raise MediaTooLarge(SERVICE, f"GET {url}: more than {max_bytes:,} bytes; reading stopped there", limit=max_bytes)
                if self.stopwatch() - started > self.deadline_seconds:
                    raise ServiceUnavailable(SERVICE, f"GET {url} took longer than {self.deadline_seconds:g} s")
                digest.update(chunk)
                body.write(chunk)
        except httpx.TimeoutException as exc:
            body.close()
            raise ServiceUnavailable(SERVICE, f"GET {url} timed out while reading") from exc
        except httpx.TransportError as exc:
            body.close()
            raise ServiceUnavailable(SERVICE, f"GET {url} broke off while reading: {exc}") from exc
        except BaseException:
            body.close()
            raise
        body.seek(0)
        return FetchedMedia(
            url=url,
            size=size,
            sha256=digest.hexdigest(),
            content_type=response.headers.get("Content-Type"),
            etag=response.headers.get("ETag"),
            body=body,
        )


def _raise_for_answer(request: httpx.Request, response: httpx.Response, url: str) -> None:
    """The connector kit's status rules; its permanent answers become `MediaUnreachable`."""
    status = response.status_code
    if 200 <= status < 300:
        return
    if status < 400:  # a redirect httpx did not follow (no Location), 304 without a conditional request
        raise MediaUnreachable(SERVICE, f"GET {url} answered {status} without the file", status)
    response.read()  # error pages are small; the kit's rules read the body
    try:
        raise_for_status(SERVICE, request, response, idempotent=True)
    except (NotFound, AuthenticationFailed, RequestRejected) as exc:
        raise MediaUnreachable(SERVICE, f"GET {url} answered {status}", status, exc.body) from exc


def _declared_length(response: httpx.Response) -> int | None:
    value = response.headers.get("Content-Length")
    if value is None or "Content-Encoding" in response.headers:
        return None  # a compressed body's length says nothing about the file's
    try:
        return int(value)
    except ValueError:
        return None
