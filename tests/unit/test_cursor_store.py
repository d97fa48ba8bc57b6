"""A run's cursor is written only when it says something new: a moved position, or a last-success mark
an hour old; on moto, counting the writes the table receives."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from bench.instrument import AwsCallCounter
from functions.state.cursors import CursorStore
from infra.flows import Table
from sandbox.moto_server import reset_client_caches
from sandbox.resources import create_resources

_deployments = itertools.count(1)


@pytest.fixture
def cursors(aws: None) -> Iterator[CursorStore]:
    tables = create_resources([], secret_values={}, prefix=f"cur{next(_deployments)}").tables
    yield CursorStore(tables[Table.CURSORS])
    reset_client_caches()


def position(day: str, at: str, **more: object) -> dict[str, object]:
    return {"changed_since": day, "last_success_at": at, **more}


def writes(counter: AwsCallCounter) -> int:
    return sum(n for (_, operation, _), n in counter.snapshot().items() if operation == "PutItem")


def test_the_first_run_writes_its_cursor(cursors: CursorStore) -> None:
    assert cursors.advance("poller", None, position("2031-06-01", "2031-06-01T08:00:00+00:00")) is True
    assert cursors.get("poller") == position("2031-06-01", "2031-06-01T08:00:00+00:00")


def test_a_run_that_restates_the_position_within_the_hour_writes_nothing(cursors: CursorStore) -> None:
    first = position("2031-06-01", "2031-06-01T08:00:00+00:00", licences=[3, 1], pages=None)
    cursors.advance("sweep", None, first)
    stored = cursors.get("sweep")

    with AwsCallCounter() as counter:
        assert cursors.advance("sweep", stored, position("2031-06-01", "2031-06-01T08:45:00+00:00", licences=[3, 1], pages=None)) is False
    assert writes(counter) == 0
    assert cursors.get("sweep") == stored  # the mark says 08:00 still


def test_the_mark_is_refreshed_after_an_hour_and_a_moved_position_is_written_at_once(cursors: CursorStore) -> None:
    cursors.advance("poller", None, position("2031-06-01", "2031-06-01T08:00:00+00:00"))

    later = position("2031-06-01", "2031-06-01T09:00:00+00:00")
    assert cursors.advance("poller", cursors.get("poller"), later) is True
    assert cursors.get("poller") == later

    moved = position("2031-06-02", "2031-06-01T09:15:00+00:00")
    assert cursors.advance("poller", cursors.get("poller"), moved) is True
    assert cursors.get("poller") == moved

    more = position("2031-06-02", "2031-06-01T09:30:00+00:00", compared_pages=["a1"])
    assert cursors.advance("poller", cursors.get("poller"), more) is True
    assert cursors.get("poller") == more
