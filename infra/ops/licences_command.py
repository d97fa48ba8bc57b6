"""`licences [--licensee X] [--expiring-within 30d] [--json]`: the branded-audio lifecycle table — per
licensed asset its licence state, until when, and where it is live (brand show, brand playlist,
venue delivery), read from the deployment's ledger (`functions.licence_overview`)."""

from __future__ import annotations

import argparse
import re
from datetime import date, timedelta
from typing import TextIO

from functions.clock import today as clock_today
from functions.domain.licence import LIVE_STATES, LicenceChannel, Licensee
from functions.licence_overview import LicenceView, licence_views
from functions.state.ledger import SyncLedger
from infra.flows import Table
from infra.naming import ResourceNames
from infra.ops.command import EXIT_OK, UsageError
from infra.ops.output import print_json, render_table

NAME = "licences"
_DAYS = re.compile(r"^\s*(\d+)\s*d?\s*$")


def days(text: str) -> int:
    """"30d" or "30" -> 30."""
    found = _DAYS.match(text)
    if found is None:
        raise argparse.ArgumentTypeError(f"not a number of days (e.g. 30d): {text!r}")
    return int(found.group(1))


def add_to(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(NAME, help="branded-audio licences: lifecycle state, until when, and where each asset is live")
    parser.add_argument("--licensee", help="only this licensee (its name, any case)")
    parser.add_argument("--expiring-within", type=days, metavar="DAYS", help="only licences live now that end within DAYS (e.g. 30d)")
    parser.add_argument("--today", type=date.fromisoformat, help="as of this date (default: today, UTC)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def selected(views: list[LicenceView], licensee: str | None, within: int | None, today: date) -> list[LicenceView]:
    if licensee is not None:
        wanted = Licensee(name=licensee).key
        views = [v for v in views if v.licensee is not None and Licensee(name=v.licensee).key == wanted]
    if within is not None:
        horizon = today + timedelta(days=within)
        views = [v for v in views if v.state in LIVE_STATES and v.until is not None and v.until <= horizon]
    return views


def run(arguments: argparse.Namespace, names: ResourceNames, out: TextIO, err: TextIO) -> int:
    if arguments.licensee is not None and not arguments.licensee.strip():
        raise UsageError("--licensee needs a name")
    today = arguments.today or clock_today()
    views = selected(licence_views(SyncLedger(names.table(Table.LEDGER))), arguments.licensee, arguments.expiring_within, today)
    if arguments.json:
        print_json([view.model_dump(mode="json") for view in views], out)
        return EXIT_OK
    if not views:
        out.write("No branded licences match.\n")
        return EXIT_OK
    rows = [
        [
            view.product_id,
            view.title,
            view.licensee,
            view.state,
            view.until,
            *[_where(view, channel) for channel in LicenceChannel],
            view.states[-1].at.strftime("%Y-%m-%d %H:%M") if view.states else None,
            "; ".join([view.reason, *(f"finding {code}" for code in view.findings)]),
        ]
        for view in views
    ]
    headers = ["product", "title", "licensee", "state", "until", "brand show", "brand playlist", "venue", "since", "reason"]
    out.write(render_table(headers, rows) + "\n")
    return EXIT_OK


def _where(view: LicenceView, channel: LicenceChannel) -> str:
    found = view.channels.get(channel.value)
    if found is None:
        return "-"
    if found.status == "live" and found.live_until:
        return f"live to {found.live_until}"
    return found.status
