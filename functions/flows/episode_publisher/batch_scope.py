"""The batch scope (a queue flow's `prepare`) of every flow publishing through `publish_episode`: the
publisher, rights sync and the brand show.

Before the batch: one BatchGetItem for every ledger entry the batch's evaluated episodes are read on
(`ledger_reads_for`), answered from memory while the records run (writes still go to DynamoDB,
conditional on the version read). After it: one SendMessageBatch of the ingest checks its pushes
made due (`IngestChecks`; a flow whose deployment does not wire the follow-up sends nothing)."""

from __future__ import annotations

from contextlib import AbstractContextManager, ExitStack, nullcontext
from typing import Any

from functions.domain.events import (
    DomainEvent,
    EpisodeChanged,
    EpisodeReevaluationDue,
    LicenceChanged,
    RightsChanged,
    RightsWindowDue,
)
from functions.flows.episode_publisher.logic import PublisherDeps, ledger_reads_for

# The events these flows evaluate a product on (`publish_episode`), each about one product. Not the
# brand show's `EpisodeDelivered`: recording a delivery reads the licence alone (and only a branded
# asset's channel entries after it), so reading the episode's entries ahead would be work for nothing.
_EVALUATED = (EpisodeReevaluationDue, RightsChanged, RightsWindowDue, LicenceChanged)


def publishing_batch(events: list[DomainEvent], deps: PublisherDeps) -> AbstractContextManager[Any]:
    product_ids = [
        event.episode.product_id if isinstance(event, EpisodeChanged) else event.product_id
        for event in events
        if isinstance(event, (EpisodeChanged, *_EVALUATED))
    ]
    scope = ExitStack()
    scope.enter_context(deps.ingest_checks.batch() if deps.ingest_checks is not None else nullcontext())
    scope.enter_context(deps.ledger.batch_reads(ledger_reads_for(product_ids)))
    return scope
