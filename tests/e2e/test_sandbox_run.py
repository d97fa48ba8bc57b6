"""`python -m sandbox run` end to end on the sample catalogue: the JSON report has the shape the issue
asks for (flows, spotify in Megaphone's own field names, consonance write-backs, findings, dead
letters with reasons), the request log has one redacted line per connector request and no secret,
and the printed summary is readable."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import quote, quote_plus

from infra.flows import FLOWS
from sandbox.catalogue import load_catalogue
from sandbox.http_log import read_request_log
from tests.e2e.conftest import SAMPLE_DAYS, SAMPLE_PRODUCTS, CliRun

FLOW_COUNTERS = ("delivered", "succeeded", "retried", "dead_lettered")
LOG_FIELDS = {"service", "method", "url", "status", "virtual_time", "request_headers", "request_body"}


def secret_forms(values: tuple[str, ...]) -> set[str]:
    """Every secret, its parts (the Spotify secret is JSON), raw and URL-encoded."""
    parts: set[str] = set()
    for value in values:
        parts.add(value)
        try:
            document = json.loads(value)
        except ValueError:
            continue
        if isinstance(document, dict):
            parts.update(str(v) for v in document.values())
    return {form for part in parts for form in (part, quote(part, safe=""), quote_plus(part))}


def test_the_command_succeeds_and_reports_every_section(sample_run: CliRun) -> None:
    assert sample_run.exit_code == 0
    report = sample_run.report
    assert {"run", "flows", "spotify", "consonance", "findings", "dead_letters", "faults_injected"} <= report.keys()
    assert report["run"]["days"] == SAMPLE_DAYS and report["run"]["faults"] == 0.0
    started, ended = (datetime.fromisoformat(report["run"][k]) for k in ("started_at", "ended_at"))
    assert (ended - started).total_seconds() >= SAMPLE_DAYS * 86400


def test_flows_report_their_counters(sample_run: CliRun) -> None:
    flows = sample_run.report["flows"]
    assert set(flows) == {flow.name for flow in FLOWS}
    for name, stats in flows.items():
        assert list(stats)[:4] == list(FLOW_COUNTERS), name
        assert all(isinstance(stats[c], int) and stats[c] >= 0 for c in FLOW_COUNTERS), name
        if stats["trigger"] == "queue":
            assert stats["delivered"] == stats["acknowledged"] + stats["retried"], name
            assert stats["acknowledged"] == stats["succeeded"] + (stats["dead_lettered"] - stats["moved_by_redrive"]), name
    for name in ("consonance-poller", "episode-publisher", "ingest-checker", "consonance-writeback", "metadata-sync", "release-sweep"):
        assert flows[name]["succeeded"] > 0, name
    assert flows["consonance-poller"]["delivered"] == int(SAMPLE_DAYS * 24 * 4)  # every 15 minutes


def test_spotify_state_is_megaphones_own_fields(sample_run: CliRun) -> None:
    megaphone = sample_run.report["spotify"]["megaphone"]
    episodes = megaphone["episodes"]
    assert megaphone["networkId"] == "larkspur-vine-audio"
    # the catalogue's podcasts: the sample's three, and those its parts in sample.d/ add
    assert {p["id"] for p in megaphone["podcasts"]} == {p.id for p in load_catalogue(sample_run.catalogue_path).megaphone.podcasts}
    assert {"mp-salt-road", "mp-inside-ember-court", "mp-larkspur-conversations"} <= {p["id"] for p in megaphone["podcasts"]}
    # live: part 9, the interview with an unknown territory code, the episode whose script was removed;
    # drafts until their release dates: parts 10 and 11, Ember Court 10. Everything else is held.
    assert {e["externalId"]: e["draft"] for e in episodes} == {
        "41009": False,
        "41206": False,
        "41105": False,
        "41010": True,
        "41011": True,
        "41110": True,
    }
    for episode in episodes:
        assert all("_" not in name for name in episode), episode  # camelCase, as the API answers
        assert {"id", "podcastId", "externalId", "title", "draft", "pubdate", "status", "spotifyIdentifier"} <= episode.keys()
        assert episode["status"] in ("draft", "scheduled", "published")
    external_ids = [(e["podcastId"], e["externalId"]) for e in episodes]
    assert len(external_ids) == len(set(external_ids))
    titles = {e["externalId"]: e["title"] for e in episodes}
    assert titles["41011"] == "The Tide Clock"  # the day-2 title correction reached Megaphone
    assert "<script" not in next(e["summary"] for e in episodes if e["externalId"] == "41105")


def test_write_backs_carry_the_spotify_link_of_a_live_episode(sample_run: CliRun) -> None:
    write_backs = sample_run.report["consonance"]["write_backs"]
    by_external_id = {e["externalId"]: e for e in sample_run.report["spotify"]["megaphone"]["episodes"]}
    assert write_backs
    for write_back in write_backs:
        assert write_back["operation"] in ("createWebLink", "updateWebLink")
        episode = by_external_id[str(write_back["product_id"])]
        assert write_back["link"] == f"https://open.spotify.com/episode/{episode['spotifyIdentifier']}"
        assert episode["draft"] is False and episode["status"] == "published"
    products = [w["product_id"] for w in write_backs]
    assert len(products) == len(set(products))  # one write-back per delivered episode
    live = {int(e["externalId"]) for e in by_external_id.values() if e["status"] == "published"}
    assert set(products) == live


def test_findings_and_dead_letters_carry_their_reasons(sample_run: CliRun) -> None:
    findings = sample_run.report["findings"]
    for finding in findings:
        assert {"code", "entity", "message", "flow", "blocking"} <= finding.keys()
        assert finding["message"].strip() and re.fullmatch(r"(episode|contributor)#\d+", finding["entity"])
    assert {int(f["entity"].split("#")[1]) for f in findings if f["entity"].startswith("episode#")} <= SAMPLE_PRODUCTS
    # contributor promotion reports what a promotable contributor lacks (here: every headshot's work is cut out)
    assert {f["code"] for f in findings if f["entity"].startswith("contributor#")} <= {"promotion_without_headshot", "unsafe_bio"}
    codes = {(f["entity"], f["code"]) for f in findings}
    assert {
        ("episode#41105", "unsafe_description"),
        ("episode#41108", "title_too_long"),
        ("episode#41204", "invalid_isbn"),
        ("episode#41206", "unknown_territory_code"),
        ("episode#41012", "missing_narrator_credit"),
        ("episode#41014", "duplicate_part_number"),
        ("episode#41015", "duplicate_part_number"),
        ("episode#41017", "release_out_of_order"),
    } <= codes
    for letter in sample_run.report["dead_letters"]:
        assert letter["reason"].strip() and letter["flow"] and letter["dead_lettered_by"] in ("handler", "sqs-redrive")


def test_http_log_has_one_redacted_line_per_request(sample_run: CliRun) -> None:
    lines = read_request_log(sample_run.http_log_path)
    assert len(lines) > 100
    assert sum(1 for line in lines if line["service"] == "megaphone") == sample_run.megaphone_requests
    services = {line["service"] for line in lines}
    assert {"consonance", "megaphone", "media"} <= services  # media: the pre-flight's cover and master fetches
    started = datetime.fromisoformat(sample_run.report["run"]["started_at"])
    ended = datetime.fromisoformat(sample_run.report["run"]["ended_at"])
    for line in lines:
        assert LOG_FIELDS <= line.keys()
        assert line["method"] in ("GET", "POST", "PUT", "DELETE")
        assert line["url"].startswith("https://")
        assert line["status"] is None or 100 <= line["status"] < 600
        assert started <= datetime.fromisoformat(line["virtual_time"]) <= ended
        headers = line["request_headers"]
        if line["service"] == "media":  # public (or pre-signed) media URLs, headshots: no credential at all
            assert "authorization" not in headers
        elif line["service"] == "spotify-accounts" and line["request_body"].get("grant_type") == "refresh_token":
            # a PKCE refresh authenticates with the form, whose secrets are never in clear
            assert line["request_body"]["refresh_token"] == line["request_body"]["client_id"] == "[redacted]"
        elif line["service"] == "spotify-creators-accounts" and line["url"].endswith("/api/token"):
            # the Creators login's code exchange: a one-time code and its PKCE verifier authenticate it
            assert line["request_body"]["code"] == line["request_body"]["code_verifier"] == "[redacted]"
        else:  # every other request is authenticated by a header (a session cookie for the Creators login), never in clear
            assert (headers.get("authorization") or headers.get("cookie")) == "[redacted]"
    megaphone_writes = [line for line in lines if line["service"] == "megaphone" and line["method"] in ("POST", "PUT")]
    assert megaphone_writes and all(isinstance(line["request_body"], dict) and line["request_body"]["externalId"] for line in megaphone_writes)
    assert all(line["request_body"]["query"] for line in lines if line["service"] == "consonance")


def test_http_log_and_report_never_hold_a_secret(sample_run: CliRun) -> None:
    text = sample_run.http_log_path.read_text(encoding="utf-8")
    forms = secret_forms(sample_run.secret_values)
    assert len(forms) >= 4
    assert not [form for form in forms if form in text]
    report = sample_run.report_path.read_text(encoding="utf-8")
    assert not [form for form in forms if form in report or form in sample_run.printed]
    assert not re.search(r"(?i)(Token token=|Bearer )\S", text)
    assert not [line for line in read_request_log(sample_run.http_log_path) if _leaks(line)]


def _leaks(line: dict[str, Any]) -> bool:
    return any(k.lower() == "authorization" and v != "[redacted]" for k, v in line["request_headers"].items())


def test_summary_is_readable(sample_run: CliRun) -> None:
    printed = sample_run.printed
    report = sample_run.report
    assert printed.startswith("Sandbox run: ")
    header = next(line for line in printed.splitlines() if line.startswith("flow"))
    assert header.split() == ["flow", "delivered", "succeeded", "retried", "dead-lettered"]
    for name, stats in report["flows"].items():
        row = next(line for line in printed.splitlines() if line.startswith(name + " "))
        assert row.split() == [name, *(str(stats[c]) for c in FLOW_COUNTERS)]
    episodes = report["spotify"]["megaphone"]["episodes"]
    assert f"On Megaphone/Spotify: {len(episodes)} episodes" in printed
    assert f"Write-backs to Consonance: {len(report['consonance']['write_backs'])}" in printed
    assert f"Findings ({len(report['findings'])}):" in printed
    assert f"Dead letters ({len(report['dead_letters'])}):" in printed
    assert f"Report: {sample_run.report_path}" in printed
    assert '{"_aws"' not in printed  # metrics lines are captured for the report, not printed
