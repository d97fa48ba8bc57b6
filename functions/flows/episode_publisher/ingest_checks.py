"""The ingest checks a batch of pushes makes due, sent when the batch ends.

Megaphone ingests pushed audio asynchronously; without this, an episode left `awaiting_ingest` would
wait for the ingest checker's next scheduled sweep (every 15 minutes: only the safety net). Instead
each batch of every flow that pushes through `publish_episode` (the publisher, rights sync, the brand
show) sends, in one SendMessageBatch, an `IngestCheckDue` per such episode to the ingest follow-up's
queue, delayed by the expected ingest time (`MEGAPHONE_INGEST_SECONDS`, inferred, configurable). A
send that fails is logged, not raised: the episode is already pushed and saved, and the sweep still
finds it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aws_lambda_powertools.metrics import MetricUnit

from functions.direct_messages import DirectMessages
from functions.domain.errors import TransientError
from functions.domain.events import IngestCheckDue
from functions.observability import logger, metrics


@dataclass
class IngestChecks:
    messages: DirectMessages
    delay_seconds: int
    due: list[int] = field(default_factory=list)

    def request(self, product_id: int) -> None:
        if product_id not in self.due:
            self.due.append(product_id)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Collect the batch's requests and send them once it has run (not when it raised: then the
        records are redelivered and push again)."""
        self.due.clear()
        yield
        self.send_due()

    def send_due(self) -> None:
        due, self.due = self.due, []
        if not due:
            return
        try:
            self.messages.send([IngestCheckDue(product_id=product_id) for product_id in due], delay_seconds=self.delay_seconds)
        except TransientError as exc:
            metrics.add_metric(name="IngestChecksNotSent", unit=MetricUnit.Count, value=len(due))
            logger.warning("ingest checks not sent; the ingest checker's sweep finds these episodes", extra={"products": due, "error": str(exc)})
