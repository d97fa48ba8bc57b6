"""One episode's pre-flight end to end: the media host simulator serving real files, the media fetch
connector, renditions stored in S3 (moto) — the cases issue 11 names, the cache, and fetch faults."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

import boto3
import pytest

from functions.connectors.errors import ServiceUnavailable
from functions.connectors.http import RetryPolicy
from functions.connectors.media import MediaFetcher
from functions.domain.errors import TransientError
from functions.preflight.artwork import ArtworkStatus
from functions.preflight.audio import AudioStatus
from functions.preflight.check import PreflightRequest, PreflightResult, check_episode
from functions.preflight.findings import size_text
from functions.preflight.identity import MediaIdentity
from functions.preflight.settings import PreflightSettings
from functions.preflight.text import EpisodeText
from functions.state.renditions import RenditionStore
from sandbox import media

pytestmark = pytest.mark.usefixtures("aws")

SETTINGS = PreflightSettings()
PRODUCT = 9001
BUCKET = "preflight-renditions"


@lru_cache(maxsize=1)
def noisy_png() -> bytes:
    return media.cover(3000, 3000, "PNG", grain=3)


@pytest.fixture(scope="module")
def store(aws) -> RenditionStore:
    boto3.client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    return RenditionStore(BUCKET, public_base_url="https://art.sandbox.example")


def fetcher() -> MediaFetcher:
    """A fresh connector: its clients bind to the host's transport when first used."""
    return MediaFetcher(retry=RetryPolicy(max_attempts=3, backoff_initial_seconds=1, backoff_cap_seconds=4))


def request(*, artwork: str | None = None, audio: str | None = None, stated: float | None = None, **text) -> PreflightRequest:
    return PreflightRequest(
        product_id=PRODUCT,
        text=EpisodeText(**{"title": "Chapter One", "description": "<p>It begins.</p>", **text}),
        artwork=MediaIdentity(url=artwork) if artwork else None,
        audio=MediaIdentity(url=audio) if audio else None,
        stated_duration_seconds=stated,
    )


def run(
    store: RenditionStore, req: PreflightRequest, previous: PreflightResult | None = None, settings: PreflightSettings = SETTINGS
) -> PreflightResult:
    return check_episode(req, media=fetcher(), renditions=store, settings=settings, previous=previous)


def codes(result: PreflightResult) -> list[tuple[str, bool]]:
    return [(f.code, f.blocking) for f in result.findings]


# ------------------------------------------------------------------------------ the cases
def test_a_compliant_episode_passes_and_pushes_its_own_urls(media_host, store, virtual_clock):
    cover = media_host.put("covers/ok.jpg", media.cover(1400, 1400))
    master = media_host.put("masters/ok.mp3", media.mp3(61.2))
    result = run(store, request(artwork=cover, audio=master, stated=61.2))
    assert result.findings == () and not result.held
    assert result.checked_at == virtual_clock.now()  # nothing waited: no retry was needed
    assert result.artwork_url(store.url) == cover
    assert result.audio_verdict is not None and result.audio_verdict.measured.type == "mp3"


def test_a_too_small_cover_holds_the_episode(media_host, store):
    cover = media_host.put("covers/small.jpg", media.cover(1000, 1000))
    result = run(store, request(artwork=cover))
    assert result.held and codes(result) == [("artwork_too_small", True)]
    assert result.findings[0].message == "the cover is 1000×1000 px; it must be at least 1400×1400 px (it is never upscaled)"
    assert result.artwork_url(store.url) is None


def test_a_cmyk_jpeg_is_pushed_as_an_rgb_rendition_from_s3(media_host, store):
    cover = media_host.put("covers/print.jpg", media.cover(1400, 1400, mode="CMYK"))
    result = run(store, request(artwork=cover))
    assert not result.held and codes(result) == [("artwork_rendition_made", False)]
    assert result.artwork is not None and result.artwork.verdict.status is ArtworkStatus.RENDITION
    key = result.artwork.rendition_key
    assert key is not None and result.artwork.verdict.rendition is not None
    assert key == f"renditions/artwork/{result.artwork.verdict.rendition.sha256}.jpg"
    assert result.artwork_url(store.url) == f"https://art.sandbox.example/{key}"
    stored = boto3.client("s3").get_object(Bucket=BUCKET, Key=key)
    assert stored["ContentType"] == "image/jpeg" and stored["ContentLength"] == result.artwork.verdict.rendition.bytes


def test_a_4_mb_png_is_fixed_by_a_rendition_within_512_kb(media_host, store):
    source = noisy_png()
    cover = media_host.put("covers/huge.png", source)
    result = run(store, request(artwork=cover))
    assert codes(result) == [("artwork_rendition_made", False)]
    assert result.artwork is not None
    rendition = result.artwork.verdict.rendition
    assert rendition is not None and (rendition.width, rendition.height) == (3000, 3000)
    assert rendition.bytes <= 512 * 1024
    assert result.findings[0].message == (
        f"the cover is 3000×3000 px PNG RGB, {size_text(len(source))}: larger than 512 KB; "
        f"a 3000×3000 px JPEG of {size_text(rendition.bytes)} at quality {rendition.quality} is pushed instead"
    )
    assert result.artwork_url(store.url) == f"https://art.sandbox.example/{result.artwork.rendition_key}"


def test_a_wav_master_is_accepted_by_its_bytes_whatever_its_name(media_host, store):
    master = media_host.put("masters/chapter-2.mp3", media.wav(95.5))  # a WAV under an .mp3 name, served as audio/mpeg
    result = run(store, request(audio=master, stated=95.0))
    assert result.findings == ()
    assert result.audio_verdict is not None and result.audio_verdict.status is AudioStatus.ACCEPTED
    measured = result.audio_verdict.measured
    assert (measured.type, measured.duration_seconds) == ("wav", 95.5)
    assert result.audio_verdict.duration_difference_seconds == 0.5


def test_an_audio_file_whose_duration_disagrees_with_consonance_holds(media_host, store):
    master = media_host.put("masters/wrong-chapter.m4a", media.m4a(240))
    result = run(store, request(audio=master, stated=1500))
    assert result.held and codes(result) == [("audio_duration_mismatch", True)]
    assert result.findings[0].message == (
        "the master audio plays 4:00 (240 s); Consonance states 25:00 (1500 s): 1260 s apart, more than the 15 s allowed"
    )


def test_an_unreachable_audio_url_holds_and_is_tried_again_next_time(media_host, store):
    master = media_host.fail("masters/missing.mp3", "404", always=True)
    first = run(store, request(audio=master, stated=60))
    assert first.held and codes(first) == [("audio_unreachable", True)]
    assert first.findings[0].message == f"the master audio cannot be fetched from {master}: the host answered 404"
    assert first.audio is None  # a failed fetch is not cached

    media_host.heal("masters/missing.mp3")
    media_host.put("masters/missing.mp3", media.mp3(60))
    second = run(store, request(audio=master, stated=60), previous=first)
    assert second.findings == ()
    assert len(media_host.requests_for("masters/missing.mp3")) == 2


def test_finding_messages_leave_a_presigned_url_s_signature_out(media_host, store):
    signed = media_host.url("masters/private.mp3") + "?X-Amz-Signature=abc123&X-Amz-Expires=600"
    result = run(store, request(audio=signed))
    assert result.findings[0].message == f"the master audio cannot be fetched from {media_host.url('masters/private.mp3')}: the host answered 404"
    assert "abc123" not in result.model_dump_json()


def test_an_unsupported_master_and_an_over_long_title_are_reported_together(media_host, store):
    master = media_host.put("masters/broadcast.mp3", media.mp2(30))
    result = run(store, request(audio=master, stated=30, title="T" * 250))
    assert codes(result) == [("audio_unsupported_type", True), ("title_too_long", True)]


def test_a_cover_larger_than_the_fetch_cap_holds_without_being_read(media_host, store):
    cover = media_host.put("covers/poster.png", noisy_png())
    result = run(store, request(artwork=cover), settings=PreflightSettings(artwork_fetch_max_bytes=1024 * 1024))
    assert codes(result) == [("artwork_fetch_too_large", True)]
    assert result.findings[0].message == f"the cover at {cover} is larger than 1.0 MB, the most the pre-flight reads"


# ------------------------------------------------------------------------------ cache
def test_unchanged_files_are_not_fetched_again(media_host, store, virtual_clock):
    cover = media_host.put("covers/cached.jpg", media.cover(1400, 1400, mode="CMYK"))
    master = media_host.put("masters/cached.wav", media.wav(30))
    started = virtual_clock.now()
    first = run(store, request(artwork=cover, audio=master, stated=30))
    virtual_clock.advance(3600)
    second = run(store, request(artwork=cover, audio=master, stated=45), previous=first)
    assert len(media_host.requests_for("covers/cached.jpg")) == 1 and len(media_host.requests_for("masters/cached.wav")) == 1
    assert second.artwork == first.artwork and second.audio == first.audio
    assert second.checked_at == started + timedelta(hours=1)
    # the audio verdict is judged again: Consonance's new duration is compared without a fetch
    assert codes(second) == [("artwork_rendition_made", False), ("audio_duration_mismatch", True)]


def test_a_changed_identity_or_artwork_setting_fetches_again(media_host, store):
    cover = media_host.put("covers/changing.jpg", media.cover(1400, 1400))
    first = run(store, request(artwork=cover))
    moved = request(artwork=cover).model_copy(update={"artwork": MediaIdentity(url=cover, size=84_000)})
    run(store, moved, previous=first)
    run(store, request(artwork=cover), previous=first, settings=PreflightSettings(artwork_max_bytes=10_000))
    assert len(media_host.requests_for("covers/changing.jpg")) == 3


def test_a_result_survives_a_round_trip_through_json(media_host, store):
    cover = media_host.put("covers/stored.png", media.cover(1500, 1500, "PNG", mode="RGBA"))
    master = media_host.put("masters/stored.m4a", media.m4a(20))
    result = run(store, request(artwork=cover, audio=master, stated=20))
    stored = result.model_dump_json()
    assert PreflightResult.model_validate_json(stored) == result


# ------------------------------------------------------------------------------ faults
def test_a_failed_artwork_fetch_is_retried_and_the_verdict_is_the_true_one(media_host, store, virtual_clock):
    cover = media_host.put("covers/flaky.jpg", media.cover(1000, 1000))
    media_host.fail("covers/flaky.jpg", "503", "timeout")
    result = run(store, request(artwork=cover))
    assert [r.answer for r in media_host.requests_for("covers/flaky.jpg")] == ["503", "timeout", "200"]
    assert codes(result) == [("artwork_too_small", True)]  # the real finding, not "unreachable"


def test_an_artwork_fetch_that_keeps_failing_raises_and_leaves_no_verdict(media_host, store):
    good = media_host.put("covers/down.jpg", media.cover(1400, 1400))
    previous = run(store, request(artwork=good))
    media_host.fail("covers/down.jpg", "timeout", always=True)
    changed = request(artwork=good).model_copy(update={"artwork": MediaIdentity(url=good, size=1)})
    with pytest.raises(ServiceUnavailable) as raised:
        run(store, changed, previous=previous)
    assert isinstance(raised.value, TransientError)  # the queue retries the record; no verdict was made
    assert [r.answer for r in media_host.requests_for("covers/down.jpg")] == ["200", "timeout", "timeout", "timeout"]
