"""`distribution [--failing] [--product ID] [--json]`: every product with its pre-flight and delivery
state, and the open distribution problems with what to do about them.

Read from the deployed ledger through `functions.distribution.overview` (the rows the sandbox report
shows too): the pre-flight's verdict and what it measured (cover, master, explicit value), the
Megaphone status, and the problems the distribution feedback flow reports (pre-flight holds, failed
ingests, episodes Spotify never made playable, takedowns). `--failing` keeps the products with a
problem or a pre-flight hold, and exits 4 when there is any (0 when none), so a script can tell.
"""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from functions.distribution.overview import DistributionRow, distribution_rows
from functions.state.ledger import SyncLedger
from infra.flows import Table
from infra.naming import ResourceNames
from infra.ops.command import EXIT_FAILED, EXIT_NOT_FOUND, EXIT_OK
from infra.ops.output import render_table

NAME = "distribution"


def add_to(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser("distribution", help="every product's pre-flight and delivery state, with open distribution problems")
    command.add_argument("--failing", action="store_true", help="only products with a problem or a pre-flight hold")
    command.add_argument("--product", type=int, action="append", dest="products", metavar="ID", help="only this product (repeatable)")
    command.add_argument("--json", action="store_true", help="machine-readable output")


def run(arguments: argparse.Namespace, names: ResourceNames, out: TextIO, err: TextIO) -> int:
    rows = distribution_rows(SyncLedger(names.table(Table.LEDGER)))
    if arguments.products:
        wanted = set(arguments.products)
        missing = sorted(wanted - {row.product_id for row in rows})
        for product_id in missing:
            err.write(f"not found: product {product_id} is not in the ledger (the poller has not seen it)\n")
        rows = [row for row in rows if row.product_id in wanted]
        if not rows:
            return EXIT_NOT_FOUND
    shown = [row for row in rows if row.failing] if arguments.failing else rows
    if arguments.json:
        out.write(json.dumps({"products": [row.model_dump(mode="json") | {"failing": row.failing} for row in shown]}, indent=2) + "\n")
    else:
        out.write(_table(shown) + "\n")
        for row in shown:
            if row.failing:
                out.write(_details(row) + "\n")
        failing = sum(1 for row in rows if row.failing)
        out.write(f"{failing} of {len(rows)} product(s) with a distribution problem or a pre-flight hold\n")
    return EXIT_FAILED if arguments.failing and shown else EXIT_OK


def _table(rows: list[DistributionRow]) -> str:
    return render_table(
        ["PRODUCT", "TITLE", "PRE-FLIGHT", "COVER", "MASTER", "DELIVERY", "PROBLEMS"],
        [
            [
                row.product_id,
                row.title,
                row.preflight.verdict,
                row.preflight.artwork,
                row.preflight.audio,
                row.delivery,
                ", ".join(problem.code for problem in row.problems) or None,
            ]
            for row in rows
        ],
    )


def _details(row: DistributionRow) -> str:
    lines = [f"\nProduct {row.product_id}: {row.title}  [{row.delivery}{': ' + row.delivery_reason if row.delivery_reason else ''}]"]
    if row.preflight.verdict == "held" and not row.problems:
        lines += [f"  - pre-flight: {finding}" for finding in row.preflight.findings]
    for problem in row.problems:
        lines.append(f"  - {problem.code}: {problem.reason}")
        lines.append(f"    what to do: {problem.action}")
    if row.link_status:
        lines.append(f"  Consonance Spotify link shows: {row.link_status}")
    if row.note_written:
        lines.append("  Consonance: a distribution note on the product has the details")
    return "\n".join(lines)
