"""Ledger views: what an hourly sweep reads of many entries — each entry's common scalars and the
state fields it names, projected by DynamoDB (no history, findings or other state crosses the wire) —
equal to the same view of the entry as saved, for items in today's layout and for items written
before typed state; and a view that names a field its target's state does not have, or with another
type or default, is refused when it is declared. A view of scalar state fields only reads the
entry's summary (those fields again, saved beside the state) and never receives the state; an item
saved before summaries existed is read again whole, and gives the same view."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest

from functions.domain.models import Credit, Episode, EpisodeKind, Finding, Show
from functions.state.keys import EntityKind, episode_key, parse_entity_key, work_key
from functions.state.ledger import SUMMARY, EntryView, LedgerEntry, StatePart, SyncLedger, TargetView, new_entry, summary_fields
from functions.state.targets import CONSONANCE_WRITEBACK, EPISODE_SOURCE, LICENCE, MEGAPHONE, LedgerStatus, WritebackState, WrittenLink
from infra.tables import TABLES
from sandbox.resources import _create_table
from tests.botocore_events import session_events

LEGACY_ITEMS = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_ledger_items.json"
_tables = itertools.count(1)


class ShowPart(StatePart):
    series_id: int


class EpisodePart(StatePart):
    show: ShowPart | None = None
    release_date: date | None = None


class SourcePart(StatePart):
    episode: EpisodePart | None = None


class DeliveryPart(StatePart):
    spotify_id: str | None = None
    evaluated_source_hash: str | None = None
    withdraw_pending: bool = False


SOURCES = TargetView(EPISODE_SOURCE, SourcePart)
DELIVERIES = TargetView(MEGAPHONE, DeliveryPart)
EPISODE_LINKS = TargetView(CONSONANCE_WRITEBACK, WritebackState, kinds=frozenset({EntityKind.EPISODE}))


@pytest.fixture
def ledger(aws: None) -> SyncLedger:
    spec = next(s for s in TABLES if s.table.value == "ledger")
    return SyncLedger(_create_table(spec, f"views-ledger-{next(_tables)}"))


@pytest.fixture
def scanned_items() -> Iterator[list[dict[str, Any]]]:
    """The items of every Scan answer from here on, as botocore parsed them."""
    items: list[dict[str, Any]] = []

    def keep(parsed: dict[str, Any], **_: Any) -> None:
        items.extend(parsed.get("Items", []))

    with session_events({"after-call.dynamodb.Scan": keep}):
        yield items


def saved(ledger: SyncLedger, entry: LedgerEntry[Any]) -> LedgerEntry[Any]:
    entry.record("written", "by the test")
    entry.findings = [Finding(code="x", entity=entry.entity, message="a finding", flow="test")]
    return ledger.save(entry)


def episode_source(ledger: SyncLedger, product_id: int, *, show: bool = True) -> LedgerEntry[Any]:
    entry = new_entry(episode_key(product_id), EPISODE_SOURCE)
    entry.source_hash = f"h{product_id}"
    entry.state.episode = Episode(
        product_id=product_id,
        kind=EpisodeKind.SERIALIZED_FICTION,
        title=f"Part {product_id}",
        summary="A long description " * 40,
        show=Show(series_id=9, name="Nine") if show else None,
        release_date=date(2026, 12, product_id),
        credits=(Credit(contributor_id=5, name="A. Author", role_code="A01", sequence=1),),
    )
    return saved(ledger, entry)


def delivery(ledger: SyncLedger, product_id: int) -> LedgerEntry[Any]:
    entry = new_entry(episode_key(product_id), MEGAPHONE)
    entry.set_status(LedgerStatus.DELIVERED, "live")
    entry.pushed_hash, entry.pending_create = "pushed", None
    entry.state.spotify_id, entry.state.evaluated_source_hash, entry.state.pushed_fields = f"sp{product_id}", f"h{product_id}", {"title": "x" * 500}
    return saved(ledger, entry)


def link(ledger: SyncLedger, key: Any) -> LedgerEntry[Any]:
    entry = new_entry(key, CONSONANCE_WRITEBACK)
    entry.state.links["spotify"] = WrittenLink(link_id=3, url="https://open.spotify.com/episode/x", status="Live")
    return saved(ledger, entry)


def test_a_scan_gives_each_entry_of_the_views_targets_as_its_view_and_nothing_else(ledger: SyncLedger, scanned_items: list[dict[str, Any]]) -> None:
    sources = [episode_source(ledger, 1), episode_source(ledger, 2, show=False)]
    deliveries = [delivery(ledger, 1)]
    links = [link(ledger, episode_key(1))]
    link(ledger, work_key(7))  # a work's write-back: not of the kinds viewed
    saved(ledger, new_entry(episode_key(3), EPISODE_SOURCE))  # a source Consonance's record gave no episode for
    read = {(view.entity, view.target): view for view in ledger.scan_views(SOURCES, DELIVERIES, EPISODE_LINKS)}

    expected = [SOURCES.of(e) for e in sources] + [DELIVERIES.of(e) for e in deliveries] + [EPISODE_LINKS.of(e) for e in links]
    assert {key: read[key] for key in [(e.entity, e.target) for e in expected]} == {(e.entity, e.target): e for e in expected}
    assert set(read) == {(e.entity, e.target) for e in expected} | {("episode#3", "consonance")}
    assert read[("episode#1", "consonance")].state.episode == EpisodePart(show=ShowPart(series_id=9), release_date=date(2026, 12, 1))
    assert read[("episode#2", "consonance")].state.episode == EpisodePart(release_date=date(2026, 12, 2))
    assert read[("episode#3", "consonance")].state.episode is None
    delivered = read[("episode#1", "megaphone")]
    assert isinstance(delivered, EntryView) and delivered.status is LedgerStatus.DELIVERED and delivered.version == 1
    assert delivered.updated_at == deliveries[0].updated_at and delivered.pushed_hash == "pushed"
    # what crossed the wire: the scalars (the status reason among them) and the state or summary, never the history or findings
    assert scanned_items and all(not {"history", "findings", "status_key"} & set(item) for item in scanned_items)
    # the deliveries' view names scalars only: their summaries crossed, not their states (pushed fields)
    megaphone_items = [item for item in scanned_items if item["sk"]["S"] == "megaphone"]
    assert megaphone_items and all(SUMMARY in item and "state" not in item for item in megaphone_items)
    assert all("state" in item and SUMMARY not in item for item in scanned_items if item["sk"]["S"] != "megaphone")


def test_the_summary_holds_the_states_scalar_fields_and_views_of_those_alone_read_it() -> None:
    assert {"podcast_id", "episode_id", "spotify_id", "draft", "withdraw_pending", "release_date"} <= summary_fields(MEGAPHONE.state)
    assert not {"pushed_fields", "preflight", "takedown_places"} & summary_fields(MEGAPHONE.state)  # a dict, a model, a list of strings
    assert "allowed_channels" in summary_fields(LICENCE.state) and not {"asset", "episode", "transitions"} & summary_fields(LICENCE.state)
    assert summary_fields(EPISODE_SOURCE.state) == {"rights_hash", "mapped", "series_id"}  # two computed from the episode
    assert DELIVERIES.summarised and not SOURCES.summarised and not EPISODE_LINKS.summarised


def test_an_item_saved_before_summaries_gives_the_same_view_by_scan_by_status_and_by_key(ledger: SyncLedger) -> None:
    client = boto3.client("dynamodb")
    deliveries = [delivery(ledger, 1), delivery(ledger, 2)]
    older = {"pk": {"S": "episode#2"}, "sk": {"S": "megaphone"}}
    client.update_item(TableName=ledger.table_name, Key=older, UpdateExpression="REMOVE #s", ExpressionAttributeNames={"#s": SUMMARY})
    assert SUMMARY not in client.get_item(TableName=ledger.table_name, Key=older)["Item"]
    expected = [DELIVERIES.of(e) for e in deliveries]

    assert sorted(ledger.scan_views(DELIVERIES), key=lambda v: v.entity) == expected
    assert sorted(ledger.views_by_status(DELIVERIES, LedgerStatus.DELIVERED), key=lambda v: v.entity) == expected
    assert ledger.get_views([episode_key(1), episode_key(2)], DELIVERIES) == {episode_key(1): expected[0], episode_key(2): expected[1]}


def test_a_batch_of_views_reading_summaries_and_states_reads_each_with_its_own_projection(ledger: SyncLedger) -> None:
    deliveries = [delivery(ledger, 1)]
    sources = [episode_source(ledger, 1)]
    read = ledger.get_view_items([(episode_key(1), DELIVERIES), (episode_key(1), SOURCES), (episode_key(5), DELIVERIES)])
    assert sorted(read, key=lambda v: v.target) == [SOURCES.of(sources[0]), DELIVERIES.of(deliveries[0])]


def test_views_by_status_and_by_key_are_the_entries_views(ledger: SyncLedger) -> None:
    deliveries = [delivery(ledger, 1), delivery(ledger, 2)]
    seen = saved(ledger, new_entry(episode_key(3), MEGAPHONE))
    sources = [episode_source(ledger, 1), episode_source(ledger, 2)]

    assert sorted(ledger.views_by_status(DELIVERIES, LedgerStatus.DELIVERED), key=lambda v: v.entity) == [DELIVERIES.of(e) for e in deliveries]
    assert ledger.views_by_status(DELIVERIES, LedgerStatus.SEEN) == [DELIVERIES.of(seen)]
    by_key = ledger.get_views([episode_key(2), episode_key(1), episode_key(4), episode_key(1)], SOURCES)
    assert by_key == {episode_key(1): SOURCES.of(sources[0]), episode_key(2): SOURCES.of(sources[1])}


def test_items_written_before_typed_state_give_the_view_of_their_migrated_entry(ledger: SyncLedger) -> None:
    client = boto3.client("dynamodb")
    items = json.loads(LEGACY_ITEMS.read_text())
    for item in items:
        client.put_item(TableName=ledger.table_name, Item=item)
    views = {(view.entity, view.target): view for view in ledger.scan_views(SOURCES, DELIVERIES)}
    assert views
    for (entity, target), view in views.items():
        spec = EPISODE_SOURCE if target == EPISODE_SOURCE.name else MEGAPHONE
        entry = ledger.get(parse_entity_key(entity), spec)
        assert entry is not None
        assert view == (SOURCES if spec is EPISODE_SOURCE else DELIVERIES).of(entry)


@pytest.mark.parametrize(
    ("part", "wrong"),
    [
        ({"spotify_ids": (str | None, None)}, "is not a field of MegaphoneState"),
        ({"spotify_id": (str, ...)}, "must have MegaphoneState.spotify_id's type and default"),
        ({"withdraw_pending": (bool, True)}, "must have MegaphoneState.withdraw_pending's type and default"),
    ],
)
def test_a_view_that_drifts_from_its_targets_state_is_refused_when_declared(part: dict[str, Any], wrong: str) -> None:
    from pydantic import create_model

    model = create_model("Drifted", __base__=StatePart, **part)
    with pytest.raises(TypeError, match=wrong):
        TargetView(MEGAPHONE, model)


def test_a_nested_part_is_checked_against_the_model_it_is_part_of() -> None:
    class BadShow(StatePart):
        series_id: str

    class BadEpisode(StatePart):
        show: BadShow | None = None

    class BadSource(StatePart):
        episode: BadEpisode | None = None

    with pytest.raises(TypeError, match="BadShow.series_id must have Show.series_id's type"):
        TargetView(EPISODE_SOURCE, BadSource)


class SourceFacts(StatePart):
    mapped: bool = False
    series_id: int | None = None


FACTS = TargetView(EPISODE_SOURCE, SourceFacts)


def test_a_view_of_computed_fields_reads_them_from_the_summary_or_computes_them_for_an_older_state(ledger: SyncLedger) -> None:
    client = boto3.client("dynamodb")
    episode_source(ledger, 1)
    episode_source(ledger, 2, show=False)
    saved(ledger, new_entry(episode_key(3), EPISODE_SOURCE))  # not mapped
    older = client.get_item(TableName=ledger.table_name, Key={"pk": {"S": "episode#1"}, "sk": {"S": "consonance"}})["Item"]
    state = json.loads(older["state"]["S"])
    assert state.pop("mapped") is True and state.pop("series_id") == 9  # what a save now writes
    del older[SUMMARY]
    older["state"] = {"S": json.dumps(state)}  # as a save before the computed fields wrote it
    client.put_item(TableName=ledger.table_name, Item=older)

    assert FACTS.summarised
    expected = {"episode#1": SourceFacts(mapped=True, series_id=9), "episode#2": SourceFacts(mapped=True), "episode#3": SourceFacts()}
    assert {view.entity: view.state for view in ledger.scan_views(FACTS)} == expected
    assert {str(key): view.state for key, view in ledger.get_views([episode_key(n) for n in (1, 2, 3)], FACTS).items()} == expected


def test_a_summary_saved_before_a_computed_field_existed_gives_way_to_the_state(ledger: SyncLedger) -> None:
    client = boto3.client("dynamodb")
    episode_source(ledger, 1)
    older = client.get_item(TableName=ledger.table_name, Key={"pk": {"S": "episode#1"}, "sk": {"S": "consonance"}})["Item"]
    summary = json.loads(older[SUMMARY]["S"])
    assert summary.pop("series_id") == 9  # as a save wrote it before `series_id` was computed
    older[SUMMARY] = {"S": json.dumps(summary, separators=(",", ":"))}
    client.put_item(TableName=ledger.table_name, Item=older)

    expected = {"episode#1": SourceFacts(mapped=True, series_id=9)}  # from the state, not the field's default
    assert {view.entity: view.state for view in ledger.scan_views(FACTS)} == expected
    assert {str(key): view.state for key, view in ledger.get_views([episode_key(1)], FACTS).items()} == expected
