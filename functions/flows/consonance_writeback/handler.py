"""Queue: EpisodeDelivered -> Spotify link and status on the Consonance product (see logic.py)."""

from __future__ import annotations

from typing import Any

from functions import dependencies
from functions.domain.events import DomainEvent, EpisodeDelivered
from functions.flows.consonance_writeback.logic import WritebackDeps, write_back
from functions.observability import logger, metrics, tracer
from functions.sqs_batch import consume_sqs_batch_together

FLOW = "consonance-writeback"


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    deps = WritebackDeps(ledger=dependencies.ledger(), consonance=dependencies.consonance(), settings=dependencies.settings())

    def handle_all(events: list[DomainEvent]) -> dict[int, Exception | None]:
        return write_back([e for e in events if isinstance(e, EpisodeDelivered)], deps)

    return consume_sqs_batch_together(event, context, flow=FLOW, accept=(EpisodeDelivered,), handle_all=handle_all)
