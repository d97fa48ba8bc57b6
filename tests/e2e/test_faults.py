"""Faults change nothing in effect: the same catalogue and seed run with `--faults 0.2` (a fifth of
API calls answered 500/503/429 with Retry-After or timing out, some after the server acted; handlers
crashing mid-batch now and then) ends with the same Spotify-side state as the fault-free run, with
no episode doubled, and every approved record either applied or accounted for with its reason.

The fault-free run is the command-line run the other end-to-end tests check (`sample_run`); the
faulted run is the same world in this process, so its ledger and dead-letter queues can be read. On
top of the seeded faults, the worst cases are made certain: the first Megaphone create loses its
answer after the episode was made, the publisher dies mid-batch right after a create was answered,
and the write-back dies right after Consonance applied its links.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from functions.connectors.http import HttpExchange, observe_requests
from functions.state.targets import MEGAPHONE as TARGET
from functions.state.ledger import LedgerEntry
from functions.state.targets import LedgerStatus
from sandbox.catalogue import Catalogue, load_catalogue
from sandbox.http_log import read_request_log
from sandbox.report import build_report
from sandbox.runtime import DeadLetter, InvocationRecord, SimulatedCrash
from sandbox.simulators.megaphone import ScriptedFaults
from sandbox.world import SandboxWorld, WorldOptions
from tests.e2e.conftest import SAMPLE_DAYS, SAMPLE_SEED, CliRun
from tests.integration.harness import ledger

FAULT_RATE = 0.2
# What an episode is on Megaphone, without what the server assigns (ids, timestamps, Spotify ids,
# audio file facts derived from timing).
EPISODE_FIELDS = (
    "podcastId",
    "title",
    "subtitle",
    "summary",
    "author",
    "draft",
    "status",
    "pubdate",
    "explicit",
    "episodeType",
    "seasonNumber",
    "episodeNumber",
    "backgroundAudioFileUrl",
    "backgroundImageFileUrl",
    "customFields",
    "audioFileStatus",
    "audioFileProcessing",
)


class ScriptedCrashes:
    """Crashes an invocation right after chosen exchanges, once each, exactly as the runtime's own
    crash injection does (`SimulatedCrash` raised from a request observer): the seeded crashes may
    spare the queue flows in a short run, and these are the crashes that matter most."""

    def __init__(self) -> None:
        self.creates_answered = 0
        self.fired: list[str] = []

    def __call__(self, exchange: HttpExchange) -> None:
        if exchange.service == "megaphone" and exchange.method == "POST" and exchange.status == 201:
            self.creates_answered += 1
            if self.creates_answered == 2:  # the episode exists; the publisher's ledger does not know yet
                self._crash("publisher after a create was answered", exchange)
        if (
            exchange.service == "consonance"
            and exchange.status == 200
            and "createWebLink" in json.dumps(exchange.request_body)
            and "write-back" not in self.fired
        ):  # the links exist in Consonance; the write-back's ledger does not know yet
            self._crash("write-back", exchange)

    def _crash(self, what: str, exchange: HttpExchange) -> None:
        self.fired.append(what)
        raise SimulatedCrash(f"scripted crash: {what} ({exchange.method} {exchange.status})")


@dataclass(frozen=True)
class FaultedRun:
    catalogue: Catalogue
    report: dict[str, Any]
    dead_letters: list[DeadLetter]
    crashed_batches: list[InvocationRecord]
    scripted_crashes: list[str]
    targets: dict[int, LedgerEntry]
    http_log: list[dict[str, Any]]


@pytest.fixture(scope="module")
def faulted(sample_run: CliRun, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultedRun]:
    catalogue = load_catalogue(sample_run.catalogue_path)
    http_log = tmp_path_factory.mktemp("faulted") / "http.jsonl"
    with SandboxWorld(catalogue, WorldOptions(seed=SAMPLE_SEED, faults=FAULT_RATE, http_log=http_log)) as world:
        # The same seeded faults, but the very first Megaphone request (a create) certainly loses its
        # answer after the episode was made: the worst case for doubling an episode.
        plan = world.megaphone.faults
        world.megaphone.faults = ScriptedFaults("timeout-after-write", rate=plan.rate, seed=plan.seed)
        crashes = ScriptedCrashes()
        stop = observe_requests(crashes)
        try:
            world.run_for(SAMPLE_DAYS)
        finally:
            stop()
        report = json.loads(json.dumps(build_report(world, run={"faults": FAULT_RATE, "seed": SAMPLE_SEED})))
        dead_letters = world.runtime.dead_letters()
        crashed = [r for r in world.runtime.invocation_log if r.source == "sqs" and r.outcome == "crash"]
        targets = {int(e.entity.split("#")[1]): e for e in ledger(world).scan(TARGET)}
    yield FaultedRun(catalogue, report, dead_letters, crashed, crashes.fired, targets, read_request_log(Path(http_log)))


def episodes_by_external_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["externalId"]: e for e in report["spotify"]["megaphone"]["episodes"]}


def comparable(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        external_id: {name: episode.get(name) for name in EPISODE_FIELDS} | {"on_spotify": bool(episode.get("spotifyIdentifier"))}
        for external_id, episode in episodes_by_external_id(report).items()
    }


def test_faults_were_really_injected(faulted: FaultedRun) -> None:
    injected = faulted.report["faults_injected"]
    for service in ("consonance", "megaphone"):
        assert sum(injected[service].values()) > 0, service
    assert {"500", "503", "429", "timeout"} <= set(injected["consonance"]) | set(injected["megaphone"])
    assert injected["handler_crashes"] > 0
    # handlers of queue flows died mid-batch: records before the crash applied, the rest not
    assert faulted.scripted_crashes == ["publisher after a create was answered", "write-back"]
    assert {r.flow for r in faulted.crashed_batches} >= {"episode-publisher", "consonance-writeback"}
    assert any(r.records > 1 for r in faulted.crashed_batches if r.flow == "episode-publisher")
    flows = faulted.report["flows"]
    assert sum(stats["retried"] for stats in flows.values()) > 0
    assert any(line["status"] in (500, 503, 429) for line in faulted.http_log)
    assert any(line["status"] is None and line["error"].startswith("timeout") for line in faulted.http_log)


def test_megaphone_ends_in_the_same_state_as_without_faults(sample_run: CliRun, faulted: FaultedRun) -> None:
    assert sample_run.report["faults_injected"]["handler_crashes"] == 0
    assert comparable(faulted.report) == comparable(sample_run.report)
    assert faulted.report["ledger"] == sample_run.report["ledger"]


def test_spotify_and_consonance_end_in_the_same_state(sample_run: CliRun, faulted: FaultedRun) -> None:
    def offered(report: dict[str, Any]) -> Counter[tuple[Any, ...]]:
        return Counter(
            (e["show"]["name"], e["name"], e["release_date"], tuple(e["available_markets"]), e["is_released"])
            for e in report["spotify"]["web_api"]["episodes"]
        )

    def links(report: dict[str, Any]) -> dict[int, set[int]]:
        found: dict[int, set[int]] = {}
        for write_back in report["consonance"]["write_backs"]:
            found.setdefault(write_back["product_id"], set()).add(write_back["link_id"])
        return found

    assert offered(faulted.report) == offered(sample_run.report)
    faulted_links = links(faulted.report)
    assert faulted_links.keys() == links(sample_run.report).keys()
    assert all(len(ids) == 1 for ids in faulted_links.values())  # a lost answer never made a second link
    spotify_ids = {e["externalId"]: e["spotifyIdentifier"] for e in faulted.report["spotify"]["megaphone"]["episodes"]}
    final_link = {w["product_id"]: w["link"] for w in faulted.report["consonance"]["write_backs"]}
    assert final_link == {p: f"https://open.spotify.com/episode/{spotify_ids[str(p)]}" for p in faulted_links}


def test_no_episode_is_doubled(faulted: FaultedRun) -> None:
    keys = Counter((e["podcastId"], e["externalId"]) for e in faulted.report["spotify"]["megaphone"]["episodes"])
    assert keys and max(keys.values()) == 1
    # Not because the simulator refused a second create: none was ever sent after one succeeded.
    megaphone = [line for line in faulted.http_log if line["service"] == "megaphone"]
    assert not [line for line in megaphone if line["status"] == 422]
    created = Counter(line["request_body"]["externalId"] for line in megaphone if line["method"] == "POST" and line["status"] == 201)
    assert max(created.values()) == 1
    first = megaphone[0]
    assert (first["method"], first["status"], first["error"]) == ("POST", None, "timeout: ReadTimeout")
    lost = first["request_body"]["externalId"]
    assert created[lost] == 0 and keys[(first["url"].rsplit("/", 2)[-2], lost)] == 1  # adopted, not re-created


def test_every_dead_letter_has_its_reason(faulted: FaultedRun) -> None:
    assert len(faulted.dead_letters) == len(faulted.report["dead_letters"])
    for letter in faulted.dead_letters:
        assert letter.reason.strip()
        if letter.dead_lettered_by == "handler":
            assert letter.error_code
        else:
            assert letter.reason.startswith("moved by SQS redrive after")


def test_every_approved_record_is_applied_or_accounted_for(faulted: FaultedRun) -> None:
    works = {w.id: w for w in faulted.catalogue.works}
    approved = {
        p.id
        for p in faulted.catalogue.products
        if p.publishing_status in ("02", "04")
        and p.allow_onix_exports
        and works[p.work_id].series_id is not None
        and any(f.variant == "master_audio" and f.approval_status == "approved" and f.allow_distribution == "allowed" for f in p.production_files)
    }
    assert len(approved) >= 10
    on_megaphone = {int(external_id) for external_id in episodes_by_external_id(faulted.report)}
    with_finding = {int(f["entity"].split("#")[1]) for f in faulted.report["findings"]}
    dead_lettered = {json.loads(letter.body).get("detail", {}).get("product_id") for letter in faulted.dead_letters}
    dead_lettered |= {
        json.loads(letter.body).get("detail", {}).get("episode", {}).get("product_id") for letter in faulted.dead_letters
    }
    held_with_reason = {
        product_id
        for product_id, entry in faulted.targets.items()
        if entry.status is LedgerStatus.HELD and entry.status_reason.strip()
    }
    unaccounted = approved - on_megaphone - with_finding - dead_lettered - held_with_reason
    assert not unaccounted, {p: faulted.targets.get(p) for p in unaccounted}
    for product_id in on_megaphone:
        assert faulted.targets[product_id].status in (LedgerStatus.DELIVERED, LedgerStatus.DRAFT)
