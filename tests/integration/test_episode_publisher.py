"""The episode publisher, the ingest checker, the write-back and the release sweep on moto and the
simulators, driven through the local runtime (real queues, real EventBridge rules).

One world for the module; the tests run in order and each says at which virtual moment it acts:
first poll and publish (00:00), ingest checked (00:02), an unchanged re-delivery, a title change
(~01:00), lost create responses (~02:00), and the release day of a draft (day 1, 00:00).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta, timezone

import pytest

from functions.domain.events import EpisodeChanged
from functions.flows.megaphone_projection import pubdate
from functions.state.idempotency import IdempotencyStore
from functions.state.targets import LedgerStatus
from infra.flows import Table
from sandbox.simulators.megaphone import FaultFor, ScriptedFaults
from sandbox.world import SandboxWorld
from tests.integration.harness import (
    EventTap,
    bus_envelope,
    ledger_versions,
    megaphone_episode,
    megaphone_writes,
    of_type,
    open_world,
    scheduled_event,
    source_entry,
    sqs_event,
    target_entry,
    written_link,
    write_backs_for,
)
from tests.integration.small_catalogue import AUTHOR, NARRATOR, START, SmallCatalogue, artwork_url, audio_url

SERIAL, INTERVIEWS = 1, 2
LIVE, SECOND, DRAFT = 101, 102, 103  # released parts 1 and 2; part 3 releases tomorrow
LOST_AFTER_WRITE, LOST_BEFORE_WRITE = 201, 202  # approved later; their creates lose the answer


def catalogue():  # noqa: ANN201 (a Catalogue)
    made = SmallCatalogue()
    made.show(SERIAL, "The Salt Road")
    made.show(INTERVIEWS, "Conversations", kind="author_interview")
    made.episode(LIVE, SERIAL, "1", "The Harbour at Dusk", START - timedelta(days=20))
    made.episode(SECOND, SERIAL, "2", "Ropes and Reckonings", START - timedelta(days=10))
    made.episode(DRAFT, SERIAL, "3", "A Letter from Esk", START + timedelta(days=1))
    for part, product_id in enumerate((LOST_AFTER_WRITE, LOST_BEFORE_WRITE), start=1):
        made.episode(product_id, INTERVIEWS, str(part), f"Interview {part}", START - timedelta(days=30 - part), publishing_status=None)
    return made.build()


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(START + timedelta(days=day), time(hour, minute), tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def world() -> Iterator[SandboxWorld]:
    with open_world(catalogue()) as opened:
        yield opened


@pytest.fixture(scope="module")
def tap(world: SandboxWorld) -> EventTap:
    return EventTap(world)


def run_until(world: SandboxWorld, moment: datetime) -> None:
    world.runtime.run_until(moment)


def poll_now(world: SandboxWorld) -> None:
    world.runtime.invoke("consonance-poller", scheduled_event(world, "consonance-poller"))


def approve(world: SandboxWorld, product_id: int) -> None:
    product = next(p for p in world.consonance.catalogue.products if p.id == product_id)
    product.publishing_status = "04"
    product.changed_on = world.clock.now().date()


def test_approved_episode_is_created_with_its_fields_and_awaits_ingest(world: SandboxWorld, tap: EventTap) -> None:
    poll_now(world)  # 00:00
    world.runtime.drain()

    episode = megaphone_episode(world, LIVE)
    assert episode is not None
    assert episode["podcastId"] == f"mp-{SERIAL}"
    assert {name: episode[name] for name in ("externalId", "title", "subtitle", "author", "draft", "seasonNumber", "episodeNumber")} == {
        "externalId": str(LIVE),
        "title": "The Harbour at Dusk",
        "subtitle": "Part 1",
        "author": AUTHOR.name,
        "draft": False,
        "seasonNumber": 1,
        "episodeNumber": 1,
    }
    assert episode["summary"] == (
        f"<p>Episode 1 of <em>The Harbour at Dusk</em>.</p>\n\nWritten by {AUTHOR.name}. Read by {NARRATOR.name}."
    )
    assert episode["pubdate"] == (START - timedelta(days=20)).isoformat() + "T00:00:00.000Z"
    assert episode["backgroundAudioFileUrl"] == audio_url(LIVE)
    assert episode["backgroundImageFileUrl"] == artwork_url(SERIAL)
    assert episode["audioFileProcessing"] is True and episode["spotifyIdentifier"] is None

    entry = target_entry(world, LIVE)
    assert entry is not None
    assert entry.status is LedgerStatus.AWAITING_INGEST
    assert entry.state.ids == {"podcast_id": f"mp-{SERIAL}", "episode_id": episode["id"]}
    assert entry.pushed_hash and entry.pending_create is None
    assert [h.action for h in entry.history] == ["create_intent", "created", "status:awaiting_ingest"]
    assert world.consonance.write_backs == []  # nothing is delivered before the audio is in
    # ... and no Lambda waited for it: the publisher returned long before Megaphone finished ingesting.
    runs = [r for r in world.runtime.invocation_log if r.flow == "episode-publisher"]
    assert runs and all(r.finished_at - r.started_at < timedelta(seconds=world.options.ingest_delay_seconds) for r in runs)
    assert sorted(p for p in (LOST_AFTER_WRITE, LOST_BEFORE_WRITE) if megaphone_episode(world, p)) == []  # not approved
    assert target_entry(world, LOST_AFTER_WRITE).status is LedgerStatus.SEEN  # type: ignore[union-attr]


def test_future_release_is_a_draft_with_its_pubdate(world: SandboxWorld) -> None:
    episode = megaphone_episode(world, DRAFT)
    assert episode is not None
    assert episode["draft"] is True and episode["status"] == "draft"
    assert episode["pubdate"] == pubdate(START + timedelta(days=1)).replace("Z", ".000Z")


def test_ingest_checker_marks_delivered_and_writes_the_link_back_once(world: SandboxWorld) -> None:
    # Megaphone finished at 00:02, when the publisher's delayed checks fell due; the ingest checker's
    # sweep (the safety net) first runs at 00:15, so what is delivered by 00:10 was delivered by them
    run_until(world, at(0, 0, 10))

    for product_id in (LIVE, SECOND):
        episode = megaphone_episode(world, product_id)
        entry = target_entry(world, product_id)
        assert episode is not None and entry is not None
        assert episode["audioFileStatus"] == "success" and episode["spotifyIdentifier"]
        assert entry.status is LedgerStatus.DELIVERED
        assert entry.state.spotify_id == episode["spotifyIdentifier"]
        written = write_backs_for(world, product_id)
        assert [(w.operation, w.link) for w in written] == [
            ("createWebLink", f"https://open.spotify.com/episode/{episode['spotifyIdentifier']}")
        ]
        product = next(p for p in world.consonance.catalogue.products if p.id == product_id)
        assert written[0].link in [link.link for link in product.web_links]
        assert written_link(world, product_id) == f"live|{written[0].link}"
    assert target_entry(world, DRAFT).status is LedgerStatus.DRAFT  # type: ignore[union-attr]
    assert write_backs_for(world, DRAFT) == []

    # An hour of polls (which see the write-back as a "change"), ingest checks and the daily sweep later:
    run_until(world, at(0, 1, 5))
    assert len(write_backs_for(world, LIVE)) == 1 and len(write_backs_for(world, SECOND)) == 1


def test_unchanged_redelivery_writes_nothing(world: SandboxWorld) -> None:
    source = source_entry(world, LIVE)
    assert source is not None and source.source_hash
    announced = EpisodeChanged(episode=source.state.episode, content_hash=source.source_hash).model_dump(mode="json")  # type: ignore[arg-type]
    versions, since = ledger_versions(world), world.clock.now()

    # a re-announced change (new EventBridge id: evaluated, hashes equal) and an exact duplicate delivery
    body = bus_envelope(world, "EpisodeChanged", announced, event_id="re-announced-1")
    for event in (sqs_event(world, "episode-publisher", body), sqs_event(world, "episode-publisher", body, body)):
        assert world.runtime.invoke("episode-publisher", event) == {"batchItemFailures": []}

    assert megaphone_writes(world, since) == []
    assert ledger_versions(world) == versions
    # Each delivery was evaluated and found unchanged; no idempotency record is kept for the publisher
    # (its ledger writes are the guard), so none was claimed or completed for the event.
    idempotency = IdempotencyStore(world.resources.tables[Table.IDEMPOTENCY])
    assert idempotency.completed_result(f"episode-publisher|episode#{LIVE}|re-announced-1") is None


def test_title_change_emits_one_event_and_one_put(world: SandboxWorld, tap: EventTap) -> None:
    tap.take()
    episode_id = target_entry(world, SECOND).state.episode_id  # type: ignore[union-attr]
    since = world.clock.now()
    product = next(p for p in world.consonance.catalogue.products if p.id == SECOND)
    product.title = "Ropes & Reckonings"
    product.changed_on = START

    run_until(world, at(0, 1, 50))  # polls at 01:15, 01:30, 01:45

    changed = of_type(tap.take(), "EpisodeChanged")
    assert [event["detail"]["episode"]["product_id"] for event in changed] == [SECOND]
    assert megaphone_writes(world, since) == [("PUT", f"/api/networks/test-network/podcasts/mp-{SERIAL}/episodes/{episode_id}")]
    assert megaphone_episode(world, SECOND)["title"] == "Ropes & Reckonings"  # type: ignore[index]
    assert target_entry(world, SECOND).status is LedgerStatus.DELIVERED  # type: ignore[union-attr]
    assert len(write_backs_for(world, SECOND)) == 1  # same link, same status: nothing to write back


@pytest.mark.parametrize(
    ("product_id", "fault", "posts"),
    [(LOST_AFTER_WRITE, "timeout-after-write", 1), (LOST_BEFORE_WRITE, "timeout", 2)],
    ids=["answer-lost-after-the-write", "answer-lost-before-the-write"],
)
def test_create_whose_answer_was_lost_is_not_duplicated(world: SandboxWorld, product_id: int, fault: str, posts: int) -> None:
    # Run alone, the first poll also brings the serial's episodes (their creates go to another
    # podcast): the fault is aimed at the create on this product's podcast, whatever comes first.
    create_path = f"/api/networks/test-network/podcasts/mp-{INTERVIEWS}/episodes"
    approve(world, product_id)
    poll_now(world)
    world.megaphone.faults = ScriptedFaults(FaultFor(fault, "POST", create_path))
    since, retried = world.clock.now(), world.runtime.stats()["episode-publisher"].retried
    world.runtime.drain()
    assert world.runtime.stats()["episode-publisher"].retried == retried + 1  # reported failed: SQS redelivers it
    assert target_entry(world, product_id).pending_create  # type: ignore[union-attr]

    run_until(world, world.clock.now() + timedelta(minutes=20))  # redelivered after the queue's visibility timeout

    episodes = [e for e in world.megaphone.state()["episodes"] if e["externalId"] == str(product_id)]
    assert len(episodes) == 1
    assert not world.megaphone.faults.script  # the scripted fault met the create
    posts_sent = [w for w in megaphone_writes(world, since) if w == ("POST", create_path)]  # this product's podcast: only it is approved
    assert len(posts_sent) == posts
    entry = target_entry(world, product_id)
    assert entry is not None and entry.state.episode_id == episodes[0]["id"] and entry.pending_create is None
    actions = [h.action for h in entry.history]
    assert actions.count("create_intent") == 1
    assert ("adopted" in actions) == (fault == "timeout-after-write")
    assert entry.status is LedgerStatus.DELIVERED and len(write_backs_for(world, product_id)) == 1


def test_release_sweep_publishes_the_draft_on_its_release_day(world: SandboxWorld) -> None:
    world.clock.advance_to(at(0, 23, 30))  # a quiet evening: nothing changes in Consonance
    run_until(world, at(0, 23, 59))
    assert megaphone_episode(world, DRAFT)["draft"] is True  # type: ignore[index]
    assert write_backs_for(world, DRAFT) == []

    run_until(world, at(1, 0, 30))  # the hourly sweep at 00:00 finds the release date reached

    episode = megaphone_episode(world, DRAFT)
    assert episode is not None and episode["draft"] is False and episode["status"] == "published"
    release_puts = [r for r in world.megaphone.received if r.method == "PUT" and r.path.endswith(episode["id"])]
    assert [r.at.date() for r in release_puts] == [START + timedelta(days=1)]
    entry = target_entry(world, DRAFT)
    assert entry is not None and entry.status is LedgerStatus.DELIVERED
    assert [(w.link, w.description) for w in write_backs_for(world, DRAFT)] == [
        (f"https://open.spotify.com/episode/{episode['spotifyIdentifier']}", "Spotify: live")
    ]
