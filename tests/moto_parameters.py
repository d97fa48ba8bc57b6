"""Holding the sandbox's converted moto request parameters (`sandbox.moto_speedups.
json_requests_converted`) to what moto's parser builds: equal, of the same types at every
level, with keys in the same order (moto's handlers may iterate them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def identical(converted: Any, parsed: Any) -> bool:
    """Equal, with the same type everywhere and every dict's keys in the same order."""
    if type(converted) is not type(parsed):
        return False
    if isinstance(parsed, dict):
        return list(converted) == list(parsed) and all(identical(converted[key], parsed[key]) for key in parsed)
    if isinstance(parsed, list):
        return len(converted) == len(parsed) and all(identical(a, b) for a, b in zip(converted, parsed, strict=True))
    return bool(converted == parsed)


@dataclass
class ParameterComparisons:
    """An `on_compare` hook: the operations it saw, and those whose parameters were not identical."""

    compared: list[str] = field(default_factory=list)
    different: list[str] = field(default_factory=list)

    def __call__(self, operation: str, converted: Any, parsed: Any) -> None:
        self.compared.append(operation)
        if not identical(converted, parsed):
            self.different.append(f"{operation}: {converted!r:.300} != {parsed!r:.300}")
