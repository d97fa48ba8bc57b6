"""The ingest check runs when the audio should be ingested, not at the ingest checker's next sweep.

Every flow that pushes audio through the publisher's logic (the episode publisher, rights sync, the
brand show) sends each such push's `IngestCheckDue` straight to the ingest follow-up's queue, delayed
by the expected ingest time (MEGAPHONE_INGEST_SECONDS); the local runtime holds it for that long of
virtual time. The ingest checker's sweep is only the safety net (every 15 minutes). Everything here
is asserted on the virtual clock: the first poll (and the publisher's create) runs at 00:15, the
sweep's slots are 00:15 (before the create), 00:30, 00:45, ... so a check that waited for the sweep
would deliver at 00:30 at the earliest. Rights sync's release and the brand show's go-live come at
midnight of the second day (a narration agreement, a brand licence starting then), with a sweep slot
at midnight and the next one a sweep interval later.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta, timezone

from functions.domain.events import IngestCheckDue
from functions.flow_names import FlowName
from functions.state.keys import licence_key
from functions.state.targets import BRAND_SHOW, ChannelStatus, LedgerStatus
from infra.flows import FLOWS, ScheduleTrigger, flow
from sandbox.catalogue import ContractEntry, LicensedRightEntry
from sandbox.runtime import InvocationRecord
from sandbox.world import SandboxWorld
from tests.integration.harness import (
    bus_envelope,
    ledger,
    ledger_versions,
    open_world,
    scheduled_event,
    sqs_event,
    target_entry,
    write_backs_for,
)
from tests.integration.small_catalogue import START, SmallCatalogue

SERIES, EPISODE = 1, 401
EXPECTED_INGEST_SECONDS = 120  # the pushes' delay (the setting's default, set here explicitly)
EXPECTED_INGEST = timedelta(seconds=EXPECTED_INGEST_SECONDS)
ENVIRONMENT = {"MEGAPHONE_INGEST_SECONDS": str(EXPECTED_INGEST_SECONDS)}
SECOND_DAY = datetime.combine(START + timedelta(days=1), time(0), tzinfo=timezone.utc)  # the release / go-live
RELEASED, BRANDED_SERIES, BRANDED = 402, 9601, 44951
BRAND_FLOWS = tuple(f for f in FLOWS if f.name in {FlowName.LICENCE_SWEEP, FlowName.BRAND_SHOW, FlowName.INGEST_CHECKER, FlowName.INGEST_FOLLOW_UP})


def every(flow_name: str) -> timedelta:
    trigger = flow(flow_name).trigger
    assert isinstance(trigger, ScheduleTrigger)
    return timedelta(minutes=trigger.every_minutes)


RUNTIME_START = datetime.combine(START, time(0), tzinfo=timezone.utc)
FIRST_POLL = RUNTIME_START + every(FlowName.CONSONANCE_POLLER)  # the publisher's create follows it at once


def next_sweep_after(moment: datetime) -> datetime:
    """The ingest checker's first scheduled run after `moment` (its slots: every interval from the
    runtime's start)."""
    interval = every(FlowName.INGEST_CHECKER)
    return RUNTIME_START + ((moment - RUNTIME_START) // interval + 1) * interval


FIRST_SWEEP_AFTER_CREATE = next_sweep_after(FIRST_POLL)


@contextmanager
def world_ingesting_in(seconds: float) -> Iterator[SandboxWorld]:
    made = SmallCatalogue()
    made.show(SERIES, "The Salt Road")
    made.episode(EPISODE, SERIES, "1", "The Harbour at Dusk", START - timedelta(days=20))
    with open_world(made.build(), ingest_delay_seconds=seconds, extra_environment=ENVIRONMENT) as world:
        yield world


def invocations(world: SandboxWorld, flow: str) -> list[InvocationRecord]:
    return [record for record in world.runtime.invocation_log if record.flow == flow and record.records]


def checked_at_the_ingest_time(world: SandboxWorld, product_id: int, pushed_by: str) -> InvocationRecord:
    """The one push (a create, by `pushed_by`) sent its delayed check: the follow-up ran the expected
    ingest time after that invocation and delivered the episode, before the sweep's next run."""
    [create] = [r for r in world.megaphone.received if r.method == "POST"]
    [pusher] = [r for r in invocations(world, pushed_by) if r.started_at <= create.at <= r.finished_at]
    [follow_up] = invocations(world, FlowName.INGEST_FOLLOW_UP)
    # delivered when the delayed message fell due: the pushing flow's batch sent it at its end
    assert pusher.started_at + EXPECTED_INGEST <= follow_up.started_at <= pusher.finished_at + EXPECTED_INGEST
    assert follow_up.outcome == "succeeded"
    entry = target_entry(world, product_id)
    assert entry is not None and entry.status is LedgerStatus.DELIVERED
    delivered_at = next(h.at for h in entry.history if h.action == f"status:{LedgerStatus.DELIVERED}")
    assert follow_up.started_at <= delivered_at <= follow_up.finished_at
    assert create.at + EXPECTED_INGEST <= delivered_at <= create.at + EXPECTED_INGEST + timedelta(minutes=1)
    assert delivered_at < next_sweep_after(create.at)
    return follow_up


def test_a_created_episode_is_checked_and_written_back_once_its_ingest_time_has_passed() -> None:
    with world_ingesting_in(EXPECTED_INGEST_SECONDS) as world:
        world.runtime.run_until(FIRST_SWEEP_AFTER_CREATE - timedelta(seconds=1))

        follow_up = checked_at_the_ingest_time(world, EPISODE, FlowName.EPISODE_PUBLISHER)
        [create] = [r for r in world.megaphone.received if r.method == "POST"]
        [written] = write_backs_for(world, EPISODE)
        limit = create.at + timedelta(seconds=EXPECTED_INGEST_SECONDS, minutes=1)  # the ingest time and a little
        assert follow_up.started_at <= written.at <= limit < FIRST_SWEEP_AFTER_CREATE
        assert written.description == "Spotify: live"

        # a late duplicate of the check finds the episode delivered: no Megaphone call, no ledger write
        requests, versions = len(world.megaphone.received), ledger_versions(world)
        duplicate = bus_envelope(world, "IngestCheckDue", IngestCheckDue(product_id=EPISODE).model_dump(mode="json"))
        assert world.runtime.invoke("ingest-follow-up", sqs_event(world, "ingest-follow-up", duplicate)) == {"batchItemFailures": []}
        assert len(world.megaphone.received) == requests and ledger_versions(world) == versions


def test_an_ingest_slower_than_expected_is_left_to_the_sweep_without_retrying_the_message() -> None:
    slower = EXPECTED_INGEST_SECONDS + 120
    with world_ingesting_in(slower) as world:
        world.runtime.run_until(FIRST_POLL + timedelta(seconds=30))  # just after the create
        requests = len(world.megaphone.received)
        swept = world.runtime.invoke("ingest-checker", scheduled_event(world, "ingest-checker"))
        # a sweep now leaves the fresh push to its delayed check: its audio is most likely still ingesting
        assert (swept["checked"], swept["left_to_follow_up"]) == (0, 1) and len(world.megaphone.received) == requests

        world.runtime.run_until(FIRST_SWEEP_AFTER_CREATE + timedelta(minutes=1))

        [follow_up] = invocations(world, "ingest-follow-up")  # once: still ingesting is not a failure
        assert follow_up.outcome == "succeeded" and follow_up.failed == 0
        assert world.runtime.stats()["ingest-follow-up"].retried == 0
        assert world.runtime.dead_letters() == []
        [create] = [r for r in world.megaphone.received if r.method == "POST"]
        [written] = write_backs_for(world, EPISODE)
        # the sweep at 00:30 found it ingested (Megaphone finished at create + 240 s)
        assert create.at + timedelta(seconds=slower) <= FIRST_SWEEP_AFTER_CREATE <= written.at
        assert target_entry(world, EPISODE).status is LedgerStatus.DELIVERED  # type: ignore[union-attr]


def test_a_rights_window_that_opens_releases_the_episode_and_its_ingest_check_follows_at_the_ingest_time() -> None:
    """Rights sync publishes through the publisher's logic: its release pushes the audio, and its
    batch sends the delayed check as the publisher's does."""
    made = SmallCatalogue()
    made.show(SERIES, "The Salt Road")
    made.episode(RELEASED, SERIES, "1", "Read Aloud Tomorrow", START - timedelta(days=20))
    built = made.build()
    narration_from_day_two = [
        c.model_copy(update={"signed_date": SECOND_DAY.date()}) if c.licensed_rights[0].right_type == "narration" else c for c in built.contracts
    ]  # the narrator's agreement starts on the second day: held until then, released by its window
    with open_world(built.model_copy(update={"contracts": narration_from_day_two}), extra_environment=ENVIRONMENT) as world:
        world.runtime.run_until(SECOND_DAY + EXPECTED_INGEST + timedelta(minutes=1))

        assert [r for r in world.megaphone.received if r.method == "POST" and r.at < SECOND_DAY] == []  # held on day 1
        checked_at_the_ingest_time(world, RELEASED, FlowName.RIGHTS_SYNC)
        entry = target_entry(world, RELEASED)
        assert entry is not None and any(h.action == "rights_decision" and "(created)" in h.detail for h in entry.history)
        [written] = write_backs_for(world, RELEASED)
        assert written.description == "Spotify: live" and written.at < next_sweep_after(SECOND_DAY)


def test_a_brand_show_going_live_sends_its_ingest_check_and_learns_its_spotify_id_at_the_ingest_time() -> None:
    """The brand show publishes through the publisher's logic: its go-live pushes the audio, its batch
    sends the delayed check, and the delivery the check announces gives the channel its Spotify id."""
    made = SmallCatalogue()
    made.show(BRANDED_SERIES, "Northwind Stories", kind="branded_podcast")
    made.episode(BRANDED, BRANDED_SERIES, "1", "Lodge Story", START - timedelta(days=30))
    built = made.build()
    licence = ContractEntry(
        id=7951, name="Northwind Lodges: Lodge Story", work_ids=[BRANDED * 10], client="Northwind Lodges", approval_status="approved",
        signed_date=SECOND_DAY.date(), terminated_date=START + timedelta(days=60),
        licensed_rights=[LicensedRightEntry(id=79510, right_type="Brand show")],
    )  # fmt: skip
    with open_world(built.model_copy(update={"contracts": [*built.contracts, licence]}), flows=BRAND_FLOWS, extra_environment=ENVIRONMENT) as world:
        world.runtime.run_until(SECOND_DAY + EXPECTED_INGEST + timedelta(minutes=1))

        assert [r for r in world.megaphone.received if r.method == "POST" and r.at < SECOND_DAY] == []  # not live before its licence
        follow_up = checked_at_the_ingest_time(world, BRANDED, FlowName.BRAND_SHOW)
        channel = ledger(world).get(licence_key(BRANDED), BRAND_SHOW)
        assert channel is not None and channel.status is ChannelStatus.LIVE
        assert channel.state.live_since is not None and SECOND_DAY <= channel.state.live_since < follow_up.started_at
        assert channel.state.spotify_id is not None  # from the delivery the follow-up announced
        [refreshed] = [r for r in invocations(world, FlowName.BRAND_SHOW) if r.started_at >= follow_up.started_at]
        assert refreshed.finished_at < next_sweep_after(SECOND_DAY)
