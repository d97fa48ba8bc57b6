"""The availability table: where each episode is live, by channel and territory, since when, and why
it stopped.

One item per (episode, channel, territory): `pk` = `episode#<product id>`, `sk` = `<channel>#<territory>`.
Channel `megaphone` has one territory, `*` (Megaphone cannot restrict territories: an episode is
published there or not); channel `spotify` has one item per market the monitor checks or a notice
names. `isbn13` is copied onto every item so the `by-isbn` index finds an episode by ISBN.

Meaning of the times: while an item is live, `since` is when it became live and `stopped_at` is empty;
once it stops, `since` keeps the start of that last live period and `stopped_at` says when it ended,
with `reason` saying why. `taken_down` marks a stop the integration did not make itself (a takedown
found by the monitor or reported by a notice), which is what gets written back and alerted.

Writes are guarded by `observed_at`: an observation older than the one an item already reflects
(a late notice, a redelivered monitor event) never overwrites it, whatever order the queue delivers in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, field_serializer, field_validator

from functions.clock import utcnow
from functions.state.dynamo import batch_get, dynamodb_client, from_item, to_item, unless_condition_failed
from functions.state.keys import EntityKey

Channel = Literal["megaphone", "spotify"]
Source = Literal["monitor", "webhook", "integration"]
CHANNEL_WIDE = "*"
ISBN_INDEX = "by-isbn"
STOPPED_INDEX = "by-stopped-at"  # sparse: an item is in it only while `stopped_at` is set (not live)
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

# What makes two records "the same" for `put`: observation and write times alone are not a change.
_COMPARED_FIELDS = frozenset(
    {"live", "since", "stopped_at", "reason", "source", "taken_down", "spotify_id", "megaphone_episode_id", "isbn13"}
)


class AvailabilityRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    entity: str  # episode#<product id>
    channel: Channel
    territory: str  # ISO 3166-1 alpha-2, or "*" for the whole channel
    live: bool
    since: AwareDatetime | None = None
    stopped_at: AwareDatetime | None = None
    reason: str = ""
    source: Source = "monitor"
    taken_down: bool = False
    spotify_id: str | None = None
    megaphone_episode_id: str | None = None
    isbn13: str | None = None
    observed_at: AwareDatetime
    updated_at: AwareDatetime | None = None

    @field_validator("entity", mode="before")
    @classmethod
    def _entity_text(cls, value: object) -> object:
        return str(value) if isinstance(value, EntityKey) else value

    @field_validator("since", "stopped_at", "observed_at", "updated_at")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        return value.astimezone(timezone.utc) if value is not None else None

    @field_serializer("since", "stopped_at", "observed_at", "updated_at", when_used="json")
    def _fixed_width(self, value: datetime | None) -> str | None:
        """One fixed-width UTC form, so stored times compare correctly as strings (the put condition)."""
        return value.astimezone(timezone.utc).strftime(TIME_FORMAT) if value is not None else None

    @property
    def sort_key(self) -> str:
        return f"{self.channel}#{self.territory}"

    def same_state_as(self, other: AvailabilityRecord | None) -> bool:
        if other is None:
            return False
        return self.model_dump(include=set(_COMPARED_FIELDS)) == other.model_dump(include=set(_COMPARED_FIELDS))


def transition(
    existing: AvailabilityRecord | None,
    *,
    entity: EntityKey | str,
    channel: Channel,
    territory: str,
    live: bool,
    reason: str,
    taken_down: bool,
    source: Source,
    observed_at: datetime,
    spotify_id: str | None = None,
    megaphone_episode_id: str | None = None,
    isbn13: str | None = None,
) -> AvailabilityRecord:
    """The record an observation leads to, starting from what the table holds (None: first sight)."""
    if existing is not None and existing.live == live:
        since, stopped_at = existing.since, existing.stopped_at
    elif live:
        since, stopped_at = observed_at, None
    else:
        since, stopped_at = (existing.since if existing is not None else None), observed_at
    return AvailabilityRecord(
        entity=str(entity),
        channel=channel,
        territory=territory,
        live=live,
        since=since,
        stopped_at=stopped_at,
        reason=reason,
        source=source,
        taken_down=taken_down and not live,
        spotify_id=spotify_id or (existing.spotify_id if existing else None),
        megaphone_episode_id=megaphone_episode_id or (existing.megaphone_episode_id if existing else None),
        isbn13=isbn13 or (existing.isbn13 if existing else None),
        observed_at=observed_at,
    )


class AvailabilityStore:
    def __init__(self, table_name: str):
        self.table_name = table_name

    def get_for(self, entity: EntityKey | str) -> list[AvailabilityRecord]:
        """Every channel and territory of one episode, ordered by channel then territory."""
        return sorted(
            self._query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues=to_item({":pk": str(entity)}), ConsistentRead=True),
            key=lambda record: record.sort_key,
        )

    def get_many(
        self, entities: Iterable[EntityKey | str], places: Iterable[tuple[Channel, str]]
    ) -> dict[str, list[AvailabilityRecord]]:
        """The records of each entity at the given (channel, territory) places, in as few BatchGetItem
        calls as possible (why: a sweep reads a whole podcast's episodes at once instead of one query
        each). Only those places: a territory outside them (one a notice named) needs `get_for`."""
        wanted = sorted({str(entity) for entity in entities})
        sort_keys = sorted({f"{channel}#{territory}" for channel, territory in places})
        found: dict[str, list[AvailabilityRecord]] = {entity: [] for entity in wanted}
        keys = [to_item({"pk": entity, "sk": sort_key}) for entity in wanted for sort_key in sort_keys]
        for item in batch_get(self.table_name, keys):
            record = _record(item)
            found[record.entity].append(record)
        return {entity: sorted(records, key=lambda record: record.sort_key) for entity, records in found.items()}

    def get(self, entity: EntityKey | str, channel: Channel, territory: str) -> AvailabilityRecord | None:
        response = dynamodb_client().get_item(
            TableName=self.table_name, Key=to_item({"pk": str(entity), "sk": f"{channel}#{territory}"}), ConsistentRead=True
        )
        return _record(response["Item"]) if "Item" in response else None

    def by_isbn(self, isbn13: str) -> list[AvailabilityRecord]:
        """Records of every episode carrying this ISBN (the GSI is eventually consistent)."""
        return list(
            self._query(IndexName=ISBN_INDEX, KeyConditionExpression="isbn13 = :isbn", ExpressionAttributeValues=to_item({":isbn": isbn13}))
        )

    def put(self, record: AvailabilityRecord, existing: AvailabilityRecord | None = None, *, existing_read: bool = False) -> bool:
        """Write the record when it differs from what is stored and is not older than it.

        Returns True when written; False when nothing changed or a newer observation is already there.
        `existing` saves a read when the caller already has the stored record; `existing_read` says the
        caller read the episode's records, so None means there is none (a new episode's first records
        would otherwise cost a read each). The write's condition still refuses an older observation.
        """
        current = existing if existing is not None or existing_read else self.get(record.entity, record.channel, record.territory)
        if record.same_state_as(current):
            return False
        values: dict[str, Any] = record.model_dump(mode="json", exclude={"entity"})
        values.update(pk=record.entity, sk=record.sort_key, updated_at=utcnow().astimezone(timezone.utc).strftime(TIME_FORMAT))
        written = unless_condition_failed(
            lambda: dynamodb_client().put_item(
                TableName=self.table_name,
                Item=to_item(values),
                ConditionExpression="attribute_not_exists(pk) OR observed_at <= :observed",
                ExpressionAttributeValues=to_item({":observed": values["observed_at"]}),
            )
        )
        return written is not None

    def taken_down(self) -> set[str]:
        """The entities taken down somewhere (a stop the integration did not make, not live again), for a
        flow that must leave out everything taken down (author playlists). A scan of the sparse
        `by-stopped-at` index (every record that is not live has `stopped_at`, see `transition`), so
        it reads the stopped records, not the whole table. The index is eventually consistent: a
        takedown recorded a moment ago may be seen on the next read."""
        found: set[str] = set()
        paginator = dynamodb_client().get_paginator("scan")
        pages = paginator.paginate(
            TableName=self.table_name,
            IndexName=STOPPED_INDEX,
            FilterExpression="taken_down = :yes AND live = :no",
            ExpressionAttributeValues=to_item({":yes": True, ":no": False}),
            ProjectionExpression="pk",
        )
        for page in pages:
            found.update(str(from_item(item)["pk"]) for item in page.get("Items", []))
        return found

    def _query(self, **arguments: Any) -> Iterator[AvailabilityRecord]:
        paginator = dynamodb_client().get_paginator("query")
        for page in paginator.paginate(TableName=self.table_name, **arguments):
            for item in page.get("Items", []):
                yield _record(item)


def _record(item: dict[str, Any]) -> AvailabilityRecord:
    values = from_item(item)
    values["entity"] = values.pop("pk")
    channel, _, territory = str(values.pop("sk")).partition("#")
    values.setdefault("channel", channel)
    values.setdefault("territory", territory)
    return AvailabilityRecord.model_validate(values)
