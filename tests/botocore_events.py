"""Botocore event handlers on the default boto3 session for the span of a test: what the project's
DynamoDB client sends or gets back (moto answers). The project's cached clients are made again from
that session on the way in and out, so they carry the handlers exactly while the block runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import boto3

from functions.state.dynamo import reset_clients


@contextmanager
def session_events(handlers: Mapping[str, Callable[..., Any]]) -> Iterator[None]:
    """`handlers` by botocore event name (`before-call.dynamodb`, `after-call.dynamodb.Scan`, ...)."""
    session = boto3.DEFAULT_SESSION or boto3.setup_default_session() or boto3.DEFAULT_SESSION
    assert session is not None
    for name, handler in handlers.items():
        session.events.register(name, handler)
    reset_clients()
    try:
        yield
    finally:
        for name, handler in handlers.items():
            session.events.unregister(name, handler)
        reset_clients()
