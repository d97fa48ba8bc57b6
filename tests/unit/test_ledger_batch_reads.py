"""`SyncLedger.batch_reads`: a batch's entries read in one round trip, answered from memory until the
batch ends, with the batch's own writes (and only successful ones) visible to its later records.
Calls are counted at botocore, as they go to DynamoDB (moto)."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from functions.state.keys import episode_key, series_key
from functions.state.ledger import ConcurrentUpdate, SyncLedger, new_entry
from functions.state.targets import EPISODE_SOURCE, MEGAPHONE, LedgerStatus
from infra.tables import TABLES
from sandbox.resources import _create_table
from tests.botocore_events import session_events


_tables = itertools.count(1)


@pytest.fixture
def ledger(aws: None) -> SyncLedger:
    spec = next(s for s in TABLES if s.table.value == "ledger")
    return SyncLedger(_create_table(spec, f"batch-reads-ledger-{next(_tables)}"))


@pytest.fixture
def calls() -> Iterator[Counter[str]]:
    """DynamoDB operations sent from here on, by name."""
    counted: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        counted[model.name] += 1

    with session_events({"before-call.dynamodb": count}):  # the ledger's client counts
        yield counted


def source(ledger: SyncLedger, product_id: int, series: int = 7) -> None:
    entry = new_entry(episode_key(product_id), EPISODE_SOURCE)
    entry.series_key = str(series_key(series))
    ledger.save(entry)


def test_one_batch_get_then_reads_from_memory(ledger: SyncLedger, calls: Counter[str]) -> None:
    for product_id in (1, 2):
        source(ledger, product_id)
    calls.clear()
    wanted = [(episode_key(p), target) for p in (1, 2, 3) for target in (EPISODE_SOURCE, MEGAPHONE)]
    with ledger.batch_reads(wanted):
        assert ledger.get(episode_key(1), EPISODE_SOURCE) is not None
        assert ledger.get(episode_key(3), EPISODE_SOURCE) is None  # known absent: not asked again
        assert ledger.get_or_new(episode_key(2), MEGAPHONE).version == 0
        first = ledger.by_series(series_key(7), EPISODE_SOURCE)
        again = ledger.by_series(series_key(7), EPISODE_SOURCE)
    assert len(first) == len(again) == 2
    assert calls == Counter({"BatchGetItem": 1, "Query": 1})
    calls.clear()
    assert ledger.get(episode_key(1), EPISODE_SOURCE) is not None  # after the batch: DynamoDB again
    assert calls == Counter({"GetItem": 1})


def test_a_save_is_seen_by_later_records_of_the_batch_and_a_failed_one_is_read_again(ledger: SyncLedger, calls: Counter[str]) -> None:
    with ledger.batch_reads([(episode_key(5), MEGAPHONE)]):
        entry = ledger.get_or_new(episode_key(5), MEGAPHONE)
        entry.set_status(LedgerStatus.AWAITING_INGEST, "ingesting")
        ledger.save(entry)
        seen = ledger.get(episode_key(5), MEGAPHONE)
        assert seen is not None and seen.version == 1 and seen.status is LedgerStatus.AWAITING_INGEST

        stale = new_entry(episode_key(5), MEGAPHONE)  # version 0: someone else's view from before
        with pytest.raises(ConcurrentUpdate):
            ledger.save(stale)
        calls.clear()
        reread = ledger.get(episode_key(5), MEGAPHONE)
    assert reread is not None and reread.version == 1
    assert calls == Counter({"GetItem": 1})


def test_a_source_saved_in_the_batch_refreshes_its_series(ledger: SyncLedger, calls: Counter[str]) -> None:
    source(ledger, 1)
    with ledger.batch_reads([]):
        assert len(ledger.by_series(series_key(7), EPISODE_SOURCE)) == 1
        source(ledger, 2)
        assert len(ledger.by_series(series_key(7), EPISODE_SOURCE)) == 2
