"""Typed errors every connector raises, so flows can decide retry vs dead-letter without reading HTTP."""

from __future__ import annotations

from functions.domain.errors import PermanentError, TransientError


class ApiError(Exception):
    """Mixin carrying what the remote service said."""

    def __init__(self, service: str, message: str, status: int | None = None, body: str | None = None):
        super().__init__(f"{service}: {message}" + (f" (HTTP {status})" if status else ""))
        self.service = service
        self.status = status
        self.body = body


class ServiceUnavailable(ApiError, TransientError):
    """5xx, timeouts and connection failures that outlived the connector's own retries."""

    code = "service_unavailable"


class RateLimited(ApiError, TransientError):
    code = "rate_limited"

    def __init__(self, service: str, message: str, retry_after: float | None, status: int = 429, body: str | None = None):
        super().__init__(service, message, status, body)
        self.retry_after = retry_after


class AuthenticationFailed(ApiError, PermanentError):
    code = "authentication_failed"


class NotFound(ApiError, PermanentError):
    code = "not_found"


class RequestRejected(ApiError, PermanentError):
    """4xx other than auth, 404 and 429: the request itself is wrong; retrying cannot help."""

    code = "request_rejected"


class AmbiguousWrite(ApiError, TransientError):
    """A non-idempotent write failed in a way that may have applied it; look the target up before retrying."""

    code = "ambiguous_write"
