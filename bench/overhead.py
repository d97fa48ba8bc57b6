"""handler_overhead_ms_median: wall time the episode publisher's handler spends per event when every
dependency answers with zero latency.

Method (the product code runs unchanged; only its surroundings are made instant):
- AWS is moto *in process* (`moto.mock_aws`): boto3 calls are answered inside botocore, with no HTTP
  hop and no server thread. (The sandbox's moto server adds ~5–10 ms of loopback HTTP per call, which
  is I/O latency, not handler overhead.) Moto's own slow paths are short-cut (`bench.aws.moto_speedups`:
  same answers, less emulation time), so less of the figure is the stand-in's work.
- Consonance and Megaphone are the sandbox simulators, already in-process httpx transports; their
  rate limits are switched off and the connectors' configured rates raised so that no rate-limit
  wait happens (the limiter still makes its one DynamoDB counter update per request, as deployed).
- The resources, environment and delivery are the sandbox's (`create_resources`, `LocalRuntime`):
  the real poller emits the events, EventBridge routes them to the publisher's SQS queue, and the
  runtime hands the publisher Lambda-shaped batches of its declared batch size (5).
- Logs are formatted as in Lambda (Powertools JSON) and written to /dev/null; EMF metrics printed to
  stdout go to /dev/null too.
- Each publisher invocation is timed with `perf_counter`; its time is divided evenly among its
  records, and the figure is the median over events. Nothing is subtracted. The time spent inside
  the in-process fakes (moto's backend, the simulators) is measured separately and reported as a
  share, with the median of (time − fakes' time) as a net figure: in Lambda that part is the remote
  services' own work, which the network round trip would replace.

Three scenarios, each over every episode of a synthetic catalogue: `new` (a backfill event: create
on Megaphone), `changed` (a title edit: update), `unchanged` (a re-evaluation with nothing to do).
The headline is the `new` scenario, the backfill's event.
"""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from bench.aws import moto_speedups
from bench.catalogue import backfill_catalogue
from bench.instrument import AwsCallCounter, diff

PUBLISHER = "episode-publisher"
HANDLER_MODULE = "functions.flows.episode_publisher.handler"
UNLIMITED_RATE = 1_000_000  # per minute: the limiter never waits


@dataclass
class Timings:
    """Per invocation: wall seconds, records, and the seconds spent inside the in-process fakes."""

    invocations: list[tuple[float, int, float, float, float]] = field(default_factory=list)

    def per_event_ms(self, what: str = "total") -> list[float]:
        values: list[float] = []
        for total, records, aws_server, aws_client, api_server in self.invocations:
            if not records:
                continue
            seconds = {"total": total, "net": total - aws_server - api_server, "aws_server": aws_server, "aws_client": aws_client, "api_server": api_server}[what]
            values += [seconds * 1000 / records] * records
        return values

    def median(self, what: str = "total") -> float | None:
        values = self.per_event_ms(what)
        return statistics.median(values) if values else None

    def events(self) -> int:
        return sum(records for _, records, *_ in self.invocations)


class _Stopwatches:
    """Accumulates time spent inside moto's backend, botocore's client and the simulators, only while
    the publisher's handler runs."""

    def __init__(self) -> None:
        self.active = False
        self.aws_server = 0.0
        self.aws_call = 0.0
        self.api_server = 0.0

    def reset(self) -> None:
        self.aws_server = self.aws_call = self.api_server = 0.0

    def wrap(self, owner: Any, name: str, bucket: str) -> Callable[[], None]:
        original = getattr(owner, name)
        watches = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            if not watches.active:
                return original(*args, **kwargs)
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                setattr(watches, bucket, getattr(watches, bucket) + time.perf_counter() - started)

        setattr(owner, name, timed)
        return lambda: setattr(owner, name, original)


@contextmanager
def _environment(values: dict[str, str | None]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass
class OverheadResult:
    scenarios: dict[str, Timings]
    aws_calls_per_event: dict[str, float]
    episodes: int
    wall_seconds: float
    aws_operations_per_event: dict[str, dict[str, float]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, timings in self.scenarios.items():
            total = timings.median("total")
            out[name] = {
                "events": timings.events(),
                "invocations": len(timings.invocations),
                "median_ms": _round(total),
                "p90_ms": _round(_quantile(timings.per_event_ms("total"), 0.9)),
                "median_net_of_fakes_ms": _round(timings.median("net")),
                "median_in_moto_backend_ms": _round(timings.median("aws_server")),
                "median_in_botocore_incl_backend_ms": _round(timings.median("aws_client")),
                "median_in_simulators_ms": _round(timings.median("api_server")),
                "aws_calls_per_event": round(self.aws_calls_per_event.get(name, 0.0), 2),
                "aws_operations_per_event": self.aws_operations_per_event.get(name, {}),
            }
        return out


def _round(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(series: int = 4, parts: int = 50, *, progress: Any = None) -> OverheadResult:
    say = progress or (lambda message: None)
    started = time.perf_counter()
    from moto import mock_aws

    shadowing = {name: None for name in os.environ if name.startswith("AWS_ENDPOINT_URL")}
    aws_environment = {
        **shadowing,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": None,
        "AWS_PROFILE": None,
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here (as in the sandbox)
    }
    with ExitStack() as stack:
        stack.enter_context(_environment(aws_environment))
        stack.enter_context(mock_aws())
        stack.enter_context(moto_speedups())
        result = _run_scenarios(series, parts, stack, say)
    result.wall_seconds = round(time.perf_counter() - started, 1)
    return result


def _run_scenarios(series: int, parts: int, stack: ExitStack, say: Callable[[str], None]) -> OverheadResult:
    import importlib

    from botocore.client import BaseClient
    from moto.core.botocore_stubber import BotocoreStubber

    from functions.connectors.http import clear_routes, route_host
    from functions.domain.events import EpisodeReevaluationDue
    from functions.event_bus import EventBus
    from functions.settings import Settings
    from infra.flows import FLOWS, Secret
    from sandbox.clock import VirtualClock
    from sandbox.moto_server import reset_client_caches
    from sandbox.resources import create_resources
    from sandbox.runtime import LocalRuntime
    from sandbox.simulators.base import Simulator
    from sandbox.simulators.consonance import ConsonanceSimulator
    from sandbox.simulators.megaphone import MegaphoneSimulator

    reset_client_caches()  # every client from here on is created inside the mock
    catalogue = backfill_catalogue(series, parts)
    clock = VirtualClock(catalogue.start_moment() + timedelta(hours=9))
    secret_values = {
        Secret.CONSONANCE: secrets.token_urlsafe(24),
        Secret.MEGAPHONE: secrets.token_urlsafe(24),
        Secret.SPOTIFY: json.dumps({"client_id": secrets.token_hex(16), "client_secret": secrets.token_urlsafe(24)}),
        Secret.WEBHOOK: secrets.token_urlsafe(32),
    }
    from sandbox.catalogue import ApiKey

    consonance = ConsonanceSimulator(
        clock, catalogue, requests_per_minute=None, api_keys=[ApiKey(key=secret_values[Secret.CONSONANCE], access="read_write")]
    )
    megaphone = MegaphoneSimulator(
        clock,
        network_id=catalogue.megaphone.network_id,
        podcasts={p.id: p.title for p in catalogue.megaphone.podcasts},
        tokens=[secret_values[Secret.MEGAPHONE]],
        rate_limit_per_window=None,  # ingest takes its default time: a new episode waits for it, as in the backfill
    )
    defaults = Settings()
    route_host(urlsplit(defaults.consonance_url).netloc, consonance)
    route_host(urlsplit(defaults.megaphone_url).netloc, megaphone)
    stack.callback(clear_routes)
    environment = {
        "MEGAPHONE_NETWORK_ID": catalogue.megaphone.network_id,
        "MEGAPHONE_PODCASTS": json.dumps(catalogue.megaphone.podcast_by_series()),
        "MEGAPHONE_RATE_PER_MINUTE": str(UNLIMITED_RATE),
        "CONSONANCE_RATE_PER_MINUTE": str(UNLIMITED_RATE),
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    resources = create_resources(FLOWS, secret_values=secret_values, extra_environment=environment)

    # Logs: formatted as in Lambda, written nowhere. Metrics (EMF on stdout): nowhere.
    from functions.observability import logger

    devnull = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (closed by the stack)
    stack.callback(devnull.close)
    inner = logger._logger
    saved_handlers = list(inner.handlers)
    sink = logging.StreamHandler(devnull)
    if saved_handlers:
        sink.setFormatter(saved_handlers[0].formatter)
    for existing in saved_handlers:
        inner.removeHandler(existing)
    inner.addHandler(sink)
    stack.callback(lambda: (inner.removeHandler(sink), [inner.addHandler(h) for h in saved_handlers]))
    real_stdout = sys.stdout
    sys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(os.devnull, "w")), encoding="utf-8")  # type: ignore[assignment]
    stack.callback(lambda: setattr(sys, "stdout", real_stdout))

    watches = _Stopwatches()
    stack.callback(watches.wrap(BotocoreStubber, "__call__", "aws_server"))
    stack.callback(watches.wrap(BaseClient, "_make_api_call", "aws_call"))
    stack.callback(watches.wrap(Simulator, "handle_request", "api_server"))
    counter = stack.enter_context(AwsCallCounter())

    module = importlib.import_module(HANDLER_MODULE)
    original_handler = module.handler
    current = Timings()
    publisher_aws: dict[str, Any] = {"calls": 0, "operations": Counter()}

    def timed_handler(event: dict[str, Any], context: Any) -> Any:
        watches.reset()
        before = counter.snapshot()
        watches.active = True
        started = time.perf_counter()
        try:
            return original_handler(event, context)
        finally:
            elapsed = time.perf_counter() - started
            watches.active = False
            made = diff(counter.snapshot(), before)
            publisher_aws["calls"] += AwsCallCounter.total(made)
            for (service, operation, _table), count in made.items():
                publisher_aws["operations"][f"{service} {operation}"] += count
            current.invocations.append((elapsed, len(event.get("Records", [])), watches.aws_server, watches.aws_call, watches.api_server))

    module.handler = timed_handler
    stack.callback(lambda: setattr(module, "handler", original_handler))

    runtime = stack.enter_context(LocalRuntime(FLOWS, resources, clock, before_tick=[consonance.apply_due_changes]))
    scenarios: dict[str, Timings] = {}
    aws_per_event: dict[str, float] = {}
    operations_per_event: dict[str, dict[str, float]] = {}

    def scenario(name: str, cause: Callable[[], None], minutes: int) -> None:
        nonlocal current
        current = Timings()
        publisher_aws["calls"] = 0
        publisher_aws["operations"] = Counter()
        cause()
        runtime.expect_messages()
        runtime.run_for(minutes=minutes)
        scenarios[name] = current
        aws_per_event[name] = publisher_aws["calls"] / max(1, current.events())
        operations_per_event[name] = {op: round(n / max(1, current.events()), 2) for op, n in publisher_aws["operations"].most_common()}
        say(f"  handler overhead: {name}: {current.events()} events, median {current.median() or 0:.2f} ms")

    # new: the first poll (15 minutes after the runtime starts) announces every episode.
    scenario("new", lambda: None, 16)
    # changed: every title edited; the next poll announces them.
    def edit_titles() -> None:
        for product in consonance.catalogue.products:
            product.title = f"{product.title} (revised)"
            product.changed_on = clock.now().date()

    scenario("changed", edit_titles, 16)
    # unchanged: a re-evaluation of every episode, nothing to do.
    settings = Settings.from_environment(resources.environments[PUBLISHER])
    bus = EventBus(settings.event_bus_name, settings.event_source)

    def reevaluate() -> None:
        with _environment(dict(resources.environments[PUBLISHER])):
            bus.publish([EpisodeReevaluationDue(product_id=p.id, reason="bench: re-evaluate", due_at=clock.now()) for p in catalogue.products])

    scenario("unchanged", reevaluate, 2)
    return OverheadResult(
        scenarios=scenarios,
        aws_calls_per_event=aws_per_event,
        episodes=len(catalogue.products),
        wall_seconds=0.0,
        aws_operations_per_event=operations_per_event,
    )
