"""How a command plugs into `python -m infra.ops`: a module with `add_to(subparsers)` and
`run(arguments, names, out, err) -> exit code`, listed once in `COMMAND_MODULES` (infra/ops/__main__.py)."""

from __future__ import annotations

import argparse
from typing import Protocol, TextIO

from infra.naming import ResourceNames

EXIT_OK = 0
EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
EXIT_AWS_FAILED = 3
EXIT_FAILED = 4  # the command ran and its check or action failed (an authorisation denied, a doctor finding)


class UsageError(Exception):
    """Arguments that parse but make no sense (a flow without a DLQ, a malformed id)."""


class OpsCommand(Protocol):
    NAME: str

    def add_to(self, commands: argparse._SubParsersAction) -> None: ...

    def run(self, arguments: argparse.Namespace, names: ResourceNames, out: TextIO, err: TextIO) -> int: ...
