"""The bench's verdicts, number formatting, table and results file (no timing here: speed is measured
only by `make bench`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bench.results import Figure, format_value, meets, table, write_results


@pytest.mark.parametrize(
    ("value", "target", "comparison", "expected"),
    [
        (1.25, 1.25, "<=", True),
        (1.2501, 1.25, "<=", False),
        (0.0, 0.0, "<=", True),
        (1.0, 0.0, "<=", False),
        (3.0, 2.0, ">=", True),
        (2.0, 2.0, "==", True),
        (float("nan"), 1.0, "<=", False),
    ],
)
def test_meets(value: float, target: float, comparison: str, expected: bool) -> None:
    assert meets(value, target, comparison) is expected  # type: ignore[arg-type]


def test_status_pass_miss_error_info() -> None:
    assert Figure("a", 1.0, 1.25).status == "pass"
    assert Figure("a", 2.0, 1.25).status == "miss"
    assert Figure("a", None, 1.25).status == "error"
    assert Figure("a", 1.0, 1.25, error="boom").status == "error"
    assert Figure("a", 9.0, 1.0, informational=True).status == "info"
    assert Figure("a", 9.0, None).status == "info"


def test_format_value() -> None:
    assert format_value(None) == "-"
    assert format_value(0.0) == "0"
    assert format_value(3.0) == "3"
    assert format_value(1.2345) == "1.23"
    assert format_value(0.01234) == "0.012"
    assert format_value(42.56, "ms") == "42.6 ms"
    assert format_value(1.0, "ms") == "1.00 ms"
    assert format_value(812.4, "s") == "812 s"


def test_table_lists_every_figure_with_status_and_notes() -> None:
    text = table([Figure("cold_start_ratio", 2.1, 1.25, note="why it missed"), Figure("writes_on_unchanged_resync", 0.0, 0.0)])
    lines = text.splitlines()
    assert lines[0].split() == ["figure", "value", "target", "status"]
    assert "cold_start_ratio" in lines[2] and lines[2].rstrip().endswith("MISS")
    assert "<= 1.25" in lines[2]
    assert lines[3].rstrip().endswith("PASS")
    assert "cold_start_ratio: why it missed" in text


def test_results_file_carries_value_target_status_and_note(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "out" / "results.json"
    write_results(path, [Figure("calls_per_new_episode", 2.2, 3.0, note="n", details={"k": 1})], {"wall_seconds": 1.0})
    document = json.loads(path.read_text())
    assert document["wall_seconds"] == 1.0
    (figure,) = document["figures"]
    assert figure["name"] == "calls_per_new_episode"
    assert (figure["value"], figure["target"], figure["comparison"], figure["status"], figure["note"]) == (2.2, 3.0, "<=", "pass", "n")
    assert figure["details"] == {"k": 1}


def test_a_figure_read_back_from_json_keeps_its_value_target_and_status() -> None:
    from bench.results import figure_from_json

    figures = [
        Figure("met", 1.0, 2.0, unit="s", note="n", details={"a": 1}),
        Figure("missed", 3.0, 2.0),
        Figure("info", 5.0, None, informational=True),
        Figure("info_without_value", None, None, informational=True),
        Figure("broken", None, 2.0, error="boom"),
    ]
    for figure in figures:
        again = figure_from_json(json.loads(json.dumps(figure.as_json())))
        assert again.as_json() == figure.as_json()


def test_the_backfill_child_runs_this_runs_backfill_and_its_figures_come_back(tmp_path: Path) -> None:
    from bench.__main__ import BESIDE_BACKFILL, EXPECTED, SHARED_WALL_TIME, backfill_child_command, figures_from_child

    args = argparse.Namespace(series=3, parts=4, changed=5, backfill_as_is=True, quiet=False)
    command = backfill_child_command(args, tmp_path / "out.json")
    assert command[1:5] == ["-m", "bench", "--only", "backfill"] and "--backfill-as-is" in command
    assert command[command.index("--series") + 1 : command.index("--series") + 6] == ["3", "--parts", "4", "--changed", "5"]
    missing = figures_from_child(tmp_path / "none.json", "backfill", 1)
    assert [f.name for f in missing] == [name for name, _ in EXPECTED["backfill"]] and all(f.status == "error" for f in missing)
    written = [Figure("backfill_floor_ratio", 1.01, 1.05), Figure("bench_wall_seconds", 300.0, None)]
    write_results(tmp_path / "child.json", written, {"wall_seconds": 300.0})
    assert [f.as_json() for f in figures_from_child(tmp_path / "child.json", "backfill", 0)] == [written[0].as_json()]
    # Beside the backfill: never a CPU figure or a wall-time goal close to what it measures; the two
    # with far-off wall-time goals are named apart, so their notes say where they were measured.
    assert not set(BESIDE_BACKFILL) & {"demo", "cold_start", "overhead", "long_run"}
    assert set(SHARED_WALL_TIME) == {"analytics", "preflight"} and set(SHARED_WALL_TIME) <= set(BESIDE_BACKFILL)
