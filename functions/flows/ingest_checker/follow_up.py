"""Queue (direct, delayed): the `IngestCheckDue` of a push (by the publisher, rights sync or the brand
show) -> check those episodes' ingest now (see logic.py). An episode still ingesting, or one whose
check failed, is left to the scheduled sweep: the message is not retried, so a slow ingest never
keeps a message cycling."""

from __future__ import annotations

from collections.abc import Mapping

from functions.domain.events import DomainEvent, IngestCheckDue
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import batch_queue_flow
from functions.flows.ingest_checker.handler import IngestDeps, ingest_deps, report
from functions.flows.ingest_checker.logic import check_due


def check_batch(events: list[DomainEvent], deps: IngestDeps) -> Mapping[int, Exception | None]:
    product_ids = [event.product_id for event in events if isinstance(event, IngestCheckDue)]
    report(check_due(product_ids, deps.ledger, deps.megaphone, deps.bus))
    return {index: None for index in range(len(events))}


handler = batch_queue_flow(flow(FlowName.INGEST_FOLLOW_UP), build=ingest_deps, handle_all=check_batch)
