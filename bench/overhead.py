"""handler_overhead: what the episode publisher's handler costs per event when every dependency
answers at once — CPU per event net of the stand-ins, and AWS round trips per event.

Method (the product code runs unchanged; only its surroundings are made instant):
- The world is the sandbox's own (`sandbox.world.SandboxWorld`): its simulators, its one media
  library (`sandbox.media_library.SandboxMedia`: masters and covers the pre-flight fetches), the
  resources and environments built from the flow declarations, and the local runtime, which hands
  the publisher Lambda-shaped batches of its declared size from its SQS queue.
- AWS is moto *in process* (`bench.aws.in_process_world`): no loopback HTTP hop, moto's slow paths
  short-cut (same answers). Consonance and Megaphone answer without rate limits and the connectors'
  rates are raised, so no rate-limit wait happens (the limiter still does its DynamoDB work, as deployed).
- Each publisher invocation is timed (wall: `perf_counter`; CPU: `thread_time`, moto and the
  simulators run in this thread). The time inside moto's backend and the simulators (remote services'
  own work in production, replaced there by the network round trip) is measured and subtracted for
  the net figures. An invocation's time is divided evenly among its records; figures are medians
  over events.
- AWS calls are counted per invocation at botocore (every call, retries included) and divided by the
  records: the handler makes them one after another, so this is also the number of sequential round
  trips per event (production latency ≈ CPU + round trips × RTT).

Three scenarios, each over every episode of a synthetic catalogue: `new` (a backfill event: create
on Megaphone), `changed` (a title edit: update), `unchanged` (a re-evaluation with nothing to do).
The headline is the `new` scenario, the backfill's event.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from collections.abc import Iterator

from bench.catalogue import backfill_catalogue
from bench.instrument import AwsCallCounter, diff

PUBLISHER = "episode-publisher"
HANDLER_MODULE = "functions.flows.episode_publisher.handler"
UNLIMITED_RATE = 1_000_000  # per minute: the limiter never waits


@dataclass(frozen=True)
class Invocation:
    """One publisher invocation: wall seconds, records, seconds inside the stand-ins, CPU seconds."""

    seconds: float
    records: int
    aws_server: float  # wall inside moto's backend
    aws_client: float  # wall inside botocore's client call (backend included)
    api_server: float  # wall inside the simulators
    cpu: float
    cpu_in_fakes: float  # CPU inside moto's backend and the simulators
    aws_calls: int


@dataclass
class Timings:
    invocations: list[Invocation] = field(default_factory=list)

    def per_event_ms(self, what: str = "total") -> list[float]:
        values: list[float] = []
        for i in self.invocations:
            if not i.records:
                continue
            seconds = {
                "total": i.seconds,
                "net": i.seconds - i.aws_server - i.api_server,
                "aws_server": i.aws_server,
                "aws_client": i.aws_client,
                "api_server": i.api_server,
                "cpu": i.cpu,
                "cpu_net": i.cpu - i.cpu_in_fakes,
            }[what]
            values += [seconds * 1000 / i.records] * i.records
        return values

    def median(self, what: str = "total") -> float | None:
        values = self.per_event_ms(what)
        return statistics.median(values) if values else None

    def events(self) -> int:
        return sum(i.records for i in self.invocations)

    def calls_per_event(self) -> float:
        return sum(i.aws_calls for i in self.invocations) / max(1, self.events())


class _Stopwatches:
    """Accumulates wall and CPU time spent inside moto's backend, botocore's client and the
    simulators, only while the publisher's handler runs."""

    def __init__(self) -> None:
        self.active = False
        self.reset()

    def reset(self) -> None:
        self.aws_server = self.aws_call = self.api_server = 0.0
        self.aws_server_cpu = self.aws_call_cpu = self.api_server_cpu = 0.0

    def wrap(self, owner: Any, name: str, bucket: str) -> Callable[[], None]:
        original = getattr(owner, name)
        watches = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            if not watches.active:
                return original(*args, **kwargs)
            started, cpu_started = time.perf_counter(), time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                setattr(watches, bucket, getattr(watches, bucket) + time.perf_counter() - started)
                setattr(watches, f"{bucket}_cpu", getattr(watches, f"{bucket}_cpu") + time.thread_time() - cpu_started)

        setattr(owner, name, timed)
        return lambda: setattr(owner, name, original)


@contextmanager
def _environment(values: Mapping[str, str | None]) -> Iterator[None]:
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
                "median_cpu_ms": _round(timings.median("cpu")),
                "median_cpu_net_of_fakes_ms": _round(timings.median("cpu_net")),
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
    """The three scenarios in one sandbox world (`SandboxWorld` on in-process moto), rate limits off."""
    say = progress or (lambda message: None)
    started = time.perf_counter()
    with ExitStack() as stack:
        result = _run_scenarios(series, parts, stack, say)
    result.wall_seconds = round(time.perf_counter() - started, 1)
    return result


def _run_scenarios(series: int, parts: int, stack: ExitStack, say: Callable[[str], None]) -> OverheadResult:
    import importlib

    from botocore.client import BaseClient
    from moto.core.botocore_stubber import BotocoreStubber

    from bench.aws import in_process_world
    from functions.domain.events import EpisodeReevaluationDue
    from functions.event_bus import EventBus
    from functions.flow_names import FlowName
    from functions.settings import CoreSettings
    from infra.flows import FLOWS
    from sandbox.simulators.base import Simulator
    from sandbox.world import SandboxWorld, WorldOptions

    catalogue = backfill_catalogue(series, parts)
    # the flows a publication involves; the availability monitor and recorder take no part and poll
    # Spotify for every live episode (wall time only)
    flows = tuple(f for f in FLOWS if f.name not in (FlowName.AVAILABILITY_MONITOR, FlowName.AVAILABILITY_RECORDER))
    options = WorldOptions(seed=7, flows=flows, megaphone_rate_per_minute=UNLIMITED_RATE, consonance_rate_per_minute=UNLIMITED_RATE)
    world = SandboxWorld(catalogue, options)
    world.clock.advance_to(catalogue.start_moment() + timedelta(hours=9))
    stack.enter_context(in_process_world())

    # Logs: formatted as in Lambda, written nowhere (the world sends them to its lambda log, unset here).
    module = importlib.import_module(HANDLER_MODULE)
    original_handler = module.handler
    watches = _Stopwatches()
    counter = AwsCallCounter()
    current = Timings()
    publisher_aws: dict[str, Any] = {"calls": 0, "operations": Counter()}

    def timed_handler(event: dict[str, Any], context: Any) -> Any:
        watches.reset()
        before = counter.snapshot()
        watches.active = True
        started, cpu_started = time.perf_counter(), time.thread_time()
        try:
            return original_handler(event, context)
        finally:
            elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
            watches.active = False
            made = diff(counter.snapshot(), before)
            publisher_aws["calls"] += AwsCallCounter.total(made)
            for (service, operation, _table), count in made.items():
                publisher_aws["operations"][f"{service} {operation}"] += count
            current.invocations.append(
                Invocation(
                    seconds=elapsed,
                    records=len(event.get("Records", [])),
                    aws_server=watches.aws_server,
                    aws_client=watches.aws_call,
                    api_server=watches.api_server,
                    cpu=cpu,
                    cpu_in_fakes=watches.aws_server_cpu + watches.api_server_cpu,
                    aws_calls=AwsCallCounter.total(made),
                )
            )

    setattr(module, "handler", timed_handler)  # noqa: B010 - a module attribute mypy does not know
    stack.callback(lambda: setattr(module, "handler", original_handler))
    stack.enter_context(world)
    # no rate-limit waits anywhere: the simulators' limits off, the connectors' rates raised (the
    # limiter still makes its DynamoDB counter update per request, as deployed)
    world.consonance.rate_limit = None
    world.megaphone.rate_limit = None
    stack.callback(watches.wrap(BotocoreStubber, "__call__", "aws_server"))
    stack.callback(watches.wrap(BaseClient, "_make_api_call", "aws_call"))
    stack.callback(watches.wrap(Simulator, "handle_request", "api_server"))
    stack.enter_context(counter)
    runtime, clock, consonance = world.runtime, world.clock, world.consonance

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
        say(f"  handler overhead: {name}: {current.events()} events, median {current.median() or 0:.2f} ms, {aws_per_event[name]:.2f} AWS calls/event")

    # new: the first poll (15 minutes after the runtime starts) announces every episode.
    scenario("new", lambda: None, 16)

    # changed: every title edited; the next poll announces them.
    def edit_titles() -> None:
        for product in consonance.catalogue.products:
            product.title = f"{product.title} (revised)"
            product.changed_on = clock.now().date()

    scenario("changed", edit_titles, 16)
    # unchanged: a re-evaluation of every episode, nothing to do.
    environment = dict(world.resources.environments[PUBLISHER])
    core = CoreSettings.from_environment(environment)
    bus = EventBus(core.event_bus_name, core.event_source)

    def reevaluate() -> None:
        with _environment(environment):
            bus.publish([EpisodeReevaluationDue(product_id=p.id, reason="bench: re-evaluate", due_at=clock.now()) for p in catalogue.products])

    scenario("unchanged", reevaluate, 2)
    return OverheadResult(
        scenarios=scenarios,
        aws_calls_per_event=aws_per_event,
        episodes=len(catalogue.products),
        wall_seconds=0.0,
        aws_operations_per_event=operations_per_event,
    )
