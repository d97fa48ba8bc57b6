"""Ledger items written before typed state still load: migration on read, from items captured from a
sandbox run of the code that wrote them (`tests/fixtures/legacy_ledger_items.json`, DynamoDB's wire
shape: an `attributes` dict with `draft`, `audio_url`, `written_back: "status|url"` ..., `target_ids`
and `snapshot` beside it). Once saved again they are in the new shape and read back the same."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from functions.domain.models import Episode
from functions.state.keys import EntityKind, episode_key, parse_entity_key
from functions.state.ledger import SyncLedger
from functions.state.targets import EPISODE_SOURCE, MEGAPHONE, LedgerStatus
from infra.tables import TABLES
from sandbox.resources import _create_table

LEGACY_ITEMS = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_ledger_items.json"


@pytest.fixture
def ledger(aws: None) -> SyncLedger:
    spec = next(s for s in TABLES if s.table.value == "ledger")
    table = _create_table(spec, f"legacy-{len(boto3.client('dynamodb').list_tables()['TableNames'])}")
    client = boto3.client("dynamodb")
    for item in json.loads(LEGACY_ITEMS.read_text()):
        client.put_item(TableName=table, Item=item)
    return SyncLedger(table)


def legacy(pk: str, sk: str) -> dict[str, Any]:
    item = next(i for i in json.loads(LEGACY_ITEMS.read_text()) if i["pk"]["S"] == pk and i["sk"]["S"] == sk)
    return {name: json.loads(item[name]["S"]) for name in ("attributes", "target_ids", "snapshot")}


def test_every_captured_item_loads_with_its_typed_state(ledger: SyncLedger) -> None:
    entries = list(ledger.scan())
    assert len(entries) == 8
    assert {(e.entity, e.target) for e in entries} >= {("episode#41001", "consonance"), ("episode#41003", "megaphone")}
    for entry in entries:
        assert parse_entity_key(entry.entity).kind is EntityKind.EPISODE
        assert "attributes" not in entry.model_dump()


def test_a_delivered_megaphone_item_keeps_ids_draft_audio_and_pushed_fields(ledger: SyncLedger) -> None:
    entry = ledger.get(episode_key(41001), MEGAPHONE)
    assert entry is not None and entry.status is LedgerStatus.DELIVERED
    old = legacy("episode#41001", "megaphone")
    assert entry.state.ids == old["target_ids"]
    assert entry.state.draft is old["attributes"]["draft"] is False
    assert entry.state.audio_url == old["attributes"]["audio_url"]
    assert entry.state.pushed_fields == old["attributes"]["pushed_fields"]
    assert str(entry.state.release_date) == old["attributes"]["release_date"]
    assert entry.pushed_hash and entry.history  # the common part is untouched


def test_a_taken_down_item_keeps_the_places_already_alerted(ledger: SyncLedger) -> None:
    entry = ledger.get(episode_key(41003), MEGAPHONE)
    assert entry is not None
    assert entry.state.takedown_places == legacy("episode#41003", "megaphone")["attributes"]["takedown_alerted"] != []


def test_a_source_item_keeps_its_episode_and_rights_hash(ledger: SyncLedger) -> None:
    entry = ledger.get(episode_key(41001), EPISODE_SOURCE)
    assert entry is not None and entry.state.episode is not None
    old = legacy("episode#41001", "consonance")
    # the legacy snapshot, read as today's model (fields added since default to unknown), is the episode
    assert entry.state.episode == Episode.model_validate(old["snapshot"])
    assert entry.state.rights_hash == old["attributes"]["rights_hash"]
    assert entry.series_key == "series#1" or entry.series_key


def test_an_item_saved_again_is_in_the_new_shape_and_reads_back_equal(ledger: SyncLedger) -> None:
    migrated = ledger.get(episode_key(41007), MEGAPHONE)
    assert migrated is not None
    ledger.save(migrated)
    raw = boto3.client("dynamodb").get_item(TableName=ledger.table_name, Key={"pk": {"S": "episode#41007"}, "sk": {"S": "megaphone"}})["Item"]
    assert {"state"} <= set(raw) and not {"attributes", "target_ids", "snapshot"} & set(raw)
    again = ledger.get(episode_key(41007), MEGAPHONE)
    assert again is not None and again.state == migrated.state and again.status == migrated.status
