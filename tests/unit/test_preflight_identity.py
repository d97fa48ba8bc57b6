"""Cache keys of media checks and the settings they depend on."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from functions.preflight.identity import MediaIdentity, media_cache_key
from functions.preflight.settings import PreflightSettings

COVER = MediaIdentity(url="https://media.example/covers/7.jpg", size=204_706, created_at="2031-03-01T10:00:00Z")


def test_the_key_changes_with_anything_consonance_says_about_the_file():
    key = media_cache_key("artwork", COVER)
    assert media_cache_key("artwork", COVER.model_copy()) == key
    assert media_cache_key("audio", COVER) != key
    for change in ({"url": "https://media.example/covers/7b.jpg"}, {"size": 204_707}, {"created_at": "2031-03-02T10:00:00Z"}, {"filename": "7.jpg"}):
        assert media_cache_key("artwork", COVER.model_copy(update=change)) != key


def test_artwork_keys_depend_on_the_artwork_settings_only():
    base = PreflightSettings()
    key = media_cache_key("artwork", COVER, base.artwork_fingerprint())
    assert media_cache_key("artwork", COVER, PreflightSettings(max_title_length=90).artwork_fingerprint()) == key
    assert media_cache_key("artwork", COVER, PreflightSettings(artwork_max_bytes=256 * 1024).artwork_fingerprint()) != key


def test_the_fingerprint_does_not_depend_on_set_order():
    one = PreflightSettings(artwork_formats=frozenset(["PNG", "JPEG"]), artwork_convertible_modes=frozenset(["L", "CMYK", "P"]))
    other = PreflightSettings(artwork_formats=frozenset(["JPEG", "PNG"]), artwork_convertible_modes=frozenset(["P", "L", "CMYK"]))
    assert one.artwork_fingerprint() == other.artwork_fingerprint()


@pytest.mark.parametrize(
    "values",
    [
        {"artwork_min_side": 3001},
        {"rendition_min_quality": 93},
        {"megaphone_explicit_values": {True: "explicit"}},
        {"artwork_max_bytes": 0},
    ],
)
def test_inconsistent_settings_are_refused(values):
    with pytest.raises(ValidationError):
        PreflightSettings(**values)


def test_the_duration_tolerance_is_the_larger_of_its_two_forms():
    settings = PreflightSettings(duration_tolerance_seconds=5, duration_tolerance_ratio=0.01)
    assert settings.duration_tolerance(60) == 5
    assert settings.duration_tolerance(3600) == 36
