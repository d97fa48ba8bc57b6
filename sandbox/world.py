"""The whole system on one machine: moto server, simulators seeded from a catalogue, the resources
the stack declares, and the local runtime, all on one virtual clock.

`SandboxWorld` is what `python -m sandbox run`, the end-to-end tests and the benchmark share, so
they all exercise the same wiring that deploys. Credentials are generated for each run and handed
only to moto's Secrets Manager and the simulators: they never appear in the catalogue, the report or
the request log.
"""

from __future__ import annotations

import gc
import io
import json
import logging
import os
import secrets
import sys
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO
from urllib.parse import urlsplit

import boto3

from functions.connectors.http import clear_routes, route_host
from functions.mapping_config import MappingConfig
from functions.settings import ConsonanceSettings, MegaphoneSettings, SpotifySettings
from functions.state.ledger import SyncLedger
from infra.deployment_context import CONTEXT_SETTINGS, environment_for_flow
from infra.flows import FLOWS, Bucket, FlowDeclaration, Secret, Table
from sandbox.catalogue import ApiKey, Catalogue
from sandbox.clock import VirtualClock
from sandbox.distribution import DEFAULT_DISTRIBUTION_DELAY, SpotifyDistribution
from sandbox.http_log import RequestLog
from sandbox.moto_server import MotoServer
from sandbox.resources import SandboxResources, create_resources
from sandbox.runtime import LocalRuntime
from sandbox.replay_runner import flow_runner_for
from infra.ops.replay import use_flow_runner
from sandbox.simulators.base import FaultPlan
from sandbox.simulators.consonance import ConsonanceSimulator
from sandbox.simulators.megaphone import MegaphoneSimulator
from sandbox.simulators.spotify_web import SpotifyWebSimulator
from sandbox.media_library import SandboxMedia
from sandbox.simulators.renditions_cdn import RenditionsCdnSimulator
from sandbox.spotify_consent import authorise_accounts
from functions.connectors.spotify_auth import SpotifyCredentials
from sandbox.marketing import MARKETING_FLOWS, MarketingSandbox, marketing_deployment
from sandbox.simulators.spotify_creators import ACCOUNTS_HOST as CREATORS_ACCOUNTS_HOST
from sandbox.simulators.spotify_creators import API_HOST as CREATORS_API_HOST
from sandbox.simulators.spotify_creators import SpotifyCreatorsSimulator
from sandbox.listening_feed import CreatorsLogin, ListeningFeed, catalogue_dimensions
from sandbox.distribution import spotify_show_id

# A fifth of faults at the API level come with this much risk of a handler dying after any call.
CRASHES_PER_FAULT = 0.15
RENDITIONS_HOST = "renditions.sandbox.example"
# Where the sandbox says the full analytics report is (make demo writes it to reports/analytics.html).
SANDBOX_REPORT_URL = "https://reports.sandbox.invalid/analytics.html"


# Middle-generation collections between two full collections while a world runs (Python's default: 10).
FULL_COLLECTION_THRESHOLD = 1_000


@dataclass
class WorldOptions:
    seed: int = 7
    faults: float = 0.0
    http_log: Path | None = None
    lambda_log: Path | None = None
    megaphone_rate_per_minute: int = 60
    consonance_rate_per_minute: int = 120
    ingest_delay_seconds: float = 120.0
    # How long Spotify takes to show metadata Megaphone changed (inferred; sandbox.distribution).
    distribution_delay: timedelta = DEFAULT_DISTRIBUTION_DELAY
    flows: tuple[FlowDeclaration, ...] = FLOWS
    resource_prefix: str = "consonance-spotify"
    extra_environment: dict[str, str] = field(default_factory=dict)
    # marketing (issue 7): let the integration publish validated Ads drafts itself (a person does otherwise)
    ads_auto_publish: bool = False


def deployment_environment(flow: FlowDeclaration, settings: dict[str, str]) -> dict[str, str]:
    """The deployment settings `flow` is given, as the stack gives them: a connector's settings only
    to flows that declare its secret (`infra.deployment_context`); anything else to every flow."""
    context_variables = {setting.env_var for setting in CONTEXT_SETTINGS}
    shared = {name: value for name, value in settings.items() if name not in context_variables}
    return {**shared, **environment_for_flow(flow, settings)}


class EmfCapture(io.TextIOBase):
    """Stands where CloudWatch reads a Lambda's stdout: Powertools Metrics prints each flush as one
    EMF JSON line; those are summed by metric name for the report, everything else passes through."""

    def __init__(self, passthrough: TextIO):
        self.passthrough = passthrough
        self.totals: Counter[str] = Counter()
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        while "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            if not self._take(line):
                self.passthrough.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        self.passthrough.flush()

    def _take(self, line: str) -> bool:
        if not line.startswith('{"_aws"'):
            return False
        document = json.loads(line)
        for directive in document["_aws"].get("CloudWatchMetrics", []):
            for metric in directive.get("Metrics", []):
                values = document.get(metric["Name"], 0)
                self.totals[metric["Name"]] += sum(values) if isinstance(values, list) else values
        return True


@dataclass
class OperationsAlerts:
    """The operations alerts SNS topic, with an SQS subscription standing in for the on-call inbox."""

    topic_arn: str
    inbox_url: str

    @classmethod
    def create(cls, name: str) -> "OperationsAlerts":
        sns, sqs = boto3.client("sns"), boto3.client("sqs")
        topic_arn = sns.create_topic(Name=name)["TopicArn"]
        inbox_url = sqs.create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"})
        return cls(topic_arn=topic_arn, inbox_url=inbox_url)

    def received(self) -> list[str]:
        sqs = boto3.client("sqs")
        messages: list[str] = []
        while True:
            batch = sqs.receive_message(QueueUrl=self.inbox_url, MaxNumberOfMessages=10, VisibilityTimeout=600).get("Messages", [])
            if not batch:
                return messages
            messages.extend(m["Body"] for m in batch)


class SandboxWorld:
    def __init__(self, catalogue: Catalogue, options: WorldOptions | None = None):
        self.catalogue = catalogue
        self.options = options or WorldOptions()
        self.clock = VirtualClock(catalogue.start_moment())
        self._moto: MotoServer | None = None
        self._request_log: RequestLog | None = None
        self._saved_environment: dict[str, str | None] = {}
        self._saved_gc_threshold: tuple[int, int, int] | None = None
        self.runtime: LocalRuntime
        self.resources: SandboxResources
        self.consonance: ConsonanceSimulator
        self.megaphone: MegaphoneSimulator
        self.secret_values: dict[Secret, str] = {}

    # lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> "SandboxWorld":
        options = self.options
        # No X-Ray daemon here: Powertools must not try to send traces.
        self._saved_environment["POWERTOOLS_TRACE_DISABLED"] = os.environ.get("POWERTOOLS_TRACE_DISABLED")
        os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
        self._quiet_lambda_logs()
        self._collect_the_oldest_generation_rarely()
        self.metrics = EmfCapture(sys.stdout)
        self._real_stdout, sys.stdout = sys.stdout, self.metrics
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        self._moto = MotoServer()
        self._moto.__enter__()
        self._moto.reset_state()  # moto's backends live in the process: start every world empty
        self.secret_values = {
            Secret.CONSONANCE: secrets.token_urlsafe(24),
            Secret.MEGAPHONE: secrets.token_urlsafe(24),
            Secret.SPOTIFY: json.dumps({"client_id": secrets.token_hex(16), "client_secret": secrets.token_urlsafe(24)}),
            Secret.WEBHOOK: secrets.token_urlsafe(32),
        }
        self.creators_login = CreatorsLogin(sp_dc=secrets.token_urlsafe(24), sp_key=secrets.token_urlsafe(12))
        self.secret_values[Secret.SPOTIFY_CREATORS] = self.creators_login.secret()
        self.consonance = ConsonanceSimulator(
            self.clock,
            self.catalogue,
            faults=FaultPlan(rate=options.faults, seed=options.seed * 31 + 1),
            api_keys=[ApiKey(key=self.secret_values[Secret.CONSONANCE], access="read_write")],
        )
        # The catalogue's covers and masters, real files on their own hosts; Megaphone's ingest fetches
        # the masters from there too (and fails as it would: nothing at the URL, not audio it takes).
        self.media = SandboxMedia(
            self.catalogue, self.clock, faults=lambda host: FaultPlan(rate=options.faults, seed=options.seed * 31 + 5 + len(host))
        )
        self.megaphone = MegaphoneSimulator(
            self.clock,
            network_id=self.catalogue.megaphone.network_id,
            podcasts={p.id: p.title for p in self.catalogue.megaphone.podcasts},
            tokens=[self.secret_values[Secret.MEGAPHONE]],
            seed=options.seed,
            faults=FaultPlan(rate=options.faults, seed=options.seed * 31 + 2),
            ingest_delay_seconds=options.ingest_delay_seconds,
            audio_fetch=self.media.fetch_for_megaphone,
        )
        spotify_app = json.loads(self.secret_values[Secret.SPOTIFY])
        self.spotify = SpotifyWebSimulator(
            self.clock,
            {spotify_app["client_id"]: spotify_app["client_secret"]},
            faults=FaultPlan(rate=options.faults, seed=options.seed * 31 + 3),
            seed=options.seed,
        )
        # the simulators stand at the real hosts (the settings' defaults), so no URL setting differs
        route_host(_default_host(ConsonanceSettings, "consonance_url"), self.consonance)
        route_host(_default_host(MegaphoneSettings, "megaphone_url"), self.megaphone)
        route_host(_default_host(SpotifySettings, "spotify_accounts_url"), self.spotify)
        route_host(_default_host(SpotifySettings, "spotify_api_url"), self.spotify)
        self.media.route()
        # Spotify for Creators (UNOFFICIAL): its cookie login shares accounts.spotify.com with the Web
        # API's token endpoint, so the Creators simulator stands there and hands the rest to Spotify's.
        self.creators = SpotifyCreatorsSimulator(
            self.clock, fallback=self.spotify, faults=FaultPlan(rate=options.faults, seed=options.seed * 31 + 4), seed=options.seed
        )
        self.creators.add_account(self.creators_login.sp_dc, self.creators_login.sp_key)
        route_host(CREATORS_ACCOUNTS_HOST, self.creators)
        route_host(CREATORS_API_HOST, self.creators)
        self.distribution = SpotifyDistribution(
            self.catalogue, self.megaphone, self.spotify, MappingConfig(), delay=options.distribution_delay
        )
        self.alerts = OperationsAlerts.create(f"{self.options.resource_prefix}-alerts")
        # marketing (issue 7): the Ads API, the spots' and covers' host, a person in Ads Manager
        self.marketing: MarketingSandbox | None = None
        if any(flow.name in MARKETING_FLOWS for flow in options.flows):
            self.marketing = MarketingSandbox(self.clock, self.catalogue, self.spotify, seed=options.seed, faults=options.faults)
        deployment = {
            "MEGAPHONE_NETWORK_ID": self.catalogue.megaphone.network_id,
            "MEGAPHONE_PODCASTS": json.dumps(self.catalogue.megaphone.podcast_by_series()),
            "MEGAPHONE_RATE_PER_MINUTE": str(options.megaphone_rate_per_minute),
            "CONSONANCE_RATE_PER_MINUTE": str(options.consonance_rate_per_minute),
            # renditions go out through the CDN in front of their bucket (the recommended setup)
            "RENDITIONS_BASE_URL": RenditionsCdnSimulator.base_url_for(RENDITIONS_HOST),
            "POWERTOOLS_TRACE_DISABLED": "true",
            **(marketing_deployment(auto_publish=options.ads_auto_publish) if self.marketing is not None else {}),
            **self._analytics_settings(),
            **options.extra_environment,
        }
        # the Spotify accounts the flows act on (authorised below, as an operator would)
        if self.catalogue.spotify_accounts:
            deployment["SPOTIFY_ACCOUNTS"] = ",".join(entry.account for entry in self.catalogue.spotify_accounts)
        self.resources = create_resources(
            options.flows,
            secret_values=self.secret_values,
            extra_environment=lambda flow: deployment_environment(flow, deployment),
            alerts_topic_arn=self.alerts.topic_arn,
        )
        self.renditions_cdn = RenditionsCdnSimulator(self.clock, self.resources.buckets[Bucket.RENDITIONS], host=RENDITIONS_HOST)
        route_host(RENDITIONS_HOST, self.renditions_cdn)
        self.runtime = LocalRuntime(
            options.flows,
            self.resources,
            self.clock,
            seed=options.seed,
            crash_probability=min(1.0, options.faults * CRASHES_PER_FAULT),
            # every sender here is a declared flow, whose `emits` tell the runtime which queues to
            # poll; the idle poll is only a safety net
            idle_poll_interval=timedelta(hours=1),
            before_tick=[self.consonance.apply_due_changes, self.distribution.tick],
            holding_messages=self._moto.queues_holding_messages,
        )
        self.runtime.__enter__()
        # the accounts are authorised as an operator does it (`infra.ops auth spotify`), before the run
        # and on its clock (the runtime installed it): their expiry is virtual time, not this machine's
        self.spotify_authorisations = authorise_accounts(
            self.spotify,
            self.catalogue.spotify_accounts,
            app=SpotifyCredentials.model_validate_json(self.secret_values[Secret.SPOTIFY]),
            flows=options.flows,
            prefix=self.resources.prefix,
        )
        # `python -m infra.ops replay` run in this process runs the flows in this runtime
        self._previous_flow_runner = use_flow_runner(flow_runner_for(self.runtime))
        self.distribution.ledger = SyncLedger(self.resources.tables[Table.LEDGER])
        if self.marketing is not None:
            self.runtime.add_before_tick(self.marketing.tick)
        self.listening = ListeningFeed(
            self.catalogue,
            catalogue_dimensions(self.catalogue, self.consonance, next(iter(self.consonance.keys.values())), MappingConfig().audio_product_types),
            megaphone=self.megaphone,
            spotify=self.spotify,
            creators=self.creators,
            creators_login=self.creators_login,
            export_bucket=self.resources.buckets[Bucket.MEGAPHONE_EXPORT],
            on_objects=self.runtime.expect_messages,
        )
        self.runtime.add_before_tick(self.listening)
        if options.http_log is not None:
            options.http_log.parent.mkdir(parents=True, exist_ok=True)
            self._request_log = RequestLog(options.http_log, secret_values=self.secret_values.values())
            self._request_log.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._request_log is not None:
            self._request_log.__exit__(exc_type, exc, tb)
        self.runtime.__exit__(exc_type, exc, tb)
        use_flow_runner(self._previous_flow_runner)
        clear_routes()
        sys.stdout = self._real_stdout
        if self._moto is not None:
            self._moto.__exit__(exc_type, exc, tb)
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if self._saved_gc_threshold is not None:
            gc.set_threshold(*self._saved_gc_threshold)

    def _collect_the_oldest_generation_rarely(self) -> None:
        """Python's full collection walks every object the process holds, and a run's emulated AWS state
        is most of them (840,000 objects after the 7-day demo): with the default threshold, 13 full
        collections took 4 s of a 60 s demo. While the world runs, the oldest generation is collected
        after 1,000 middle-generation collections instead of 10 (the young ones are unchanged); the
        demo then makes none, holds about 6 % more objects at its end, and gives the same report."""
        self._saved_gc_threshold = young, middle, oldest = gc.get_threshold()
        gc.set_threshold(young, middle, max(oldest, FULL_COLLECTION_THRESHOLD))

    def _analytics_settings(self) -> dict[str, str]:
        """The deployment's listening-analytics settings, from the catalogue's scenario: the opted-in
        Creators shows (Spotify show id -> series), the books each audio series relates to, the report link."""
        scenario = self.catalogue.analytics
        podcasts = {p.series_id: p.id for p in self.catalogue.megaphone.podcasts}
        shows = {spotify_show_id(podcasts[series]): series for series in scenario.creators_series if series in podcasts}
        return {
            "CREATORS_ENABLED": "true" if shows else "false",
            "CREATORS_SHOWS": json.dumps(shows),
            "ANALYTICS_RELATED_BOOKS": json.dumps(scenario.related_books),
            "ANALYTICS_REPORT_URL": SANDBOX_REPORT_URL,
        }

    def _quiet_lambda_logs(self) -> None:
        """Handlers log JSON to stdout as in Lambda; locally that goes to a file (or nowhere)."""
        from functions.observability import logger

        target = self.options.lambda_log
        handler: logging.Handler
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(target, mode="w", encoding="utf-8")
        else:
            handler = logging.NullHandler()
        inner = logger._logger  # Powertools keeps its formatter on the stdlib logger's handlers
        for existing in list(inner.handlers):
            formatter = existing.formatter
            inner.removeHandler(existing)
            handler.setFormatter(formatter)
        inner.addHandler(handler)

    @property
    def moto_transport_seconds(self) -> float:
        """Wall time spent inside moto answering this process's AWS calls (0 without the in-process transport)."""
        transport = getattr(self._moto, "transport", None)
        return transport.seconds_in_application if transport is not None else 0.0

    # running ---------------------------------------------------------------------------------
    def run_for(self, days: float) -> None:
        self.runtime.run_for(days=days)

    def run_until_quiet(self, max_extra: timedelta = timedelta(hours=6)) -> None:
        """Let retries and ingest checks settle after the last scripted day."""
        self.runtime.run_for(hours=max_extra.total_seconds() / 3600)

    def spotify_state(self) -> dict[str, Any]:
        """The final state of each simulated Spotify-side API, in that API's own field names."""
        state = {"megaphone": self.megaphone.state(), "web_api": self.spotify.state()}
        if self.marketing is not None:
            state["ads_api"] = self.marketing.ads.state()
        return state


def _default_host(model: type[Any], field_name: str) -> str:
    return urlsplit(str(model.model_fields[field_name].default)).netloc
