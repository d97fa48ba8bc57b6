"""Listening analytics: daily facts from three sources, one store, rollups in SQL, and what they mean.

- `facts`: the one daily-fact schema (row model, columns, metrics) and the dimension tables that map
  the integration's identifiers to Consonance products, works, series, contributors and subjects.
- `store`: Hive-partitioned Parquet (`source=…/date=…/<batch>.parquet`) on S3 or a local directory;
  re-writing a batch replaces it, so a re-ingested day is never counted twice. Needs pyarrow.
- `rollups`: the SQL files under `sql/` and how they are composed and bound; `duckdb_runner` runs
  them locally (needs duckdb), `athena_runner` in AWS (boto3 only).
- `megaphone_export`, `creators_facts`, `ads_facts`: from each source's shape to daily facts.
- `summary`: the short per-work text written back to Consonance; `report`: the HTML report with
  charts (matplotlib; never imported by a Lambda function).
"""
