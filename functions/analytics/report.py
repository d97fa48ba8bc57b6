"""The analytics report people look at: one self-contained HTML file with charts (matplotlib, SVG inline).

Run where people read it (ops CLI, sandbox) — never imported by a Lambda function: matplotlib is
heavy and is a development dependency (tests/analytics/test_report.py checks that the Lambda-side
analytics modules load neither it nor DuckDB).

Contents, for one grouping (author, genre, series or title) over [first_day, last_day]:
1. Engagement: plays per group split into Megaphone downloads and Spotify starts.
2. Completion: median completion and the share of starts reaching 75 %, per group.
3. Audience around launches: plays per day aligned on each title's publication (day 0), averaged over
   a group's launches, with its campaign windows shaded.
4. A ranked table of which groups respond best to audio (see `rank`).

The figures are built first (`build_figures`, inspectable: titles, axis labels, legend entries, line
labels), then rendered to SVG with text kept as text, so the report is searchable and testable.
"""

from __future__ import annotations

import argparse
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Literal

from typing import TYPE_CHECKING

from functions.analytics.rollups import RollupRunner, run_rollup

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ReportGrouping = Literal["author", "genre", "series", "title"]
GROUPINGS: tuple[ReportGrouping, ...] = ("author", "genre", "series", "title")
WINDOW_DAYS = 28
MAX_CURVES = 8
DOWNLOADS_COLOUR, STARTS_COLOUR = "#4C72B0", "#55A868"
MEDIAN_COLOUR, REACHED_COLOUR = "#8172B2", "#C44E52"


@dataclass
class ReportData:
    """The rollups the report reads, already narrowed to one grouping."""

    first_day: date
    last_day: date
    grouping: ReportGrouping
    engine: str
    engagement: list[dict[str, Any]]
    growth: list[dict[str, Any]]
    launches: list[dict[str, Any]]
    curves: list[dict[str, Any]]
    campaign_windows: list[dict[str, Any]]


@dataclass
class RankedGroup:
    rank: int
    key: str
    label: str
    episodes: int
    plays: float
    plays_per_episode: float
    launch_lift: float | None  # mean change of plays, 28 days after vs before each publication
    reached_75_pct: float | None
    median_completion_pct: float | None
    growth_28d: float | None
    launches_measured: int


@dataclass
class Report:
    data: ReportData
    ranking: list[RankedGroup]
    figures: dict[str, Figure] = field(default_factory=dict)


def gather(runner: RollupRunner, first_day: date, last_day: date, grouping: ReportGrouping, window_days: int = WINDOW_DAYS) -> ReportData:
    def mine(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in rows if r["group_type"] == grouping]

    return ReportData(
        first_day=first_day,
        last_day=last_day,
        grouping=grouping,
        engine=runner.engine,
        engagement=mine(run_rollup(runner, "engagement", from_day=first_day, to_day=last_day)),
        growth=mine(run_rollup(runner, "growth", to_day=last_day)),
        launches=mine(run_rollup(runner, "launch_comparison", window_days=window_days, as_of=last_day)),
        curves=run_rollup(runner, "launch_curve", window_days=window_days, group_type=grouping),
        campaign_windows=mine(run_rollup(runner, "campaign_windows")),
    )


def rank(data: ReportData) -> list[RankedGroup]:
    """Which groups respond best to audio, best first.

    Order: the launch lift of plays (mean over the group's publications whose before-window had plays
    and whose after-window is complete), then the share of starts reaching 75 %, then plays per
    episode; groups with no measurable launch come after those with one.
    """
    lifts: dict[str, list[float]] = {}
    for row in data.launches:
        if row["anchor_kind"] == "publication" and row["metric"] == "plays" and row["change_ratio"] is not None and row["after_days_observed"] >= WINDOW_DAYS:
            lifts.setdefault(row["group_key"], []).append(float(row["change_ratio"]))
    growth = {r["group_key"]: r["growth_28d"] for r in data.growth if r["metric"] == "plays"}
    groups = []
    for row in data.engagement:
        measured = lifts.get(row["group_key"], [])
        episodes = int(row["episodes"])
        groups.append(
            RankedGroup(
                rank=0,
                key=row["group_key"],
                label=row["group_label"],
                episodes=episodes,
                plays=float(row["plays"]),
                plays_per_episode=float(row["plays"]) / episodes if episodes else 0.0,
                launch_lift=sum(measured) / len(measured) if measured else None,
                reached_75_pct=row["reached_75_pct"],
                median_completion_pct=row["median_completion_pct"],
                growth_28d=growth.get(row["group_key"]),
                launches_measured=len(measured),
            )
        )
    groups.sort(key=lambda g: (g.launch_lift is None, -(g.launch_lift or 0.0), -(g.reached_75_pct or 0.0), -g.plays_per_episode, g.label))
    for position, group in enumerate(groups, start=1):
        group.rank = position
    return groups


# ------------------------------------------------------------------------------------------ charts
def build_figures(data: ReportData, ranking: Sequence[RankedGroup]) -> dict[str, Figure]:
    noun = data.grouping
    order = [g.key for g in sorted(ranking, key=lambda g: -g.plays)]
    rows = {r["group_key"]: r for r in data.engagement}
    labels = [rows[key]["group_label"] for key in order]
    period = f"{data.first_day.isoformat()} to {data.last_day.isoformat()}"
    return {
        "engagement": _engagement_figure(noun, order, labels, rows, period),
        "completion": _completion_figure(noun, order, labels, rows, period),
        "launch": _launch_figure(data, order[:MAX_CURVES], rows),
    }


def _matplotlib() -> Any:
    """matplotlib with the non-interactive backend, imported when a chart is drawn (not when the CLI
    only parses its options)."""
    import matplotlib

    matplotlib.use("Agg")
    return matplotlib


def _figure(height: float) -> Figure:
    from matplotlib.figure import Figure

    _matplotlib()
    return Figure(figsize=(9, height), layout="constrained")


def _group_bars(labels: list[str], noun: str, title: str, xlabel: str) -> tuple[Figure, Any, list[int]]:
    """A horizontal bar chart's frame: one row per group (first on top), labelled axes and title."""
    figure = _figure(max(3.0, 0.45 * len(labels) + 1.8))
    axes = figure.add_subplot()
    positions = list(range(len(labels)))
    axes.set_yticks(positions, labels)
    axes.invert_yaxis()
    axes.set_xlabel(xlabel)
    axes.set_ylabel(noun.capitalize())
    axes.set_title(title)
    _no_data_note(axes, not labels)
    return figure, axes, positions


def _engagement_figure(noun: str, order: list[str], labels: list[str], rows: dict[str, dict[str, Any]], period: str) -> Figure:
    figure, axes, positions = _group_bars(labels, noun, f"Engagement by {noun}, {period}", "Plays in the period (count)")
    downloads = [float(rows[k]["downloads"]) for k in order]
    starts = [float(rows[k]["starts"]) for k in order]
    axes.barh(positions, downloads, color=DOWNLOADS_COLOUR, label="Downloads (Megaphone export, official)")
    axes.barh(positions, starts, left=downloads, color=STARTS_COLOUR, label="Spotify starts (Spotify for Creators, unofficial)")
    axes.legend(loc="lower right")
    return figure


def _completion_figure(noun: str, order: list[str], labels: list[str], rows: dict[str, dict[str, Any]], period: str) -> Figure:
    xlabel = "Percent (%), Spotify starts-weighted; 0 where Spotify for Creators has no data"
    figure, axes, positions = _group_bars(labels, noun, f"Completion by {noun}, {period}", xlabel)
    height = 0.38
    median = [rows[k]["median_completion_pct"] or 0.0 for k in order]
    reached = [rows[k]["reached_75_pct"] or 0.0 for k in order]
    axes.barh([p - height / 2 for p in positions], median, height, color=MEDIAN_COLOUR, label="Median completion (% of the episode)")
    axes.barh([p + height / 2 for p in positions], reached, height, color=REACHED_COLOUR, label="Starts reaching 75 % (% of starts)")
    axes.set_xlim(0, 100)
    axes.legend(loc="lower right")
    return figure


def _launch_figure(data: ReportData, keys: list[str], rows: dict[str, dict[str, Any]]) -> Figure:
    figure = _figure(5.0)
    axes = figure.add_subplot()
    colours = _matplotlib().colormaps["tab10"]
    for index, key in enumerate(keys):
        points = {int(r["offset_days"]): float(r["value_per_launch"]) for r in data.curves if r["group_key"] == key and r["metric"] == "plays"}
        if not points:
            continue
        offsets = list(range(min(points), max(points) + 1))
        axes.plot(offsets, [points.get(o, 0.0) for o in offsets], color=colours(index % 10), label=rows[key]["group_label"], linewidth=1.6)
        for window in (w for w in data.campaign_windows if w["group_key"] == key):
            axes.axvspan(window["start_offset"] - 0.5, window["end_offset"] + 0.5, color=colours(index % 10), alpha=0.12)
    axes.axvline(0, color="black", linestyle="--", linewidth=1, label="Publication (day 0)")
    if any(w["group_key"] in keys for w in data.campaign_windows):
        axes.axvspan(0, 0, color="grey", alpha=0.25, label="Campaign windows (shaded, group colour)")
    axes.set_xlabel("Days from the book's publication (day 0)")
    axes.set_ylabel("Plays per day, per launch (count)")
    axes.set_title(f"Audience around launches by {data.grouping} (downloads + Spotify starts, {WINDOW_DAYS} days either side)")
    axes.legend(loc="upper left", fontsize="small")
    _no_data_note(axes, not data.curves)
    return figure


def _no_data_note(axes: Any, empty: bool) -> None:
    if empty:
        axes.text(0.5, 0.5, "No data for this period", transform=axes.transAxes, ha="center", va="center")


# ------------------------------------------------------------------------------------------ HTML
def svg(figure: Figure) -> str:
    buffer = io.StringIO()
    with _matplotlib().rc_context({"svg.fonttype": "none", "svg.hashsalt": "consonance-spotify"}):
        figure.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def render_html(report: Report) -> str:
    data = report.data
    charts = "\n".join(f'<figure id="chart-{name}">{svg(figure)}</figure>' for name, figure in report.figures.items())
    header = (
        f"<tr><th>Rank</th><th>{html.escape(data.grouping.capitalize())}</th><th>Episodes</th><th>Plays</th><th>Plays per episode</th>"
        "<th>Launch lift (28 d after vs before)</th><th>Reaching 75 %</th><th>Median completion</th><th>Growth 28 d</th></tr>"
    )
    body = "\n".join(
        f"<tr><td>{g.rank}</td><td>{html.escape(g.label)}</td><td>{g.episodes}</td><td>{g.plays:,.0f}</td>"
        f"<td>{g.plays_per_episode:,.1f}</td><td>{_percent(g.launch_lift, signed=True)}"
        f"{'' if g.launches_measured <= 1 else f' ({g.launches_measured} launches)'}</td>"
        f"<td>{_percent(g.reached_75_pct, scale=1)}</td><td>{_percent(g.median_completion_pct, scale=1)}</td><td>{_percent(g.growth_28d, signed=True)}</td></tr>"
        for g in report.ranking
    )
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Listening analytics by {html.escape(data.grouping)}, {data.first_day} to {data.last_day}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }} th, td {{ border-bottom: 1px solid #ddd; padding: .35rem .5rem; text-align: right; }}
th:nth-child(2), td:nth-child(2) {{ text-align: left; }} figure {{ margin: 1.5rem 0; }} svg {{ max-width: 100%; height: auto; }}
.note {{ color: #555; font-size: .9rem; }}
</style></head><body>
<h1>Listening analytics by {html.escape(data.grouping)}</h1>
<p class="note">{data.first_day} to {data.last_day} · rollups on {html.escape(data.engine)} · generated {generated}.
Plays = Megaphone downloads (official export; apps other than Spotify) + Spotify starts (Spotify for Creators, unofficial, opt-in per show).
Completion comes from Spotify for Creators only. Paid Ads API delivery is not counted as plays.</p>
<h2>Which {html.escape(data.grouping)}s respond best to audio</h2>
<p class="note">Ranked by launch lift: the change in plays in the {WINDOW_DAYS} days from each book's publication against the
{WINDOW_DAYS} days before (launches with a complete after-window), then by the share of starts reaching 75 %, then plays per episode.</p>
<table>{header}
{body}
</table>
{charts}
</body></html>
"""


def _percent(value: float | None, *, scale: float = 100, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value * scale:+.0f} %" if signed else f"{value * scale:.0f} %"


def build_report(runner: RollupRunner, first_day: date, last_day: date, grouping: ReportGrouping) -> Report:
    data = gather(runner, first_day, last_day, grouping)
    ranking = rank(data)
    return Report(data=data, ranking=ranking, figures=build_figures(data, ranking))


def write_report(runner: RollupRunner, path: Path, first_day: date, last_day: date, grouping: ReportGrouping) -> Path:
    report = build_report(runner, first_day, last_day, grouping)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------ CLI wiring
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `python -m infra.ops analytics report` (infra/ops/analytics_command.py)."""
    parser.add_argument("--from", dest="first_day", type=date.fromisoformat, help=f"first day (YYYY-MM-DD; default {WINDOW_DAYS} days to --to)")
    parser.add_argument("--to", dest="last_day", type=date.fromisoformat, help="last day (YYYY-MM-DD; default yesterday, UTC)")
    parser.add_argument("--by", dest="grouping", choices=GROUPINGS, default="author", help="group by (default author)")
    parser.add_argument("--athena", action="store_true", help="run the rollups on the deployment's Athena instead of DuckDB")
    parser.add_argument(
        "--store", type=Path, help="a local store directory for DuckDB (default: a copy of the deployment's analytics bucket)"
    )
    parser.add_argument("--output", type=Path, default=Path("reports/analytics.html"), help="where to write the HTML")


def runner_for(arguments: argparse.Namespace, athena_location: Any = None) -> RollupRunner:
    """DuckDB over the local store, or Athena at `athena_location` (an `AthenaLocation` from settings)."""
    if arguments.athena:
        from functions.analytics.athena_runner import AthenaRunner

        if athena_location is None:
            raise ValueError("--athena needs the deployment's Athena workgroup and Glue database")
        return AthenaRunner(athena_location)
    from functions.analytics.duckdb_runner import DuckDBRunner

    if arguments.store is None:
        raise ValueError("DuckDB needs a local store directory (--store), or a copy of the deployment's")
    return DuckDBRunner(arguments.store)
