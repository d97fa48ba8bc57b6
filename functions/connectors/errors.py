"""Typed errors every connector raises, so flows can decide retry vs dead-letter without reading HTTP.

`ApiError` only carries what the remote service said (service, status, body); it is never raised on
its own. Every failure a connector raises is also either a `PermanentError` (dead-lettered at once
with its reason: retrying cannot help) or a `TransientError` (retried by the queue or the next run).
`tests/unit/test_connector_kit.py` walks every `raise` in `functions/connectors` to hold that rule.
"""

from __future__ import annotations

from functions.domain.errors import PermanentError, TransientError


class ApiError(Exception):
    """Mixin carrying what the remote service said. Never raised bare: see the module docstring."""

    code = "api_error"

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


class QuotaExceeded(ApiError, TransientError):
    """A quota (not a short rolling window) is used up: waiting seconds in this invocation cannot help;
    the queue or the next scheduled run tries again later."""

    code = "quota_exceeded"

    def __init__(self, service: str, message: str, retry_after: float | None, status: int | None = 429, body: str | None = None):
        super().__init__(service, message, status, body)
        self.retry_after = retry_after


class AuthenticationFailed(ApiError, PermanentError):
    code = "authentication_failed"


class NotFound(ApiError, PermanentError):
    code = "not_found"


class RequestRejected(ApiError, PermanentError):
    """4xx other than auth, 404 and 429: the request itself is wrong; retrying cannot help."""

    code = "request_rejected"


class Conflict(ApiError, TransientError):
    """409: the target is busy with the same request (an idempotency key in progress, a version that
    moved); asking again later can succeed."""

    code = "conflict"


class UnexpectedResponse(ApiError, PermanentError):
    """A 2xx answer the client cannot read (not JSON, or not the documented shape), or a paging answer
    that would loop or leave the API's host. The integration and the API disagree about the contract;
    retrying cannot fix that. `body` holds the raw answer."""

    code = "unexpected_response"


class AmbiguousWrite(ApiError, TransientError):
    """A non-idempotent write failed in a way that may have applied it; look the target up before retrying."""

    code = "ambiguous_write"
