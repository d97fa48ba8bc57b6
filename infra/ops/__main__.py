"""Entry point of the operations CLI (see infra/ops/__init__.py for the commands and exit codes)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType
from datetime import date, datetime, timezone
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

from functions.clock import today as clock_today
from functions.domain.models import Finding
from functions.state.availability import CHANNEL_WIDE
from infra.flows import FLOWS, ScheduleTrigger, flow
from infra.naming import DEFAULT_RESOURCE_PREFIX, ResourceNameError, ResourceNames
from infra.ops import analytics_command, auth_command, availability, backfill_command, dead_letter_queues, distribution_command, doctor_command, licences_command, plan, promo_command, replay_command
from infra.ops.command import EXIT_AWS_FAILED, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE, UsageError
from infra.ops.output import print_json, render_table

HISTORY_SHOWN = availability.RECENT_HISTORY
# Commands in modules of their own (infra/ops/command.py): adding one is a module and a line here.
COMMAND_MODULES: tuple[ModuleType, ...] = (
    analytics_command, auth_command, backfill_command, distribution_command, doctor_command, licences_command, promo_command, replay_command
)


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {value}")
    return value


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m infra.ops", description="Operate the Consonance -> Spotify integration.")
    parser.add_argument(
        "--prefix",
        default=DEFAULT_RESOURCE_PREFIX,
        help=f"resource prefix of the deployment (the stack's resourcePrefix context; default {DEFAULT_RESOURCE_PREFIX})",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    dlq = commands.add_parser("dlq", help="inspect and redrive dead-letter queues").add_subparsers(dest="dlq_command", required=True)
    dlq_list = dlq.add_parser("list", help="every message in the DLQs grouped by reason (a count per reason per queue, then each message; consumes nothing)")
    dlq_list.add_argument("--flow", help="only this flow")
    dlq_list.add_argument("--json", action="store_true", help="machine-readable output")
    dlq_redrive = dlq.add_parser("redrive", help="move a flow's DLQ messages back to be processed again")
    dlq_redrive.add_argument("flow")
    dlq_redrive.add_argument("--dry-run", action="store_true", help="show what would move; move nothing")
    dlq_redrive.add_argument("--limit", type=positive_int, help="move at most N messages")
    dlq_redrive.add_argument("--json", action="store_true", help="machine-readable output")

    lookup = commands.add_parser("availability", help="where an episode is live, why it stopped, and its ledger status")
    lookup.add_argument("product", metavar="PRODUCT_ID_OR_ISBN")
    lookup.add_argument("--json", action="store_true", help="machine-readable output")

    dry_run = commands.add_parser("plan", help="what the next sync would change on Spotify, and why (changes nothing)")
    dry_run.add_argument("--product", type=int, action="append", dest="products", metavar="ID", help="only this product (repeatable)")
    dry_run.add_argument("--today", type=iso_date, help="plan as of this date (default: today, UTC)")
    dry_run.add_argument("--json", action="store_true", help="machine-readable output")
    for module in COMMAND_MODULES:
        module.add_to(commands)
    return parser


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage
        return EXIT_OK if exc.code == 0 else EXIT_USAGE
    try:
        names = ResourceNames(arguments.prefix)
        return run(arguments, names, out, err)
    except (UsageError, ResourceNameError) as exc:
        err.write(f"error: {exc}\n")
        return EXIT_USAGE
    except NoRegionError:
        err.write("error: no AWS region configured; set AWS_REGION (or AWS_DEFAULT_REGION) or a profile region\n")
        return EXIT_USAGE
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            err.write(f"not found: {exc.response['Error'].get('Message', exc)} (prefix {arguments.prefix}; is this the right --prefix?)\n")
            return EXIT_NOT_FOUND
        err.write(f"error: AWS call failed: {exc}\n")
        return EXIT_AWS_FAILED
    except BotoCoreError as exc:
        err.write(f"error: AWS call failed: {exc}\n")
        return EXIT_AWS_FAILED


def run(arguments: argparse.Namespace, names: ResourceNames, out: TextIO, err: TextIO) -> int:
    if arguments.command == "dlq" and arguments.dlq_command == "list":
        return list_dead_letters(names, arguments.flow, arguments.json, out, err)
    if arguments.command == "dlq" and arguments.dlq_command == "redrive":
        return redrive(names, arguments.flow, arguments.dry_run, arguments.limit, arguments.json, out, err)
    if arguments.command == "availability":
        return show_availability(names, arguments.product, arguments.json, out, err)
    if arguments.command == "plan":
        return show_plan(names, arguments.products, arguments.today or clock_today(), arguments.json, out, err)
    for module in COMMAND_MODULES:
        if arguments.command == module.NAME:
            return int(module.run(arguments, names, out, err))
    raise UsageError(f"unknown command {arguments.command!r}")


# --- dlq ----------------------------------------------------------------------------------------


def flows_with_dead_letters(flow_name: str | None) -> list[str]:
    if flow_name is None:
        return [d.name for d in FLOWS if dead_letter_queues.has_dead_letter_queue(d)]
    try:
        declaration = flow(flow_name)
    except KeyError as exc:
        raise UsageError(f"no flow named {flow_name!r}; flows: {', '.join(d.name for d in FLOWS)}") from exc
    if not dead_letter_queues.has_dead_letter_queue(declaration):
        raise UsageError(f"{flow_name} has no dead-letter queue: it is an HTTP flow, failures go back to the caller")
    return [flow_name]


def list_dead_letters(names: ResourceNames, flow_name: str | None, as_json: bool, out: TextIO, err: TextIO) -> int:
    sqs = boto3.client("sqs")
    messages: list[dead_letter_queues.DeadLetter] = []
    queues: list[dict[str, Any]] = []
    for name in flows_with_dead_letters(flow_name):
        queue_name = names.dead_letter_queue(name)
        try:
            found = dead_letter_queues.list_dead_letters(sqs, names, name)
        except dead_letter_queues.QueueNotFound:
            queues.append({"flow": name, "queue": queue_name, "exists": False, "messages": 0})
            continue
        queues.append({"flow": name, "queue": queue_name, "exists": True, "messages": len(found)})
        messages.extend(found)

    if flow_name is not None and not queues[0]["exists"]:
        err.write(f"not found: no dead-letter queue {queues[0]['queue']} (prefix {names.prefix})\n")
        return EXIT_NOT_FOUND
    groups = dead_letter_queues.group_by_reason(messages)
    messages = dead_letter_queues.in_group_order(messages, groups)
    if as_json:
        document = {"prefix": names.prefix, "queues": queues, "groups": [g.as_dict() for g in groups], "messages": [m.as_dict() for m in messages]}
        print_json(document, out)
        return EXIT_OK
    missing = [q["queue"] for q in queues if not q["exists"]]
    if messages:
        out.write("By reason:\n")
        out.write(render_table(["FLOW", "COUNT", "ERROR", "REASON"], [[g.flow, g.count, g.error_code, g.reason] for g in groups]) + "\n\n")
        out.write(
            render_table(
                ["FLOW", "MESSAGE ID", "DEAD-LETTERED", "ERROR", "RECEIVES", "EVENT", "ENTITY", "REASON"],
                [
                    [m.flow, m.message_id, m.dead_lettered_at, m.error_code, m.receive_count, m.detail_type, m.entity, m.reason]
                    for m in messages
                ],
            )
            + "\n"
        )
    counts = ", ".join(f"{q['flow']} {q['messages']}" for q in queues if q["exists"])
    out.write(f"{len(messages)} dead-lettered message(s) ({counts or 'no queues found'})\n")
    if missing:
        out.write(f"not in this deployment: {', '.join(missing)}\n")
    return EXIT_OK


def redrive(
    names: ResourceNames, flow_name: str, dry_run: bool, limit: int | None, as_json: bool, out: TextIO, err: TextIO
) -> int:
    (name,) = flows_with_dead_letters(flow_name)
    sqs = boto3.client("sqs")
    try:
        if isinstance(flow(name).trigger, ScheduleTrigger):
            result = dead_letter_queues.redrive_to_function(sqs, boto3.client("lambda"), names, name, dry_run=dry_run, limit=limit)
        else:
            result = dead_letter_queues.redrive_to_queue(sqs, names, name, dry_run=dry_run, limit=limit)
    except dead_letter_queues.QueueNotFound as exc:
        err.write(f"not found: no queue {exc} (prefix {names.prefix})\n")
        return EXIT_NOT_FOUND
    if as_json:
        print_json(result.as_dict(), out)
    else:
        if result.moved_messages:
            out.write(
                render_table(
                    ["MESSAGE ID", "EVENT", "ENTITY", "WHY IT WAS DEAD-LETTERED"],
                    [[m.message_id, m.detail_type, m.entity, m.reason] for m in result.moved_messages],
                )
                + "\n"
            )
        out.write(dead_letter_queues.redrive_summary(result) + "\n")
        for message_id, why in result.failed.items():
            out.write(f"  failed {message_id}: {why}\n")
    return EXIT_AWS_FAILED if result.failed else EXIT_OK


# --- availability -------------------------------------------------------------------------------


def show_availability(names: ResourceNames, text: str, as_json: bool, out: TextIO, err: TextIO) -> int:
    try:
        lookup = availability.Lookup.parse(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    reader = availability.AvailabilityReader(names)
    if lookup.product_id is not None:
        episodes = [reader.episode(lookup.product_id, "product id")]
        if not episodes[0].found:
            err.write(f"not found: product {lookup.product_id} is neither in the availability table nor in the ledger\n")
            return EXIT_NOT_FOUND
    else:
        product_ids = reader.product_ids_for_isbn(lookup.isbn13 or "")
        if not product_ids:
            err.write(f"not found: no availability recorded for ISBN {lookup.isbn13}\n")
            return EXIT_NOT_FOUND
        episodes = [reader.episode(product_id, f"ISBN {lookup.isbn13}") for product_id in product_ids]
    if as_json:
        print_json({"episodes": [episode.as_dict() for episode in episodes]}, out)
        return EXIT_OK
    out.write("\n\n".join(describe_episode(episode) for episode in episodes) + "\n")
    return EXIT_OK


def describe_episode(episode: availability.EpisodeAvailability) -> str:
    lines = [f"Product {episode.product_id}: {episode.title or '(title unknown: not in the ledger)'}  [found by {episode.looked_up_by}]"]
    live = [f"{r.channel} {territory_label(r.territory)}" for r in episode.records if r.live]
    lines.append(f"Live in: {', '.join(live) if live else 'nowhere'}")
    if episode.records:
        lines.append(
            render_table(
                ["CHANNEL", "TERRITORY", "LIVE", "SINCE", "STOPPED", "TAKEN DOWN", "SOURCE", "SPOTIFY ID", "REASON"],
                [
                    [
                        r.channel,
                        territory_label(r.territory),
                        r.live,
                        timestamp(r.since),
                        timestamp(r.stopped_at),
                        r.taken_down,
                        r.source,
                        r.spotify_id,
                        r.reason,
                    ]
                    for r in episode.records
                ],
            )
        )
    else:
        lines.append("No availability recorded yet (the availability monitor has not seen it on Spotify).")
    ledger = episode.ledger
    if ledger is None:
        lines.append("Ledger: nothing pushed to Megaphone for this product.")
        return "\n".join(lines)
    lines.append(f"Ledger status: {ledger.status}" + (f" — {ledger.status_reason}" if ledger.status_reason else ""))
    if ledger.findings:
        lines.append("Findings:")
        lines.extend(f"  - {finding_text(finding)}" for finding in ledger.findings)
    if ledger.history:
        lines.append(f"Recent history (last {min(HISTORY_SHOWN, len(ledger.history))}):")
        lines.append(
            render_table(
                ["AT", "ACTION", "DETAIL"],
                [[timestamp(entry.at), entry.action, entry.detail] for entry in ledger.history[-HISTORY_SHOWN:]],
            )
        )
    return "\n".join(lines)


def territory_label(territory: str) -> str:
    return "all territories" if territory == CHANNEL_WIDE else territory


def timestamp(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds") if moment is not None else None


def finding_text(finding: Finding) -> str:
    blocking = "blocking" if finding.blocking else "not blocking"
    return f"{finding.code}: {finding.message} ({finding.flow}, {blocking})"


# --- plan ---------------------------------------------------------------------------------------


def show_plan(names: ResourceNames, products: list[int] | None, today: date, as_json: bool, out: TextIO, err: TextIO) -> int:
    changes, missing = plan.plan(names, plan.deployed_settings(), today, products)
    for product_id in missing:
        err.write(f"not found: product {product_id} is not in the ledger (the poller has not seen it)\n")
    if products and not changes:
        return EXIT_NOT_FOUND
    if as_json:
        print_json({"today": today.isoformat(), "changes": [change.model_dump(mode="json") for change in changes], "not_found": missing}, out)
    else:
        out.write(
            render_table(
                ["PRODUCT", "TITLE", "STATUS", "ACTION", "CHANGED FIELDS", "REASON"],
                [[c.product_id, c.title, c.current_status, c.action, c.changed_fields, c.reason] for c in changes],
            )
            + "\n"
        )
        acting = [c for c in changes if c.action != "none"]
        out.write(f"{len(acting)} of {len(changes)} product(s) would change on the next sync (as of {today.isoformat()})\n")
    return EXIT_NOT_FOUND if missing else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
