"""One Lambda execution environment per flow, inside one process.

A deployed flow runs in its own execution environments: its own process, with exactly the variables
its function is configured with, and whatever its cold start built (settings, boto3 clients, the
Powertools secrets cache) kept for the invocations that environment serves next. The sandbox runs
every flow in one process, so around each invocation it swaps in that flow's own:

- environment variables: the flow's configured variables; every variable another flow is given, or
  that a `functions.settings` model reads, is absent unless this flow is given it (no leaking);
- `functions.execution_environment` cache: the settings and clients `functions/` builds once;
- Powertools' parameter providers (the secrets cache and its client);
- boto3's default session (the credentials it resolved). Each environment's session is new, as a
  new process's is, but every botocore session made in this process while the environments exist
  (theirs, and the ones Powertools' secrets providers make for themselves) reads botocore's service
  models and endpoint data through one shared loader: parsing those JSON files again on every cold
  start after a crash was most of a faulted run's CPU time, and the files are the same for every
  environment.

Outside invocations the process's own cache, providers and session are current again (the world's
hooks and the runtime use those). A crashed or timed-out invocation discards its environment, so
the flow's next invocation is a cold start, as in Lambda. The variables stay applied after an
invocation (what a test reads afterwards is what the flow saw) and are restored by `close()`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

from functions.execution_environment import EnvironmentCache, use_cache
from functions.settings import known_variables


@dataclass
class ExecutionEnvironment:
    """What one flow's warm environment keeps between its invocations."""

    flow: str
    cache: EnvironmentCache = field(default_factory=EnvironmentCache)
    parameter_providers: dict[str, Any] = field(default_factory=dict)
    boto3_session: boto3.session.Session | None = None
    invocations: int = 0


class ExecutionEnvironments:
    """Per-flow environments for the variables in `variables` (flow name -> its configured variables)."""

    def __init__(self, variables: Mapping[str, Mapping[str, str]]):
        self._variables = {flow: dict(values) for flow, values in variables.items()}
        managed = {name for values in self._variables.values() for name in values}
        managed |= known_variables()
        self._managed = frozenset(managed)
        self._saved = {name: os.environ.get(name) for name in self._managed}
        self._environments: dict[str, ExecutionEnvironment] = {}
        self.cold_starts: dict[str, int] = {flow: 0 for flow in self._variables}
        _LOADER_SHARING.begin(self)  # every botocore session made from now on, until close()

    @contextmanager
    def entered(self, flow: str) -> Iterator[ExecutionEnvironment]:
        """Run the block as `flow`'s invocation, in its (warm or new) execution environment."""
        environment = self._environments.get(flow)
        if environment is None:
            environment = self._environments[flow] = ExecutionEnvironment(flow)
            self.cold_starts[flow] += 1
        self._apply_variables(flow)
        outer_cache = use_cache(environment.cache)
        outer_providers = dict(DEFAULT_PROVIDERS)
        DEFAULT_PROVIDERS.clear()
        DEFAULT_PROVIDERS.update(environment.parameter_providers)
        if environment.boto3_session is None:
            environment.boto3_session = self._new_session()
        outer_session, boto3.DEFAULT_SESSION = boto3.DEFAULT_SESSION, environment.boto3_session
        environment.invocations += 1
        try:
            yield environment
        finally:
            environment.parameter_providers = dict(DEFAULT_PROVIDERS)
            DEFAULT_PROVIDERS.clear()
            DEFAULT_PROVIDERS.update(outer_providers)
            environment.boto3_session, boto3.DEFAULT_SESSION = boto3.DEFAULT_SESSION, outer_session
            use_cache(outer_cache)

    def _new_session(self) -> boto3.session.Session:
        """A fresh boto3 session (no credentials, clients or config from another environment); its
        botocore data loader is the shared one (`_LoaderSharing`)."""
        return boto3.session.Session(botocore_session=botocore.session.get_session())

    def discard(self, flow: str) -> None:
        """The environment died (a crash, a timeout): the flow's next invocation starts cold."""
        self._environments.pop(flow, None)

    def close(self) -> None:
        """Put back every variable as it was before the first invocation, and botocore's loader factory."""
        for name, value in self._saved.items():
            _set_variable(name, value)
        self._environments.clear()
        _LOADER_SHARING.end(self)

    def _apply_variables(self, flow: str) -> None:
        wanted = self._variables[flow]
        for name in self._managed:
            _set_variable(name, wanted.get(name))


class _UniquePaths(list[str]):
    """boto3 appends its own data directory to a session's loader paths for every session it makes;
    on a shared loader the list would grow by one entry a session."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


class _SharedLoader(botocore.loaders.Loader):
    """botocore's default loader, its search paths kept free of repeats (it caches what it loads)."""

    def __init__(self) -> None:
        super().__init__()
        self._search_paths = _UniquePaths(self.search_paths)


class _LoaderSharing:
    """botocore's loader factory replaced while any ExecutionEnvironments is open (runtimes may close
    in any order): one shared loader, unless a session names its own data path (`AWS_DATA_PATH`)."""

    def __init__(self) -> None:
        self.original = botocore.session.create_loader
        self.owners: set[int] = set()
        self.loader: _SharedLoader | None = None

    def begin(self, owner: object) -> None:
        if not self.owners:
            self.loader = _SharedLoader()
            botocore.session.create_loader = self.create_loader
        self.owners.add(id(owner))

    def end(self, owner: object) -> None:
        self.owners.discard(id(owner))
        if not self.owners and botocore.session.create_loader == self.create_loader:
            botocore.session.create_loader = self.original
            self.loader = None

    def create_loader(self, search_path_string: str | None = None) -> botocore.loaders.Loader:
        if search_path_string or self.loader is None:
            return self.original(search_path_string)
        return self.loader


_LOADER_SHARING = _LoaderSharing()


def _set_variable(name: str, value: str | None) -> None:
    if value is None:
        if name in os.environ:  # (os.environ.pop(name, None) raises and catches a KeyError when absent)
            del os.environ[name]
    elif os.environ.get(name) != value:
        os.environ[name] = value
