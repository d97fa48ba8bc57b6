"""The run report: what each flow did, the final state on the simulated Spotify side (in each API's
own field names), what was written back to Consonance, the findings and the dead letters with their
reasons. JSON for machines; `summary_text` for people."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, is_dataclass
from typing import Any

from functions.mapping_config import MappingConfig
from functions.state.ledger import SyncLedger
from functions.state.targets import EPISODE_SOURCE, MEGAPHONE
from sandbox.promotion_report import promotion_section, promotion_summary
from sandbox.marketing import campaigns_report, campaigns_summary
from sandbox.analytics_report import analytics_section, summary_lines
from sandbox.world import SandboxWorld


def build_report(world: SandboxWorld, *, run: dict[str, Any]) -> dict[str, Any]:
    ledger = SyncLedger(world.resources.tables[_ledger_table_key()])
    entries = list(ledger.scan())
    findings = [
        {**finding.model_dump(mode="json"), "target": entry.target}
        for entry in sorted(entries, key=lambda e: (e.entity, e.target))
        for finding in entry.findings
    ]
    statuses = Counter(e.status for e in entries if e.target == MEGAPHONE.name)
    return {
        "run": {**run, "started_at": world.catalogue.start_moment().isoformat(), "ended_at": world.clock.now().isoformat()},
        "flows": {name: _flow_stats(stats) for name, stats in world.runtime.stats().items()},
        "spotify": world.spotify_state(),
        "consonance": {
            "write_backs": [_plain(w) for w in world.consonance.write_backs],
            "timeline_edits_applied": [_plain(e) for e in world.consonance.applied_edits],
        },
        "ledger": {
            "episodes_by_status": dict(sorted(statuses.items())),
            "episodes_seen": sum(1 for e in entries if e.target == EPISODE_SOURCE.name),
        },
        "availability": _availability(world),
        "rights_timeline": [_plain(entry) for entry in world.distribution.timeline],
        "spotify_takedowns": world.distribution.takedowns_applied,
        "alerts": world.alerts.received(),
        "metrics": {name: round(value, 3) for name, value in sorted(world.metrics.totals.items())},
        "findings": findings,
        "dead_letters": [
            {
                "flow": d.flow,
                "error_code": d.error_code,
                "reason": d.reason,
                "receive_count": d.receive_count,
                "dead_lettered_by": d.dead_lettered_by,
                "detail_type": _detail_type(d.body),
            }
            for d in world.runtime.dead_letters()
        ],
        # contributor promotion: author playlists (with their episodes) and promo briefs
        "promotion": promotion_section(world, ledger),
        "faults_injected": {
            "consonance": dict(world.consonance.faults.injected),
            "megaphone": dict(world.megaphone.faults.injected),
            "media": world.media.injected(),
            "handler_crashes": sum(s.crashes for s in world.runtime.stats().values()),
        },
        "distribution": _distribution(ledger, world),
        "branded": branded_section(entries),
        # marketing (issue 7): per title and milestone, the drafts, their validation and the brief
        "campaigns": campaigns_report(world),
        "analytics": analytics_section(world),
    }


def _distribution(ledger: SyncLedger, world: SandboxWorld) -> dict[str, Any]:
    """Spotify's distribution requirements both ways: every product's pre-flight and delivery (the rows
    `infra.ops distribution` lists), the renditions made, and what was written back to Consonance."""
    from functions.distribution.consonance_view import NOTE_PURPOSE
    from functions.distribution.overview import distribution_rows

    rows = [row for row in distribution_rows(ledger) if row.preflight.verdict != "not run" or row.problems]
    verdicts = Counter(row.preflight.verdict for row in rows)
    problems = Counter(problem.code for row in rows for problem in row.problems)
    return {
        "preflight": dict(sorted(verdicts.items())),
        "renditions": sum(1 for row in rows if (row.preflight.artwork or "").startswith("rendition")),
        "problems": dict(sorted(problems.items())),
        "notes_written": sorted(
            {
                note.product_ids[0]
                for note in world.consonance.notes_written
                if note.product_ids and note.internal_markdown.split("\n", 1)[0].endswith(f" {NOTE_PURPOSE} -->")
            }
        ),
        "products": [row.model_dump(mode="json") | {"failing": row.failing} for row in rows],
    }


def branded_section(entries: list[Any]) -> list[dict[str, Any]]:
    """Per branded asset: its licence's lifecycle states with their times and reasons, and where it
    stands on each channel (`functions.licence_overview`)."""
    from functions.licence_overview import licence_view
    from functions.state.targets import CHANNEL_TARGETS, LICENCE

    channel_targets = {spec.name for spec in CHANNEL_TARGETS.values()}
    licences = [e for e in entries if e.target == LICENCE.name and e.state.asset is not None]
    channels = [e for e in entries if e.target in channel_targets]
    return [
        licence_view(licence, [c for c in channels if c.entity == licence.entity]).model_dump(mode="json")
        for licence in sorted(licences, key=lambda e: e.key.number)
    ]


def _availability(world: SandboxWorld) -> list[dict[str, Any]]:
    """The availability table as the flows left it: where each item is live, since when, why it stopped."""
    from infra.flows import Table

    table = world.resources.tables.get(Table.AVAILABILITY)
    if table is None:
        return []
    from functions.state.dynamo import dynamodb_client, from_item

    rows: list[dict[str, Any]] = []
    for page in dynamodb_client().get_paginator("scan").paginate(TableName=table):
        rows.extend(from_item(item) for item in page.get("Items", []))
    return sorted(rows, key=lambda r: (str(r.get("pk")), str(r.get("sk"))))


def _ledger_table_key() -> Any:
    from infra.flows import Table

    return Table.LEDGER


def _flow_stats(stats: Any) -> dict[str, Any]:
    values = asdict(stats) if is_dataclass(stats) and not isinstance(stats, type) else dict(stats)
    ordered = {k: values.get(k, 0) for k in ("delivered", "succeeded", "retried", "dead_lettered")}
    return {**ordered, **{k: v for k, v in values.items() if k not in ordered and k not in ("flow",)}}


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _detail_type(body: str) -> str | None:
    import json

    try:
        return json.loads(body).get("detail-type")
    except (ValueError, AttributeError):
        return None


def summary_text(report: dict[str, Any], mapping: MappingConfig | None = None) -> str:
    lines: list[str] = []
    run = report["run"]
    lines.append(f"Sandbox run: {run.get('catalogue')}  days={run.get('days')}  faults={run.get('faults')}  seed={run.get('seed')}")
    lines.append(f"Virtual time {run['started_at']} -> {run['ended_at']}  (wall {run.get('wall_seconds', 0):.1f} s)")
    lines.append("")
    lines.append(f"{'flow':<24}{'delivered':>10}{'succeeded':>10}{'retried':>9}{'dead-lettered':>15}")
    for name, stats in report["flows"].items():
        lines.append(f"{name:<24}{stats['delivered']:>10}{stats['succeeded']:>10}{stats['retried']:>9}{stats['dead_lettered']:>15}")
    lines.append("")
    episodes = report["spotify"]["megaphone"]["episodes"]
    live = [e for e in episodes if not e.get("draft")]
    lines.append(f"On Megaphone/Spotify: {len(episodes)} episodes ({len(live)} published, {len(episodes) - len(live)} drafts)")
    for status, count in report["ledger"]["episodes_by_status"].items():
        lines.append(f"  ledger {status:<18}{count:>4}")
    lines.append(f"Write-backs to Consonance: {len(report['consonance']['write_backs'])}")
    lines.append("")
    lines.append(f"Findings ({len(report['findings'])}):")
    for finding in report["findings"]:
        lines.append(f"  {finding['entity']:<16} {finding['code']:<32} {finding['message'][:90]}")
    lines.append("")
    lines.append(f"Dead letters ({len(report['dead_letters'])}):")
    for letter in report["dead_letters"]:
        lines.append(f"  {letter['flow']:<22} {letter.get('error_code') or '-':<24} {(letter.get('reason') or '')[:90]}")
    lines.append("")
    lines.append(f"Takedowns scripted on Spotify: {len(report['spotify_takedowns'])}; alerts raised: {len(report['alerts'])}")
    for alert in report["alerts"]:
        lines.append(f"  alert: {alert.splitlines()[0][:110]}")
    withdrawals = [e for e in report["rights_timeline"] if e["state"] in ("draft", "taken_down")]
    lines.append(f"Rights timeline: {len(report['rights_timeline'])} state changes on Spotify")
    for entry in withdrawals:
        if entry["spotify_id"]:
            lines.append(f"  {entry['virtual_time'][:16]}  episode#{entry['product_id']:<6} -> {entry['state']:<11} ({entry['clearance_note']})")
    lines += ["", *distribution_lines(report.get("distribution"))]
    if "promotion" in report:
        lines.append("")
        lines += promotion_summary(report["promotion"])
    if report.get("campaigns"):
        lines.append("")
        lines += campaigns_summary(report["campaigns"])
    faults = report["faults_injected"]
    lines.append("")
    lines.append(f"Faults injected: consonance {faults['consonance']}, megaphone {faults['megaphone']}, handler crashes {faults['handler_crashes']}")
    lines += branded_lines(report.get("branded", []))
    if "analytics" in report:
        lines.append("")
        lines.extend(summary_lines(report["analytics"]))
    return "\n".join(lines)


def distribution_lines(distribution: dict[str, Any] | None) -> list[str]:
    """The distribution section of the summary: pre-flight verdicts, open problems, notes written."""
    if not distribution:
        return ["Distribution: nothing checked"]
    verdicts = ", ".join(f"{count} {verdict}" for verdict, count in distribution["preflight"].items()) or "none"
    lines = [f"Distribution pre-flight: {verdicts}; renditions pushed instead of the cover: {distribution['renditions']}"]
    failing = [row for row in distribution["products"] if row["failing"]]
    lines.append(f"Distribution problems open: {len(failing)} product(s); notes written to Consonance: {len(distribution['notes_written'])}")
    for row in failing:
        codes = [problem["code"] for problem in row["problems"]] or [f.split(":", 1)[0] for f in row["preflight"]["findings"]]
        lines.append(f"  episode#{row['product_id']:<6} {row['delivery']:<16} {', '.join(codes)[:90]}")
    return lines


def branded_lines(assets: list[dict[str, Any]]) -> list[str]:
    if not assets:
        return []
    lines = ["", f"Branded audio ({len(assets)} licensed assets): lifecycle and channels"]
    for asset in assets:
        lines.append(f"  licence#{asset['product_id']:<6} {asset['title'][:28]:<28} {asset.get('licensee') or '-':<20} {asset['state']:<10} until {asset.get('until') or '-'}")
        if asset["findings"]:
            lines.append(f"      findings: {', '.join(asset['findings'])}")
        for step in asset["states"]:
            lines.append(f"      {step['at'][:16]}  {step['state']:<10} {step['reason'][:80]}")
        for channel, where in sorted(asset["channels"].items()):
            since = f" since {where['live_since'][:16]}" if where["status"] == "live" and where["live_since"] else ""
            gone = f" at {where['withdrawn_at'][:16]}" if where["status"] == "withdrawn" and where["withdrawn_at"] else ""
            lines.append(f"      {channel:<15} {where['status']:<14}{since}{gone}  {where['reason'][:70]}")
    return lines
