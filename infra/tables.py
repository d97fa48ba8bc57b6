"""DynamoDB table shapes, declared once: the CDK stack builds them and the sandbox creates the same
tables in moto from this module, so local and deployed state have identical keys and indexes."""

from __future__ import annotations

from dataclasses import dataclass

from infra.flows import Table


@dataclass(frozen=True)
class IndexSpec:
    name: str
    partition_key: str
    sort_key: str | None = None


@dataclass(frozen=True)
class TableSpec:
    table: Table
    partition_key: str
    sort_key: str | None = None
    ttl_attribute: str | None = None
    indexes: tuple[IndexSpec, ...] = ()
    env_var: str = ""
    purpose: str = ""


TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        table=Table.LEDGER,
        partition_key="pk",
        sort_key="sk",
        indexes=(
            IndexSpec(name="by-series", partition_key="series_key", sort_key="pk"),
            IndexSpec(name="by-status", partition_key="status_key", sort_key="pk"),
        ),
        env_var="LEDGER_TABLE",
        purpose="sync ledger: per entity and target, Spotify-side ids, pushed hash, status, history",
    ),
    TableSpec(
        table=Table.CURSORS,
        partition_key="pk",
        ttl_attribute="expires_at",
        env_var="CURSORS_TABLE",
        purpose="poller/monitor cursors, last-success marks, rate-limit windows (TTL)",
    ),
    TableSpec(
        table=Table.IDEMPOTENCY,
        partition_key="id",
        ttl_attribute="expiration",
        env_var="IDEMPOTENCY_TABLE",
        purpose="idempotency records for side effects, webhook replay guard (TTL)",
    ),
    TableSpec(
        table=Table.AVAILABILITY,
        partition_key="pk",
        sort_key="sk",
        indexes=(
            IndexSpec(name="by-isbn", partition_key="isbn13", sort_key="sk"),
            # sparse: only records that stopped (`stopped_at` is absent while live), so the taken-down
            # ones are found without reading every live record
            IndexSpec(name="by-stopped-at", partition_key="stopped_at"),
        ),
        env_var="AVAILABILITY_TABLE",
        purpose="where each item is live, by channel and territory, since when, and why it stopped",
    ),
)


def table_spec(table: Table) -> TableSpec:
    return next(spec for spec in TABLES if spec.table == table)
