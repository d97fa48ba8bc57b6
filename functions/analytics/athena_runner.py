"""Runs the rollup SQL on Athena (boto3 only, so a Lambda function may use it).

The query text is `RollupQuery.composed()`, byte for byte what DuckDB runs locally. What is
Athena-specific stays here: the Glue database the unqualified table names resolve in
(`QueryExecutionContext`), the workgroup and result location, and parameters sent as
`ExecutionParameters` — SQL literals, so a DATE travels as `'2025-03-14'` into `CAST(? AS DATE)`.

The run: `StartQueryExecution`, then `GetQueryExecution` polled with a growing interval on the
injected clock until SUCCEEDED/FAILED/CANCELLED or the timeout (then the query is stopped), then
`GetQueryResults` page by page (the first row of the first page is the header). Values come back as
text and are typed from the result's column types.

Errors: a failed query whose `AthenaError.Retryable` is true, throttling and a timeout are
`TransientError`s (retried by the queue); a query Athena rejects (syntax, missing table, permissions)
is a `PermanentError` with Athena's reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError

from functions.analytics.rollups import RollupQuery
from functions.clock import clock, epoch_seconds
from functions.domain.errors import PermanentError, TransientError

TERMINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})
THROTTLING_CODES = frozenset({"ThrottlingException", "TooManyRequestsException", "InternalServerException"})
_INTEGER_TYPES = frozenset({"tinyint", "smallint", "integer", "int", "bigint"})
_FLOAT_TYPES = frozenset({"double", "real", "float", "decimal"})


class AthenaQueryRejected(PermanentError):
    code = "athena_query_rejected"


class AthenaQueryFailed(TransientError):
    code = "athena_query_failed"


class AthenaQueryTimedOut(TransientError):
    code = "athena_query_timed_out"


@dataclass(frozen=True)
class AthenaLocation:
    """Where queries run: the settings the lead's flow passes (workgroup, Glue database, result path)."""

    database: str
    workgroup: str
    output_location: str | None = None  # None: the workgroup's enforced result location
    catalog: str = "AwsDataCatalog"


class AthenaRunner:
    engine = "athena"

    def __init__(
        self,
        location: AthenaLocation,
        *,
        client: Any = None,
        poll_initial_seconds: float = 0.5,
        poll_max_seconds: float = 5.0,
        timeout_seconds: float = 300.0,
    ):
        self.location = location
        self.client = client or boto3.client("athena")
        self.poll_initial_seconds = poll_initial_seconds
        self.poll_max_seconds = poll_max_seconds
        self.timeout_seconds = timeout_seconds

    def request(self, query: RollupQuery, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The `StartQueryExecution` request for a rollup (built separately so it can be checked)."""
        request: dict[str, Any] = {
            "QueryString": query.composed(),
            "QueryExecutionContext": {"Database": self.location.database, "Catalog": self.location.catalog},
            "WorkGroup": self.location.workgroup,
        }
        if self.location.output_location:
            request["ResultConfiguration"] = {"OutputLocation": self.location.output_location}
        values = query.values(arguments)
        if values:
            request["ExecutionParameters"] = [
                athena_literal(value, parameter.type) for value, parameter in zip(values, query.parameters, strict=True)
            ]
        return request

    def run(self, query: RollupQuery, arguments: Mapping[str, Any]) -> list[dict[str, Any]]:
        execution_id = self._call("start_query_execution", **self.request(query, arguments))["QueryExecutionId"]
        self.wait(execution_id, query.name)
        return self.results(execution_id)

    def wait(self, execution_id: str, name: str) -> None:
        deadline = epoch_seconds() + self.timeout_seconds
        interval = self.poll_initial_seconds
        while True:
            execution = self._call("get_query_execution", QueryExecutionId=execution_id)["QueryExecution"]
            status = execution["Status"]
            state = status["State"]
            if state == "SUCCEEDED":
                return
            if state in TERMINAL_STATES:
                error = status.get("AthenaError", {})
                reason = status.get("StateChangeReason") or error.get("ErrorMessage") or state
                message = f"Athena query {name} ({execution_id}) {state.lower()}: {reason}"
                if state == "FAILED" and error.get("Retryable"):
                    raise AthenaQueryFailed(message)
                raise AthenaQueryRejected(message)
            if epoch_seconds() + interval > deadline:
                self._call("stop_query_execution", QueryExecutionId=execution_id)
                raise AthenaQueryTimedOut(f"Athena query {name} ({execution_id}) still {state} after {self.timeout_seconds:.0f} s; stopped")
            clock().sleep(interval)
            interval = min(interval * 2, self.poll_max_seconds)

    def results(self, execution_id: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        columns: list[tuple[str, str]] | None = None
        paginator = self.client.get_paginator("get_query_results")
        try:
            pages = list(paginator.paginate(QueryExecutionId=execution_id))
        except ClientError as exc:
            raise _typed(exc, "get_query_results") from exc
        for page_number, page in enumerate(pages):
            result_set = page["ResultSet"]
            if columns is None:
                columns = [(c["Name"], c["Type"].lower()) for c in result_set["ResultSetMetadata"]["ColumnInfo"]]
            data = result_set.get("Rows", [])
            if page_number == 0 and data:
                data = data[1:]  # the header row
            for row in data:
                cells = [cell.get("VarCharValue") for cell in row["Data"]]
                rows.append({name: typed_value(text, kind) for (name, kind), text in zip(columns, cells, strict=True)})
        return rows

    def _call(self, operation: str, **request: Any) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = getattr(self.client, operation)(**request)  # boto3 is untyped
            return answer
        except ClientError as exc:
            raise _typed(exc, operation) from exc


def athena_literal(value: Any, parameter_type: str) -> str:
    """A bound value as the SQL literal Athena substitutes for its `?`."""
    if parameter_type == "INTEGER":
        return str(int(value))
    text = str(value)
    return "'" + text.replace("'", "''") + "'"


def typed_value(text: str | None, column_type: str) -> Any:
    """Athena's text cell as the Python value DuckDB would return for the same column."""
    if text is None:
        return None
    base = column_type.split("(", 1)[0].strip()
    if base in _INTEGER_TYPES:
        return int(text)
    if base in _FLOAT_TYPES:
        return float(text)
    if base == "boolean":
        return text.lower() == "true"
    if base == "date":
        return date.fromisoformat(text)
    if base.startswith("timestamp"):
        return datetime.fromisoformat(text)
    return text


def _typed(exc: ClientError, operation: str) -> Exception:
    code = exc.response.get("Error", {}).get("Code", "")
    message = f"Athena {operation} failed: {code}: {exc.response.get('Error', {}).get('Message', '')}"
    if code in THROTTLING_CODES:
        return AthenaQueryFailed(message)
    return AthenaQueryRejected(message)
