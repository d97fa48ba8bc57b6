"""The bench's call counting and classification, and its backfill arithmetic (no timing here)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from bench.backfill import floor_ratio
from bench.instrument import AwsCallCounter, Call, call_from_exchange, describe_calls, diff, is_graphql_mutation
from bench.overhead import Invocation, Timings
from functions.connectors.http import HttpExchange

T0 = datetime(2027, 3, 1, 21, 0, tzinfo=timezone.utc)


def call(service: str, method: str = "GET", path: str = "/x", at: float = 0.0, status: int | None = 200, mutation: bool = False) -> Call:
    return Call(service, method, path, status, T0 + timedelta(seconds=at), "", mutation)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("mutation RecordSpotifyLinks($w0: X!) { w0: createWebLink(input: $w0) { webLink { id } } }", True),
        ("\n  # a comment\n  mutation { x }", True),
        ("query ChangedAudioProducts { products { id } }", False),
        ("{ products { id } }", False),
        ("", False),
    ],
)
def test_graphql_mutation_detection(document: str, expected: bool) -> None:
    assert is_graphql_mutation(document) is expected


def test_call_from_exchange() -> None:
    exchange = HttpExchange(
        service="consonance",
        method="POST",
        url="https://web.consonance.app/graphql?x=1",
        status=200,
        virtual_time=T0.isoformat(),
        request_headers={},
        request_body={"query": "mutation M { a }", "operationName": "RecordSpotifyLinks", "variables": {}},
    )
    recorded = call_from_exchange(exchange)
    assert (recorded.path, recorded.operation, recorded.mutation, recorded.at) == ("/graphql", "RecordSpotifyLinks", True, T0)
    assert recorded.is_external_write


def test_external_writes() -> None:
    assert call("megaphone", "POST").is_external_write and call("megaphone", "PUT").is_external_write
    assert not call("megaphone", "GET").is_external_write
    assert not call("consonance", "POST").is_external_write  # a query is a POST too
    assert call("consonance", "POST", mutation=True).is_external_write


def test_describe_calls_groups_ids_and_429s() -> None:
    calls = [
        call("megaphone", "GET", "/api/networks/n/podcasts/mp-a/episodes/0f9c2d6e-1111-4222-8333-944445555666"),
        call("megaphone", "GET", "/api/networks/n/podcasts/mp-b/episodes/7a1b2c3d-1111-4222-8333-944445555666"),
        call("megaphone", "POST", "/api/networks/n/podcasts/mp-a/episodes", status=429),
    ]
    assert describe_calls(calls) == {
        "megaphone GET podcasts/{id}/episodes/{id}": 2,
        "megaphone POST podcasts/{id}/episodes (429)": 1,
    }


def test_floor_ratio() -> None:
    calls = [call("megaphone", at=i * 1.5) for i in range(61)]  # 61 calls over 90 s
    result = floor_ratio(calls, 60)
    assert result["calls"] == 61 and result["elapsed_seconds"] == 90.0 and result["floor_seconds"] == 61.0
    assert result["ratio"] == round(90 / 61, 4)
    assert floor_ratio([], 60)["ratio"] is None


def test_ledger_write_counting() -> None:
    counts = Counter(
        {
            ("dynamodb", "PutItem", "ledger"): 3,
            ("dynamodb", "UpdateItem", "ledger"): 1,
            ("dynamodb", "GetItem", "ledger"): 9,
            ("dynamodb", "PutItem", "cursors"): 5,
            ("dynamodb", "BatchWriteItem", "cursors,ledger"): 2,
            ("sqs", "SendMessage", ""): 4,
        }
    )
    assert AwsCallCounter.writes_to("ledger", counts) == 6
    assert AwsCallCounter.total(counts) == 24
    later = counts + Counter({("dynamodb", "PutItem", "ledger"): 2})
    assert diff(later, counts) == Counter({("dynamodb", "PutItem", "ledger"): 2})


def test_aws_call_counter_sees_calls_by_operation_and_table() -> None:
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    class FakeClient:
        class meta:  # noqa: N801 (botocore's attribute name)
            class service_model:  # noqa: N801
                service_name = "dynamodb"

    BaseClient._make_api_call = lambda client, operation, params: {"ok": operation}  # type: ignore[method-assign,assignment]
    try:
        with AwsCallCounter() as counter:
            assert BaseClient._make_api_call(FakeClient(), "PutItem", {"TableName": "ledger"}) == {"ok": "PutItem"}
            BaseClient._make_api_call(FakeClient(), "BatchGetItem", {"RequestItems": {"b": {}, "a": {}}})
        assert BaseClient._make_api_call is not counter  # restored on exit
        BaseClient._make_api_call(FakeClient(), "PutItem", {"TableName": "ledger"})  # not counted
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]
    assert counter.counts == Counter({("dynamodb", "PutItem", "ledger"): 1, ("dynamodb", "BatchGetItem", "a,b"): 1})


def test_overhead_timings_per_event() -> None:
    timings = Timings()
    # 2 ms per event, 5 events; 9 ms, 1 event; an empty batch counts no event
    timings.invocations.append(Invocation(0.010, 5, 0.004, 0.006, 0.001, cpu=0.008, cpu_in_fakes=0.003, aws_calls=19))
    timings.invocations.append(Invocation(0.009, 1, 0.002, 0.003, 0.0, cpu=0.007, cpu_in_fakes=0.002, aws_calls=4))
    timings.invocations.append(Invocation(0.5, 0, 0.0, 0.0, 0.0, cpu=0.0, cpu_in_fakes=0.0, aws_calls=0))
    assert timings.events() == 6
    assert timings.per_event_ms() == pytest.approx([2.0] * 5 + [9.0])
    assert timings.median() == pytest.approx(2.0)
    assert timings.median("net") == pytest.approx(1.0)  # (10 - 4 - 1) / 5
    assert timings.median("cpu_net") == pytest.approx(1.0)  # (8 - 3) / 5
    assert timings.calls_per_event() == pytest.approx(23 / 6)
    assert Timings().median() is None


def test_path_shape() -> None:
    from bench.instrument import path_shape

    assert path_shape("/api/networks/net-1/podcasts/mp-salt-road/episodes") == "podcasts/{id}/episodes"
    assert path_shape("/v1/episodes/4rOoJ6Egrf8K2IrywzwOMk") == "v1/episodes/{id}"
    assert path_shape("/graphql") == "graphql"
    assert path_shape("/") == "/"
