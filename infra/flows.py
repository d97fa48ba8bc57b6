"""One declaration per flow: the single source of truth for the CDK stack, its IAM grants, the
dashboard and alarms, and the local sandbox's wiring. Plain Python (no CDK import), so the sandbox
and tests can read it without synthesizing anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Table(StrEnum):
    LEDGER = "ledger"
    CURSORS = "cursors"
    IDEMPOTENCY = "idempotency"
    AVAILABILITY = "availability"


class Secret(StrEnum):
    CONSONANCE = "consonance"
    MEGAPHONE = "megaphone"
    SPOTIFY = "spotify"  # Spotify Web API app credentials (JSON: client_id, client_secret)
    WEBHOOK = "webhook"  # HMAC signing key shared with senders of signed notices


@dataclass(frozen=True)
class EventTrigger:
    """Consume domain events of these detail-types from the bus, through the flow's own SQS queue."""

    detail_types: tuple[str, ...]


@dataclass(frozen=True)
class ScheduleTrigger:
    """Run on an EventBridge schedule (a producer or a sweep)."""

    every_minutes: int


@dataclass(frozen=True)
class HttpTrigger:
    """A public HTTPS endpoint (a Lambda function URL). It has no IAM auth on purpose: senders are
    outside AWS, and every request is authenticated by its HMAC signature before anything happens."""

    description: str = "signed webhook"


@dataclass(frozen=True)
class FlowDeclaration:
    name: str
    handler: str  # dotted path "package.module.function"
    description: str
    trigger: EventTrigger | ScheduleTrigger | HttpTrigger
    batch_size: int = 10
    max_receives: int = 5
    timeout_seconds: int = 60
    memory_mb: int = 256
    # Queue flows: the event source's maximum concurrency (AWS minimum 2). Scheduled flows: reserved
    # concurrency. Either way it bounds how many invocations share one API credential's rate limit.
    max_concurrency: int = 2
    reads: tuple[Table, ...] = ()
    writes: tuple[Table, ...] = ()
    secrets: tuple[Secret, ...] = ()
    emits: tuple[str, ...] = ()
    publishes_alerts: bool = False  # may publish to the operations alerts SNS topic (ALERTS_TOPIC_ARN)
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def consumes_queue(self) -> bool:
        return isinstance(self.trigger, EventTrigger)

    @property
    def tables(self) -> tuple[Table, ...]:
        return tuple(dict.fromkeys(self.reads + self.writes))

    @property
    def visibility_timeout_seconds(self) -> int:
        return 6 * self.timeout_seconds


FLOWS: tuple[FlowDeclaration, ...] = (
    FlowDeclaration(
        name="consonance-poller",
        handler="functions.flows.consonance_poller.handler.handler",
        description="Polls Consonance for changed audio products and emits events for real changes only",
        trigger=ScheduleTrigger(every_minutes=15),
        timeout_seconds=300,
        memory_mb=512,
        max_concurrency=1,
        reads=(Table.LEDGER, Table.CURSORS),
        writes=(Table.LEDGER, Table.CURSORS),
        secrets=(Secret.CONSONANCE,),
        emits=("EpisodeChanged", "SeriesChanged", "RightsChanged"),
    ),
    FlowDeclaration(
        name="episode-publisher",
        handler="functions.flows.episode_publisher.handler.handler",
        description="Creates or updates approved, releasable episodes on Megaphone",
        trigger=EventTrigger(detail_types=("EpisodeChanged", "EpisodeReevaluationDue")),
        batch_size=5,
        timeout_seconds=120,
        reads=(Table.LEDGER, Table.CURSORS, Table.IDEMPOTENCY),
        writes=(Table.LEDGER, Table.CURSORS, Table.IDEMPOTENCY),
        secrets=(Secret.MEGAPHONE,),
        emits=("EpisodeDelivered",),
    ),
    FlowDeclaration(
        name="ingest-checker",
        handler="functions.flows.ingest_checker.handler.handler",
        description="Checks episodes whose audio Megaphone is ingesting; marks them delivered when processed",
        trigger=ScheduleTrigger(every_minutes=5),
        timeout_seconds=120,
        max_concurrency=1,
        reads=(Table.LEDGER, Table.CURSORS),
        writes=(Table.LEDGER, Table.CURSORS),
        secrets=(Secret.MEGAPHONE,),
        emits=("EpisodeDelivered",),
    ),
    FlowDeclaration(
        name="consonance-writeback",
        handler="functions.flows.consonance_writeback.handler.handler",
        description="Writes the Spotify link and status back onto the Consonance product",
        trigger=EventTrigger(detail_types=("EpisodeDelivered",)),
        batch_size=10,
        timeout_seconds=60,
        reads=(Table.LEDGER, Table.CURSORS, Table.IDEMPOTENCY),
        writes=(Table.LEDGER, Table.CURSORS, Table.IDEMPOTENCY),
        secrets=(Secret.CONSONANCE,),
    ),
    FlowDeclaration(
        name="metadata-sync",
        handler="functions.flows.metadata_sync.handler.handler",
        description="Keeps series order, release sequencing, naming and credits identical on Megaphone",
        trigger=EventTrigger(detail_types=("SeriesChanged",)),
        batch_size=1,
        timeout_seconds=180,
        # IDEMPOTENCY: its consumer remembers applied SeriesChanged deliveries (sqs_batch idempotency)
        reads=(Table.LEDGER, Table.CURSORS, Table.IDEMPOTENCY),
        writes=(Table.LEDGER, Table.CURSORS, Table.IDEMPOTENCY),
        secrets=(Secret.MEGAPHONE,),
        emits=("EpisodeReevaluationDue",),
    ),
    FlowDeclaration(
        name="release-sweep",
        handler="functions.flows.release_sweep.handler.handler",
        description="Hourly: re-evaluates episodes whose release date arrived; daily drift check per series",
        trigger=ScheduleTrigger(every_minutes=60),
        timeout_seconds=120,
        max_concurrency=1,
        reads=(Table.LEDGER, Table.CURSORS),
        writes=(Table.CURSORS,),
        emits=("EpisodeReevaluationDue", "SeriesChanged", "RightsWindowDue"),
    ),
    FlowDeclaration(
        name="rights-sync",
        handler="functions.flows.rights_sync.handler.handler",
        description="Recomputes clearance on rights changes and window edges; releases, holds or withdraws on Spotify",
        trigger=EventTrigger(detail_types=("RightsChanged", "RightsWindowDue")),
        batch_size=5,
        timeout_seconds=120,
        reads=(Table.LEDGER, Table.CURSORS, Table.IDEMPOTENCY),
        writes=(Table.LEDGER, Table.CURSORS, Table.IDEMPOTENCY),
        secrets=(Secret.MEGAPHONE,),
        emits=("EpisodeDelivered",),
    ),
    FlowDeclaration(
        name="availability-monitor",
        handler="functions.flows.availability_monitor.handler.handler",
        description="Polls Megaphone and the Spotify Web API for takedowns and availability changes",
        trigger=ScheduleTrigger(every_minutes=60),
        timeout_seconds=300,
        max_concurrency=1,
        reads=(Table.LEDGER, Table.CURSORS, Table.AVAILABILITY),
        writes=(Table.CURSORS,),
        secrets=(Secret.MEGAPHONE, Secret.SPOTIFY),
        emits=("AvailabilityChanged",),
    ),
    FlowDeclaration(
        name="availability-recorder",
        handler="functions.flows.availability_recorder.handler.handler",
        description="Records where each item is live; writes takedowns back to Consonance and raises an alert",
        trigger=EventTrigger(detail_types=("AvailabilityChanged", "TakedownReported")),
        batch_size=10,
        timeout_seconds=60,
        reads=(Table.LEDGER, Table.CURSORS, Table.AVAILABILITY, Table.IDEMPOTENCY),
        writes=(Table.LEDGER, Table.CURSORS, Table.AVAILABILITY, Table.IDEMPOTENCY),
        secrets=(Secret.CONSONANCE,),
        publishes_alerts=True,
    ),
    FlowDeclaration(
        name="webhook-ingest",
        handler="functions.flows.webhook_ingest.handler.handler",
        description="Signed webhook: verifies HMAC, timestamp and replay, then turns a valid notice into an event",
        trigger=HttpTrigger(),
        timeout_seconds=10,
        max_concurrency=5,
        reads=(Table.IDEMPOTENCY,),
        writes=(Table.IDEMPOTENCY,),
        secrets=(Secret.WEBHOOK,),
        emits=("TakedownReported",),
    ),
)


def flow(name: str) -> FlowDeclaration:
    for declaration in FLOWS:
        if declaration.name == name:
            return declaration
    raise KeyError(name)
