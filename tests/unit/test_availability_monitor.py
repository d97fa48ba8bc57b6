"""The availability monitor against the Megaphone and Spotify Web API simulators, with the ledger,
availability and cursor tables in moto and a virtual clock: takedowns, self-made withdrawals,
availability coming back, nothing emitted for nothing changed, failures kept to one entry."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import boto3
import pytest

from functions.dependencies import Dependencies
from functions.settings import FlowSettings
from functions.connectors.http import HttpService, RetryPolicy, route_host
from functions.connectors.megaphone import EpisodeFields, MegaphoneClient
from functions.connectors.spotify_web import SpotifyCredentials, SpotifyWebClient
from functions.domain.events import AvailabilityChanged, DomainEvent
from functions.event_bus import EventBus
from functions.flows.availability_monitor.handler import handler
from functions.flows.availability_monitor.logic import CURSOR_NAME, MonitorDeps, MonitorOutcome, monitor_availability
from functions.state.keys import episode_key
from functions.state.targets import MEGAPHONE as TARGET
from functions.state.targets import MegaphoneState
from functions.state.availability import CHANNEL_WIDE, AvailabilityStore, transition
from functions.state.cursors import CursorStore
from functions.state.ledger import LedgerEntry, SyncLedger, new_entry
from functions.state.targets import LedgerStatus
from infra.flows import Secret, Table, flow
from sandbox.moto_server import reset_client_caches
from sandbox.clock import VirtualClock
from sandbox.resources import create_resources
from sandbox.runtime import LocalLambdaContext
from sandbox.simulators.megaphone import MegaphoneSimulator
from sandbox.simulators.spotify_web import ACCOUNTS_HOST, API_HOST, SpotifyWebSimulator

START = datetime(2031, 3, 1, 12, 0, tzinfo=timezone.utc)
NETWORK = "net-larkspur"
PODCAST = "mp-salt-road"
OTHER_PODCAST = "mp-ember-court"
MEGAPHONE_TOKEN = "megaphone-test-token"
SHOW = "38bS44xjbVVZ3No3ByF1dJ"
MARKETS = ("AU", "GB", "US")
CREDENTIALS = SpotifyCredentials(client_id="sandbox-client", client_secret="sandbox-secret")
_deployments = itertools.count(1)


class RecordingBus(EventBus):
    """The bus as far as the monitor can tell, keeping what it was given."""

    def __init__(self) -> None:
        super().__init__("test-bus", "test")
        self.events: list[DomainEvent] = []

    def publish(self, events: Sequence[DomainEvent]) -> None:
        self.events.extend(events)


@dataclass
class World:
    clock: VirtualClock
    megaphone_sim: MegaphoneSimulator
    spotify_sim: SpotifyWebSimulator
    megaphone: MegaphoneClient
    ledger: SyncLedger
    availability: AvailabilityStore
    cursors: CursorStore
    bus: RecordingBus
    deps: MonitorDeps

    def run(self, time_left=None) -> tuple[MonitorOutcome, list[AvailabilityChanged]]:
        """One monitor run; then the events are applied to the table, as the recorder would."""
        self.bus.events.clear()
        outcome = monitor_availability(self.deps, self.clock.now(), time_left)
        events = [e for e in self.bus.events if isinstance(e, AvailabilityChanged)]
        for event in events:
            record_in_table(self.availability, event)
        self.clock.advance(3600)
        return outcome, events

    def deliver(self, product_id: int, podcast_id: str = PODCAST, *, status: LedgerStatus = LedgerStatus.DELIVERED,
                reason: str = "cleared and released", on_spotify: bool = True) -> LedgerEntry:
        return deliver_episode(self.clock, self.megaphone, self.spotify_sim, self.ledger, product_id, podcast_id,
                               status=status, reason=reason, on_spotify=on_spotify)


def deliver_episode(
    clock: VirtualClock,
    megaphone: MegaphoneClient,
    spotify_sim: SpotifyWebSimulator,
    ledger: SyncLedger,
    product_id: int,
    podcast_id: str = PODCAST,
    *,
    status: LedgerStatus = LedgerStatus.DELIVERED,
    reason: str = "cleared and released",
    on_spotify: bool = True,
) -> LedgerEntry:
    """An episode the integration published: live on Megaphone, on Spotify in every market."""
    created = megaphone.create_episode(
        podcast_id,
        EpisodeFields(
            title=f"Episode {product_id}",
            externalId=str(product_id),
            draft=False,
            pubdate=(clock.now() - timedelta(days=1)).isoformat(),
            backgroundAudioFileUrl=f"https://media.example/{product_id}.mp3",
        ),
    )
    clock.advance(180)  # the simulator's ingest finishes; Megaphone assigns the Spotify id
    remote = megaphone.get_episode(podcast_id, created.id)
    assert remote.spotify_identifier
    if on_spotify:
        spotify_sim.publish_episode(remote.spotify_identifier, SHOW, remote.title, set(MARKETS) | {"IE"}, date(2031, 2, 1))
    entry = new_entry(episode_key(product_id), TARGET)
    entry.state = MegaphoneState(podcast_id=podcast_id, episode_id=remote.id, spotify_id=remote.spotify_identifier, draft=False)
    entry.set_status(status, reason)
    return ledger.save(entry)


def record_in_table(store: AvailabilityStore, event: AvailabilityChanged) -> None:
    entity = episode_key(event.product_id)
    for territory in event.territories or (CHANNEL_WIDE,):
        channel = "megaphone" if event.channel == "megaphone" else "spotify"
        existing = store.get(entity, channel, territory)
        store.put(
            transition(existing, entity=entity, channel=channel, territory=territory, live=event.live, reason=event.reason,
                       taken_down=event.takedown, source="monitor", observed_at=event.observed_at),
            existing,
        )






@pytest.fixture
def clock_start() -> datetime:
    return START


@pytest.fixture(autouse=True)
def fresh_connections(cleared_routes: None) -> Iterator[None]:
    """No simulator route and no cached AWS client outlives a test (the handler test deploys its own)."""
    yield
    reset_client_caches()


@pytest.fixture
def world(aws: None, clock: VirtualClock) -> World:
    tables = create_resources([], secret_values={}, prefix=f"mon{next(_deployments)}").tables  # the declared tables
    megaphone_sim = MegaphoneSimulator(
        clock, network_id=NETWORK, podcasts={PODCAST: "The Salt Road", OTHER_PODCAST: "Ember Court"},
        tokens=[MEGAPHONE_TOKEN], rate_limit_per_window=None, ingest_delay_seconds=60,
    )
    spotify_sim = SpotifyWebSimulator(clock)
    spotify_sim.add_show(SHOW, "The Salt Road")
    route_host("cms.megaphone.fm", megaphone_sim)
    route_host(ACCOUNTS_HOST, spotify_sim)
    route_host(API_HOST, spotify_sim)
    retry = RetryPolicy(max_attempts=2, backoff_initial_seconds=0.1, backoff_cap_seconds=1)
    megaphone = MegaphoneClient(
        HttpService(service="megaphone", base_url="https://cms.megaphone.fm/api",
                    auth_headers=lambda: {"Authorization": f"Token token={MEGAPHONE_TOKEN}"}, retry=retry),
        network_id=NETWORK,
    )
    ledger = SyncLedger(tables[Table.LEDGER])
    availability = AvailabilityStore(tables[Table.AVAILABILITY])
    cursors = CursorStore(tables[Table.CURSORS])
    bus = RecordingBus()
    deps = MonitorDeps(
        ledger=ledger, availability=availability, megaphone=megaphone,
        spotify=SpotifyWebClient(CREDENTIALS, retry=retry), bus=bus, cursors=cursors, markets=MARKETS,
    )
    return World(clock, megaphone_sim, spotify_sim, megaphone, ledger, availability, cursors, bus, deps)


def by_channel(events: list[AvailabilityChanged]) -> dict[str, list[AvailabilityChanged]]:
    grouped: dict[str, list[AvailabilityChanged]] = {}
    for event in events:
        grouped.setdefault(event.channel, []).append(event)
    return grouped


# ------------------------------------------------------------------------------------------ baseline
def test_first_run_records_where_it_is_live_and_an_unchanged_second_run_emits_nothing(world: World):
    world.deliver(41001)

    outcome, events = world.run()

    assert outcome.checked == 1 and not outcome.errors
    channels = by_channel(events)
    [megaphone] = channels["megaphone"]
    [spotify] = channels["spotify"]
    assert (megaphone.product_id, megaphone.territories, megaphone.live, megaphone.takedown) == (41001, (), True, False)
    assert (spotify.territories, spotify.live, spotify.takedown) == (MARKETS, True, False)
    records = {r.sort_key: r for r in world.availability.get_for(episode_key(41001))}
    assert set(records) == {"megaphone#*", "spotify#AU", "spotify#GB", "spotify#US"}
    assert all(r.live and r.since == START + timedelta(seconds=180) for r in records.values())

    second, again = world.run()
    assert again == [] and second.checked == 1 and second.emitted == 0


def test_calls_are_bounded_one_megaphone_list_per_podcast_and_one_show_page_per_market(world: World):
    for product_id in range(41001, 41061):  # 60 episodes: two pages of 50 per market
        world.deliver(product_id)
    world.megaphone_sim.received.clear()
    requests_before = world.spotify_sim.requests_served

    outcome, _ = world.run()

    lists = [r for r in world.megaphone_sim.requests_received("GET") if r.path.endswith(f"/podcasts/{PODCAST}/episodes")]
    assert len(world.megaphone_sim.requests_received()) == len(lists) == 1
    # the show learnt once from one episode, then ⌈60 ÷ 50⌉ = 2 pages per market (+ one app token)
    assert outcome.spotify_requests == 1 + 2 * len(MARKETS)
    assert world.spotify_sim.requests_served - requests_before == 1 + 2 * len(MARKETS) + 1
    assert outcome.checked == 60

    again, _ = world.run()  # the show's id is kept: only the pages
    assert again.spotify_requests == 2 * len(MARKETS)


# ------------------------------------------------------------------------------------------ takedowns
def test_spotify_stopping_a_market_is_a_takedown_and_is_reported_once(world: World):
    entry = world.deliver(41001)
    world.run()
    world.spotify_sim.take_down(entry.state.spotify_id, ["US"])

    outcome, events = world.run()

    [event] = events
    assert (event.channel, event.territories, event.live, event.takedown) == ("spotify", ("US",), False, True)
    assert "stopped serving" in event.reason
    assert outcome.takedowns == 1
    us = world.availability.get(entry.entity, "spotify", "US")
    assert us is not None and not us.live and us.taken_down and us.stopped_at == event.observed_at

    _, again = world.run()
    assert again == []


def test_megaphone_flipping_to_draft_is_a_takedown_and_closes_the_spotify_markets_without_asking(world: World):
    entry = world.deliver(41001)
    world.run()
    world.megaphone_sim.set_episode_fields(entry.state.episode_id, draft=True)
    served = world.spotify_sim.requests_served

    outcome, events = world.run()

    channels = by_channel(events)
    [megaphone] = channels["megaphone"]
    assert (megaphone.live, megaphone.takedown) == (False, True)
    assert megaphone.reason == "draft on Megaphone although the integration published it"
    [spotify] = channels["spotify"]
    assert (spotify.territories, spotify.live, spotify.takedown) == (MARKETS, False, False)
    assert spotify.reason == "not on Megaphone (draft on Megaphone)"
    assert world.spotify_sim.requests_served == served and outcome.spotify_requests == 0
    assert outcome.takedowns == 1


def test_an_episode_removed_from_megaphone_is_a_takedown(world: World):
    entry = world.deliver(41001)
    world.run()
    world.megaphone_sim.remove_episode(entry.state.episode_id)

    _, events = world.run()

    [megaphone] = by_channel(events)["megaphone"]
    assert megaphone.takedown and megaphone.reason.startswith("removed from Megaphone")


def test_a_withdrawal_the_integration_made_is_not_a_takedown(world: World):
    entry = world.deliver(41001)
    world.run()
    world.megaphone_sim.set_episode_fields(entry.state.episode_id, draft=True)
    entry.set_status(LedgerStatus.WITHDRAWN, "audio adaptation right ended 2031-03-01")
    entry.state.draft = True
    world.ledger.save(entry)

    outcome, events = world.run()

    assert events and not any(event.takedown for event in events) and outcome.takedowns == 0
    assert {event.reason for event in events} == {"withdrawn by the integration: audio adaptation right ended 2031-03-01"}
    assert all(not event.live for event in events)
    megaphone = world.availability.get(entry.entity, "megaphone", CHANNEL_WIDE)
    assert megaphone is not None and not megaphone.live and not megaphone.taken_down


def test_a_withdrawal_the_publisher_died_pushing_is_not_a_takedown(world: World):
    """The publisher records its intent, pushes draft, and dies before marking the entry withdrawn."""
    entry = world.deliver(41001)
    world.run()
    entry.state.withdraw_pending = True
    entry.record("withdraw_intent", "audio adaptation right ended 2031-03-01")
    world.ledger.save(entry)  # still DELIVERED: the status write never happened
    world.megaphone_sim.set_episode_fields(entry.state.episode_id, draft=True)

    outcome, events = world.run()

    assert events and outcome.takedowns == 0 and not any(event.takedown for event in events)
    assert all(event.reason.startswith("withdrawn by the integration") for event in events)


def test_availability_coming_back_is_reported_live(world: World):
    entry = world.deliver(41001)
    world.run()
    spotify_id = entry.state.spotify_id
    world.spotify_sim.take_down(spotify_id, ["AU"])
    world.run()
    world.spotify_sim.publish_episode(spotify_id, SHOW, "Episode 41001", set(MARKETS), date(2031, 2, 1))

    _, events = world.run()

    [event] = events
    assert (event.channel, event.territories, event.live, event.takedown) == ("spotify", ("AU",), True, False)
    au = world.availability.get(entry.entity, "spotify", "AU")
    assert au is not None and au.live and au.stopped_at is None and au.since == event.observed_at


def test_a_market_never_seen_serving_the_episode_is_not_called_a_takedown(world: World):
    entry = world.deliver(41001, on_spotify=False)  # Spotify has not picked it up yet

    _, events = world.run()

    [spotify] = by_channel(events)["spotify"]
    assert (spotify.live, spotify.takedown) == (False, False)
    world.spotify_sim.publish_episode(entry.state.spotify_id, SHOW, "Episode 41001", set(MARKETS), date(2031, 2, 1))
    _, events = world.run()
    [spotify] = events
    assert spotify.live and spotify.territories == MARKETS


# ------------------------------------------------------------------------------------------ failures and budget
def test_one_entry_failing_does_not_stop_the_others(world: World):
    world.deliver(41001)
    broken = new_entry(episode_key(41999), TARGET)
    broken.status = LedgerStatus.DELIVERED
    broken.state = MegaphoneState(podcast_id="mp-deleted-podcast", episode_id="ep-gone", draft=False)
    world.ledger.save(broken)

    outcome, events = world.run()

    assert outcome.checked == 1 and len(outcome.errors) == 1 and "episode#41999" in outcome.errors[0]
    assert {event.product_id for event in events} == {41001}
    assert (world.cursors.get(CURSOR_NAME) or {})["errors"] == 1


def test_a_run_out_of_time_resumes_after_the_last_podcast_it_finished(world: World):
    world.deliver(41001)
    world.deliver(41002, OTHER_PODCAST)
    budget = iter([100.0, 0.0])

    first, events = world.run(time_left=lambda: next(budget, 0.0))

    first_podcast, second_podcast = sorted([PODCAST, OTHER_PODCAST])
    done = 41001 if first_podcast == PODCAST else 41002
    assert (first.checked, first.deferred) == (1, 1) and {e.product_id for e in events} == {done}
    assert (world.cursors.get(CURSOR_NAME) or {})["resume_after_podcast"] == first_podcast  # checkpointed as it went
    second, events = world.run()
    assert {e.product_id for e in events} == {41001, 41002} - {done} and second.deferred == 0
    assert (world.cursors.get(CURSOR_NAME) or {}).get("resume_after_podcast") is None


def test_a_run_that_dies_keeps_the_podcasts_it_finished(world: World):
    world.deliver(41001)
    world.deliver(41002, OTHER_PODCAST)
    first_podcast = sorted([PODCAST, OTHER_PODCAST])[0]
    reads = 0

    class Dying(Exception):
        pass

    original = world.availability.get_many

    def read_then_die(entities, places):  # type: ignore[no-untyped-def]
        nonlocal reads
        reads += 1
        if reads == 2:
            raise Dying("the invocation died on its second podcast")
        return original(entities, places)

    world.availability.get_many = read_then_die  # type: ignore[method-assign]
    with pytest.raises(Dying):
        world.run()
    world.availability.get_many = original  # type: ignore[method-assign]
    assert (world.cursors.get(CURSOR_NAME) or {})["resume_after_podcast"] == first_podcast

    second, _ = world.run()  # starts with the podcast it died on
    assert second.checked == 2


def test_a_run_that_dies_inside_a_podcast_keeps_the_markets_it_read(world: World):
    """A healthy sweep writes its cursor once per podcast (plus its start and end marks), not once per
    request; the run after a crash saves after every market, so later crashes lose one request."""
    world.deliver(41001)
    world.run()  # the show's id is learnt
    read: list[str] = []

    class Dying(Exception):
        pass

    original = world.deps.spotify.show_episodes

    def read_then_die(show_id, market):  # type: ignore[no-untyped-def]
        if len(read) == 2:
            raise Dying("the invocation died on its third market")
        read.append(market)
        return original(show_id, market)

    world.deps.spotify.show_episodes = read_then_die  # type: ignore[method-assign]
    with pytest.raises(Dying):
        world.run()  # the last sweep finished: no market read is saved on its own
    cursor = world.cursors.get(CURSOR_NAME) or {}
    assert cursor["partial_reads"] == {} and cursor.get("unfinished_since") is not None

    read.clear()
    with pytest.raises(Dying):
        world.run()  # the last sweep died: this one saves each market as it reads it
    assert sorted((world.cursors.get(CURSOR_NAME) or {})["partial_reads"][PODCAST]["markets"]) == sorted(MARKETS[:2])

    read.clear()
    world.deps.spotify.show_episodes = original  # type: ignore[method-assign]
    requests_before = world.spotify_sim.requests_served
    second, _ = world.run()  # within PARTIAL_READ_KEPT: only the market still missing is read
    assert second.checked == 1 and second.spotify_requests == 1
    assert world.spotify_sim.requests_served - requests_before in (1, 2)  # (+ an app token when it expired)
    cursor = world.cursors.get(CURSOR_NAME) or {}
    assert cursor["partial_reads"] == {} and cursor.get("unfinished_since") is None

    third, _ = world.run()  # a whole sweep reads every market again
    assert third.spotify_requests == len(MARKETS)


def counting_reads_and_saves(world: World) -> tuple[list[list[str]], list[str]]:
    """The stored-availability reads (entities per read) and cursor saves the monitor makes from now on."""
    reads: list[list[str]] = []
    saves: list[str] = []
    original_put, original_get_many = world.deps.cursors.put, world.deps.availability.get_many

    def counted_put(name, values):  # type: ignore[no-untyped-def]
        saves.append(name)
        return original_put(name, values)

    def counted_get_many(entities, places):  # type: ignore[no-untyped-def]
        reads.append(sorted(str(entity) for entity in entities))
        return original_get_many(entities, places)

    world.deps.cursors.put = counted_put  # type: ignore[method-assign]
    world.deps.availability.get_many = counted_get_many  # type: ignore[method-assign]
    return reads, saves


def test_a_healthy_sweep_writes_its_cursor_once_per_podcast_and_reads_stored_availability_per_podcast(world: World):
    world.deliver(41001)
    world.deliver(41003)
    world.deliver(41002, OTHER_PODCAST)
    world.run()
    reads, saves = counting_reads_and_saves(world)
    outcome, _ = world.run()

    podcasts = len(reads)
    assert podcasts == 2 and outcome.checked == 3 and outcome.spotify_requests >= len(MARKETS)
    assert saves == [CURSOR_NAME] * (podcasts + 1)  # the start mark, each podcast but the last, the end
    assert sum(len(entities) for entities in reads) == 3


def test_an_unchanged_podcast_is_not_read_from_the_table_until_something_it_depends_on_changes(world: World):
    taken = world.deliver(41001)
    world.deliver(41003)
    other = world.deliver(41002, OTHER_PODCAST)
    world.run()  # first sight: events, so not settled
    world.run()  # compared again, in agreement: settled
    reads, saves = counting_reads_and_saves(world)

    outcome, events = world.run()
    assert events == [] and reads == [] and saves == [CURSOR_NAME] * 2  # the start and end marks only
    assert (outcome.checked, outcome.unchanged, outcome.emitted) == (3, 3, 0)
    assert outcome.spotify_requests >= len(MARKETS)  # Spotify and Megaphone are still asked every run

    world.spotify_sim.take_down(taken.state.spotify_id, ["US"])  # Spotify changed: that podcast only
    outcome, events = world.run()
    assert [(e.product_id, e.territories, e.takedown) for e in events] == [(41001, ("US",), True)]
    assert reads[-1] == ["episode#41001", "episode#41003"] and outcome.unchanged == 1

    reads.clear()
    other.set_status(LedgerStatus.DELIVERED, "re-released after a correction")  # the ledger changed (a new version)
    world.ledger.save(other)
    outcome, events = world.run()
    # Compared: the podcast whose entry changed, and the one whose last check emitted (now in agreement).
    assert events == [] and reads == [["episode#41002"], ["episode#41001", "episode#41003"]]

    reads.clear()
    outcome, events = world.run()
    assert events == [] and reads == [] and outcome.unchanged == 3


def test_a_settled_podcast_is_compared_with_the_table_again_after_full_check_every(world: World):
    entry = world.deliver(41001)
    world.run()
    world.run()  # settled at this run's time
    settled_at = world.clock.now() - timedelta(hours=1)
    # The table changed behind the monitor's back (e.g. a notice that closed a market without a takedown).
    us = world.availability.get(entry.entity, "spotify", "US")
    world.availability.put(
        transition(us, entity=entry.entity, channel="spotify", territory="US", live=False, reason="closed by a notice",
                   taken_down=False, source="webhook", observed_at=world.clock.now()),
        us,
    )
    while world.clock.now() - settled_at < world.deps.full_check_every:
        outcome, events = world.run()
        assert events == [] and outcome.unchanged == 1
    outcome, events = world.run()
    assert [(e.territories, e.live) for e in events] == [(("US",), True)] and outcome.unchanged == 0


def test_scheduled_episodes_are_not_compared_yet(world: World):
    entry = world.deliver(41001)
    world.megaphone_sim.set_episode_fields(entry.state.episode_id, pubdate=(world.clock.now() + timedelta(days=3)).isoformat())

    outcome, events = world.run()

    assert events == [] and outcome.not_yet_released == 1
    again, events = world.run()  # settled and unchanged: still not compared, without reading the table
    assert events == [] and (again.not_yet_released, again.unchanged, again.not_playable) == (1, 1, 0)


# ------------------------------------------------------------------------------------------ the handler, as deployed
def test_the_scheduled_handler_wires_the_connectors_and_emits_onto_the_bus(aws: None, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch):
    """The handler builds its clients from settings and secrets (Spotify's is JSON) and its events
    reach the availability recorder's queue through the bus rule, as deployed."""
    monitor, recorder = flow("availability-monitor"), flow("availability-recorder")
    prefix = f"mon{next(_deployments)}"
    resources = create_resources(
        [monitor, recorder],
        secret_values={
            Secret.MEGAPHONE: MEGAPHONE_TOKEN,
            Secret.SPOTIFY: json.dumps({"client_id": CREDENTIALS.client_id, "client_secret": "sandbox-secret"}),
            Secret.CONSONANCE: "unused-here",
        },
        prefix=prefix,
        event_source=prefix,
    )
    environment = {**resources.environments[monitor.name], "MEGAPHONE_NETWORK_ID": NETWORK, "SPOTIFY_MARKETS": "GB,US"}
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    reset_client_caches()
    megaphone_sim = MegaphoneSimulator(clock, network_id=NETWORK, podcasts={PODCAST: "The Salt Road"}, tokens=[MEGAPHONE_TOKEN],
                                       rate_limit_per_window=None, ingest_delay_seconds=60)
    spotify_sim = SpotifyWebSimulator(clock)
    route_host("cms.megaphone.fm", megaphone_sim)
    route_host(ACCOUNTS_HOST, spotify_sim)
    route_host(API_HOST, spotify_sim)
    platform = Dependencies(FlowSettings(monitor))  # the monitor's own clients, built from its environment
    deliver_episode(clock, platform.megaphone, spotify_sim, platform.ledger, 41001)
    context = LocalLambdaContext(
        function_name="availability-monitor", memory_limit_in_mb=256,
        invoked_function_arn="arn:aws:lambda:eu-west-1:123456789012:function:availability-monitor",
        aws_request_id="req-1", deadline=clock.now() + timedelta(seconds=300), clock=clock,
    )

    result = handler({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}, context)

    assert (result["checked"], result["emitted"], result["errors"]) == (1, 2, [])
    queue_url = resources.queues[recorder.name].queue_url
    messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    details = sorted((json.loads(m["Body"])["detail"] for m in messages), key=lambda d: d["channel"])
    assert [(d["channel"], d["territories"], d["live"]) for d in details] == [("megaphone", [], True), ("spotify", ["GB", "US"], True)]
    assert (platform.cursors.get(CURSOR_NAME) or {})["checked"] == 1
