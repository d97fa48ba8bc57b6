"""The reconciler on moto and the simulators, driven through the local runtime: each way a change gets
stuck is made to happen for real (events lost from a queue as if dead-lettered, an ambiguous create
whose retries died, a write-back that failed for good, a ledger restored from an older backup), and
the next reconcile heals it without a person.

One world for the module; the tests run in order, each at its own virtual moment:
00:00 the poll's `EpisodeChanged` are lost (entries stuck where the poller left them); a reconcile
hands them to the publisher, whose first create loses its answer after Megaphone made the episode
and whose retries are lost too; Consonance is down while the deliveries are written back, and those
records are lost as well. 01:00 the scheduled reconcile finds the stuck intent and the unwritten
deliveries. Later a ledger restored from a backup no longer knows one episode: the next day's
Megaphone listing finds it and the publisher adopts it rather than making a second one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, time, timedelta, timezone

import boto3
import pytest

from functions.state.keys import episode_key
from functions.state.targets import LedgerStatus, MEGAPHONE
from infra.flows import Table, flow
from sandbox.simulators.base import FaultPlan
from sandbox.simulators.megaphone import ScriptedFaults
from sandbox.world import SandboxWorld
from tests.integration.harness import PUBLISHING_FLOWS, cursor, ledger, open_world, scheduled_event, source_entry, target_entry, written_link
from tests.integration.small_catalogue import START, SmallCatalogue

SERIES = 1
PRODUCTS = (301, 302, 303, 304)
STUCK_AFTER_MINUTES = 30


def catalogue():  # noqa: ANN201 (a Catalogue)
    made = SmallCatalogue()
    made.show(SERIES, "The Salt Road")
    for part, product_id in enumerate(PRODUCTS, start=1):
        made.episode(product_id, SERIES, str(part), f"Part {part}", START - timedelta(days=30 - part))
    return made.build()


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(START + timedelta(days=day), time(hour, minute), tzinfo=timezone.utc)


def lose_queued(world: SandboxWorld, flow_name: str) -> None:
    """Everything in a flow's queue (visible or in flight) is gone: as if each record had been
    dead-lettered, or its event never delivered."""
    boto3.client("sqs").purge_queue(QueueUrl=world.resources.queues[flow_name].queue_url)


def on_megaphone(world: SandboxWorld) -> Counter[str]:
    return Counter(episode["externalId"] for episode in world.megaphone.state()["episodes"])


@pytest.fixture(scope="module")
def world() -> Iterator[SandboxWorld]:
    flows = (*PUBLISHING_FLOWS, flow("reconciler"))
    with open_world(catalogue(), flows=flows, extra_environment={"RECONCILE_STUCK_AFTER_MINUTES": str(STUCK_AFTER_MINUTES)}) as made:
        yield made


def test_changes_lost_after_the_poll_leave_entries_stuck_where_the_poller_left_them(world: SandboxWorld) -> None:
    world.runtime.invoke("consonance-poller", scheduled_event(world, "consonance-poller"))
    lose_queued(world, "episode-publisher")
    assert all(source_entry(world, p) is not None and target_entry(world, p) is None for p in PRODUCTS)


def test_a_reconcile_hands_them_to_the_publisher_and_this_time_the_create_answer_and_write_backs_are_lost(world: SandboxWorld) -> None:
    answer = world.runtime.invoke("reconciler", scheduled_event(world, "reconciler"))
    assert answer["found"] == {"never evaluated by the publisher": len(PRODUCTS)} and answer["re_emitted"] == len(PRODUCTS)
    assert cursor(world, "reconciler")["consonance_read_on"] == START.isoformat()
    world.megaphone.faults = ScriptedFaults("timeout-after-write")  # the first create: made, answer lost
    world.runtime.run_due()
    lose_queued(world, "episode-publisher")  # its retries die with it
    world.consonance.faults = FaultPlan(rate=1.0, seed=3)  # every write-back fails ...
    world.runtime.run_until(at(0, 0, 12))
    lose_queued(world, "consonance-writeback")  # ... and is lost
    world.consonance.faults = FaultPlan(rate=0.0)
    stuck = [p for p in PRODUCTS if target_entry(world, p).pending_create]
    assert len(stuck) == 1 and on_megaphone(world)[str(stuck[0])] == 1 and target_entry(world, stuck[0]).state.episode_id is None
    delivered = [p for p in PRODUCTS if target_entry(world, p).status is LedgerStatus.DELIVERED]
    assert sorted(delivered + stuck) == list(PRODUCTS)
    assert all(written_link(world, p) is None for p in PRODUCTS)


def test_the_next_reconcile_adopts_the_stuck_create_and_writes_every_delivery_back(world: SandboxWorld) -> None:
    world.runtime.run_until(at(0, 1, 30))
    for product_id in PRODUCTS:
        target = target_entry(world, product_id)
        assert target.status is LedgerStatus.DELIVERED and target.pending_create is None, product_id
        assert written_link(world, product_id) == f"live|https://open.spotify.com/episode/{target.state.spotify_id}"
    assert set(on_megaphone(world).values()) == {1} and len(on_megaphone(world)) == len(PRODUCTS)  # adopted, not doubled
    assert [h.action for h in target_entry(world, PRODUCTS[0]).history if h.action in ("adopted", "created")]


def test_in_step_nothing_is_re_emitted(world: SandboxWorld) -> None:
    answer = world.runtime.invoke("reconciler", scheduled_event(world, "reconciler"))
    assert answer == {"found": {}, "re_emitted": 0, "paused": 0, "errors": []}


def test_an_episode_a_restored_ledger_forgot_is_adopted_after_the_next_megaphone_listing(world: SandboxWorld) -> None:
    forgotten = PRODUCTS[-1]
    world.runtime.run_until(at(0, 23, 50))
    episode_id = target_entry(world, forgotten).state.episode_id
    boto3.client("dynamodb").delete_item(  # the ledger is restored from a backup older than this episode
        TableName=world.resources.tables[Table.LEDGER], Key={"pk": {"S": str(episode_key(forgotten))}, "sk": {"S": MEGAPHONE.name}}
    )
    world.runtime.run_until(at(1, 0, 30))  # the first reconcile of the day lists Megaphone
    assert cursor(world, "reconciler")["megaphone_listed_on"] == (START + timedelta(days=1)).isoformat()
    target = target_entry(world, forgotten)
    assert target is not None and target.state.episode_id == episode_id and target.status is LedgerStatus.DELIVERED
    assert [h.action for h in target.history if h.action in ("found_on_megaphone", "adopted", "created")] == ["found_on_megaphone", "adopted"]
    assert on_megaphone(world)[str(forgotten)] == 1
    assert world.runtime.dead_letters() == []  # nothing was tried that Megaphone would refuse
    assert {entry.entity for entry in ledger(world).scan(MEGAPHONE) if entry.pending_create} == set()
