"""Audio pre-flight on real files: type from the bytes, duration with mutagen, compared with Consonance."""

from __future__ import annotations

import hashlib
import io

import pytest

from functions.preflight.audio import AudioStatus, judge_audio, measure_audio
from functions.preflight.settings import PreflightSettings
from sandbox import media

SETTINGS = PreflightSettings()
PRODUCT = 5202


def measure(data: bytes):
    return measure_audio(io.BytesIO(data), size=len(data), sha256=hashlib.sha256(data).hexdigest())


def judge(data: bytes, stated: float | None, settings: PreflightSettings = SETTINGS):
    return judge_audio(measure(data), stated_duration_seconds=stated, product_id=PRODUCT, settings=settings)


@pytest.mark.parametrize(
    ("data", "kind", "codec", "seconds"),
    [
        (media.mp3(61.2), "mp3", None, 61.2),
        (media.wav(42.5), "wav", None, 42.5),
        (media.m4a(30.016), "m4a", "mp4a.40.2", 30.016),
    ],
)
def test_accepted_masters_are_measured_from_their_bytes(data, kind, codec, seconds):
    measured = measure(data)
    assert (measured.type, measured.codec, measured.duration_seconds, measured.bytes) == (kind, codec, seconds, len(data))
    assert measured.sha256 == hashlib.sha256(data).hexdigest()
    verdict = judge_audio(measured, stated_duration_seconds=seconds, product_id=PRODUCT, settings=SETTINGS)
    assert verdict.status is AudioStatus.ACCEPTED and verdict.findings == ()
    assert verdict.duration_difference_seconds == 0


def test_a_wav_master_is_accepted_and_its_duration_read_from_the_header():
    data = media.wav(1800.0, sample_rate=800)  # half an hour, kept small by a low sample rate
    verdict = judge(data, stated=1800.0)
    assert verdict.status is AudioStatus.ACCEPTED
    assert (verdict.measured.type, verdict.measured.duration_seconds, verdict.measured.sample_rate) == ("wav", 1800.0, 800)


def test_a_duration_that_disagrees_with_consonance_holds_the_episode():
    verdict = judge(media.mp3(61.2), stated=90.0)
    assert verdict.status is AudioStatus.HELD
    assert verdict.duration_difference_seconds == 28.8
    [finding] = verdict.findings
    assert (finding.code, finding.blocking, finding.flow, finding.entity) == ("audio_duration_mismatch", True, "preflight", "episode#5202")
    assert finding.message == "the master audio plays 1:01 (61.2 s); Consonance states 1:30 (90 s): 28.8 s apart, more than the 5 s allowed"


def test_the_tolerance_is_the_larger_of_seconds_and_ratio():
    hour = 3600.0
    settings = PreflightSettings(duration_tolerance_seconds=5, duration_tolerance_ratio=0.01)
    long_file = media.wav(hour - 30, sample_rate=100)  # 30 s short of an hour: within 1 % (36 s)
    assert judge(long_file, stated=hour, settings=settings).findings == ()
    assert judge(media.wav(54), stated=60, settings=settings).findings[0].code == "audio_duration_mismatch"  # 6 s > 5 s
    assert judge(media.wav(56), stated=60, settings=settings).findings == ()


def test_a_mismatch_can_be_made_non_blocking():
    verdict = judge(media.wav(20), stated=60, settings=PreflightSettings(duration_mismatch_blocks=False))
    assert verdict.status is AudioStatus.ACCEPTED
    assert [(f.code, f.blocking) for f in verdict.findings] == [("audio_duration_mismatch", False)]


def test_without_a_stated_duration_nothing_is_compared():
    verdict = judge(media.mp3(12), stated=None)
    assert verdict.status is AudioStatus.ACCEPTED and verdict.findings == ()
    assert verdict.duration_difference_seconds is None
    assert verdict.measured.duration_seconds == pytest.approx(12, abs=0.04)


def test_audio_of_a_type_megaphone_does_not_ingest_is_refused_by_what_it_is():
    data = media.mp2(20)
    verdict = judge(data, stated=20)
    assert verdict.status is AudioStatus.HELD
    [finding] = verdict.findings
    assert finding.code == "audio_unsupported_type"
    assert finding.message == (
        f"read from its bytes, the master audio is MP2, {len(data) / 1024:.1f} KB ({len(data):,} bytes); "
        "Megaphone ingests M4A (AAC), MP3, WAV"
    )


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (media.cover(200, 200), "no audio format could be read from its bytes"),
        (b"", "no audio format could be read from its bytes"),
        (media.wav(0), "the file states no duration"),
    ],
)
def test_files_without_readable_audio_hold(data, reason):
    verdict = judge(data, stated=60)
    assert verdict.status is AudioStatus.HELD
    [finding] = verdict.findings
    assert finding.code == "audio_unreadable"
    assert finding.message.endswith(f"cannot be read: {reason}")


def test_judging_again_under_new_settings_needs_no_new_measurement():
    measured = measure(media.wav(50))
    strict = judge_audio(measured, stated_duration_seconds=60, product_id=PRODUCT, settings=SETTINGS)
    lenient = judge_audio(measured, stated_duration_seconds=60, product_id=PRODUCT, settings=PreflightSettings(duration_tolerance_seconds=15))
    assert strict.status is AudioStatus.HELD and lenient.status is AudioStatus.ACCEPTED
