"""The Web API's error answer, shared by the Web API simulator's parts (catalogue, playlists)."""

from __future__ import annotations

from typing import Any

import httpx

from sandbox.simulators.base import json_response


def api_error(status: int, message: str, *, reason: str | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
    """The Web API's error shape: `{"error": {"status", "message", "reason"?}}`."""
    error: dict[str, Any] = {"status": status, "message": message}
    if reason is not None:
        error["reason"] = reason
    return json_response(status, {"error": error}, headers=headers)
