"""The media fetch connector against the media host simulator: caps, typed errors, retries."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator

import httpx
import pytest

from functions.connectors.errors import RateLimited, ServiceUnavailable
from functions.connectors.http import RetryPolicy, route_host
from functions.connectors.media import MediaFetcher, MediaTooLarge, MediaUnreachable
from functions.domain.errors import PermanentError, TransientError
from sandbox import media


def fetcher(**options) -> MediaFetcher:
    options.setdefault("retry", RetryPolicy(max_attempts=4, backoff_initial_seconds=1, backoff_cap_seconds=8))
    return MediaFetcher(**options)


def test_a_file_is_fetched_whole_with_its_hash_and_headers(media_host, exchanges):
    data = media.wav(3)
    url = media_host.put("masters/ch1.wav", data)
    with fetcher().fetch(url, max_bytes=1_000_000) as fetched:
        assert fetched.read() == data
        assert (fetched.size, fetched.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        assert fetched.content_type == "audio/x-wav"
        assert fetched.etag == f'"{hashlib.sha256(data).hexdigest()[:32]}"'
    assert [(e.service, e.method, e.url, e.status) for e in exchanges] == [("media", "GET", url, 200)]
    assert exchanges[0].request_headers["accept"] == "*/*"
    assert "authorization" not in exchanges[0].request_headers


def test_files_larger_than_the_spool_still_arrive_intact(media_host):
    data = media.cover(1400, 1400, "PNG", grain=3)
    url = media_host.put("covers/big.png", data)
    with fetcher(spool_bytes=64 * 1024, chunk_bytes=16 * 1024).fetch(url, max_bytes=len(data)) as fetched:
        assert fetched.read() == data


def test_a_declared_length_over_the_cap_stops_before_reading(media_host):
    url = media_host.put("covers/huge.jpg", media.cover(1400, 1400))
    with pytest.raises(MediaTooLarge) as raised:
        fetcher().fetch(url, max_bytes=1000)
    assert isinstance(raised.value, PermanentError)
    assert raised.value.limit == 1000
    assert len(media_host.requests_for("covers/huge.jpg")) == 1


def test_a_streamed_body_is_cut_off_just_past_the_cap(virtual_clock, cleared_routes):
    produced: list[int] = []

    def chunks() -> Iterator[bytes]:
        for number in itertools.count():
            produced.append(number)
            yield bytes(1000)

    route_host("stream.example", httpx.MockTransport(lambda request: httpx.Response(200, content=chunks())))
    with pytest.raises(MediaTooLarge):
        fetcher(chunk_bytes=1000).fetch("https://stream.example/endless.mp3", max_bytes=5500)
    assert len(produced) == 6  # five chunks fit, the sixth passes the cap: nothing more is read


def test_a_body_shorter_than_announced_is_a_transient_failure_not_a_file(virtual_clock, cleared_routes):
    def cut_short(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Length": "1000"}, content=iter([bytes(400)]))

    route_host("short.example", httpx.MockTransport(cut_short))
    with pytest.raises(ServiceUnavailable, match="ended after 400 of 1,000 bytes"):
        fetcher(retry=RetryPolicy(max_attempts=2)).fetch("https://short.example/cover.jpg", max_bytes=10_000)


@pytest.mark.parametrize("status", ["404", "410", "403"])
def test_not_there_or_not_for_us_is_permanent_and_not_retried(media_host, status):
    url = media_host.fail("masters/gone.mp3", status, always=True)
    with pytest.raises(MediaUnreachable) as raised:
        fetcher().fetch(url, max_bytes=10_000)
    assert raised.value.status == int(status)
    assert isinstance(raised.value, PermanentError)
    assert len(media_host.requests_for("masters/gone.mp3")) == 1


def test_a_path_nobody_put_is_unreachable(media_host):
    with pytest.raises(MediaUnreachable) as raised:
        fetcher().fetch(media_host.url("nothing/here.jpg"), max_bytes=10_000)
    assert raised.value.status == 404


def test_timeouts_and_server_errors_are_retried_until_the_file_comes(media_host, virtual_clock):
    data = media.cover(1400, 1400)
    url = media_host.put("covers/flaky.jpg", data)
    media_host.fail("covers/flaky.jpg", "timeout", "503", "reset")
    with fetcher().fetch(url, max_bytes=1_000_000) as fetched:
        assert fetched.read() == data
    assert [r.answer for r in media_host.requests_for("covers/flaky.jpg")] == ["timeout", "503", "reset", "200"]
    assert virtual_clock.slept_seconds > 0  # backed off on the virtual clock between attempts


def test_a_host_that_keeps_failing_raises_a_transient_error_after_the_last_attempt(media_host):
    url = media_host.fail("covers/down.jpg", "timeout", always=True)
    with pytest.raises(ServiceUnavailable) as raised:
        fetcher().fetch(url, max_bytes=10_000)
    assert isinstance(raised.value, TransientError)
    assert len(media_host.requests_for("covers/down.jpg")) == 4


def test_429_waits_for_retry_after(media_host, virtual_clock):
    url = media_host.put("covers/busy.jpg", media.cover(1400, 1400))
    media_host.fail("covers/busy.jpg", "429")
    with fetcher().fetch(url, max_bytes=1_000_000):
        pass
    assert virtual_clock.slept_seconds == 1.0
    media_host.fail("covers/busy.jpg", "429", always=True)
    with pytest.raises(RateLimited):
        fetcher().fetch(url, max_bytes=1_000_000)


def test_a_url_that_is_not_http_is_unreachable_without_a_request(media_host):
    for url in ("ftp://media.sandbox.example/a.mp3", "s3://bucket/a.mp3", "not a url"):
        with pytest.raises(MediaUnreachable):
            fetcher().fetch(url, max_bytes=10)
    assert media_host.received == []


def test_a_download_slower_than_the_deadline_is_given_up_as_transient(media_host):
    url = media_host.put("masters/slow.wav", media.wav(2))
    readings = iter([0.0, 10.0, 601.0])  # start, after the first chunk, after the second
    slow = fetcher(chunk_bytes=4096, retry=RetryPolicy(max_attempts=1), stopwatch=lambda: next(readings))
    with pytest.raises(ServiceUnavailable, match="took longer than 600 s"):
        slow.fetch(url, max_bytes=1_000_000)
