"""The reconciler's comparisons, on ledger entries built here (no AWS): what counts as out of step,
which remedy each gets, what is left to other sweeps, and the pause between two re-emissions."""

from __future__ import annotations

from itertools import pairwise
from datetime import date, datetime, timedelta, timezone
from typing import Any

from functions.domain.events import EpisodeDelivered, EpisodeReevaluationDue, MilestoneReached
from functions.domain.marketing import MarketedTitle, MilestoneWindow
from functions.domain.models import Episode, EpisodeKind, Show
from functions.flows.reconciler.logic import (
    COMPARED,
    Kind,
    OutOfStep,
    campaigns_out_of_step,
    due_remedies,
    publisher_out_of_step,
    write_back_out_of_step,
)
from functions.state.keys import campaign_key, episode_key
from functions.state.ledger import EntryView, LedgerEntry, new_entry
from functions.state.targets import (
    CONSONANCE_WRITEBACK,
    EPISODE_SOURCE,
    MEGAPHONE,
    MILESTONE,
    SPOTIFY_ADS,
    CampaignStatus,
    LedgerStatus,
    MilestoneStatus,
    WrittenLink,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
Entries = dict[tuple[str, str], EntryView[Any]]
VIEWS = {view.target.name: view for view in COMPARED}


def source(product_id: int, source_hash: str = "h1") -> LedgerEntry[Any]:
    entry = new_entry(episode_key(product_id), EPISODE_SOURCE)
    entry.source_hash = source_hash
    entry.state.episode = Episode(product_id=product_id, kind=EpisodeKind.SERIALIZED_FICTION, title=f"Part {product_id}", show=Show(series_id=9, name="Nine"))
    return entry


def target(product_id: int, *, evaluated: str | None = "h1", status: LedgerStatus = LedgerStatus.DELIVERED, updated: datetime = NOW - 3 * HOUR) -> LedgerEntry[Any]:
    entry = new_entry(episode_key(product_id), MEGAPHONE)
    entry.status = status
    entry.state.evaluated_source_hash = evaluated
    entry.state.podcast_id, entry.state.episode_id, entry.state.spotify_id = "pod", f"ep{product_id}", f"sp{product_id}"
    entry.state.draft = status is not LedgerStatus.DELIVERED
    entry.pushed_hash = "pushed"
    entry.updated_at = updated
    return entry


def link(product_id: int, status: str, *, pending: bool = False) -> LedgerEntry[Any]:
    entry = new_entry(episode_key(product_id), CONSONANCE_WRITEBACK)
    entry.state.links["spotify"] = WrittenLink(link_id=None if pending else 5, url="https://open.spotify.com/episode/x", status=status, pending=pending)
    return entry


def entries(*items: LedgerEntry[Any]) -> Entries:
    """As the reconciler reads them from the ledger: each entry's view (`COMPARED`)."""
    return {(entry.entity, entry.target): VIEWS[entry.target].of(entry) for entry in items}


def kinds(found: list[OutOfStep]) -> dict[int, str]:
    return {item.key.number: item.kind for item in found}


# ------------------------------------------------------------------------------------------- publisher
def test_an_episode_the_publisher_never_saw_or_saw_at_an_older_source_is_handed_back() -> None:
    found = publisher_out_of_step(entries(source(1), source(2, "h2"), target(2, evaluated="h1"), source(3), target(3)), NOW, HOUR)
    assert kinds(found) == {1: Kind.NEVER_EVALUATED, 2: Kind.SOURCE_NOT_EVALUATED}
    assert all(isinstance(item.remedy, EpisodeReevaluationDue) and item.remedy.reason.startswith("reconcile: ") for item in found)


def test_a_create_intent_is_stuck_only_after_the_pause() -> None:
    fresh, stale = target(1, updated=NOW - timedelta(minutes=20)), target(2, updated=NOW - 2 * HOUR)
    for entry in (fresh, stale):
        entry.pending_create = "hash"
        entry.state.episode_id = None
    found = publisher_out_of_step(entries(source(1), fresh, source(2), stale), NOW, HOUR)
    assert kinds(found) == {2: Kind.CREATE_STUCK}


def test_a_product_consonance_could_not_map_is_not_handed_to_the_publisher() -> None:
    unmapped = source(1)
    unmapped.state.episode = None
    assert publisher_out_of_step(entries(unmapped), NOW, HOUR) == []


def test_a_draft_past_its_release_date_is_left_to_the_release_sweep() -> None:
    draft = target(1, status=LedgerStatus.DRAFT)
    draft.state.release_date = NOW.date() - timedelta(days=1)
    assert publisher_out_of_step(entries(source(1), draft), NOW, HOUR) == []


# ------------------------------------------------------------------------------------------ write-back
def test_a_delivery_with_no_link_or_a_pending_one_is_announced_again() -> None:
    found = write_back_out_of_step(entries(target(1), target(2), link(2, "live", pending=True), target(3), link(3, "live")))
    assert kinds(found) == {1: Kind.NOT_WRITTEN_BACK, 2: Kind.NOT_WRITTEN_BACK}
    remedy = found[0].remedy
    assert isinstance(remedy, EpisodeDelivered)
    assert (remedy.product_id, remedy.status, remedy.spotify_id, remedy.megaphone_episode_id) == (1, "live", "sp1", "ep1")


def test_a_withdrawal_the_link_never_showed_is_announced_again() -> None:
    found = write_back_out_of_step(entries(target(1, status=LedgerStatus.WITHDRAWN), link(1, "live")))
    assert [(item.key.number, item.remedy.status) for item in found] == [(1, "withdrawn")]  # type: ignore[attr-defined]


def test_a_status_another_flow_put_on_the_link_is_left_alone() -> None:
    found = write_back_out_of_step(
        entries(target(1), link(1, "taken down in AU"), target(2), link(2, "not playable on Spotify"), target(3), link(3, "update held: see the distribution note"))
    )
    assert found == []


def test_nothing_is_written_back_before_spotify_knows_the_episode_or_while_it_is_being_withdrawn() -> None:
    unknown, withdrawing, draft = target(1), target(2), target(3, status=LedgerStatus.DRAFT)
    unknown.state.spotify_id = None
    withdrawing.state.withdraw_pending = True
    assert write_back_out_of_step(entries(unknown, withdrawing, draft)) == []


# ------------------------------------------------------------------------------------------- campaigns
def milestone(work_id: int, revision: int, *, status: MilestoneStatus = MilestoneStatus.REACHED, updated: datetime = NOW - 3 * HOUR) -> LedgerEntry[Any]:
    entry = new_entry(campaign_key(work_id, "publication"), MILESTONE)
    entry.status = status
    state = entry.state
    state.title = MarketedTitle(work_id=work_id, title=f"Title {work_id}", lead_product_id=work_id * 10)
    state.window = MilestoneWindow(opens_on=date(2026, 11, 30), reason="published")
    state.revision, state.announced_hash, state.reached_on = revision, f"a{revision}", date(2026, 11, 30)
    entry.updated_at = updated
    return entry


def campaign(work_id: int, revision: int, status: CampaignStatus = CampaignStatus.VALIDATED, updated: datetime = NOW - 3 * HOUR) -> LedgerEntry[Any]:
    entry = new_entry(campaign_key(work_id, "publication"), SPOTIFY_ADS)
    entry.status = status
    entry.state.revision = revision
    entry.updated_at = updated
    return entry


def test_a_milestone_the_planner_never_applied_is_announced_again() -> None:
    found = campaigns_out_of_step(entries(milestone(1, 1), milestone(2, 3), campaign(2, 2), milestone(3, 1), campaign(3, 1)), NOW, HOUR)
    assert {item.key.id: item.kind for item in found} == {"1:publication": Kind.CAMPAIGN_NOT_APPLIED, "2:publication": Kind.CAMPAIGN_NOT_APPLIED}
    again = found[1].remedy
    assert isinstance(again, MilestoneReached) and (again.revision, again.content_hash, again.change) == (3, "a3", "updated")


def test_a_campaign_is_not_chased_while_its_announcement_may_still_be_queued_or_when_cancelled_unplanned() -> None:
    recent = milestone(1, 1, updated=NOW - timedelta(minutes=10))
    cancelled = milestone(2, 2, status=MilestoneStatus.CANCELLED)
    assert campaigns_out_of_step(entries(recent, cancelled), NOW, HOUR) == []


def test_a_campaign_left_mid_way_is_announced_again_after_the_pause() -> None:
    stuck = campaign(1, 1, CampaignStatus.DRAFTING)
    moving = campaign(2, 1, CampaignStatus.DRAFTING, updated=NOW - timedelta(minutes=5))
    found = campaigns_out_of_step(entries(milestone(1, 1), stuck, milestone(2, 1), moving), NOW, HOUR)
    assert [(item.key.id, item.kind) for item in found] == [("1:publication", Kind.CAMPAIGN_STUCK)]


# ---------------------------------------------------------------------------------------------- pauses
def out_of_step(product_id: int, kind: str = Kind.CREATE_STUCK) -> OutOfStep:
    return OutOfStep(episode_key(product_id), kind, EpisodeReevaluationDue(product_id=product_id, reason=kind, due_at=NOW))


def test_a_remedy_goes_out_at_once_then_after_a_doubling_pause_up_to_the_cap() -> None:
    paused: dict[str, Any] = {}
    emitted_at: list[datetime] = []
    moment = NOW
    while moment < NOW + timedelta(days=4):
        due, paused = due_remedies([out_of_step(1)], paused, moment, HOUR, timedelta(days=1))
        if due:
            emitted_at.append(moment)
        moment += HOUR
    gaps = [(later - earlier) / HOUR for earlier, later in pairwise(emitted_at)]
    assert gaps[:5] == [1, 2, 4, 8, 16] and set(gaps[5:]) == {24}


def test_one_remedy_per_entity_and_event_and_pauses_of_healed_things_are_forgotten() -> None:
    due, paused = due_remedies([out_of_step(1, Kind.ORPHAN_ON_MEGAPHONE), out_of_step(1), out_of_step(2)], {}, NOW, HOUR, timedelta(days=1))
    assert [event.product_id for event in due] == [1, 2]  # type: ignore[attr-defined]
    due, paused = due_remedies([out_of_step(2)], paused, NOW + timedelta(minutes=30), HOUR, timedelta(days=1))
    assert due == [] and set(paused) == {"episode#2|EpisodeReevaluationDue"}
    due, _ = due_remedies([out_of_step(1)], paused, NOW + timedelta(minutes=31), HOUR, timedelta(days=1))
    assert [event.product_id for event in due] == [1]  # healed in between: a new problem goes out at once  # type: ignore[attr-defined]
