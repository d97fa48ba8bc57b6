"""The direct dispatch builds the WSGI answer of a plain handler result itself (`_plain_exchange`);
every answer it builds must be the one werkzeug's response object gives for the same result, and
what it does not build (None) goes through werkzeug. The transport's scenario test compares whole
calls with the socket path; this one covers the header rules case by case."""

from __future__ import annotations

import io
from typing import Any

import pytest

from sandbox.aws_transport import drained
from sandbox.moto_direct_dispatch import ALLOW_ORIGIN, _plain_exchange, _response

CORS = (("Access-Control-Allow-Origin", "*"),)
ENVIRON = {
    "REQUEST_METHOD": "POST",
    "wsgi.url_scheme": "http",
    "HTTP_HOST": "127.0.0.1:5000",
    "SERVER_NAME": "127.0.0.1",
    "SERVER_PORT": "5000",
    "PATH_INFO": "/",
    "SCRIPT_NAME": "",
    "QUERY_STRING": "",
    "wsgi.input": io.BytesIO(),
}


def through_werkzeug(status: Any, headers: dict[str, Any], content: Any, method: str, added: tuple[tuple[str, str], ...]) -> tuple[int, list[tuple[str, str]], bytes]:
    """What `DirectDispatch.answer` gives when it leaves the answer to werkzeug."""
    response = _response(status, dict(headers), content, method)
    if not response.headers.get(ALLOW_ORIGIN):
        for name, value in added:
            response.headers.add(name, value)
    body, status_line, listed = response.get_wsgi_response(dict(ENVIRON, REQUEST_METHOD=method))
    return int(status_line.split(" ", 1)[0]), list(listed), drained(body)


BUILT = [
    pytest.param(200, {"x-amzn-requestid": "r1", "Content-Type": "application/x-amz-json-1.0", "x-amz-crc32": 123}, '{"Item": {}}', id="json"),
    pytest.param(200, {"server": "amazon.com", "status": 200}, "{}", id="no content type, int values"),
    pytest.param(400, {"Content-Type": "application/json"}, '{"__type": "ValidationException"}', id="an error"),
    pytest.param(500, {}, "Internal error: ünïcode", id="unicode, no headers"),
    pytest.param(200, {"content-length": "999", "ETag": '"abc"'}, b"\x00\x01binary", id="a stale content length, bytes"),
    pytest.param(200, {"content-length": "1", "Content-Length": "2", "x": "y"}, "body", id="two content lengths"),
    pytest.param(200, {ALLOW_ORIGIN: "https://example.test"}, "{}", id="the handler's own CORS header"),
    pytest.param(200, {"access-control-allow-origin": ""}, "{}", id="an empty CORS header"),
    pytest.param(200, {"flag": True}, "", id="a bool value, an empty body"),
]


@pytest.mark.parametrize(("status", "headers", "content"), BUILT)
def test_a_built_answer_is_werkzeug_s_answer(status: Any, headers: dict[str, Any], content: Any) -> None:
    for added in ((), CORS):
        built = _plain_exchange(status, dict(headers), content, "POST", added)
        assert built is not None, "a plain answer is built"
        assert built == through_werkzeug(status, headers, content, "POST", added)


LEFT_TO_WERKZEUG = [
    pytest.param(204, {}, "", "DELETE", id="204"),
    pytest.param(304, {"ETag": '"a"'}, "", "GET", id="304"),
    pytest.param(200, {"content-length": "4"}, "body", "HEAD", id="HEAD"),
    pytest.param(307, {"Location": "/bucket/key"}, "", "GET", id="a relative Location"),
    pytest.param(200, {"Content-Location": "/x y"}, "", "GET", id="a Content-Location"),
    pytest.param(200, {"x-list": ["a", "b"]}, "", "GET", id="a header with several values"),
    pytest.param(200, {"x-float": 1.5}, "", "GET", id="a float value"),
    pytest.param("200 OK", {}, "", "GET", id="a status line"),
    pytest.param(200, {}, [b"chunk", b"s"], "GET", id="an iterable body"),
    pytest.param(200, {}, bytearray(b"ba"), "GET", id="a bytearray body"),
]


@pytest.mark.parametrize(("status", "headers", "content", "method"), LEFT_TO_WERKZEUG)
def test_other_answers_are_left_to_werkzeug(status: Any, headers: dict[str, Any], content: Any, method: str) -> None:
    assert _plain_exchange(status, dict(headers), content, method, CORS) is None
    through_werkzeug(status, headers, content, method, CORS)  # and werkzeug answers them


def test_a_header_value_with_a_newline_is_left_to_werkzeug_which_refuses_it() -> None:
    assert _plain_exchange(200, {"x-bad": "a\r\nb"}, "", "POST", ()) is None
    with pytest.raises(ValueError, match="newline"):
        through_werkzeug(200, {"x-bad": "a\r\nb"}, "", "POST", ())
