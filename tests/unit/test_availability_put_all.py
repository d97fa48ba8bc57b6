"""`AvailabilityStore.put_all`: an event's places written in one TransactWriteItems (a lone record in
a PutItem), each under the same condition as `put` (never over a newer observation), with a
cancelled transaction's other records sent again; on moto, with the table as `infra/tables.py`
declares it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from functions.domain.errors import TransientError
from functions.state.availability import AvailabilityRecord, AvailabilityStore, transition
from functions.state.keys import episode_key
from infra.flows import Table
from infra.tables import table_spec
from sandbox.resources import _create_table
from tests.botocore_events import session_events

START = datetime(2026, 12, 1, tzinfo=timezone.utc)
ENTITY = str(episode_key(41))


@pytest.fixture
def store(aws: None, request: pytest.FixtureRequest) -> AvailabilityStore:
    return AvailabilityStore(_create_table(table_spec(Table.AVAILABILITY), f"availability-{request.node.name[5:40]}"))


@pytest.fixture
def writes() -> Iterator[list[str]]:
    """The DynamoDB write operations sent from here on."""
    seen: list[str] = []

    def before(model: Any, **_: Any) -> None:
        if model.name in ("PutItem", "TransactWriteItems", "BatchWriteItem", "UpdateItem"):
            seen.append(model.name)

    with session_events({"before-call.dynamodb": before}):
        yield seen


def record(territory: str, existing: AvailabilityRecord | None, *, live: bool, hours: int) -> AvailabilityRecord:
    return transition(
        existing,
        entity=ENTITY,
        channel="spotify",
        territory=territory,
        live=live,
        reason="available on Spotify" if live else "Spotify stopped serving it",
        taken_down=not live,
        source="monitor",
        observed_at=START + timedelta(hours=hours),
    )


def stored(store: AvailabilityStore) -> dict[str, tuple[bool, datetime]]:
    return {r.territory: (r.live, r.observed_at) for r in store.get_for(ENTITY)}


def test_an_events_places_are_written_in_one_transaction(store: AvailabilityStore, writes: list[str]) -> None:
    changes = [(record(market, None, live=True, hours=1), None) for market in ("DE", "GB", "US")]
    assert store.put_all(changes) == [True, True, True]
    assert writes == ["TransactWriteItems"]
    assert stored(store) == {market: (True, START + timedelta(hours=1)) for market in ("DE", "GB", "US")}


def test_a_lone_record_is_a_plain_put_and_an_unchanged_one_is_not_sent(store: AvailabilityStore, writes: list[str]) -> None:
    first = record("GB", None, live=True, hours=1)
    assert store.put_all([(first, None)]) == [True]
    same = record("GB", first, live=True, hours=2)
    new = record("US", None, live=True, hours=2)
    assert store.put_all([(same, first), (new, None)]) == [False, True]
    assert writes == ["PutItem", "PutItem"]


def test_a_place_holding_a_newer_observation_is_left_and_the_others_are_written(store: AvailabilityStore, writes: list[str]) -> None:
    newer = record("GB", None, live=False, hours=5)
    assert store.put(newer)
    writes.clear()
    # The caller read the table before `newer` was stored (another recorder wrote it meanwhile).
    changes = [(record(market, None, live=True, hours=3), None) for market in ("DE", "GB", "US")]
    assert store.put_all(changes) == [True, False, True]
    assert writes == ["TransactWriteItems", "TransactWriteItems"]  # cancelled (nothing written), then without GB
    assert stored(store) == {"DE": (True, START + timedelta(hours=3)), "GB": (False, START + timedelta(hours=5)), "US": (True, START + timedelta(hours=3))}


def test_every_place_newer_leaves_the_table_as_it_is(store: AvailabilityStore) -> None:
    newer = [record(market, None, live=False, hours=5) for market in ("DE", "GB")]
    assert store.put_all([(r, None) for r in newer]) == [True, True]
    older = [(record(market, None, live=True, hours=4), None) for market in ("DE", "GB")]
    assert store.put_all(older) == [False, False]
    assert stored(store) == {"DE": (False, START + timedelta(hours=5)), "GB": (False, START + timedelta(hours=5))}


def test_a_place_named_twice_is_refused_before_anything_is_sent(store: AvailabilityStore, writes: list[str]) -> None:
    twice = [(record("GB", None, live=True, hours=1), None), (record("GB", None, live=False, hours=2), None)]
    with pytest.raises(ValueError, match="one record per place"):
        store.put_all(twice)
    assert writes == []


def test_a_transaction_cancelled_for_another_reason_is_transient(store: AvailabilityStore) -> None:
    from botocore.exceptions import ClientError

    def conflict(**_: Any) -> None:
        error = {"Error": {"Code": "TransactionCanceledException", "Message": "conflict"}, "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}]}
        raise ClientError(error, "TransactWriteItems")  # type: ignore[arg-type]

    changes = [(record(market, None, live=True, hours=1), None) for market in ("DE", "GB")]
    with session_events({"before-call.dynamodb.TransactWriteItems": conflict}), pytest.raises(TransientError, match="TransactionConflict"):
        store.put_all(changes)
    assert stored(store) == {}
