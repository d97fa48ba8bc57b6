"""boto3 clients in the sandbox process reach moto without a socket.

The moto server stays on loopback (other processes, the ops CLI, reach it through
`AWS_ENDPOINT_URL`), but a client in this process does not need a TCP round trip, a werkzeug request
thread and the GIL hand-over between them for every call. `InProcessTransport` is a botocore
`before-send` handler: it takes the request botocore has fully prepared (serialized, signed, with the
loopback endpoint in its URL), builds the WSGI environ werkzeug's server would build from the same
bytes, calls the server's own WSGI application (moto's `DomainDispatcherApplication`, the object the
socket server serves) and hands botocore an `AWSResponse` with the status, headers and body the
application produced. Request serialization, moto's server-mode dispatch (host inference from the
signature, Flask routing, the backends) and response parsing are therefore exactly those of the
socket path; only the bytes do not cross a socket. Given a `direct` route (the sandbox's moto server
gives it `sandbox.moto_direct_dispatch.DirectDispatch`), the transport first offers it the same
environ: it answers what the application would answer by calling moto's handler without Flask around
it, or declines, and the request goes to the application. tests/sandbox/test_aws_transport.py
compares the answers of the socket and both in-process paths call by call.

Handlers are installed process-wide through `botocore.handlers.BUILTIN_HANDLERS` (as moto's own
`mock_aws` does), so every botocore session created while they are installed has them — the
project's cached clients, Powertools' parameter providers, the runtime's own clients. A request for
any other URL is left alone (the handler returns None and botocore sends it).

JSON-protocol calls (DynamoDB, SQS, EventBridge, Secrets Manager, Glue, Athena: nearly every call the
flows make) are taken one step earlier, at botocore's `before-call` (`InProcessTransport.answer_call`,
registered last, so the sandbox's grant checks and held delayed messages answer first). By then
botocore has validated and serialized the request and resolved its endpoint; what it would still do
is sign it (SigV4: a canonical request, four HMACs), wrap it in an `AWSRequest`, prepare its
headers and run its retry checks — about half of the client's work per call, and nothing moto looks
at: moto does not check signatures, only reads the access key, region and service from the
`Authorization` header's credential scope. So the route sends the serialized request with that scope
(and `X-Amz-Date`, as botocore sets them) but no computed signature, through the same `exchange`,
and parses the answer with botocore's own JSON parser as the endpoint would (modeled error fields
included, `RetryAttempts` 0), its shape walk compiled once per shape
(`sandbox.botocore_json_responses`). The client still emits `after-call` and raises the same `ClientError`.
Not taken: other protocols (S3's REST-XML, SNS's query), streaming bodies, operations with request
checksums or compression; they keep the `before-send` path. A request that reaches the emulator
either way is marked in the call's context (`ANSWERED_IN_PROCESS`) for whoever counts them.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from botocore import handlers as botocore_handlers
from botocore.auth import SIGV4_TIMESTAMP, get_current_datetime
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.endpoint import convert_to_response_dict
from botocore.model import OperationModel
from botocore.parsers import JSONParser

from sandbox.botocore_json_responses import CompiledJsonParser

WsgiApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# In a call's botocore context: the request was sent to the emulator by `answer_call` (no `before-send`).
ANSWERED_IN_PROCESS = "sandbox_answered_in_process"
ROUTED_PROTOCOL = "json"  # the protocol `answer_call` takes, the one its parser reads


def install_botocore_handler(event_name: str, handler: Callable[..., Any]) -> Callable[[], None]:
    """Register `handler` for `event_name` in every botocore session created from now on; returns
    its remover. Sessions (and their clients) created before keep their own handlers."""
    return install_botocore_handlers((event_name, handler))


def install_botocore_handlers(*specs: tuple[Any, ...]) -> Callable[[], None]:
    """`install_botocore_handler` for several (event name, handler) pairs — or (event name, handler,
    `botocore.handlers.REGISTER_LAST`) for one that runs after those registered without it; returns
    one remover for all."""
    for spec in specs:
        botocore_handlers.BUILTIN_HANDLERS.append(spec)

    def remove() -> None:
        for spec in specs:
            if spec in botocore_handlers.BUILTIN_HANDLERS:
                botocore_handlers.BUILTIN_HANDLERS.remove(spec)

    return remove


class BufferedBody:
    """What botocore reads a response body from (`stream()` for the whole content, `read()` for
    streaming outputs), over bytes already in memory."""

    def __init__(self, content: bytes):
        self._buffer = io.BytesIO(content)

    def stream(self, amt: int | None = None, decode_content: bool = False) -> Iterator[bytes]:
        while chunk := self._buffer.read(amt or 65536):
            yield chunk

    def read(self, amt: int | None = None, decode_content: bool = False) -> bytes:
        return self._buffer.read(amt if amt is not None else -1)

    def close(self) -> None:
        self._buffer.close()


class DirectRoute(Protocol):
    """Answers a request the WSGI application would answer, in its status, headers and body, or
    declines it (None, having run nothing); `sandbox.moto_direct_dispatch.DirectDispatch`."""

    def answer(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes] | None: ...


class InProcessTransport:
    """Answers botocore requests for `endpoint_url` in this thread: through `direct` when it takes
    the request, else by calling `app`."""

    def __init__(self, app: WsgiApplication, endpoint_url: str, direct: DirectRoute | None = None):
        parts = urlsplit(endpoint_url)
        if not parts.hostname or not parts.port:
            raise ValueError(f"not a loopback server URL with a port: {endpoint_url!r}")
        self.app = app
        self.direct = direct
        self.endpoint_url = endpoint_url.rstrip("/")
        self._prefix = self.endpoint_url + "/"
        self._server_name = parts.hostname
        self._server_port = str(parts.port)
        self.json_parser: JSONParser = CompiledJsonParser()  # botocore's, its walk compiled per shape (same parse)
        self.requests = 0
        self.calls_answered_early = 0  # of `requests`, those `answer_call` sent (no signing, no AWSRequest)
        self.direct_requests = 0  # of `requests`, those `direct` answered; the rest went through `app`
        self.seconds_in_application = 0.0  # wall time inside moto's application (the emulator's own work)

    def handles(self, url: str) -> bool:
        return url == self.endpoint_url or url.startswith(self._prefix)

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        if not self.handles(request.url):
            return None
        status, headers, body = self.exchange(request.method, request.url, request.headers.items(), _body_bytes(request.body))
        return AWSResponse(request.url, status, headers, BufferedBody(body))

    def answer_call(
        self, model: OperationModel, params: dict[str, Any], request_signer: Any, context: dict[str, Any], **_: Any
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        """botocore `before-call`: a JSON-protocol call for the emulator, answered before botocore
        signs and sends it (see the module docstring); None leaves the call to botocore."""
        service = model.service_model
        if service.resolved_protocol != ROUTED_PROTOCOL or model.has_streaming_input or model.http_checksum or model.request_compression:
            return None
        url = params["url"]
        credentials = getattr(request_signer, "_credentials", None)  # botocore keeps no public accessor
        if not self.handles(url) or credentials is None:
            return None
        access_key = credentials.get_frozen_credentials().access_key
        headers = dict(params["headers"])
        stamp = get_current_datetime().strftime(SIGV4_TIMESTAMP)
        headers["X-Amz-Date"] = stamp
        signed = ";".join(sorted({name.lower() for name in headers} | {"host"}))
        scope = f"{access_key}/{stamp[:8]}/{request_signer.region_name}/{request_signer.signing_name}/aws4_request"
        headers["Authorization"] = f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders={signed}, Signature=not-computed-in-process"
        context[ANSWERED_IN_PROCESS] = True
        self.calls_answered_early += 1
        status, response_headers, content = self.exchange(params["method"], url, headers.items(), _body_bytes(params["body"]))
        http = AWSResponse(url, status, response_headers, BufferedBody(content))
        response = convert_to_response_dict(http, model)
        parsed: dict[str, Any] = self.json_parser.parse(response, model.output_shape)
        code = parsed.get("Error", {}).get("Code") if status >= 300 else None
        if code is not None:  # as `Endpoint._add_modeled_error_fields`: a modeled error's own members
            error_shape = service.shape_for_error_code(code)
            if error_shape is not None:
                parsed.update(self.json_parser.parse(response, error_shape))
        if "ResponseMetadata" in parsed:
            parsed["ResponseMetadata"]["RetryAttempts"] = 0
        return http, parsed

    def exchange(
        self, method: str, url: str, headers: Iterable[tuple[str, str | bytes]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """One request, through `direct` or the WSGI application: (status code, headers, body)."""
        self.requests += 1
        environ = self._environ(method, url, headers, body)
        if self.direct is not None:
            started = time.perf_counter()
            try:
                answered = self.direct.answer(environ)
            finally:
                self.seconds_in_application += time.perf_counter() - started
            if answered is not None:
                self.direct_requests += 1
                status, response_headers, content = answered
                return status, _joined_headers(response_headers), content
        captured: dict[str, Any] = {}

        def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            captured["status"] = status
            captured["headers"] = response_headers
            return _refuse_write

        started = time.perf_counter()
        try:
            content = drained(self.app(environ, start_response))
        finally:
            self.seconds_in_application += time.perf_counter() - started
        return int(captured["status"].split(" ", 1)[0]), _joined_headers(captured["headers"]), content

    def _environ(self, method: str, url: str, headers: Iterable[tuple[str, str | bytes]], body: bytes) -> dict[str, Any]:
        """The environ werkzeug's `WSGIRequestHandler.make_environ` builds for the same request as
        urllib3 would send it (`Host` from the URL, `Accept-Encoding: identity` unless given)."""
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        environ: dict[str, Any] = {
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": parts.scheme or "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "SERVER_SOFTWARE": "sandbox-in-process",
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": _wsgi_string(unquote(parts.path)),
            "QUERY_STRING": _wsgi_string(parts.query),
            "REQUEST_URI": _wsgi_string(target),
            "RAW_URI": _wsgi_string(target),
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": 0,
            "SERVER_NAME": self._server_name,
            "SERVER_PORT": self._server_port,
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": parts.netloc,
        }
        sent: set[str] = set()
        for name, raw in headers:
            value = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
            if "_" in name:
                continue  # werkzeug drops these (they could shadow other headers)
            key = name.upper().replace("-", "_")
            value = value.replace("\r\n", "")
            sent.add(key)
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = f"HTTP_{key}"
                if key in environ and key != "HTTP_HOST":
                    value = f"{environ[key]},{value}"
            environ[key] = value
        if "ACCEPT_ENCODING" not in sent:
            environ["HTTP_ACCEPT_ENCODING"] = "identity"
        if body and "CONTENT_LENGTH" not in sent:
            environ["CONTENT_LENGTH"] = str(len(body))
        return environ


def drained(body: Iterable[bytes]) -> bytes:
    """A WSGI response body in one piece, closed afterwards as PEP 3333 asks of the server."""
    try:
        return b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        content = body.read()
        return content.encode("utf-8") if isinstance(content, str) else bytes(content)
    raise TypeError(f"cannot send a request body of type {type(body).__name__} in process")


def _wsgi_string(text: str) -> str:
    """PEP 3333: environ strings carry bytes as latin-1 code points."""
    return text.encode("utf-8").decode("latin-1")


def _joined_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Repeated headers joined with ", ", as urllib3's header dict presents them to botocore."""
    joined: dict[str, tuple[str, str]] = {}
    for name, value in headers:
        key = name.lower()
        joined[key] = (joined[key][0], f"{joined[key][1]}, {value}") if key in joined else (name, value)
    return list(joined.values())


def _refuse_write(data: bytes) -> None:
    raise RuntimeError("moto's application wrote through the legacy WSGI write(); not supported in process")
