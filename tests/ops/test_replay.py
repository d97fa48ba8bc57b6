"""`python -m infra.ops replay ENTITY`: parsing and reading decisions from the ledger as logic, and the
command in a sandbox world, where it really runs the flows. The world's poller ran once and its
announcements were then lost (the queues purged, as when every delivery died): a replay is what
brings one episode through its flows, each step with its decision."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest

from functions.state.keys import episode_key, series_key
from functions.state.ledger import HistoryEntry
from infra.ops.__main__ import main
from infra.ops.command import EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE
from infra.ops.replay import EntrySnapshot, changes_between, parse_entity
from sandbox.world import SandboxWorld
from tests.integration.harness import megaphone_episode, open_world, scheduled_event
from tests.integration.small_catalogue import START, SmallCatalogue

SERIES = 21
READY, UNAPPROVED = 2101, 2102
AT = datetime(2031, 1, 1, tzinfo=timezone.utc)


# --- logic -------------------------------------------------------------------------------------------


def test_an_entity_is_a_product_id_or_an_episode_or_series_key() -> None:
    assert parse_entity("2101") == episode_key(2101) and parse_entity(" episode#2101 ") == episode_key(2101)
    assert parse_entity("series#21") == series_key(21)
    for text in ("contributor#5", "episode#abc", "takedown", "episode"):
        with pytest.raises(ValueError):
            parse_entity(text)


def test_a_decision_is_the_status_that_moved_and_the_history_a_flow_added() -> None:
    old = HistoryEntry(at=AT, action="created", detail="draft=False")
    held = HistoryEntry(at=AT + timedelta(minutes=1), action="status:held", detail="master audio not approved")
    before = {("episode#1", "megaphone"): EntrySnapshot(3, "delivered", "", (old,)), ("episode#1", "distribution"): EntrySnapshot(1, "clear", "", ())}
    after = {
        ("episode#1", "megaphone"): EntrySnapshot(4, "held", "master audio not approved", (old, held)),
        ("episode#1", "distribution"): EntrySnapshot(1, "clear", "", ()),
        ("episode#1", "consonance-writeback"): EntrySnapshot(1, "current", "", ()),
    }
    changes = {change.target: change for change in changes_between(before, after)}
    assert set(changes) == {"megaphone", "consonance-writeback"}  # the distribution entry did not move
    assert changes["megaphone"].text() == "episode#1 megaphone: delivered -> held (master audio not approved); status:held: master audio not approved"
    assert changes["consonance-writeback"].status_before is None


# --- the command against the sandbox -------------------------------------------------------------------


@pytest.fixture(scope="module")
def world() -> Iterator[SandboxWorld]:
    made = SmallCatalogue()
    made.show(SERIES, "Lanterns")
    made.episode(READY, SERIES, "1", "Lanterns, part 1", START - timedelta(days=20))
    made.episode(UNAPPROVED, SERIES, "2", "Lanterns, part 2", START - timedelta(days=10), approved=False)
    with open_world(made.build()) as opened:
        opened.runtime.invoke("consonance-poller", scheduled_event(opened, "consonance-poller"))
        sqs = boto3.client("sqs")
        for wiring in opened.resources.queues.values():  # every announcement lost
            sqs.purge_queue(QueueUrl=wiring.queue_url)
        yield opened


def replay(world: SandboxWorld, entity: str) -> tuple[int, dict[str, Any], str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--prefix", world.resources.prefix, "replay", entity, "--json"], stdout=out, stderr=err)
    return code, (json.loads(out.getvalue()) if out.getvalue() else {}), err.getvalue()


def steps_of(report: dict[str, Any], flow: str) -> list[dict[str, Any]]:
    return [step for step in report["steps"] if step["flow"] == flow]


def test_a_lost_episode_replayed_is_published_by_its_flows_with_each_steps_decision(world: SandboxWorld) -> None:
    assert megaphone_episode(world, READY) is None  # its announcement was lost
    code, report, err = replay(world, str(READY))
    assert code == EXIT_OK, (err, report)

    assert report["events"] == [f"EpisodeChanged(episode#{READY})", f"RightsChanged(episode#{READY})", f"SeriesChanged(series#{SERIES})"]
    assert {"episode-publisher", "metadata-sync"} <= set(report["flows"]) and report["settled"] is True
    assert report["expected"].startswith("check: pre-flight")  # the publisher's own evaluation (the plan's), before anything ran
    [publisher] = steps_of(report, "episode-publisher")[:1]
    assert publisher["outcome"] == "succeeded" and f"episode#{READY} megaphone: new ->" in publisher["decision"]
    assert megaphone_episode(world, READY) is not None  # really run: it is on Megaphone now
    assert report["dead_letters"] == []

    again_code, again, _ = replay(world, f"episode#{READY}")
    assert again_code == EXIT_OK
    assert all("megaphone: new" not in step["decision"] for step in again["steps"])  # nothing created twice
    assert any(step["flow"] == "metadata-sync" and step["decision"].startswith("unchanged") for step in again["steps"])


def test_an_episode_the_publisher_keeps_back_shows_why(world: SandboxWorld) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--prefix", world.resources.prefix, "replay", str(UNAPPROVED)], stdout=out, stderr=err)
    assert code == EXIT_OK, err
    text = out.getvalue()
    assert f"Replay of episode#{UNAPPROVED}" in text and "the sandbox's local runtime" in text
    assert "The publisher's evaluation before the replay: none: not approved for distribution: master audio is not approved" in text
    lines = text.splitlines()
    header = next(index for index, line in enumerate(lines) if line.split()[:4] == ["STEP", "FLOW", "OUTCOME", "DECISION"])
    publisher = next(line for line in lines[header:] if "episode-publisher" in line)
    assert "megaphone: new -> seen (not approved for distribution: master audio is not approved)" in publisher, publisher
    assert megaphone_episode(world, UNAPPROVED) is None


def test_unknown_and_unreplayable_entities(world: SandboxWorld) -> None:
    assert replay(world, "9999")[0] == EXIT_NOT_FOUND
    assert replay(world, "series#77")[0] == EXIT_NOT_FOUND
    assert replay(world, "contributor#3")[0] == EXIT_USAGE

