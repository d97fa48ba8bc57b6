"""The licence sweep against moto (ledger, cursors) and the Consonance simulator on the sample's branded
licences: a day's first run evaluates every licence's whole entry; a later run the same day reads views
(no history, findings or asset of any licence crosses the wire) and still tells a lagging channel and
counts a channel live past its window, exactly as a whole evaluation of that moment would; a licence
Consonance changes mid-day is read whole and evaluated at once; a run that dies half-way leaves
nothing the next run gets wrong.

The sample's branded story (`sandbox/catalogue/sample.d/branded.json`): 'Lantern Quay' (44901) is
approved on 12-02 at 09:00 and licensed from 12-03; 'Tide Table' (44902) ends on 12-05; 'Last Orders'
(44906) has no end date (a blocking finding)."""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from functions.alerts import Alert, AlertPublisher
from functions.connectors.consonance.client import ConsonanceClient
from functions.connectors.http import HttpService, route_host
from functions.domain.events import DomainEvent, LicenceChanged
from functions.domain.licence import LicenceChannel, LifecycleState
from functions.event_bus import EventBus
from functions.flows.licence_sweep.logic import CURSOR, LicenceSweepDeps, SweepOutcome, sweep
from functions.mapping_config import MappingConfig
from functions.state.cursors import CursorStore
from functions.state.keys import licence_key
from functions.state.ledger import LedgerEntry, SyncLedger, new_entry
from functions.state.targets import CHANNEL_TARGETS, LICENCE, ChannelStatus, LicenceState
from infra.flows import Table
from infra.tables import table_spec
from sandbox.catalogue import ApiKey, load_catalogue
from sandbox.clock import VirtualClock
from sandbox.resources import _create_table
from sandbox.simulators.consonance import ConsonanceSimulator
from tests.botocore_events import session_events

pytestmark = pytest.mark.usefixtures("cleared_routes")

START = datetime(2026, 12, 1, tzinfo=timezone.utc)  # the sample catalogue's first day
LANTERN, TIDE, LAST_ORDERS = 44901, 44902, 44906
BRANDED = (44901, 44902, 44903, 44904, 44905, 44906)
_worlds = itertools.count(1)


@pytest.fixture
def clock_start() -> datetime:
    return START


class RecordingBus(EventBus):
    """The bus as the sweep sees it, keeping what it published; `fail_next` makes one publish fail."""

    def __init__(self) -> None:
        super().__init__("test-bus", "test")
        self.events: list[DomainEvent] = []
        self.fail_next = False

    def publish(self, events: Sequence[DomainEvent]) -> None:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("the run died before its events were sent")
        self.events.extend(events)


class RecordingAlerts(AlertPublisher):
    def __init__(self) -> None:
        super().__init__(None)
        self.sent: list[Alert] = []

    def publish(self, alert: Alert) -> str | None:
        self.sent.append(alert)
        return None


class DyingLedger(SyncLedger):
    """The ledger, except that the run dies right before its `dies_at_save`-th save (counted from 1)."""

    def __init__(self, table_name: str):
        super().__init__(table_name)
        self.saves = 0
        self.dies_at_save: int | None = None

    def save(self, entry: LedgerEntry[Any]) -> LedgerEntry[Any]:
        self.saves += 1
        if self.dies_at_save is not None and self.saves == self.dies_at_save:
            self.dies_at_save = None
            raise RuntimeError("the run died half-way")
        return super().save(entry)


@dataclass
class Reads:
    """Every ledger item a GetItem or BatchGetItem answered from here on: (pk, sk, its attributes)."""

    items: list[tuple[str, str, frozenset[str]]] = field(default_factory=list)

    def whole_licences(self) -> set[int]:
        """The licences read whole (with their history), by product id."""
        return {int(pk.split("#")[1]) for pk, sk, attributes in self.items if sk == LICENCE.name and "history" in attributes}

    def licence_views(self) -> set[int]:
        return {int(pk.split("#")[1]) for pk, sk, attributes in self.items if sk == LICENCE.name and "history" not in attributes}

    def channel_attributes(self) -> set[str]:
        channels = {spec.name for spec in CHANNEL_TARGETS.values()}
        return {name for _, sk, attributes in self.items if sk in channels for name in attributes}


@dataclass
class Sweeper:
    clock: VirtualClock
    consonance: ConsonanceSimulator
    ledger: DyingLedger
    cursors: CursorStore
    bus: RecordingBus
    alerts: RecordingAlerts
    deps: LicenceSweepDeps

    def run(self, at: datetime) -> tuple[SweepOutcome, list[LicenceChanged], Reads]:
        """One sweep at `at` (Consonance's scripted edits due by then applied): what it decided, the
        events it published and the ledger items it read."""
        self.clock.advance_to(at)
        self.consonance.apply_due_changes(at)
        published = len(self.bus.events)
        reads = Reads()

        def keep(parsed: dict[str, Any], **_: Any) -> None:
            answered = [parsed["Item"]] if "Item" in parsed else parsed.get("Responses", {}).get(self.ledger.table_name, [])
            reads.items.extend((item["pk"]["S"], item["sk"]["S"], frozenset(item)) for item in answered if "sk" in item)

        with session_events({"after-call.dynamodb.BatchGetItem": keep, "after-call.dynamodb.GetItem": keep}):
            outcome = sweep(self.deps, at)
        events = [e for e in self.bus.events[published:] if isinstance(e, LicenceChanged)]
        return outcome, events, reads

    def licence(self, product_id: int) -> LedgerEntry[LicenceState]:
        entry = self.ledger.get(licence_key(product_id), LICENCE)
        assert entry is not None
        return entry

    def channel(self, product_id: int, channel: LicenceChannel, status: ChannelStatus, acted_on: str | None) -> None:
        """A channel's entry as the channel flow would leave it: its status, and the fingerprint it acted on."""
        entry = new_entry(licence_key(product_id), CHANNEL_TARGETS[channel])
        entry.set_status(status, "as the channel left it")
        entry.state.acted_on = acted_on
        entry.record("acted", "by the test")
        self.ledger.save(entry)

    def forget_today(self) -> None:
        """Put the cursor's date back a day, as if no run had completed today: the next run evaluates whole."""
        cursor = self.cursors.get(CURSOR)
        assert cursor is not None
        yesterday = datetime.fromisoformat(str(cursor["last_success_at"])).date() - timedelta(days=1)
        self.cursors.put(CURSOR, {**cursor, "changed_since": yesterday.isoformat()})


@pytest.fixture
def sweeper(aws: None, virtual_clock: VirtualClock) -> Iterator[Sweeper]:
    yield make_sweeper(virtual_clock)


def make_sweeper(clock: VirtualClock) -> Sweeper:
    number = next(_worlds)
    key, host = secrets.token_urlsafe(16), f"sweep-{number}.consonance.test"
    consonance = ConsonanceSimulator(clock, load_catalogue(), requests_per_minute=None, api_keys=[ApiKey(key=key)])
    route_host(host, consonance)
    client = ConsonanceClient(HttpService("consonance", f"https://{host}/graphql", lambda: {"Authorization": f"Bearer {key}"}))
    ledger = DyingLedger(_create_table(table_spec(Table.LEDGER), f"sweep-ledger-{number}"))
    cursors = CursorStore(_create_table(table_spec(Table.CURSORS), f"sweep-cursors-{number}"))
    bus, alerts = RecordingBus(), RecordingAlerts()
    deps = LicenceSweepDeps(consonance=client, ledger=ledger, cursors=cursors, bus=bus, alerts=alerts, mapping=MappingConfig())
    return Sweeper(clock, consonance, ledger, cursors, bus, alerts, deps)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of the sample's run: `day` 0 is its first day (12-01)."""
    return START + timedelta(days=day, hours=hour, minutes=minute)


def announced(events: list[LicenceChanged]) -> dict[int, tuple[str, str, str]]:
    return {e.product_id: (e.state, e.reason, e.fingerprint) for e in events}


def as_entry_says(sweeper: Sweeper, *product_ids: int) -> dict[int, tuple[str, str, str]]:
    """What a `LicenceChanged` for each licence carries, from its whole entry."""
    entries = {pid: sweeper.licence(pid) for pid in product_ids}
    return {pid: (str(e.status), e.status_reason, str(e.state.fingerprint)) for pid, e in entries.items()}


def decided(outcome: SweepOutcome) -> dict[str, Any]:
    """What a run decided, without what only a whole evaluation reports (Consonance's reads)."""
    return {k: v for k, v in outcome.__dict__.items() if k not in ("products_read", "changed_since")}


# --------------------------------------------------------------------------------------------- tests
def test_a_same_day_run_reads_only_views_and_still_tells_a_lagging_channel_and_counts_live_past_window(sweeper: Sweeper) -> None:
    first, events, reads = sweeper.run(at(0, 0, 5))
    assert reads.whole_licences() == set() and set(announced(events)) == set(BRANDED)  # nothing known yet: read as created
    assert all(sweeper.licence(pid).state.allowed_channels is not None for pid in BRANDED)
    tide = sweeper.licence(TIDE)
    assert tide.status is LifecycleState.EXPIRING and tide.state.allowed_channels == sorted(LicenceChannel)
    assert sweeper.licence(LAST_ORDERS).state.allowed_channels == []  # a blocking finding: no channel
    sweeper.channel(TIDE, LicenceChannel.BRAND_SHOW, ChannelStatus.LIVE, tide.state.fingerprint)  # in step
    sweeper.channel(TIDE, LicenceChannel.BRAND_PLAYLIST, ChannelStatus.NOT_DELIVERED, "an older fingerprint")  # lagging
    orders = sweeper.licence(LAST_ORDERS).state.fingerprint
    sweeper.channel(LAST_ORDERS, LicenceChannel.VENUE, ChannelStatus.LIVE, orders)  # live where nothing is allowed
    versions = {pid: sweeper.licence(pid).version for pid in BRANDED}

    later, events, reads = sweeper.run(at(0, 0, 50))  # 45 minutes after the fingerprints: past the grace

    assert reads.whole_licences() == set() and reads.licence_views() == set(BRANDED)
    assert reads.channel_attributes() and not reads.channel_attributes() & {"history", "findings"}
    assert announced(events) == as_entry_says(sweeper, TIDE, LAST_ORDERS)
    assert later.out_of_step == 2 and later.live_past_window == 1 and later.announced == 2
    assert later.by_licensee == first.by_licensee and later.transitions == [] and later.licences_changed == 0
    assert {pid: sweeper.licence(pid).version for pid in BRANDED} == versions  # nothing written

    sweeper.forget_today()  # the same moment evaluated whole decides the same
    whole, again, reads = sweeper.run(at(0, 0, 50))
    assert reads.whole_licences() == set(BRANDED)
    assert decided(whole) == decided(later) and announced(again) == announced(events)
    assert {pid: sweeper.licence(pid).version for pid in BRANDED} == versions


def test_a_days_first_run_evaluates_whole_and_moves_states_and_a_change_mid_day_is_evaluated_at_once(sweeper: Sweeper) -> None:
    sweeper.run(at(0, 0, 5))
    assert sweeper.licence(LANTERN).status is LifecycleState.PENDING  # its licence awaits approval
    _, _, reads = sweeper.run(at(1, 0, 0))  # 12-02: the day's first run
    assert reads.whole_licences() == set(BRANDED)

    approved, events, reads = sweeper.run(at(1, 9, 15))  # approved at 09:00 in Consonance
    assert reads.licence_views() == set(BRANDED) and reads.whole_licences() == {LANTERN}  # its view said another source
    assert approved.licences_changed == 1 and approved.transitions == ["licence#44901: pending -> scheduled"]
    assert announced(events) == as_entry_says(sweeper, LANTERN)

    quiet, events, reads = sweeper.run(at(1, 9, 30))  # Consonance still lists it (changed today), unchanged
    assert reads.whole_licences() == set() and quiet.products_read == approved.products_read
    assert quiet.licences_changed == 0 and events == []

    live, events, reads = sweeper.run(at(2, 0, 0))  # 12-03: its window starts
    assert reads.whole_licences() == set(BRANDED)
    assert "licence#44901: scheduled -> live" in live.transitions
    lantern = sweeper.licence(LANTERN)
    assert lantern.status is LifecycleState.LIVE and lantern.state.allowed_channels == sorted(LicenceChannel)
    assert announced(events)[LANTERN] == as_entry_says(sweeper, LANTERN)[LANTERN]


@pytest.mark.parametrize(
    ("runs", "dies_at_save", "read_whole"),
    [
        # The very first run: six licences created, it dies before saving the third; with no cursor yet,
        # the next run reads the two it saved (not as new ones: a save of those would be refused).
        ([], 3, {44901, 44902}),
        # 12-03's first run dies before saving 'Lantern Quay' as live; the cursor still says 12-02.
        ([at(0, 0, 5), at(1, 9, 15)], 1, set(BRANDED)),
    ],
)
def test_a_days_first_run_that_dies_half_way_is_completed_by_the_next_run(
    aws: None, virtual_clock: VirtualClock, runs: list[datetime], dies_at_save: int, read_whole: set[int]
) -> None:
    steady, crashed = make_sweeper(virtual_clock), make_sweeper(virtual_clock)
    for moment in runs:
        for sweeper in (steady, crashed):
            sweeper.run(moment)
    dies = at(2, 0, 0) if runs else at(0, 0, 5)
    crashed.ledger.saves, crashed.ledger.dies_at_save = 0, dies_at_save
    with pytest.raises(RuntimeError):
        crashed.run(dies)
    steady.run(dies)
    steady.run(dies + timedelta(minutes=15))
    _, _, reads = crashed.run(dies + timedelta(minutes=15))
    assert reads.whole_licences() == read_whole  # the day's evaluation did not complete: evaluated whole again
    assert lasting(crashed) == lasting(steady)
    assert {a.subject for a in crashed.alerts.sent} == {a.subject for a in steady.alerts.sent}
    _, _, reads = crashed.run(dies + timedelta(minutes=30))
    assert reads.whole_licences() == set()


def test_a_run_that_dies_before_telling_the_channels_is_retold_by_the_next_run_from_views(sweeper: Sweeper) -> None:
    sweeper.run(at(0, 0, 5))
    sweeper.run(at(1, 0, 0))
    before = sweeper.licence(LANTERN).state.fingerprint
    sweeper.channel(LANTERN, LicenceChannel.BRAND_SHOW, ChannelStatus.NOT_DELIVERED, before)
    sweeper.bus.fail_next = True
    with pytest.raises(RuntimeError):
        sweeper.run(at(1, 9, 15))  # approved in Consonance: saved as scheduled, then the run dies
    assert sweeper.licence(LANTERN).status is LifecycleState.SCHEDULED

    retried, events, reads = sweeper.run(at(1, 9, 30))
    assert reads.whole_licences() == set()  # its content is what Consonance says: read as a view
    assert announced(events) == as_entry_says(sweeper, LANTERN) and retried.out_of_step == 1
    assert sweeper.licence(LANTERN).state.fingerprint != before


def test_a_licence_saved_before_the_allowed_channels_were_kept_is_evaluated_whole_once(sweeper: Sweeper) -> None:
    sweeper.run(at(0, 0, 5))
    older = sweeper.licence(TIDE)
    older.state.allowed_channels = None  # as an older sweep saved it
    sweeper.ledger.save(older)
    _, events, reads = sweeper.run(at(0, 0, 20))
    assert reads.whole_licences() == {TIDE} and events == []
    assert sweeper.licence(TIDE).state.allowed_channels == sorted(LicenceChannel)
    _, _, reads = sweeper.run(at(0, 0, 35))
    assert reads.whole_licences() == set()


def lasting(sweeper: Sweeper) -> dict[int, Any]:
    """What the licences' entries say, without the times and versions that differ between two runs."""
    return {
        pid: (
            str(entry.status),
            entry.status_reason,
            entry.state.fingerprint,
            entry.state.allowed_channels,
            [(t.state, t.reason) for t in entry.state.transitions],
            json.dumps(entry.state.expiry_alerted_for, default=str),
        )
        for pid in BRANDED
        for entry in [sweeper.licence(pid)]
    }
