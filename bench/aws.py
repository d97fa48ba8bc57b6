"""AWS in process for the bench: `moto.mock_aws` instead of the sandbox's moto server.

The sandbox runs moto as a threaded HTTP server on loopback so that other processes (the ops CLI)
can reach it. The bench needs no other process, and with a server every boto3 call pays a loopback
HTTP round trip and werkzeug's request handling, and the server thread competes with the runtime for
the GIL — wall time only: the virtual-time and call-count figures do not depend on it (AWS calls take
no virtual time). `InProcessAws` has the `MotoServer` interface the world uses (context manager,
`environment`, `endpoint_url`), so `SandboxWorld` can be built on it unchanged (see `in_process_world`).

Moto's DynamoDB responses go through its generic, shape-driven serializer, which tries several key
spellings for every member of every attribute value: a Query returning 50 ledger items costs tens of
milliseconds of moto time, the bulk of a sandbox backfill's wall time. Its DynamoDB results are
already in wire form (DynamoDB JSON), so `fast_dynamodb_json()` answers the data-plane operations
with `json.dumps` of that result instead, falling back to the serializer whenever the result holds
anything JSON cannot carry as is (binary, timestamps). tests/unit/test_bench_aws.py holds the fast
body equal to the serializer's for the operations the project uses.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any
from unittest import mock

from sandbox.moto_server import _SHADOWING_VARIABLES, DUMMY_CREDENTIAL, SANDBOX_REGION, reset_client_caches


class InProcessAws:
    """Starts `mock_aws` and points the environment at it (dummy credentials, the sandbox region, no
    endpoint URL or profile that could send a client elsewhere); restores everything on exit."""

    def __init__(self, region: str = SANDBOX_REGION, **_: Any):
        self.region = region
        self.endpoint_url = ""
        self._mock: Any = None
        self._saved: dict[str, str | None] = {}

    @property
    def running(self) -> bool:
        return self._mock is not None

    @property
    def environment(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIAL,
            "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIAL,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def start(self) -> InProcessAws:
        from moto import mock_aws

        overrides: dict[str, str | None] = {name: None for name in _SHADOWING_VARIABLES}
        overrides.update({name: None for name in os.environ if name.startswith("AWS_ENDPOINT_URL")})
        overrides.update(self.environment)
        for name, value in overrides.items():
            self._saved.setdefault(name, os.environ.get(name))
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._mock = mock_aws()
        self._mock.start()
        reset_client_caches()
        return self

    def stop(self) -> None:
        if self._mock is None:
            return
        self._mock.stop()
        self._mock = None
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved.clear()
        reset_client_caches()

    def reset_state(self) -> None:
        """Empty every moto backend (a fresh world); the server's `/moto-api/reset` equivalent."""
        if self._mock is None:
            raise RuntimeError("the in-process AWS mock is not running")

        self._mock.reset()

    def __enter__(self) -> InProcessAws:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


FAST_OPERATIONS = frozenset(
    {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem"}
)


def fast_body(result: object) -> str | None:
    """The JSON body for a DynamoDB result already in wire form; None when JSON cannot carry it as is."""
    try:
        return json.dumps(result)
    except (TypeError, ValueError):
        return None


@contextmanager
def fast_dynamodb_json(on_compare: Callable[[str, str, str], None] | None = None) -> Iterator[None]:
    """While active, moto answers DynamoDB data-plane calls with `fast_body`. With `on_compare`, the
    serializer runs too and `on_compare(operation, fast, serialized)` sees both bodies (for tests)."""
    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoResult

    original = ActionResult.execute_result

    def execute_result(self: ActionResult, context: Any) -> Any:
        operation = context.operation_model.name
        if isinstance(self, DynamoResult) and operation in FAST_OPERATIONS:
            body = fast_body(self.result)
            if body is not None:
                status, headers, _ = original(DynamoResult({}), context)  # status and headers, cheaply
                if on_compare is not None:
                    on_compare(operation, body, original(self, context)[2])
                return status, headers, body
        return original(self, context)

    with mock.patch.object(ActionResult, "execute_result", execute_result):
        yield


def _fast_unix_time(original: Callable[..., float], scale: float) -> Callable[..., float]:
    """moto's `unix_time(dt=None)` reads the wall clock through two datetime constructions; for "now"
    `time.time()` is the same number, a few times cheaper. Other arguments go to moto's own."""
    import time

    def unix_time(dt: Any = None) -> float:
        return time.time() * scale if dt is None else original(dt)

    return unix_time


@contextmanager
def moto_sqs_and_events_speedups() -> Iterator[None]:
    """Moto work that grows with queue length, made constant; same answers:
    - SQS checks each message's retention by computing *all* queue attributes, three of which count
      the queue's messages (reading the clock per message): with 2,000 messages queued, sending or
      receiving one message costs ~10,000 clock reads. The retention period is read directly.
    - SQS reads "now" per message through datetime constructions: `time.time()` instead.
    - EventBridge builds a JSONPath parser (ply yacc) for every target input path of every event:
      the parsed paths are cached (they are immutable).
    """
    import jsonpath_ng.ext
    from moto.sqs import models as sqs_models

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention_period = self.get_queue(queue_name).message_retention_period
        return not retention_period + message.sent_timestamp / 1000 <= sqs_models.unix_time()

    import functools

    cached_parse = functools.lru_cache(maxsize=1024)(jsonpath_ng.ext.parse)
    with (
        mock.patch.object(sqs_models, "unix_time", _fast_unix_time(sqs_models.unix_time, 1.0)),
        mock.patch.object(sqs_models, "unix_time_millis", _fast_unix_time(sqs_models.unix_time_millis, 1000.0)),
        mock.patch.object(sqs_models.SQSBackend, "is_message_valid_based_on_retention_period", is_message_valid_based_on_retention_period),
        mock.patch.object(jsonpath_ng.ext, "parse", cached_parse),
    ):
        yield


@contextmanager
def moto_speedups() -> Iterator[None]:
    """Every moto speed-up above (wall time only; moto answers the same)."""
    with fast_dynamodb_json(), moto_sqs_and_events_speedups():
        yield


@contextmanager
def in_process_world() -> Iterator[None]:
    """While active, `SandboxWorld` builds on `InProcessAws` instead of starting a moto server, with
    `moto_speedups`."""
    with mock.patch("sandbox.world.MotoServer", InProcessAws), moto_speedups():
        yield
