"""Runs the rollup SQL on DuckDB over a local store directory (sandbox, tests, ops CLI, bench).

Never imported by a Lambda function (DuckDB is a development dependency). What is DuckDB-specific
stays here: the tables are views over the Parquet files (`read_parquet` with Hive partitioning, the
partition columns typed source VARCHAR and date DATE, as the Glue table declares them), and
`integer_division` is switched on so `/` between integers truncates as it does on Trino — the same SQL
then gives the same numbers on both engines.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from functions.analytics.rollups import RollupQuery
from functions.analytics.facts import DIMENSION_MODELS, DIMENSIONS_DIRECTORY, FACTS_DIRECTORY
from functions.analytics.store import FACT_SCHEMA, dimension_schema


class DuckDBRunner:
    engine = "duckdb"

    def __init__(self, store_root: Path, *, threads: int | None = None):
        self.store_root = Path(store_root)
        self.connection = duckdb.connect(":memory:")
        self.connection.execute("SET integer_division = true")
        if threads is not None:
            self.connection.execute(f"SET threads = {int(threads)}")
        self._register_tables()

    def _register_tables(self) -> None:
        facts_glob = self.store_root / FACTS_DIRECTORY / "source=*" / "date=*" / "*.parquet"
        if any(self.store_root.glob(f"{FACTS_DIRECTORY}/source=*/date=*/*.parquet")):
            self.connection.execute(
                "CREATE OR REPLACE VIEW facts AS SELECT * FROM read_parquet("
                f"{_literal(facts_glob.as_posix())}, hive_partitioning = true, "
                "hive_types = {'source': VARCHAR, 'date': DATE})"
            )
        else:
            empty = FACT_SCHEMA.append(pa.field("source", pa.string())).append(pa.field("date", pa.date32()))
            self._register_empty("facts", empty)
        for name, model in DIMENSION_MODELS.items():
            path = self.store_root / DIMENSIONS_DIRECTORY / name / f"{name}.parquet"
            if path.is_file():
                self.connection.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet({_literal(path.as_posix())})")
            else:
                self._register_empty(name, dimension_schema(model))

    def _register_empty(self, name: str, schema: pa.Schema) -> None:
        self.connection.register(f"{name}_empty", schema.empty_table())
        self.connection.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {name}_empty")

    def run(self, query: RollupQuery, arguments: Mapping[str, Any]) -> list[dict[str, Any]]:
        cursor = self.connection.execute(query.composed(), query.values(arguments))
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def close(self) -> None:
        self.connection.close()


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
