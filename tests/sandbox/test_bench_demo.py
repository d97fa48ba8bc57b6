"""`make bench`'s demo part reads its counts from the CLI's own run (a short one here) and turns them
into figures: calls per invocation by flow, the publisher's calls per record, the runtime's own share."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

from bench.demo import DemoCounts, figures_from, main
from sandbox.aws_grants import OUTSIDE_INVOCATIONS


def test_the_driver_runs_the_cli_and_counts_calls_at_the_transport(tmp_path: Path) -> None:
    out = tmp_path / "counts.json"
    with redirect_stdout(io.StringIO()) as printed:
        code = main([str(out), "--", "run", "--days", "0.05", "--seed", "7", "--report", str(tmp_path / "report.json")])

    assert code == 0 and "Sandbox run" in printed.getvalue()
    counts = DemoCounts(**json.loads(out.read_text()))
    report = json.loads((tmp_path / "report.json").read_text())
    assert counts.invocations and set(counts.invocations) <= set(report["flows"])
    assert counts.invocations["consonance-poller"] == report["flows"]["consonance-poller"]["delivered"]
    assert all(counts.aws_calls[flow] > 0 for flow in counts.invocations), counts.aws_calls
    assert counts.aws_calls[OUTSIDE_INVOCATIONS] > 0
    assert counts.moto_seconds > 0 and counts.denials == 0


def test_figures_by_flow_with_the_goals_the_issue_sets() -> None:
    counts = DemoCounts(
        virtual_days=7,
        run_wall_seconds=50.0,
        moto_seconds=20.0,
        invocations={"episode-publisher": 10, "ingest-checker": 100},
        records={"episode-publisher": 40, "ingest-checker": 100},
        aws_calls={"episode-publisher": 200, "ingest-checker": 100, OUTSIDE_INVOCATIONS: 55},
    )

    figures = {figure.name: figure for figure in figures_from(58.0, 57.0, counts)}

    assert (figures["demo_wall_seconds"].value, figures["demo_wall_seconds"].status) == (58.0, "pass")
    assert figures["demo_aws_calls_per_invocation"].value == round(300 / 110, 2)
    assert figures["demo_aws_calls_per_invocation[episode-publisher]"].value == 20.0
    assert (figures["demo_aws_calls_per_record[episode-publisher]"].value, figures["demo_aws_calls_per_record[episode-publisher]"].status) == (
        5.0,
        "miss",
    )
    assert figures["demo_runtime_calls_per_invocation"].value == 0.5
    assert "demo_access_denials" not in figures
    by_flow = figures["demo_aws_calls_per_invocation"].details["by_flow"]
    assert list(by_flow) == ["episode-publisher", "ingest-checker"]  # heaviest first
