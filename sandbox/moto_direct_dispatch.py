"""moto's server answers without Flask's request handling around them.

For each request the moto server's WSGI application (`DomainDispatcherApplication`) picks a
service's Flask app (from the host, the signature, the target header), and Flask pushes an
application and a request context, routes the path, runs the app's before-request step (moto's
gzip decompression), calls the view — moto's `convert_to_flask_response`, which calls the service's
response handler with the request, its URL and its headers — and then runs the after-request step
(flask_cors's headers) and turns the `Response` into status, headers and body. About a fifth of an
in-process AWS call is that machinery rather than moto's own work.

`DirectDispatch.answer` does the same steps for the same environ with less around them: the same
dispatcher picks the app; the route and the headers the after-request step adds are found once per
(app, method, path) by Flask itself, in a request context of that request; the handler is called with
Flask's own request class built from the environ, behind a werkzeug `LocalProxy` as the server hands
it over (so moto parses it exactly as in the server), and its result becomes the WSGI status, headers and body a Flask `Response` gives: built directly for the plain answers nearly every call gets (`_plain_exchange`, held to werkzeug's by tests/sandbox/test_moto_direct_dispatch.py), through werkzeug for the rest. What it
cannot reproduce that way it declines (None), and the caller sends the request through the WSGI
application instead: moto's own API and instance metadata (their views read Flask's globals), CORS
requests (an `Origin` header, preflights: their headers depend on the request), gzip bodies (the
before-request step would rewrite them), apps whose before/after-request steps are not the ones
described here, paths Flask does not route to a moto handler, and whatever `declines` refuses (the
Athena engine's operations, answered in front of moto). Every service the sandbox calls — DynamoDB,
SQS, EventBridge, SNS, Secrets Manager, S3 (path-style, as botocore addresses the loopback endpoint),
Glue and moto's Athena operations — takes the direct way; a one-day run sends all but the Athena
engine's few queries (9 of 6,354 calls) through it.

tests/sandbox/test_aws_transport.py runs a scenario across those services through both and compares
every answer, raw status, headers and bodies included, and malformed requests' answers and crashes.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, request as current_request
from moto.core.utils import convert_to_flask_response
from moto.moto_server.utilities import decompress_request_body
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from werkzeug.exceptions import BadRequestKeyError, HTTPException
from werkzeug.local import LocalProxy
from werkzeug.utils import get_content_type
from werkzeug.wrappers import Response as WerkzeugResponse

from sandbox.aws_transport import drained

Exchange = tuple[int, list[tuple[str, str]], bytes]
ALLOW_ORIGIN = "Access-Control-Allow-Origin"
# Paths the dispatcher sends to moto's own API and to instance metadata (see `get_application`).
_MOTO_OWN_PATHS = ("/moto-api", "/favicon.ico", "/latest/meta-data/", "/latest/api/")
_CORS_REQUEST_KEYS = ("HTTP_ORIGIN", "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK")
_URL_KEYS = ("wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING")
# Headers `Response.get_wsgi_headers` rewrites (made absolute URIs): such answers go through werkzeug.
_REWRITTEN_HEADERS = frozenset({"location", "content-location"})
_DEFAULT_CONTENT_TYPE = get_content_type(Response.default_mimetype or "text/html", "utf-8")  # what a Response without one gets
_FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})  # werkzeug parses these
_ROUTES_KEPT = 4096  # routes are per path: S3 object keys would otherwise grow the cache without end


_NOT_ROUTED_YET: Any = object()


@dataclass(frozen=True)
class Route:
    """What Flask does for a request to one app, method and path: the moto view it calls and the
    headers its after-request step adds to a response that has no CORS headers yet."""

    view: convert_to_flask_response
    added_headers: tuple[tuple[str, str], ...]


class DirectDispatch:
    """Answers requests for `dispatcher`'s apps as they would answer them; see the module docstring."""

    def __init__(self, dispatcher: DomainDispatcherApplication, declines: Callable[[dict[str, Any]], bool] | None = None):
        self.dispatcher = dispatcher
        self._declines = declines
        self._routes: dict[tuple[Flask, str, str], Route | None] = {}
        self._plain_apps: dict[Flask, bool] = {}
        self._urls: dict[tuple[Any, ...], str] = {}

    def answer(self, environ: dict[str, Any]) -> Exchange | None:
        """(status, headers, body) as the WSGI application would give them, or None (nothing was run)."""
        found = self._route(environ)
        if found is None:
            return None
        app, route = found
        request = app.request_class(environ)
        request.json_module = app.json
        # Flask's request reads these limits from the app context, which is not pushed here
        request.max_content_length = app.config["MAX_CONTENT_LENGTH"]
        request.max_form_memory_size = app.config["MAX_FORM_MEMORY_SIZE"]
        request.max_form_parts = app.config["MAX_FORM_PARTS"]
        _read_unless_form(request)
        self._remember_url(request, environ)
        response: WerkzeugResponse
        try:
            result = _view_result(route.view, LocalProxy(lambda: request))
        except BadRequestKeyError:
            raise  # a debug-mode Flask app (moto's) lets these propagate
        except HTTPException as error:
            response = app.response_class.force_type(error, environ)  # type: ignore[arg-type]  # as Flask's make_response
        else:
            plain = _plain_exchange(*result, request.method, route.added_headers)
            if plain is not None:
                return plain
            response = _response(*result, request.method)
        if not response.headers.get(ALLOW_ORIGIN):  # flask_cors leaves headers a handler set alone
            for name, value in route.added_headers:
                response.headers.add(name, value)
        body, status, headers = response.get_wsgi_response(environ)
        return int(status.split(" ", 1)[0]), list(headers), drained(body)

    def _remember_url(self, request: Any, environ: dict[str, Any]) -> None:
        """werkzeug builds `request.url` (what moto gets as the full URL) by re-quoting each part,
        a sizeable share of the whole dispatch; the URL depends only on the environ's URL parts, so
        the one werkzeug built for the same parts is reused."""
        key = tuple(environ.get(name) for name in _URL_KEYS)
        url = self._urls.get(key)
        if url is None:
            if len(self._urls) >= _ROUTES_KEPT:
                self._urls.clear()
            self._urls[key] = request.url
        else:
            request.url = url

    def _route(self, environ: dict[str, Any]) -> tuple[Flask, Route] | None:
        path = environ.get("PATH_INFO", "")
        method = environ["REQUEST_METHOD"]
        if (
            path.startswith(_MOTO_OWN_PATHS)
            or method == "OPTIONS"
            or any(key in environ for key in _CORS_REQUEST_KEYS)
            or environ.get("HTTP_CONTENT_ENCODING") == "gzip"
            or (self._declines is not None and self._declines(environ))
        ):
            return None
        app = self.dispatcher.get_application(environ)
        if not self._is_plain(app):
            return None
        key = (app, method, path)
        route = self._routes.get(key, _NOT_ROUTED_YET)
        if route is _NOT_ROUTED_YET:
            route = _flask_route(app, environ)
            if len(self._routes) >= _ROUTES_KEPT:
                self._routes.clear()
            self._routes[key] = route
        return None if route is None else (app, route)

    def _is_plain(self, app: Flask) -> bool:
        """True when the app's steps around its views are the ones moto's `create_backend_app` adds:
        the gzip decompression before (declined above), at most one after-request step (flask_cors)."""
        if app not in self._plain_apps:
            before = {scope: list(funcs) for scope, funcs in app.before_request_funcs.items() if funcs}
            after = {scope: list(funcs) for scope, funcs in app.after_request_funcs.items() if funcs}
            self._plain_apps[app] = (
                before == {None: [decompress_request_body]}
                and set(after) <= {None}
                and len(after.get(None, [])) <= 1
                and not any(app.teardown_request_funcs.values())
                and not app.teardown_appcontext_funcs
                and not any(app.url_value_preprocessors.values())
            )
        return self._plain_apps[app]


def _read_unless_form(request: Any) -> None:
    """A body that is not form data (every JSON-protocol call, S3's object bytes) as werkzeug leaves it
    once moto has asked for `data`, `form` and `files`: the bytes read, no form fields, no files. werkzeug
    gets there through its form parser, which for these content types finds nothing to parse but costs
    about 27 µs a call to set up; form bodies still go through it."""
    if request.mimetype in _FORM_MIMETYPES:
        return
    body = request.get_data()
    request.__dict__.update(data=body, form=request.parameter_storage_class(), files=request.parameter_storage_class())


def _flask_route(app: Flask, environ: dict[str, Any]) -> Route | None:
    """Flask's own routing and after-request step, for a bodiless copy of the request."""
    probe = dict(environ, **{"wsgi.input": io.BytesIO(), "CONTENT_LENGTH": "0"})
    with app.request_context(probe):
        if current_request.routing_exception is not None or current_request.url_rule is None:
            return None  # a redirect or a 404/405: the WSGI application answers those
        view = app.view_functions[current_request.url_rule.endpoint]
        if not isinstance(view, convert_to_flask_response):
            return None
        response = app.response_class()
        before = list(response.headers.items())
        after = list(app.process_response(response).headers.items())
    if after[: len(before)] != before:
        return None  # the step changed headers instead of adding them
    return Route(view, tuple(after[len(before) :]))


def _view_result(view: convert_to_flask_response, request: Any) -> tuple[Any, dict[str, Any], Any]:
    """The handler's answer as `convert_to_flask_response.__call__` takes it (status, headers,
    content), with `request` in place of Flask's global one. That global is a werkzeug `LocalProxy`,
    and moto looks at the type of what it is given (a "werkzeug" request gets no `date` header and
    its path from `RAW_URI`), so `request` is one too."""
    from botocore.exceptions import ClientError
    from moto.moto_api import recorder

    try:
        recorder._record_request(request)  # noqa: SLF001 - moto's view does the same
        result = view.callback(request, request.url, dict(request.headers))
    except ClientError as error:
        result = 400, {}, error.response["Error"]["Message"]
    if len(result) == 3:
        return result
    return 200, {}, result


def _response(status: Any, headers: dict[str, Any], content: Any, method: str) -> Response:
    """What `convert_to_flask_response.__call__` makes of the handler's answer."""
    response = Response(response=content, status=status, headers=headers)
    if method == "HEAD" and "content-length" in headers:
        response.headers["Content-Length"] = headers["content-length"]
    return response


def _plain_exchange(status: Any, headers: dict[Any, Any], content: Any, method: str, added: tuple[tuple[str, str], ...]) -> Exchange | None:
    """The WSGI answer `_response` and `Response.get_wsgi_response` give, and the headers flask_cors
    adds, for the answers nearly every call gets: a str or bytes body, a status with a body (not 1xx,
    204 or 304), no HEAD, plain header values and no Location header to rewrite. Built directly:
    werkzeug's response object and header bookkeeping were about 1.5 % of a demo run. Anything else
    is None, and goes through werkzeug."""
    if not isinstance(status, int) or status < 200 or status in (204, 304) or method == "HEAD" or not isinstance(content, (str, bytes)):
        return None
    listed: list[tuple[str, str]] = []
    for name, value in headers.items():
        text = value if isinstance(value, str) else str(value) if isinstance(value, int) else None
        if not isinstance(name, str) or text is None or "\n" in text or "\r" in text or name.lower() in _REWRITTEN_HEADERS:
            return None
        listed.append((name, text))
    body = content.encode() if isinstance(content, str) else content
    if not any(name.lower() == "content-type" for name, _ in listed):
        listed.append(("Content-Type", _DEFAULT_CONTENT_TYPE))
    _set_header(listed, "Content-Length", str(len(body)))
    if not next((value for name, value in listed if name.lower() == ALLOW_ORIGIN.lower()), None):
        listed.extend(added)
    return status, listed, body


def _set_header(headers: list[tuple[str, str]], name: str, value: str) -> None:
    """werkzeug's `Headers.set`: the first header of that name (any case) replaced, later ones removed;
    appended when there is none."""
    wanted = name.lower()
    at = next((index for index, (key, _) in enumerate(headers) if key.lower() == wanted), None)
    if at is None:
        headers.append((name, value))
        return
    headers[at] = (name, value)
    headers[at + 1 :] = [(key, text) for key, text in headers[at + 1 :] if key.lower() != wanted]
