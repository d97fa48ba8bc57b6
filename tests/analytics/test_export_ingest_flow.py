"""The export ingest as deployed: an object put in the sandbox's Megaphone export bucket is announced by
S3 on EventBridge's default bus, the rule sends it to the ingest flow's queue, the runtime delivers it.

- a day file's downloads land in the store; the same file again, its completion marker and a duplicate
  delivery change nothing; a newer (overwritten) version replaces the day's figures;
- a legacy file of a day that has a V2 file, an impressions file and a foreign object are left alone;
- bad files: a truncated gzip and a file of another shape are dead-lettered with their reason (the
  day's ledger entry says so too) and the day keeps its earlier figures; an unknown episode's deliveries
  are left out with a finding and the rest is ingested.

The days used are before the sandbox catalogue's start, where its own listening feed never drops files.
"""

from __future__ import annotations

import gzip
import io
import json
import random
from collections.abc import Iterator
from datetime import date

import boto3
import pyarrow.parquet as pq
import pytest

from functions.analytics.facts import EpisodeDimension
from functions.flow_names import FlowName
from functions.state.keys import episode_key, listening_key
from functions.state.ledger import SyncLedger, new_entry
from functions.state.targets import LISTENING, MEGAPHONE, ListeningStatus
from infra.flows import FLOWS, Bucket, Table
from sandbox.catalogue import load_catalogue
from sandbox.listening import completion_marker_name, delivery_record, export_file_name
from sandbox.world import SandboxWorld, WorldOptions

ANALYTICS_FLOWS = tuple(f for f in FLOWS if f.name.startswith("analytics-"))
KNOWN = {"mep-1": "mp-a", "mep-2": "mp-a", "mep-3": "mp-b"}


@pytest.fixture(scope="module")
def world() -> Iterator[SandboxWorld]:
    with SandboxWorld(load_catalogue(), WorldOptions(flows=ANALYTICS_FLOWS)) as world:
        ledger = SyncLedger(world.resources.tables[Table.LEDGER])
        for number, (episode_id, podcast) in enumerate(sorted(KNOWN.items()), start=1):
            entry = new_entry(episode_key(900 + number), MEGAPHONE)
            entry.state.episode_id, entry.state.podcast_id = episode_id, podcast
            ledger.save(entry)
        yield world


def day_file(day: date, downloads: dict[str, int], *, noise: bool = True) -> bytes:
    """`downloads` counted deliveries per Megaphone episode, plus deliveries the ingest must drop."""
    rng = random.Random(day.toordinal())
    lines = []
    serial = 0
    for episode_id, count in sorted(downloads.items()):
        episode = EpisodeDimension(product_id="p", work_id="w", episode_title="", megaphone_podcast_id=KNOWN.get(episode_id, "mp-x"), megaphone_episode_id=episode_id)
        for _ in range(count):
            serial += 1
            record = delivery_record(episode, day, serial, "GB" if serial % 2 else "US", rng)
            lines.append(json.dumps(record))
            if noise and serial % 3 == 0:
                lines.append(json.dumps({**record, "id": f"{record['id']}-bot", "blacklisted_ua": True}))
    return gzip.compress(("\n".join(lines) + "\n").encode())


def put(world: SandboxWorld, key: str, body: bytes) -> None:
    boto3.client("s3").put_object(Bucket=world.resources.buckets[Bucket.MEGAPHONE_EXPORT], Key=key, Body=body)
    world.runtime.expect_messages()
    world.runtime.run_due()


def stored_downloads(world: SandboxWorld, day: date) -> tuple[dict[str, float], list[str]]:
    """Total downloads per episode in the store for `day`, and the day's objects."""
    s3 = boto3.client("s3")
    bucket = world.resources.buckets[Bucket.ANALYTICS]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"facts/source=megaphone_export/date={day}/").get("Contents", [])]
    totals: dict[str, float] = {}
    for key in keys:
        table = pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
        for row in table.to_pylist():
            if row["dimension"] == "total":
                totals[row["entity_id"]] = totals.get(row["entity_id"], 0) + row["value"]
    return totals, keys


def intake(world: SandboxWorld, day: date):  # type: ignore[no-untyped-def]
    return SyncLedger(world.resources.tables[Table.LEDGER]).get(listening_key("megaphone_export", day.isoformat()), LISTENING)


def dead_letters(world: SandboxWorld) -> list:  # type: ignore[type-arg]
    return [d for d in world.runtime.dead_letters() if d.flow == FlowName.ANALYTICS_EXPORT_INGEST]


def test_a_day_file_its_repeats_and_its_marker_leave_one_days_figures(world: SandboxWorld) -> None:
    day = date(2026, 11, 10)
    put(world, export_file_name(day), day_file(day, {"mep-1": 7, "mep-2": 4}))
    assert stored_downloads(world, day) == ({"mep-1": 7, "mep-2": 4}, [f"facts/source=megaphone_export/date={day}/delivery.parquet"])
    entry = intake(world, day)
    assert entry.status == ListeningStatus.INGESTED and entry.state.downloads == 11 and entry.state.dropped["flagged"] == 3
    put(world, export_file_name(day), day_file(day, {"mep-1": 7, "mep-2": 4}))  # Megaphone's next hourly version, the same
    put(world, completion_marker_name(day), b"")  # final: read once more
    assert stored_downloads(world, day)[0] == {"mep-1": 7, "mep-2": 4}
    stats = world.runtime.stats()[FlowName.ANALYTICS_EXPORT_INGEST]
    assert stats.dead_lettered == 0 and stats.succeeded >= 3


def test_an_overwritten_file_replaces_the_days_figures(world: SandboxWorld) -> None:
    day = date(2026, 11, 11)
    put(world, export_file_name(day), day_file(day, {"mep-1": 3}))  # a partial hourly version
    put(world, export_file_name(day), day_file(day, {"mep-1": 9, "mep-3": 2}))  # the whole day
    assert stored_downloads(world, day)[0] == {"mep-1": 9, "mep-3": 2}


def test_legacy_impressions_and_foreign_objects_are_left_alone(world: SandboxWorld) -> None:
    day = date(2026, 11, 12)
    put(world, export_file_name(day), day_file(day, {"mep-2": 5}))
    put(world, export_file_name(day, naming="legacy"), day_file(day, {"mep-2": 50}))  # V2 supersedes it
    put(world, f"impressions-v2-day-{day}.json.gz", day_file(day, {"mep-2": 70}))
    put(world, "README.txt", b"exports from Megaphone")
    assert stored_downloads(world, day)[0] == {"mep-2": 5}
    other = date(2026, 11, 13)  # a day with only a legacy file: that one counts
    put(world, export_file_name(other, naming="legacy"), day_file(other, {"mep-2": 6}))
    assert stored_downloads(world, other)[0] == {"mep-2": 6}
    assert dead_letters(world) == []


def test_bad_files_are_dead_lettered_with_their_reason_and_the_rest_is_ingested(world: SandboxWorld) -> None:
    day, other_day = date(2026, 11, 14), date(2026, 11, 15)
    put(world, export_file_name(day), day_file(day, {"mep-1": 4}))
    whole = day_file(day, {"mep-1": 40})
    put(world, export_file_name(day), whole[: len(whole) // 2])  # a truncated upload of a later version
    assert stored_downloads(world, day)[0] == {"mep-1": 4}  # the earlier figures stay
    assert intake(world, day).status == ListeningStatus.REJECTED
    put(world, export_file_name(other_day), gzip.compress(b'{"impression_id": 1, "campaign": "x"}\n' * 20))  # wrong shape
    put(world, export_file_name(date(2026, 11, 16)), day_file(date(2026, 11, 16), {"mep-3": 3, "mep-unknown": 2}))
    letters = {(d.error_code, d.reason.split(":")[1].strip()) for d in dead_letters(world)}
    assert letters == {("export_file_corrupt", export_file_name(day)), ("export_schema_mismatch", export_file_name(other_day))}
    assert all(d.dead_lettered_by == "handler" and d.receive_count == 1 for d in dead_letters(world))  # at once: no retry helps
    assert [f.code for f in intake(world, other_day).findings] == ["export_schema_mismatch"]
    assert stored_downloads(world, date(2026, 11, 16))[0] == {"mep-3": 3}  # the unknown episode is left out ...
    entry = intake(world, date(2026, 11, 16))
    assert [(f.code, f.entity) for f in entry.findings] == [("unknown_episode", "megaphone-episode:mep-unknown")]  # ... and reported
    assert entry.status == ListeningStatus.INGESTED


def test_no_call_outside_the_declared_grants(world: SandboxWorld) -> None:
    assert [d.message for d in world.runtime.access.denials] == []
