"""The bench's verdicts, number formatting, table and results file (no timing here: speed is measured
only by `make bench`)."""

from __future__ import annotations

import json

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
