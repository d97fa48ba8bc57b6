"""Spotify's distribution requirements both ways, on the sandbox world: the sample's Larkspur Shorts
(`sandbox/catalogue/sample.d/distribution.json`, one episode per case) run through every flow that
publishes, watches or reports distribution (`DISTRIBUTION_FLOWS`: not promotion, branded audio,
campaigns or analytics, which the sample-run tests in tests/e2e run with these) for five and a half
virtual days, with the Consonance fixes the timeline makes on days 2, 4 and 5; then again
with a fifth of API calls and media fetches failing and handlers crashing, to the same end.

Two moments are looked at: day 1 at noon (every problem found, none fixed yet, the unplayable episode
past its 24 hours) and the end (the fixes made, what they fixed cleared everywhere). What is checked
is exact: the verdicts and their messages, the URLs pushed (a rendition's from the CDN in front of
the renditions bucket, never a pre-signed one), what the media hosts were asked (an unchanged file is
not fetched again), the ledger, the Consonance link statuses and notes, and the alerts (once each).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from PIL import Image

from functions.connectors.http import HttpService
from functions.distribution.consonance_view import HELD_STATUS, NOT_PLAYABLE_STATUS
from functions.distribution.models import ProblemKind
from functions.preflight.results import ArtworkStatus
from functions.state.keys import episode_key
from functions.state.ledger import LedgerEntry, SyncLedger
from functions.state.targets import DISTRIBUTION, MEGAPHONE, DistributionState, DistributionStatus, LedgerStatus, MegaphoneState
from functions.flow_names import FlowName
from infra.flows import FLOWS, Table
from sandbox.catalogue import Catalogue, load_catalogue
from sandbox.world import SandboxWorld
from tests.integration.harness import open_world
from tests.integration.small_catalogue import derived_sample

SHORTS = frozenset(range(41501, 41509))
NOT_DISTRIBUTION = {
    FlowName.CONTRIBUTOR_POLLER, FlowName.AUTHOR_PLAYLISTS, FlowName.PROMO_BRIEFS,
    FlowName.LICENCE_SWEEP, FlowName.BRAND_SHOW, FlowName.VENUE_DELIVERY, FlowName.LICENCE_STATUS, FlowName.BRAND_PLAYLISTS,
    FlowName.MILESTONE_DETECTOR, FlowName.CAMPAIGN_PLANNER, FlowName.ADS_REPORT_COLLECTOR,
    FlowName.ANALYTICS_EXPORT_INGEST, FlowName.ANALYTICS_CREATORS_COLLECTOR, FlowName.ANALYTICS_NIGHTLY,
}  # fmt: skip
DISTRIBUTION_FLOWS = tuple(flow for flow in FLOWS if flow.name not in NOT_DISTRIBUTION)
MEDIA = "https://media.larkspurvine.example"
COVER = f"{MEDIA}/art/larkspur-shorts-3000.jpg"
TOO_SMALL = f"{MEDIA}/art/shorts/episode-01-1000.jpg"
KIB = 1024


def catalogue() -> Catalogue:
    return derived_sample(load_catalogue(), set(SHORTS), before_day=7)


@dataclass
class Snapshot:
    """What the world shows at one moment."""

    at: datetime
    megaphone: dict[int, LedgerEntry[MegaphoneState]]
    distribution: dict[int, LedgerEntry[DistributionState]]
    episodes: dict[int, dict[str, Any]]  # Megaphone's episodes by product id
    links: dict[int, str | None]  # the Spotify link's description on each product in Consonance
    notes: dict[int, str]  # the internal distribution note on each product's work
    alerts: list[str] = field(default_factory=list)  # alerts received since the previous snapshot


@dataclass
class Run:
    world: SandboxWorld
    day_one: Snapshot
    end: Snapshot
    held_update: Snapshot  # after the end: a live episode's cover replaced by one that is too small

    def gets(self, url: str, before: datetime | None = None) -> list[str]:
        """The answers the media host gave to GETs of `url`, in order (the integration's and Megaphone's)."""
        return [request.answer for request in self.world.media.requests_for(url) if before is None or request.at < before]


def snapshot(world: SandboxWorld) -> Snapshot:
    ledger = SyncLedger(world.resources.tables[Table.LEDGER])
    keys = [episode_key(product_id) for product_id in SHORTS]
    products = {p.id: p for p in world.consonance.catalogue.products if p.id in SHORTS}
    works = {p.work_id: p.id for p in products.values()}
    return Snapshot(
        at=world.clock.now(),
        megaphone={key.number: entry for key, entry in ledger.get_many(keys, MEGAPHONE).items()},
        distribution={key.number: entry for key, entry in ledger.get_many(keys, DISTRIBUTION).items()},
        episodes={int(e["externalId"]): e for e in world.megaphone.state()["episodes"] if int(e["externalId"]) in SHORTS},
        links={
            product_id: next((link.description for link in product.web_links if "spotify.com" in link.link), None)
            for product_id, product in products.items()
        },
        notes={
            works[text.work_id]: text.internal_markdown
            for text in world.consonance.catalogue.marketing_texts
            if text.work_id in works and " distribution -->" in text.internal_markdown.split("\n", 1)[0]
        },
        alerts=world.alerts.received(),
    )


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    with open_world(catalogue(), flows=DISTRIBUTION_FLOWS, seed=5) as world:
        world.runtime.run_until(world.clock.now() + timedelta(days=1, hours=12))
        day_one = snapshot(world)
        world.runtime.run_until(world.clock.now() + timedelta(days=4))  # day 5 noon: the last fix is 09:30
        end = snapshot(world)
        # Not in the sample's timeline: a live episode's cover is replaced by one that is too small.
        work = next(w for w in world.consonance.catalogue.works if w.id == 3804)
        work.supporting_resources = [work.supporting_resources[0].model_copy(update={"url": TOO_SMALL, "id": 8599})]
        work.changed_on = world.clock.now().date()
        world.runtime.run_until(world.clock.now() + timedelta(hours=1))
        yield Run(world, day_one, end, snapshot(world))


def problems(snap: Snapshot, product_id: int) -> list[tuple[ProblemKind, str]]:
    entry = snap.distribution.get(product_id)
    return [(p.kind, p.code) for p in entry.state.problems] if entry is not None else []


def alerts_about(alerts: list[str], product_id: int) -> list[str]:
    return [alert for alert in alerts if f"Consonance product {product_id} " in alert]


def rendition_served(url: str) -> Image.Image:
    """The image at `url`, fetched as Megaphone would (the sandbox routes the CDN's host)."""
    service = HttpService(service="test", base_url=url.rsplit("/", 1)[0], auth_headers=dict)
    response = service.client().get(url)
    assert response.status_code == 200, url
    return Image.open(io.BytesIO(response.content))


# ------------------------------------------------------------------------------------------ artwork
def test_a_too_small_cover_holds_the_episode_until_a_new_one_arrives(run: Run) -> None:
    held = run.day_one.megaphone[41501]
    assert held.status is LedgerStatus.HELD and held.status_reason == "pre-flight: artwork_too_small"
    [finding] = [f for f in held.findings if f.flow == "preflight"]
    assert (finding.code, finding.blocking) == ("artwork_too_small", True)
    assert finding.message == "the cover is 1000×1000 px; it must be at least 1400×1400 px (it is never upscaled)"
    assert 41501 not in run.day_one.episodes  # nothing pushed
    assert problems(run.day_one, 41501) == [(ProblemKind.PREFLIGHT, "artwork_too_small")]
    note = run.day_one.notes[41501]
    assert "1 problem to fix:" in note and finding.message in note and "Upload a new cover image on the work in Consonance" in note
    assert run.day_one.links[41501] is None  # not on Spotify: no link to put a status on
    assert alerts_about(run.day_one.alerts, 41501) == []  # the production team's to fix, not the operators'

    fixed = run.end.megaphone[41501]
    new_cover = f"{MEDIA}/art/shorts/episode-01-3000.jpg"
    assert fixed.status is LedgerStatus.DELIVERED and not [f for f in fixed.findings if f.flow == "preflight"]
    assert run.end.episodes[41501]["backgroundImageFileUrl"] == new_cover
    assert run.end.distribution[41501].status is DistributionStatus.CLEAR and problems(run.end, 41501) == []
    assert "No distribution problems: everything Spotify and Megaphone require is in order." in run.end.notes[41501].splitlines()
    assert run.gets(TOO_SMALL, before=run.end.at) == ["200"] and run.gets(new_cover) == ["200"]  # each read once


def test_a_cmyk_cover_goes_out_as_an_rgb_rendition_from_the_cdn(run: Run) -> None:
    entry = run.day_one.megaphone[41502]
    assert entry.status is LedgerStatus.DELIVERED
    check = entry.state.preflight.artwork  # type: ignore[union-attr]
    assert check is not None and check.verdict.status is ArtworkStatus.RENDITION and check.verdict.measured.mode == "CMYK"
    url = run.day_one.episodes[41502]["backgroundImageFileUrl"]
    assert url == f"https://renditions.sandbox.example/{check.rendition_key}"
    assert entry.state.pushed_fields["backgroundImageFileUrl"] == url  # the stable name is what was hashed and kept
    image = rendition_served(url)
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (1400, 1400))
    [notice] = run.day_one.distribution[41502].state.notices
    assert notice.code == "artwork_rendition_made" and "CMYK, converted to RGB" in notice.message
    assert problems(run.day_one, 41502) == [] and "Fixed by the integration" in run.day_one.notes[41502]
    assert run.day_one.links[41502] == "Spotify: live"


def test_a_4_mb_png_is_replaced_by_a_jpeg_within_512_kb(run: Run) -> None:
    entry = run.day_one.megaphone[41503]
    check = entry.state.preflight.artwork  # type: ignore[union-attr]
    assert check is not None and check.verdict.measured.format == "PNG" and check.verdict.measured.bytes > 4 * 1024 * KIB
    rendition = check.verdict.rendition
    assert rendition is not None and rendition.bytes <= 512 * KIB and (rendition.width, rendition.height) == (3000, 3000)
    url = run.day_one.episodes[41503]["backgroundImageFileUrl"]
    assert url == f"https://renditions.sandbox.example/{check.rendition_key}" and rendition_served(url).size == (3000, 3000)
    assert entry.status is LedgerStatus.DELIVERED


def test_the_shared_compliant_cover_is_pushed_as_it_is_and_fetched_once_per_warm_lambda(run: Run) -> None:
    for product_id in (41504, 41507, 41508):
        assert run.end.episodes[product_id]["backgroundImageFileUrl"] == COVER
    assert set(run.gets(COVER)) == {"200"} and len(run.gets(COVER)) < 5  # five episodes share it


# ------------------------------------------------------------------------------------------ audio
def test_a_wav_master_is_known_by_its_bytes_not_its_name(run: Run) -> None:
    entry = run.end.megaphone[41504]
    assert entry.state.preflight is not None and entry.state.preflight.audio is not None
    measured = entry.state.preflight.audio.measured
    assert (measured.type, measured.duration_seconds) == ("wav", 180.0)
    episode = run.end.episodes[41504]
    assert episode["backgroundAudioFileUrl"] == f"{MEDIA}/masters/larkspur-shorts/episode-04.mp3"
    assert (episode["audioFileStatus"], episode["duration"]) == ("success", 180.0)
    assert entry.status is LedgerStatus.DELIVERED


def test_a_duration_that_disagrees_holds_until_consonance_is_corrected_without_fetching_again(run: Run) -> None:
    held = run.day_one.megaphone[41505]
    [finding] = [f for f in held.findings if f.flow == "preflight"]
    assert finding.code == "audio_duration_mismatch"
    assert finding.message == "the master audio plays 4:00 (240 s); Consonance states 10:00 (600 s): 360 s apart, more than the 6 s allowed"
    assert held.status is LedgerStatus.HELD and 41505 not in run.day_one.episodes
    assert problems(run.day_one, 41505) == [(ProblemKind.PREFLIGHT, "audio_duration_mismatch")]

    assert run.end.megaphone[41505].status is LedgerStatus.DELIVERED
    assert run.end.episodes[41505]["duration"] == 240.0
    master = f"{MEDIA}/masters/larkspur-shorts/episode-05.wav"
    assert run.gets(master) == ["200", "200"]  # the pre-flight once (its measurement reused on day 4), Megaphone once
    assert problems(run.end, 41505) == [] and "No distribution problems" in run.end.notes[41505]


def test_an_unreachable_master_holds_the_episode_with_the_url_named(run: Run) -> None:
    entry = run.end.megaphone[41506]
    url = f"{MEDIA}/masters/larkspur-shorts/episode-06.wav"
    [finding] = [f for f in entry.findings if f.flow == "preflight"]
    assert (finding.code, finding.message) == ("audio_unreachable", f"the master audio cannot be fetched from {url}: the host answered 404")
    assert entry.status is LedgerStatus.HELD and 41506 not in run.end.episodes
    assert entry.state.preflight is not None and entry.state.preflight.audio is None  # a failed fetch is never cached
    assert problems(run.end, 41506) == [(ProblemKind.PREFLIGHT, "audio_unreachable")]
    assert run.end.distribution[41506].status is DistributionStatus.PROBLEMS
    assert "Make the master audio's URL in Consonance reachable" in run.end.notes[41506]


# ------------------------------------------------------------------------------------------ after the push
def test_an_episode_spotify_never_plays_is_a_problem_after_24_hours_alerted_once(run: Run) -> None:
    entry = run.day_one.distribution[41507]
    assert problems(run.day_one, 41507) == [(ProblemKind.NOT_PLAYABLE, "not_playable_on_spotify")]
    [finding] = entry.findings
    assert finding.code == "not_playable_on_spotify" and "within 24 hours" in finding.message and "What to do:" in finding.message
    assert run.day_one.links[41507] == f"Spotify: {NOT_PLAYABLE_STATUS}"
    assert "Not playable on Spotify" in run.day_one.notes[41507]
    [alert] = alerts_about(run.day_one.alerts, 41507)
    assert "not_playable_on_spotify: published on Megaphone since" in alert and "python -m infra.ops distribution --failing" in alert
    assert alerts_about(run.end.alerts, 41507) == []  # once
    assert problems(run.end, 41507) == [(ProblemKind.NOT_PLAYABLE, "not_playable_on_spotify")]
    assert run.end.megaphone[41507].status is LedgerStatus.DELIVERED  # live on Megaphone all along


def test_a_master_megaphone_cannot_fetch_fails_its_ingest_until_a_public_url_is_given(run: Run) -> None:
    failed = run.day_one.megaphone[41508]
    url = f"{MEDIA}/masters/larkspur-shorts/episode-08.wav"
    assert failed.status is LedgerStatus.FAILED and failed.state.ingest_failed_url == url
    [problem] = run.day_one.distribution[41508].state.problems
    assert (problem.kind, problem.code) == (ProblemKind.INGEST_FAILED, "megaphone_ingest_failed")
    assert problem.reason.startswith(f"Megaphone could not ingest the master audio at {url} (audioFileStatus: failed); the pre-flight read the same URL as WAV")
    assert run.day_one.episodes[41508]["audioFileStatus"] == "failed"
    assert run.gets(url) == ["200", "403"]  # the integration reached it, Megaphone did not
    [alert] = alerts_about(run.day_one.alerts, 41508)
    assert "megaphone_ingest_failed" in alert and "Megaphone episode:" in alert
    assert "Megaphone could not ingest the audio" in run.day_one.notes[41508]

    fixed = run.end.megaphone[41508]
    assert fixed.status is LedgerStatus.DELIVERED and fixed.state.ingest_failed_url is None
    assert run.end.episodes[41508]["audioFileStatus"] == "success"
    assert problems(run.end, 41508) == [] and run.end.distribution[41508].findings == []
    assert "No distribution problems" in run.end.notes[41508]
    assert run.end.links[41508] == "Spotify: live"
    assert alerts_about(run.end.alerts, 41508) == []  # fixed: nothing more to say


def test_each_product_has_one_note_updated_in_place(run: Run) -> None:
    written = [n for n in run.world.consonance.notes_written if " distribution -->" in n.internal_markdown.split("\n", 1)[0]]
    created = sorted(n.product_ids[0] for n in written if n.operation == "createMarketingText")
    assert created == sorted(SHORTS)  # once each (41504's for the held update at the very end)
    updated = sorted({n.product_ids[0] for n in written if n.operation == "updateMarketingText"})
    assert updated == [41501, 41505, 41508]  # the three fixed in Consonance: each told "no problems"
    assert all(n.operation in ("createMarketingText", "updateMarketingText") for n in written)


def test_a_held_update_of_a_live_episode_keeps_what_is_live(run: Run) -> None:
    before, after = run.end.episodes[41504], run.held_update
    entry = after.megaphone[41504]
    assert entry.status is LedgerStatus.HELD and entry.status_reason == "pre-flight: artwork_too_small"
    assert after.episodes[41504]["backgroundImageFileUrl"] == before["backgroundImageFileUrl"] == COVER
    assert after.episodes[41504]["draft"] is False and after.episodes[41504]["status"] == "published"
    assert after.links[41504] == f"Spotify: {HELD_STATUS}"
    assert problems(after, 41504) == [(ProblemKind.PREFLIGHT, "artwork_too_small")]


def test_distribution_report_lists_every_product_and_the_failing_ones(run: Run) -> None:
    from sandbox.report import build_report

    report = build_report(run.world, run={"days": 6})["distribution"]
    assert report["renditions"] == 2
    failing = {row["product_id"] for row in report["products"] if row["failing"]}
    assert failing == {41504, 41506, 41507}
    assert {row["product_id"] for row in report["products"]} == set(SHORTS)


def test_the_timeline_fixes_were_applied() -> None:
    shorts_records = {"work": range(3801, 3809), "product": SHORTS, "production_file": range(61501, 61509)}
    edits = {(e.day, e.entity, e.id) for e in catalogue().timeline if e.id in shorts_records.get(e.entity, ())}
    assert edits == {(2, "work", 3801), (4, "product", 41505), (5, "production_file", 61508)}
    assert datetime(2026, 12, 1, tzinfo=timezone.utc) == catalogue().start_moment()


# ------------------------------------------------------------------------------------------ faults
FAULT_RATE = 0.2


@pytest.fixture(scope="module")
def faulted(run: Run) -> Iterator[tuple[Snapshot, SandboxWorld]]:
    """The same six days with a fifth of API calls and media fetches failing, and handlers crashing."""
    with open_world(catalogue(), flows=DISTRIBUTION_FLOWS, seed=5, faults=FAULT_RATE) as world:
        world.runtime.run_until(run.end.at)
        yield snapshot(world), world


def test_faults_were_injected_into_the_media_fetches_too(faulted: tuple[Snapshot, SandboxWorld]) -> None:
    _, world = faulted
    assert sum(world.media.injected().values()) > 0
    assert sum(stats.crashes for stats in world.runtime.stats().values()) > 0


def test_with_faults_the_distribution_ends_the_same(run: Run, faulted: tuple[Snapshot, SandboxWorld]) -> None:
    end, _ = faulted
    assert {p: e.status for p, e in end.megaphone.items()} == {p: e.status for p, e in run.end.megaphone.items()}
    pushed = ("backgroundImageFileUrl", "backgroundAudioFileUrl", "draft", "audioFileStatus", "duration")
    assert {p: [e[k] for k in pushed] for p, e in end.episodes.items()} == {p: [e[k] for k in pushed] for p, e in run.end.episodes.items()}
    assert {p: problems(end, p) for p in SHORTS} == {p: problems(run.end, p) for p in SHORTS}
    assert end.links == run.end.links
    assert end.notes.keys() == run.end.notes.keys()
    for product_id, note in end.notes.items():  # the same problems told (times and Megaphone's ids may differ)
        assert ("No distribution problems" in note) == ("No distribution problems" in run.end.notes[product_id])
    verdicts = {p: e.state.preflight.findings for p, e in end.megaphone.items() if e.state.preflight}
    assert {p: [f.code for f in found] for p, found in verdicts.items()} == {
        p: [f.code for f in e.state.preflight.findings] for p, e in run.end.megaphone.items() if e.state.preflight
    }


def test_with_faults_every_alert_still_goes_out_and_no_wrong_one(run: Run, faulted: tuple[Snapshot, SandboxWorld]) -> None:
    end, _ = faulted
    fault_free = run.day_one.alerts + run.end.alerts
    with_faults = end.alerts
    alerted = {product_id for product_id in SHORTS if alerts_about(with_faults, product_id)}
    assert alerted == {product_id for product_id in SHORTS if alerts_about(fault_free, product_id)} == {41507, 41508}
    for product_id in alerted:  # at least once; a crash between the alert and its marker may repeat it
        assert 1 <= len(alerts_about(with_faults, product_id)) <= 2
