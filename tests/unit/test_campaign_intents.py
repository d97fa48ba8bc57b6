"""Exactly once in effect, the planner's rule for every Ads API create and update: an intent in the ledger
before a create, a look-up by name after an unfinished or ambiguous one, and a read before re-sending
an ambiguous update — never a blind retry."""

from __future__ import annotations

from typing import Any

import pytest

from functions.connectors.errors import AmbiguousWrite
from functions.flows.campaign_planner.intents import create_once, shows, update_checked
from functions.state.keys import campaign_key
from functions.state.ledger import LedgerEntry, new_entry
from functions.state.targets import SPOTIFY_ADS


class RecordingLedger:
    """Stands where SyncLedger saves: keeps what each save wrote."""

    def __init__(self) -> None:
        self.saved: list[str | None] = []

    def save(self, entry: LedgerEntry[Any]) -> LedgerEntry[Any]:
        self.saved.append(entry.pending_create)
        return entry


class Api:
    def __init__(self, *answers: object, found: object = None):
        self.answers = list(answers)
        self.found = found
        self.creates = 0
        self.look_ups = 0

    def create(self) -> object:
        self.creates += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def look_up(self) -> object:
        self.look_ups += 1
        return self.found


def entry() -> LedgerEntry[Any]:
    return new_entry(campaign_key(3501, "pre_order"), SPOTIFY_ADS)


def test_the_intent_is_saved_before_the_create_and_cleared_with_its_answer() -> None:
    ledger, api, made = RecordingLedger(), Api("draft-1"), entry()
    assert create_once(made, ledger, "draft_campaign", api.create, api.look_up) == "draft-1"  # type: ignore[arg-type]
    assert ledger.saved == ["draft_campaign"] and made.pending_create is None and (api.creates, api.look_ups) == (1, 0)


def test_an_unfinished_create_is_looked_up_before_anything_is_created_again() -> None:
    ledger, api, made = RecordingLedger(), Api(found="draft-1"), entry()
    made.pending_create = "draft_campaign"  # a crash after the create, before its answer was recorded
    assert create_once(made, ledger, "draft_campaign", api.create, api.look_up) == "draft-1"  # type: ignore[arg-type]
    assert (api.creates, api.look_ups) == (0, 1) and made.pending_create is None and "adopted" in [h.action for h in made.history]


def test_an_ambiguous_answer_is_followed_by_a_look_up_and_a_create_only_when_nothing_is_there() -> None:
    ledger, api, made = RecordingLedger(), Api(AmbiguousWrite("spotify-ads", "timed out"), found="draft-1"), entry()
    assert create_once(made, ledger, "draft_campaign", api.create, api.look_up) == "draft-1"  # type: ignore[arg-type]
    assert (api.creates, api.look_ups) == (1, 1)
    ledger, api, made = RecordingLedger(), Api(AmbiguousWrite("spotify-ads", "timed out"), "draft-2"), entry()
    assert create_once(made, ledger, "draft_campaign", api.create, api.look_up) == "draft-2"  # type: ignore[arg-type]
    assert (api.creates, api.look_ups) == (2, 1)


def test_a_second_ambiguous_answer_leaves_the_intent_for_the_next_attempt() -> None:
    ledger, made = RecordingLedger(), entry()
    api = Api(AmbiguousWrite("spotify-ads", "timed out"), AmbiguousWrite("spotify-ads", "timed out"))
    with pytest.raises(AmbiguousWrite):
        create_once(made, ledger, "draft_campaign", api.create, api.look_up)  # type: ignore[arg-type]
    assert made.pending_create == "draft_campaign"  # saved before the first create: the retry looks up first


def test_an_ambiguous_update_is_sent_again_only_when_the_entity_does_not_show_it() -> None:
    sent = {"name": "x", "budget": {"micro_amount": 5, "type": "LIFETIME"}}
    calls: list[str] = []

    def update() -> None:
        calls.append("patch")
        if len(calls) == 1:
            raise AmbiguousWrite("spotify-ads", "timed out")

    update_checked(update, lambda: {"id": "1", "name": "x", "budget": {"micro_amount": 5, "type": "LIFETIME", "currency": "GBP"}}, sent)
    assert calls == ["patch"]
    calls.clear()
    update_checked(update, lambda: {"id": "1", "name": "old"}, sent)
    assert calls == ["patch", "patch"]
    assert shows({"a": [1, 2], "b": {"c": 1, "d": 2}}, {"b": {"c": 1}}) and not shows({"a": 1}, {"a": 2})
