"""`python -m infra.ops replay` against a deployment (moto): the flows run elsewhere, so the replay puts
the events on the bus and reads the entity's ledger entries until nothing has changed for `--quiet`
seconds; its waits run on a virtual clock here. (Apart from tests/ops/test_replay.py: these use the
in-process moto of tests/ops/test_ops_cli.py, that module a sandbox world.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import boto3

from functions.clock import SystemClock, use_clock
from functions.state.keys import episode_key
from functions.state.ledger import SyncLedger
from functions.state.targets import MEGAPHONE, LedgerStatus
from infra.flows import Table
from infra.ops.command import EXIT_FAILED, EXIT_OK
from sandbox.clock import VirtualClock
from tests.ops.test_ops_cli import NAMES, PRODUCT_ID, aws, run_cli, seed_ledger  # noqa: F401 (aws: the moto fixture)

AT = datetime(2031, 1, 1, tzinfo=timezone.utc)


class FlowsElsewhere(VirtualClock):
    """The replay's waits on a virtual clock; during the first wait "the deployed publisher" holds the
    episode, as the real one would write it to the ledger."""

    def __init__(self, start: datetime, act: Callable[[], None]):
        super().__init__(start)
        self.act: Callable[[], None] | None = act

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if self.act is not None:
            self.act, act = None, self.act
            act()


def test_deployed_the_replay_puts_the_events_and_reports_what_the_flows_wrote_once_quiet(aws: None) -> None:
    boto3.client("events").create_event_bus(Name=NAMES.event_bus)
    seed_ledger()
    ledger = SyncLedger(NAMES.table(Table.LEDGER))

    def publisher_holds() -> None:
        entry = ledger.get(episode_key(PRODUCT_ID), MEGAPHONE)
        assert entry is not None
        entry.set_status(LedgerStatus.HELD, "rights window closed")
        ledger.save(entry)

    clock = FlowsElsewhere(AT, publisher_holds)
    use_clock(clock)
    try:
        shown = run_cli("replay", f"episode#{PRODUCT_ID}", "--json", "--wait", "120", "--quiet", "15")
    finally:
        use_clock(SystemClock())
    assert shown.code == EXIT_OK, shown.err
    report = shown.json()
    assert report["runner"].startswith("the deployed flows") and report["settled"] is True
    [observed] = report["steps"]
    assert observed["outcome"] == "observed" and "episode-publisher" in observed["flow"]
    assert observed["decision"] == f"episode#{PRODUCT_ID} megaphone: withdrawn -> held (rights window closed); status:held: rights window closed"
    assert clock.now() - AT == timedelta(seconds=18)  # read every 3 s: the change at 3 s, then quiet for 15 s


def test_deployed_flows_that_do_not_settle_in_time_fail_the_replay(aws: None) -> None:
    boto3.client("events").create_event_bus(Name=NAMES.event_bus)
    seed_ledger()
    ledger = SyncLedger(NAMES.table(Table.LEDGER))

    class Busy(VirtualClock):
        def sleep(self, seconds: float) -> None:  # something writes the entry at every look
            super().sleep(seconds)
            entry = ledger.get(episode_key(PRODUCT_ID), MEGAPHONE)
            assert entry is not None
            entry.record("still working")
            ledger.save(entry)

    use_clock(Busy(AT))
    try:
        shown = run_cli("replay", str(PRODUCT_ID), "--wait", "30", "--quiet", "10")
    finally:
        use_clock(SystemClock())
    assert shown.code == EXIT_FAILED
    assert "had not settled" in shown.out
