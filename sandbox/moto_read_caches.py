"""A moto table's reads between two of its writes share what they compute from the whole table.

moto answers every Scan (and every Query it is not told otherwise) from the whole table sorted by
primary key, a Scan of an index from every item that has the index's key attributes, and an index
Query from the items whose index hash attributes equal the query's, found by testing every item
(`sandbox.moto_speedups.query_reads_only_its_partition`). Each costs the table's size on every call,
and a sandbox run reads its tables far more often than it writes them: the availability monitor's
four status queries a run, the ingest checker's query every 15 minutes, the reconciler's scan every
hour, over a ledger of thousands of items in the 10-day run.

A table's items change only through `Table.put_item` and `Table.delete_item` (every put, batch
write, transaction and PartiQL statement ends there) and the backend's `update_item` (which edits the
stored item in place, or puts a new one); each of them, after it ran or failed, moves the table to a
new generation. A table restored from a backup, or a transaction's rollback copy, is another object
with generations of its own. Within one generation the table answers with what it computed first in
that generation, kept per table object (weakly): the sorted list of its items (a copy each time:
moto's callers may sort what they get), the items each index holds, and, per index hash attribute
names, its items grouped by their string or binary values in the table's own item order (the items
moto's hash-key test keeps for an index query on those values: `partition_of`, which
`_query_candidates` asks); and the size of each item a read sized (`remembered_sizes`). Same
answers, same order, one pass per generation.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

SIZES_KEPT = 50_000
GroupKey = tuple[tuple[str, Any], ...]  # per hash attribute name: (its type, its value)


@dataclass
class _TableReads:
    """What one generation of one table has computed so far."""

    generation: int = 0
    sorted_items: list[Any] | None = None
    index_items: dict[str, list[Any]] = field(default_factory=dict)
    groups: dict[tuple[str, ...], dict[GroupKey, dict[Any, Any]]] = field(default_factory=dict)
    sizes: dict[int, tuple[Any, int]] = field(default_factory=dict)  # id(item) -> (the item, its size)

    def next_generation(self) -> None:
        self.generation += 1
        self.sorted_items = None
        self.index_items.clear()
        self.groups.clear()
        self.sizes.clear()


_tables: weakref.WeakKeyDictionary[Any, _TableReads] | None = None  # set while `table_read_caches()` is active


def _reads(table: Any) -> _TableReads | None:
    if _tables is None:
        return None
    return _tables.setdefault(table, _TableReads())


def _changed(table: Any) -> None:
    reads = _reads(table)
    if reads is not None:
        reads.next_generation()


def partition_of(table: Any, wanted_values: list[tuple[str, str, Any]]) -> dict[Any, Any]:
    """The part of `table.items` (same shape, same order) whose attributes `name` have exactly type
    `kind` ("S" or "B") and value `value` for every (name, kind, value) of `wanted_values`: from the
    table's groups for its generation, or, with no cache active, grouped for this call alone."""
    names = tuple(name for name, _, _ in wanted_values)
    reads = _reads(table)
    if reads is None:
        groups = _grouped(table, names)
    elif names in reads.groups:
        groups = reads.groups[names]
    else:
        groups = reads.groups[names] = _grouped(table, names)
    return groups.get(tuple((kind, value) for _, kind, value in wanted_values), {})


def remembered_sizes(table: Any) -> dict[int, tuple[Any, int]] | None:
    """Where a Query or Scan of `table` remembers the sizes of the items it reads, for the table's
    generation (the items read are the stored ones, unchanged until the next write, and the copies a
    projection makes, kept here with their size so their id stays theirs); None when no cache is
    active. Emptied when it holds `SIZES_KEPT` items, so a table read often and never written holds
    no more than that."""
    reads = _reads(table)
    if reads is None:
        return None
    if len(reads.sizes) >= SIZES_KEPT:
        reads.sizes.clear()
    return reads.sizes


def _grouped(table: Any, names: tuple[str, ...]) -> dict[GroupKey, dict[Any, Any]]:
    groups: dict[GroupKey, dict[Any, Any]] = {}

    def group_key(item: Any) -> GroupKey | None:
        key = []
        for name in names:
            value = item.attrs.get(name)
            if value is None or value.type not in ("S", "B"):
                return None
            key.append((value.type, value.value))
        return tuple(key)

    if not table.range_key_attr:
        for key, item in table.items.items():
            found = group_key(item)
            if found is not None:
                groups.setdefault(found, {})[key] = item
        return groups
    for key, bucket in table.items.items():
        for range_key, item in bucket.items():
            found = group_key(item)
            if found is not None:
                groups.setdefault(found, {}).setdefault(key, {})[range_key] = item
    return groups


def _after_each_call(method: Callable[..., Any], changed_table: Callable[..., Any]) -> Callable[..., Any]:
    """`method`, moving the table `changed_table(*args, **kwargs)` names to a new generation after it
    ran, whether it returned or raised."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        finally:
            table = changed_table(*args, **kwargs)
            if table is not None:
                _changed(table)

    return wrapper


@contextmanager
def table_read_caches() -> Iterator[None]:
    """While active, each table's whole-table reads are computed once per generation (module docstring).
    Enter it after whatever patches `Table.all_items` and `Table.has_idx_items` it should keep."""
    global _tables
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    original_all_items = Table.all_items
    original_has_idx_items = Table.has_idx_items

    def all_items(self: Any) -> list[Any]:
        reads = _reads(self) if isinstance(self, Table) else None
        if reads is None:
            return original_all_items(self)
        if reads.sorted_items is None:
            reads.sorted_items = original_all_items(self)
        return list(reads.sorted_items)

    def has_idx_items(self: Any, index_name: str) -> list[Any]:
        reads = _reads(self)
        if reads is None:
            return original_has_idx_items(self, index_name)
        items = reads.index_items.get(index_name)
        if items is None:
            items = reads.index_items[index_name] = original_has_idx_items(self, index_name)
        return list(items)

    def table_itself(table: Any, *_: Any, **__: Any) -> Any:
        return table

    def table_named(backend: Any, table_name: str, *_: Any, **__: Any) -> Any:
        return backend.tables.get(table_name)

    previous, _tables = _tables, weakref.WeakKeyDictionary()
    try:
        with (
            mock.patch.object(Table, "all_items", all_items),
            mock.patch.object(Table, "has_idx_items", has_idx_items),
            mock.patch.object(Table, "put_item", _after_each_call(Table.put_item, table_itself)),
            mock.patch.object(Table, "delete_item", _after_each_call(Table.delete_item, table_itself)),
            mock.patch.object(DynamoDBBackend, "update_item", _after_each_call(DynamoDBBackend.update_item, table_named)),
        ):
            yield
    finally:
        _tables = previous
