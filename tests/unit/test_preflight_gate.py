"""The pre-flight as the publishing gate runs it: the request built from an episode, the fields it lets
go (a rendition by its stable name, never a pre-signed URL), the URL minted at the push, results that
conclude the same not written again, and a cover shared by a series fetched once."""

from __future__ import annotations

from datetime import date, datetime, timezone
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from functions.connectors.http import RetryPolicy
from functions.connectors.media import MediaFetcher
from functions.connectors.megaphone import EpisodeFields
from functions.domain.models import Credit, Episode, EpisodeKind, FileFacts, MasterAudio, Show
from functions.flows.megaphone_projection import desired_fields, fields_hash
from functions.flows.preflight_fields import checked_fields, same_verdict, sendable_fields
from functions.flows.preflight_gate import PreflightGate, PreflightNotChecked, RememberedArtwork, StoredChecksOnly, preflight_request
from functions.flows.publishing_config import PublishingConfig
from functions.preflight.results import ArtworkStatus
from functions.preflight.settings import PreflightSettings
from functions.state.renditions import RenditionStore
from sandbox import media

pytestmark = pytest.mark.usefixtures("aws")

BUCKET = "gate-renditions"
CONFIG = PublishingConfig(podcasts={"9104": "mp-shorts"})
SETTINGS = PreflightSettings(megaphone_explicit_values={True: "explicit", False: "no"})


@pytest.fixture(scope="module")
def bucket(aws: None) -> str:
    boto3.client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    return BUCKET


def episode(product_id: int, cover: str, master: str, **fields: object) -> Episode:
    values: dict[str, object] = {
        "product_id": product_id,
        "work_id": product_id - 38000,
        "kind": EpisodeKind.AUTHOR_INTERVIEW,
        "title": "Callum Reid on The Glass Harbour",
        "subtitle": "Larkspur Shorts, Episode 7",
        "summary": "<p>A short conversation.</p>",
        "show": Show(series_id=9104, name="Larkspur Shorts"),
        "part_number": 7,
        "master_audio": MasterAudio(url=master, approved=True, distribution_allowed=True, filename="07.wav", size=1_920_044,
                                    created_at=datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)),
        "artwork_url": cover,
        "artwork_file": FileFacts(size=171_336, filename="print.jpg"),
        "stated_duration_seconds": 240.0,
        "release_date": date(2026, 11, 15),
        "credits": (Credit(contributor_id=505, name="Marguerite Okonjo", role_code="A01", sequence=1),),
    }  # fmt: skip
    return Episode(**{**values, **fields})


def gate(store: RenditionStore) -> PreflightGate:
    return PreflightGate(media=MediaFetcher(retry=RetryPolicy(max_attempts=2)), renditions=store, settings=SETTINGS, config=CONFIG)


def test_the_request_carries_the_texts_as_pushed_and_what_consonance_says_about_the_files() -> None:
    made = preflight_request(episode(41507, "https://m.test/c.jpg", "https://m.test/07.wav"), CONFIG)
    assert made.text.description == "<p>A short conversation.</p>\n\nWritten by Marguerite Okonjo."  # with the credits line
    assert made.text.explicit is None  # Consonance has no explicit flag
    assert made.artwork is not None and (made.artwork.size, made.artwork.filename, made.artwork.created_at) == (171_336, "print.jpg", None)
    assert made.audio is not None and (made.audio.size, made.audio.created_at) == (1_920_044, "2026-11-21T10:00:00+00:00")
    assert made.stated_duration_seconds == 240.0


def test_a_rendition_is_pushed_by_its_stable_name_and_sent_as_a_presigned_url(media_host, bucket: str) -> None:
    store = RenditionStore(bucket)  # no public base URL: pre-signed GETs
    cmyk = episode(41502, media_host.put("art/print.jpg", media.cover(1400, 1400, mode="CMYK")), media_host.put("m/02.wav", media.wav(240)))
    result = gate(store).check(cmyk, None)
    assert result.artwork is not None and result.artwork.verdict.status is ArtworkStatus.RENDITION and not result.held
    fields = checked_fields(desired_fields(cmyk, draft=False, settings=CONFIG), result, store, SETTINGS)
    assert fields.background_image_file_url == f"rendition:{result.artwork.rendition_key}"
    assert fields.explicit == "no"  # Megaphone's value for a clean episode, from the settings
    assert fields_hash(fields) == fields_hash(checked_fields(desired_fields(cmyk, draft=False, settings=CONFIG), result, store, SETTINGS))
    sent = sendable_fields(fields, store).background_image_file_url
    assert sent is not None and urlsplit(sent).path.endswith(str(result.artwork.rendition_key))
    assert "X-Amz-Signature" in parse_qs(urlsplit(sent).query) and parse_qs(urlsplit(sent).query)["X-Amz-Expires"] == ["604800"]
    assert sendable_fields(fields, store).background_audio_file_url == cmyk.master_audio.url  # type: ignore[union-attr]


def test_with_a_public_base_url_the_rendition_is_pushed_at_it(media_host, bucket: str) -> None:
    store = RenditionStore(bucket, public_base_url="https://renditions.example/")
    png = episode(41503, media_host.put("art/big.png", media.cover(3000, 3000, "PNG", grain=3)), media_host.put("m/03.wav", media.wav(240)))
    result = gate(store).check(png, None)
    fields = checked_fields(desired_fields(png, draft=False, settings=CONFIG), result, store, SETTINGS)
    assert fields.background_image_file_url == f"https://renditions.example/{result.artwork.rendition_key}"  # type: ignore[union-attr]
    assert sendable_fields(fields, store) == fields


def test_a_stored_verdict_only_changes_the_cover_it_was_made_for(media_host, bucket: str) -> None:
    store = RenditionStore(bucket)
    before = episode(41502, media_host.put("art/p2.jpg", media.cover(1400, 1400, mode="CMYK")), media_host.put("m/p2.wav", media.wav(240)))
    result = gate(store).check(before, None)
    replaced = before.model_copy(update={"artwork_url": "https://m.test/new-cover.jpg", "title": "A New Title"})
    fields = checked_fields(desired_fields(replaced, draft=True, settings=CONFIG), result, store, SETTINGS)
    assert fields.background_image_file_url == "https://m.test/new-cover.jpg" and fields.title == "A New Title"


def test_a_result_that_concludes_the_same_is_the_stored_one(media_host, bucket: str) -> None:
    check = gate(RenditionStore(bucket))
    ok = episode(41504, media_host.put("art/ok.jpg", media.cover(1400, 1400)), media_host.put("m/04.wav", media.wav(240)))
    first = check.check(ok, None)
    again = check.check(ok, first)
    assert again is first and same_verdict(first.model_copy(update={"checked_at": datetime(2030, 1, 1, tzinfo=timezone.utc)}), first)


def test_a_series_cover_is_fetched_once_and_its_findings_name_each_episode(media_host, bucket: str) -> None:
    cover = media_host.put("art/series.jpg", media.cover(1400, 1400, mode="CMYK"))
    check = gate(RenditionStore(bucket))
    first = check.check(episode(41511, cover, media_host.put("m/11.wav", media.wav(240))), None)
    second = check.check(episode(41512, cover, media_host.put("m/12.wav", media.wav(240))), None)
    assert len(media_host.requests_for("art/series.jpg")) == 1
    assert first.artwork is not None and second.artwork is not None and second.artwork.rendition_key == first.artwork.rendition_key
    assert [f.entity for f in second.findings] == ["episode#41512"] and [f.entity for f in first.findings] == ["episode#41511"]


def test_remembered_artwork_forgets_the_oldest_past_its_limit() -> None:
    remembered = RememberedArtwork(limit=2)
    checks = {key: object() for key in "abc"}
    for key, value in checks.items():
        remembered[key] = value  # type: ignore[assignment]
    assert list(remembered) == ["b", "c"]


def test_the_dry_run_uses_stored_checks_and_fetches_nothing(media_host, bucket: str) -> None:
    real = gate(RenditionStore(bucket, public_base_url="https://renditions.example/"))
    shown = episode(41513, media_host.put("art/13.png", media.cover(3000, 3000, "PNG", grain=3)), media_host.put("m/13.wav", media.wav(240)))
    stored = real.check(shown, None)
    fetched = len(media_host.received)
    dry = StoredChecksOnly("https://renditions.example/")
    planned = PreflightGate(media=dry, renditions=dry, settings=SETTINGS, config=CONFIG)
    assert planned.check(shown, stored) is stored and len(media_host.received) == fetched
    expected = checked_fields(desired_fields(shown, draft=False, settings=CONFIG), stored, real.renditions, SETTINGS)
    assert planned.projection.checked(desired_fields(shown, draft=False, settings=CONFIG), stored) == expected
    with pytest.raises(PreflightNotChecked, match=r"has not checked https://.*/m/14.wav yet"):
        planned.check(shown.model_copy(update={"master_audio": shown.master_audio.model_copy(update={"url": media_host.url("m/14.wav?sig=1")})}), stored)  # type: ignore[union-attr]
    assert EpisodeFields(title="x", externalId="1").explicit is None
