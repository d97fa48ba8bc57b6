"""`python -m infra.ops backfill`: the scope and the pacing as logic, and the command in a sandbox world
whose poller never runs, so whatever reaches Megaphone got there through the events the backfill put
on the bus and the flows that consume them (publisher, ingest checker, metadata sync, ...)."""

from __future__ import annotations

from itertools import pairwise
import io
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

import pytest

from functions.connectors.rate_limit import slot_interval_ms
from functions.domain.models import Episode, EpisodeKind, Show
from infra.ops.__main__ import main
from infra.ops.backfill import BackfillScope, Pacer, default_per_minute
from infra.ops.command import EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE
from sandbox.clock import VirtualClock
from sandbox.world import SandboxWorld
from tests.integration.harness import PUBLISHING_FLOWS, megaphone_episode, open_world, source_entry
from tests.integration.small_catalogue import START, SmallCatalogue

HARBOUR, MOORS = 11, 12
HARBOUR_PARTS = (1101, 1102, 1103)
MOORS_PARTS = (1201, 1202)
NOT_THE_POLLER = tuple(flow for flow in PUBLISHING_FLOWS if flow.name != "consonance-poller")


def episode(product_id: int, series_id: int | None, released: date | None) -> Episode:
    show = Show(series_id=series_id, name="s") if series_id is not None else None
    return Episode(product_id=product_id, kind=EpisodeKind.SERIALIZED_FICTION, title="t", show=show, release_date=released)


# --- logic -------------------------------------------------------------------------------------------


def test_the_scope_is_a_series_a_release_range_or_everything() -> None:
    harbour_early, harbour_late = episode(1, HARBOUR, date(2026, 1, 5)), episode(2, HARBOUR, date(2026, 6, 5))
    moors_undated = episode(3, MOORS, None)
    assert BackfillScope(series_id=HARBOUR).includes(harbour_late) and not BackfillScope(series_id=HARBOUR).includes(moors_undated)
    january = BackfillScope(released_from=date(2026, 1, 1), released_to=date(2026, 1, 31))
    assert january.includes(harbour_early) and not january.includes(harbour_late) and not january.includes(moors_undated)
    assert BackfillScope(series_id=MOORS, released_from=date(2026, 1, 1)).includes(harbour_early) is False
    everything = BackfillScope()
    assert everything.whole_catalogue and all(everything.includes(e) for e in (harbour_early, moors_undated, None))
    assert not january.includes(None)  # a product that maps to no episode only counts for the whole catalogue
    with pytest.raises(ValueError, match="starts after it ends"):
        BackfillScope(released_from=date(2026, 2, 1), released_to=date(2026, 1, 1))


def test_the_pacer_spaces_starts_evenly_on_its_clock() -> None:
    clock = VirtualClock(datetime(2031, 1, 1, tzinfo=timezone.utc))
    pacer = Pacer(4, clock)
    assert pacer.time_for(9) == timedelta(minutes=2)  # 9 starts at 4 a minute: the last one 8 × 15 s later
    starts = []
    for _ in range(5):
        pacer.wait()
        starts.append(clock.now())
    assert [b - a for a, b in pairwise(starts)] == [timedelta(seconds=15)] * 4


def test_the_default_pace_keeps_inside_half_of_megaphones_limit() -> None:
    assert default_per_minute(60) == 10 and default_per_minute(600) == 100 and default_per_minute(2) == 1


# --- the command against the sandbox -------------------------------------------------------------------


@pytest.fixture(scope="module")
def world() -> Iterator[SandboxWorld]:
    made = SmallCatalogue()
    made.show(HARBOUR, "Harbour Lights")
    made.show(MOORS, "Over the Moors")
    for number, product_id in enumerate(HARBOUR_PARTS, start=1):
        made.episode(product_id, HARBOUR, str(number), f"Harbour, part {number}", START - timedelta(days=30 - number))
    for number, product_id in enumerate(MOORS_PARTS, start=1):
        made.episode(product_id, MOORS, str(number), f"Moors, part {number}", START - timedelta(days=20 - number))
    with open_world(made.build(), flows=NOT_THE_POLLER) as opened:
        yield opened


def ops(world: SandboxWorld, *arguments: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--prefix", world.resources.prefix, *arguments], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_a_series_backfill_goes_through_the_flows_paced_and_touches_nothing_else(world: SandboxWorld) -> None:
    started = world.clock.now()
    code, out, err = ops(world, "backfill", "--series", str(HARBOUR), "--per-minute", "2", "--json")
    assert code == EXIT_OK, err
    outcome = json.loads(out)
    assert outcome["announced"] == list(HARBOUR_PARTS) and outcome["series_changed"] == [HARBOUR]
    assert outcome["events_put"] == 4  # three EpisodeChanged, one SeriesChanged: what a first poll would put
    assert "3 product(s) at 2 a minute, about 1.0 minute(s)" in err and "announcing" in err
    # paced: 30 s apart on the sandbox's clock, after the command's two Consonance reads, which the shared
    # limit (Consonance's 120/min) sends one slot apart
    assert world.clock.now() - started == timedelta(minutes=1, milliseconds=slot_interval_ms(120))
    assert source_entry(world, HARBOUR_PARTS[0]).history[-1].action == "source_changed"  # type: ignore[union-attr]

    world.runtime.run_for(hours=2)  # the flows consume what the backfill put on the bus

    for product_id in HARBOUR_PARTS:
        published = megaphone_episode(world, product_id)
        assert published is not None and published["draft"] is False, product_id
    assert all(megaphone_episode(world, product_id) is None for product_id in MOORS_PARTS)
    assert world.runtime.dead_letters() == []

    again, out, err = ops(world, "backfill", "--series", str(HARBOUR), "--per-minute", "60")
    assert again == EXIT_OK, err
    assert "announced 3 product(s) on the bus (4 events)" in out
    assert source_entry(world, HARBOUR_PARTS[0]).history[-1].action == "announced"  # type: ignore[union-attr]


def test_a_scope_with_nothing_in_it_is_not_found_and_a_missing_scope_is_a_usage_error(world: SandboxWorld) -> None:
    assert ops(world, "backfill", "--series", "999")[0] == EXIT_NOT_FOUND
    code, _, err = ops(world, "backfill")
    assert code == EXIT_USAGE and "--all" in err
    assert ops(world, "backfill", "--released-from", "2027-02-01", "--released-to", "2027-01-01")[0] == EXIT_USAGE
