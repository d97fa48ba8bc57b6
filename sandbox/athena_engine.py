"""Athena's query API in the sandbox: queries run on DuckDB over the Glue tables' data in moto's S3.

moto keeps Athena's workgroups and query records but does not execute SQL, so a flow that runs its
rollups on Athena (the nightly analytics) would get empty answers. This engine stands in front of
moto's server application (a WSGI middleware, so in-process clients and the ops CLI over the socket
both reach it) and answers the four calls a query makes — StartQueryExecution, GetQueryExecution,
GetQueryResults, StopQueryExecution — the way Athena does:

- the query's unqualified tables resolve in `QueryExecutionContext.Database`: every Glue table there
  (moto's Glue) becomes a DuckDB view over the Parquet objects under the table's S3 `Location`
  (moto's S3), Hive-partitioned by its partition keys, typed by its Glue columns; a table with no
  objects is an empty view of those columns;
- `ExecutionParameters` are SQL literals replacing the `?`s in order (a quoted string or a number);
- DuckDB runs with `integer_division` on (Trino's `/`), as the local runner does;
- results come back as Athena shapes them: a header row first, every value as text (`VarCharValue`,
  absent for NULL), column types in Athena's names; paged by `MaxResults` (at most 1000) and `NextToken`;
- a query DuckDB rejects is FAILED with the reason and `AthenaError.Retryable = false`; an unknown
  workgroup or database is an `InvalidRequestException`, as Athena answers.

What it does not show: that Athena (Trino) accepts the same text — only a run on Athena does (see
docs/analytics.md, "What the dialect test checks"). Everything else about Athena (workgroups,
listing, named queries) is moto's.
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

WsgiApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
HANDLED = frozenset({"StartQueryExecution", "GetQueryExecution", "GetQueryResults", "StopQueryExecution"})
MAX_RESULTS = 1000
_GLUE_TO_DUCKDB = {"string": "VARCHAR", "double": "DOUBLE", "boolean": "BOOLEAN", "timestamp": "TIMESTAMP", "date": "DATE", "bigint": "BIGINT"}
_DUCKDB_TO_ATHENA = {
    "VARCHAR": "varchar",
    "BIGINT": "bigint",
    "HUGEINT": "bigint",
    "INTEGER": "integer",
    "SMALLINT": "smallint",
    "TINYINT": "tinyint",
    "DOUBLE": "double",
    "FLOAT": "real",
    "DATE": "date",
    "BOOLEAN": "boolean",
    "TIMESTAMP": "timestamp",
}
_REGION = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/athena/")


class AthenaRequestInvalid(Exception):
    """What Athena answers with `InvalidRequestException` (HTTP 400)."""


@dataclass
class _Execution:
    query_id: str
    query: str
    workgroup: str
    database: str
    output_location: str | None
    submitted_at: datetime
    state: str = "SUCCEEDED"
    reason: str | None = None
    columns: list[tuple[str, str]] = field(default_factory=list)  # (name, Athena type)
    rows: list[list[str | None]] = field(default_factory=list)


class AthenaEngine:
    """Wraps moto's server application; see the module docstring."""

    def __init__(self, app: WsgiApplication, account: str, default_region: str):
        self.app = app
        self.account = account
        self.default_region = default_region
        self.executions: dict[str, _Execution] = {}
        self._lock = threading.Lock()
        # The Glue tables' Parquet objects, copied where DuckDB reads them and kept between queries
        # (each query writes only what changed since the last): path -> the object's ETag.
        self._mirror = tempfile.TemporaryDirectory(prefix="athena-")
        self._mirror_root = Path(self._mirror.name)
        self._mirrored: dict[Path, str] = {}
        self._mirror_lock = threading.Lock()
        self._duckdb: duckdb.DuckDBPyConnection | None = None  # opened at the first query

    def close(self) -> None:
        """Remove the mirror. Why here: the sandbox CLI ends with `os._exit`, which skips the finalizer
        that would remove a temporary directory, so every run left its mirror behind."""
        with self._mirror_lock:
            if self._duckdb is not None:
                self._duckdb.close()
                self._duckdb = None
            self._mirrored.clear()
            self._mirror.cleanup()

    @staticmethod
    def answers(environ: dict[str, Any]) -> bool:
        """True for the requests this engine answers itself; moto answers the others."""
        service, _, operation = environ.get("HTTP_X_AMZ_TARGET", "").partition(".")
        return service == "AmazonAthena" and operation in HANDLED

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not self.answers(environ):
            return self.app(environ, start_response)
        operation = environ["HTTP_X_AMZ_TARGET"].partition(".")[2]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = json.loads(environ["wsgi.input"].read(length) or b"{}")
        match = _REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
        region = match.group(1) if match else self.default_region
        try:
            answer = self._answer(operation, request, region)
            status, body = "200 OK", answer
        except AthenaRequestInvalid as exc:
            status, body = "400 Bad Request", {"__type": "InvalidRequestException", "Message": str(exc), "AthenaErrorCode": "INVALID_INPUT"}
        content = json.dumps(body, default=str).encode()
        start_response(
            status,
            [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(content))), ("x-amzn-RequestId", str(uuid.uuid4()))],
        )
        return [content]

    # operations ---------------------------------------------------------------------------------
    def _answer(self, operation: str, request: dict[str, Any], region: str) -> dict[str, Any]:
        if operation == "StartQueryExecution":
            return {"QueryExecutionId": self._start(request, region).query_id}
        execution = self._execution(request)
        if operation == "GetQueryExecution":
            return {"QueryExecution": self._describe(execution)}
        if operation == "StopQueryExecution":
            return {}
        return self._results(execution, request)

    def _start(self, request: dict[str, Any], region: str) -> _Execution:
        from moto.athena.models import athena_backends

        workgroup = request.get("WorkGroup", "primary")
        groups = athena_backends[self.account][region].work_groups
        if workgroup not in groups:
            raise AthenaRequestInvalid(f"WorkGroup {workgroup} is not found.")
        configured = (groups[workgroup].configuration or {}).get("ResultConfiguration", {}).get("OutputLocation")
        database = (request.get("QueryExecutionContext") or {}).get("Database", "default")
        execution = _Execution(
            query_id=str(uuid.uuid4()),
            query=request["QueryString"],
            workgroup=workgroup,
            database=database,
            output_location=(request.get("ResultConfiguration") or {}).get("OutputLocation") or configured,
            submitted_at=datetime.now(timezone.utc),
        )
        try:
            execution.columns, execution.rows = self._run(execution, request.get("ExecutionParameters") or [], region)
        except duckdb.Error as exc:
            execution.state, execution.reason = "FAILED", f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        with self._lock:
            self.executions[execution.query_id] = execution
        return execution

    def _execution(self, request: dict[str, Any]) -> _Execution:
        with self._lock:
            execution = self.executions.get(request.get("QueryExecutionId", ""))
        if execution is None:
            raise AthenaRequestInvalid(f"QueryExecution {request.get('QueryExecutionId')} was not found")
        return execution

    def _describe(self, execution: _Execution) -> dict[str, Any]:
        status: dict[str, Any] = {"State": execution.state, "SubmissionDateTime": execution.submitted_at.timestamp()}
        if execution.state == "FAILED":
            status["StateChangeReason"] = execution.reason
            status["AthenaError"] = {"ErrorCategory": 2, "ErrorType": 1006, "Retryable": False, "ErrorMessage": execution.reason}
        return {
            "QueryExecutionId": execution.query_id,
            "Query": execution.query,
            "StatementType": "DML",
            "WorkGroup": execution.workgroup,
            "QueryExecutionContext": {"Database": execution.database, "Catalog": "AwsDataCatalog"},
            "ResultConfiguration": {"OutputLocation": f"{(execution.output_location or '').rstrip('/')}/{execution.query_id}.csv"},
            "Status": status,
        }

    def _results(self, execution: _Execution, request: dict[str, Any]) -> dict[str, Any]:
        if execution.state != "SUCCEEDED":
            raise AthenaRequestInvalid(f"Query has not yet finished. Current state: {execution.state}")
        size = min(int(request.get("MaxResults") or MAX_RESULTS), MAX_RESULTS)
        start = int(request.get("NextToken") or 0)
        table: list[list[str | None]] = [[name for name, _ in execution.columns], *execution.rows]  # Athena's first row is the header
        page = table[start : start + size]
        answer: dict[str, Any] = {
            "UpdateCount": 0,
            "ResultSet": {
                "Rows": [{"Data": [{"VarCharValue": value} if value is not None else {} for value in row]} for row in page],
                "ResultSetMetadata": {
                    "ColumnInfo": [
                        {"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": name, "Label": name, "Type": kind, "Nullable": "UNKNOWN"}
                        for name, kind in execution.columns
                    ]
                },
            },
        }
        if start + size < len(table):
            answer["NextToken"] = str(start + size)
        return answer

    # running ------------------------------------------------------------------------------------
    def _run(self, execution: _Execution, parameters: list[str], region: str) -> tuple[list[tuple[str, str]], list[list[str | None]]]:
        from moto.glue.models import glue_backends

        glue = glue_backends[self.account][region]
        try:
            tables = [table.as_dict() for table in glue.get_tables(execution.database, None)]
        except Exception as exc:  # moto's EntityNotFoundException: Athena says the schema does not exist
            raise AthenaRequestInvalid(f"SCHEMA_NOT_FOUND: Schema '{execution.database}' does not exist ({type(exc).__name__})") from None
        with self._mirror_lock:  # one query at a time reads and refreshes the mirror
            # A connection of its own on the engine's one database (opening a database costs ~12 ms, a
            # connection to it under 1 ms), inside a transaction rolled back at the end: its settings,
            # its temporary views and anything the query itself created are gone with it.
            connection = self._database().cursor()
            try:
                connection.execute("SET integer_division = true")
                connection.execute("BEGIN TRANSACTION")
                for table in tables:
                    self._register(connection, table, self._mirror_root / execution.database / table["Name"])
                cursor = connection.execute(execution.query, [_literal_value(p) for p in parameters])
                columns = [(name, _athena_type(str(kind))) for name, kind, *_ in cursor.description]
                rows = [[_text(value) for value in row] for row in cursor.fetchall()]
            finally:
                connection.close()  # rolls the open transaction back
        return columns, rows

    def _database(self) -> duckdb.DuckDBPyConnection:
        if self._duckdb is None:
            self._duckdb = duckdb.connect(":memory:")
        return self._duckdb

    def _register(self, connection: duckdb.DuckDBPyConnection, table: dict[str, Any], directory: Path) -> None:
        storage = table["StorageDescriptor"]
        partitions = [(c["Name"], c["Type"]) for c in table.get("PartitionKeys") or []]
        columns = [(c["Name"], c["Type"]) for c in storage["Columns"]] + partitions
        if self._copy_objects(storage["Location"], directory) == 0:
            typed = ", ".join(f"CAST(NULL AS {_GLUE_TO_DUCKDB[kind]}) AS {_quoted(name)}" for name, kind in columns)
            connection.execute(f"CREATE TEMP VIEW {_quoted(table['Name'])} AS SELECT {typed} WHERE false")
            return
        pattern = _string((directory / "**" / "*.parquet").as_posix())
        options = ""
        if partitions:
            types = ", ".join(f"{_string(name)}: {_GLUE_TO_DUCKDB[kind]}" for name, kind in partitions)
            options = f", hive_partitioning = true, hive_types = {{{types}}}"
        selected = ", ".join(_quoted(name) for name, _ in columns)
        connection.execute(f"CREATE TEMP VIEW {_quoted(table['Name'])} AS SELECT {selected} FROM read_parquet({pattern}{options})")

    def _copy_objects(self, location: str, directory: Path) -> int:
        """The Parquet objects under an s3:// location (current versions), mirrored in `directory`:
        an object is written again only when its ETag changed, and a file whose object is gone is
        removed. Returns how many objects there are."""
        from moto.s3.models import s3_backends

        bucket_name, _, prefix = location.removeprefix("s3://").partition("/")
        bucket = s3_backends[self.account]["global"].get_bucket(bucket_name)
        wanted: set[Path] = set()
        for name in list(bucket.keys.keys()):
            if not name.startswith(prefix) or not name.endswith(".parquet"):
                continue
            current = bucket.keys.get(name)
            if current is None or not hasattr(current, "value"):  # deleted (a delete marker)
                continue
            target = directory / name[len(prefix) :]
            wanted.add(target)
            if self._mirrored.get(target) != current.etag:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(current.value)
                self._mirrored[target] = current.etag
        for gone in [path for path in self._mirrored if path not in wanted and path.is_relative_to(directory)]:
            gone.unlink(missing_ok=True)
            del self._mirrored[gone]
        return len(wanted)


def _literal_value(text: str) -> Any:
    """An ExecutionParameters entry (a SQL literal) as the value DuckDB binds."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d*", text):
        return float(text)
    raise AthenaRequestInvalid(f"execution parameter {text!r} is not a literal this engine reads")


def _athena_type(duckdb_type: str) -> str:
    base = duckdb_type.split("(", 1)[0].upper()
    if base == "DECIMAL":
        return duckdb_type.lower()
    return _DUCKDB_TO_ATHENA.get(base, "varchar")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
