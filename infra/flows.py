"""The flow and secret declarations, for the infrastructure side (the CDK stack, the sandbox, the ops
CLI). They live in `functions/flow_declarations.py` because the handlers read their own declaration
at run time; this module re-exports them under the name the infrastructure code has always used."""

from __future__ import annotations

from functions.flow_declarations import (
    FLOWS,
    MAX_MESSAGE_DELAY_SECONDS,
    SECRET_SPECS,
    Bucket,
    DirectTrigger,
    EventTrigger,
    FlowDeclaration,
    HttpTrigger,
    ObjectCreatedTrigger,
    ScheduleTrigger,
    Secret,
    SecretShape,
    SecretSpec,
    Table,
    flow,
    queue_url_variable,
)
from functions.flow_names import FlowName

__all__ = [
    "FLOWS",
    "MAX_MESSAGE_DELAY_SECONDS",
    "SECRET_SPECS",
    "Bucket",
    "DirectTrigger",
    "EventTrigger",
    "FlowDeclaration",
    "FlowName",
    "HttpTrigger",
    "ObjectCreatedTrigger",
    "ScheduleTrigger",
    "Secret",
    "SecretShape",
    "SecretSpec",
    "Table",
    "flow",
    "queue_url_variable",
]
