"""Branded audio's figures, from one run of the sample's branded part (`sandbox/catalogue/sample.d/
branded.json`, on its own) for five virtual days with every flow deployed:

- `branded_withdrawal_minutes_max`: the longest time from the moment a licence stopped allowing an
  asset (its end at midnight UTC, or the revocation in Consonance) to the moment its last channel
  recorded the withdrawal; the design promises one sweep interval (15 minutes);
- `branded_go_live_minutes_max`: the same for a licence that starts during the run, to the brand show
  and the venue package being live (the playlist waits for Spotify to list the episode, so it is left
  out);
- `branded_run_wall_seconds`: the run's wall time (informational; in `make bench` it shares the
  machine with the backfill, see bench/__main__.py).

What is due when is read from the catalogue (contract dates and the timeline), not from the ledger.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from bench.results import Figure
from functions.licence_overview import licence_views
from functions.state.ledger import SyncLedger
from infra.flows import Table
from sandbox.catalogue import SAMPLE_CATALOGUE_PATH, Catalogue, merge_catalogue_part
from sandbox.world import SandboxWorld, WorldOptions

DAYS = 5
SEED = 7
SWEEP_MINUTES = 15.0
BRANDED_PART = SAMPLE_CATALOGUE_PATH.with_name("sample.d") / "branded.json"


def branded_catalogue() -> Catalogue:
    """The branded part on its own, with the sample's publisher, dates and Megaphone network."""
    sample = json.loads(SAMPLE_CATALOGUE_PATH.read_text(encoding="utf-8"))
    base = {key: sample[key] for key in ("publisher", "start_date", "records_changed_on")}
    base["megaphone"] = {"network_id": sample["megaphone"]["network_id"], "podcasts": []}
    return Catalogue.model_validate(merge_catalogue_part(base, json.loads(BRANDED_PART.read_text(encoding="utf-8")), BRANDED_PART.name))


def due_moments(catalogue: Catalogue) -> tuple[dict[int, datetime], dict[int, datetime]]:
    """(product -> when its licence stopped allowing it, product -> when a licence starting in the run began)."""
    begin, end = catalogue.start_moment(), catalogue.start_moment() + timedelta(days=DAYS)
    product_of_work = {p.work_id: p.id for p in catalogue.products}
    stops: dict[int, datetime] = {}
    starts: dict[int, datetime] = {}
    revoked = {e.id: catalogue.due_at(e) for e in catalogue.timeline if e.entity == "contract" and "termination_reason" in e.changes}
    extended = {e.id for e in catalogue.timeline if e.entity == "contract" and "terminated_date" in e.changes and "termination_reason" not in e.changes}
    for contract in catalogue.contracts:
        if contract.client is None:
            continue
        for work_id in contract.work_ids:
            product = product_of_work[work_id]
            if contract.id in revoked:
                stops[product] = revoked[contract.id]
            elif contract.terminated_date is not None and contract.id not in extended:
                moment = datetime.combine(contract.terminated_date, datetime.min.time(), tzinfo=timezone.utc)
                if begin < moment <= end:
                    stops[product] = moment
            if contract.signed_date is not None:
                moment = datetime.combine(contract.signed_date, datetime.min.time(), tzinfo=timezone.utc)
                if begin < moment <= end:
                    starts[product] = moment
    return stops, starts


def branded_figures(say: Any) -> list[Figure]:
    catalogue = branded_catalogue()
    stops, starts = due_moments(catalogue)
    started = time.perf_counter()
    with SandboxWorld(catalogue, WorldOptions(seed=SEED)) as world:
        world.run_for(DAYS)
        views = {view.product_id: view for view in licence_views(SyncLedger(world.resources.tables[Table.LEDGER]))}
    wall = time.perf_counter() - started
    withdrawals = {
        f"{pid}/{channel}": (where.withdrawn_at - stops[pid]).total_seconds() / 60
        for pid in stops
        for channel, where in views[pid].channels.items()
        if where.withdrawn_at is not None
    }
    go_live = {
        f"{pid}/{channel}": (where.live_since - starts[pid]).total_seconds() / 60
        for pid in starts
        for channel, where in views[pid].channels.items()
        if channel != "brand_playlist" and where.live_since is not None
    }
    say(f"[bench] branded: withdrawals {withdrawals}, go-live {go_live}")
    return [
        Figure(
            name="branded_withdrawal_minutes_max",
            value=round(max(withdrawals.values()), 1) if withdrawals else None,
            target=SWEEP_MINUTES,
            unit="min",
            note=f"{len(withdrawals)} channel withdrawals (licence ended or revoked) in {DAYS} virtual days; the sweep runs every {SWEEP_MINUTES:.0f} min",
            details={"minutes": {k: round(v, 1) for k, v in sorted(withdrawals.items())}},
        ),
        Figure(
            name="branded_go_live_minutes_max",
            value=round(max(go_live.values()), 1) if go_live else None,
            target=SWEEP_MINUTES,
            unit="min",
            note="brand show and venue package of the licence that starts mid-run",
            details={"minutes": {k: round(v, 1) for k, v in sorted(go_live.items())}},
        ),
        Figure(name="branded_run_wall_seconds", value=round(wall, 1), target=None, unit="s", note=f"{DAYS} virtual days, every flow; in a whole `make bench` measured beside the backfill's child process", informational=True),
    ]
