"""The sandbox's runner for `python -m infra.ops replay` (infra/ops/replay.py): the events the replay
puts on the bus are delivered at once by the local runtime, as Lambda's event source mappings would
deliver them, and the ledger is read after every invocation, so each change is shown beside the
flow invocation that made it — the downstream flows' too (the ingest checker, the distribution
feedback...)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from infra.ops.replay import FlowRunner, LedgerWatch, ReplayStep, changes_between
from sandbox.runtime import InvocationRecord, LocalRuntime


class SandboxFlowRunner:
    description = "the sandbox's local runtime (each invocation's changes read after it)"

    def __init__(self, runtime: LocalRuntime):
        self.runtime = runtime

    def flows(self, wanted: Sequence[str]) -> list[str]:
        present = {flow.name for flow in self.runtime.flows}
        return [name for name in wanted if name in present]

    def environment(self, flow: str) -> Mapping[str, str] | None:
        return self.runtime.resources.environments.get(flow)

    def run(self, put: Callable[[], None], watch: LedgerWatch, flows: Sequence[str]) -> tuple[list[ReplayStep], bool]:
        steps: list[ReplayStep] = []
        latest = watch.snapshot()

        def after(record: InvocationRecord) -> None:
            nonlocal latest
            current = watch.snapshot()
            steps.append(ReplayStep(record.flow, record.outcome, changes_between(latest, current), record.error))
            latest = current

        remove = self.runtime.add_after_invocation(after)
        try:
            put()
            self.runtime.expect_messages()
            self.runtime.drain()
        finally:
            remove()
        return steps, True

    def dead_letters(self, flows: Sequence[str]) -> list[tuple[str, str, str]]:
        return [(letter.flow, letter.body, letter.reason) for letter in self.runtime.dead_letters() if letter.flow in flows]


def flow_runner_for(runtime: LocalRuntime) -> Callable[[object], FlowRunner]:
    """What `infra.ops.replay.use_flow_runner` takes: this runtime, whatever the names."""
    return lambda names: SandboxFlowRunner(runtime)
