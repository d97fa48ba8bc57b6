"""`replay ENTITY`: one episode or series through its flows now, with each step's decision.

What is put on the bus is what the poller would announce for the entity as the ledger last recorded
it (no Consonance call): for an episode its `EpisodeChanged` (the source snapshot and hash), its
`RightsChanged` when its rights were recorded, and its series' `SeriesChanged`; for a series its
`SeriesChanged`. The bus is built with the poller's declared `emits`, and every event carries one
correlation id (`replay-…`), by which its dead letters are found.

Each step's decision is read from what the flows write: the ledger entries of the entity (every
target declared for its kind) before and after — a status that moved and why, the history lines a
flow added — or "unchanged"; and the dead letters that carry the replay's correlation id. Who runs
the flows is a `FlowRunner`:

- deployed (`BusObserver`): the flows run in AWS; the ledger is read every few seconds until nothing
  has changed for `quiet` seconds (or `wait` has passed), so the changes are the flows' together;
- the sandbox installs its own (`use_flow_runner`, sandbox/replay_runner.py): it runs the flows at
  once in the local runtime and reads the ledger after each invocation, so every change is
  attributed to the invocation that made it, downstream flows included.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from functions.clock import clock
from functions.domain.errors import InvalidRecord
from functions.domain.events import DomainEvent, EpisodeChanged, RightsChanged, SeriesChanged
from functions.event_bus import EventBus
from functions.state.keys import EntityKey, EntityKind, episode_key, parse_entity_key
from functions.state.ledger import HistoryEntry, LedgerEntry, SyncLedger
from functions.state.targets import EPISODE_SOURCE, TargetSpec
from infra.flows import FLOWS, EventTrigger
from infra.naming import ResourceNames
from infra.ops import dead_letter_queues

REPLAYABLE = (EntityKind.EPISODE, EntityKind.SERIES)


class NothingToReplay(LookupError):
    """The ledger holds nothing the flows could be given for this entity."""


def parse_entity(text: str) -> EntityKey:
    """`episode#123`, `series#7`, or a bare product id (`123`)."""
    cleaned = text.strip()
    if cleaned.isdigit():
        return episode_key(int(cleaned))
    try:
        key = parse_entity_key(cleaned)
    except InvalidRecord as exc:
        raise ValueError(f"{text!r} is not a product id or an entity key (episode#ID, series#ID)") from exc
    if key.kind not in REPLAYABLE or not key.id.isdigit():
        raise ValueError(f"only episodes and series can be replayed (episode#ID, series#ID), not {text!r}")
    return key


@dataclass(frozen=True)
class Replayed:
    key: EntityKey
    events: list[DomainEvent]
    watched: list[EntityKey]  # whose ledger entries show the flows' decisions


def replay_events(ledger: SyncLedger, key: EntityKey, correlation_id: str) -> Replayed:
    """What the poller would announce for `key`, as the ledger last recorded it."""
    if key.kind is EntityKind.SERIES:
        members = ledger.by_series(key, EPISODE_SOURCE)
        if not members:
            raise NothingToReplay(f"no episode of {key} is in the ledger (the poller has not seen the series)")
        return Replayed(key, [SeriesChanged(series_id=int(key.id), reason="replay", correlation_id=correlation_id)], [key, *(m.key for m in members)])
    source = ledger.get(key, EPISODE_SOURCE)
    if source is None:
        raise NothingToReplay(f"{key} is not in the ledger (the poller has not seen it)")
    episode = source.state.episode
    if episode is None:
        found = "; ".join(f"{f.code}: {f.message}" for f in source.findings) or "no findings recorded"
        raise NothingToReplay(f"{key} maps to no publishable episode, so no flow would take it: {found}")
    events: list[DomainEvent] = [
        EpisodeChanged(episode=episode, content_hash=source.source_hash or episode.content_hash(), previous_hash=source.source_hash, correlation_id=correlation_id)
    ]
    if source.state.rights_hash:
        events.append(RightsChanged(product_id=episode.product_id, rights_hash=source.state.rights_hash, correlation_id=correlation_id))
    if episode.show is not None:
        events.append(SeriesChanged(series_id=episode.show.series_id, reason="replay", correlation_id=correlation_id))
    return Replayed(key, events, [key])


def subscribed_flows(events: Sequence[DomainEvent]) -> list[str]:
    """The flows whose queues take any of these events, in declaration order."""
    detail_types = {event.detail_type for event in events}
    return [d.name for d in FLOWS if isinstance(d.trigger, EventTrigger) and detail_types & set(d.trigger.detail_types)]


# --- reading the decisions from the ledger ------------------------------------------------------------
@dataclass(frozen=True)
class EntrySnapshot:
    version: int
    status: str
    status_reason: str
    history: tuple[HistoryEntry, ...]


Snapshot = dict[tuple[str, str], EntrySnapshot]


@dataclass(frozen=True)
class EntryChange:
    entity: str
    target: str
    status_before: str | None  # None: the entry did not exist
    status_after: str
    status_reason: str
    history: list[str]  # "action: detail" lines the flows added

    def text(self) -> str:
        moved = f"{self.status_before or 'new'} -> {self.status_after}" if self.status_before != self.status_after else self.status_after
        reason = f" ({self.status_reason})" if self.status_reason else ""
        added = f"; {' | '.join(self.history)}" if self.history else ""
        return f"{self.entity} {self.target}: {moved}{reason}{added}"


class LedgerWatch:
    """The ledger entries of some entities, every target declared for their kind."""

    def __init__(self, ledger: SyncLedger, keys: Sequence[EntityKey]):
        self.ledger = ledger
        self.wanted = [(key, spec) for key in keys for spec in _targets_of(key.kind)]

    def snapshot(self) -> Snapshot:
        return {(entry.entity, entry.target): _entry_snapshot(entry) for entry in self.ledger.get_items(self.wanted)}


def _targets_of(kind: EntityKind) -> list[TargetSpec[Any]]:
    return [spec for (spec_kind, _), spec in TargetSpec.registry.items() if spec_kind is kind]


def _entry_snapshot(entry: LedgerEntry[Any]) -> EntrySnapshot:
    return EntrySnapshot(entry.version, str(entry.status), entry.status_reason, tuple(entry.history))


def changes_between(before: Snapshot, after: Snapshot) -> list[EntryChange]:
    changes: list[EntryChange] = []
    for place, now in sorted(after.items()):
        then = before.get(place)
        if then is not None and then.version == now.version:
            continue
        seen = {(h.at, h.action, h.detail) for h in then.history} if then is not None else set()
        added = [f"{h.action}: {h.detail}" if h.detail else h.action for h in now.history if (h.at, h.action, h.detail) not in seen]
        changes.append(EntryChange(place[0], place[1], then.status if then else None, now.status, now.status_reason, added))
    return changes


# --- running the flows -------------------------------------------------------------------------------
@dataclass
class ReplayStep:
    flow: str
    outcome: str  # the invocation's (sandbox), or "observed" (deployed: the flows' changes together)
    changes: list[EntryChange] = field(default_factory=list)
    error: str | None = None

    def decision(self) -> str:
        if self.error:
            return f"{self.outcome}: {self.error}"
        if self.changes:
            return " || ".join(change.text() for change in self.changes)
        return "unchanged (wrote nothing for this entity)"


@dataclass(frozen=True)
class ReplayDeadLetter:
    flow: str
    reason: str


class FlowRunner(Protocol):
    description: str

    def flows(self, wanted: Sequence[str]) -> list[str]:
        """Those of `wanted` that this runner has."""

    def environment(self, flow: str) -> Mapping[str, str] | None:
        """The flow's variables as it runs them (None: the deployed settings)."""

    def run(self, put: Callable[[], None], watch: LedgerWatch, flows: Sequence[str]) -> tuple[list[ReplayStep], bool]:
        """Snapshot, `put` the events, run or observe the flows; (steps, whether they settled)."""

    def dead_letters(self, flows: Sequence[str]) -> list[tuple[str, str, str]]:
        """(flow, body, reason) of the messages in these flows' DLQs."""


class BusObserver:
    """The deployed flows run in AWS: read the ledger until it has been quiet for `quiet`."""

    def __init__(self, names: ResourceNames, sqs: Any, *, wait: timedelta, quiet: timedelta, every: timedelta = timedelta(seconds=3)):
        self.names, self.sqs, self.wait, self.quiet, self.every = names, sqs, wait, quiet, every
        self.description = f"the deployed flows (ledger read every {every.total_seconds():.0f} s until quiet for {quiet.total_seconds():.0f} s, at most {wait.total_seconds():.0f} s)"

    def flows(self, wanted: Sequence[str]) -> list[str]:
        return list(wanted)

    def environment(self, flow: str) -> Mapping[str, str] | None:
        return None

    def run(self, put: Callable[[], None], watch: LedgerWatch, flows: Sequence[str]) -> tuple[list[ReplayStep], bool]:
        before = latest = watch.snapshot()
        put()
        started = last_change = clock().now()
        settled = False
        while clock().now() - started < self.wait:
            clock().sleep(self.every.total_seconds())
            current = watch.snapshot()
            if current != latest:
                latest, last_change = current, clock().now()
            elif clock().now() - last_change >= self.quiet:
                settled = True
                break
        return [ReplayStep(flow=", ".join(flows), outcome="observed", changes=changes_between(before, latest))], settled

    def dead_letters(self, flows: Sequence[str]) -> list[tuple[str, str, str]]:
        found: list[tuple[str, str, str]] = []
        for name in flows:
            try:
                letters = dead_letter_queues.list_dead_letters(self.sqs, self.names, name)
            except dead_letter_queues.QueueNotFound:
                continue
            found += [(letter.flow, letter.body, letter.reason) for letter in letters]
        return found


_installed: Callable[[ResourceNames], FlowRunner] | None = None


def use_flow_runner(factory: Callable[[ResourceNames], FlowRunner] | None) -> Callable[[ResourceNames], FlowRunner] | None:
    """Install who runs the flows for `replay` in this process (the sandbox does); returns the previous."""
    global _installed
    previous, _installed = _installed, factory
    return previous


def installed_flow_runner(names: ResourceNames) -> FlowRunner | None:
    return _installed(names) if _installed is not None else None


# --- the replay ----------------------------------------------------------------------------------------
@dataclass
class ReplayReport:
    entity: str
    correlation_id: str
    events: list[str]
    flows: list[str]
    runner: str
    expected: str | None  # the publisher's own evaluation before the replay (infra.ops plan's)
    steps: list[ReplayStep]
    dead_letters: list[ReplayDeadLetter]
    settled: bool

    def as_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["steps"] = [asdict(step) | {"decision": step.decision()} for step in self.steps]
        return document


def replay(
    ledger: SyncLedger, bus: EventBus, key: EntityKey, runner: FlowRunner, correlation_id: str, expected: str | None = None
) -> ReplayReport:
    replayed = replay_events(ledger, key, correlation_id)
    flows = runner.flows(subscribed_flows(replayed.events))
    steps, settled = runner.run(lambda: bus.publish(replayed.events), LedgerWatch(ledger, replayed.watched), flows)
    shown = [step for step in steps if step.changes or step.error or step.flow in flows]
    letters = [ReplayDeadLetter(flow, reason) for flow, body, reason in runner.dead_letters(flows) if _correlation(body) == correlation_id]
    return ReplayReport(
        entity=str(key),
        correlation_id=correlation_id,
        events=[_event_label(event) for event in replayed.events],
        flows=flows,
        runner=runner.description,
        expected=expected,
        steps=shown,
        dead_letters=letters,
        settled=settled,
    )


def _event_label(event: DomainEvent) -> str:
    return f"{event.detail_type}({event.entity_key()})"


def _correlation(body: str) -> str | None:
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        return None
    return detail.get("correlation_id") if isinstance(detail, dict) else None
