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

`fetch(url)` is how another simulator (Megaphone at ingest) downloads a file through the same rules:
the bytes, or None when the URL could not give them.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections import deque
from dataclasses import dataclass
from datetime import datetime

import httpx

from functions.clock import Clock
from sandbox.simulators.base import FaultPlan, Simulator

DEFAULT_HOST = "media.sandbox.example"
FAILURE_KINDS = frozenset({"404", "410", "403", "500", "503", "429", "timeout", "reset"})


@dataclass(frozen=True)
class HostedFile:
    content: bytes
    content_type: str

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.content).hexdigest()[:32] + '"'


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

    # sandbox controls --------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return f"https://{self.host}/{path.lstrip('/')}"

    def put(self, path: str, content: bytes, content_type: str | None = None) -> str:
        """Serve `content` at `path` (replacing what was there); returns its URL."""
        guessed = mimetypes.guess_type(path)[0] or "application/octet-stream"
        self._files[_normal(path)] = HostedFile(content, content_type or guessed)
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

    def requests_for(self, path: str, method: str = "GET") -> list[MediaRequest]:
        return [r for r in self.received if r.path == _normal(path) and r.method == method]

    def fetch(self, url: str) -> bytes | None:
        """Download `url` as another service would: the file's bytes, or None if it could not be had."""
        request = httpx.Request("GET", url)
        try:
            response = self.handle_request(request)
        except httpx.TransportError:
            return None
        return response.content if response.status_code == 200 else None

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
        headers = {"Content-Type": hosted.content_type, "Content-Length": str(len(hosted.content)), "ETag": hosted.etag}
        return httpx.Response(200, headers=headers, content=hosted.content if request.method == "GET" else b"")

    def _next_failure(self, path: str) -> str | None:
        queued = self._failures.get(path)
        if queued:
            return queued.popleft()
        return self._sticky.get(path)


def _normal(path: str) -> str:
    return "/" + path.lstrip("/")
