"""Lambda's timeout, enforced: stop an invocation at its deadline instead of letting it finish late.

The sandbox runtime cannot interrupt a handler, so an invocation that runs past its declared timeout
(in virtual time) completes all its work and is only then marked as timed out. Lambda stops it at the
deadline. For a flow whose work is bounded by its timeout (the ingest checker: one rate-limited
Megaphone read per awaiting episode, 120 s per run) that difference decides how fast a backfill can
finish. `hard_timeouts` wraps each flow's handler to note its deadline, and aborts the invocation at
the first external call that completes after it, with the runtime's own `SimulatedCrash` (an
environment that died: no response, the batch or scheduled event is retried as Lambda retries a
timed-out invocation). The call that crossed the deadline still counts as made.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from functions.clock import Clock
from functions.connectors.http import HttpExchange, observe_requests
from infra.flows import FlowDeclaration
from sandbox.runtime import SimulatedCrash


@dataclass
class DeadlineGuard:
    clock: Clock
    deadline: datetime | None = None
    flow: str = ""
    stopped: dict[str, int] = field(default_factory=dict)

    def check(self, exchange: HttpExchange) -> None:
        if self.deadline is not None and self.clock.now() > self.deadline:
            self.stopped[self.flow] = self.stopped.get(self.flow, 0) + 1
            flow, self.deadline = self.flow, None
            raise SimulatedCrash(f"{flow} stopped at its timeout (Lambda would have ended it)")


@contextmanager
def hard_timeouts(flows: tuple[FlowDeclaration, ...], clock: Clock) -> Iterator[DeadlineGuard]:
    guard = DeadlineGuard(clock)
    restore: list[tuple[Any, str, Any]] = []
    for flow in flows:
        module_name, _, attribute = flow.handler.rpartition(".")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue  # the runtime reports it when it invokes the flow
        original = getattr(module, attribute)

        def guarded(event: Any, context: Any, _original: Any = original, _flow: str = flow.name) -> Any:
            guard.deadline, guard.flow = getattr(context, "deadline", None), _flow
            try:
                return _original(event, context)
            finally:
                guard.deadline = None

        setattr(module, attribute, guarded)
        restore.append((module, attribute, original))
    stop_observing = observe_requests(guard.check)
    try:
        yield guard
    finally:
        stop_observing()
        for module, attribute, original in restore:
            setattr(module, attribute, original)
