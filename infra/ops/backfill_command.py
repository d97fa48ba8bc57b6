"""`backfill (--series ID | --released-from D --released-to D | --all) [--per-minute N] [--json]`:
push products through the same flows as the poller, paced (infra/ops/backfill.py says how and why).

A progress bar with the time left (on the same clock that paces it) goes to stderr while it runs;
the summary (or `--json`) to stdout. Exit 0 when done, 1 when nothing in Consonance is in scope.
"""

from __future__ import annotations

import argparse
import uuid
from datetime import date
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from functions.clock import clock, epoch_seconds
from functions.flow_names import FlowName
from functions.settings import MegaphoneSettings
from infra.naming import ResourceNames
from infra.ops.backfill import BackfillDeps, BackfillScope, Pacer, backfill, default_per_minute, products_in_scope
from infra.ops.command import EXIT_NOT_FOUND, EXIT_OK, UsageError
from infra.ops.deployed_flow import deployed_dependencies, deployed_flow_environment
from infra.ops.output import print_json

NAME = "backfill"


def add_to(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser(
        NAME, help="push a series, a release-date range or the whole catalogue through the flows, paced by the rate limits"
    )
    command.add_argument("--series", type=int, metavar="ID", help="only this Consonance series")
    command.add_argument("--released-from", type=date.fromisoformat, metavar="YYYY-MM-DD", help="only products released on or after")
    command.add_argument("--released-to", type=date.fromisoformat, metavar="YYYY-MM-DD", help="only products released on or before")
    command.add_argument("--all", action="store_true", help="the whole catalogue (required when no other scope is given)")
    command.add_argument(
        "--per-minute", type=int, metavar="N", help="products a minute (default: half of Megaphone's rate limit at 3 calls a product)"
    )
    command.add_argument("--json", action="store_true", help="machine-readable summary")


def run(arguments: argparse.Namespace, names: ResourceNames, out: TextIO, err: TextIO) -> int:
    try:
        scope = BackfillScope(arguments.series, arguments.released_from, arguments.released_to)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if scope.whole_catalogue != arguments.all:
        raise UsageError("give --series and/or --released-from/--released-to, or --all for the whole catalogue (not both)")
    per_minute = arguments.per_minute or default_per_minute(_megaphone_rate_per_minute(names))
    if per_minute <= 0:
        raise UsageError(f"--per-minute must be positive, got {per_minute}")

    poller = deployed_dependencies(names, FlowName.CONSONANCE_POLLER)
    console = Console(file=err, stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True) as reading:
        task = reading.add_task("reading Consonance", total=None)
        records = products_in_scope(
            poller.consonance, poller.settings.mapping, scope, lambda count: reading.update(task, description=f"reading Consonance: {count} products")
        )
    if not records:
        err.write(f"not found: no product in Consonance for {scope.describe()}\n")
        return EXIT_NOT_FOUND
    pacer = Pacer(per_minute, clock())
    err.write(f"backfill of {scope.describe()}: {len(records)} product(s) at {per_minute} a minute, about {_minutes(pacer, len(records))}\n")
    deps = BackfillDeps(ledger=poller.ledger, bus=poller.event_bus, mapping=poller.settings.mapping)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=console,
        get_time=epoch_seconds,  # the pacing clock: virtual in the sandbox
    ) as progress:
        task = progress.add_task("announcing", total=len(records))
        outcome = backfill(deps, records, scope, pacer, f"backfill-{uuid.uuid4().hex[:12]}", lambda product_id: progress.advance(task))
    if arguments.json:
        print_json(outcome.as_dict(), out)
        return EXIT_OK
    out.write(f"backfill of {outcome.scope}: announced {len(outcome.announced)} product(s) on the bus ({outcome.events_put} events)\n")
    if outcome.series_changed:
        out.write(f"series to re-check: {', '.join(str(s) for s in outcome.series_changed)}\n")
    if outcome.rights_changed:
        out.write(f"rights changed since the last poll: {', '.join(str(p) for p in outcome.rights_changed)}\n")
    if outcome.not_publishable:
        out.write(f"not publishable as recorded (findings on the source entry): {', '.join(str(p) for p in outcome.not_publishable)}\n")
    out.write("the flows take it from here: follow with `python -m infra.ops plan`, `distribution` or `dlq list`\n")
    return EXIT_OK


def _megaphone_rate_per_minute(names: ResourceNames) -> int:
    """The publisher's deployed Megaphone limit (cdk.json / environment), else the settings' default."""
    configured = deployed_flow_environment(names, FlowName.EPISODE_PUBLISHER).get("MEGAPHONE_RATE_PER_MINUTE")
    return int(configured) if configured else int(MegaphoneSettings.model_fields["megaphone_rate_per_minute"].default)


def _minutes(pacer: Pacer, count: int) -> str:
    seconds = pacer.time_for(count).total_seconds()
    return f"{seconds / 60:.1f} minute(s)" if seconds >= 60 else f"{seconds:.0f} s"
