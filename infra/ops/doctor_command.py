"""`doctor [--system NAME ...] [--json]`: check the deployment's assumptions about Consonance, Megaphone
and Spotify with its own secrets (see infra/ops/doctor.py). Exits 4 when any check fails."""

from __future__ import annotations

import argparse
import json
import os
from typing import TextIO

from infra.naming import ResourceNames
from infra.ops.command import EXIT_FAILED, EXIT_OK
from infra.ops.doctor import Status, System, run_checks
from infra.ops.output import render_table
from infra.ops.deployed_flow import PROJECT_ROOT

NAME = "doctor"
TITLES = {System.CONSONANCE: "Consonance", System.MEGAPHONE: "Megaphone", System.SPOTIFY: "Spotify"}


def add_to(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser("doctor", help="check Consonance, Megaphone and Spotify with the deployed secrets and settings")
    command.add_argument(
        "--system", type=System, choices=list(System), action="append", dest="systems", help="only this system (repeatable; default: all)"
    )
    command.add_argument("--json", action="store_true", help="machine-readable output")


def run(arguments: argparse.Namespace, names: ResourceNames, out: TextIO, err: TextIO) -> int:
    systems = tuple(dict.fromkeys(arguments.systems or list(System)))
    checks = run_checks(names, systems, PROJECT_ROOT, os.environ)
    failing = [check for check in checks if check.status is Status.FAIL]
    if arguments.json:
        out.write(json.dumps({"checks": [check.model_dump(mode="json") for check in checks], "failed": len(failing)}, indent=2) + "\n")
    else:
        for system in systems:
            rows = [[check.check, check.status.value, check.detail] for check in checks if check.system is system]
            out.write(f"{TITLES[system]}\n{render_table(['CHECK', 'STATUS', 'DETAIL'], rows)}\n\n")
        warnings = sum(1 for check in checks if check.status is Status.WARN)
        out.write(f"{len(failing)} failed, {warnings} warning(s), {len(checks) - len(failing) - warnings} ok\n")
    return EXIT_FAILED if failing else EXIT_OK
