"""The bench's own instruments: a log of every external HTTP call the connectors make (through
`functions.connectors.http.observe_requests`), and a counter of AWS API calls by operation and table.

Both observe the product code from outside; neither changes what it does.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from functions.connectors.http import HttpExchange, observe_requests

LEDGER_WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
MEGAPHONE_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Call:
    """One HTTP request a connector sent (every attempt counts: a 429 is a call made)."""

    service: str
    method: str
    path: str
    status: int | None
    at: datetime
    operation: str  # GraphQL operation name for Consonance; "" otherwise
    mutation: bool

    @property
    def is_external_write(self) -> bool:
        if self.service == "megaphone":
            return self.method in MEGAPHONE_WRITE_METHODS
        return self.mutation


def call_from_exchange(exchange: HttpExchange) -> Call:
    body = exchange.request_body
    query = body.get("query", "") if isinstance(body, dict) else ""
    operation = body.get("operationName") or "" if isinstance(body, dict) else ""
    return Call(
        service=exchange.service,
        method=exchange.method,
        path=urlsplit(exchange.url).path,
        status=exchange.status,
        at=datetime.fromisoformat(exchange.virtual_time),
        operation=str(operation),
        mutation=is_graphql_mutation(query),
    )


def is_graphql_mutation(document: str) -> bool:
    """Whether a GraphQL document's (first) operation is a mutation; comments and whitespace skipped."""
    for line in document.splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            return text.startswith("mutation")
    return False


class CallLog:
    """Every external call, in order. Use as a context manager (it unregisters itself on exit)."""

    def __init__(self, on_call: Callable[[int, Call], None] | None = None) -> None:
        self.calls: list[Call] = []
        self.on_call = on_call  # called with (number of calls so far, the call): progress reporting
        self._stop: Any = None

    def __enter__(self) -> CallLog:
        self._stop = observe_requests(self._observe)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None

    def _observe(self, exchange: HttpExchange) -> None:
        call = call_from_exchange(exchange)
        self.calls.append(call)
        if self.on_call is not None:
            self.on_call(len(self.calls), call)

    def between(self, start: datetime, end: datetime) -> list[Call]:
        return [c for c in self.calls if start <= c.at <= end]

    def since_index(self, index: int) -> list[Call]:
        return self.calls[index:]


def count_by_service(calls: Iterable[Call]) -> dict[str, int]:
    return dict(sorted(Counter(c.service for c in calls).items()))


def describe_calls(calls: Iterable[Call]) -> dict[str, int]:
    """Calls grouped as `service METHOD operation-or-path-shape`, for the notes."""
    counts: Counter[str] = Counter()
    for call in calls:
        if call.service == "consonance":
            key = f"consonance {call.operation or call.method}"
        else:
            key = f"{call.service} {call.method} {path_shape(call.path)}"
        if call.status == 429:
            key += " (429)"
        counts[key] += 1
    return dict(counts.most_common())


def path_shape(path: str) -> str:
    """A request path with ids replaced by {id}, and Megaphone's `/api/networks/{network}/podcasts/{id}`
    prefix shortened to `podcasts/{id}`."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "networks"] and len(parts) >= 3:
        parts = parts[3:]
    return "/".join("{id}" if i > 0 and _looks_like_id(p) else p for i, p in enumerate(parts)) or "/"


def _looks_like_id(part: str) -> bool:
    return len(part) >= 16 or part.startswith("mp-") or part.isdigit()


class AwsCallCounter:
    """Counts AWS API calls made in this process by (service, operation, table name), by wrapping
    botocore's `BaseClient._make_api_call` for the duration of the `with` block."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str, str]] = Counter()
        self._lock = threading.Lock()
        self._original: Any = None

    def __enter__(self) -> AwsCallCounter:
        from botocore.client import BaseClient

        original = BaseClient._make_api_call
        counts, lock = self.counts, self._lock

        def counted(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            table = api_params.get("TableName", "")
            if not table and operation_name in ("BatchWriteItem", "BatchGetItem"):
                table = ",".join(sorted((api_params.get("RequestItems") or {}).keys()))
            with lock:
                counts[(client.meta.service_model.service_name, operation_name, table)] += 1
            return original(client, operation_name, api_params)

        self._original = original
        BaseClient._make_api_call = counted
        return self

    def __exit__(self, *exc: object) -> None:
        from botocore.client import BaseClient

        if self._original is not None:
            BaseClient._make_api_call = self._original
            self._original = None

    def snapshot(self) -> Counter[tuple[str, str, str]]:
        with self._lock:
            return Counter(self.counts)

    @staticmethod
    def writes_to(table: str, counts: Counter[tuple[str, str, str]]) -> int:
        return sum(n for (_, operation, name), n in counts.items() if operation in LEDGER_WRITE_OPERATIONS and table in name.split(","))

    @staticmethod
    def total(counts: Counter[tuple[str, str, str]]) -> int:
        return sum(counts.values())


def diff(after: Counter[tuple[str, str, str]], before: Counter[tuple[str, str, str]]) -> Counter[tuple[str, str, str]]:
    result = Counter(after)
    result.subtract(before)
    return Counter({k: v for k, v in result.items() if v})


def json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
