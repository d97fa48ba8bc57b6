"""Function URL: signed notices in, `TakedownReported` events out (see logic.py).

Logs say which rule rejected a delivery and where it came from; never the body, the signature
headers or the secret. A deployment the endpoint cannot work with (a setting missing, a blank or malformed signing key)
answers 503, counted as `WebhookMisconfigured` (an alarm: infra/monitoring.py), never 500.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from functions.clock import utcnow
from functions.dependencies import Dependencies
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import http_flow
from functions.flows.webhook_ingest.logic import (
    FunctionUrlRequest,
    WebhookDeps,
    WebhookResponse,
    forget_delivery_in,
    malformed_event,
    misconfigured,
    receive_delivery,
)
from functions.observability import logger, metrics
from functions.settings import ConfigurationError

MISCONFIGURED_METRIC = "WebhookMisconfigured"


def webhook_deps(platform: Dependencies) -> WebhookDeps:
    guard = platform.webhook_replay_guard
    return WebhookDeps(
        secrets=platform.webhook_secrets,
        replay_guard=guard,
        notices=platform.idempotency,
        bus=platform.event_bus,
        tolerance_seconds=platform.settings.webhook.webhook_tolerance_seconds,
        forget_delivery=forget_delivery_in(guard),
    )


def respond(event: dict[str, Any], deps: WebhookDeps | ConfigurationError) -> dict[str, Any]:
    response: WebhookResponse
    if isinstance(deps, ConfigurationError):
        response = misconfigured(str(deps))
    else:
        try:
            request = FunctionUrlRequest.model_validate(event)
        except ValidationError:
            response = malformed_event()
        else:
            logger.append_keys(request_id=request.request_context.request_id, source_ip=request.request_context.http.source_ip)
            response = receive_delivery(request, deps, utcnow())

    if response.rejection is not None:
        metrics.add_metric(name="WebhookRejected", unit=MetricUnit.Count, value=1)
        logger.warning("webhook delivery rejected", extra={"status": response.status, "reason": response.rejection})
    elif response.failure is not None:
        name = MISCONFIGURED_METRIC if response.misconfigured else "WebhookFailed"
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
        logger.error("webhook delivery could not be processed", extra={"status": response.status, "reason": response.failure})
    else:
        metrics.add_metric(name="WebhookAccepted", unit=MetricUnit.Count, value=1)
        logger.info("webhook notice accepted", extra={"notice_id": response.notice_id, "duplicate": response.body.get("duplicate", False)})
    return response.as_function_url_response()


handler = http_flow(flow(FlowName.WEBHOOK_INGEST), build=webhook_deps, respond=respond)
