"""The CLI in its own process against the sandbox's moto server, through AWS_ENDPOINT_URL only: the
resources are the ones the sandbox creates, found by the names infra/naming.py gives them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import boto3
import pytest

from functions import dead_letters
from functions.state import dynamo
from functions.state.availability import AvailabilityStore, transition
from infra.flows import FLOWS, Secret, Table
from infra.naming import ResourceNames
from sandbox.moto_server import MotoServer
from sandbox.resources import create_resources

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PREFIX = "ops-sandbox"
NAMES = ResourceNames(PREFIX)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[MotoServer]:
    with MotoServer() as server:
        create_resources(FLOWS, secret_values={secret: f"sandbox-{secret.value}" for secret in Secret}, prefix=PREFIX)
        yield server
    dynamo.reset_clients()
    dead_letters.sqs_client.cache_clear()


def run_cli(server: MotoServer, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **server.environment}
    return subprocess.run(
        [sys.executable, "-m", "infra.ops", "--prefix", PREFIX, *arguments],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_list_and_redrive_in_the_sandbox(sandbox: MotoServer) -> None:
    sqs = boto3.client("sqs")
    dead_letter_url = sqs.get_queue_url(QueueName=NAMES.dead_letter_queue("consonance-writeback"))["QueueUrl"]
    dead_letters.dead_letter(
        dead_letter_url,
        json.dumps({"id": "e1", "detail-type": "EpisodeDelivered", "source": "s", "time": "2025-03-03T09:00:00Z", "detail": {"product_id": 5}}),
        flow="consonance-writeback",
        error_code="invalid_record",
        reason="InvalidRecord: Consonance rejected the web link",
        receive_count=2,
        message_id="m-1",
    )
    listed = run_cli(sandbox, "dlq", "list", "--flow", "consonance-writeback")
    assert listed.returncode == 0, listed.stderr
    assert "InvalidRecord: Consonance rejected the web link" in listed.stdout and "episode#5" in listed.stdout

    redriven = run_cli(sandbox, "dlq", "redrive", "consonance-writeback")
    assert redriven.returncode == 0, redriven.stderr
    assert "moved 1 message(s)" in redriven.stdout
    queue_url = sqs.get_queue_url(QueueName=NAMES.queue("consonance-writeback"))["QueueUrl"]
    assert len(sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])) == 1


def test_availability_in_the_sandbox(sandbox: MotoServer) -> None:
    AvailabilityStore(NAMES.table(Table.AVAILABILITY)).put(
        transition(
            None,
            entity="episode#31",
            channel="spotify",
            territory="IE",
            live=True,
            reason="found live",
            taken_down=False,
            source="monitor",
            observed_at=datetime(2025, 2, 1, tzinfo=timezone.utc),
            isbn13="9780306406157",
        )
    )
    found = run_cli(sandbox, "availability", "9780306406157", "--json")
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["episodes"][0]["live_in"] == ["spotify:IE"]
    assert run_cli(sandbox, "availability", "32").returncode == 1
