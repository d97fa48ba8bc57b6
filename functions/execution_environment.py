"""What a Lambda execution environment keeps from one invocation to the next: the settings and
clients its cold start built.

In Lambda a process is one function's execution environment, so this is per process and
`built_once` behaves like `functools.lru_cache` on a function without arguments. The local sandbox
runs every flow in one process: it gives each flow its own `EnvironmentCache` and makes it current
around that flow's invocations (`use_cache`), so a flow reuses its own clients on a warm start and
never sees another flow's (built under another environment, for another role).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Generic, TypeVar

T = TypeVar("T")


class EnvironmentCache:
    """Values built once per execution environment, keyed by the factory that built them."""

    def __init__(self) -> None:
        self.values: dict[object, object] = {}


_current = EnvironmentCache()


def current_cache() -> EnvironmentCache:
    """The current execution environment's cache (for values keyed by something other than a factory)."""
    return _current


def use_cache(cache: EnvironmentCache) -> EnvironmentCache:
    """Make `cache` the current execution environment's; returns the one it replaces."""
    global _current
    previous, _current = _current, cache
    return previous


class BuiltOnce(Generic[T]):
    """A factory whose result is kept in the current `EnvironmentCache` (see `built_once`)."""

    def __init__(self, factory: Callable[[], T]):
        self._factory = factory
        update_wrapper(self, factory)

    def __call__(self) -> T:
        values = _current.values
        if self in values:
            return values[self]  # type: ignore[return-value]
        value = self._factory()  # a factory that raises caches nothing, like lru_cache
        values[self] = value
        return value

    def cache_clear(self) -> None:
        """Forget the value in the current execution environment (tests, a changed environment)."""
        _current.values.pop(self, None)


def built_once(factory: Callable[[], T]) -> BuiltOnce[T]:
    """Decorate a factory without arguments: built on first use, then reused by every invocation the
    execution environment serves."""
    return BuiltOnce(factory)
