"""AWS in process for the bench: `moto.mock_aws` instead of the sandbox's moto server.

The sandbox runs moto as a threaded HTTP server on loopback so that other processes (the ops CLI)
can reach it. The bench needs no other process, and with a server every boto3 call pays a loopback
HTTP round trip and werkzeug's request handling, and the server thread competes with the runtime for
the GIL — wall time only: the virtual-time and call-count figures do not depend on it (AWS calls take
no virtual time). `InProcessAws` has the `MotoServer` interface the world uses (context manager,
`environment`, `endpoint_url`), so `SandboxWorld` can be built on it unchanged (see `in_process_world`).
The moto speed-ups live in `sandbox.moto_speedups` (the sandbox's moto server uses them too).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any
from unittest import mock

from sandbox.moto_server import _SHADOWING_VARIABLES, DUMMY_CREDENTIAL, SANDBOX_REGION, queues_holding_messages, reset_client_caches
from sandbox.moto_speedups import (  # noqa: F401 - the bench's and its tests' names for them
    FAST_OPERATIONS,
    fast_body,
    fast_dynamodb_json,
    moto_speedups,
    moto_sqs_and_events_speedups,
)


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

    def queues_holding_messages(self, queue_urls: Iterable[str]) -> set[str]:
        if self._mock is None:
            raise RuntimeError("the in-process AWS mock is not running")
        return queues_holding_messages(self.region, queue_urls)

    def __enter__(self) -> InProcessAws:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


@contextmanager
def in_process_world() -> Iterator[None]:
    """While active, `SandboxWorld` builds on `InProcessAws` instead of starting a moto server, with
    `moto_speedups`."""
    with mock.patch("sandbox.world.MotoServer", InProcessAws), moto_speedups():
        yield
