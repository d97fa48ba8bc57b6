"""`python -m sandbox run [--catalogue FILE] [--days N] [--faults RATE] [--seed N] [--report FILE] [--http-log FILE] [--analytics-report FILE]`

Runs the whole system locally on the bundled (or a given) catalogue and prints a readable summary.
With `--analytics-report`, the listening-analytics HTML report of the run is written there by the ops
CLI (`python -m infra.ops analytics report`) against the sandbox deployment, as an operator would.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from sandbox.catalogue import SAMPLE_CATALOGUE_PATH, load_catalogue


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the sandbox end to end")
    run.add_argument("--catalogue", type=Path, default=SAMPLE_CATALOGUE_PATH, help="catalogue JSON (docs/catalogue-format.md)")
    run.add_argument("--days", type=float, default=7.0, help="virtual days to run (default 7)")
    run.add_argument("--faults", type=float, default=0.0, help="fraction of API calls that fail (0..1)")
    run.add_argument("--seed", type=int, default=7, help="seed for faults, ids and crashes")
    run.add_argument("--report", type=Path, help="write the JSON report here")
    run.add_argument("--http-log", type=Path, help="write one JSON line per connector request here")
    run.add_argument("--lambda-log", type=Path, help="write the handlers' JSON logs here")
    run.add_argument("--json", action="store_true", help="print the JSON report instead of the summary")
    run.add_argument("--analytics-report", type=Path, help="write the listening-analytics HTML report of the run here")
    run.add_argument("--analytics-by", default="series", choices=("author", "genre", "series", "title"), help="its grouping (default series)")
    args = parser.parse_args(argv)
    if not 0.0 <= args.faults <= 1.0:
        parser.error("--faults must be between 0 and 1")
    if args.days <= 0:
        parser.error("--days must be positive")

    from sandbox.report import build_report, summary_text
    from sandbox.world import SandboxWorld, WorldOptions

    catalogue = load_catalogue(args.catalogue)
    started = time.monotonic()
    options = WorldOptions(seed=args.seed, faults=args.faults, http_log=args.http_log, lambda_log=args.lambda_log)
    with SandboxWorld(catalogue, options) as world:
        world.run_for(args.days)
        report = build_report(
            world,
            run={
                "catalogue": str(args.catalogue),
                "days": args.days,
                "faults": args.faults,
                "seed": args.seed,
                "wall_seconds": round(time.monotonic() - started, 2),
            },
        )
        if args.analytics_report:
            write_analytics_report(world, args.analytics_report, args.analytics_by)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2) if args.json else summary_text(report))
    if args.report:
        print(f"\nReport: {args.report}" + (f"   HTTP log: {args.http_log}" if args.http_log else ""))
    if args.analytics_report:
        print(f"Analytics report: {args.analytics_report}")
    return 0


def write_analytics_report(world: object, path: Path, grouping: str) -> None:
    """The run's analytics report, made by the ops CLI against the sandbox's deployment (its store
    copied from the sandbox's S3), for the days the run completed."""
    import io
    from datetime import timedelta

    from infra.ops.__main__ import main as ops_main
    from sandbox.world import SandboxWorld

    assert isinstance(world, SandboxWorld)
    first, last = world.catalogue.start_date, world.clock.now().date() - timedelta(days=1)
    out, err = io.StringIO(), io.StringIO()
    arguments = ["--prefix", world.resources.prefix, "analytics", "report", "--from", first.isoformat(), "--to", max(first, last).isoformat()]
    if ops_main([*arguments, "--by", grouping, "--output", str(path)], out, err) != 0:
        raise RuntimeError(f"the analytics report failed: {err.getvalue().strip()}")


def _exit_without_teardown(code: int) -> None:
    """End the process once its output is flushed, skipping the interpreter's teardown: freeing a
    run's emulated AWS state object by object took seconds (about 2 s after a 1-day run), and the run
    has already closed every file it wrote and stopped its server (the handlers' log is closed here)."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    _exit_without_teardown(main())
