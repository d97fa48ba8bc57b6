"""The availability recorder through its Lambda handler: moto for DynamoDB, SQS, SNS and Secrets
Manager (resources built from the flow's declaration), the Consonance simulator with the sample
catalogue for the write-back, and a virtual clock.

It records the table, writes a takedown back to Consonance once, publishes one alert, and does
neither again on a redelivery or a repeated observation; notices resolve an ISBN or go to the
dead-letter queue with the reason."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest

from functions.consonance_writes import SPOTIFY_LINK
from functions.dependencies import Dependencies
from functions.settings import FlowSettings
from functions.connectors.consonance import SpotifyLinkWrite
from functions.connectors.http import clear_routes, route_host
from functions.domain.events import AvailabilityChanged, DomainEvent, TakedownReported
from functions.domain.models import Episode, EpisodeKind
from functions.domain.notices import AvailabilityNotice, NoticeKind
from functions.flows.availability_recorder.handler import handler
from functions.state.keys import episode_key
from functions.state.targets import EPISODE_SOURCE as SOURCE, MEGAPHONE as TARGET
from functions.state.targets import CONSONANCE_WRITEBACK, MegaphoneState, WrittenLink
from functions.state.ledger import SyncLedger, new_entry
from functions.state.targets import LedgerStatus
from infra.flows import Secret, Table, flow
from sandbox.moto_server import reset_client_caches
from sandbox.catalogue import ApiKey, load_catalogue
from sandbox.clock import VirtualClock
from sandbox.resources import SandboxResources, create_resources
from sandbox.runtime import LocalLambdaContext
from sandbox.simulators.consonance import ConsonanceSimulator

START = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)
CONSONANCE_KEY = "sandbox-consonance-key"
PRODUCT = 41003
ISBN = "9781915401038"
SPOTIFY_ID = "4rOoJ6Egrf8K2IrywzwOMk"
SPOTIFY_URL = f"https://open.spotify.com/episode/{SPOTIFY_ID}"
FLOW = flow("availability-recorder")
_ids = itertools.count(1)


@dataclass
class World:
    clock: VirtualClock
    consonance: ConsonanceSimulator
    resources: SandboxResources
    ledger: SyncLedger
    alerts_queue_url: str
    platform: Dependencies

    def deliver(self, *events: DomainEvent, event_ids: list[str] | None = None, receive_count: int = 1) -> dict[str, Any]:
        """Hand the recorder one SQS batch, as Lambda's event source mapping would."""
        ids = event_ids or [f"evt-{next(_ids)}" for _ in events]
        records = [sqs_record(event, event_id, receive_count) for event, event_id in zip(events, ids, strict=True)]
        context = LocalLambdaContext(
            function_name="availability-recorder",
            memory_limit_in_mb=256,
            invoked_function_arn="arn:aws:lambda:eu-west-1:123456789012:function:availability-recorder",
            aws_request_id=f"req-{next(_ids)}",
            deadline=self.clock.now() + timedelta(seconds=60),
            clock=self.clock,
        )
        return handler({"Records": records}, context)

    def alerts(self) -> list[dict[str, Any]]:
        messages = boto3.client("sqs").receive_message(QueueUrl=self.alerts_queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]

    def link_writes(self) -> list[Any]:
        return [w for w in self.consonance.write_backs if w.product_id == PRODUCT]

    def spotify_link_description(self) -> str | None:
        product = next(p for p in self.consonance.catalogue.products if p.id == PRODUCT)
        return next((link.description for link in product.web_links if link.link == SPOTIFY_URL), None)

    def dead_letters(self) -> list[dict[str, Any]]:
        url = self.resources.queues[FLOW.name].dead_letter_queue_url
        return boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get("Messages", [])

    def availability(self) -> dict[str, Any]:
        return {record.sort_key: record for record in self.platform.availability.get_for(episode_key(PRODUCT))}

    def written_link(self) -> WrittenLink | None:
        """The Spotify link as the write-back service last recorded it."""
        entry = self.ledger.get(episode_key(PRODUCT), CONSONANCE_WRITEBACK)
        return entry.state.links.get(SPOTIFY_LINK) if entry is not None else None


def sqs_record(event: DomainEvent, event_id: str, receive_count: int) -> dict[str, Any]:
    envelope = {
        "version": "0",
        "id": event_id,
        "detail-type": event.detail_type,
        "source": "consonance-spotify",
        "account": "123456789012",
        "time": START.isoformat(),
        "region": "eu-west-1",
        "resources": [],
        "detail": event.model_dump(mode="json"),
    }
    return {
        "messageId": f"msg-{event_id}",
        "receiptHandle": f"rh-{event_id}",
        "body": json.dumps(envelope),
        "attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": "0"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:availability-recorder",
        "awsRegion": "eu-west-1",
    }






@pytest.fixture
def clock_start() -> datetime:
    return START


@pytest.fixture
def world(aws: None, monkeypatch: pytest.MonkeyPatch, clock: VirtualClock) -> Iterator[World]:
    prefix = f"rec{next(_ids)}"
    resources = create_resources([FLOW], secret_values={Secret.CONSONANCE: CONSONANCE_KEY}, prefix=prefix)
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic_arn = sns.create_topic(Name=f"{prefix}-operations-alerts")["TopicArn"]
    alerts_queue_url = sqs.create_queue(QueueName=f"{prefix}-alerts-reader")["QueueUrl"]
    alerts_queue_arn = sqs.get_queue_attributes(QueueUrl=alerts_queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=alerts_queue_arn)
    for name, value in {**resources.environments[FLOW.name], "ALERTS_TOPIC_ARN": topic_arn}.items():
        monkeypatch.setenv(name, value)
    reset_client_caches()
    consonance = ConsonanceSimulator(
        clock, load_catalogue(), requests_per_minute=None, api_keys=[ApiKey(key=CONSONANCE_KEY, access="read_write")]
    )
    route_host("web.consonance.app", consonance)
    platform = Dependencies(FlowSettings(FLOW))
    seed_delivered_episode(platform)
    yield World(clock, consonance, resources, platform.ledger, alerts_queue_url, platform)
    clear_routes()
    reset_client_caches()


def seed_delivered_episode(platform: Dependencies) -> None:
    """What the publisher and the consonance-writeback flow leave behind for a live episode."""
    ledger = platform.ledger
    source = new_entry(episode_key(PRODUCT), SOURCE)
    source.state.episode = Episode(product_id=PRODUCT, kind=EpisodeKind.SERIALIZED_FICTION, title="The Lantern Keeper", isbn13=ISBN)
    ledger.save(source)
    [created] = platform.consonance.record_spotify_links([SpotifyLinkWrite(product_id=PRODUCT, url=SPOTIFY_URL, status="live")])
    written = new_entry(episode_key(PRODUCT), CONSONANCE_WRITEBACK)
    written.state.links[SPOTIFY_LINK] = WrittenLink(link_id=created.link_id, url=SPOTIFY_URL, status="live")
    ledger.save(written)
    target = new_entry(episode_key(PRODUCT), TARGET)
    target.state = MegaphoneState(podcast_id="mp-salt-road", episode_id="ep-41003", spotify_id=SPOTIFY_ID, draft=False)
    target.set_status(LedgerStatus.DELIVERED, "cleared and released")
    ledger.save(target)


def takedown(territories: tuple[str, ...] = ("US",), at: datetime = START, live: bool = False, takedown: bool = True) -> AvailabilityChanged:
    return AvailabilityChanged(
        product_id=PRODUCT,
        channel="spotify",
        territories=territories,
        live=live,
        reason="Spotify stopped serving it (404 or not playable)" if not live else "available on Spotify",
        observed_at=at,
        takedown=takedown and not live,
    )


def notice(**fields: Any) -> TakedownReported:
    values: dict[str, Any] = {
        "notice_id": "spotify-takedown-0001",
        "kind": NoticeKind.TAKEDOWN,
        "territories": ("AU", "NZ"),
        "reason": "rights holder complaint",
        "reported_at": START,
        "source": "spotify",
        **fields,
    }
    return TakedownReported(notice=AvailabilityNotice.model_validate(values, strict=False))


# ------------------------------------------------------------------------------------------ takedowns
def test_a_takedown_is_recorded_written_back_once_and_alerted_once(world: World):
    writes_before = len(world.link_writes())

    response = world.deliver(takedown(("US",)))

    assert response == {"batchItemFailures": []}
    us = world.availability()["spotify#US"]
    assert (us.live, us.taken_down, us.source, us.stopped_at, us.isbn13, us.spotify_id) == (False, True, "monitor", START, ISBN, SPOTIFY_ID)
    assert len(world.link_writes()) == writes_before + 1
    assert world.link_writes()[-1].operation == "updateWebLink"
    assert world.spotify_link_description() == "Spotify: taken down in US"
    [alert] = world.alerts()
    assert alert["Subject"] == "Takedown: The Lantern Keeper (41003) - US"
    assert "Newly taken down: US" in alert["Message"] and "python -m infra.ops availability 41003" in alert["Message"]
    assert CONSONANCE_KEY not in alert["Message"]
    target = world.ledger.get(episode_key(PRODUCT), TARGET)
    assert target is not None
    assert {"takedown_alerted", "availability_written_back"} <= {h.action for h in target.history}
    link = world.written_link()
    assert link is not None and (link.status, link.url) == ("taken down in US", SPOTIFY_URL)


def test_a_redelivered_or_repeated_takedown_writes_back_and_alerts_nothing_more(world: World):
    event = takedown(("US",))
    world.deliver(event, event_ids=["evt-same"])
    writes = len(world.link_writes())
    assert len(world.alerts()) == 1

    world.deliver(event, event_ids=["evt-same"], receive_count=2)  # SQS/EventBridge duplicate delivery
    world.deliver(takedown(("US",), at=START + timedelta(hours=1)))  # the monitor saw it again, new event id

    assert len(world.link_writes()) == writes
    assert world.alerts() == []


def test_a_second_market_going_dark_alerts_for_that_market_and_updates_the_status(world: World):
    world.deliver(takedown(("US",)))
    world.alerts()

    world.deliver(takedown(("GB",), at=START + timedelta(hours=1)))

    [alert] = world.alerts()
    assert "Newly taken down: GB" in alert["Message"] and "Taken down now: GB, US" in alert["Message"]
    assert world.spotify_link_description() == "Spotify: taken down in GB, US"


def test_availability_coming_back_restores_the_link_status_without_an_alert(world: World):
    world.deliver(takedown(("US",)))
    world.alerts()

    world.deliver(takedown(("US",), at=START + timedelta(hours=2), live=True))

    us = world.availability()["spotify#US"]
    assert us.live and not us.taken_down and us.since == START + timedelta(hours=2) and us.stopped_at is None
    assert world.spotify_link_description() == "Spotify: live"
    assert world.alerts() == []
    target = world.ledger.get(episode_key(PRODUCT), TARGET)
    assert target is not None and target.state.takedown_places == []


def test_a_withdrawal_by_the_integration_is_recorded_without_write_back_or_alert(world: World):
    writes = len(world.link_writes())
    world.deliver(
        AvailabilityChanged(
            product_id=PRODUCT, channel="megaphone", live=False, observed_at=START, takedown=False,
            reason="withdrawn by the integration: audio adaptation right ended",
        )
    )

    record = world.availability()["megaphone#*"]
    assert not record.live and not record.taken_down and record.reason.startswith("withdrawn by the integration")
    assert len(world.link_writes()) == writes and world.alerts() == []


def test_an_older_observation_does_not_overwrite_a_newer_one(world: World):
    world.deliver(takedown(("US",), at=START + timedelta(hours=3), live=True))
    world.deliver(takedown(("US",), at=START + timedelta(hours=1)))

    us = world.availability()["spotify#US"]
    assert us.live and world.alerts() == []


# ------------------------------------------------------------------------------------------ notices
def test_a_notice_by_isbn_is_resolved_through_the_ledger_and_recorded_from_the_webhook(world: World):
    world.deliver(notice(isbn13=ISBN))

    records = world.availability()
    assert {key for key, r in records.items() if r.taken_down} == {"spotify#AU", "spotify#NZ"}
    assert records["spotify#AU"].source == "webhook" and "notice spotify-takedown-0001 from spotify" in records["spotify#AU"].reason
    assert world.spotify_link_description() == "Spotify: taken down in AU, NZ"
    [alert] = world.alerts()
    assert "reported by notice spotify-takedown-0001 from spotify" in alert["Message"]


def test_a_reinstatement_notice_lifts_the_takedown(world: World):
    world.deliver(notice(product_id=PRODUCT))
    world.alerts()

    world.deliver(notice(notice_id="spotify-reinstated-0001", product_id=PRODUCT, kind=NoticeKind.REINSTATED,
                         reported_at=START + timedelta(hours=1)))

    assert not any(r.taken_down for r in world.availability().values())
    assert world.spotify_link_description() == "Spotify: live"


def test_a_notice_for_an_unknown_isbn_goes_to_the_dead_letter_queue_with_its_reason(world: World):
    response = world.deliver(notice(isbn13="9780306406157"))

    assert response == {"batchItemFailures": []}
    [dead] = world.dead_letters()
    attributes = {name: value["StringValue"] for name, value in dead["MessageAttributes"].items()}
    assert attributes["error_code"] == "unknown_product" and "9780306406157" in attributes["reason"]
    assert world.alerts() == [] and world.availability() == {}


def test_a_notice_whose_id_and_isbn_disagree_is_dead_lettered(world: World):
    world.deliver(notice(product_id=PRODUCT, isbn13="9780306406157"))

    [dead] = world.dead_letters()
    assert dead["MessageAttributes"]["error_code"]["StringValue"] == "conflicting_product"


def test_the_recorder_uses_only_the_tables_it_declares():
    assert {Table.AVAILABILITY, Table.LEDGER, Table.IDEMPOTENCY} <= set(FLOW.tables)
    assert FLOW.publishes_alerts


def test_an_availability_statement_marks_the_markets_it_leaves_out_as_taken_down(world: World):
    world.deliver(takedown(("AU", "GB", "US"), live=True))  # the monitor saw it live in three markets

    world.deliver(notice(notice_id="statement-7", kind=NoticeKind.AVAILABILITY, product_id=PRODUCT, territories=("GB", "US"),
                         reported_at=START + timedelta(hours=1)))

    records = world.availability()
    assert records["spotify#GB"].live and records["spotify#US"].live
    assert not records["spotify#AU"].live and records["spotify#AU"].taken_down
    assert world.spotify_link_description() == "Spotify: taken down in AU"


def test_a_worldwide_takedown_notice_covers_the_monitored_markets(world: World):
    world.deliver(notice(notice_id="takedown-ww", product_id=PRODUCT, territories=(), worldwide=True))

    taken_down = {key for key, record in world.availability().items() if record.taken_down}
    assert taken_down == {f"spotify#{market}" for market in world.platform.settings.core.spotify_markets}
    [alert] = world.alerts()
    assert "taken down worldwide" in alert["Message"]


def test_an_isbn_already_in_the_availability_table_is_resolved_through_its_index(world: World):
    world.deliver(takedown(("GB",), live=True))
    source = world.ledger.get(episode_key(PRODUCT), SOURCE)
    assert source is not None
    assert source.state.episode is not None
    source.state.episode = source.state.episode.model_copy(update={"isbn13": None})  # the ledger no longer helps
    world.ledger.save(source)

    world.deliver(notice(isbn13=ISBN))

    assert world.availability()["spotify#AU"].taken_down


def test_a_takedown_creates_the_spotify_link_when_none_was_written_yet(world: World):
    target = world.ledger.get(episode_key(PRODUCT), TARGET)
    assert target is not None
    product = next(p for p in world.consonance.catalogue.products if p.id == PRODUCT)
    product.web_links = [link for link in product.web_links if link.link != SPOTIFY_URL]
    written = world.ledger.get(episode_key(PRODUCT), CONSONANCE_WRITEBACK)
    assert written is not None
    written.state.links = {}  # nothing written yet
    world.ledger.save(written)

    world.deliver(takedown(("US",)))

    assert world.link_writes()[-1].operation == "createWebLink"
    assert world.spotify_link_description() == "Spotify: taken down in US"
    link = world.written_link()
    assert link is not None and link.link_id == world.link_writes()[-1].link_id


def test_a_takedown_reported_after_the_integration_withdrew_it_alerts_but_leaves_the_link_status(world: World):
    target = world.ledger.get(episode_key(PRODUCT), TARGET)
    assert target is not None
    target.set_status(LedgerStatus.WITHDRAWN, "licence window ended")
    target.state.draft = True
    world.ledger.save(target)
    written = world.ledger.get(episode_key(PRODUCT), CONSONANCE_WRITEBACK)
    assert written is not None
    written.state.links[SPOTIFY_LINK] = written.state.links[SPOTIFY_LINK].model_copy(update={"status": "withdrawn"})
    world.ledger.save(written)
    writes = len(world.link_writes())

    world.deliver(notice(product_id=PRODUCT))

    [alert] = world.alerts()
    assert "keeps the integration's own status (withdrawn)" in alert["Message"]
    assert len(world.link_writes()) == writes
