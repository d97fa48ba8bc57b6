"""One declaration per flow: the single source of truth for the CDK stack, its IAM grants, the
dashboard and alarms, the local sandbox's wiring — and for the handler itself, which takes its name,
the events it accepts and the events it may emit from here (`functions/flow_template.py`).

Plain Python (no CDK import), shipped with the functions, so the sandbox, the tests and a running
Lambda read the same declarations without synthesizing anything. `infra/flows.py` re-exports it.

Secrets are declared here too, each once with its purpose, the environment variable that carries its
id and the shape of its value: the stack creates them, the sandbox fills them and the naming
convention places them from these specs, so adding an API's secret is one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from functions.domain.events import (
    AuthorPlaylistChanged,
    AvailabilityChanged,
    ContributorChanged,
    CreatorsCollectionDue,
    DistributionChanged,
    DomainEvent,
    EpisodeChanged,
    EpisodeDelivered,
    EpisodeReevaluationDue,
    IngestCheckDue,
    PromoBriefRequested,
    LicenceChanged,
    LicenceChannelChanged,
    MilestoneReached,
    RightsChanged,
    RightsWindowDue,
    SeriesChanged,
    TakedownReported,
)
from functions.flow_names import FlowName


class Table(StrEnum):
    LEDGER = "ledger"
    CURSORS = "cursors"
    IDEMPOTENCY = "idempotency"
    AVAILABILITY = "availability"


class Bucket(StrEnum):
    """S3 buckets the flows share (created by the stack, named by `infra/naming.py`)."""

    DOCUMENTS = "documents"  # what people read: campaign and promo briefs, reports, delivery packages
    RENDITIONS = "renditions"  # compliant artwork renditions Megaphone fetches instead of the source
    VENUE_DELIVERY = "venue-delivery"  # branded audio export packages for business-music providers
    ANALYTICS = "analytics"  # the listening-analytics store: daily facts and dimensions (Parquet), Athena results
    MEGAPHONE_EXPORT = "megaphone-export"  # where Megaphone drops its delivery export (S3 -> EventBridge)


class Secret(StrEnum):
    CONSONANCE = "consonance"
    MEGAPHONE = "megaphone"
    SPOTIFY = "spotify"  # Spotify app credentials (JSON: client_id, client_secret)
    WEBHOOK = "webhook"  # HMAC signing key shared with senders of signed notices
    SPOTIFY_ACCOUNTS = "spotify-accounts"  # one secret per authorised Spotify account (refresh token)
    SPOTIFY_CREATORS = "spotify-creators"  # UNOFFICIAL: a Spotify for Creators browser session (cookies)


class SecretShape(StrEnum):
    TOKEN = "token"  # a bare API key or token
    CLIENT_CREDENTIALS = "client credentials"  # JSON {"client_id": ..., "client_secret": ...}
    SIGNING_KEYS = "signing keys"  # a key, or a JSON array of keys while rotating (new first)
    ACCOUNT_AUTHORISATION = "account authorisation"  # JSON written by `infra.ops auth` (refresh token ...)
    SESSION_COOKIES = "session cookies"  # JSON {"sp_dc": ..., "sp_key": ...} copied from a logged-in browser


@dataclass(frozen=True)
class SecretSpec:
    """`name` places the secret under the deployment's prefix (`<prefix>/<name>`); a family is a folder
    holding one secret per configured member (`<prefix>/<name>/<member>`), created by the stack for
    each member the deployment configures and written by the ops CLI."""

    name: str
    purpose: str
    env_var: str  # carries the secret id (or, for a family, the folder prefix) into the function
    shape: SecretShape
    generated_is_usable: bool = False  # the stack's generated value is a real key (ours, not a vendor's)
    family: bool = False
    writable: bool = False  # functions may put a new value (a rotated refresh token)


SECRET_SPECS: dict[Secret, SecretSpec] = {
    Secret.CONSONANCE: SecretSpec("consonance-api-key", "Consonance GraphQL API key", "CONSONANCE_SECRET_ID", SecretShape.TOKEN),
    Secret.MEGAPHONE: SecretSpec("megaphone-token", "Megaphone API token", "MEGAPHONE_SECRET_ID", SecretShape.TOKEN),
    Secret.SPOTIFY: SecretSpec(
        "spotify-client",
        'Spotify app credentials, JSON {"client_id": ..., "client_secret": ...}',
        "SPOTIFY_SECRET_ID",
        SecretShape.CLIENT_CREDENTIALS,
    ),
    Secret.WEBHOOK: SecretSpec(
        "webhook-signing-key",
        "HMAC-SHA256 signing key shared with the senders of signed webhooks",
        "WEBHOOK_SECRET_ID",
        SecretShape.SIGNING_KEYS,
        generated_is_usable=True,
    ),
    Secret.SPOTIFY_ACCOUNTS: SecretSpec(
        "spotify-account",
        "Spotify account authorisations (refresh token, scopes, expiry), written by `infra.ops auth spotify`",
        "SPOTIFY_ACCOUNTS_SECRET_PREFIX",
        SecretShape.ACCOUNT_AUTHORISATION,
        family=True,
        writable=True,
    ),
    Secret.SPOTIFY_CREATORS: SecretSpec(
        "spotify-creators-session",
        'UNOFFICIAL Spotify for Creators session of the publisher\'s account, JSON {"sp_dc": ..., "sp_key": ...} '
        "(opt-in per show; see README, Listening analytics)",
        "SPOTIFY_CREATORS_SECRET_ID",
        SecretShape.SESSION_COOKIES,
    ),
}


@dataclass(frozen=True)
class EventTrigger:
    """Consume these domain events from the bus, through the flow's own SQS queue."""

    events: tuple[type[DomainEvent], ...]

    @property
    def detail_types(self) -> tuple[str, ...]:
        return tuple(event.detail_type for event in self.events)


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
class ObjectCreatedTrigger:
    """Objects created in one of the stack's buckets: S3 announces them on EventBridge's default bus
    ("Object Created", source aws.s3), a rule there sends them to the flow's own SQS queue. Only keys
    under the prefix the bucket's settings name reach the queue (the stack's rule filters on it)."""

    bucket: Bucket
    description: str = "objects created in the bucket"

    @property
    def detail_types(self) -> tuple[str, ...]:
        return ("Object Created",)


@dataclass(frozen=True)
class DirectTrigger:
    """Consume these domain events sent straight to the flow's own SQS queue by the flows that name it
    in `sends_to` (SendMessage, in the envelope EventBridge delivers, so the consuming side, `dlq list`
    and the redrive treat them as any event). The reason to skip the bus: a message can be delayed
    (`DelaySeconds`, up to 15 minutes), an EventBridge delivery cannot — work due a known time after
    something happened, such as an ingest check after a create."""

    events: tuple[type[DomainEvent], ...]
    description: str = "messages sent by other flows"

    @property
    def detail_types(self) -> tuple[str, ...]:
        return tuple(event.detail_type for event in self.events)


# SQS's longest message delay (`DelaySeconds`).
MAX_MESSAGE_DELAY_SECONDS = 900


def queue_url_variable(flow_name: str) -> str:
    """The variable carrying a direct-trigger flow's queue URL into the flows that send to it:
    `ingest-follow-up` -> `INGEST_FOLLOW_UP_QUEUE_URL`."""
    return f"{flow_name.upper().replace('-', '_')}_QUEUE_URL"


@dataclass(frozen=True)
class FlowDeclaration:
    name: FlowName
    handler: str  # dotted path "package.module.function"
    description: str
    trigger: EventTrigger | ScheduleTrigger | HttpTrigger | ObjectCreatedTrigger | DirectTrigger
    batch_size: int = 10
    max_receives: int = 5
    timeout_seconds: int = 60
    memory_mb: int = 256
    # Queue flows: the event source's maximum concurrency (AWS minimum 2). Scheduled flows: reserved
    # concurrency. Either way it bounds how many invocations share one API credential's rate limit.
    max_concurrency: int = 2
    reads: tuple[Table, ...] = ()
    writes: tuple[Table, ...] = ()
    bucket_reads: tuple[Bucket, ...] = ()
    bucket_writes: tuple[Bucket, ...] = ()
    secrets: tuple[Secret, ...] = ()
    emits: tuple[type[DomainEvent], ...] = ()
    publishes_alerts: bool = False  # may publish to the operations alerts SNS topic (ALERTS_TOPIC_ARN)
    # Flows with a `DirectTrigger` this flow sends messages to (sqs:SendMessage on their queue, whose
    # URL arrives in `queue_url_variable(name)`).
    sends_to: tuple[str, ...] = ()  # flow names (FlowName members)
    spotify_scopes: tuple[str, ...] = ()  # OAuth scopes the flow needs on the Spotify accounts it uses
    environment: dict[str, str] = field(default_factory=dict)
    # Dependency groups beyond the main layer, each a layer of its own (infra/layer_groups.py): heavy
    # libraries ride only with the functions that import them (pyarrow: "analytics").
    layers: tuple[str, ...] = ()
    runs_athena_queries: bool = False  # may run the rollups on Athena (workgroup, Glue tables, results)

    @property
    def consumes_queue(self) -> bool:
        return isinstance(self.trigger, (EventTrigger, ObjectCreatedTrigger, DirectTrigger))

    @property
    def accepts(self) -> tuple[type[DomainEvent], ...]:
        return self.trigger.events if isinstance(self.trigger, (EventTrigger, DirectTrigger)) else ()

    @property
    def emitted_detail_types(self) -> tuple[str, ...]:
        return tuple(event.detail_type for event in self.emits)

    @property
    def tables(self) -> tuple[Table, ...]:
        return tuple(dict.fromkeys(self.reads + self.writes))

    @property
    def buckets(self) -> tuple[Bucket, ...]:
        return tuple(dict.fromkeys(self.bucket_reads + self.bucket_writes))

    @property
    def visibility_timeout_seconds(self) -> int:
        return 6 * self.timeout_seconds


FLOWS: tuple[FlowDeclaration, ...] = (
    FlowDeclaration(
        name=FlowName.CONSONANCE_POLLER,
        handler="functions.flows.consonance_poller.handler.handler",
        description="Polls Consonance for changed audio products and emits events for real changes only",
        trigger=ScheduleTrigger(every_minutes=15),
        timeout_seconds=300,
        memory_mb=512,
        max_concurrency=1,
        reads=(Table.LEDGER, Table.CURSORS),
        writes=(Table.LEDGER, Table.CURSORS),
        secrets=(Secret.CONSONANCE,),
        emits=(EpisodeChanged, SeriesChanged, RightsChanged),
    ),
    FlowDeclaration(
        name=FlowName.EPISODE_PUBLISHER,
        handler="functions.flows.episode_publisher.handler.handler",
        description="Creates or updates approved, releasable episodes on Megaphone",
        trigger=EventTrigger(events=(EpisodeChanged, EpisodeReevaluationDue)),
        batch_size=5,
        timeout_seconds=120,
        reads=(Table.LEDGER, Table.CURSORS, Table.IDEMPOTENCY),
        writes=(Table.LEDGER, Table.CURSORS, Table.IDEMPOTENCY),
        bucket_writes=(Bucket.RENDITIONS,),
        secrets=(Secret.MEGAPHONE,),
        emits=(EpisodeDelivered, DistributionChanged),
        sends_to=(FlowName.INGEST_FOLLOW_UP,),  # each audio push's ingest check, delayed by the expected ingest time
    ),
    FlowDeclaration(
        name=FlowName.INGEST_CHECKER,
        handler="functions.flows.ingest_checker.handler.handler",
        description="Sweep: checks every episode whose audio Megaphone is ingesting; marks them delivered when processed",
        # The safety net only: every push that leaves an episode awaiting ingest sends its own delayed
        # check to the ingest follow-up; the sweep catches a lost or failed send and a slower ingest.
        trigger=ScheduleTrigger(every_minutes=15),
        timeout_seconds=120,
        max_concurrency=1,
        reads=(Table.LEDGER, Table.CURSORS),
        writes=(Table.LEDGER, Table.CURSORS),
        secrets=(Secret.MEGAPHONE,),
        emits=(EpisodeDelivered, DistributionChanged),
    ),
    FlowDeclaration(
        name=FlowName.INGEST_FOLLOW_UP,
        handler="functions.flows.ingest_checker.follow_up.handler",
        description="Checks a pushed episode's audio ingest once the expected ingest time has passed (the sweep is the safety net)",
        trigger=DirectTrigger(events=(IngestCheckDue,), description="ingest checks of the flows that push audio, delayed by the expected ingest time"),
        batch_size=10,
        timeout_seconds=120,
        reads=(Table.LEDGER, Table.CURSORS),
        writes=(Table.LEDGER, Table.CURSORS),
        secrets=(Secret.MEGAPHONE,),
        emits=(EpisodeDelivered, DistributionChanged),
    ),
    FlowDeclaration(
        name=FlowName.CONSONANCE_WRITEBACK,
        handler="functions.flows.consonance_writeback.handler.handler",
        description="Writes the Spotify link and status back onto the Consonance product",
        trigger=EventTrigger(events=(EpisodeDelivered,)),
        batch_size=10,
        timeout_seconds=60,
        reads=(Table.LEDGER, Table.CURSORS, Table.IDEMPOTENCY),
        writes=(Table.LEDGER, Table.CURSORS, Table.IDEMPOTENCY),
        secrets=(Secret.CONSONANCE,),
    ),
    FlowDeclaration(
        name=FlowName.METADATA_SYNC,
        handler="functions.flows.metadata_sync.handler.handler",
        description="Keeps series order, release sequencing, naming and credits identical on Megaphone",
        trigger=EventTrigger(events=(SeriesChanged,)),
        batch_size=1,
        timeout_seconds=180,
        reads=(Table.LEDGER, Table.CURSORS, Table.IDEMPOTENCY),
        writes=(Table.LEDGER, Table.CURSORS, Table.IDEMPOTENCY),
        bucket_reads=(Bucket.RENDITIONS,),
        secrets=(Secret.MEGAPHONE,),
        emits=(EpisodeReevaluationDue,),
    ),
    FlowDeclaration(
        name=FlowName.RELEASE_SWEEP,
        handler="functions.flows.release_sweep.handler.handler",
        description="Hourly: re-evaluates episodes whose release date arrived; daily drift check per series",
        trigger=ScheduleTrigger(every_minutes=60),
        timeout_seconds=120,
        max_concurrency=1,
        reads=(Table.LEDGER, Table.CURSORS),
        writes=(Table.CURSORS,),
        emits=(EpisodeReevaluationDue, SeriesChanged, RightsWindowDue),
    ),
    FlowDeclaration(
        name=FlowName.RIGHTS_SYNC,
        handler="functions.flows.rights_sync.handler.handler",
        description="Recomputes clearance on rights changes and window edges; releases, holds or withdraws on Spotify",
        trigger=EventTrigger(events=(RightsChanged, RightsWindowDue)),
        batch_size=5,
        timeout_seconds=120,
        reads=(Table.LEDGER, Table.CURSORS, Table.IDEMPOTENCY),
        writes=(Table.LEDGER, Table.CURSORS, Table.IDEMPOTENCY),
        bucket_writes=(Bucket.RENDITIONS,),
        secrets=(Secret.MEGAPHONE,),
        emits=(EpisodeDelivered, DistributionChanged),
        sends_to=(FlowName.INGEST_FOLLOW_UP,),  # a release's ingest check, as the episode publisher's
    ),
    FlowDeclaration(
        name=FlowName.AVAILABILITY_MONITOR,
        handler="functions.flows.availability_monitor.handler.handler",
        description="Polls Megaphone and the Spotify Web API for takedowns and availability changes",
        trigger=ScheduleTrigger(every_minutes=60),
        timeout_seconds=300,
        max_concurrency=1,
        reads=(Table.LEDGER, Table.CURSORS, Table.AVAILABILITY),
        writes=(Table.CURSORS,),
        secrets=(Secret.MEGAPHONE, Secret.SPOTIFY),
        emits=(AvailabilityChanged, DistributionChanged),
    ),
    FlowDeclaration(
        name=FlowName.AVAILABILITY_RECORDER,
        handler="functions.flows.availability_recorder.handler.handler",
        description="Records where each item is live; writes takedowns back to Consonance and raises an alert",
        trigger=EventTrigger(events=(AvailabilityChanged, TakedownReported)),
        batch_size=10,
        timeout_seconds=60,
        reads=(Table.LEDGER, Table.CURSORS, Table.AVAILABILITY, Table.IDEMPOTENCY),
        writes=(Table.LEDGER, Table.CURSORS, Table.AVAILABILITY, Table.IDEMPOTENCY),
        secrets=(Secret.CONSONANCE,),
        emits=(DistributionChanged,),
        publishes_alerts=True,
    ),
    FlowDeclaration(
        name=FlowName.RECONCILER,
        handler="functions.flows.reconciler.handler.handler",
        description="Hourly: re-emits what is out of step between Consonance, the ledger and the targets (daily: reads Consonance and Megaphone)",
        trigger=ScheduleTrigger(every_minutes=60),
        timeout_seconds=600,
        memory_mb=512,
        max_concurrency=1,
        reads=(Table.LEDGER, Table.CURSORS),
        writes=(Table.LEDGER, Table.CURSORS),
        secrets=(Secret.CONSONANCE, Secret.MEGAPHONE),
        emits=(EpisodeChanged, SeriesChanged, RightsChanged, EpisodeReevaluationDue, EpisodeDelivered, MilestoneReached),
    ),
    FlowDeclaration(
        name=FlowName.SPOTIFY_AUTHORISATION_CHECK,
        handler="functions.flows.spotify_authorisation_check.handler.handler",
        description="Daily: days left on each Spotify account's authorisation; alerts before it expires",
        trigger=ScheduleTrigger(every_minutes=24 * 60),
        timeout_seconds=60,
        max_concurrency=1,
        reads=(Table.CURSORS,),
        writes=(Table.CURSORS,),
        secrets=(Secret.SPOTIFY_ACCOUNTS,),
        publishes_alerts=True,
    ),
    FlowDeclaration(
        name=FlowName.WEBHOOK_INGEST,
        handler="functions.flows.webhook_ingest.handler.handler",
        description="Signed webhook: verifies HMAC, timestamp and replay, then turns a valid notice into an event",
        trigger=HttpTrigger(),
        timeout_seconds=10,
        max_concurrency=5,
        reads=(Table.IDEMPOTENCY,),
        writes=(Table.IDEMPOTENCY,),
        secrets=(Secret.WEBHOOK,),
        emits=(TakedownReported,),
    ),
    FlowDeclaration(
        name=FlowName.DISTRIBUTION_FEEDBACK,
        handler="functions.flows.distribution_feedback.handler.handler",
        description="Brings Spotify's distribution problems back to Consonance (link status, internal note) and alerts once",
        trigger=EventTrigger(events=(DistributionChanged,)),
        batch_size=10,
        timeout_seconds=60,
        reads=(Table.LEDGER, Table.CURSORS, Table.AVAILABILITY),
        writes=(Table.LEDGER, Table.CURSORS),
        secrets=(Secret.CONSONANCE,),
        publishes_alerts=True,
    ),
    # contributor promotion ------------------------------------------------------------------------
    FlowDeclaration(
        name=FlowName.CONTRIBUTOR_POLLER,
        handler="functions.flows.contributor_poller.handler.handler",
        description="Polls Consonance for contributors and their works; announces real changes to promotable ones",
        trigger=ScheduleTrigger(every_minutes=60),
        timeout_seconds=300,
        memory_mb=512,
        max_concurrency=1,
        reads=(Table.LEDGER, Table.CURSORS),
        writes=(Table.LEDGER, Table.CURSORS),
        secrets=(Secret.CONSONANCE,),
        emits=(ContributorChanged,),
    ),
    FlowDeclaration(
        name=FlowName.AUTHOR_PLAYLISTS,
        handler="functions.flows.author_playlists.handler.handler",
        description="One playlist per promotable author on the publisher's Spotify account: their episodes, bio and headshot",
        trigger=ScheduleTrigger(every_minutes=60),
        timeout_seconds=300,
        memory_mb=1024,  # a headshot is decoded in memory (a 3000 px PNG is 27 MB as pixels)
        max_concurrency=1,
        reads=(Table.LEDGER, Table.CURSORS, Table.AVAILABILITY),
        writes=(Table.LEDGER, Table.CURSORS),
        secrets=(Secret.SPOTIFY, Secret.SPOTIFY_ACCOUNTS),
        emits=(AuthorPlaylistChanged,),
        publishes_alerts=True,
        spotify_scopes=("playlist-modify-public", "playlist-modify-private", "playlist-read-private", "ugc-image-upload"),
    ),
    FlowDeclaration(
        name=FlowName.PROMO_BRIEFS,
        handler="functions.flows.promo_briefs.handler.handler",
        description="Promo briefs per contributor and campaign (Markdown + JSON in S3, a note in Consonance), when an input changes",
        trigger=EventTrigger(events=(ContributorChanged, AuthorPlaylistChanged, PromoBriefRequested)),
        batch_size=5,
        timeout_seconds=120,
        reads=(Table.LEDGER, Table.CURSORS, Table.IDEMPOTENCY),
        writes=(Table.LEDGER, Table.CURSORS, Table.IDEMPOTENCY),
        bucket_reads=(Bucket.DOCUMENTS,),
        bucket_writes=(Bucket.DOCUMENTS,),
        secrets=(Secret.CONSONANCE, Secret.SPOTIFY),
    ),
    # -------------------------------------------- branded audio for business (functions/domain/licence.py)
    FlowDeclaration(
        name=FlowName.LICENCE_SWEEP,
        handler="functions.flows.licence_sweep.handler.handler",
        description="Reads branded licences from Consonance and moves each through its lifecycle; alerts each expiry once",
        trigger=ScheduleTrigger(every_minutes=15),
        timeout_seconds=300,
        memory_mb=512,
        max_concurrency=1,
        reads=(Table.LEDGER, Table.CURSORS),
        writes=(Table.LEDGER, Table.CURSORS),
        secrets=(Secret.CONSONANCE,),
        emits=(LicenceChanged,),
        publishes_alerts=True,
    ),
    FlowDeclaration(
        name=FlowName.BRAND_SHOW,
        handler="functions.flows.brand_show.handler.handler",
        description="Brand show: a branded episode is live on Spotify (via Megaphone) only inside its licence window",
        trigger=EventTrigger(events=(LicenceChanged, EpisodeDelivered)),
        batch_size=5,
        timeout_seconds=120,
        reads=(Table.LEDGER, Table.CURSORS, Table.IDEMPOTENCY),
        writes=(Table.LEDGER, Table.CURSORS, Table.IDEMPOTENCY),
        bucket_writes=(Bucket.RENDITIONS,),  # the publisher's pre-flight, as the episode publisher's
        secrets=(Secret.MEGAPHONE,),
        emits=(EpisodeDelivered, DistributionChanged, LicenceChannelChanged),
        sends_to=(FlowName.INGEST_FOLLOW_UP,),  # a go-live's ingest check, as the episode publisher's
    ),
    FlowDeclaration(
        name=FlowName.VENUE_DELIVERY,
        handler="functions.flows.venue_delivery.handler.handler",
        description="Venue delivery: publishes a branded asset's export package (audio, metadata, licence terms) and revokes it at the end",
        trigger=EventTrigger(events=(LicenceChanged,)),
        batch_size=2,
        timeout_seconds=300,
        memory_mb=1024,
        reads=(Table.LEDGER, Table.IDEMPOTENCY),
        writes=(Table.LEDGER, Table.IDEMPOTENCY),
        bucket_reads=(Bucket.VENUE_DELIVERY,),
        bucket_writes=(Bucket.VENUE_DELIVERY,),
        emits=(LicenceChannelChanged,),
    ),
    FlowDeclaration(
        name=FlowName.LICENCE_STATUS,
        handler="functions.flows.licence_status.handler.handler",
        description="Shows in Consonance, per branded product, where it is live and until when (status links and a note)",
        trigger=EventTrigger(events=(LicenceChanged, LicenceChannelChanged)),
        batch_size=10,
        timeout_seconds=60,
        reads=(Table.LEDGER, Table.CURSORS),
        writes=(Table.LEDGER, Table.CURSORS),
        secrets=(Secret.CONSONANCE,),
    ),
    FlowDeclaration(
        name=FlowName.BRAND_PLAYLISTS,
        handler="functions.flows.brand_playlists.handler.handler",
        description="Brand playlists: each licensee's live branded episodes on the brand's own Spotify account; removed when a licence ends",
        trigger=EventTrigger(events=(LicenceChanged, LicenceChannelChanged)),
        batch_size=5,
        timeout_seconds=120,
        reads=(Table.LEDGER, Table.CURSORS, Table.IDEMPOTENCY),
        writes=(Table.LEDGER, Table.CURSORS, Table.IDEMPOTENCY),
        secrets=(Secret.SPOTIFY, Secret.SPOTIFY_ACCOUNTS),
        emits=(LicenceChannelChanged,),
        publishes_alerts=True,  # a brand account's lost authorisation is an operator alert
        spotify_scopes=("playlist-modify-public", "playlist-read-private"),
    ),
    # marketing (campaign milestones, issue 7) -------------------------------------------------------
    FlowDeclaration(
        name=FlowName.MILESTONE_DETECTOR,
        handler="functions.flows.milestone_detector.handler.handler",
        description="Hourly: titles entering pre-order, publication or backlist promotion (or whose milestone moved or ended) -> MilestoneReached",
        trigger=ScheduleTrigger(every_minutes=60),
        timeout_seconds=300,
        memory_mb=512,
        max_concurrency=1,
        reads=(Table.LEDGER, Table.CURSORS),
        writes=(Table.LEDGER, Table.CURSORS),
        secrets=(Secret.CONSONANCE,),
        emits=(MilestoneReached,),
    ),
    FlowDeclaration(
        name=FlowName.CAMPAIGN_PLANNER,
        handler="functions.flows.campaign_planner.handler.handler",
        description="Prepares a title milestone's Spotify Ads campaign as validated drafts, its brief in S3 and an internal note in Consonance",
        trigger=EventTrigger(events=(MilestoneReached,)),
        batch_size=1,
        timeout_seconds=300,  # waits (a few minutes at most) for uploaded creatives to be processed
        memory_mb=512,
        reads=(Table.LEDGER, Table.CURSORS, Table.IDEMPOTENCY),
        writes=(Table.LEDGER, Table.CURSORS, Table.IDEMPOTENCY),
        bucket_reads=(Bucket.DOCUMENTS,),
        bucket_writes=(Bucket.DOCUMENTS,),
        secrets=(Secret.CONSONANCE, Secret.SPOTIFY, Secret.SPOTIFY_ACCOUNTS),
        publishes_alerts=True,
    ),
    FlowDeclaration(
        name=FlowName.ADS_REPORT_COLLECTOR,
        handler="functions.flows.ads_report_collector.handler.handler",
        description="Nightly: the prepared campaigns' daily Spotify Ads delivery as analytics facts (Parquet, one batch per day)",
        trigger=ScheduleTrigger(every_minutes=24 * 60),
        timeout_seconds=300,
        memory_mb=512,
        max_concurrency=1,
        reads=(Table.LEDGER, Table.CURSORS),
        writes=(Table.CURSORS,),
        bucket_reads=(Bucket.ANALYTICS,),
        bucket_writes=(Bucket.ANALYTICS,),
        secrets=(Secret.SPOTIFY, Secret.SPOTIFY_ACCOUNTS),
        publishes_alerts=True,
        layers=("analytics",),  # writes Parquet (pyarrow)
    ),
    # ------------------------------------------------------------------------- listening analytics
    FlowDeclaration(
        name=FlowName.ANALYTICS_EXPORT_INGEST,
        handler="functions.flows.analytics_export_ingest.handler.handler",
        description="Megaphone delivery export: each day file (or completion marker) into the day's downloads, replacing earlier figures",
        trigger=ObjectCreatedTrigger(bucket=Bucket.MEGAPHONE_EXPORT, description="Megaphone's export files and completion markers"),
        batch_size=1,  # a day file is a whole invocation's work (5,000 episodes: `make bench`)
        timeout_seconds=300,
        memory_mb=512,  # the goal for a 5,000-episode day; `make bench` measures its peak (about 230 MB)
        reads=(Table.LEDGER,),
        writes=(Table.LEDGER,),
        bucket_reads=(Bucket.MEGAPHONE_EXPORT,),
        bucket_writes=(Bucket.ANALYTICS,),
        layers=("analytics",),
    ),
    FlowDeclaration(
        name=FlowName.ANALYTICS_CREATORS_COLLECTOR,
        handler="functions.flows.analytics_creators_collector.handler.handler",
        description="UNOFFICIAL Spotify for Creators figures of one opted-in show, paced at one request a second",
        trigger=EventTrigger(events=(CreatorsCollectionDue,)),
        batch_size=1,
        timeout_seconds=900,
        memory_mb=512,
        # the SQS event source's minimum; the pace holds across both through a shared one-per-second window
        max_concurrency=2,
        reads=(Table.LEDGER, Table.CURSORS),
        writes=(Table.LEDGER, Table.CURSORS),
        bucket_writes=(Bucket.ANALYTICS,),
        secrets=(Secret.SPOTIFY_CREATORS,),
        emits=(CreatorsCollectionDue,),
        publishes_alerts=True,
        layers=("analytics",),
    ),
    FlowDeclaration(
        name=FlowName.ANALYTICS_NIGHTLY,
        handler="functions.flows.analytics_nightly.handler.handler",
        description="Nightly analytics: dimensions from the ledger and Consonance, missing export days, Creators runs, rollups on Athena, per-work summaries",
        trigger=ScheduleTrigger(every_minutes=24 * 60),
        timeout_seconds=900,
        memory_mb=1024,
        max_concurrency=1,
        reads=(Table.LEDGER, Table.CURSORS),
        writes=(Table.LEDGER, Table.CURSORS),
        bucket_writes=(Bucket.ANALYTICS,),
        secrets=(Secret.CONSONANCE,),
        emits=(CreatorsCollectionDue,),
        layers=("analytics",),
        runs_athena_queries=True,
    ),
)


def flow(name: str) -> FlowDeclaration:
    for declaration in FLOWS:
        if declaration.name == name:
            return declaration
    raise KeyError(name)
