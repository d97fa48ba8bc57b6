"""What every simulator shares: auth check hook, a rolling-window rate limit per credential in
virtual time, fault injection (500, 503, timeouts, 429 with Retry-After) from a seeded RNG, and a
JSON response helper. Subclasses implement `authenticate` and `route`."""

from __future__ import annotations

import json
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx

from functions.clock import Clock


@dataclass
class FaultPlan:
    """Fail this fraction of requests; `kinds` weighs which failure. Seeded, so runs repeat."""

    rate: float = 0.0
    seed: int = 0
    kinds: tuple[str, ...] = ("500", "503", "timeout", "429")
    retry_after_seconds: int = 2
    injected: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def lost_response(self) -> bool:
        """For a timeout: did the server act before the response was lost? (half the time)"""
        return self._rng.random() < 0.5

    def draw(self, request: httpx.Request | None = None) -> str | None:
        """The fault for this request, if any (`request`: for plans that target particular requests)."""
        if self.rate <= 0 or self._rng.random() >= self.rate:
            return None
        kind = self._rng.choice(self.kinds)
        self.injected[kind] = self.injected.get(kind, 0) + 1
        return kind


class RollingWindowLimit:
    """At most `limit` requests per credential in any `window_seconds` (virtual) window."""

    def __init__(self, clock: Clock, limit: int, window_seconds: float):
        self.clock = clock
        self.limit = limit
        self.window_seconds = window_seconds
        self._seen: dict[str, deque[float]] = {}
        self.rejected = 0

    def admit(self, credential: str) -> float | None:
        """None when admitted; otherwise the seconds until a slot frees (for Retry-After)."""
        now = self.clock.now().timestamp()
        seen = self._seen.setdefault(credential, deque())
        while seen and seen[0] <= now - self.window_seconds:
            seen.popleft()
        if len(seen) >= self.limit:
            self.rejected += 1
            return max(0.001, seen[0] + self.window_seconds - now)
        seen.append(now)
        return None


class Simulator(httpx.BaseTransport):
    service = "simulator"

    def __init__(self, clock: Clock, faults: FaultPlan | None = None, rate_limit: RollingWindowLimit | None = None):
        self.clock = clock
        self.faults = faults or FaultPlan()
        self.rate_limit = rate_limit
        self.requests_served = 0

    # subclasses -------------------------------------------------------------
    def authenticate(self, request: httpx.Request) -> str | httpx.Response:
        """Return the credential's identity, or the API's own 401 response."""
        raise NotImplementedError

    def route(self, request: httpx.Request, credential: str) -> httpx.Response:
        raise NotImplementedError

    def rate_limited_response(self, retry_after: float) -> httpx.Response:
        return json_response(429, {"error": "rate limit exceeded"}, headers={"Retry-After": str(max(1, round(retry_after)))})

    def fault_response(self, kind: str) -> httpx.Response:
        if kind == "429":
            return self.rate_limited_response(self.faults.retry_after_seconds)
        return json_response(int(kind), {"error": "injected fault"})

    # transport ---------------------------------------------------------------
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        identity = self.authenticate(request)
        if isinstance(identity, httpx.Response):
            return identity
        if self.rate_limit is not None:
            wait = self.rate_limit.admit(identity)
            if wait is not None:
                return self.rate_limited_response(wait)
        fault = self.faults.draw(request)
        if fault == "timeout":
            if self.faults.lost_response():
                self.route(request, identity)  # the write happened; only the answer is lost
            raise httpx.ReadTimeout("injected timeout", request=request)
        if fault is not None:
            return self.fault_response(fault)
        self.requests_served += 1
        return self.route(request, identity)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status, headers={"Content-Type": "application/json", **(headers or {})}, content=json.dumps(body).encode()
    )


def request_json(request: httpx.Request) -> Any:
    return json.loads(request.content or b"null")
