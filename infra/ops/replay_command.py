"""`replay ENTITY [--wait S] [--quiet S] [--json]`: one episode (`episode#ID` or a product id) or
series (`series#ID`) through its flows now, showing each step's decision (infra/ops/replay.py).

Exit 0 when every step ran and nothing was dead-lettered; 1 when the entity is not in the ledger;
4 when a step failed or dead-lettered the replay's events, or the deployed flows did not settle in
`--wait` seconds.
"""

from __future__ import annotations

import argparse
import uuid
from datetime import timedelta
from typing import TextIO

import boto3

from functions.clock import today
from functions.flow_names import FlowName
from functions.state.keys import EntityKind
from infra.naming import ResourceNames
from infra.ops import plan
from infra.ops.command import EXIT_FAILED, EXIT_NOT_FOUND, EXIT_OK, UsageError
from infra.ops.deployed_flow import deployed_dependencies
from infra.ops.output import print_json, render_table
from infra.ops.replay import BusObserver, FlowRunner, NothingToReplay, ReplayReport, installed_flow_runner, parse_entity, replay

NAME = "replay"


def add_to(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser(NAME, help="one episode or series through its flows now, with each step's decision")
    command.add_argument("entity", metavar="ENTITY", help="episode#ID, series#ID, or a product id")
    command.add_argument("--wait", type=float, default=120.0, metavar="S", help="deployed: read the ledger at most this long (default 120)")
    command.add_argument("--quiet", type=float, default=15.0, metavar="S", help="deployed: settled once nothing changed this long (default 15)")
    command.add_argument("--json", action="store_true", help="machine-readable output")


def run(arguments: argparse.Namespace, names: ResourceNames, out: TextIO, err: TextIO) -> int:
    try:
        key = parse_entity(arguments.entity)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    runner: FlowRunner = installed_flow_runner(names) or BusObserver(
        names, boto3.client("sqs"), wait=timedelta(seconds=arguments.wait), quiet=timedelta(seconds=arguments.quiet)
    )
    poller = deployed_dependencies(names, FlowName.CONSONANCE_POLLER)  # its bus: only what the poller may put
    expected = _publisher_evaluation(names, runner, int(key.id)) if key.kind is EntityKind.EPISODE else None
    try:
        report = replay(poller.ledger, poller.event_bus, key, runner, f"replay-{uuid.uuid4().hex[:12]}", expected)
    except NothingToReplay as exc:
        err.write(f"not found: {exc}\n")
        return EXIT_NOT_FOUND
    if arguments.json:
        print_json(report.as_dict(), out)
    else:
        out.write(_text(report) + "\n")
    failed = report.dead_letters or any(step.error for step in report.steps) or not report.settled
    return EXIT_FAILED if failed else EXIT_OK


def _publisher_evaluation(names: ResourceNames, runner: FlowRunner, product_id: int) -> str | None:
    """What the publisher's own evaluation says now (the `plan` command's), before anything runs."""
    environ = runner.environment(FlowName.EPISODE_PUBLISHER)
    config = plan.deployed_settings(environ=environ)
    changes, _ = plan.plan(names, config, today(), [product_id], environ=environ)
    return f"{changes[0].action}: {changes[0].reason}" if changes else None


def _text(report: ReplayReport) -> str:
    lines = [
        f"Replay of {report.entity} (correlation id {report.correlation_id}) by {report.runner}",
        f"Put on the bus: {', '.join(report.events)}",
        f"Taken by: {', '.join(report.flows) or 'no flow in this deployment'}",
    ]
    if report.expected:
        lines.append(f"The publisher's evaluation before the replay: {report.expected}")
    lines.append(render_table(["STEP", "FLOW", "OUTCOME", "DECISION"], [[i, s.flow, s.outcome, s.decision()] for i, s in enumerate(report.steps, 1)]))
    for letter in report.dead_letters:
        lines.append(f"dead-lettered by {letter.flow}: {letter.reason}")
    if not report.settled:
        lines.append("the flows had not settled when the wait ended: run `replay` again or look with `plan` / `dlq list`")
    return "\n".join(lines)
