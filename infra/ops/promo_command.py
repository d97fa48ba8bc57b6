"""`promo`: contributor promotion for operators.

- `promo briefs [--contributor ID] [--json]` — every promo brief written: contributor, campaign, dates and
  the link to its Markdown (the ledger's `promo-briefs` entries, written by the promo-briefs flow);
- `promo brief --contributor ID --from DATE --to DATE [--label TEXT]` — ask for a brief over dates an
  operator chooses: puts `PromoBriefRequested` on the deployment's bus; the promo-briefs flow writes it
  (and keeps the campaign, so the brief is regenerated whenever its inputs change);
- `promo playlists [--json]` — every author playlist: status, link, episodes, times made again.
"""

from __future__ import annotations

import argparse
from datetime import date
from typing import TextIO

from functions.domain.events import PromoBriefRequested
from functions.event_bus import EventBus
from functions.flows.promo_briefs.listing import brief_listing, contributor_names
from functions.settings import CoreSettings
from functions.state.keys import contributor_key
from functions.state.ledger import SyncLedger
from functions.state.targets import AUTHOR_PLAYLIST, CONTRIBUTOR_SOURCE, PromotionSourceStatus
from infra.flows import Table
from infra.naming import ResourceNames
from infra.ops.command import EXIT_FAILED, EXIT_NOT_FOUND, EXIT_OK, UsageError
from infra.ops.output import print_json, render_table

NAME = "promo"


def add_to(commands: argparse._SubParsersAction) -> None:
    promo = commands.add_parser("promo", help="contributor promotion: promo briefs and author playlists").add_subparsers(
        dest="promo_command", required=True
    )
    briefs = promo.add_parser("briefs", help="every promo brief written, with its campaign dates and link")
    briefs.add_argument("--contributor", type=int, help="only this contributor (Consonance contact id)")
    briefs.add_argument("--json", action="store_true", help="machine-readable output")
    request = promo.add_parser("brief", help="ask for a promo brief over dates of your choice")
    request.add_argument("--contributor", type=int, required=True, help="the contributor (Consonance contact id)")
    request.add_argument("--from", dest="starts_on", type=date.fromisoformat, required=True, help="campaign start (YYYY-MM-DD)")
    request.add_argument("--to", dest="ends_on", type=date.fromisoformat, required=True, help="campaign end (YYYY-MM-DD)")
    request.add_argument("--label", default="", help="what the campaign is (shown in the brief)")
    playlists = promo.add_parser("playlists", help="every author playlist on the publisher's Spotify account")
    playlists.add_argument("--json", action="store_true", help="machine-readable output")


def run(arguments: argparse.Namespace, names: ResourceNames, out: TextIO, err: TextIO) -> int:
    ledger = SyncLedger(names.table(Table.LEDGER))
    if arguments.promo_command == "briefs":
        return _briefs(ledger, arguments, out, err)
    if arguments.promo_command == "brief":
        return _request(ledger, names, arguments, out, err)
    return _playlists(ledger, arguments, out)


def _briefs(ledger: SyncLedger, arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    rows = brief_listing(ledger, arguments.contributor)
    if arguments.json:
        print_json(rows, out)
    elif rows:
        headers = ("contributor", "name", "campaign", "from", "to", "link")
        out.write(render_table(headers, [(r["contributor_id"], r["contributor"], r["campaign"], r["starts_on"], r["ends_on"], r["link"]) for r in rows]) + "\n")
    else:
        err.write("no promo briefs yet" + (f" for contributor {arguments.contributor}" if arguments.contributor else "") + "\n")
    return EXIT_OK if rows or arguments.contributor is None else EXIT_NOT_FOUND


def _request(ledger: SyncLedger, names: ResourceNames, arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if arguments.ends_on < arguments.starts_on:
        raise UsageError(f"--to {arguments.ends_on} is before --from {arguments.starts_on}")
    source = ledger.get(contributor_key(arguments.contributor), CONTRIBUTOR_SOURCE)
    if source is None or source.state.contributor is None:
        err.write(f"error: contributor {arguments.contributor} is not known to the promotion poller (credited on no work it has read)\n")
        return EXIT_NOT_FOUND
    if source.status is not PromotionSourceStatus.PROMOTABLE:
        err.write(f"error: {source.state.contributor.name} is not approved for promotion in Consonance; no brief is made for them\n")
        return EXIT_FAILED
    event = PromoBriefRequested(
        contributor_id=arguments.contributor,
        starts_on=arguments.starts_on,
        ends_on=arguments.ends_on,
        label=arguments.label,
        correlation_id=f"ops-promo-brief-{arguments.contributor}",
    )
    source_name = str(CoreSettings.model_fields["event_source"].default)
    EventBus(names.event_bus, source_name, allowed=(PromoBriefRequested,)).publish([event])
    out.write(
        f"Asked for a promo brief for {source.state.contributor.name}, {arguments.starts_on} to {arguments.ends_on}; "
        "the promo-briefs flow writes it (see `promo briefs`).\n"
    )
    return EXIT_OK


def _playlists(ledger: SyncLedger, arguments: argparse.Namespace, out: TextIO) -> int:
    names = contributor_names(ledger)
    rows = [
        {
            "contributor_id": entry.key.number,
            "contributor": names.get(entry.key.number),
            "status": str(entry.status),
            "url": entry.state.url,
            "episodes": len(entry.state.episodes),
            "recreated": entry.state.recreated,
            "reason": entry.status_reason,
        }
        for entry in sorted(ledger.scan(AUTHOR_PLAYLIST), key=lambda e: e.key.number)
    ]
    if arguments.json:
        print_json(rows, out)
    else:
        headers = ("contributor", "name", "status", "episodes", "made again", "link")
        out.write(render_table(headers, [(r["contributor_id"], r["contributor"], r["status"], r["episodes"], r["recreated"], r["url"]) for r in rows]) + "\n")
    return EXIT_OK
