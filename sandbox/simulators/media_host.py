"""A plain file host (a CDN, a publisher's asset server) serving the sandbox's covers and masters.

It serves real files (see `sandbox.media`) with the headers such a host sends: `Content-Type` guessed
from the path's extension (as web servers do: a WAV under `.mp3` is served as `audio/mpeg`),
`Content-Length`, and a strong `ETag`. `GET` and `HEAD` only; no auth (media URLs are public).

Failures on request, per path, in the order they are asked for (`fail`):
- `"404"`, `"410"`, `"403"`, `"500"`, `"503"`, `"429"` answer that status (429 with `Retry-After: 1`);
- `"timeout"` never answers (`httpx.ReadTimeout`), `"reset"` drops the connection (`httpx.ConnectError`).
Each request to the path plays the next entry; with `always=True` the last entry repeats for ever (a
URL that is simply dead). A path nobody `put` answers 404. The base class's seeded `FaultPlan`
applies on top, like every simulator's.

`fetch(url, client=...)` is how another service (Megaphone at ingest) downloads a file: the bytes, or
None when the URL could not give them. It plays the scripted failures, but not the seeded fault plan
(that stands for the integration's own network trouble), and it tries a transient answer (5xx, 429,
timeout, reset) `FETCH_ATTEMPTS` times, as a service's downloader would. `refuse(path, client, status)`
makes a file reachable by the integration but not by that client: a URL behind an IP allow-list or a
login that the publisher's network passes and Megaphone's does not.

`serve(path, make)` hosts a file made on request (`make()` returns its bytes): a large catalogue's
masters need not all be held in memory at once.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpx

from functions.clock import Clock
from sandbox.simulators.base import FaultPlan, Simulator

DEFAULT_HOST = "media.sandbox.example"
FAILURE_KINDS = frozenset({"404", "410", "403", "500", "503", "429", "timeout", "reset"})
TRANSIENT_KINDS = frozenset({"500", "503", "429", "timeout", "reset"})
FETCH_ATTEMPTS = 3


@dataclass(frozen=True)
class HostedFile:
    made: Callable[[], bytes]
    content_type: str

    @property
    def content(self) -> bytes:
        return self.made()


def _etag(content: bytes) -> str:
    return '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


@dataclass(frozen=True)
class MediaRequest:
    method: str
    path: str
    at: datetime
    answer: str  # the status code, "timeout" or "reset"


class MediaHostSimulator(Simulator):
    service = "media-host"

    def __init__(self, clock: Clock, *, host: str = DEFAULT_HOST, faults: FaultPlan | None = None):
        super().__init__(clock, faults=faults)
        self.host = host
        self.received: list[MediaRequest] = []
        self._files: dict[str, HostedFile] = {}
        self._failures: dict[str, deque[str]] = {}
        self._sticky: dict[str, str] = {}
        self._refusals: dict[tuple[str, str], str] = {}

    # sandbox controls --------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return f"https://{self.host}/{path.lstrip('/')}"

    def put(self, path: str, content: bytes, content_type: str | None = None) -> str:
        """Serve `content` at `path` (replacing what was there); returns its URL."""
        guessed = mimetypes.guess_type(path)[0] or "application/octet-stream"
        self._files[_normal(path)] = HostedFile(lambda: content, content_type or guessed)
        return self.url(path)

    def serve(self, path: str, make: Callable[[], bytes], content_type: str | None = None) -> str:
        """Serve what `make()` returns at `path`, made on each request (it must give the same bytes each time)."""
        guessed = mimetypes.guess_type(path)[0] or "application/octet-stream"
        self._files[_normal(path)] = HostedFile(make, content_type or guessed)
        return self.url(path)

    def refuse(self, path: str, client: str, status: str = "403") -> str:
        """Answer `client`'s fetches of `path` with `status` (the integration still gets the file)."""
        if status not in FAILURE_KINDS - TRANSIENT_KINDS:
            raise ValueError(f"a refusal is one of {sorted(FAILURE_KINDS - TRANSIENT_KINDS)}; got {status!r}")
        self._refusals[(_normal(path), client)] = status
        return self.url(path)

    def remove(self, path: str) -> None:
        self._files.pop(_normal(path), None)

    def fail(self, path: str, *kinds: str, always: bool = False) -> str:
        """Answer the next requests for `path` with `kinds`, in order; `always`: the last one for ever."""
        unknown = set(kinds) - FAILURE_KINDS
        if unknown or not kinds:
            raise ValueError(f"failure kinds are {sorted(FAILURE_KINDS)}; got {sorted(unknown) or 'none'}")
        key = _normal(path)
        self._failures.setdefault(key, deque()).extend(kinds)
        if always:
            self._sticky[key] = kinds[-1]
        return self.url(path)

    def heal(self, path: str) -> None:
        """The URL works again (scripted and permanent failures forgotten)."""
        self._failures.pop(_normal(path), None)
        self._sticky.pop(_normal(path), None)

    def content(self, path: str) -> bytes:
        """The bytes served at `path` (KeyError when nothing is)."""
        return self._files[_normal(path)].content

    def requests_for(self, path: str, method: str = "GET") -> list[MediaRequest]:
        return [r for r in self.received if r.path == _normal(path) and r.method == method]

    def fetch(self, url: str, client: str = "megaphone") -> bytes | None:
        """Download `url` as another service would: the file's bytes, or None if it could not be had."""
        request = httpx.Request("GET", url)
        refused = self._refusals.get((_normal(request.url.path), client))
        for _ in range(FETCH_ATTEMPTS):
            if refused is not None:
                self.received.append(MediaRequest("GET", _normal(request.url.path), self.clock.now(), refused))
                return None
            try:
                response = self.route(request, client)
            except httpx.TransportError:
                continue
            if response.status_code == 200:
                return response.content
            if str(response.status_code) not in TRANSIENT_KINDS:
                return None
        return None

    # transport hooks ---------------------------------------------------------------------------------
    def authenticate(self, request: httpx.Request) -> str:
        return "public"

    def route(self, request: httpx.Request, credential: str) -> httpx.Response:
        path = _normal(request.url.path)
        failure = self._next_failure(path)
        if failure in ("timeout", "reset"):
            self.received.append(MediaRequest(request.method, path, self.clock.now(), failure))
            if failure == "timeout":
                raise httpx.ReadTimeout("the media host did not answer", request=request)
            raise httpx.ConnectError("connection reset by the media host", request=request)
        response = self._answer(request, path, failure)
        self.received.append(MediaRequest(request.method, path, self.clock.now(), str(response.status_code)))
        return response

    def _answer(self, request: httpx.Request, path: str, failure: str | None) -> httpx.Response:
        if failure is not None:
            headers = {"Content-Type": "text/plain", **({"Retry-After": "1"} if failure == "429" else {})}
            return httpx.Response(int(failure), headers=headers, content=failure.encode())
        if request.method not in ("GET", "HEAD"):
            return httpx.Response(405, headers={"Allow": "GET, HEAD"}, content=b"")
        hosted = self._files.get(path) if request.url.host == self.host else None
        if hosted is None:
            return httpx.Response(404, headers={"Content-Type": "text/plain"}, content=b"Not Found")
        content = hosted.content
        headers = {"Content-Type": hosted.content_type, "Content-Length": str(len(content)), "ETag": _etag(content)}
        return httpx.Response(200, headers=headers, content=content if request.method == "GET" else b"")

    def _next_failure(self, path: str) -> str | None:
        queued = self._failures.get(path)
        if queued:
            return queued.popleft()
        return self._sticky.get(path)


def _normal(path: str) -> str:
    return "/" + path.lstrip("/")
