"""The sync ledger: for each Consonance entity and target, what was pushed, where, and what happened.

One item per (entity, target): `pk` = entity key (`episode#123`, see `keys.py`), `sk` = target name
(`megaphone`, `consonance`, `consonance-writeback`, ...; see `targets.py`). The common part of every item
— status with its reason, the source hash seen, the hash last pushed, a pending-create intent, the open
findings and a short history that is the audit trail — is `LedgerEntry`; the target's own facts are its
typed `state`. An entity may have any number of targets, each with its own hashes and history, and
each retried on its own. Writes are optimistic (`version`), so two concurrent handlers cannot silently
overwrite each other. Two sparse indexes answer "entries of a series" and "entries in a status".

A sweep that compares many entries every hour reads *views* (`TargetView`, `EntryView`): each entry's
common scalars (the status reason among them: the availability monitor tells why an episode is dark
with it) and only the state fields it names, fetched with a projection that leaves the history and
the findings in the table, and parsed without building the rest of the state (an episode source's
whole episode, a delivery's pre-flight result). Each save also writes the state's scalar fields
again as the entry's `summary` (`summary_fields`); a view naming only those reads the summary and
never receives the state at all. A view is never saved: a reader that decides to write reads the
entry itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum, StrEnum
from types import NoneType, UnionType
from typing import Any, Generic, TypeVar, Union, get_args, get_origin

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.fields import FieldInfo

from functions.clock import utcnow
from functions.domain.errors import TransientError
from functions.domain.models import Finding
from functions.state.dynamo import Projection, batch_get, dynamodb_client, from_item, to_item
from functions.state.keys import EntityKey, EntityKind, kind_prefix, parse_entity_key
from functions.state.targets import State, TargetSpec

HISTORY_LIMIT = 25
JSON_ATTRIBUTES = ("findings", "history", "state")
# The state's scalar fields again, as one small JSON string (see `summary_fields`): what most views read.
SUMMARY = "summary"
# Written by the code before typed state; read (and migrated) only.
LEGACY_JSON_ATTRIBUTES = ("snapshot", "attributes", "target_ids")
SERIES_INDEX = "by-series"
STATUS_INDEX = "by-status"


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
        return _statuses(self.entity, self.target)

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


def _statuses(entity: str, target: str) -> type[StrEnum]:
    return TargetSpec.of(parse_entity_key(entity).kind, target).statuses


Part = TypeVar("Part", bound=BaseModel)


class StatePart(BaseModel):
    """Base of a model that names part of a target's state (or of a model inside it): the fields one
    reader compares, each with the state's own type, or a part of that model (`TargetView` checks).
    The stored state's other keys are skipped, not parsed."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class EntryView(BaseModel, Generic[Part]):
    """What a sweep compares of an entry (see the module docstring): its common scalars and `state`,
    the part of its state its `TargetView` names. Never saved: `SyncLedger.save` takes entries."""

    entity: str
    target: str
    status: str
    status_reason: str | None = None
    source_hash: str | None = None
    pushed_hash: str | None = None
    pending_create: str | None = None
    updated_at: datetime | None = None
    version: int = 0
    state: Part

    @model_validator(mode="after")
    def _status_in_its_vocabulary(self) -> EntryView[Part]:
        """As an entry's: the status a member of its target's status enum."""
        self.status = _statuses(self.entity, self.target)(self.status)
        return self

    @property
    def key(self) -> EntityKey:
        return parse_entity_key(self.entity)


Made = TypeVar("Made")


def _kept(store: dict[type[BaseModel], Made], key: type[BaseModel], make: Callable[[], Made]) -> Made:
    """What `make` gives for `key`, made the first time and kept in `store` (per model, for the process)."""
    if key not in store:
        store[key] = make()
    return store[key]


def entry_model(state: type[State]) -> type[LedgerEntry[State]]:
    """`LedgerEntry[state]`, made once per state model and kept. Why: pydantic keeps parametrised models
    only while something else refers to them, so the ledger's reads re-created them again and again
    (a new class each time, ~3 ms) — 2 % of a sandbox run."""
    return _kept(_ENTRY_MODELS, state, lambda: LedgerEntry[state])  # type: ignore[valid-type]


def view_model(part: type[Part]) -> type[EntryView[Part]]:
    """`EntryView[part]`, made once per part and kept (see `entry_model`)."""
    return _kept(_VIEW_MODELS, part, lambda: EntryView[part])  # type: ignore[valid-type]


_ENTRY_MODELS: dict[type[BaseModel], type[LedgerEntry[Any]]] = {}
_VIEW_MODELS: dict[type[BaseModel], type[EntryView[Any]]] = {}


# What a view reads of an item: its keys, the entry's common scalars a view carries and its state (and,
# for an item written before typed state, what its state is migrated from).
VIEW_SCALARS = ("pk", "sk", *(name for name in EntryView.model_fields if name not in ("entity", "target", "state")))
VIEW_PROJECTION = Projection((*VIEW_SCALARS, "state", *LEGACY_JSON_ATTRIBUTES))
# What a view of scalar state fields only reads: the summary in place of the whole state.
SUMMARY_VIEW_PROJECTION = Projection((*VIEW_SCALARS, SUMMARY))
_SCALARS = (str, int, float, bool, date, datetime)


def summary_fields(state: type[BaseModel]) -> frozenset[str]:
    """The state fields `save` copies into the item's summary: those holding one scalar (a string, a
    number, a flag, a date or time, an enum member; optional or not) or a list of enum members. Why:
    a sweep compares ids, hashes and flags of every entry each hour, while the whole state carries
    what was pushed, the pre-flight result or the source record (a delivery's state is ~25 times its
    summary); a view reading only the summary neither receives nor parses the rest."""
    return _kept(
        _SUMMARY_FIELDS,
        state,
        lambda: frozenset(name for name, annotation in _stored_fields(state).items() if _scalar(annotation) or _enum_list(annotation)),
    )


def _stored_fields(model: type[BaseModel]) -> dict[str, Any]:
    """Each field a dump of `model` holds, with its type: its fields and its computed fields (saved
    with the state, ignored when it is read back, and readable by a view)."""
    return {
        **{name: info.annotation for name, info in model.model_fields.items()},
        **{name: info.return_type for name, info in model.model_computed_fields.items()},
    }


_SUMMARY_FIELDS: dict[type[BaseModel], frozenset[str]] = {}


def _non_null(annotation: Any) -> list[Any]:
    """The types an annotation allows other than None: a union's members, or the annotation itself."""
    return [arg for arg in get_args(annotation) if arg is not NoneType] if get_origin(annotation) in (Union, UnionType) else [annotation]


def _scalar(annotation: Any) -> bool:
    inner = _non_null(annotation)
    return all(isinstance(arg, type) and issubclass(arg, (*_SCALARS, Enum)) for arg in inner) and bool(inner)


def _enum_list(annotation: Any) -> bool:
    inner = _non_null(annotation)
    return (
        len(inner) == 1
        and get_origin(inner[0]) is list
        and all(isinstance(arg, type) and issubclass(arg, Enum) for arg in get_args(inner[0]))
    )


@dataclass(frozen=True)
class TargetView(Generic[Part]):
    """How a reader views one target's entries: `state` names the state fields it compares (a
    `StatePart`, or the target's whole state model). `kinds` narrows the entities read (None: all
    the target has). Built once per reader: the part is checked against the state model here, so a
    view cannot drift from what the target stores."""

    target: TargetSpec[Any]
    state: type[Part]
    kinds: frozenset[EntityKind] | None = None
    # Whether every field it names is a summary field (`summary_fields`): then it reads the summary.
    summarised: bool = field(init=False)
    # The computed fields it names: a state or summary saved before such a field existed lacks it.
    computed_fields: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        _check_part(self.state, self.target.state, f"the {self.target.name} view")
        whole, summary = _stored_fields(self.target.state), summary_fields(self.target.state)
        summarised = all(name in summary and info.annotation == whole[name] for name, info in self.state.model_fields.items())
        object.__setattr__(self, "summarised", summarised)
        computed = frozenset(self.state.model_fields) & frozenset(self.target.state.model_computed_fields)
        object.__setattr__(self, "computed_fields", computed)

    def has_summary(self, item: dict[str, Any]) -> bool:
        """Whether the item's summary holds every field this view reads: a summary saved before a
        computed field existed lacks it, and its default would stand in for the value the state gives.
        (A key appears in the summary's JSON text as `"name":` and nowhere else, since a quote inside
        a string value is escaped.)"""
        summary = item.get(SUMMARY)
        return summary is not None and all(f'"{name}":' in summary["S"] for name in self.computed_fields)

    @property
    def projection(self) -> Projection:
        return SUMMARY_VIEW_PROJECTION if self.summarised else VIEW_PROJECTION

    def of(self, entry: LedgerEntry[Any]) -> EntryView[Part]:
        """The view of `entry` that a read of it, as saved, gives."""
        values = entry.model_dump(include=set(EntryView.model_fields) - {"state"})
        return view_model(self.state).model_validate({**values, "state": self.state.model_validate(entry.state.model_dump(mode="json"))})

    def read(self, item: dict[str, Any]) -> EntryView[Part]:
        """The view of a stored item (read with its `projection`; an item without a summary, with
        `VIEW_PROJECTION`: `SyncLedger` reads such items again)."""
        values = from_item({name: item[name] for name in VIEW_SCALARS if name in item})
        values["entity"], values["target"] = values.pop("pk"), values.pop("sk")
        stored = item.get("state")
        if self.summarised and self.has_summary(item):
            state = self.state.model_validate_json(item[SUMMARY]["S"])
        elif stored is not None and "S" in stored and not self.computed_fields:  # the layout `save` writes: the state as one JSON string
            state = self.state.model_validate_json(stored["S"])
        else:  # a state stored as a map, written before typed state or before a computed field: the entry's own reading
            state = self.state.model_validate(_entry(item, self.target).state.model_dump(mode="json"))
        return view_model(self.state).model_validate({**values, "state": state})


def _check_part(part: type[BaseModel], whole: type[BaseModel], where: str) -> None:
    """Each field of `part` is a field of `whole` with its type and default, or — a nested model,
    optional as in `whole` or not — a part of that model in turn."""
    if part is whole:
        return
    for name, declared in part.model_fields.items():
        computed = whole.model_computed_fields.get(name)
        if computed is not None and declared.annotation == computed.return_type:
            continue  # a computed field: always in the dump, whatever the part's default
        known = whole.model_fields.get(name)
        if known is None:
            raise TypeError(f"{where}: {part.__name__}.{name} is not a field of {whole.__name__}")
        if declared.annotation == known.annotation and _default(declared) == _default(known):
            continue
        inner, outer = _model_in(declared.annotation), _model_in(known.annotation)
        if inner is None or outer is None or inner[1] != outer[1] or _default(declared) != _default(known):
            raise TypeError(f"{where}: {part.__name__}.{name} must have {whole.__name__}.{name}'s type and default, or be a part of its model")
        _check_part(inner[0], outer[0], where)


def _default(field: FieldInfo) -> Any:
    return field.get_default(call_default_factory=True)


def _model_in(annotation: Any) -> tuple[type[BaseModel], bool] | None:
    """(the model, whether optional) of an annotation that is a model or an optional model."""
    optional = get_origin(annotation) in (Union, UnionType) and NoneType in get_args(annotation)
    inner = _non_null(annotation)  # a union without None has two members or more: no model either way
    if len(inner) == 1 and isinstance(inner[0], type) and issubclass(inner[0], BaseModel):
        return inner[0], optional
    return None


def new_entry(key: EntityKey, target: TargetSpec[State]) -> LedgerEntry[State]:
    return entry_model(target.state)(entity=str(key), target=target.name, status=str(target.initial_status), state=target.state())


@dataclass
class BatchReads:
    """What one batch of records read from the ledger, kept until the batch ends: the items read ahead
    (None: known absent) and the series queries made. A save replaces its item and forgets the series
    queries it could change, so later records of the batch see this batch's own writes."""

    items: dict[tuple[str, str], dict[str, Any] | None] = field(default_factory=dict)
    series: dict[tuple[str, str], list[LedgerEntry[Any]]] = field(default_factory=dict)


class SyncLedger:
    def __init__(self, table_name: str):
        self.table_name = table_name
        self._batch: BatchReads | None = None

    @contextmanager
    def batch_reads(self, wanted: Iterable[tuple[EntityKey, TargetSpec[Any]]]) -> Iterator[BatchReads]:
        """Read every (entity, target) a batch of records will need in one BatchGetItem, and answer
        `get` and `by_series` from memory until the block ends: a batch then costs one read round trip
        instead of several per record. Writes still go to DynamoDB, conditional on the version read."""
        pairs = {(str(key), target.name) for key, target in wanted}
        reads = BatchReads(items=dict.fromkeys(pairs))
        for item in batch_get(self.table_name, [to_item({"pk": pk, "sk": sk}) for pk, sk in sorted(pairs)]):
            reads.items[(item["pk"]["S"], item["sk"]["S"])] = item
        outer, self._batch = self._batch, reads
        try:
            yield reads
        finally:
            self._batch = outer

    def get(self, key: EntityKey, target: TargetSpec[State]) -> LedgerEntry[State] | None:
        wanted = (str(key), target.name)
        if self._batch is not None and wanted in self._batch.items:
            item = self._batch.items[wanted]
            return _entry(item, target) if item is not None else None
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
        keys = [to_item({"pk": pk, "sk": sk}) for pk, sk in specs]
        return [_entry(item, specs[(item["pk"]["S"], item["sk"]["S"])]) for item in batch_get(self.table_name, keys)]

    def save(self, entry: LedgerEntry[Any]) -> LedgerEntry[Any]:
        """Write the entry if nobody else changed it since it was read; bump its version."""
        expected = entry.version
        entry.version = expected + 1
        entry.updated_at = utcnow()
        values = entry.model_dump(mode="json", exclude=set(JSON_ATTRIBUTES))
        # Nested documents are stored as JSON strings: one attribute each, cheap to (de)serialise,
        # and readable in the console as they are.
        documents = entry.model_dump(mode="json", include=set(JSON_ATTRIBUTES))
        for name in JSON_ATTRIBUTES:
            values[name] = json.dumps(documents[name], separators=(",", ":"))
        summary = summary_fields(type(entry.state))
        if summary:
            values[SUMMARY] = json.dumps({name: documents["state"][name] for name in sorted(summary)}, separators=(",", ":"))
        values.update(pk=entry.entity, sk=entry.target, status_key=f"{entry.target}#{entry.status}")
        if not values["series_key"]:
            values.pop("series_key")
        condition = "attribute_not_exists(pk)" if expected == 0 else "version = :expected"
        kwargs: dict[str, Any] = {"ConditionExpression": condition}
        if expected:
            kwargs["ExpressionAttributeValues"] = to_item({":expected": expected})
        item = to_item(values)
        try:
            dynamodb_client().put_item(TableName=self.table_name, Item=item, **kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                entry.version = expected
                self._forget(entry)  # read it again, should this batch come back to it
                raise ConcurrentUpdate(f"{entry.entity}/{entry.target} changed concurrently; retry") from exc
            raise
        if self._batch is not None:
            self._batch.items[(entry.entity, entry.target)] = item
            self._batch.series.pop((values.get("series_key") or "", entry.target), None)
        return entry

    def _forget(self, entry: LedgerEntry[Any]) -> None:
        if self._batch is not None:
            self._batch.items.pop((entry.entity, entry.target), None)
            self._batch.series.pop((entry.series_key or "", entry.target), None)

    def by_series(self, series: EntityKey, target: TargetSpec[State]) -> list[LedgerEntry[State]]:
        """The series' entries of one target. Inside `batch_reads` the query runs once per series and
        batch, and every record gets the same entries: read them, do not change them."""
        cached = self._batch.series.get((str(series), target.name)) if self._batch is not None else None
        if cached is not None:
            return list(cached)
        entries = [
            _entry(item, target)
            for item in self._query(SERIES_INDEX, "series_key", str(series))
            if item["sk"]["S"] == target.name
        ]
        if self._batch is not None:
            self._batch.series[(str(series), target.name)] = entries
        return list(entries)

    def by_status(self, target: TargetSpec[State], status: StrEnum | str) -> list[LedgerEntry[State]]:
        return [_entry(item, target) for item in self._query(STATUS_INDEX, "status_key", f"{target.name}#{status}")]

    def scan(self, target: TargetSpec[State] | None = None) -> Iterator[LedgerEntry[Any]]:
        """Every entry (of one target, when given), each with its own target's state model."""
        return self.scan_targets(*([target] if target is not None else []))

    def scan_targets(self, *targets: TargetSpec[Any]) -> Iterator[LedgerEntry[Any]]:
        """Every entry of the given targets (all targets when none is given). DynamoDB filters by target
        (why: a reader of a few targets is not sent, nor parses, every other target's entries)."""
        arguments: dict[str, Any] = {"TableName": self.table_name, "ConsistentRead": True}
        wanted = {target.name: target for target in targets}
        if wanted:
            names = sorted(wanted)
            arguments["FilterExpression"] = f"sk IN ({', '.join(f':t{i}' for i in range(len(names)))})"
            arguments["ExpressionAttributeValues"] = to_item({f":t{i}": name for i, name in enumerate(names)})
        for page in dynamodb_client().get_paginator("scan").paginate(**arguments):
            for item in page.get("Items", []):
                name = item["sk"]["S"]
                spec = wanted.get(name) or TargetSpec.of(parse_entity_key(item["pk"]["S"]).kind, name)
                yield _entry(item, spec)

    # ---------------------------------------------------------------------------------------- views
    def scan_views(self, *views: TargetView[Any]) -> Iterator[EntryView[Any]]:
        """Every entry of the views' targets (of their kinds), as views: a Scan that DynamoDB filters
        and projects, so only those entries' common scalars and summary or state cross the wire. Views
        reading summaries and views reading states are scanned apart (one projection serves a Scan):
        a summary view's entries never bring their states along."""
        by_target = {view.target.name: view for view in views}
        if len(by_target) != len(views) or not views:
            raise ValueError("scan_views needs one view per target, and at least one")
        for summarised in (True, False):
            group = [view for view in views if view.summarised is summarised]
            if group:
                yield from self._scan_views(group)

    def _scan_views(self, views: list[TargetView[Any]]) -> Iterator[EntryView[Any]]:
        by_target = {view.target.name: view for view in views}
        clauses: list[str] = []
        values: dict[str, str] = {}
        for i, view in enumerate(views):
            values[f":t{i}"] = view.target.name
            clause = f"sk = :t{i}"
            if view.kinds is not None and view.kinds != view.target.kinds:
                prefixes = sorted(kind_prefix(kind) for kind in view.kinds)
                values.update({f":k{i}_{j}": prefix for j, prefix in enumerate(prefixes)})
                clause += " AND (" + " OR ".join(f"begins_with(pk, :k{i}_{j})" for j in range(len(prefixes))) + ")"
            clauses.append(f"({clause})")
        pages = dynamodb_client().get_paginator("scan").paginate(
            TableName=self.table_name,
            ConsistentRead=True,
            FilterExpression=" OR ".join(clauses),
            ExpressionAttributeValues=to_item(values),
            **views[0].projection.arguments(),
        )
        for page in pages:
            yield from self._views(page.get("Items", []), lambda item: by_target[item["sk"]["S"]])

    def views_by_status(self, view: TargetView[Part], status: StrEnum | str) -> list[EntryView[Part]]:
        """The view's entries in one status (the status index, projected)."""
        items = list(self._query(STATUS_INDEX, "status_key", f"{view.target.name}#{status}", view.projection))
        return self._views(items, lambda item: view)

    def get_views(self, keys: Iterable[EntityKey], view: TargetView[Part]) -> dict[EntityKey, EntryView[Part]]:
        """The view of each entity's entry that exists: BatchGetItem, projected (never from a batch's
        reads held in memory: those are whole items)."""
        return {entry.key: entry for entry in self.get_view_items((key, view) for key in keys)}

    def get_view_items(self, wanted: Iterable[tuple[EntityKey, TargetView[Any]]]) -> list[EntryView[Any]]:
        """Views for any mix of (entity, view) pairs, those that exist, in as few projected BatchGetItem
        calls as possible (why: a sweep reads several targets' views of the same entities at once):
        one run of calls per projection the views need."""
        views = {(str(key), view.target.name): view for key, view in wanted}
        found: list[dict[str, Any]] = []
        for projection in (SUMMARY_VIEW_PROJECTION, VIEW_PROJECTION):
            keys = [to_item({"pk": pk, "sk": sk}) for (pk, sk), view in views.items() if view.projection is projection]
            found.extend(batch_get(self.table_name, keys, projection))
        return self._views(found, lambda item: views[(item["pk"]["S"], item["sk"]["S"])])

    def _views(self, items: list[dict[str, Any]], view_of: Callable[[dict[str, Any]], TargetView[Any]]) -> list[EntryView[Any]]:
        """The views of items read with their views' projections. An item a summary view read that has
        no summary it can use (saved before summaries were written, or before a computed field the view
        reads) is read again with its state, in one batch."""
        unsummarised = [item for item in items if view_of(item).summarised and not view_of(item).has_summary(item)]
        if unsummarised:
            keys = [{"pk": item["pk"], "sk": item["sk"]} for item in unsummarised]
            whole = {(item["pk"]["S"], item["sk"]["S"]): item for item in batch_get(self.table_name, keys, VIEW_PROJECTION)}
            items = [whole.get((item["pk"]["S"], item["sk"]["S"]), item) for item in items]
        return [view_of(item).read(item) for item in items]

    def _query(self, index: str, key: str, value: str, projection: Projection | None = None) -> Iterator[dict[str, Any]]:
        arguments: dict[str, Any] = {"ExpressionAttributeNames": {"#k": key}}
        if projection is not None:
            arguments = projection.arguments()
            arguments["ExpressionAttributeNames"]["#k"] = key
        paginator = dynamodb_client().get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table_name,
            IndexName=index,
            KeyConditionExpression="#k = :v",
            ExpressionAttributeValues=to_item({":v": value}),
            **arguments,
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
    return entry_model(target.state).model_validate(values)
