"""`AvailabilityStore.taken_down`: the episodes taken down somewhere and not live there again, read
from the sparse `by-stopped-at` index (the table as `infra/tables.py` declares it), which holds the
stopped records only: live records are never read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from functions.state.availability import STOPPED_INDEX, AvailabilityRecord, AvailabilityStore, transition
from functions.state.keys import episode_key
from infra.flows import Table
from infra.tables import table_spec
from sandbox.resources import _create_table
from tests.botocore_events import session_events

START = datetime(2026, 12, 1, tzinfo=timezone.utc)


@pytest.fixture
def store(aws: None) -> AvailabilityStore:
    return AvailabilityStore(_create_table(table_spec(Table.AVAILABILITY), "availability-taken-down"))


@pytest.fixture
def scans() -> Iterator[list[dict[str, Any]]]:
    """(request parameters, ScannedCount) of every Scan from here on."""
    seen: list[dict[str, Any]] = []

    def before(params: dict[str, Any], **_: Any) -> None:
        seen.append({"params": params})

    def after(parsed: dict[str, Any], **_: Any) -> None:
        seen[-1]["scanned"] = parsed.get("ScannedCount")

    with session_events({"provide-client-params.dynamodb.Scan": before, "after-call.dynamodb.Scan": after}):
        yield seen


def observe(store: AvailabilityStore, product_id: int, territory: str, *, live: bool, taken_down: bool = False, hours: int = 0) -> AvailabilityRecord:
    entity = episode_key(product_id)
    existing = store.get(entity, "spotify", territory)
    record = transition(
        existing,
        entity=entity,
        channel="spotify",
        territory=territory,
        live=live,
        reason="" if live else ("Spotify stopped serving it" if taken_down else "withdrawn by the integration"),
        taken_down=taken_down,
        source="monitor",
        observed_at=START + timedelta(hours=hours),
    )
    store.put(record, existing, existing_read=True)
    return record


def test_only_episodes_taken_down_and_not_live_again_are_found_reading_only_stopped_records(store: AvailabilityStore, scans: list[dict[str, Any]]) -> None:
    for product_id in range(1, 9):
        for territory in ("GB", "US", "DE"):
            observe(store, product_id, territory, live=True)
    observe(store, 2, "US", live=False, taken_down=True, hours=1)  # taken down in one market
    observe(store, 3, "GB", live=False, hours=1)  # withdrawn by the integration: not a takedown
    observe(store, 4, "DE", live=False, taken_down=True, hours=1)
    observe(store, 4, "DE", live=True, hours=2)  # live there again
    observe(store, 5, "GB", live=False, taken_down=True, hours=3)  # first seen stopped elsewhere, then taken down
    observe(store, 5, "US", live=False, taken_down=True, hours=3)

    assert store.taken_down() == {"episode#2", "episode#5"}
    (scan,) = scans
    assert scan["params"]["IndexName"] == STOPPED_INDEX
    assert scan["scanned"] == 4  # the stopped records (2 US, 3 GB, 5 GB, 5 US), not the 24 in the table
