"""Metadata sync on moto and the simulators: a series goes to Megaphone in Consonance's order
(episode numbers = part numbers, release dates rising with them, one attribution); a series conflict
becomes a finding and holds the episodes involved; drift edited on Megaphone is corrected, while a
draft flip made on Megaphone is left alone; a conflict fixed in Consonance releases what it held.

Series "The Long Road" has three clean parts and three deliberate conflicts: parts 4 and 5 both say
part 4 (fixed at 03:00), part 6 credits no narrator (fixed at 03:00), part 7 releases before part 6
(never fixed).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta, timezone

import pytest

from functions.domain.events import SeriesChanged
from functions.state.targets import LedgerStatus
from sandbox.report import build_report
from sandbox.world import SandboxWorld
from tests.integration.harness import megaphone_episode, open_world, put_event, scheduled_event, source_entry, target_entry
from tests.integration.small_catalogue import AUTHOR, NARRATOR, START, SmallCatalogue, credits

SERIES = 1
CLEAN = (301, 302, 303)
DUPLICATE_PART = (304, 305)
NO_NARRATOR = 306
OUT_OF_ORDER = 307
RELEASE_DAYS_AGO = {301: 60, 302: 50, 303: 40, 304: 30, 305: 20, 306: 10, 307: 15}
FIXED_AT = time(3, 0)


def catalogue():  # noqa: ANN201 (a Catalogue)
    made = SmallCatalogue()
    made.show(SERIES, "The Long Road")
    parts = {301: "1", 302: "2", 303: "3", 304: "4", 305: "4", 306: "6", 307: "7"}
    for product_id, part in parts.items():
        made.episode(
            product_id,
            SERIES,
            part,
            f"Stage {product_id - 300}",
            START - timedelta(days=RELEASE_DAYS_AGO[product_id]),
            narrator=product_id != NO_NARRATOR,
        )
    made.edit(0, FIXED_AT, "work", 305 * 10, "part number corrected", part_number="5")
    made.edit(0, FIXED_AT, "product", NO_NARRATOR, "narrator credit added", contributions=[c.model_dump() for c in credits()])
    return made.build()


def at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(START, time(hour, minute), tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def world() -> Iterator[SandboxWorld]:
    with open_world(catalogue()) as opened:
        opened.runtime.invoke("consonance-poller", scheduled_event(opened, "consonance-poller"))
        opened.runtime.run_until(at(0, 10))  # published, audio ingested, delivered
        yield opened


def sync_series(world: SandboxWorld) -> None:
    put_event(world, SeriesChanged(series_id=SERIES, reason="test: check the series now"))
    world.runtime.drain()


def puts_to(world: SandboxWorld, product_id: int, since: datetime) -> int:
    episode_id = target_entry(world, product_id).state.episode_id  # type: ignore[union-attr]
    return sum(1 for r in world.megaphone.received if r.method == "PUT" and r.path.endswith(episode_id) and r.at >= since)


def assert_in_consonance_order(episodes: list[dict]) -> None:
    numbered = sorted(episodes, key=lambda e: e["episodeNumber"])
    assert [e["pubdate"] for e in numbered] == sorted(e["pubdate"] for e in numbered)
    assert len({e["pubdate"] for e in numbered}) == len(numbered)
    assert {e["author"] for e in episodes} == {AUTHOR.name}
    assert {e["seasonNumber"] for e in episodes} == {1}
    assert all(e["summary"].endswith(f"Written by {AUTHOR.name}. Read by {NARRATOR.name}.") for e in episodes)


def test_series_goes_out_in_consonance_order(world: SandboxWorld) -> None:
    episodes = [megaphone_episode(world, product_id) for product_id in CLEAN]
    assert all(e is not None and not e["draft"] for e in episodes)
    assert [(e["externalId"], e["episodeNumber"], e["title"]) for e in episodes] == [  # type: ignore[index]
        ("301", 1, "Stage 1"),
        ("302", 2, "Stage 2"),
        ("303", 3, "Stage 3"),
    ]
    assert_in_consonance_order(episodes)  # type: ignore[arg-type]


def test_series_conflicts_are_findings_and_are_not_pushed(world: SandboxWorld) -> None:
    expected = {
        304: "duplicate_part_number",
        305: "duplicate_part_number",
        NO_NARRATOR: "missing_narrator_credit",
        OUT_OF_ORDER: "release_out_of_order",
    }
    for product_id, code in expected.items():
        assert megaphone_episode(world, product_id) is None
        entry = target_entry(world, product_id)
        assert entry is not None and entry.status is LedgerStatus.HELD
        assert [f.code for f in entry.findings] == [code]
        assert entry.status_reason == f"series conflict: {code}"
    report = build_report(world, run={})
    reported = {(f["entity"], f["code"]) for f in report["findings"]}
    assert {(f"episode#{product_id}", code) for product_id, code in expected.items()} <= reported
    assert all(f["message"] for f in report["findings"])
    out_of_order = next(f for f in report["findings"] if f["code"] == "release_out_of_order")
    assert out_of_order["message"] == (
        f"part 7 releases {START - timedelta(days=15)} before part 6 ({START - timedelta(days=10)})"
    )


def test_drift_edited_on_megaphone_is_corrected(world: SandboxWorld) -> None:
    episode_id = target_entry(world, 301).state.episode_id  # type: ignore[union-attr]
    world.megaphone.set_episode_fields(episode_id, title="Stage One (edited by hand)", episodeNumber=9)
    since = world.clock.now()

    sync_series(world)

    episode = megaphone_episode(world, 301)
    assert episode is not None and (episode["title"], episode["episodeNumber"], episode["draft"]) == ("Stage 1", 1, False)
    assert puts_to(world, 301, since) == 1
    assert puts_to(world, 302, since) == puts_to(world, 303, since) == 0  # no drift there, no write
    history = target_entry(world, 301).history  # type: ignore[union-attr]
    assert history[-1].action == "drift_corrected"
    assert history[-1].detail == "episode_number: 9 -> 1, title: 'Stage One (edited by hand)' -> 'Stage 1'"


def test_draft_flip_on_megaphone_is_not_reverted(world: SandboxWorld) -> None:
    episode_id = target_entry(world, 302).state.episode_id  # type: ignore[union-attr]
    world.megaphone.set_episode_fields(episode_id, draft=True)  # someone unpublished it on the Spotify side
    since = world.clock.now()

    sync_series(world)

    assert megaphone_episode(world, 302)["draft"] is True  # type: ignore[index]
    assert puts_to(world, 302, since) == 0


def test_conflicts_fixed_in_consonance_release_the_held_episodes(world: SandboxWorld) -> None:
    world.runtime.run_until(at(3, 40))  # edits at 03:00, poll at 03:15, ingest a few minutes later

    released = [megaphone_episode(world, product_id) for product_id in (*DUPLICATE_PART, NO_NARRATOR)]
    assert [(e["externalId"], e["episodeNumber"], e["draft"]) for e in released] == [  # type: ignore[index]
        ("304", 4, False),
        ("305", 5, False),
        ("306", 6, False),
    ]
    for product_id in (*DUPLICATE_PART, NO_NARRATOR):
        entry = target_entry(world, product_id)
        assert entry is not None and entry.status is LedgerStatus.DELIVERED and entry.findings == []
    # Part 4 itself never changed (the poller announced it once): metadata sync saw its conflict gone
    # and had the publisher re-evaluate it.
    assert source_entry(world, 304).version == 1  # type: ignore[union-attr]
    assert megaphone_episode(world, OUT_OF_ORDER) is None
    assert target_entry(world, OUT_OF_ORDER).status is LedgerStatus.HELD  # type: ignore[union-attr]
    live = [megaphone_episode(world, product_id) for product_id in (301, 303, 304, 305, 306)]
    assert_in_consonance_order(live)  # type: ignore[arg-type]
