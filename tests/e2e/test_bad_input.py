"""Bad input never stops good input.

Events: a malformed SQS body, an unknown event version, an unknown detail-type and an event missing
required fields reach the publisher's queue in one batch with a good event. The good one is applied;
each bad one lands in the publisher's dead-letter queue at once with its typed error code and reason,
and the batch response lists no failure (nothing is retried that can never succeed).

Records: HTML with script in a description, an over-long title (the limit configured lower through
the MAPPING environment JSON), an invalid ISBN, unknown territory codes, and records missing a
title, a part number or a series become findings with their reasons in the report; the rest of the
catalogue is published.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import boto3
import pytest

from functions.domain.events import EpisodeChanged
from functions.domain.models import Credit, Episode, EpisodeKind, MasterAudio, RightGrant, Show, Territories
from functions.mapping_config import MappingConfig
from sandbox.report import build_report
from sandbox.world import SandboxWorld
from tests.integration.harness import bus_envelope, megaphone_episode, open_world
from tests.integration.small_catalogue import AUTHOR, GUEST, START, SmallCatalogue, artwork_url, audio_url

TITLE_LIMIT = 60
SERIAL, INTERVIEWS = 1, 2
GOOD, UNSAFE_HTML = 401, 402
LONG_FOR_CONFIG, LONG_FOR_DEFAULT, BAD_ISBN, NO_TITLE, NO_PART = 403, 404, 405, 408, 409
UNKNOWN_FOR_SALE, UNKNOWN_NOT_FOR_SALE, NO_SERIES = 406, 407, 410
FROM_EVENT = 420  # first published from the good event in the bad batch (before any poll)
LONGER_THAN_CONFIGURED = "A Letter from Esk, Being the First of Many Letters Sent Home from the Salt Road"  # 80 < 150
UNSAFE_DESCRIPTION = (
    '<p onclick="steal()">A night on the moor.<script>document.location="https://evil.example"</script>'
    ' <a href="javascript:alert(1)">More</a> <a href="https://example.test/notes">Notes</a></p>'
)


def catalogue():  # noqa: ANN201 (a Catalogue)
    made = SmallCatalogue()
    made.show(SERIAL, "The Salt Road")
    made.show(INTERVIEWS, "Conversations", kind="author_interview")

    def released(days_ago: int) -> date:
        return START - timedelta(days=days_ago)

    made.episode(GOOD, SERIAL, "1", "The Harbour at Dusk", released(70))
    made.episode(UNSAFE_HTML, SERIAL, "2", "Ropes and Reckonings", released(60), description=UNSAFE_DESCRIPTION)
    made.episode(LONG_FOR_CONFIG, SERIAL, "3", LONGER_THAN_CONFIGURED, released(50))
    made.episode(LONG_FOR_DEFAULT, SERIAL, "4", "The Salt Pans " + "and the Long Road Home " * 8, released(40))
    made.episode(BAD_ISBN, SERIAL, "5", "Under the Lighthouse", released(30), isbn13="9781915401367")
    made.episode(NO_TITLE, SERIAL, "6", None, released(20), subtitle=None)  # no title, no fullTitle
    made.episode(NO_PART, SERIAL, None, "What the Ferryman Saw", released(10))
    made.episode(UNKNOWN_FOR_SALE, INTERVIEWS, "1", "On Paper Harbours", released(50), for_sale_worldwide=False, for_sale=["GB", "UK"])
    made.episode(UNKNOWN_NOT_FOR_SALE, INTERVIEWS, "2", "On The Winter Accord", released(40), not_for_sale=["XX"])
    made.episode(NO_SERIES, None, None, "On Small Hours", released(30), work_type="author_interview")
    made.episode(FROM_EVENT, INTERVIEWS, "3", "On Lowland Songs", released(5))
    return made.build()


def good_episode() -> Episode:
    return Episode(
        product_id=FROM_EVENT,
        kind=EpisodeKind.AUTHOR_INTERVIEW,
        title="On Lowland Songs",
        summary="<p>A conversation.</p>",
        show=Show(series_id=INTERVIEWS, name="Conversations"),
        part_number=3,
        publishing_status_code="04",
        allow_onix_exports=True,
        master_audio=MasterAudio(url=audio_url(FROM_EVENT), approved=True, distribution_allowed=True),
        artwork_url=artwork_url(INTERVIEWS),
        release_date=START - timedelta(days=5),
        credits=(Credit(contributor_id=AUTHOR.id, name=AUTHOR.name, role_code="A01", sequence=1),
                 Credit(contributor_id=GUEST.id, name=GUEST.name, role_code="E09", sequence=2)),
        territories=Territories(worldwide=True),
        rights=(RightGrant(right_type="audio_adaptation", contract_id=7000, starts_on=START - timedelta(days=400)),),
    )


@dataclass(frozen=True)
class BadBatch:
    sent: dict[str, str]  # what was sent -> SQS message id
    report: dict[str, Any]
    publisher_invocations: list[Any]
    dead_letters: list[Any]


@pytest.fixture(scope="module")
def world() -> Iterator[SandboxWorld]:
    with open_world(catalogue(), extra_environment={"MAPPING": json.dumps({"max_title_length": TITLE_LIMIT})}) as opened:
        yield opened


@pytest.fixture(scope="module")
def bad_batch(world: SandboxWorld) -> BadBatch:
    good = EpisodeChanged(episode=good_episode(), content_hash="sent-by-test").model_dump(mode="json")
    bodies = {
        "malformed": '{"detail-type": "EpisodeChanged", "detail": {',
        "unknown_version": bus_envelope(world, "EpisodeChanged", {**good, "schema_version": 2}),
        "unknown_type": bus_envelope(world, "EpisodeExploded", {"schema_version": 1, "product_id": GOOD}),
        "missing_fields": bus_envelope(world, "EpisodeChanged", {"schema_version": 1, "content_hash": "x"}),
        "good": bus_envelope(world, "EpisodeChanged", good),
    }
    queue_url = world.resources.queues["episode-publisher"].queue_url
    sqs = boto3.client("sqs")
    sent = {name: sqs.send_message(QueueUrl=queue_url, MessageBody=body)["MessageId"] for name, body in bodies.items()}
    world.runtime.expect_messages()
    world.runtime.drain()  # 00:00, before any poll: one batch of five
    invocations = [record for record in world.runtime.invocation_log if record.flow == "episode-publisher"]
    letters = world.runtime.dead_letters()
    world.runtime.run_until(datetime.combine(START, time(1, 30), tzinfo=timezone.utc))  # the catalogue: poll at 00:15, ingest
    return BadBatch(sent=sent, report=build_report(world, run={}), publisher_invocations=invocations, dead_letters=letters)


def test_the_good_event_in_a_bad_batch_is_applied(world: SandboxWorld, bad_batch: BadBatch) -> None:
    [invocation] = bad_batch.publisher_invocations[:1]
    assert (invocation.records, invocation.failed, invocation.outcome) == (5, 0, "succeeded")  # no batchItemFailures
    episode = megaphone_episode(world, FROM_EVENT)
    assert episode is not None and episode["title"] == "On Lowland Songs" and episode["draft"] is False
    assert episode["createdAt"] == f"{START.isoformat()}T00:00:00.000Z"  # by the batch, before the first poll


def test_bad_events_are_dead_lettered_at_once_with_their_reason(bad_batch: BadBatch) -> None:
    by_message = {letter.original_message_id: letter for letter in bad_batch.dead_letters}
    expected = {
        "malformed": ("malformed_event", "MalformedEvent: not an EventBridge event"),
        "unknown_version": ("unknown_event_version", "UnknownEventVersion: EpisodeChanged schema_version 2 is not supported"),
        "unknown_type": ("unknown_event_type", "UnknownEventType: detail-type 'EpisodeExploded' is not handled here"),
        "missing_fields": ("malformed_event", "MalformedEvent: EpisodeChanged detail is invalid: episode: Field required"),
    }
    assert set(by_message) == {bad_batch.sent[name] for name in expected}
    for name, (code, reason) in expected.items():
        letter = by_message[bad_batch.sent[name]]
        assert letter.flow == "episode-publisher" and letter.dead_lettered_by == "handler"
        assert letter.error_code == code
        assert letter.reason.startswith(reason), letter.reason
        assert letter.receive_count == 1  # dead-lettered on the first receive: no pointless retries
    reported = [(d["flow"], d["error_code"]) for d in bad_batch.report["dead_letters"]]
    assert sorted(reported) == sorted(("episode-publisher", code) for code, _ in expected.values())
    assert all(d["reason"] for d in bad_batch.report["dead_letters"])


def findings_of(report: dict[str, Any], product_id: int) -> dict[str, dict[str, Any]]:
    return {f["code"]: f for f in report["findings"] if f["entity"] == f"episode#{product_id}"}


def test_bad_records_become_findings_with_their_reasons(bad_batch: BadBatch) -> None:
    report = bad_batch.report
    expected = {
        UNSAFE_HTML: ("unsafe_description", False, "description contained onclick attribute, <script>, javascript: URL; removed before publishing"),
        LONG_FOR_CONFIG: ("title_too_long", True, f"title is {len(LONGER_THAN_CONFIGURED)} characters; the limit is {TITLE_LIMIT}"),
        LONG_FOR_DEFAULT: ("title_too_long", True, f"the limit is {TITLE_LIMIT}"),
        BAD_ISBN: ("invalid_isbn", True, "ISBN-13 '9781915401367' is not valid"),
        UNKNOWN_FOR_SALE: ("unknown_territory_code", False, "for-sale territory codes UK are not ISO 3166-1 alpha-2"),
        UNKNOWN_NOT_FOR_SALE: ("unknown_territory_code", True, "not-for-sale territory codes XX are not ISO 3166-1 alpha-2"),
        NO_TITLE: ("missing_title", True, "the product has no title"),
        NO_PART: ("missing_part_number", True, "no part number"),
        NO_SERIES: ("missing_series", True, "in no series"),
    }
    for product_id, (code, blocking, message) in expected.items():
        found = findings_of(report, product_id)
        assert code in found, (product_id, report["findings"])
        assert found[code]["blocking"] is blocking
        assert message in found[code]["message"], found[code]["message"]


def test_held_records_are_not_pushed_and_the_rest_is_published(world: SandboxWorld, bad_batch: BadBatch) -> None:
    for product_id in (LONG_FOR_CONFIG, LONG_FOR_DEFAULT, BAD_ISBN, UNKNOWN_NOT_FOR_SALE, NO_TITLE, NO_PART, NO_SERIES):
        assert megaphone_episode(world, product_id) is None, product_id
    published = {product_id: megaphone_episode(world, product_id) for product_id in (GOOD, UNSAFE_HTML, UNKNOWN_FOR_SALE, FROM_EVENT)}
    assert all(e is not None and e["draft"] is False and e["status"] == "published" for e in published.values())
    summary = published[UNSAFE_HTML]["summary"]  # type: ignore[index]
    assert summary.startswith('<p>A night on the moor. <a>More</a> <a href="https://example.test/notes">Notes</a></p>')
    for unsafe in ("<script", "onclick", "javascript:", "evil.example"):
        assert unsafe not in summary
    assert published[UNKNOWN_FOR_SALE]["title"] == "On Paper Harbours"  # type: ignore[index]


def test_the_mapping_limit_comes_from_configuration(bad_batch: BadBatch) -> None:
    # 80 characters pass the default limit of 150: only the configured limit holds this title back.
    assert TITLE_LIMIT < len(LONGER_THAN_CONFIGURED) < MappingConfig().max_title_length
    message = findings_of(bad_batch.report, LONG_FOR_CONFIG)["title_too_long"]["message"]
    assert message == f"title is {len(LONGER_THAN_CONFIGURED)} characters; the limit is {TITLE_LIMIT}"
