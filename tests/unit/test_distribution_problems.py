"""Distribution problems from the ledger and the availability table, what Consonance is told about
them (link status, note), and the stated running time the pre-flight compares with."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from functions.connectors.consonance.mapping import map_product, onix_duration_seconds
from functions.connectors.consonance.records import ExtentRecord, ProductRecord
from functions.distribution.consonance_view import (
    HELD_STATUS,
    INGEST_FAILED_STATUS,
    NOT_PLAYABLE_STATUS,
    link_status,
    note_markdown,
    own_link_status,
)
from functions.distribution.models import ProblemKind
from functions.distribution.problems import delivery_signature, ingest_failed, playability_overdue, problems_of
from functions.domain.models import Episode, EpisodeKind, Finding
from functions.mapping_config import MappingConfig
from functions.preflight.findings import PreflightCode, preflight_finding
from functions.preflight.identity import MediaIdentity
from functions.preflight.results import AudioCheck, AudioMeasurement, EpisodeText, PreflightResult, TextVerdict
from functions.state.availability import AvailabilityRecord
from functions.state.keys import episode_key
from functions.state.ledger import LedgerEntry, new_entry
from functions.state.targets import MEGAPHONE, LedgerStatus, MegaphoneState

PRODUCT = 41507
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)
DAY = timedelta(hours=24)
MASTER = "https://media.example.test/masters/41507.wav?X-Amz-Signature=secret"


def entry(status: LedgerStatus = LedgerStatus.DELIVERED, **state: object) -> LedgerEntry[MegaphoneState]:
    made = new_entry(episode_key(PRODUCT), MEGAPHONE)
    made.status = status
    defaults: dict[str, object] = {"podcast_id": "mp-1", "episode_id": "ep-1", "spotify_id": "6rqhFgbbKwnb9MLmUQDhG6", "draft": False}
    made.state = MegaphoneState(**{**defaults, **state})
    return made


def record(channel: str, territory: str, live: bool, since: datetime | None, *, taken_down: bool = False, reason: str = "") -> AvailabilityRecord:
    return AvailabilityRecord(
        entity=f"episode#{PRODUCT}", channel=channel, territory=territory, live=live, since=since, taken_down=taken_down,  # type: ignore[arg-type]
        reason=reason, observed_at=NOW,
    )  # fmt: skip


def published(since: datetime, *spotify: AvailabilityRecord) -> list[AvailabilityRecord]:
    return [record("megaphone", "*", True, since), *spotify]


def measured_result(url: str = MASTER) -> PreflightResult:
    text = TextVerdict(title="t", subtitle=None, description="", explicit=False, explicit_source="setting", megaphone_explicit="clean")
    measured = AudioMeasurement(bytes=1_920_044, sha256="0" * 64, type="wav", duration_seconds=240.0)
    audio = AudioCheck(cache_key="k", source=MediaIdentity(url=url), checked_at=NOW - 2 * DAY, measured=measured)
    return PreflightResult(product_id=PRODUCT, checked_at=NOW, text=text, audio=audio)


# ------------------------------------------------------------------------------------------ stated running time
@pytest.mark.parametrize(
    ("value", "unit", "seconds"),
    [("240", "06", 240.0), ("4.5", "05", 270.0), ("1.25", "04", 4500.0), ("001", "14", 3600.0), ("00105", "15", 3900.0),
     ("0010530", "16", 3930.0), ("001053025", "16", 3930.25), ("0016030", "16", None), ("four", "06", None), ("240", "02", None)],
)  # fmt: skip
def test_onix_running_times_in_every_unit_of_time(value: str, unit: str, seconds: float | None) -> None:
    extent = ExtentRecord.model_validate({"onixExtentTypeCode": "09", "extentValue": value, "onixExtentUnitCode": unit})
    assert onix_duration_seconds(extent) == seconds


def product(**fields: object) -> ProductRecord:
    base: dict[str, object] = {
        "__typename": "ElectronicAudioProduct", "id": PRODUCT, "title": "Callum Reid on The Glass Harbour",
        "work": {"id": 3507, "workType": "author_interview", "seriesMemberships": [{"id": 1, "partNumber": "7", "series": {"id": 9104, "name": "Shorts"}}],
                 "supportingResources": [{"id": 8507, "resourceVariant": "cover_image", "url": "https://x.test/c.jpg", "fileSize": 210361,
                                          "filename": "c.jpg", "createdAt": "2026-11-20T09:00:00Z"}]},
        "productionFiles": [{"id": 61507, "fileVariant": "master_audio", "approvalStatus": "approved", "allowDistribution": "allowed",
                             "filename": "07.wav", "url": "https://x.test/07.wav", "fileSize": "1920044", "createdAt": "2026-11-21T10:00:00Z"}],
    }  # fmt: skip
    return ProductRecord.model_validate({**base, **fields})


def test_the_mapping_carries_the_stated_running_time_and_the_file_facts() -> None:
    mapped = map_product(product(extents=[{"onixExtentTypeCode": "09", "extentValue": "0000400", "onixExtentUnitCode": "16"}]), MappingConfig())
    episode = mapped.episode
    assert episode is not None and episode.stated_duration_seconds == 240.0
    assert episode.master_audio is not None and (episode.master_audio.size, episode.master_audio.created_at) == (
        1_920_044, datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc),
    )  # fmt: skip
    assert episode.artwork_file is not None and (episode.artwork_file.size, episode.artwork_file.filename) == (210361, "c.jpg")
    assert not mapped.findings


def test_a_running_time_that_cannot_be_read_is_reported_not_guessed() -> None:
    mapped = map_product(product(extents=[{"onixExtentTypeCode": "09", "extentValue": "4 min", "onixExtentUnitCode": "05"}]), MappingConfig())
    assert mapped.episode is not None and mapped.episode.stated_duration_seconds is None
    [finding] = mapped.findings
    assert (finding.code, finding.blocking) == ("unreadable_duration", False) and "'4 min' in ONIX unit '05'" in finding.message


def test_other_extents_and_configured_types() -> None:
    pages = {"onixExtentTypeCode": "00", "extentValue": "320", "onixExtentUnitCode": "03"}
    main_content = {"onixExtentTypeCode": "14", "extentValue": "235", "onixExtentUnitCode": "06"}
    assert map_product(product(extents=[pages, main_content]), MappingConfig()).episode.stated_duration_seconds is None  # type: ignore[union-attr]
    configured = MappingConfig(duration_extent_types=("14",))
    assert map_product(product(extents=[pages, main_content]), configured).episode.stated_duration_seconds == 235.0  # type: ignore[union-attr]


# ------------------------------------------------------------------------------------------ problems
def test_a_preflight_hold_is_a_problem_with_its_action_and_a_rendition_a_notice() -> None:
    held = entry(LedgerStatus.HELD)
    small = preflight_finding(PreflightCode.ARTWORK_TOO_SMALL, PRODUCT, "the cover is 1000×1000 px; it must be at least 1400×1400 px")
    rendition = preflight_finding(PreflightCode.ARTWORK_RENDITION_MADE, PRODUCT, "a rendition is pushed instead")
    rights = Finding(code="not_cleared", entity=held.entity, message="not cleared", flow="rights")
    held.findings = [small, rendition, rights]
    found, notices = problems_of(held, [], NOW, DAY)
    [problem] = found
    assert (problem.kind, problem.code, problem.reason, problem.alerts) == (ProblemKind.PREFLIGHT, "artwork_too_small", small.message, False)
    assert problem.action.startswith("Upload a new cover image on the work in Consonance")
    assert [(n.code, n.message) for n in notices] == [("artwork_rendition_made", "a rendition is pushed instead")]
    released = entry(LedgerStatus.DELIVERED)
    released.findings = [small]
    assert problems_of(released, [], NOW, DAY)[0] == []  # a pre-flight finding only holds while the entry is held


def test_a_failed_ingest_says_what_the_preflight_read_from_the_same_url_without_its_query() -> None:
    failed = entry(LedgerStatus.FAILED, audio_url=MASTER, ingest_failed_url=MASTER, preflight=measured_result(), spotify_id=None)
    [problem] = problems_of(failed, [], NOW, DAY)[0]
    assert (problem.kind, problem.code, problem.alerts) == (ProblemKind.INGEST_FAILED, "megaphone_ingest_failed", True)
    assert problem.reason == (
        "Megaphone could not ingest the master audio at https://media.example.test/masters/41507.wav (audioFileStatus: failed); "
        "the pre-flight read the same URL as WAV, 1.8 MB (1,920,044 bytes), 240 s on 2026-12-01, so the file was fine when "
        "checked: Megaphone could not fetch it, or it changed since"
    )
    assert "secret" not in problem.reason
    pushed_again = entry(LedgerStatus.AWAITING_INGEST, audio_url=MASTER.replace("41507", "41507-public"), ingest_failed_url=MASTER)
    assert not ingest_failed(pushed_again.state) and problems_of(pushed_again, [], NOW, DAY)[0] == []


def test_never_playable_only_after_the_deadline_and_only_for_what_the_integration_delivered() -> None:
    live_since = NOW - DAY - timedelta(minutes=1)
    never = published(live_since, record("spotify", "GB", False, None), record("spotify", "US", False, None))
    assert playability_overdue(entry(), never, NOW, DAY) == live_since + DAY
    [problem] = problems_of(entry(), never, NOW, DAY)[0]
    assert (problem.kind, problem.code, problem.since, problem.alerts) == (ProblemKind.NOT_PLAYABLE, "not_playable_on_spotify", live_since, True)
    assert "in any watched market (GB, US) within 24 hours" in problem.reason
    assert playability_overdue(entry(), published(NOW - DAY + timedelta(minutes=1)), NOW, DAY) is None  # not yet
    served_once = published(live_since, record("spotify", "GB", False, NOW - DAY / 2))
    assert playability_overdue(entry(), served_once, NOW, DAY) is None  # a stop after serving is a takedown
    assert playability_overdue(entry(LedgerStatus.FAILED), never, NOW, DAY) is None  # the ingest problem says why
    assert playability_overdue(entry(draft=True), never, NOW, DAY) is None


def test_a_takedown_is_a_problem_the_recorder_alerts_while_the_episode_is_delivered() -> None:
    records = [
        record("megaphone", "*", True, NOW - 3 * DAY),
        record("spotify", "AU", False, NOW - 2 * DAY, taken_down=True, reason="regional takedown"),
        record("spotify", "GB", True, NOW - 3 * DAY),
    ]
    [problem] = problems_of(entry(), records, NOW, DAY)[0]
    assert (problem.kind, problem.code, problem.alerts) == (ProblemKind.TAKEN_DOWN, "taken_down_on_spotify", False)
    assert problem.reason == "taken down in AU: regional takedown"
    assert problems_of(entry(LedgerStatus.WITHDRAWN, draft=True), records, NOW, DAY)[0] == []


def test_the_signature_changes_with_what_decides_preflight_and_ingest_problems_only() -> None:
    base = entry(LedgerStatus.AWAITING_INGEST, audio_url=MASTER)
    signature = delivery_signature(base)
    base.record("updated", "a title change")
    base.state.pushed_fields = {"title": "New"}
    assert delivery_signature(base) == signature
    base.state.ingest_failed_url = MASTER
    assert delivery_signature(base) != signature
    held = entry(LedgerStatus.HELD)
    before = delivery_signature(held)
    held.findings = [preflight_finding(PreflightCode.AUDIO_UNREACHABLE, PRODUCT, "gone")]
    assert delivery_signature(held) != before


# ------------------------------------------------------------------------------------------ what Consonance shows
def test_the_link_shows_the_worst_problem_then_the_integrations_own_status() -> None:
    failed = entry(LedgerStatus.FAILED, audio_url=MASTER, ingest_failed_url=MASTER)
    ingest = problems_of(failed, [], NOW, DAY)[0]
    late = problems_of(entry(), published(NOW - 2 * DAY), NOW, DAY)[0]
    held = entry(LedgerStatus.HELD)
    held.findings = [preflight_finding(PreflightCode.ARTWORK_NOT_SQUARE, PRODUCT, "1400×1000")]
    hold = problems_of(held, [], NOW, DAY)[0]
    taken = problems_of(entry(), [record("spotify", "AU", False, NOW - DAY, taken_down=True)], NOW, DAY)[0]
    assert link_status(taken + ingest + late + hold, ["AU"], entry()) == "taken down in AU"
    assert link_status(ingest + late + hold, [], entry()) == INGEST_FAILED_STATUS
    assert link_status(late + hold, [], entry()) == NOT_PLAYABLE_STATUS
    assert link_status(hold, [], held) == HELD_STATUS
    assert link_status([], [], entry()) == "live"
    assert [own_link_status(entry(s, draft=d)) for s, d in ((LedgerStatus.DRAFT, True), (LedgerStatus.WITHDRAWN, True), (LedgerStatus.HELD, False), (LedgerStatus.HELD, True))] == [
        "draft", "withdrawn", "live", None,
    ]  # fmt: skip


def test_the_note_tells_each_problem_with_what_to_do_and_nothing_that_changes_by_itself() -> None:
    episode = Episode(product_id=PRODUCT, kind=EpisodeKind.AUTHOR_INTERVIEW, title="Callum Reid on The Glass Harbour", isbn13="9781915405074")
    delivered = entry(preflight=measured_result())
    late = problems_of(delivered, published(NOW - 2 * DAY), NOW, DAY)[0]
    note = note_markdown(episode, late, [], delivered)
    assert note.splitlines()[0] == "**Spotify distribution: Callum Reid on The Glass Harbour** (Consonance product 41507, ISBN 9781915405074)"
    assert "1 problem to fix:" in note and "1. **Not playable on Spotify** (not_playable_on_spotify) (since 2026-12-01 12:00 UTC)" in note
    assert "   What to do: Look the episode up in Megaphone" in note
    assert "Pre-flight: master WAV, 1.8 MB (1,920,044 bytes), 240 s (Consonance states no running time); explicit: clean (setting)." in note
    assert note.endswith("Delivery: Megaphone episode ep-1 (podcast mp-1), Spotify episode 6rqhFgbbKwnb9MLmUQDhG6; integration status: delivered.")
    assert note_markdown(episode, late, [], delivered) == note  # deterministic: an unchanged situation writes nothing
    clear = note_markdown(episode, [], [], delivered)
    assert "No distribution problems: everything Spotify and Megaphone require is in order." in clear and "What to do" not in clear
    assert EpisodeText(title="x").explicit is None  # Consonance states no explicit flag: the setting decides
