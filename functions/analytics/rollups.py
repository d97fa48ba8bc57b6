"""The rollup SQL files and how a runner sends them, identically, to DuckDB or Athena.

Each file under `sql/` is one SELECT written in the subset of SQL that DuckDB and Trino (Athena engine
v3) read alike (tests/unit/test_analytics_sql.py checks it). Files under `sql/views/` are shared
building blocks; a rollup is sent as `WITH <views>, <the rollup's own CTEs> SELECT …`, so the text each
engine receives is the same and no view has to be created in either. What differs per engine lives in
the runners, never in the SQL: how the tables `facts` and `dim_*` are registered (DuckDB views over the
Parquet files; Glue tables in Athena's database) and how parameters travel.

Parameters: a rollup declares them in a header line, `-- parameters: from_day DATE, to_day DATE`, and
reads each `?` once, in that order, inside its first CTE (`params`). DuckDB binds Python values; Athena
receives them as `ExecutionParameters` (SQL literals).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal, Protocol

from functions.domain.errors import PermanentError

SQL_DIRECTORY = Path(__file__).resolve().parent / "sql"
VIEWS = ("entity_daily", "entity_group", "group_entity_daily", "group_daily", "group_measure_daily", "group_label", "group_anchor")  # each reads only earlier ones
TABLES = ("facts", "dim_title", "dim_episode", "dim_contributor", "dim_milestone", "dim_key", "dim_group")
ParameterType = Literal["DATE", "INTEGER", "VARCHAR"]

_PARAMETERS_LINE = re.compile(r"^--\s*parameters:\s*(?P<list>.*)$", re.MULTILINE)
_LEADING_WITH = re.compile(r"^\s*WITH\b", re.IGNORECASE)


class UnknownRollup(PermanentError):
    code = "unknown_rollup"


class RollupArgumentsInvalid(PermanentError):
    code = "rollup_arguments_invalid"


@dataclass(frozen=True)
class Parameter:
    name: str
    type: ParameterType


@dataclass(frozen=True)
class RollupQuery:
    """One rollup file: its name, its text and its declared parameters."""

    name: str
    text: str
    parameters: tuple[Parameter, ...]

    @property
    def body(self) -> str:
        """The file without its leading comment lines."""
        lines = self.text.splitlines()
        while lines and (not lines[0].strip() or lines[0].lstrip().startswith("--")):
            lines.pop(0)
        return "\n".join(lines).rstrip().rstrip(";")

    def composed(self) -> str:
        """The exact SQL both engines receive: the shared views as leading CTEs, then the rollup."""
        views = ",\n".join(f"{name} AS (\n{view_text(name)}\n)" for name in VIEWS)
        body = self.body
        if _LEADING_WITH.match(body):
            return f"WITH\n{views},\n{_LEADING_WITH.sub('', body, count=1).lstrip()}\n"
        return f"WITH\n{views}\n{body}\n"

    def values(self, arguments: Mapping[str, Any]) -> list[Any]:
        """The arguments in the order of the `?`s, each checked against its declared type."""
        missing = [p.name for p in self.parameters if p.name not in arguments]
        extra = sorted(set(arguments) - {p.name for p in self.parameters})
        if missing or extra:
            raise RollupArgumentsInvalid(f"{self.name}: missing {missing}, unexpected {extra}")
        ordered = []
        for parameter in self.parameters:
            value = arguments[parameter.name]
            if parameter.type == "DATE" and not isinstance(value, date):
                raise RollupArgumentsInvalid(f"{self.name}: {parameter.name} must be a date")
            if parameter.type == "INTEGER" and (isinstance(value, bool) or not isinstance(value, int)):
                raise RollupArgumentsInvalid(f"{self.name}: {parameter.name} must be an integer")
            if parameter.type == "VARCHAR" and not isinstance(value, str):
                raise RollupArgumentsInvalid(f"{self.name}: {parameter.name} must be text")
            ordered.append(value.isoformat() if isinstance(value, date) else value)
        return ordered


class RollupRunner(Protocol):
    """Runs a rollup on one engine and returns its rows as dicts (dates as `date`, numbers as int/float)."""

    engine: str

    def run(self, query: RollupQuery, arguments: Mapping[str, Any]) -> list[dict[str, Any]]: ...


def rollup_names() -> list[str]:
    return sorted(p.stem for p in SQL_DIRECTORY.glob("*.sql"))


@cache
def view_text(name: str) -> str:
    return RollupQuery(name, (SQL_DIRECTORY / "views" / f"{name}.sql").read_text(), ()).body


@cache
def load_rollup(name: str) -> RollupQuery:
    path = SQL_DIRECTORY / f"{name}.sql"
    if name not in rollup_names():
        raise UnknownRollup(f"no rollup {name!r}; known: {', '.join(rollup_names())}")
    text = path.read_text()
    return RollupQuery(name=name, text=text, parameters=parse_parameters(text))


def parse_parameters(text: str) -> tuple[Parameter, ...]:
    match = _PARAMETERS_LINE.search(text)
    if match is None:
        return ()
    parameters = []
    for item in match.group("list").split(","):
        name, _, kind = item.strip().partition(" ")
        kind = kind.strip().upper()
        if kind not in ("DATE", "INTEGER", "VARCHAR"):
            raise ValueError(f"parameter {name!r} has an unsupported type {kind!r}")
        parameters.append(Parameter(name, kind))  # type: ignore[arg-type]
    return tuple(parameters)


def run_rollup(runner: RollupRunner, name: str, **arguments: Any) -> list[dict[str, Any]]:
    return runner.run(load_rollup(name), arguments)
