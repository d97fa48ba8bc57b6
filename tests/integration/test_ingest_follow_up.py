"""The ingest check runs when the audio should be ingested, not at the ingest checker's next sweep.

The publisher sends each create's `IngestCheckDue` straight to the ingest follow-up's queue, delayed
by the expected ingest time (MEGAPHONE_INGEST_SECONDS); the local runtime holds it for that long of
virtual time. Everything here is asserted on the virtual clock: the first poll (and the publisher's
create) runs at 00:15, the sweep's slots are 00:05, 00:10, 00:15, 00:20, ... so a check that waited
for the sweep would deliver at 00:20 at the earliest.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta, timezone

from functions.domain.events import IngestCheckDue
from functions.state.targets import LedgerStatus
from sandbox.world import SandboxWorld
from tests.integration.harness import bus_envelope, ledger_versions, open_world, scheduled_event, sqs_event, target_entry, write_backs_for
from tests.integration.small_catalogue import START, SmallCatalogue

SERIES, EPISODE = 1, 401
EXPECTED_INGEST_SECONDS = 120  # the publisher's delay (the setting's default, set here explicitly)
FIRST_SWEEP_AFTER_CREATE = datetime.combine(START, time(0, 20), tzinfo=timezone.utc)


@contextmanager
def world_ingesting_in(seconds: float) -> Iterator[SandboxWorld]:
    made = SmallCatalogue()
    made.show(SERIES, "The Salt Road")
    made.episode(EPISODE, SERIES, "1", "The Harbour at Dusk", START - timedelta(days=20))
    environment = {"MEGAPHONE_INGEST_SECONDS": str(EXPECTED_INGEST_SECONDS)}
    with open_world(made.build(), ingest_delay_seconds=seconds, extra_environment=environment) as world:
        yield world


def invocations(world: SandboxWorld, flow: str) -> list:  # noqa: ANN401 (InvocationRecord)
    return [record for record in world.runtime.invocation_log if record.flow == flow and record.records]


def test_a_created_episode_is_checked_and_written_back_once_its_ingest_time_has_passed() -> None:
    with world_ingesting_in(EXPECTED_INGEST_SECONDS) as world:
        world.runtime.run_until(FIRST_SWEEP_AFTER_CREATE - timedelta(seconds=1))

        [create] = [r for r in world.megaphone.received if r.method == "POST"]
        [publisher] = invocations(world, "episode-publisher")
        [follow_up] = invocations(world, "ingest-follow-up")
        # delivered when the delayed message fell due: the publisher's batch sent it at its end
        assert publisher.started_at + timedelta(seconds=EXPECTED_INGEST_SECONDS) <= follow_up.started_at
        assert follow_up.started_at <= publisher.finished_at + timedelta(seconds=EXPECTED_INGEST_SECONDS)
        assert follow_up.outcome == "succeeded"

        entry = target_entry(world, EPISODE)
        assert entry is not None and entry.status is LedgerStatus.DELIVERED
        delivered_at = next(h.at for h in entry.history if h.action == f"status:{LedgerStatus.DELIVERED}")
        [written] = write_backs_for(world, EPISODE)
        limit = create.at + timedelta(seconds=EXPECTED_INGEST_SECONDS, minutes=1)  # the ingest time and a little
        assert follow_up.started_at <= delivered_at <= written.at <= limit < FIRST_SWEEP_AFTER_CREATE
        assert written.description == "Spotify: live"

        # a late duplicate of the check finds the episode delivered: no Megaphone call, no ledger write
        requests, versions = len(world.megaphone.received), ledger_versions(world)
        duplicate = bus_envelope(world, "IngestCheckDue", IngestCheckDue(product_id=EPISODE).model_dump(mode="json"))
        assert world.runtime.invoke("ingest-follow-up", sqs_event(world, "ingest-follow-up", duplicate)) == {"batchItemFailures": []}
        assert len(world.megaphone.received) == requests and ledger_versions(world) == versions


def test_an_ingest_slower_than_expected_is_left_to_the_sweep_without_retrying_the_message() -> None:
    slower = EXPECTED_INGEST_SECONDS + 120
    with world_ingesting_in(slower) as world:
        world.runtime.run_until(FIRST_SWEEP_AFTER_CREATE - timedelta(minutes=4, seconds=30))  # just after the create
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
        # the sweep at 00:20 found it ingested (Megaphone finished at create + 240 s)
        assert create.at + timedelta(seconds=slower) <= FIRST_SWEEP_AFTER_CREATE <= written.at
        assert target_entry(world, EPISODE).status is LedgerStatus.DELIVERED  # type: ignore[union-attr]
