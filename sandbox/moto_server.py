"""AWS on loopback: moto's threaded server, reached through `AWS_ENDPOINT_URL`.

Why a server and not `mock_aws`: with the endpoint in the environment every boto3 client — the
handlers', the runtime's, an ops CLI in another process — talks to the sandbox exactly as it would
talk to AWS, with no patching. The server holds dummy credentials only; while it runs, anything
that could send real credentials or redirect a service elsewhere (a session token, a profile,
per-service endpoint overrides) is taken out of the environment and put back when it stops.

Clients in this process skip the socket (`in_process=True`, the default): their requests, prepared
by botocore for the loopback URL (JSON-protocol ones unsigned, before botocore's signing and sending),
are handed to the same WSGI application the server thread serves (`sandbox.aws_transport`), or —
unless `direct_dispatch=False` — straight to the moto handler that application would call, without
Flask's request handling around it (`sandbox.moto_direct_dispatch`).
Other processes keep using the socket. While it runs, moto's slow paths
are short-cut with the same answers (`speedups=True`, the default; `sandbox.moto_speedups`).

In front of moto stands the sandbox's Athena engine (`sandbox.athena_engine`): moto does not run SQL,
so Athena queries are answered by DuckDB over the Glue tables' data in moto's S3.
"""

from __future__ import annotations

import logging
import os
import threading
import urllib.request
from collections.abc import Iterable
from contextlib import ExitStack
from types import TracebackType
from typing import Any

import boto3
from botocore import handlers as botocore_handlers
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from sandbox.athena_engine import AthenaEngine
from sandbox.aws_transport import InProcessTransport, install_botocore_handlers
from sandbox.moto_direct_dispatch import DirectDispatch
from sandbox.moto_speedups import moto_speedups

SANDBOX_REGION = "eu-west-1"
SANDBOX_ACCOUNT = "123456789012"  # moto's default account
DUMMY_CREDENTIAL = "testing"

# Variables that would make a client bypass the sandbox or carry real credentials.
_SHADOWING_VARIABLES = (
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
)


class RememberingDispatcher(DomainDispatcherApplication):
    """moto's server application, remembering which backend serves a host name. moto answers that
    on every request by listing and stat-ing its own package directory (about 250 entries) before
    matching its URL patterns; the answer depends only on the host and the installed moto, so the
    first answer per host is kept. Everything else — host inference from the signature, routing,
    the backends — is moto's own."""

    def __init__(self) -> None:
        super().__init__(create_backend_app)
        self._backend_by_host: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        if host not in self._backend_by_host:
            self._backend_by_host[host] = super().get_backend_for_host(host)
        return self._backend_by_host[host]


def queues_holding_messages(region: str, queue_urls: Iterable[str]) -> set[str]:
    """Which of these queues hold any message (visible, in flight or delayed), read from moto's SQS
    backend in this process without a request: an idle poll then receives only where a receive could
    return something. moto's backends live in this process both behind the server thread and under
    `mock_aws`."""
    from moto.sqs.models import sqs_backends

    queues = sqs_backends[SANDBOX_ACCOUNT][region].queues
    return {url for url in queue_urls if (queue := queues.get(url.rsplit("/", 1)[-1])) is not None and queue._messages}


def reset_client_caches() -> None:
    """Forget every boto3 client the project already built, so the next one uses the current
    environment (endpoint, region, credentials)."""
    from aws_lambda_powertools.utilities import parameters

    from functions import dead_letters, event_bus
    from functions.flow_template import reset_environments
    from functions.state import dynamo

    reset_environments()
    dynamo.reset_clients()
    event_bus.events_client.cache_clear()
    dead_letters.sqs_client.cache_clear()
    parameters.clear_caches()  # Powertools' secrets provider holds its own client and cached values
    boto3.DEFAULT_SESSION = None  # a session caches the credentials it resolved first


class MotoServer:
    """Start with `with MotoServer() as server:`; the environment points at it until the block ends."""

    def __init__(
        self,
        region: str = SANDBOX_REGION,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        in_process: bool = True,
        direct_dispatch: bool = True,
        speedups: bool = True,
    ):
        self.region = region
        self.in_process = in_process
        self.direct_dispatch = direct_dispatch
        self.speedups = speedups
        self._patches = ExitStack()
        self._host = host
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._remove_transport: Any = None
        self._saved_environment: dict[str, str | None] = {}
        self._werkzeug_level: int | None = None
        self.endpoint_url = ""
        self.transport: InProcessTransport | None = None
        self.athena: AthenaEngine | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def environment(self) -> dict[str, str]:
        """What a client in another process (the ops CLI) needs to reach this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIAL,
            "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIAL,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def start(self) -> MotoServer:
        if self._server is not None:
            return self
        werkzeug = logging.getLogger("werkzeug")
        self._werkzeug_level = werkzeug.level
        werkzeug.setLevel(logging.ERROR)  # one access-log line per AWS call drowns everything else
        if self.speedups:
            self._patches.enter_context(moto_speedups())
        dispatcher = RememberingDispatcher()
        self.athena = AthenaEngine(dispatcher, SANDBOX_ACCOUNT, self.region)
        application = self.athena
        server = make_server(self._host, self._port, application, threaded=True)
        self._thread = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
        self._thread.start()
        host, port = server.server_address[:2]
        assert isinstance(host, str)  # a TCP server's address (only a Unix socket's is bytes)
        self._server = server
        self.endpoint_url = f"http://{host}:{port}"
        if self.in_process:
            direct = DirectDispatch(dispatcher, declines=AthenaEngine.answers) if self.direct_dispatch else None
            self.transport = InProcessTransport(application, self.endpoint_url, direct)
            self._remove_transport = install_botocore_handlers(
                ("before-send", self.transport), ("before-call", self.transport.answer_call, botocore_handlers.REGISTER_LAST)
            )
        self._point_environment_here()
        reset_client_caches()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        if self._remove_transport is not None:
            self._remove_transport()  # the transport object stays readable (its counters) until the next start
            self._remove_transport = None
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._server = None
        if self.athena is not None:
            self.athena.close()  # its executions stay readable
        self._patches.close()
        self._restore_environment()
        reset_client_caches()
        if self._werkzeug_level is not None:
            logging.getLogger("werkzeug").setLevel(self._werkzeug_level)

    def queues_holding_messages(self, queue_urls: Iterable[str]) -> set[str]:
        if self._server is None:
            raise RuntimeError("the moto server is not running")
        return queues_holding_messages(self.region, queue_urls)

    def reset_state(self) -> None:
        """Empty every moto backend (queues, tables, buses, secrets) without restarting the server."""
        if self._server is None:
            raise RuntimeError("the moto server is not running")
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
        if self.athena is not None:
            self.athena.executions.clear()

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def _point_environment_here(self) -> None:
        overrides: dict[str, str | None] = {name: None for name in _SHADOWING_VARIABLES}
        overrides.update({name: None for name in os.environ if name.startswith("AWS_ENDPOINT_URL_")})
        overrides.update(self.environment)
        for name, value in overrides.items():
            self._saved_environment.setdefault(name, os.environ.get(name))
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def _restore_environment(self) -> None:
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environment.clear()
