"""The publisher's AWS round trips per published episode, counted where the sandbox sends every AWS
request (`runtime.access`: botocore's before-send, or after-call for a call the transport answered
at before-call; beside the hooks that check the flow's grants), not timed. Issue 10's goal: a batch
reads what it needs once (the ledger entries in one BatchGetItem, the series once; no idempotency
record: the ledger's version checks and content hashes make a duplicate delivery evaluate to
nothing) and each new episode then costs its create intent and its final ledger write; its Megaphone
request's rate-limit slot comes from blocks reserved one write each (1, 2, 4 slots:
functions.connectors.rate_limit), and the slots left over are given back in one write when the
invocation ends; a batch that leaves episodes awaiting ingest also sends their delayed ingest
checks, in one call."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from functions.domain.events import EpisodeReevaluationDue
from sandbox.world import SandboxWorld
from tests.integration.harness import bus_envelope, ledger_versions, open_world, sqs_event
from tests.integration.small_catalogue import START, SmallCatalogue

SERIES = 1
EPISODES = tuple(range(301, 306))  # one batch of the publisher's declared size (5), one series
PUBLISHER = "episode-publisher"
PER_EPISODE = 2  # create intent, final ledger write
PER_BATCH = 2  # ledger read-ahead, series query
# The batch's 5 Megaphone requests: blocks of 1, 2 and 4 slots (3 writes), and the 2 slots left over given back.
RATE_LIMIT_WRITES = 3 + 1
INGEST_CHECKS = 1  # one SendMessageBatch: the batch's ingest checks, delayed by the expected ingest time


@pytest.fixture(scope="module")
def world() -> Iterator[SandboxWorld]:
    made = SmallCatalogue()
    made.show(SERIES, "The Salt Road")
    for part, product_id in enumerate(EPISODES, start=1):
        made.episode(product_id, SERIES, str(part), f"Part {part}", START - timedelta(days=30 - part))
    with open_world(made.build()) as opened:
        yield opened


def publisher_counts(world: SandboxWorld) -> tuple[int, int, int]:
    """(AWS requests, records, invocations) of the publisher so far."""
    runs = [r for r in world.runtime.invocation_log if r.flow == PUBLISHER and r.records]
    return world.runtime.access.requests_by_flow[PUBLISHER], sum(r.records for r in runs), len(runs)


def test_a_batch_of_new_episodes_costs_two_round_trips_each_and_a_few_rate_limit_writes(world: SandboxWorld) -> None:
    world.runtime.run_for(minutes=20)  # the first poll announces the five episodes; the publisher creates them
    calls, records, invocations = publisher_counts(world)
    assert records == len(EPISODES) and invocations == 1, (records, invocations)
    # the first invocation of an execution environment also reads the Megaphone token (Secrets Manager)
    assert calls <= PER_EPISODE * records + PER_BATCH + RATE_LIMIT_WRITES + INGEST_CHECKS + 1, calls  # 18 here: 10 + 2 + 4 + 1 + the token


def test_a_batch_of_unchanged_episodes_reads_once_and_writes_nothing_to_the_ledger(world: SandboxWorld) -> None:
    calls_before, _, _ = publisher_counts(world)
    versions = ledger_versions(world)
    bodies = [
        bus_envelope(world, "EpisodeReevaluationDue", EpisodeReevaluationDue(product_id=p, reason="test", due_at=world.clock.now()).model_dump(mode="json"))
        for p in EPISODES
    ]
    assert world.runtime.invoke(PUBLISHER, sqs_event(world, PUBLISHER, *bodies)) == {"batchItemFailures": []}
    calls = world.runtime.access.requests_by_flow[PUBLISHER] - calls_before
    assert ledger_versions(world) == versions
    assert calls == PER_BATCH, calls  # nothing per episode: the batch's reads


def test_a_duplicate_delivery_of_a_whole_batch_writes_nothing_and_asks_megaphone_nothing(world: SandboxWorld) -> None:
    """No idempotency record: the same events (same EventBridge ids) delivered twice, the second time
    in one batch with a duplicate inside it, are evaluated again and find nothing to do."""
    bodies = [
        bus_envelope(world, "EpisodeReevaluationDue", EpisodeReevaluationDue(product_id=p, reason="test", due_at=world.clock.now()).model_dump(mode="json"), event_id=f"dup-{p}")
        for p in EPISODES
    ]
    versions, megaphone_requests = ledger_versions(world), len(world.megaphone.received)
    for delivery in (bodies, [*bodies[:4], bodies[0]]):
        calls_before, _, _ = publisher_counts(world)
        assert world.runtime.invoke(PUBLISHER, sqs_event(world, PUBLISHER, *delivery)) == {"batchItemFailures": []}
        assert world.runtime.access.requests_by_flow[PUBLISHER] - calls_before == PER_BATCH
    assert ledger_versions(world) == versions
    assert len(world.megaphone.received) == megaphone_requests
