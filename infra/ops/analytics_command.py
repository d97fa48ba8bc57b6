"""`analytics report [--from --to] [--by author|genre|series|title] [--athena | --store DIR] [--output FILE]`:
one self-contained HTML report of the listening analytics (functions/analytics/report.py).

Where the rollups run:
- default: DuckDB on this machine, over a copy of the deployment's analytics store (the Parquet
  objects of its analytics bucket, `--prefix` and the account and region naming it; `--store-prefix`
  is the store's prefix inside it, the `analyticsPrefix` context);
- `--store DIR`: DuckDB over a local store directory as it is;
- `--athena`: on the deployment's Athena workgroup over its Glue tables — the same SQL text.

Days default to the 28 days up to yesterday (UTC). Exit 0 with the file's path; a report with no data
is still a report (its charts say so).
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import TextIO

import boto3

from functions.clock import today
from infra.flows import Bucket
from infra.naming import ResourceNames
from infra.ops.command import EXIT_OK

NAME = "analytics"


def add_to(commands: argparse._SubParsersAction) -> None:
    from functions.analytics.report import add_arguments

    analytics = commands.add_parser("analytics", help="listening analytics").add_subparsers(dest="analytics_command", required=True)
    report = analytics.add_parser("report", help="one self-contained HTML report with charts (engagement, completion, launches)")
    add_arguments(report)
    report.add_argument("--store-prefix", default="", help="the store's key prefix in the analytics bucket (the analyticsPrefix context)")


def run(arguments: argparse.Namespace, names: ResourceNames, out: TextIO, err: TextIO) -> int:
    from functions.analytics.athena_runner import AthenaLocation
    from functions.analytics.report import WINDOW_DAYS, runner_for, write_report

    last_day = arguments.last_day or today() - timedelta(days=1)
    first_day = arguments.first_day or last_day - timedelta(days=WINDOW_DAYS - 1)
    with tempfile.TemporaryDirectory(prefix="analytics-store-") as scratch:
        if not arguments.athena and arguments.store is None:
            arguments.store = Path(scratch)
            copied = copy_deployment_store(names, arguments.store_prefix, arguments.store)
            err.write(f"copied {copied} Parquet objects of the analytics store\n")
        runner = runner_for(arguments, AthenaLocation(database=names.glue_database, workgroup=names.athena_workgroup))
        path = write_report(runner, arguments.output, first_day, last_day, arguments.grouping)
        close = getattr(runner, "close", None)
        if callable(close):
            close()
    out.write(f"{path}\n")
    return EXIT_OK


def copy_deployment_store(names: ResourceNames, prefix: str, directory: Path) -> int:
    """The deployment's analytics store (its bucket named from the prefix, account and region), copied."""
    from functions.analytics.store import S3Objects, copy_to_directory

    session = boto3.session.Session()
    account = session.client("sts").get_caller_identity()["Account"]
    bucket = names.bucket(Bucket.ANALYTICS, account, session.region_name)
    return copy_to_directory(S3Objects(bucket, prefix, session.client("s3")), directory)
