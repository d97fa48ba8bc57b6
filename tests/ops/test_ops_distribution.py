"""`python -m infra.ops distribution [--failing]` against moto: ledger entries as the publisher and the
distribution feedback flow write them."""

from __future__ import annotations

from datetime import datetime, timezone

from functions.distribution.models import DistributionProblem, ProblemKind
from functions.domain.models import Episode, EpisodeKind
from functions.preflight.findings import PreflightCode, preflight_finding
from functions.preflight.identity import MediaIdentity
from functions.preflight.results import (
    ArtworkCheck,
    ArtworkMeasurement,
    ArtworkStatus,
    ArtworkVerdict,
    AudioCheck,
    AudioMeasurement,
    PreflightResult,
    RenditionFacts,
    TextVerdict,
)
from functions.state.keys import episode_key
from functions.state.ledger import SyncLedger, new_entry
from functions.state.targets import DISTRIBUTION, EPISODE_SOURCE, MEGAPHONE, DistributionStatus, LedgerStatus
from infra.flows import Table
from infra.ops.command import EXIT_FAILED, EXIT_NOT_FOUND, EXIT_OK
from tests.ops.test_ops_cli import NAMES, aws, run_cli  # noqa: F401 (the moto fixture)

AT = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)
PASSED, HELD, NOT_PLAYABLE = 41502, 41506, 41507


def result(product_id: int, *, rendition: bool = False, audio: bool = True) -> PreflightResult:
    text = TextVerdict(title="t", subtitle=None, description="", explicit=False, explicit_source="setting", megaphone_explicit="clean")
    measured = ArtworkMeasurement(bytes=171_336, sha256="0" * 64, format="JPEG", mode="CMYK" if rendition else "RGB", width=1400, height=1400)
    verdict = ArtworkVerdict(
        status=ArtworkStatus.RENDITION if rendition else ArtworkStatus.ACCEPTED,
        measured=measured,
        rendition=RenditionFacts(width=1400, height=1400, bytes=77_287, quality=92, sha256="1" * 64, reasons=("CMYK",)) if rendition else None,
    )
    artwork = ArtworkCheck(cache_key="a", source=MediaIdentity(url="https://m.test/c.jpg"), checked_at=AT, verdict=verdict, rendition_key="renditions/artwork/x.jpg")
    master = AudioCheck(
        cache_key="b", source=MediaIdentity(url="https://m.test/m.wav"), checked_at=AT,
        measured=AudioMeasurement(bytes=1_920_044, sha256="2" * 64, type="wav", duration_seconds=240.0),
    )  # fmt: skip
    unreachable = preflight_finding(PreflightCode.AUDIO_UNREACHABLE, product_id, "the master audio cannot be fetched from https://m.test/06.wav: the host answered 404")
    return PreflightResult(
        product_id=product_id, checked_at=AT, text=text, artwork=artwork, audio=master if audio else None,
        findings=() if audio else (unreachable,),
    )  # fmt: skip


def seed() -> None:
    ledger = SyncLedger(NAMES.table(Table.LEDGER))
    for product_id, title in ((PASSED, "Winter Ferries"), (HELD, "Salt and Saffron"), (NOT_PLAYABLE, "The Glass Harbour")):
        source = new_entry(episode_key(product_id), EPISODE_SOURCE)
        source.state.episode = Episode(product_id=product_id, kind=EpisodeKind.AUTHOR_INTERVIEW, title=title)
        ledger.save(source)
    passed = new_entry(episode_key(PASSED), MEGAPHONE)
    passed.status, passed.state.preflight, passed.state.spotify_id = LedgerStatus.DELIVERED, result(PASSED, rendition=True), "sp-2"
    ledger.save(passed)
    held = new_entry(episode_key(HELD), MEGAPHONE)
    held.status, held.status_reason, held.state.preflight = LedgerStatus.HELD, "pre-flight: audio_unreachable", result(HELD, audio=False)
    held.findings = list(held.state.preflight.findings)
    ledger.save(held)
    late = new_entry(episode_key(NOT_PLAYABLE), MEGAPHONE)
    late.status, late.state.preflight, late.state.spotify_id = LedgerStatus.DELIVERED, result(NOT_PLAYABLE), "sp-7"
    ledger.save(late)
    reported = new_entry(episode_key(NOT_PLAYABLE), DISTRIBUTION)
    reported.status = DistributionStatus.PROBLEMS
    reported.state.problems = [
        DistributionProblem(kind=ProblemKind.NOT_PLAYABLE, code="not_playable_on_spotify", reason="published on Megaphone since 2026-12-01 01:00 UTC, but ...",
                            action="Look the episode up in Megaphone", key="k")
    ]  # fmt: skip
    reported.state.link_status, reported.state.note_written = "not playable on Spotify", True
    ledger.save(reported)


def test_every_product_with_its_preflight_and_delivery(aws: None) -> None:
    seed()
    shown = run_cli("distribution")
    assert shown.code == EXIT_OK, shown.err
    lines = shown.out.splitlines()
    assert lines[0].split() == ["PRODUCT", "TITLE", "PRE-FLIGHT", "COVER", "MASTER", "DELIVERY", "PROBLEMS"]
    rows = {line.split()[0]: line for line in lines[2:5]}
    assert "passed" in rows[str(PASSED)] and "rendition: 1400×1400 px JPEG CMYK" in rows[str(PASSED)] and "delivered" in rows[str(PASSED)]
    assert "held" in rows[str(HELD)] and "not checked (audio_unreachable)" in rows[str(HELD)]
    assert rows[str(NOT_PLAYABLE)].endswith("not_playable_on_spotify")
    assert "2 of 3 product(s) with a distribution problem or a pre-flight hold" in shown.out
    assert "  - pre-flight: audio_unreachable: the master audio cannot be fetched from https://m.test/06.wav: the host answered 404" in shown.out
    assert "    what to do: Look the episode up in Megaphone" in shown.out
    assert "  Consonance Spotify link shows: not playable on Spotify" in shown.out


def test_failing_lists_only_what_needs_a_person_and_exits_4(aws: None) -> None:
    seed()
    failing = run_cli("distribution", "--failing", "--json")
    assert failing.code == EXIT_FAILED
    products = {row["product_id"]: row for row in failing.json()["products"]}
    assert set(products) == {HELD, NOT_PLAYABLE}
    assert products[HELD]["preflight"]["verdict"] == "held" and products[HELD]["delivery"] == "held"
    assert products[NOT_PLAYABLE]["problems"][0]["code"] == "not_playable_on_spotify" and products[NOT_PLAYABLE]["link_status"] == "not playable on Spotify"


def test_one_product_and_an_unknown_one(aws: None) -> None:
    seed()
    one = run_cli("distribution", "--product", str(PASSED), "--json")
    assert one.code == EXIT_OK and [row["product_id"] for row in one.json()["products"]] == [PASSED]
    assert one.json()["products"][0]["preflight"]["explicit"] == "clean (setting)"
    missing = run_cli("distribution", "--product", "999")
    assert missing.code == EXIT_NOT_FOUND and "product 999 is not in the ledger" in missing.err
