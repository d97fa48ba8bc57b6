"""The one write-back service: internal notes (and links) against the Consonance simulator, with the
ledger in moto. A note is written once, rewritten in place only when it changes, kept out of ONIX
(no variant, a not-for-publication external text), and a create whose answer was lost is found again
by its marker instead of being written twice."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

from functions.connectors.consonance import ConsonanceClient
from functions.connectors.http import HttpService, RetryPolicy, clear_routes, route_host
from functions.consonance_writes import NOT_FOR_PUBLICATION, ConsonanceWriteback, InternalNote
from functions.state.keys import campaign_key, work_key
from functions.state.ledger import SyncLedger
from functions.state.targets import CONSONANCE_WRITEBACK
from infra.tables import TABLES
from sandbox.catalogue import ApiKey, load_catalogue
from sandbox.clock import VirtualClock
from sandbox.resources import _create_table
from sandbox.simulators.consonance import ConsonanceSimulator

KEY = secrets.token_urlsafe(16)
WORK = 3001  # a work of the sample catalogue
_tables = itertools.count()


@dataclass
class Setup:
    simulator: ConsonanceSimulator
    service: ConsonanceWriteback
    ledger: SyncLedger


@pytest.fixture
def clock_start() -> datetime:
    return datetime(2026, 12, 1, tzinfo=timezone.utc)


@pytest.fixture
def setup(aws: None, clock: VirtualClock) -> Iterator[Setup]:
    catalogue = load_catalogue()
    simulator = ConsonanceSimulator(clock, catalogue, requests_per_minute=None, api_keys=[ApiKey(key=KEY, access="read_write")])
    route_host("notes.consonance.test", simulator)
    http = HttpService(
        service="consonance",
        base_url="https://notes.consonance.test/graphql",
        auth_headers=lambda: {"Authorization": f"Bearer {KEY}"},
        retry=RetryPolicy(max_attempts=2, backoff_initial_seconds=0.1),
    )
    ledger = SyncLedger(_create_table(next(s for s in TABLES if s.table.value == "ledger"), f"notes-{next(_tables)}"))
    yield Setup(simulator, ConsonanceWriteback(ConsonanceClient(http), ledger), ledger)
    clear_routes()


def note(markdown: str, purpose: str = "campaign-brief") -> InternalNote:
    return InternalNote(key=campaign_key(WORK, "publication"), purpose=purpose, work_id=WORK, markdown=markdown)


def test_a_note_is_created_once_on_the_work_as_an_internal_text(setup: Setup) -> None:
    assert setup.service.write_internal_notes([note("# Brief\n\nBudget 500")]) == [None]
    [written] = setup.simulator.notes_written
    assert written.operation == "createMarketingText" and written.work_id == WORK
    [text] = [t for t in setup.simulator.catalogue.marketing_texts if t.id == written.text_id]
    assert text.internal_markdown.startswith("<!-- consonance-spotify note: campaign#3001:publication campaign-brief -->")
    assert "Budget 500" in text.internal_markdown and text.external_markdown == NOT_FOR_PUBLICATION and text.variant is None

    assert setup.service.write_internal_notes([note("# Brief\n\nBudget 500")]) == [None]  # unchanged: nothing written
    assert len(setup.simulator.notes_written) == 1


def test_a_changed_note_is_updated_in_place(setup: Setup) -> None:
    setup.service.write_internal_notes([note("Budget 500")])
    setup.service.write_internal_notes([note("Budget 750")])
    first, second = setup.simulator.notes_written
    assert second.operation == "updateMarketingText" and second.text_id == first.text_id
    assert [t.internal_markdown.count("Budget 750") for t in setup.simulator.catalogue.marketing_texts if t.work_id == WORK] == [1]


def test_recreate_writes_a_new_text_where_consonance_has_no_update(setup: Setup) -> None:
    setup.service.note_updates = "recreate"
    setup.service.write_internal_notes([note("Budget 500")])
    setup.service.write_internal_notes([note("Budget 750")])
    assert [w.operation for w in setup.simulator.notes_written] == ["createMarketingText", "createMarketingText"]


def test_a_create_whose_answer_was_lost_is_adopted_not_written_twice(setup: Setup) -> None:
    setup.service.write_internal_notes([note("Budget 500")])
    entry = setup.ledger.get(campaign_key(WORK, "publication"), CONSONANCE_WRITEBACK)
    assert entry is not None
    text_id = entry.state.texts["campaign-brief"].text_id
    entry.state.texts["campaign-brief"] = entry.state.texts["campaign-brief"].model_copy(update={"text_id": None, "pending": True})
    setup.ledger.save(entry)  # as if Consonance applied the create and its answer never arrived

    assert setup.service.write_internal_notes([note("Budget 500")]) == [None]

    assert len(setup.simulator.notes_written) == 1  # found by its marker: not created again
    again = setup.ledger.get(campaign_key(WORK, "publication"), CONSONANCE_WRITEBACK)
    assert again is not None and again.state.texts["campaign-brief"].text_id == text_id and not again.state.texts["campaign-brief"].pending


def test_notes_of_several_entities_go_out_in_one_request(setup: Setup) -> None:
    notes = [note("A"), InternalNote(key=work_key(WORK), purpose="analytics-summary", work_id=WORK, markdown="B")]
    before = setup.simulator.requests_served
    assert setup.service.write_internal_notes(notes) == [None, None]
    # one read (no text id known yet: look before creating) and one batched mutation
    assert setup.simulator.requests_served - before == 2
    assert len(setup.simulator.notes_written) == 2


def test_a_rejected_note_is_a_permanent_error_for_that_note_only(setup: Setup) -> None:
    bad = InternalNote(key=work_key(999999), purpose="analytics-summary", work_id=999999, markdown="x")
    outcomes = setup.service.write_internal_notes([note("fine"), bad])
    assert outcomes[0] is None
    assert outcomes[1] is not None and "workId: not found" in str(outcomes[1])
