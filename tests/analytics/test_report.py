"""The HTML report: its charts exist, are readable (titles, axes with units, legends) and carry the expected
series, built from the hand dataset; and matplotlib/DuckDB stay out of every Lambda-side module."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from functions.analytics.duckdb_runner import DuckDBRunner
from functions.analytics.report import Report, add_arguments, build_report, render_html, runner_for, write_report
from tests.analytics import hand_dataset
from tests.analytics.hand_dataset import FROM_DAY, TO_DAY


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBRunner]:
    root = tmp_path_factory.mktemp("store")
    hand_dataset.write(root)
    yield DuckDBRunner(root)


@pytest.fixture(scope="module")
def report(runner: DuckDBRunner) -> Report:
    return build_report(runner, FROM_DAY, TO_DAY, "author")


def legend_texts(figure) -> list[str]:  # type: ignore[no-untyped-def]
    return [text.get_text() for text in figure.axes[0].get_legend().get_texts()]


def test_engagement_chart_has_one_bar_pair_per_author(report: Report) -> None:
    axes = report.figures["engagement"].axes[0]
    assert axes.get_title() == "Engagement by author, 2025-03-01 to 2025-03-14"
    assert "count" in axes.get_xlabel() and axes.get_ylabel() == "Author"
    assert [t.get_text() for t in axes.get_yticklabels()] == ["Ann", "Bob"]  # most plays first
    downloads, starts = axes.containers
    assert [bar.get_width() for bar in downloads] == [35, 12]
    assert [bar.get_width() for bar in starts] == [20, 10]
    assert legend_texts(report.figures["engagement"]) == ["Downloads (Megaphone export, official)", "Spotify starts (Spotify for Creators, unofficial)"]


def test_completion_chart_shows_median_and_share_reaching_75(report: Report) -> None:
    axes = report.figures["completion"].axes[0]
    assert axes.get_title().startswith("Completion by author") and "%" in axes.get_xlabel()
    median, reached = axes.containers
    assert [bar.get_width() for bar in median] == [65, 80]
    assert [bar.get_width() for bar in reached] == [45, 60]
    assert len(legend_texts(report.figures["completion"])) == 2


def test_launch_chart_aligns_on_publication_and_marks_campaigns(report: Report) -> None:
    axes = report.figures["launch"].axes[0]
    assert "day 0" in axes.get_xlabel() and "count" in axes.get_ylabel()
    lines = {line.get_label(): line for line in axes.get_lines()}
    assert {"Ann", "Bob", "Publication (day 0)"} <= set(lines)
    ann = dict(zip(lines["Ann"].get_xdata(), lines["Ann"].get_ydata(), strict=True))
    # Ann's two launches (10 and 20 Mar), plays averaged: see test_rollup_values' Coast curve
    assert (ann[-28], ann[-18], ann[-15], ann[-8], ann[-5], ann[2], ann[0]) == (50, 50, 7, 20.5, 7, 20.5, 0)
    assert "Campaign windows (shaded, group colour)" in legend_texts(report.figures["launch"])
    shaded = [patch for patch in axes.patches if patch.get_alpha() == 0.12]
    assert len(shaded) == 1  # Tide's pre-order, days -7 to -1 of Ann's Tide launch


def test_ranking_and_html(report: Report, tmp_path: Path, runner: DuckDBRunner) -> None:
    # no launch has a complete 28-day after-window by 14 Mar, so the share reaching 75 % decides
    assert [(g.rank, g.label, g.launch_lift, g.reached_75_pct) for g in report.ranking] == [(1, "Bob", None, 60), (2, "Ann", None, 45)]
    page = render_html(report)
    assert page.count("<svg") == 3 and page.count('<figure id="chart-') == 3
    for text in ("Engagement by author", "Completion by author", "Audience around launches by author", "Publication (day 0)", ">Ann<", ">Bob<"):
        assert text in page
    path = write_report(runner, tmp_path / "out" / "analytics.html", FROM_DAY, TO_DAY, "series")
    assert "Listening analytics by series" in path.read_text()


def test_cli_options_and_runner_choice(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    arguments = parser.parse_args(["--from", "2025-03-01", "--to", "2025-03-14", "--by", "genre", "--store", str(tmp_path)])
    assert (arguments.first_day, arguments.grouping, arguments.athena) == (FROM_DAY, "genre", False)
    assert runner_for(arguments).engine == "duckdb"
    with pytest.raises(ValueError, match="workgroup"):
        runner_for(parser.parse_args(["--from", "2025-03-01", "--to", "2025-03-14", "--athena"]))


def test_lambda_side_modules_load_neither_matplotlib_nor_duckdb() -> None:
    modules = [
        "functions.analytics.facts", "functions.analytics.store", "functions.analytics.rollups", "functions.analytics.athena_runner",
        "functions.analytics.megaphone_export", "functions.analytics.creators_facts", "functions.analytics.ads_facts",
        "functions.analytics.summary", "functions.connectors.spotify_creators",
    ]
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + "print(sorted(m for m in ('matplotlib', 'duckdb') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2])
    assert result.stdout.strip() == "[]"
