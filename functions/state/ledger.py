"""The sync ledger: for each Consonance entity and target, what was pushed, where, and what happened.

One item per (entity, target): `pk` = entity key (`episode#123`, see `keys.py`), `sk` = target name
(`megaphone`, `consonance`, `consonance-writeback`, ...; see `targets.py`). The common part of every item
— status with its reason, the source hash seen, the hash last pushed, a pending-create intent, the open
findings and a short history that is the audit trail — is `LedgerEntry`; the target's own facts are its
typed `state`. An entity may have any number of targets, each with its own hashes and history, and
each retried on its own. Writes are optimistic (`version`), so two concurrent handlers cannot silently
overwrite each other. Two sparse indexes answer "entries of a series" and "entries in a status".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field, model_validator

from functions.clock import utcnow
from functions.domain.errors import TransientError
from functions.domain.models import Finding
from functions.state.dynamo import dynamodb_client, from_item, to_item
from functions.state.keys import EntityKey, parse_entity_key
from functions.state.targets import State, TargetSpec

HISTORY_LIMIT = 25
JSON_ATTRIBUTES = ("findings", "history", "state")
# Written by the code before typed state; read (and migrated) only.
LEGACY_JSON_ATTRIBUTES = ("snapshot", "attributes", "target_ids")
SERIES_INDEX = "by-series"
STATUS_INDEX = "by-status"
BATCH_GET_LIMIT = 100
BATCH_GET_ATTEMPTS = 8


class HistoryEntry(BaseModel):
    at: datetime
    action: str
    detail: str = ""


class ConcurrentUpdate(TransientError):
    code = "concurrent_update"


class LedgerEntry(BaseModel, Generic[State]):
    entity: str
    target: str
    status: str
    status_reason: str = ""
    series_key: str | None = None
    source_hash: str | None = None
    pushed_hash: str | None = None
    pending_create: str | None = None
    findings: list[Finding] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    state: State
    updated_at: datetime | None = None
    version: int = 0

    @model_validator(mode="after")
    def _status_in_its_vocabulary(self) -> LedgerEntry[State]:
        """The status as a member of its target's status enum (so `entry.status is LedgerStatus.X` holds)."""
        self.status = self._statuses()(self.status)
        return self

    def _statuses(self) -> type[StrEnum]:
        return TargetSpec.of(parse_entity_key(self.entity).kind, self.target).statuses

    @property
    def key(self) -> EntityKey:
        return parse_entity_key(self.entity)

    def record(self, action: str, detail: str = "") -> None:
        self.history.append(HistoryEntry(at=utcnow(), action=action, detail=detail))
        del self.history[:-HISTORY_LIMIT]

    def set_status(self, status: StrEnum | str, reason: str = "") -> None:
        value = self._statuses()(status)
        if value != self.status or reason != self.status_reason:
            self.record(f"status:{value}", reason)
        self.status = value
        self.status_reason = reason


def new_entry(key: EntityKey, target: TargetSpec[State]) -> LedgerEntry[State]:
    return LedgerEntry[target.state](entity=str(key), target=target.name, status=str(target.initial_status), state=target.state())  # type: ignore[name-defined]


class SyncLedger:
    def __init__(self, table_name: str):
        self.table_name = table_name

    def get(self, key: EntityKey, target: TargetSpec[State]) -> LedgerEntry[State] | None:
        response = dynamodb_client().get_item(
            TableName=self.table_name, Key=to_item({"pk": str(key), "sk": target.name}), ConsistentRead=True
        )
        return _entry(response["Item"], target) if "Item" in response else None

    def get_or_new(self, key: EntityKey, target: TargetSpec[State]) -> LedgerEntry[State]:
        return self.get(key, target) or new_entry(key, target)

    def get_many(self, keys: Iterable[EntityKey], target: TargetSpec[State]) -> dict[EntityKey, LedgerEntry[State]]:
        """Entries of one target for many entities: BatchGetItem, 100 keys a call, unprocessed keys retried."""
        return {entry.key: entry for entry in self.get_items([(key, target) for key in keys])}

    def get_items(self, wanted: Iterable[tuple[EntityKey, TargetSpec[Any]]]) -> list[LedgerEntry[Any]]:
        """Entries for any mix of (entity, target) pairs in as few BatchGetItem calls as possible."""
        specs = {(str(key), target.name): target for key, target in wanted}
        found: list[LedgerEntry[Any]] = []
        pending = list(specs)
        for start in range(0, len(pending), BATCH_GET_LIMIT):
            keys = [to_item({"pk": pk, "sk": sk}) for pk, sk in pending[start : start + BATCH_GET_LIMIT]]
            request: dict[str, Any] = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
            for _ in range(BATCH_GET_ATTEMPTS):
                response = dynamodb_client().batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table_name, []):
                    found.append(_entry(item, specs[(item["pk"]["S"], item["sk"]["S"])]))
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise TransientError(f"{self.table_name}: batch read left keys unprocessed")
        return found

    def save(self, entry: LedgerEntry[Any]) -> LedgerEntry[Any]:
        """Write the entry if nobody else changed it since it was read; bump its version."""
        expected = entry.version
        entry.version = expected + 1
        entry.updated_at = utcnow()
        values = entry.model_dump(mode="json", exclude=set(JSON_ATTRIBUTES))
        # Nested documents are stored as JSON strings: one attribute each, cheap to (de)serialise,
        # and readable in the console as they are.
        for name in JSON_ATTRIBUTES:
            values[name] = json.dumps(entry.model_dump(mode="json", include={name})[name], separators=(",", ":"))
        values.update(pk=entry.entity, sk=entry.target, status_key=f"{entry.target}#{entry.status}")
        if not values["series_key"]:
            values.pop("series_key")
        condition = "attribute_not_exists(pk)" if expected == 0 else "version = :expected"
        kwargs: dict[str, Any] = {"ConditionExpression": condition}
        if expected:
            kwargs["ExpressionAttributeValues"] = to_item({":expected": expected})
        try:
            dynamodb_client().put_item(TableName=self.table_name, Item=to_item(values), **kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                entry.version = expected
                raise ConcurrentUpdate(f"{entry.entity}/{entry.target} changed concurrently; retry") from exc
            raise
        return entry

    def by_series(self, series: EntityKey, target: TargetSpec[State]) -> list[LedgerEntry[State]]:
        return [
            _entry(item, target)
            for item in self._query(SERIES_INDEX, "series_key", str(series))
            if item["sk"]["S"] == target.name
        ]

    def by_status(self, target: TargetSpec[State], status: StrEnum | str) -> list[LedgerEntry[State]]:
        return [_entry(item, target) for item in self._query(STATUS_INDEX, "status_key", f"{target.name}#{status}")]

    def scan(self, target: TargetSpec[State] | None = None) -> Iterator[LedgerEntry[Any]]:
        """Every entry (of one target, when given), each with its own target's state model."""
        paginator = dynamodb_client().get_paginator("scan")
        for page in paginator.paginate(TableName=self.table_name, ConsistentRead=True):
            for item in page.get("Items", []):
                if target is not None and item["sk"]["S"] != target.name:
                    continue
                yield _entry(item, target or TargetSpec.of(parse_entity_key(item["pk"]["S"]).kind, item["sk"]["S"]))

    def _query(self, index: str, key: str, value: str) -> Iterator[dict[str, Any]]:
        paginator = dynamodb_client().get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table_name,
            IndexName=index,
            KeyConditionExpression="#k = :v",
            ExpressionAttributeNames={"#k": key},
            ExpressionAttributeValues=to_item({":v": value}),
        )
        for page in pages:
            yield from page.get("Items", [])  # indexes project ALL attributes


def _entry(item: dict[str, Any], target: TargetSpec[State]) -> LedgerEntry[State]:
    values = from_item(item)
    values["entity"], values["target"] = values.pop("pk"), values.pop("sk")
    values.pop("status_key", None)
    for name in JSON_ATTRIBUTES + LEGACY_JSON_ATTRIBUTES:
        if isinstance(values.get(name), str):
            values[name] = json.loads(values[name])
    if "state" not in values:  # written before typed state: migrate on read
        values["state"] = target.state.from_legacy(values)
    for name in LEGACY_JSON_ATTRIBUTES:
        values.pop(name, None)
    return LedgerEntry[target.state].model_validate(values)  # type: ignore[name-defined]
