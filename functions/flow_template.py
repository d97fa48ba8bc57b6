"""The one way a flow's Lambda handler is written.

A handler module declares what its flow does and nothing about plumbing:

    FLOW = flow(FlowName.EPISODE_PUBLISHER)
    handler = queue_flow(FLOW, build=publisher_deps, handle=publish)

- the declaration (`functions/flow_declarations.py`) supplies the flow's name and the events it
  accepts; the events it may emit are enforced by its `EventBus`;
- `build` is the flow's one dependency factory: from the platform `Dependencies` (settings, clients,
  repositories) it makes what the flow's logic takes. It runs once per execution environment and
  the result is reused by every warm invocation, as Lambda reuses an environment. Under SnapStart
  (`AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`) it runs during init, so the snapshot holds built
  clients rather than building them on the first invocation after a restore;
- the settings are loaded and validated when the environment is built, so a missing variable fails
  the first invocation with its name, not a record halfway through.

`object_created_flow` is the queue flow of an `ObjectCreatedTrigger`: its records are S3's "Object
Created" events (functions/object_events.py), settled one by one like domain events.

Powertools Logger (correlation id), Metrics (EMF) and Tracer wrap every handler the same way.
`reset_environments` forgets every built environment (tests and the sandbox, after the environment
variables changed).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from functions.clock import utcnow
from functions.dependencies import Dependencies
from functions.execution_environment import current_cache
from functions.domain.events import DomainEvent
from functions.flow_declarations import FlowDeclaration
from functions.observability import logger, metrics, tracer
from functions.settings import ConfigurationError, FlowSettings
from functions.object_events import StoredObject
from functions.sqs_batch import consume_object_events, consume_sqs_batch, consume_sqs_batch_together

FlowDeps = TypeVar("FlowDeps")
LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]

_environments: list[ExecutionEnvironment[Any]] = []


@dataclass(eq=False)
class ExecutionEnvironment(Generic[FlowDeps]):
    """What one flow keeps between invocations: its platform dependencies and its own deps, held in
    the current execution environment's cache (`functions.execution_environment`): in Lambda that is
    the process; the sandbox gives each flow its own, and a new one after a crash."""

    declaration: FlowDeclaration
    build: Callable[[Dependencies], FlowDeps]

    def __post_init__(self) -> None:
        _environments.append(self)
        if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start":
            self.deps()

    def platform(self) -> Dependencies:
        values = current_cache().values
        key = (self, "platform")
        if key not in values:
            values[key] = Dependencies(FlowSettings(self.declaration))
        platform: Dependencies = values[key]  # type: ignore[assignment]
        return platform

    def deps(self) -> FlowDeps:
        values = current_cache().values
        key = (self, "deps")
        if key not in values:
            values[key] = self.build(self.platform())
        deps: FlowDeps = values[key]  # type: ignore[assignment]
        return deps

    def release_rate_limits(self) -> None:
        """Give back the rate-limit slots this invocation reserved and did not use (nothing to do when
        the environment has built no dependencies yet)."""
        platform = current_cache().values.get((self, "platform"))
        if isinstance(platform, Dependencies):
            platform.release_rate_limits()

    def forget(self) -> None:
        values = current_cache().values
        values.pop((self, "platform"), None)
        values.pop((self, "deps"), None)


def reset_environments() -> None:
    """Forget every flow's built dependencies in the current execution environment (the environment
    variables changed: tests, a new sandbox deployment)."""
    for environment in _environments:
        environment.forget()


def _instrumented(environment: ExecutionEnvironment[Any], handler: LambdaHandler) -> LambdaHandler:
    """Powertools around the handler, and the invocation's unused rate-limit slots given back at its
    end, whatever its outcome (`functions.connectors.rate_limit`)."""

    def invocation(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            return handler(event, context)
        finally:
            environment.release_rate_limits()

    return logger.inject_lambda_context(clear_state=True)(metrics.log_metrics(tracer.capture_lambda_handler(invocation)))


def queue_flow(
    declaration: FlowDeclaration,
    *,
    build: Callable[[Dependencies], FlowDeps],
    handle: Callable[[DomainEvent, FlowDeps], None],
    idempotent: bool = True,
    prepare: Callable[[list[DomainEvent], FlowDeps], AbstractContextManager[Any]] | None = None,
    ledger_guarded: bool = False,
) -> LambdaHandler:
    """A queue-fed flow acting on each record on its own (partial batch failures). With `idempotent`,
    a duplicate delivery of an event this flow already applied is recognised and skipped (a claim per
    record), unless the flow's side effects are `ledger_guarded`: conditional ledger writes make a
    duplicate evaluate to nothing, so no claim is kept (functions.sqs_batch). `prepare` sees the
    batch's events first and scopes their handling (e.g. reads what they all need in one round trip)."""
    environment = ExecutionEnvironment(declaration, build)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        deps = environment.deps()
        platform = environment.platform()
        return consume_sqs_batch(
            event,
            context,
            flow=declaration.name,
            core=platform.settings.core,
            accept=declaration.accepts,
            handle=lambda domain_event: handle(domain_event, deps),
            idempotency=platform.idempotency if idempotent else None,
            claims=not ledger_guarded,
            prepare=(lambda events: prepare(events, deps)) if prepare is not None else None,
        )

    return _instrumented(environment, handler)


def batch_queue_flow(
    declaration: FlowDeclaration,
    *,
    build: Callable[[Dependencies], FlowDeps],
    handle_all: Callable[[list[DomainEvent], FlowDeps], Mapping[int, Exception | None]],
) -> LambdaHandler:
    """A queue-fed flow acting on a whole batch at once (one request for ten records); the outcome per
    event index decides each record."""
    environment = ExecutionEnvironment(declaration, build)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        deps = environment.deps()
        return consume_sqs_batch_together(
            event,
            context,
            flow=declaration.name,
            core=environment.platform().settings.core,
            accept=declaration.accepts,
            handle_all=lambda events: dict(handle_all(events, deps)),
        )

    return _instrumented(environment, handler)


def scheduled_flow(
    declaration: FlowDeclaration,
    *,
    build: Callable[[Dependencies], FlowDeps],
    run: Callable[[FlowDeps, datetime, Callable[[], float] | None], Mapping[str, Any]],
) -> LambdaHandler:
    """A flow on an EventBridge schedule. `run` gets the deps, the time of the run and a function
    telling how many seconds the invocation has left (None outside Lambda)."""
    environment = ExecutionEnvironment(declaration, build)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        time_left = (lambda: remaining() / 1000.0) if callable(remaining) else None
        return dict(run(environment.deps(), utcnow(), time_left))

    return _instrumented(environment, handler)


def http_flow(
    declaration: FlowDeclaration,
    *,
    build: Callable[[Dependencies], FlowDeps],
    respond: Callable[[dict[str, Any], FlowDeps | ConfigurationError], dict[str, Any]],
) -> LambdaHandler:
    """A flow behind a function URL: `respond` turns the request event into the HTTP response. An
    endpoint must answer even when its deployment is broken, so a configuration problem is handed to
    `respond` (to answer 503) instead of failing the invocation with a 500."""
    environment = ExecutionEnvironment(declaration, build)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            deps: FlowDeps | ConfigurationError = environment.deps()
        except ConfigurationError as exc:
            environment.forget()
            deps = exc
        return respond(event, deps)

    return _instrumented(environment, handler)


def object_created_flow(
    declaration: FlowDeclaration,
    *,
    build: Callable[[Dependencies], FlowDeps],
    handle: Callable[[StoredObject, FlowDeps], None],
) -> LambdaHandler:
    """A flow fed by S3 "Object Created" events (an `ObjectCreatedTrigger`) through its SQS queue,
    each record on its own (partial batch failures), settled like a queue flow's."""
    environment = ExecutionEnvironment(declaration, build)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        deps = environment.deps()
        return consume_object_events(
            event,
            context,
            flow=declaration.name,
            core=environment.platform().settings.core,
            handle=lambda stored: handle(stored, deps),
        )

    return _instrumented(environment, handler)
