"""One run of the sandbox on the sample's branded part (two licensees, six licensed assets) and what it
leaves behind on every channel, shared by the branded end-to-end test and its fault twin (the same
catalogue and seed with a fifth of the API calls failing and handlers crashing now and then).

The run covers the sample's whole story in a little over four virtual days (2026-12-01 to 12-05
02:24): 'Lantern Quay' is approved on day 1 and goes live on 12-03; 'Roast Notes' is revoked on
12-03 at 14:00; 'Morning Grind', expiring, is renewed on 12-04; 'Tide Table' ends on 12-05; 'Fireside
Hour' is for GB only; 'Last Orders' has no end date (a blocking finding).

Every flow runs except those that only watch Spotify for takedowns and check account expiries (the
availability monitor and recorder, the webhook, the authorisation check): nothing branded depends on
them, and they are half the run's time (the sample run and the grants scenario run them with a
branded asset)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import boto3

from functions.licence_overview import LicenceView, licence_views
from functions.state.ledger import SyncLedger
from infra.flows import FLOWS, Bucket, Table
from infra.ops.__main__ import main as ops_main
from sandbox.catalogue import Catalogue, load_catalogue
from sandbox.report import build_report
from sandbox.runtime import DeadLetter
from sandbox.world import SandboxWorld, WorldOptions
from tests.integration.small_catalogue import derived_sample

BRANDED_PRODUCTS = frozenset({44901, 44902, 44903, 44904, 44905, 44906})
BRANDED_DAYS = 4.1
BRANDED_SEED = 11
NOT_RUN = {"availability-monitor", "availability-recorder", "webhook-ingest", "spotify-authorisation-check"}
BRANDED_FLOWS = tuple(f for f in FLOWS if f.name not in NOT_RUN)


def branded_catalogue(days: float = BRANDED_DAYS) -> Catalogue:
    return derived_sample(load_catalogue(), set(BRANDED_PRODUCTS), before_day=int(days) + 1)


@dataclass(frozen=True)
class BrandedRun:
    catalogue: Catalogue
    report: dict[str, Any]
    views: dict[int, LicenceView]
    alerts: list[str]
    playlists: dict[str, list[str]]  # playlist name -> item URIs
    spotify_ids: dict[int, str | None]  # product -> the Megaphone episode's Spotify id
    drafts: dict[int, bool]  # product -> the Megaphone episode is a draft
    venue_objects: list[str]
    manifests: dict[str, str]  # package prefix -> manifest status
    links: dict[tuple[int, str], str]  # (product, link label) -> the status it shows last
    link_ids: dict[tuple[int, str], set[int]]  # (product, link label) -> the link ids written
    notes: dict[int, str]  # product -> the branded note's last text
    dead_letters: list[DeadLetter]
    ops: dict[str, str] = field(default_factory=dict)  # command -> what it printed

    def channel_states(self) -> dict[int, dict[str, str]]:
        return {pid: {"licence": view.state, **{c: v.status for c, v in view.channels.items()}} for pid, view in self.views.items()}


def run_branded(faults: float = 0.0, days: float = BRANDED_DAYS, seed: int = BRANDED_SEED) -> BrandedRun:
    catalogue = branded_catalogue(days)
    with SandboxWorld(catalogue, WorldOptions(seed=seed, faults=faults, flows=BRANDED_FLOWS)) as world:
        world.run_for(days)
        report = json.loads(json.dumps(build_report(world, run={"faults": faults, "seed": seed, "days": days})))
        ledger = SyncLedger(world.resources.tables[Table.LEDGER])
        bucket = world.resources.buckets[Bucket.VENUE_DELIVERY]
        objects = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]
        manifests = {
            key.removesuffix("/manifest.json"): json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())["status"]
            for key in objects
            if key.endswith("/manifest.json")
        }
        links: dict[tuple[int, str], str] = {}
        link_ids: dict[tuple[int, str], set[int]] = {}
        for write in world.consonance.write_backs:
            label, _, status = (write.description or "").partition(": ")
            links[(write.product_id, label)] = status
            link_ids.setdefault((write.product_id, label), set()).add(write.link_id)
        notes = {
            pid: note.internal_markdown
            for note in world.consonance.notes_written
            for pid in note.product_ids
            if "branded-licence" in note.internal_markdown.splitlines()[0]
        }
        episodes = {int(e["externalId"]): e for e in world.megaphone.state()["episodes"]}
        ops = {}
        for name, arguments in {
            "table": ["licences"],
            "copperleaf": ["licences", "--licensee", "copperleaf COFFEE"],
            "expiring": ["licences", "--expiring-within", "60d", "--today", "2026-12-20"],
            "json": ["licences", "--json"],
        }.items():
            out, err = io.StringIO(), io.StringIO()
            code = ops_main(["--prefix", world.resources.prefix, *arguments], stdout=out, stderr=err)
            assert code == 0, err.getvalue()
            ops[name] = out.getvalue()
        return BrandedRun(
            catalogue=catalogue,
            report=report,
            views={view.product_id: view for view in licence_views(ledger)},
            alerts=report["alerts"],  # the report read the alerts inbox
            playlists={p["name"]: list(p["items"]) for p in world.spotify.playlists.state()},
            spotify_ids={pid: e.get("spotifyIdentifier") for pid, e in episodes.items()},
            drafts={pid: bool(e.get("draft")) for pid, e in episodes.items()},
            venue_objects=sorted(objects),
            manifests=manifests,
            links=links,
            link_ids=link_ids,
            notes=notes,
            dead_letters=world.runtime.dead_letters(),
            ops=ops,
        )
