"""The sync ledger: for each Consonance entity and target, what was pushed, where, and what happened.

One item per (entity, target): `pk` = entity key (`episode#123`), `sk` = target (`megaphone`). It keeps
the latest normalised source snapshot and its hash (what Consonance says), the hash last pushed (what
the target has), the target-side ids, a status with its reason, the open findings, and a short history
that is the audit trail. Writes are optimistic (`version`), so two concurrent handlers cannot silently
overwrite each other. Two sparse indexes answer "episodes of a series" and "entries in a status".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from functions.clock import utcnow
from functions.domain.errors import TransientError
from functions.domain.models import Episode, Finding
from functions.state.dynamo import dynamodb_client, from_item, to_item

HISTORY_LIMIT = 25
JSON_ATTRIBUTES = ("snapshot", "findings", "history", "attributes", "target_ids")
SERIES_INDEX = "by-series"
STATUS_INDEX = "by-status"


class LedgerStatus(StrEnum):
    SEEN = "seen"  # known from Consonance, nothing pushed (not approved yet)
    HELD = "held"  # approved but a gate (release, rights, series rules) holds it back
    DRAFT = "draft"  # on Megaphone as a draft until its release date
    AWAITING_INGEST = "awaiting_ingest"  # pushed; Megaphone is still ingesting the audio
    DELIVERED = "delivered"  # live (or scheduled) on Spotify
    WITHDRAWN = "withdrawn"  # taken back to draft after being live
    FAILED = "failed"


class HistoryEntry(BaseModel):
    at: datetime
    action: str
    detail: str = ""


class ConcurrentUpdate(TransientError):
    code = "concurrent_update"


class LedgerEntry(BaseModel):
    entity: str
    target: str
    status: LedgerStatus = LedgerStatus.SEEN
    status_reason: str = ""
    series_key: str | None = None
    source_hash: str | None = None
    snapshot: dict[str, Any] | None = None
    pushed_hash: str | None = None
    target_ids: dict[str, str] = Field(default_factory=dict)
    pending_create: str | None = None
    findings: list[Finding] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)
    updated_at: datetime | None = None
    version: int = 0

    def episode(self) -> Episode | None:
        return Episode.model_validate(self.snapshot) if self.snapshot else None

    def record(self, action: str, detail: str = "") -> None:
        self.history.append(HistoryEntry(at=utcnow(), action=action, detail=detail))
        del self.history[:-HISTORY_LIMIT]

    def set_status(self, status: LedgerStatus, reason: str = "") -> None:
        if status != self.status or reason != self.status_reason:
            self.record(f"status:{status.value}", reason)
        self.status = status
        self.status_reason = reason


class SyncLedger:
    def __init__(self, table_name: str):
        self.table_name = table_name

    def get(self, entity: str, target: str) -> LedgerEntry | None:
        response = dynamodb_client().get_item(
            TableName=self.table_name, Key=to_item({"pk": entity, "sk": target}), ConsistentRead=True
        )
        return _entry(response["Item"]) if "Item" in response else None

    def get_many(self, entities: list[str], target: str) -> dict[str, LedgerEntry]:
        """Entries for many entities of one target: BatchGetItem, 100 keys a call, unprocessed keys retried."""
        found: dict[str, LedgerEntry] = {}
        unique = list(dict.fromkeys(entities))
        for start in range(0, len(unique), 100):
            keys = [to_item({"pk": entity, "sk": target}) for entity in unique[start : start + 100]]
            request = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
            for _ in range(8):
                response = dynamodb_client().batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table_name, []):
                    entry = _entry(item)
                    found[entry.entity] = entry
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise TransientError(f"{self.table_name}: batch read left keys unprocessed")
        return found

    def get_or_new(self, entity: str, target: str) -> LedgerEntry:
        return self.get(entity, target) or LedgerEntry(entity=entity, target=target)

    def save(self, entry: LedgerEntry) -> LedgerEntry:
        """Write the entry if nobody else changed it since it was read; bump its version."""
        expected = entry.version
        entry.version = expected + 1
        entry.updated_at = utcnow()
        values = entry.model_dump(mode="json", exclude=set(JSON_ATTRIBUTES))
        # Nested documents are stored as JSON strings: one attribute each, cheap to (de)serialise,
        # and readable in the console as they are.
        for name in JSON_ATTRIBUTES:
            values[name] = json.dumps(entry.model_dump(mode="json", include={name})[name], separators=(",", ":"))
        values.update(pk=entry.entity, sk=entry.target, status_key=_status_key(entry))
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

    def by_series(self, series_key: str, target: str) -> list[LedgerEntry]:
        return [e for e in self._query(SERIES_INDEX, "series_key", series_key) if e.target == target]

    def by_status(self, target: str, status: LedgerStatus) -> list[LedgerEntry]:
        return list(self._query(STATUS_INDEX, "status_key", f"{target}#{status.value}"))

    def scan(self, target: str | None = None) -> Iterator[LedgerEntry]:
        paginator = dynamodb_client().get_paginator("scan")
        for page in paginator.paginate(TableName=self.table_name, ConsistentRead=True):
            for item in page.get("Items", []):
                entry = _entry(item)
                if target is None or entry.target == target:
                    yield entry

    def _query(self, index: str, key: str, value: str) -> Iterator[LedgerEntry]:
        paginator = dynamodb_client().get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table_name,
            IndexName=index,
            KeyConditionExpression="#k = :v",
            ExpressionAttributeNames={"#k": key},
            ExpressionAttributeValues=to_item({":v": value}),
        )
        for page in pages:
            for item in page.get("Items", []):
                yield _entry(item)  # indexes project ALL attributes


def _status_key(entry: LedgerEntry) -> str:
    return f"{entry.target}#{entry.status.value}"


def _entry(item: dict[str, Any]) -> LedgerEntry:
    values = from_item(item)
    values["entity"], values["target"] = values.pop("pk"), values.pop("sk")
    values.pop("status_key", None)
    for name in JSON_ATTRIBUTES:
        if isinstance(values.get(name), str):
            values[name] = json.loads(values[name])
    return LedgerEntry.model_validate(values)
