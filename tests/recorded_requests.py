"""Recording what the connectors send: the one request observer the tests use (the `exchanges`
fixture in tests/conftest.py, and `recording_requests()` for a recording that starts or ends inside
a test, e.g. around a world's run). Observers see each exchange after the connector redacted its
secrets, so what is recorded is what a request log would show."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from functions.connectors.http import HttpExchange, observe_requests


@dataclass
class ExchangeLog:
    """Every request a connector sent while recording (secrets already redacted by the connector)."""

    exchanges: list[HttpExchange] = field(default_factory=list)

    def of(self, service: str) -> list[HttpExchange]:
        return [e for e in self.exchanges if e.service == service]


@contextmanager
def recording_requests() -> Iterator[ExchangeLog]:
    log = ExchangeLog()
    stop = observe_requests(log.exchanges.append)
    try:
        yield log
    finally:
        stop()
