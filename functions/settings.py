"""Configuration, read once per cold start from the environment the CDK stack (or the sandbox) sets.

One pydantic model per concern — the core wiring every flow has, the HTTP policy, and one model per
external system — each mapping its fields to environment variables by upper-case name. A flow loads
only the models for the systems its declaration lets it call (`FlowSettings`), at cold start, and a
missing or malformed variable stops it there with an error naming the variable, what it is for and the
CDK context key that sets it. Nothing falls back to a sandbox value in a deployed function: a value
that only the sandbox knows (a Megaphone network id, the secrets' ids) has no default here.

Every tunable the design calls "configurable" lives here with its default, so operators have one place
to look; the Consonance → domain mapping (`MappingConfig`) lives with the Consonance adapter.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import cached_property
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from functions.analytics.download_counting import DownloadCounting
from functions.mapping_config import MappingConfig
from functions.preflight.settings import MIB, PreflightSettings
from functions.marketing.config import MarketingConfig
from functions.flow_declarations import FLOWS, MAX_MESSAGE_DELAY_SECONDS, Bucket, DirectTrigger, FlowDeclaration, Secret, Table, queue_url_variable


class ConfigurationError(RuntimeError):
    """The function's environment is missing or has a malformed setting; nothing can run until the
    deployment is fixed. Raised at cold start, so the first invocation fails loudly and says why."""


class EnvironmentSettings(BaseModel):
    """Fields map to environment variables by upper-case name; `context_keys` names the CDK context key
    that sets a variable, for the error message."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    context_keys: ClassVar[dict[str, str]] = {}

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Self:
        env = os.environ if environ is None else environ
        values = {name: env[name.upper()] for name in cls.model_fields if name.upper() in env}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise ConfigurationError(_describe(cls, exc.errors())) from None

    @classmethod
    def invalid_values(cls, environ: Mapping[str, str]) -> list[str]:
        """What is wrong with the values that ARE set (a missing one is not reported here): `make synth`
        runs this on each flow's environment, so a malformed setting stops synthesis, not a Lambda."""
        values = {name: environ[name.upper()] for name in cls.model_fields if name.upper() in environ}
        try:
            cls.model_validate(values)
        except ValidationError as exc:
            invalid = [error for error in exc.errors() if error["type"] != "missing"]
            return [_describe(cls, invalid)] if invalid else []
        return []

    @classmethod
    def variables(cls) -> set[str]:
        return {name.upper() for name in cls.model_fields}


def _describe(model: type[EnvironmentSettings], errors: Any) -> str:
    problems = []
    for error in errors:
        field = str(error["loc"][0]) if error["loc"] else "?"
        variable = field.upper()
        info = model.model_fields.get(field)
        purpose = f" ({info.description})" if info is not None and info.description else ""
        context = model.context_keys.get(field)
        how = f"; set CDK context '{context}'" if context else ""
        # Where inside a JSON value, and what was there: "at '42': Input should be a valid string (got 7)".
        inside = ".".join(str(part) for part in error["loc"][1:])
        where = f" at {inside!r}" if inside else ""
        got = f" (got {error['input']!r:.60})" if inside and "input" in error else ""
        problem = "is not set" if error["type"] == "missing" else f"is invalid{where}: {error['msg']}{got}"
        problems.append(f"{variable}{purpose} {problem}{how}")
    return f"{model.__name__}: " + "; ".join(problems)


def _json_object(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


class CoreSettings(EnvironmentSettings):
    """What every flow is wired with by the stack."""

    event_bus_name: str = Field(description="the EventBridge bus domain events go to")
    event_source: str = Field(default="consonance-spotify", description="the `source` of the events this bundle puts")
    dead_letter_queue_url: str | None = Field(default=None, description="the flow's own DLQ (queue flows)")
    max_receives: int = Field(default=5, ge=1, description="receives before a record is dead-lettered")
    alerts_topic_arn: str | None = Field(default=None, description="the operations alerts SNS topic (flows that alert)")
    mapping: MappingConfig = Field(default_factory=MappingConfig, description="the Consonance -> domain mapping (JSON)")
    # The Spotify markets where availability is watched (ISO 3166-1 alpha-2): the monitor asks about
    # them, the recorder reads "worldwide" in a notice as them (and any market already recorded).
    spotify_markets: tuple[str, ...] = Field(default=("GB", "US", "IE", "AU", "CA", "DE"), description="markets watched")

    # The reconciler re-emits a create intent older than this (its answer was lost, its retry never came).
    reconcile_stuck_after_minutes: int = Field(default=60, gt=0, description="minutes before a create intent counts as stuck")
    # ... and re-emits a remedy that did not help again after that pause, doubled each time up to this.
    reconcile_retry_cap_minutes: int = Field(default=24 * 60, gt=0, description="longest pause between two re-emissions of one remedy")
    # Where people open the documents the flows write (briefs, reports): a base URL in front of the
    # documents bucket (e.g. an authenticated CloudFront); unset, links open the object in the S3 console.
    documents_base_url: str | None = Field(default=None, description="base URL for links to documents")

    # Distribution feedback: an episode Megaphone published that Spotify has not served in any watched
    # market this long after is a problem (inferred: Spotify shows new Megaphone episodes within hours).
    spotify_playable_within_hours: int = Field(default=24, gt=0, description="hours Spotify may take to make an episode playable")

    context_keys: ClassVar[dict[str, str]] = {
        "mapping": "consonanceMapping",
        "spotify_markets": "spotifyMarkets",
        "documents_base_url": "documentsBaseUrl",
        "spotify_playable_within_hours": "spotifyPlayableWithinHours",
    }

    @field_validator("spotify_markets", mode="before")
    @classmethod
    def _parse_markets(cls, value: object) -> object:
        return tuple(m.strip().upper() for m in value.split(",") if m.strip()) if isinstance(value, str) else value

    @field_validator("mapping", mode="before")
    @classmethod
    def _parse_mapping(cls, value: object) -> object:
        return _json_object(value)


class HttpSettings(EnvironmentSettings):
    http_timeout_seconds: float = Field(default=10.0, gt=0, description="per request")
    http_max_attempts: int = Field(default=4, ge=1, description="attempts of an idempotent request (429/5xx/timeouts)")
    http_backoff_cap_seconds: float = Field(default=20.0, gt=0, description="longest wait between attempts")
    # Media files (covers, masters, headshots, spots) are large and slow next to API answers.
    media_fetch_timeout_seconds: float = Field(default=30.0, gt=0, description="per network operation of a media fetch")
    # below the publisher's Lambda timeout: a download that takes longer is retried by the queue, and
    # the checks finished before it are kept in the ledger, so the retry does not fetch them again
    media_fetch_deadline_seconds: float = Field(default=60.0, gt=0, description="longest a whole media download may take")


class ConsonanceSettings(EnvironmentSettings):
    consonance_url: str = Field(default="https://web.consonance.app/graphql", description="Consonance GraphQL endpoint")
    consonance_secret_id: str = Field(description="the Secrets Manager id of the Consonance API key")
    consonance_rate_per_minute: int = Field(default=120, gt=0, description="requests per minute per API key")
    # The Spotify episode URL written onto the Consonance product.
    spotify_show_url: str = Field(default="https://open.spotify.com/episode/{spotify_id}", description="Spotify link template")

    context_keys: ClassVar[dict[str, str]] = {"consonance_url": "consonanceUrl", "consonance_rate_per_minute": "consonanceRatePerMinute"}


# The deployed pre-flight's defaults where they differ from PreflightSettings' own: a master is spooled
# to /tmp, which is 512 MB under SnapStart, so the read cap stays below it.
DEPLOYED_PREFLIGHT_DEFAULTS: dict[str, Any] = {"audio_fetch_max_bytes": 480 * MIB}


class MegaphoneSettings(EnvironmentSettings):
    megaphone_url: str = Field(default="https://cms.megaphone.fm/api", description="Megaphone CMS API base URL")
    megaphone_secret_id: str = Field(description="the Secrets Manager id of the Megaphone token")
    megaphone_network_id: str = Field(min_length=1, description="the publisher's Megaphone network id")
    # facts sheet: 60/min per token (unverified; keep configurable)
    megaphone_rate_per_minute: int = Field(default=60, gt=0, description="requests per minute per token")
    megaphone_podcasts: dict[str, str] = Field(default_factory=dict, description="Consonance series id -> Megaphone podcast id (JSON)")
    megaphone_explicit_value: str = Field(default="clean", description="Megaphone's `explicit` value for clean episodes")
    # Inferred, not a published fact (the facts sheet only says the ingest is asynchronous): how long
    # Megaphone usually takes to ingest an episode's audio. A push's ingest check is delayed by
    # this much (an SQS message delay, hence at most 900 s); a slower ingest is picked up by the
    # ingest checker's sweep, so too short costs one extra read, too long only delays delivery.
    megaphone_ingest_seconds: int = Field(
        default=120, ge=0, le=MAX_MESSAGE_DELAY_SECONDS, description="expected audio ingest time (inferred), the ingest check's delay"
    )
    # Distribution pre-flight (functions/preflight/settings.py lists every limit and its source).
    preflight: PreflightSettings = Field(
        default_factory=lambda: PreflightSettings(**DEPLOYED_PREFLIGHT_DEFAULTS), description="pre-flight limits (JSON)"
    )
    renditions_base_url: str | None = Field(
        default=None, description="public base URL in front of the renditions bucket (CloudFront); unset: pre-signed URLs"
    )
    renditions_url_expiry_seconds: int = Field(default=7 * 24 * 3600, ge=60, le=7 * 24 * 3600, description="life of a pre-signed rendition URL")

    context_keys: ClassVar[dict[str, str]] = {
        "megaphone_url": "megaphoneUrl",
        "megaphone_network_id": "megaphoneNetworkId",
        "megaphone_rate_per_minute": "megaphoneRatePerMinute",
        "megaphone_ingest_seconds": "megaphoneIngestSeconds",
        "megaphone_podcasts": "megaphonePodcasts",
        "preflight": "distributionPreflight",
        "renditions_base_url": "renditionsBaseUrl",
    }

    @field_validator("megaphone_podcasts", mode="before")
    @classmethod
    def _parse_podcasts(cls, value: object) -> object:
        return _json_object(value)

    @field_validator("megaphone_podcasts")
    @classmethod
    def _series_ids_and_podcast_ids(cls, podcasts: dict[str, str]) -> dict[str, str]:
        """Keys are Consonance series ids (integers); values Megaphone podcast ids (never blank)."""
        not_ids = [key for key in podcasts if not key.strip().isdigit()]
        if not_ids:
            raise ValueError(f"keys must be Consonance series ids (integers), got {not_ids[:5]}")
        blank = [key for key, podcast in podcasts.items() if not podcast.strip()]
        if blank:
            raise ValueError(f"the Megaphone podcast id is blank for series {blank[:5]}")
        return podcasts

    @field_validator("preflight", mode="before")
    @classmethod
    def _parse_preflight(cls, value: object) -> object:
        return deployed_preflight(value)

    def preflight_rules(self) -> PreflightSettings:
        return preflight_rules(self.preflight, self.megaphone_explicit_value)


def deployed_preflight(value: object) -> object:
    """The PREFLIGHT setting (JSON text or an object) over the deployed defaults."""
    parsed = _json_object(value)
    return {**DEPLOYED_PREFLIGHT_DEFAULTS, **parsed} if isinstance(parsed, dict) else parsed


def preflight_rules(preflight: PreflightSettings, clean_value: str) -> PreflightSettings:
    """The pre-flight's limits; Megaphone's value for a clean episode is `megaphone_explicit_value`
    unless the pre-flight settings name one themselves (one setting, not two that can disagree)."""
    if "megaphone_explicit_values" in preflight.model_fields_set:
        return preflight
    values = {True: preflight.megaphone_explicit_values[True], False: clean_value}
    return preflight.model_copy(update={"megaphone_explicit_values": values})


class SpotifySettings(EnvironmentSettings):
    spotify_secret_id: str = Field(description="the Secrets Manager id of the Spotify app's client credentials")
    spotify_accounts_url: str = Field(default="https://accounts.spotify.com", description="Spotify Accounts service")
    spotify_api_url: str = Field(default="https://api.spotify.com/v1", description="Spotify Web API base URL")
    # the Web API counts a rolling 30 s window; stay well inside it
    spotify_rate_per_minute: int = Field(default=120, gt=0, description="Web API requests per minute per app")

    context_keys: ClassVar[dict[str, str]] = {
        "spotify_accounts_url": "spotifyAccountsUrl",
        "spotify_api_url": "spotifyApiUrl",
        "spotify_rate_per_minute": "spotifyRatePerMinute",
    }


class SpotifyAccountSettings(EnvironmentSettings):
    """The Spotify accounts (a publisher's or brand's own) authorised with the authorization-code flow."""

    spotify_accounts_secret_prefix: str = Field(description="the Secrets Manager folder holding one authorisation per account")
    spotify_accounts: tuple[str, ...] = Field(default=(), description="names of the authorised accounts (comma-separated)")
    # Spotify: refresh tokens expire six months after the user's authorisation (2026).
    spotify_refresh_token_lifetime_days: int = Field(default=182, gt=0, description="days a refresh token lives")
    spotify_authorisation_warning_days: int = Field(default=14, gt=0, description="alert this many days before expiry")

    context_keys: ClassVar[dict[str, str]] = {"spotify_accounts": "spotifyAccounts"}

    @field_validator("spotify_accounts", mode="before")
    @classmethod
    def _parse_accounts(cls, value: object) -> object:
        return tuple(a.strip() for a in value.split(",") if a.strip()) if isinstance(value, str) else value

    def secret_id(self, account: str) -> str:
        return f"{self.spotify_accounts_secret_prefix.rstrip('/')}/{account}"


class WebhookSettings(EnvironmentSettings):
    webhook_secret_id: str = Field(description="the Secrets Manager id of the webhook signing key(s)")
    webhook_tolerance_seconds: int = Field(default=300, gt=0, le=3600, description="accepted clock skew / replay window")

    context_keys: ClassVar[dict[str, str]] = {"webhook_tolerance_seconds": "webhookToleranceSeconds"}


# marketing (campaign milestones, issue 7) ------------------------------------------------------------
class MarketingSettings(EnvironmentSettings):
    """The marketing flows' configuration: milestone rules, targeting table, campaign templates, copy."""

    marketing: MarketingConfig = Field(default_factory=MarketingConfig, description="milestone rules, targeting and campaigns (JSON)")

    context_keys: ClassVar[dict[str, str]] = {"marketing": "marketing"}

    @field_validator("marketing", mode="before")
    @classmethod
    def _parse_marketing(cls, value: object) -> object:
        return _json_object(value)


class SpotifyAdsSettings(EnvironmentSettings):
    """The Ads API as used with an authorised Spotify account (its user token: the API asks no scopes)."""

    spotify_ads_url: str = Field(default="https://api-partner.spotify.com/ads/v3", description="Spotify Ads API base URL")
    spotify_ads_account: str | None = Field(default=None, description="the authorised Spotify account whose token reaches the ad account")
    spotify_ads_ad_account_id: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", description="the Ads API ad account id"
    )
    # facts sheet: 1,500 requests per 30 s per client (older docs; newer ones give no numbers)
    spotify_ads_rate_per_minute: int = Field(default=1200, gt=0, description="Ads API requests per minute")
    # Publishing stays a person's decision in Ads Manager; an ad account listed here is published by
    # the integration as soon as its drafts validate (explicit, per ad account).
    spotify_ads_auto_publish: tuple[str, ...] = Field(default=(), description="ad account ids the integration may publish to (comma-separated)")
    spotify_ads_asset_first_poll_seconds: float = Field(default=60.0, ge=0, description="wait before the first readiness check of an upload")
    spotify_ads_asset_poll_seconds: float = Field(default=30.0, gt=0, description="between readiness checks")
    spotify_ads_asset_wait_seconds: float = Field(default=180.0, gt=0, description="longest an invocation waits for processing")
    spotify_ads_report_lookback_days: int = Field(default=3, ge=1, le=90, description="days collected again each night (figures settle)")

    context_keys: ClassVar[dict[str, str]] = {
        "spotify_ads_url": "spotifyAdsUrl",
        "spotify_ads_account": "spotifyAdsAccount",
        "spotify_ads_ad_account_id": "spotifyAdsAdAccountId",
        "spotify_ads_rate_per_minute": "spotifyAdsRatePerMinute",
        "spotify_ads_auto_publish": "spotifyAdsAutoPublish",
    }

    @field_validator("spotify_ads_auto_publish", mode="before")
    @classmethod
    def _parse_ad_accounts(cls, value: object) -> object:
        return tuple(a.strip() for a in value.split(",") if a.strip()) if isinstance(value, str) else value

    def configured(self) -> tuple[str, str]:
        """(authorised account, ad account id), or ConfigurationError naming what is missing."""
        missing = [name.upper() for name in ("spotify_ads_account", "spotify_ads_ad_account_id") if getattr(self, name) is None]
        if missing:
            keys = ", ".join(f"'{self.context_keys[name.lower()]}'" for name in missing)
            raise ConfigurationError(f"SpotifyAdsSettings: {', '.join(missing)} not set; set CDK context {keys}")
        assert self.spotify_ads_account is not None and self.spotify_ads_ad_account_id is not None
        return self.spotify_ads_account, self.spotify_ads_ad_account_id


# Settings of features without a secret of their own: the flows that use them load them at cold start
# (their dependency factories), and synthesis checks them for every flow they reach (None: every flow).
FEATURE_SETTINGS: dict[Secret | None, tuple[type[EnvironmentSettings], ...]] = {
    None: (MarketingSettings,),
    Secret.SPOTIFY_ACCOUNTS: (SpotifyAdsSettings,),
}
# ------------------------------------------------------------------------------- listening analytics
def _comma_list(value: object) -> object:
    """"A01, E07" or a JSON list -> a tuple of stripped, non-empty strings."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            value = json.loads(text)
        else:
            return tuple(part.strip() for part in text.split(",") if part.strip())
    return tuple(str(part).strip() for part in value) if isinstance(value, (list, tuple)) else value


class AnalyticsSettings(EnvironmentSettings):
    """The listening-analytics store and what the analytics flows do with it (flows using Bucket.ANALYTICS).

    The Glue database, the Athena workgroup and its result location are the stack's resources: the
    stack wires them into the flows that run Athena queries (`runs_athena_queries`)."""

    analytics_prefix: str = Field(default="", description="key prefix of the store inside the analytics bucket")
    analytics_glue_database: str | None = Field(default=None, description="the Glue database of the facts and dimension tables")
    analytics_athena_workgroup: str | None = Field(default=None, description="the Athena workgroup the rollups run in")
    analytics_athena_output_location: str | None = Field(default=None, description="s3:// location of Athena's query results")
    analytics_report_url: str | None = Field(
        default=None, description="where people open the full HTML report (linked from each work's summary in Consonance)"
    )
    # ONIX list 17 roles that make a contributor an "author" group in the rollups.
    analytics_author_roles: tuple[str, ...] = Field(default=("A01",), description="contributor roles counted as authors")
    # Audio works whose own work has no book: the book works their launches are compared against, by
    # the audio's Consonance series id (a companion podcast -> the novels it accompanies).
    analytics_related_books: dict[str, tuple[int, ...]] = Field(
        default_factory=dict, description="Consonance series id -> related book work ids (JSON)"
    )
    # Which of a work's products are "the book" whose publication audio is compared with.
    analytics_book_product_types: tuple[str, ...] = Field(
        default=("ElectronicBookProduct", "PhysicalBookProduct"), description="Consonance product types that are books"
    )
    # Export days older than this without a file are reported missing (Megaphone has no backfill).
    analytics_missing_days_lookback: int = Field(default=14, ge=1, description="days checked for a missing export")
    # Spotify for Creators is UNOFFICIAL: off unless enabled, and then only for the shows listed.
    creators_enabled: bool = Field(default=False, description="collect unofficial Spotify for Creators figures")
    creators_shows: dict[str, int] = Field(
        default_factory=dict, description="opted-in Spotify show id -> its Consonance series id (JSON)"
    )
    creators_backfill_days: int = Field(default=28, ge=1, description="days a show's first collection reaches back")
    creators_recollect_days: int = Field(default=3, ge=1, description="recent days collected again each night (late figures)")

    context_keys: ClassVar[dict[str, str]] = {
        "analytics_prefix": "analyticsPrefix",
        "analytics_report_url": "analyticsReportUrl",
        "analytics_author_roles": "analyticsAuthorRoles",
        "analytics_related_books": "analyticsRelatedBooks",
        "creators_enabled": "creatorsEnabled",
        "creators_shows": "creatorsShows",
    }

    @field_validator("analytics_author_roles", "analytics_book_product_types", mode="before")
    @classmethod
    def _parse_roles(cls, value: object) -> object:
        return _comma_list(value)

    @field_validator("analytics_related_books", "creators_shows", mode="before")
    @classmethod
    def _parse_json(cls, value: object) -> object:
        return _json_object(value)

    @field_validator("analytics_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return value.strip("/")


class MegaphoneExportSettings(EnvironmentSettings):
    """Where Megaphone drops its delivery export and which deliveries count (flows reading Bucket.MEGAPHONE_EXPORT).

    The counting rules are inferred (ANALYTICS-FACTS.md §b: dedupe and IAB filtering are the
    integrator's job): `functions.analytics.megaphone_export.DownloadCounting`, as JSON."""

    megaphone_export_prefix: str = Field(default="", description="key prefix Megaphone writes under in the export bucket")
    megaphone_export_counting: DownloadCounting = Field(default_factory=DownloadCounting, description="download counting rules (JSON)")

    context_keys: ClassVar[dict[str, str]] = {
        "megaphone_export_prefix": "megaphoneExportPrefix",
        "megaphone_export_counting": "megaphoneExportCounting",
    }

    @field_validator("megaphone_export_counting", mode="before")
    @classmethod
    def _parse_counting(cls, value: object) -> object:
        return _json_object(value)

    @field_validator("megaphone_export_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return value.strip("/")


class SpotifyCreatorsSettings(EnvironmentSettings):
    """The UNOFFICIAL Spotify for Creators dashboard endpoints (flows declaring Secret.SPOTIFY_CREATORS)."""

    spotify_creators_secret_id: str = Field(description="the Secrets Manager id of the Creators session cookies")
    spotify_creators_accounts_url: str = Field(default="https://accounts.spotify.com", description="the web login's host")
    spotify_creators_api_url: str = Field(
        default="https://generic.wg.spotify.com/podcasters/v0", description="the dashboard's analytics API"
    )
    # One request a second per account (ANALYTICS-FACTS.md §a3), across every concurrent collector.
    spotify_creators_min_interval_seconds: float = Field(default=1.0, gt=0, description="seconds between two requests")

    context_keys: ClassVar[dict[str, str]] = {"spotify_creators_api_url": "spotifyCreatorsApiUrl"}


# Which settings a flow loads, by the secrets its declaration names.
CONNECTOR_SETTINGS: dict[Secret, type[EnvironmentSettings]] = {
    Secret.CONSONANCE: ConsonanceSettings,
    Secret.MEGAPHONE: MegaphoneSettings,
    Secret.SPOTIFY: SpotifySettings,
    Secret.SPOTIFY_ACCOUNTS: SpotifyAccountSettings,
    Secret.WEBHOOK: WebhookSettings,
    Secret.SPOTIFY_CREATORS: SpotifyCreatorsSettings,
}
BUCKET_VARIABLES: dict[Bucket, str] = {bucket: f"{bucket.name}_BUCKET" for bucket in Bucket}  # DOCUMENTS_BUCKET ...
# Which settings a flow loads, by the buckets its declaration names (a bucket's own configuration).
BUCKET_SETTINGS: dict[Bucket, type[EnvironmentSettings]] = {
    Bucket.ANALYTICS: AnalyticsSettings,
    Bucket.MEGAPHONE_EXPORT: MegaphoneExportSettings,
}
TABLE_VARIABLES: dict[Table, str] = {
    Table.LEDGER: "LEDGER_TABLE",
    Table.CURSORS: "CURSORS_TABLE",
    Table.IDEMPOTENCY: "IDEMPOTENCY_TABLE",
    Table.AVAILABILITY: "AVAILABILITY_TABLE",
}


SETTINGS_MODELS: tuple[type[EnvironmentSettings], ...] = (
    CoreSettings,
    HttpSettings,
    *CONNECTOR_SETTINGS.values(),
    *BUCKET_SETTINGS.values(),
    *(model for models in FEATURE_SETTINGS.values() for model in models),
)


# The queue URLs of the direct-trigger flows, given to the flows that send to them.
QUEUE_URL_VARIABLES: frozenset[str] = frozenset(queue_url_variable(f.name) for f in FLOWS if isinstance(f.trigger, DirectTrigger))


def known_variables() -> set[str]:
    """Every environment variable some settings model reads, the tables' names and the queue URLs."""
    return set().union(
        *(model.variables() for model in SETTINGS_MODELS), TABLE_VARIABLES.values(), BUCKET_VARIABLES.values(), QUEUE_URL_VARIABLES
    )


class FlowSettings:
    """The settings one flow may use, loaded and validated together from its environment.

    Asking for a system the flow's declaration does not name is a programming error, reported as
    such — the deployed function would have neither the variables nor the permissions for it."""

    def __init__(self, declaration: FlowDeclaration, environ: Mapping[str, str] | None = None):
        env = dict(os.environ if environ is None else environ)
        self.declaration = declaration
        self.core = CoreSettings.from_environment(env)
        self.http = HttpSettings.from_environment(env)
        self._connectors: dict[Secret, EnvironmentSettings] = {
            secret: CONNECTOR_SETTINGS[secret].from_environment(env) for secret in declaration.secrets if secret in CONNECTOR_SETTINGS
        }
        missing = [TABLE_VARIABLES[t] for t in declaration.tables if not env.get(TABLE_VARIABLES[t])]
        missing += [BUCKET_VARIABLES[b] for b in declaration.buckets if not env.get(BUCKET_VARIABLES[b])]
        if missing:
            raise ConfigurationError(f"{declaration.name}: table/bucket variable(s) not set: {', '.join(missing)}")
        self._tables = {table: env[TABLE_VARIABLES[table]] for table in declaration.tables}
        self._buckets = {bucket: env[BUCKET_VARIABLES[bucket]] for bucket in declaration.buckets}
        # Unset outside a deployment that has the target (an operator's local run): nothing is sent.
        self._queue_urls = {target: env.get(queue_url_variable(target)) or None for target in declaration.sends_to}
        self._bucket_settings: dict[Bucket, EnvironmentSettings] = {
            bucket: BUCKET_SETTINGS[bucket].from_environment(env) for bucket in declaration.buckets if bucket in BUCKET_SETTINGS
        }

    @property
    def mapping(self) -> MappingConfig:
        return self.core.mapping

    def table(self, table: Table) -> str:
        try:
            return self._tables[table]
        except KeyError:
            raise ConfigurationError(f"{self.declaration.name} does not declare table {table.value}") from None

    def bucket(self, bucket: Bucket) -> str:
        try:
            return self._buckets[bucket]
        except KeyError:
            raise ConfigurationError(f"{self.declaration.name} does not declare bucket {bucket.value}") from None

    def queue_url(self, target: str) -> str | None:
        """The queue URL of a flow this one `sends_to` (None where the deployment does not wire it)."""
        if target not in self._queue_urls:
            raise ConfigurationError(f"{self.declaration.name} does not declare sending to {target}")
        return self._queue_urls[target]

    def _connector(self, secret: Secret, model: type[Any]) -> Any:
        settings = self._connectors.get(secret)
        if not isinstance(settings, model):
            raise ConfigurationError(f"{self.declaration.name} does not declare the {secret.value} connector")
        return settings

    @cached_property
    def consonance(self) -> ConsonanceSettings:
        return self._connector(Secret.CONSONANCE, ConsonanceSettings)  # type: ignore[no-any-return]

    @cached_property
    def megaphone(self) -> MegaphoneSettings:
        return self._connector(Secret.MEGAPHONE, MegaphoneSettings)  # type: ignore[no-any-return]

    @cached_property
    def spotify(self) -> SpotifySettings:
        return self._connector(Secret.SPOTIFY, SpotifySettings)  # type: ignore[no-any-return]

    @cached_property
    def spotify_accounts(self) -> SpotifyAccountSettings:
        return self._connector(Secret.SPOTIFY_ACCOUNTS, SpotifyAccountSettings)  # type: ignore[no-any-return]

    @cached_property
    def webhook(self) -> WebhookSettings:
        return self._connector(Secret.WEBHOOK, WebhookSettings)  # type: ignore[no-any-return]

    @cached_property
    def spotify_creators(self) -> SpotifyCreatorsSettings:
        return self._connector(Secret.SPOTIFY_CREATORS, SpotifyCreatorsSettings)  # type: ignore[no-any-return]

    def _of_bucket(self, bucket: Bucket, model: type[Any]) -> Any:
        settings = self._bucket_settings.get(bucket)
        if not isinstance(settings, model):
            raise ConfigurationError(f"{self.declaration.name} does not declare bucket {bucket.value}")
        return settings

    @cached_property
    def analytics(self) -> AnalyticsSettings:
        return self._of_bucket(Bucket.ANALYTICS, AnalyticsSettings)  # type: ignore[no-any-return]

    @cached_property
    def megaphone_export(self) -> MegaphoneExportSettings:
        return self._of_bucket(Bucket.MEGAPHONE_EXPORT, MegaphoneExportSettings)  # type: ignore[no-any-return]
