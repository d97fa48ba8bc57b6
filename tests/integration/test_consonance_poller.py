"""The Consonance poller on moto and the Consonance simulator: the cursor lives in DynamoDB,
`changedSince` is a date and pages go by `after`, records are normalised into domain episodes, and a
content hash against the ledger decides what is announced — a run with no real change emits nothing.

The handler is invoked directly (as its schedule would) with the virtual clock moved by hand, so no
other flow runs in between; events are read from a rule on the sandbox bus (see `EventTap`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta, timezone
from typing import Any

import pytest

from bench.instrument import AwsCallCounter
from functions.domain.events import EpisodeChanged, SeriesChanged
from functions.flow_declarations import Table
from functions.state.cursors import CursorStore
from sandbox.world import SandboxWorld
from tests.integration.harness import (
    EventTap,
    cursor,
    ledger_versions,
    of_type,
    open_world,
    scheduled_event,
    source_entry,
)
from tests.integration.small_catalogue import AUTHOR, NARRATOR, START, SmallCatalogue, artwork_url, audio_url
from tests.recorded_requests import ExchangeLog, recording_requests

SERIES = 1
EPISODES = range(101, 108)  # parts 1..7
STANDALONE = 200  # an audiobook in no series and of no podcast work type: not an episode
PAGE_SIZE = 2


def catalogue() -> Any:
    made = SmallCatalogue(records_changed_on=START)  # every record changed "today": changedSince returns them all
    made.show(SERIES, "The Salt Road")
    for number, product_id in enumerate(EPISODES, start=1):
        made.episode(product_id, SERIES, str(number), f"Chapter {number}", START - timedelta(days=70 - 7 * number))
    made.episode(STANDALONE, None, None, "A Stand-alone Audiobook", START - timedelta(days=100), work_type="novel")
    return made.build()


@pytest.fixture(scope="module")
def world() -> Iterator[SandboxWorld]:
    with open_world(catalogue()) as opened:
        opened.consonance.page_size = PAGE_SIZE
        yield opened


@pytest.fixture(scope="module")
def tap(world: SandboxWorld) -> EventTap:
    return EventTap(world)


def poll(world: SandboxWorld, at: datetime) -> tuple[dict[str, Any], ExchangeLog]:
    world.clock.advance_to(at)
    with recording_requests() as log:
        outcome = world.runtime.invoke("consonance-poller", scheduled_event(world, "consonance-poller"))
    return outcome, log


def page_requests(log: ExchangeLog) -> list[dict[str, Any]]:
    return [exchange.request_body["variables"] for exchange in log.of("consonance")]


def moment(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(START + timedelta(days=day), time(hour, minute), tzinfo=timezone.utc)


def test_first_poll_pages_with_after_and_announces_every_episode(world: SandboxWorld, tap: EventTap) -> None:
    outcome, log = poll(world, moment(0, 0, 15))

    # Date-granular changedSince from the beginning of time, then `after` = the last id of each page,
    # until an empty page: 8 products in pages of 2 -> 4 full pages and the empty one.
    assert page_requests(log) == [
        {"since": "1970-01-01", "after": after, "productTypes": ["ElectronicAudioProduct"]}
        for after in (None, 102, 104, 106, STANDALONE)
    ]
    assert outcome == {"changed": 8, "unchanged": 0, "series_changed": [SERIES]}
    events = tap.take()
    changed = of_type(events, "EpisodeChanged")
    assert sorted(event["detail"]["episode"]["product_id"] for event in changed) == list(EPISODES)
    assert [event["detail"] for event in of_type(events, "SeriesChanged")] == [
        SeriesChanged(series_id=SERIES, correlation_id=changed[0]["detail"]["correlation_id"]).model_dump(mode="json")
    ]
    assert len(events) == len(EPISODES) + 1  # nothing for the stand-alone audiobook
    assert all(event["detail"]["schema_version"] == 1 for event in events)


def test_records_are_normalised_into_domain_episodes(world: SandboxWorld) -> None:
    entry = source_entry(world, 103)
    assert entry is not None and entry.state.episode is not None
    episode = entry.state.episode
    assert episode is not None
    assert (episode.title, episode.part_number, episode.kind.value) == ("Chapter 3", 3, "serialized_fiction")
    assert episode.show is not None and (episode.show.series_id, episode.show.name) == (SERIES, "The Salt Road")
    assert [(c.name, c.role_code) for c in episode.credits] == [(AUTHOR.name, "A01"), (NARRATOR.name, "E07")]
    assert episode.master_audio is not None and episode.master_audio.url == audio_url(103)
    assert episode.master_audio.approved and episode.master_audio.distribution_allowed
    assert episode.artwork_url == artwork_url(SERIES)
    assert episode.release_date == START - timedelta(days=49)
    assert episode.territories.worldwide
    assert {grant.right_type for grant in episode.rights} == {"audio_adaptation", "narration", "music_use"}
    assert episode.summary == "<p>Episode 3 of <em>Chapter 3</em>.</p>"
    # The ledger holds the hash the event carried: the next poll compares against it.
    assert entry.source_hash is not None and entry.series_key == f"series#{SERIES}"
    standalone = source_entry(world, STANDALONE)
    assert standalone is not None and standalone.state.episode is None and standalone.findings == []


def test_cursor_is_the_date_of_the_last_successful_poll(world: SandboxWorld) -> None:
    stored = cursor(world, "consonance-poller")
    assert stored is not None
    assert stored["changed_since"] == START.isoformat()
    assert stored["last_success_at"] == moment(0, 0, 15).isoformat()


def test_second_poll_without_change_emits_nothing_and_writes_nothing(world: SandboxWorld, tap: EventTap) -> None:
    versions = ledger_versions(world)
    with AwsCallCounter() as calls:
        outcome, log = poll(world, moment(0, 0, 30))

    # The date cursor is inclusive, so every record changed today comes back; the hashes match.
    assert [request["since"] for request in page_requests(log)] == [START.isoformat()] * 5
    assert outcome == {"changed": 0, "unchanged": 8, "series_changed": []}
    assert tap.take() == []
    assert ledger_versions(world) == versions
    # The records are exactly those the first poll compared: the ledger is not even read.
    assert ledger_reads(world, calls) == 0


def test_identical_records_are_compared_again_under_another_mapping(world: SandboxWorld, tap: EventTap) -> None:
    stored = cursor(world, "consonance-poller")
    assert stored is not None and stored["compared_pages"]
    CursorStore(world.resources.tables[Table.CURSORS]).put("consonance-poller", stored | {"compared_basis": "an earlier mapping"})

    with AwsCallCounter() as calls:
        outcome, _ = poll(world, moment(0, 0, 45))

    assert outcome == {"changed": 0, "unchanged": 8, "series_changed": []}
    assert ledger_reads(world, calls) == 1  # one BatchGetItem for the page of 8
    assert tap.take() == []


def ledger_reads(world: SandboxWorld, calls: AwsCallCounter) -> int:
    ledger = world.resources.tables[Table.LEDGER]
    return sum(n for (_, operation, table), n in calls.snapshot().items() if operation in ("BatchGetItem", "GetItem", "Query") and ledger in table.split(","))


def test_cursor_moves_to_the_next_day(world: SandboxWorld, tap: EventTap) -> None:
    outcome, log = poll(world, moment(1, 0, 10))
    assert [request["since"] for request in page_requests(log)] == [START.isoformat()] * 5  # still yesterday's records
    assert outcome["changed"] == 0
    assert cursor(world, "consonance-poller")["changed_since"] == (START + timedelta(days=1)).isoformat()  # type: ignore[index]

    outcome, log = poll(world, moment(1, 0, 25))
    assert page_requests(log) == [
        {"since": (START + timedelta(days=1)).isoformat(), "after": None, "productTypes": ["ElectronicAudioProduct"]}
    ]
    assert outcome == {"changed": 0, "unchanged": 0, "series_changed": []}
    assert tap.take() == []


def test_a_real_change_emits_one_versioned_event_and_a_sibling_signal_emits_none(world: SandboxWorld, tap: EventTap) -> None:
    today = START + timedelta(days=1)
    products = {p.id: p for p in world.consonance.catalogue.products}
    before = source_entry(world, 103)
    assert before is not None
    versions = ledger_versions(world)
    products[103].title = "Chapter Three"
    products[103].changed_on = today
    products[104].changed_on = today  # "changed" (say a web link was added) with nothing we map
    contributor = next(c for c in world.consonance.catalogue.contributors if c.id == NARRATOR.id)
    contributor.changed_on = today  # a sibling record: every product crediting the narrator "changed"

    outcome, log = poll(world, moment(1, 0, 40))

    # All eight products credit the narrator, so all eight come back; only one really changed.
    assert outcome == {"changed": 1, "unchanged": 7, "series_changed": [SERIES]}
    events = tap.take()
    assert [event["detail-type"] for event in events] == ["EpisodeChanged", "SeriesChanged"]
    changed = EpisodeChanged.model_validate(events[0]["detail"])
    assert changed.episode.product_id == 103 and changed.episode.title == "Chapter Three"
    assert changed.previous_hash == before.source_hash and changed.content_hash != before.source_hash
    after = source_entry(world, 103)
    assert after is not None and after.source_hash == changed.content_hash
    assert [h.action for h in after.history][-1] == "source_changed"
    written = {key for key, version in ledger_versions(world).items() if versions.get(key) != version}
    assert written == {("episode#103", "consonance")}
