"""Where facts and dimensions live: Parquet objects on S3 (deployed) or in a local directory (sandbox,
tests, ops CLI), laid out so Athena/Glue and DuckDB read the same tree.

Layout under the store's root (an S3 prefix or a directory):
    facts/source=<source>/date=<YYYY-MM-DD>/<batch>.parquet
    dimensions/<table>/<table>.parquet          (dim_title, dim_episode, dim_contributor,
                                                  dim_milestone, dim_key, dim_group)

Replacement, not append: a batch is the unit one ingest produces for one (source, day) — the Megaphone
export's day file (`delivery`), one Creators show (`show-<id>`), one Ads account (`account-<id>`).
Writing a batch writes exactly its one object, so re-ingesting an overwritten export file replaces
that day's figures instead of adding to them. An S3 PUT and a local rename are atomic: a reader sees
the old object or the new one, never both and never half. `replace_partition` also removes every other
batch of that (source, day), for a source that writes a whole day at once.

An empty batch is written as an empty Parquet file (schema only), so a day that drops to no rows
replaces its earlier figures too.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timezone
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

from functions.analytics.facts import (
    COLUMNS,
    DIMENSION_MODELS,
    DIMENSIONS_DIRECTORY,
    FACTS_DIRECTORY,
    SOURCES,
    DailyFact,
    Dimensions,
    Source,
    dimension_columns,
)

_BATCH_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")
_ARROW_TYPES = {
    "string": pa.string(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "timestamp": pa.timestamp("ms"),  # UTC, stored without a zone (Athena and DuckDB read it as TIMESTAMP)
    "date": pa.date32(),
    "bigint": pa.int64(),
}

FACT_SCHEMA = pa.schema([pa.field(c.name, _ARROW_TYPES[c.type], nullable=c.nullable) for c in COLUMNS])


class InvalidBatch(ValueError):
    """A batch name or table that would not make a safe, well-formed object key."""


@dataclass(frozen=True)
class Partition:
    source: Source
    day: date

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise InvalidBatch(f"unknown source {self.source!r}")

    @property
    def prefix(self) -> str:
        return f"{FACTS_DIRECTORY}/source={self.source}/date={self.day.isoformat()}/"

    def key(self, batch: str) -> str:
        if not _BATCH_NAME.match(batch):
            raise InvalidBatch(f"batch name {batch[:60]!r} must be letters, digits, '.', '_' or '-'")
        return f"{self.prefix}{batch}.parquet"


# ------------------------------------------------------------------------------------------ encoding
def facts_table(facts: Sequence[DailyFact]) -> pa.Table:
    """Facts as an Arrow table in the store's schema (partition columns left out)."""
    columns: dict[str, list[Any]] = {c.name: [] for c in COLUMNS}
    for row in facts:
        columns["official"].append(row.official)
        columns["entity_type"].append(row.entity_type)
        columns["entity_id"].append(row.entity_id)
        columns["show_id"].append(row.show_id)
        columns["metric"].append(row.metric.value)
        columns["dimension"].append(row.dimension)
        columns["dimension_value"].append(row.dimension_value)
        columns["value"].append(float(row.value))
        columns["retrieved_at"].append(row.retrieved_at.astimezone(timezone.utc).replace(tzinfo=None))
        columns["origin"].append(row.origin)
    return pa.table(columns, schema=FACT_SCHEMA)


def check_single_partition(facts: Sequence[DailyFact], partition: Partition) -> None:
    strays = {(f.source, f.day) for f in facts} - {(partition.source, partition.day)}
    if strays:
        raise InvalidBatch(f"facts for {sorted(strays)[:3]} do not belong in partition {partition.prefix}")


def dimension_schema(model: type[BaseModel]) -> pa.Schema:
    """Arrow schema of a dimension row model (`facts.dimension_columns`: string, date, bigint; Optional -> nullable)."""
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.type], nullable=c.nullable) for c in dimension_columns(model)])


def dimension_tables(dimensions: Dimensions, author_role_codes: Sequence[str] = ("A01",)) -> dict[str, pa.Table]:
    rows: dict[str, Sequence[BaseModel]] = {
        "dim_title": dimensions.titles,
        "dim_episode": dimensions.episodes,
        "dim_contributor": dimensions.contributors,
        "dim_milestone": dimensions.milestones,
        "dim_key": dimensions.key_rows(),
        "dim_group": dimensions.group_rows(author_role_codes),
    }
    tables = {}
    for name, model in DIMENSION_MODELS.items():
        schema = dimension_schema(model)
        records = [r.model_dump(mode="python") for r in rows[name]]
        tables[name] = pa.Table.from_pylist(records, schema=schema)
    return tables


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------ stores
class ObjectWriter(Protocol):
    def put(self, key: str, body: bytes) -> None: ...
    def delete(self, key: str) -> None: ...
    def list(self, prefix: str) -> list[str]: ...


@dataclass
class WrittenBatch:
    key: str
    rows: int
    replaced_other_batches: tuple[str, ...] = ()


class FactStore:
    """Writes facts and dimensions through an `ObjectWriter` (S3 or a directory)."""

    def __init__(self, objects: ObjectWriter):
        self.objects = objects

    def replace_batch(self, partition: Partition, batch: str, facts: Sequence[DailyFact]) -> WrittenBatch:
        """Write `facts` as the (source, day, batch) object, replacing what that batch held before."""
        check_single_partition(facts, partition)
        return self.replace_batch_table(partition, batch, facts_table(facts))

    def replace_batch_table(self, partition: Partition, batch: str, table: pa.Table) -> WrittenBatch:
        if not table.schema.equals(FACT_SCHEMA):
            raise InvalidBatch("table does not have the facts schema")
        key = partition.key(batch)
        self.objects.put(key, parquet_bytes(table))
        return WrittenBatch(key=key, rows=table.num_rows)

    def replace_partition(self, partition: Partition, batch: str, facts: Sequence[DailyFact]) -> WrittenBatch:
        """Write the whole (source, day): this batch, and every other batch of that day removed."""
        written = self.replace_batch(partition, batch, facts)
        others = tuple(k for k in self.objects.list(partition.prefix) if k != written.key)
        for key in others:
            self.objects.delete(key)
        return WrittenBatch(key=written.key, rows=written.rows, replaced_other_batches=others)

    def partition_days(self, source: Source) -> list[date]:
        """Days of `source` that hold at least one batch (to spot a missing export day)."""
        days = set()
        for key in self.objects.list(f"{FACTS_DIRECTORY}/source={source}/"):
            match = re.search(r"/date=(\d{4}-\d{2}-\d{2})/", key)
            if match:
                days.add(date.fromisoformat(match.group(1)))
        return sorted(days)

    def write_dimensions(self, dimensions: Dimensions, author_role_codes: Sequence[str] = ("A01",)) -> list[str]:
        """Replace every dimension table (they are small and always written whole)."""
        keys = []
        for name, table in dimension_tables(dimensions, author_role_codes).items():
            key = f"{DIMENSIONS_DIRECTORY}/{name}/{name}.parquet"
            self.objects.put(key, parquet_bytes(table))
            keys.append(key)
        return keys


class LocalObjects:
    """A directory as an object store; writes go to a temporary file first and are renamed into place."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def put(self, key: str, body: bytes) -> None:
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".writing-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(body)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    def list(self, prefix: str) -> list[str]:
        base = self.root / prefix
        directory = base if prefix.endswith("/") else base.parent
        if not directory.exists():
            return []
        keys = [p.relative_to(self.root).as_posix() for p in directory.rglob("*.parquet") if p.is_file()]
        return sorted(k for k in keys if k.startswith(prefix))


class S3Objects:
    """An S3 prefix as an object store (boto3)."""

    def __init__(self, bucket: str, prefix: str = "", client: Any = None):
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client or boto3.client("s3")

    def put(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=body, ContentType="application/vnd.apache.parquet")

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)

    def list(self, prefix: str) -> list[str]:
        keys = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            keys += [item["Key"].removeprefix(self.prefix) for item in page.get("Contents", [])]
        return sorted(keys)


def local_store(root: Path) -> FactStore:
    return FactStore(LocalObjects(root))


def s3_store(bucket: str, prefix: str = "", client: Any = None) -> FactStore:
    return FactStore(S3Objects(bucket, prefix, client))



def copy_to_directory(source: S3Objects, root: Path) -> int:
    """Mirror an S3 store into a directory (for DuckDB: the ops CLI's local report, the sandbox's
    report); returns the objects copied. Only Parquet objects: Athena's results are not the store."""
    copied = 0
    for key in source.list(""):
        if not key.endswith(".parquet"):
            continue
        target = Path(root) / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.client.get_object(Bucket=source.bucket, Key=source.prefix + key)["Body"].read())
        copied += 1
    return copied
