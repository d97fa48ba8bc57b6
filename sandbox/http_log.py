"""A JSON-lines log of every request a connector sent, for reports and conformance checks.

`HttpExchange` already redacts the credential headers. This log does not rely on that alone: it
redacts those headers again and scans every string it writes (URL, headers, body, error) for the
sandbox's known secret values — raw and URL-encoded — replacing each with a marker and counting it.
A non-zero `secret_redactions` means a connector put a secret somewhere other than an auth header:
a finding to report, never a secret on disk.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import quote, quote_plus

from functions.connectors.http import HttpExchange, observe_requests, redact_headers

REDACTED = "[redacted]"


class RequestLog:
    """`with RequestLog(path, secret_values=[...]):` logs every exchange while the block runs. The file
    holds that block's exchanges only: a second `make demo` writes its own requests, not both runs'."""

    def __init__(self, path: Path | str, *, secret_values: Iterable[str] = ()):
        self.path = Path(path)
        self.records_written = 0
        self.secret_redactions = 0
        variants = {form for value in secret_values if value for form in (value, quote(value, safe=""), quote_plus(value))}
        self._secret_forms = sorted(variants, key=len, reverse=True)  # longest first: no partial leftovers
        # Each form as it reads inside a JSON string. JSON escapes character by character, so a string
        # holding a form puts the form's encoded text in the encoded line; a line without any of them
        # holds no secret (a false match only costs the full scrub).
        self._encoded_forms = [json.dumps(form)[1:-1] for form in self._secret_forms]
        self._file: IO[str] | None = None
        self._stop_observing: Callable[[], None] | None = None

    def attach(self) -> RequestLog:
        if self._stop_observing is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("w", encoding="utf-8")
            self._stop_observing = observe_requests(self.record)
        return self

    def detach(self) -> None:
        if self._stop_observing is not None:
            self._stop_observing()
            self._stop_observing = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> RequestLog:
        return self.attach()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.detach()

    def record(self, exchange: HttpExchange) -> None:
        if self._file is None:
            return
        entry = {
            "service": exchange.service,
            "method": exchange.method,
            "url": exchange.url,
            "status": exchange.status,
            "virtual_time": exchange.virtual_time,
            "request_headers": redact_headers(exchange.request_headers),
            "request_body": exchange.request_body,
            "error": exchange.error,
        }
        line = json.dumps(entry, default=str)
        if any(form in line for form in self._encoded_forms):  # rare: a connector leaked a secret; scrub every string
            line = json.dumps(self._scrub(json.loads(line)))
        self._file.write(line + "\n")
        self._file.flush()  # another process (a report, `tail -f`) may be reading
        self.records_written += 1

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            for form in self._secret_forms:
                if form in value:
                    self.secret_redactions += value.count(form)
                    value = value.replace(form, REDACTED)
            return value
        if isinstance(value, dict):
            return {self._scrub(str(key)): self._scrub(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._scrub(item) for item in value]
        return value


def read_request_log(path: Path | str) -> list[dict[str, Any]]:
    """The logged exchanges, in order."""
    with Path(path).open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]
