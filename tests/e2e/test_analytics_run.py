"""Listening analytics end to end in the sandbox, through all three of its sources and every flow.

The sample catalogue cut to seven episodes of its three shows runs five and a half virtual days. The
catalogue's scenario (sandbox/catalogue/sample.d/analytics.json) stages the faults: no export file for
day 2 (3 Dec), a half-full hourly version of day 3 overwritten the next morning, and the Spotify for
Creators cookies expiring on day 4 (5 Dec). Checked:
- every export file Megaphone dropped is in the store exactly once, as delivered (the overwritten day
  once, not one and a half times); the missing day is a finding;
- the opted-in show's Creators figures are in the store as the dashboard gave them until the login
  expired; then operators are told once a day, the records are dead-lettered with their reason, and
  the export and the summaries go on;
- each work with audio has one summary note in Consonance, created once and updated in place, with the
  report link; the report, made by the ops CLI from this data, has its charts and the shows' series;
- with a fifth of the API calls failing and handlers crashing now and then, all of the above still
  holds in effect (the fault run at 0.2).
"""

from __future__ import annotations

import io
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pytest

from functions.analytics.duckdb_runner import DuckDBRunner
from functions.analytics.report import build_report
from functions.analytics.store import S3Objects, copy_to_directory
from functions.flow_names import FlowName
from functions.state.ledger import SyncLedger
from functions.state.targets import LISTENING, ListeningStatus
from infra.flows import FLOWS, Bucket, Table
from infra.ops.__main__ import main as ops_main
from sandbox.catalogue import load_catalogue
from sandbox.distribution import spotify_show_id
from sandbox.report import build_report as build_run_report
from sandbox.report import summary_text
from sandbox.world import SANDBOX_REPORT_URL, SandboxWorld, WorldOptions
from tests.integration.harness import PUBLISHING_FLOWS
from tests.integration.small_catalogue import derived_sample

KEEP = frozenset({41008, 41009, 41010, 41105, 41108, 41206, 41208})
DAYS = 5.5
START = date(2026, 12, 1)
MISSING, OVERWRITTEN, EXPIRED = date(2026, 12, 3), date(2026, 12, 4), date(2026, 12, 5)
SALT_SHOW = spotify_show_id("mp-salt-road")
SHOWS = ("The Salt Road", "Inside the Ember Court", "Larkspur Conversations")
ANALYTICS_FLOWS = tuple(f for f in FLOWS if f.name.startswith("analytics-"))


@dataclass
class Facts:
    """The store's total figures: (source, day, entity) -> metric -> value."""

    rows: dict[tuple[str, date, str], dict[str, float]]

    def of(self, source: str, day: date) -> dict[str, dict[str, float]]:
        return {entity: metrics for (s, d, entity), metrics in self.rows.items() if s == source and d == day}

    def days(self, source: str) -> set[date]:
        return {d for (s, d, _) in self.rows if s == source}


def read_facts(world: SandboxWorld) -> Facts:
    s3 = boto3.client("s3")
    bucket = world.resources.buckets[Bucket.ANALYTICS]
    rows: dict[tuple[str, date, str], dict[str, float]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="facts/"):
        for item in page.get("Contents", []):
            parts = dict(part.split("=", 1) for part in item["Key"].split("/") if "=" in part)
            table = pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()))
            for row in table.to_pylist():
                if row["dimension"] == "total":
                    metrics = rows.setdefault((parts["source"], date.fromisoformat(parts["date"]), row["entity_id"]), {})
                    assert row["metric"] not in metrics, f"{item['Key']}: {row['entity_id']} {row['metric']} stored twice"
                    metrics[row["metric"]] = row["value"]
    return Facts(rows)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(0.0, id="no-faults", marks=pytest.mark.xdist_group("analytics-run-no-faults")),
        pytest.param(0.2, id="faults-0.2", marks=pytest.mark.xdist_group("analytics-run-faults")),
    ],
)
def world(request: pytest.FixtureRequest) -> Iterator[SandboxWorld]:
    """One run per fault rate, one after the other (a world owns the process's clock and routes);
    under `make test`'s workers the two runs may go to different workers."""
    catalogue = derived_sample(load_catalogue(), set(KEEP), before_day=int(DAYS) + 1)
    # the publishing path feeds Megaphone and Spotify; the availability flows (the costliest to run) add nothing here
    options = WorldOptions(seed=7, faults=request.param, flows=PUBLISHING_FLOWS + ANALYTICS_FLOWS)
    with SandboxWorld(catalogue, options) as world:
        world.run_for(DAYS)
        yield world


# ------------------------------------------------------------------------------ the export
def test_every_export_file_is_in_the_store_once_as_delivered(world: SandboxWorld) -> None:
    facts = read_facts(world)
    delivered = world.listening.delivered
    assert set(delivered) == {START, date(2026, 12, 2), OVERWRITTEN, EXPIRED}  # no file for the missing day
    assert sum(1 for _, key, note in world.listening.drops if note.startswith("partial")) == 1
    for day, downloads in delivered.items():
        stored = {episode: metrics["downloads"] for episode, metrics in facts.of("megaphone_export", day).items()}
        assert stored == downloads, day  # the overwritten day counted once, as its whole file says
    assert facts.days("megaphone_export") == set(delivered)


def test_the_missing_day_is_a_finding_and_the_rest_is_ingested(world: SandboxWorld) -> None:
    entries = {e.state.subject: e for e in SyncLedger(world.resources.tables[Table.LEDGER]).scan(LISTENING) if e.state.source == "megaphone_export"}
    assert entries[MISSING.isoformat()].status == ListeningStatus.MISSING
    assert [f.code for f in entries[MISSING.isoformat()].findings] == ["export_day_missing"]
    assert {day for day, e in entries.items() if e.status == ListeningStatus.INGESTED} == {d.isoformat() for d in world.listening.delivered}


# ------------------------------------------------------------------------------ Spotify for Creators
def test_creators_figures_until_the_login_expired_then_alerts_and_dead_letters(world: SandboxWorld) -> None:
    facts = read_facts(world)
    collected = {day for day in facts.days("spotify_creators") if any("starts" in m for m in facts.of("spotify_creators", day).values())}
    assert collected == {START, date(2026, 12, 2), MISSING}  # nights of 2, 3 and 4 Dec, each up to the day before
    for day in collected:
        stored = {e: m.get("starts", 0) for e, m in facts.of("spotify_creators", day).items() if e != SALT_SHOW and "starts" in m}
        dashboard = {e: s.starts for (e, d), s in world.creators.days.items() if d == day and e != SALT_SHOW and world.creators.episodes.get(e) and world.creators.episodes[e].show_id == SALT_SHOW}
        assert stored == {e: float(v) for e, v in dashboard.items()}, day
        assert facts.of("spotify_creators", day)[SALT_SHOW]["followers"] == world.creators.followers[(SALT_SHOW, day)]
    letters = [d for d in world.runtime.dead_letters() if d.flow.startswith("analytics")]
    assert {d.error_code for d in letters} == {"creators_login_required"}
    assert len(letters) >= 2  # the nights of 5 and 6 Dec
    told = [a for a in world.alerts.received() if "Spotify for Creators" in a]
    assert len(told) == 2  # once each day, however often it was tried
    assert all(world.creators_login.sp_dc not in a and world.creators_login.sp_key not in a for a in told)


# ------------------------------------------------------------------------------ back to Consonance
def test_each_work_gets_one_summary_created_once_and_updated_in_place(world: SandboxWorld) -> None:
    notes = [n for n in world.consonance.notes_written if "analytics-summary -->" in n.internal_markdown.splitlines()[0]]
    creates = Counter(n.work_id for n in notes if n.operation == "createMarketingText")
    assert creates and set(creates.values()) == {1}  # never a second note for a work
    texts = {n.text_id for n in notes}
    assert len(texts) == len(creates)
    latest = {n.work_id: n.internal_markdown for n in notes}
    assert all(f"Full report: {SANDBOX_REPORT_URL}" in text for text in latest.values())


def test_the_rollups_and_the_report_from_the_sandbox_data(world: SandboxWorld, tmp_path: Path) -> None:
    last = world.clock.now().date() - timedelta(days=1)
    out, err = io.StringIO(), io.StringIO()
    path = tmp_path / "analytics.html"
    arguments = ["--prefix", world.resources.prefix, "analytics", "report", "--from", START.isoformat(), "--to", last.isoformat(), "--by", "series"]
    assert ops_main([*arguments, "--output", str(path)], out, err) == 0, err.getvalue()
    page = path.read_text()
    assert page.count("<svg") == 3 and all(f">{show}<" in page for show in SHOWS)
    with tempfile.TemporaryDirectory() as scratch:  # the same data, its figures inspected
        copy_to_directory(S3Objects(world.resources.buckets[Bucket.ANALYTICS], "", boto3.client("s3")), Path(scratch))
        report = build_report(DuckDBRunner(Path(scratch)), START, last, "series")
    engagement = report.figures["engagement"].axes[0]
    assert {t.get_text() for t in engagement.get_yticklabels()} == set(SHOWS)
    assert engagement.get_title() == f"Engagement by series, {START} to {last}" and "count" in engagement.get_xlabel()
    downloads, starts = engagement.containers
    salt = [t.get_text() for t in engagement.get_yticklabels()].index("The Salt Road")
    assert starts[salt].get_width() > 0  # the opted-in show's Spotify starts
    assert sum(bar.get_width() for i, bar in enumerate(starts) if i != salt) == 0  # the others are not opted in
    launch = report.figures["launch"].axes[0]
    assert "Publication (day 0)" in {line.get_label() for line in launch.get_lines()}
    assert [g.label for g in report.ranking][0] in SHOWS
    on_athena = tmp_path / "athena.html"  # the same report from the deployment's Athena: the same table
    assert ops_main([*arguments, "--athena", "--output", str(on_athena)], io.StringIO(), io.StringIO()) == 0
    assert _ranking_table(on_athena.read_text()) == _ranking_table(page)


def _ranking_table(page: str) -> str:
    return page[page.index("<table>") : page.index("</table>")]


def test_the_run_report_has_its_analytics_section(world: SandboxWorld) -> None:
    report = build_run_report(world, run={"catalogue": "derived sample", "days": DAYS})
    section = report["analytics"]
    facts = read_facts(world)
    assert section["sources"]["megaphone_export"]["days"] == len(facts.days("megaphone_export")) == 4
    assert section["sources"]["spotify_ads"]["rows"] == 0  # no Ads reporting collector in this change
    assert {row["unit"] for row in section["intake"] if row["status"] == "missing"} == {f"listening#megaphone_export:{MISSING}"}
    assert section["highlights"]["series"][0]["group"] in SHOWS
    assert section["summaries"]["works"] > 0 and section["summaries"]["created"] == section["summaries"]["works"]
    assert "Listening analytics:" in summary_text(report)


def test_no_analytics_call_outside_its_grants(world: SandboxWorld) -> None:
    assert [d.message for d in world.runtime.access.denials] == []
    for name in (FlowName.ANALYTICS_EXPORT_INGEST, FlowName.ANALYTICS_NIGHTLY, FlowName.ANALYTICS_CREATORS_COLLECTOR):
        assert world.runtime.access.requests_by_flow[name] > 0
    assert world.runtime.stats()[FlowName.ANALYTICS_NIGHTLY].failed_runs == 0
