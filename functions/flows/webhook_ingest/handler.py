"""Function URL: signed notices in, `TakedownReported` events out (see logic.py).

Logs say which rule rejected a delivery and where it came from; never the body, the signature
headers or the secret.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from functions import dependencies
from functions.clock import utcnow
from functions.flows.webhook_ingest.logic import (
    FunctionUrlRequest,
    WebhookDeps,
    forget_signature_in,
    malformed_event,
    receive_delivery,
)
from functions.observability import logger, metrics, tracer

FLOW = "webhook-ingest"


def webhook_deps() -> WebhookDeps:
    guard = dependencies.webhook_replay_guard()
    return WebhookDeps(
        secrets=dependencies.webhook_secrets,
        replay_guard=guard,
        notices=dependencies.idempotency(),
        bus=dependencies.event_bus(),
        tolerance_seconds=dependencies.settings().webhook_tolerance_seconds,
        forget_signature=forget_signature_in(guard),
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        request = FunctionUrlRequest.model_validate(event)
    except ValidationError:
        response = malformed_event()
    else:
        logger.append_keys(request_id=request.request_context.request_id, source_ip=request.request_context.http.source_ip)
        response = receive_delivery(request, webhook_deps(), utcnow())

    if response.rejection is not None:
        metrics.add_metric(name="WebhookRejected", unit=MetricUnit.Count, value=1)
        logger.warning("webhook delivery rejected", extra={"status": response.status, "reason": response.rejection})
    elif response.failure is not None:
        metrics.add_metric(name="WebhookFailed", unit=MetricUnit.Count, value=1)
        logger.error("webhook delivery could not be processed", extra={"status": response.status, "reason": response.failure})
    else:
        metrics.add_metric(name="WebhookAccepted", unit=MetricUnit.Count, value=1)
        logger.info("webhook notice accepted", extra={"notice_id": response.notice_id, "duplicate": response.body.get("duplicate", False)})
    return response.as_function_url_response()
