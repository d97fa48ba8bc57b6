"""The `analytics` section of the sandbox report: what each listening source delivered, what the
rollups make of it, and what went back to Consonance.

- `sources`: per source, the facts in the store (rows, days, objects) — read from a copy of the
  analytics bucket in moto's S3, as Athena would read the bucket;
- `intake`: the ledger's listening entries: export days ingested, missing or rejected (with their
  findings), the Creators shows and their state (an expired login shows here);
- `export_files`: the objects Megaphone dropped in the export bucket (the overwrite and the missing
  day are visible here);
- `highlights`: the engagement rollup by series and author over the run (DuckDB over a copy of the
  store: the same SQL the nightly flow sends to Athena);
- `summaries`: the per-work notes the nightly flow wrote to Consonance (created, updated, works).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from functions.analytics.facts import SOURCES
from functions.analytics.intake import intake_entries
from functions.analytics.facts import FACTS_DIRECTORY
from functions.analytics.store import S3Objects, copy_to_directory
from functions.flows.analytics_nightly.logic import SUMMARY_PURPOSE
from functions.state.ledger import SyncLedger
from infra.flows import Bucket, Table
from sandbox.world import SandboxWorld

HIGHLIGHTS = 3  # groups shown per grouping


def store_objects(world: SandboxWorld) -> S3Objects:
    import boto3

    return S3Objects(world.resources.buckets[Bucket.ANALYTICS], "", boto3.client("s3"))


def analytics_section(world: SandboxWorld) -> dict[str, Any]:
    ledger = SyncLedger(world.resources.tables[Table.LEDGER])
    first_day = world.catalogue.start_date
    last_day = world.clock.now().date() - timedelta(days=1)
    with tempfile.TemporaryDirectory(prefix="analytics-store-") as scratch:
        store = Path(scratch)
        copy_to_directory(store_objects(world), store)  # each object read once: the counts and the rollup read the copy
        sources = _sources(store)
        shown = highlights(store, first_day, last_day) if last_day >= first_day else {}
    return {
        "sources": sources,
        "intake": [
            {
                "unit": entry.entity,
                "status": str(entry.status),
                "reason": entry.status_reason,
                "findings": [{"code": f.code, "message": f.message} for f in entry.findings],
            }
            for entry in intake_entries(ledger)
        ],
        "export_files": [{"at": moment.isoformat(), "key": key, "note": note} for moment, key, note in world.listening.drops],
        "highlights": shown,
        "summaries": _summaries(world),
    }


def _sources(store: Path) -> dict[str, dict[str, int]]:
    """Rows, days and objects per source, from a copy of the store (`copy_to_directory`)."""
    found: dict[str, dict[str, int]] = {source: {"rows": 0, "days": 0, "objects": 0} for source in SOURCES}
    days: dict[str, set[str]] = {source: set() for source in SOURCES}
    for path in sorted((store / FACTS_DIRECTORY).rglob("*.parquet")):
        parts = dict(part.split("=", 1) for part in path.relative_to(store).parts if "=" in part)
        source = parts.get("source")
        if source not in found:
            continue
        found[source]["rows"] += pq.ParquetFile(path).metadata.num_rows
        found[source]["objects"] += 1
        days[source].add(parts.get("date", ""))
    for source in SOURCES:
        found[source]["days"] = len(days[source])
    return found


def highlights(store: Path, first_day: Any, last_day: Any) -> dict[str, list[dict[str, Any]]]:
    """The groups with the most plays over the run, by series and by author (DuckDB over a copy of
    the store)."""
    from functions.analytics.duckdb_runner import DuckDBRunner
    from functions.analytics.rollups import run_rollup

    runner = DuckDBRunner(store)
    try:
        rows = run_rollup(runner, "engagement", from_day=first_day, to_day=last_day)
    finally:
        runner.close()
    shown: dict[str, list[dict[str, Any]]] = {}
    for grouping in ("series", "author", "genre"):
        best = sorted((r for r in rows if r["group_type"] == grouping and r["plays"]), key=lambda r: (-r["plays"], r["group_label"]))
        shown[grouping] = [
            {
                "group": r["group_label"],
                "plays": r["plays"],
                "downloads": r["downloads"],
                "spotify_starts": r["starts"],
                "median_completion_pct": round(r["median_completion_pct"], 1) if r["median_completion_pct"] is not None else None,
            }
            for r in best[:HIGHLIGHTS]
        ]
    return shown


def _summaries(world: SandboxWorld) -> dict[str, Any]:
    notes = [n for n in world.consonance.notes_written if f" {SUMMARY_PURPOSE} -->" in (n.internal_markdown.splitlines() or [""])[0]]
    operations = Counter(n.operation for n in notes)
    return {
        "created": operations.get("createMarketingText", 0),
        "updated": operations.get("updateMarketingText", 0),
        "works": len({n.work_id for n in notes}),
    }


def summary_lines(section: dict[str, Any]) -> list[str]:
    """The analytics block of the run summary, for people."""
    lines = ["Listening analytics:"]
    for source, figures in section["sources"].items():
        lines.append(f"  {source:<18} {figures['rows']:>7} facts over {figures['days']} days ({figures['objects']} Parquet objects)")
    statuses = Counter((row["unit"].split(":", 1)[0].removeprefix("listening#"), row["status"]) for row in section["intake"])
    lines.append("  intake: " + ", ".join(f"{source} {status} {count}" for (source, status), count in sorted(statuses.items())))
    for row in section["intake"]:
        for finding in row["findings"]:
            lines.append(f"    {row['unit']:<44} {finding['code']:<28} {finding['message'][:70]}")
    for grouping, groups in section["highlights"].items():
        if groups:
            lines.append(f"  top {grouping}: " + "; ".join(f"{g['group']} {g['plays']:,.0f} plays" for g in groups))
    summaries = section["summaries"]
    lines.append(f"  summaries in Consonance: {summaries['works']} works ({summaries['created']} created, {summaries['updated']} updated in place)")
    return lines
