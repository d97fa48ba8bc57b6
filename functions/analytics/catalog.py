"""The Glue tables Athena reads the store through, defined once for the CDK stack and the sandbox.

- `facts`: Parquet under `<root>/facts/`, partitioned by `source` and `date` with partition
  projection (Athena computes the partitions from the key layout; nothing has to add them): `source`
  an enum of the three sources, `date` every day from `PROJECTION_FIRST_DAY` to today. The columns
  are `facts.COLUMNS`, the partition keys `facts.PARTITION_COLUMNS`.
- one table per dimension (`dim_title` ... `dim_group`), Parquet under `<root>/dimensions/<name>/`,
  columns from the row models (`facts.dimension_columns`).

`table_inputs(root)` gives Glue's `TableInput` shape (boto3's names); the stack passes the same
values to `CfnTable`.
"""

from __future__ import annotations

from typing import Any

from functions.analytics.facts import (
    COLUMNS,
    DIMENSION_MODELS,
    DIMENSIONS_DIRECTORY,
    FACTS_DIRECTORY,
    PARTITION_COLUMNS,
    SOURCES,
    Column,
    dimension_columns,
)

PROJECTION_FIRST_DAY = "2020-01-01"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
FACTS_TABLE = "facts"


def _glue(columns: list[Column]) -> list[dict[str, str]]:
    return [{"Name": c.name, "Type": c.type, "Comment": c.description[:255]} for c in columns]


def _storage(location: str, columns: list[Column]) -> dict[str, Any]:
    return {
        "Columns": _glue(columns),
        "Location": location,
        "InputFormat": PARQUET_INPUT,
        "OutputFormat": PARQUET_OUTPUT,
        "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE},
    }


def table_inputs(root: str) -> list[dict[str, Any]]:
    """Every table, in Glue's TableInput shape, for the store at `root` (`s3://bucket/prefix`)."""
    root = root.rstrip("/")
    facts_location = f"{root}/{FACTS_DIRECTORY}/"
    tables: list[dict[str, Any]] = [
        {
            "Name": FACTS_TABLE,
            "Description": "Listening analytics: one row per daily figure (source, day, entity, metric, slice)",
            "TableType": "EXTERNAL_TABLE",
            "PartitionKeys": _glue(list(PARTITION_COLUMNS)),
            "StorageDescriptor": _storage(facts_location, list(COLUMNS)),
            "Parameters": {
                "classification": "parquet",
                "projection.enabled": "true",
                "projection.source.type": "enum",
                "projection.source.values": ",".join(SOURCES),
                "projection.date.type": "date",
                "projection.date.format": "yyyy-MM-dd",
                "projection.date.range": f"{PROJECTION_FIRST_DAY},NOW",
                "projection.date.interval": "1",
                "projection.date.interval.unit": "DAYS",
                "storage.location.template": facts_location + "source=${source}/date=${date}/",
            },
        }
    ]
    for name, model in DIMENSION_MODELS.items():
        tables.append(
            {
                "Name": name,
                "Description": f"Listening analytics dimension {name} (written whole each night)",
                "TableType": "EXTERNAL_TABLE",
                "StorageDescriptor": _storage(f"{root}/{DIMENSIONS_DIRECTORY}/{name}/", dimension_columns(model)),
                "Parameters": {"classification": "parquet"},
            }
        )
    return tables


def store_root(bucket: str, prefix: str) -> str:
    """`s3://bucket/prefix` of the store (no trailing slash)."""
    prefix = prefix.strip("/")
    return f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
