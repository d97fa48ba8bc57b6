"""Conditional writes answer the same with and without moto's speed-ups for them: condition
expressions parsed once per (expression, names, placeholders) and given each call's values
(`condition_expressions_parsed_once`), and update expressions validated without the passes known
to pass or to find nothing (`fewer_update_expression_passes`). Held at two levels: moto's own
answer (the condition parser's `Op`/`Func` tree, down to which value objects it holds, the
placeholders found, or the error raised; the update validator's tree and the item it read, or the
error raised) for expressions of every kind moto parses, each met again with other values, names
and tables; and every answer of a scenario of conditional puts, updates, deletes, transactions and
filters with values differing call by call, conditions failing, placeholders missing or unused."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import pytest

from sandbox.moto_server import MotoServer
from sandbox.moto_speedups import condition_expressions_parsed_once, fewer_update_expression_passes, moto_speedups, update_expressions_parsed_once
from tests.sandbox.test_aws_transport import in_process_clients, outcome

Values = dict[str, Any] | None

NOW = {":now": {"N": "10"}, ":amount": {"N": "5"}, ":expires": {"N": "99"}}
CONDITIONS: dict[str, tuple[str, dict[str, str] | None, list[Values]]] = {
    # name: (expression, names, the values of successive calls: the same placeholders, other values)
    "rate limiter": ("next_free_ms >= :now", {}, [NOW, {":now": {"N": "11"}, ":amount": {"N": "6"}, ":expires": {"N": "98"}}]),
    "ledger version": ("version = :expected", {}, [{":expected": {"N": "1"}}, {":expected": {"N": "2"}}, {":expected": {"S": "2"}}]),
    "not exists, no values": ("attribute_not_exists(pk)", {}, [{}, {}, None]),
    "names": ("attribute_not_exists(#key) OR #expiration < :now", {"#key": "pk", "#expiration": "exp"}, [{":now": {"N": "1"}}, {":now": {"N": "2"}}]),
    "names in another order": ("attribute_not_exists(#key) OR #expiration < :now", {"#expiration": "exp", "#key": "pk"}, [{":now": {"N": "3"}}]),
    "nested paths": ("a.b[1].c = :v AND #m.#k <> :w", {"#m": "map", "#k": "key"}, [{":v": {"S": "x"}, ":w": {"L": [{"N": "1"}]}}, {":v": {"N": "1"}, ":w": {"M": {"k": {"S": "v"}}}}]),
    "functions": (
        "begins_with(#n, :p) AND contains(tags, :t) AND size(l) > :n AND attribute_type(a, :type) AND attribute_exists(b)",
        {"#n": "nm"},
        [{":p": {"S": "ab"}, ":t": {"S": "x"}, ":n": {"N": "2"}, ":type": {"S": "S"}}, {":p": {"S": "c"}, ":t": {"SS": ["x"]}, ":n": {"N": "0"}, ":type": {"S": "N"}}],
    ),
    "IN and BETWEEN": ("a IN (:x, :y, :z) OR n BETWEEN :lo AND :hi", {}, [{":x": {"S": "1"}, ":y": {"N": "2"}, ":z": {"B": b"3"}, ":lo": {"N": "1"}, ":hi": {"N": "9"}}, {":x": {"S": "4"}, ":y": {"N": "5"}, ":z": {"NULL": True}, ":lo": {"N": "0"}, ":hi": {"N": "0"}}]),
    "NOT and parentheses": ("NOT (a = :x) AND (b < :y OR c > :x)", {}, [{":x": {"N": "1"}, ":y": {"SS": ["a", "b"]}}, {":x": {"BOOL": True}, ":y": {"NS": ["1"]}}]),
    "one value twice, one unused": ("a = :x OR b = :x", {}, [{":x": {"N": "1"}, ":unused": {"S": "u"}}, {":x": {"N": "2"}, ":unused": {"S": "v"}}]),
    "size compared with a value": ("size(#l) = :n", {"#l": "list"}, [{":n": {"N": "3"}}, {":n": {"S": "3"}}]),
    # errors, met twice each
    "missing value": ("a = :missing", {}, [{":other": {"N": "1"}}, {":other": {"N": "2"}}]),
    "values absent": ("a = :x", {}, [None, None]),
    "missing name": ("#nope = :x", {"#other": "o"}, [{":x": {"N": "1"}}, {":x": {"N": "1"}}]),
    "names absent": ("#n = :x", None, [{":x": {"N": "1"}}]),
    "reserved word": ("name = :x", {}, [{":x": {"S": "n"}}, {":x": {"S": "m"}}]),
    "incomplete": ("a =", {}, [{}, {}]),
    "unmatched parenthesis": ("a = :x)", {}, [{":x": {"N": "1"}}, {":x": {"N": "2"}}]),
    "redundant parentheses": ("((a = :x))", {}, [{":x": {"N": "1"}}, {":x": {"N": "2"}}]),
    "value in a path": (":x.b = :x", {}, [{":x": {"N": "1"}}]),
    "wrong function argument": ("attribute_exists(:x)", {}, [{":x": {"N": "1"}}]),
    "value not a type and value": ("a = :x AND b = :y", {}, [{":x": {"N": "1"}, ":y": {}}, {":x": {"N": "1"}, ":y": "text"}, {":x": {"N": "1"}, ":y": {"N": "2"}}]),
    "names not strings": ("#n = :x", {"#n": 7}, [{":x": {"N": "1"}}, {":x": {"N": "2"}}]),  # type: ignore[dict-item]  # moto's own answer for it
    "no expression": ("", {}, [{}]),
}


def parse_answer(expression: str, names: dict[str, str] | None, values: Values) -> Any:
    """What moto's `ConditionExpressionParser.parse` answers, as plain data: the tree (each object's
    class and attributes; each value's type, the value itself and its identity), the placeholders
    found; or the error raised."""
    from moto.dynamodb.comparisons import ConditionExpressionParser

    parser = ConditionExpressionParser(expression, names, values)
    try:
        tree = parser.parse()
    except Exception as error:  # noqa: BLE001 - the error is the answer compared
        return ("error", type(error), error.args, parser.expr_attr_names_found, parser.expr_attr_values_found)
    return ("parsed", plain(tree, {}), parser.expr_attr_names_found, parser.expr_attr_values_found)


def plain(node: Any, seen: dict[int, int]) -> Any:
    """`node` as nested tuples; an object met before (moto's functions keep their argument twice) as
    the order it was first met in, so shared parts must be shared alike."""
    from moto.dynamodb.comparisons import AttributeValue

    if isinstance(node, (list, tuple)):
        return (type(node).__name__, *(plain(item, seen) for item in node))
    if not hasattr(node, "__dict__"):
        return node
    if id(node) in seen:
        return ("seen", seen[id(node)])
    seen[id(node)] = len(seen)
    if isinstance(node, AttributeValue):
        return ("value", node.type, node.value, id(node.value))  # the request's own object, as moto holds it
    return (type(node).__name__, tuple((name, plain(value, seen)) for name, value in vars(node).items()))


@pytest.mark.parametrize("name", list(CONDITIONS))
def test_condition_parses_are_moto_s_for_every_call(name: str) -> None:
    expression, names, calls = CONDITIONS[name]
    with condition_expressions_parsed_once():
        kept = [parse_answer(expression, names, values) for values in calls]
    assert kept == [parse_answer(expression, names, values) for values in calls]


def table(name: str, range_key: str | None = None) -> Any:
    """A moto table keyed on pk (and `range_key`), with an index keyed on the string g."""
    from moto.dynamodb.models.table import Table

    keys = [{"AttributeName": "pk", "KeyType": "HASH"}] + ([{"AttributeName": range_key, "KeyType": "RANGE"}] if range_key else [])
    attributes = [{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "g", *([range_key] if range_key else []))]
    index = {"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}
    return Table(name, account_id="123456789012", region="eu-west-1", schema=keys, attr=attributes, global_indexes=[index])


ITEM = {"pk": {"S": "k"}, "next_free_ms": {"N": "5"}, "n": {"N": "1"}, "l": {"L": [{"S": "a"}]}, "tags": {"SS": ["a", "b"]}, "nested": {"M": {"a": {"L": [{"N": "1"}, {"N": "2"}]}}}}
RATE = {":amount": {"N": "3"}, ":expires": {"N": "99"}}
UPDATES: dict[str, tuple[str, list[tuple[dict[str, str] | None, dict[str, Any], str | None]]]] = {
    # name: (expression, the calls: (names, values, the table's range key))
    "rate limiter": ("SET next_free_ms = next_free_ms + :amount, expires_at = :expires", [({}, RATE, None), ({}, {":amount": {"N": "4"}, ":expires": {"S": "x"}}, "sk"), ({}, RATE, None)]),
    "names and if_not_exists": ("SET #t = :now, #c = if_not_exists(#c, :zero) + :one", [({"#t": "t", "#c": "c"}, {":now": {"N": "1"}, ":zero": {"N": "0"}, ":one": {"N": "1"}}, None), ({"#t": "t", "#c": "n"}, {":now": {"N": "2"}, ":zero": {"N": "0"}, ":one": {"S": "1"}}, None)]),
    "a missing attribute": ("SET a = absent + :v", [({}, {":v": {"N": "1"}}, None), ({}, {":v": {"N": "2"}}, None)]),
    "overlapping paths": ("SET a = :v, a = :v", [({}, {":v": {"N": "1"}}, None), ({}, {":v": {"N": "2"}}, None)]),
    "overlapping names": ("SET #a = :v, #b = :v", [({"#a": "x", "#b": "x"}, {":v": {"N": "1"}}, None), ({"#a": "x", "#b": "y"}, {":v": {"N": "1"}}, None), ({"#a": "x", "#b": "x"}, {":v": {"N": "1"}}, None)]),
    "a name missing": ("SET #a = :v", [({}, {":v": {"N": "1"}}, None), (None, {":v": {"N": "1"}}, None), ({"#a": "a"}, {":v": {"N": "1"}}, None)]),
    "a key attribute by name": ("SET #k = :v", [({"#k": "pk"}, {":v": {"S": "x"}}, None), ({"#k": "other"}, {":v": {"S": "x"}}, None), ({"#k": "sk"}, {":v": {"S": "x"}}, "sk"), ({"#k": "sk"}, {":v": {"S": "x"}}, None)]),
    "the range key": ("SET sk = :v", [({}, {":v": {"S": "x"}}, "sk"), ({}, {":v": {"S": "x"}}, None), ({}, {":v": {"S": "y"}}, "sk")]),
    "two SET clauses": ("SET a = :v SET b = :v", [({}, {":v": {"N": "1"}}, None), ({}, {":v": {"N": "1"}}, None)]),
    "an index key's type and emptiness": ("SET g = :v", [({}, {":v": {"N": "1"}}, None), ({}, {":v": {"S": ""}}, None), ({}, {":v": {"S": "x"}}, None)]),
    "a value missing": ("SET a = :v, b = :w", [({}, {":v": {"N": "1"}}, None), ({}, {":v": {"N": "1"}, ":w": {"N": "2"}}, None)]),
    "REMOVE only": ("REMOVE n, l[0]", [({}, {}, None), (None, {}, "sk")]),
    "ADD and DELETE": ("ADD n :one, more :more DELETE tags :gone", [({}, {":one": {"N": "1"}, ":more": {"SS": ["c"]}, ":gone": {"SS": ["a"]}}, None), ({}, {":one": {"S": "x"}, ":more": {"SS": ["d"]}, ":gone": {"SS": ["b"]}}, None)]),
    "list_append": ("SET l = list_append(l, :add), m = list_append(:add, absent)", [({}, {":add": {"L": [{"S": "b"}]}}, None)]),
    "list_append to a list": ("SET l = list_append(l, :add)", [({}, {":add": {"L": [{"S": "b"}]}}, None), ({}, {":add": {"N": "1"}}, None)]),
    "nested paths": ("SET nested.a[1] = :v, nested.b = nested.a[0] - :v REMOVE nested.c", [({}, {":v": {"N": "7"}}, None), ({}, {":v": {"S": "7"}}, None)]),
    "a path through a number": ("SET n.a = :v", [({}, {":v": {"N": "7"}}, None), ({}, {":v": {"N": "8"}}, None)]),
}


def validation_answer(expression: str, names: dict[str, str] | None, values: dict[str, Any], range_key: str | None) -> Any:
    """What moto's update validation answers for `expression` on a copy of ITEM: the validated and
    normalized tree and the item after it, or the error raised."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser
    from moto.dynamodb.parsing.validators import UpdateExpressionValidator

    item = Item(DynamoType(ITEM["pk"]), DynamoType({"S": "r"}) if range_key else None, attrs={**ITEM, **({range_key: {"S": "r"}} if range_key else {})})
    try:
        validator = UpdateExpressionValidator(UpdateExpressionParser.make(expression), expression_attribute_names=names, expression_attribute_values=values, item=item, table=table("t", range_key))
        validated = validator.validate()
        validated.normalize()
    except Exception as error:  # noqa: BLE001 - the error is the answer compared
        return ("error", type(error), str(error))
    return ("validated", plain(validated, {}), item.to_json())


@pytest.mark.parametrize("name", list(UPDATES))
def test_update_validation_is_moto_s_for_every_call(name: str) -> None:
    expression, calls = UPDATES[name]
    with update_expressions_parsed_once():  # one tree for the text, as in the sandbox
        expected = [validation_answer(expression, *call) for call in calls]
        with fewer_update_expression_passes():
            fewer = [validation_answer(expression, *call) for call in calls * 2]
    assert fewer == expected * 2


@pytest.fixture(scope="module")
def server() -> Iterator[MotoServer]:
    with MotoServer(speedups=False) as running:  # moto as it is; the speed-ups are entered below
        yield running


def conditional_writes(client: Callable[[str], Any]) -> list[tuple[str, Any]]:
    """The sandbox's conditional writes and their kin, with values that differ call by call."""
    dynamodb = client("dynamodb")
    steps: list[tuple[str, Any]] = []

    def step(name: str, call: Callable[[], Any]) -> None:
        try:
            steps.append((name, outcome(call)))
        except Exception as error:  # noqa: BLE001 - moto's own failure (a missing placeholder: KeyError) is an answer too
            steps.append((name, {"raised": type(error).__name__, "args": error.args}))

    step(
        "create",
        lambda: dynamodb.create_table(
            TableName="writes",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        ),
    )
    rate = {"pk": {"S": "rate#k"}}
    for number, now in enumerate(("0", "0", "15", "7", "40", "39")):
        step(
            f"rate put {number}",
            lambda now=now: dynamodb.put_item(
                TableName="writes",
                Item={**rate, "next_free_ms": {"N": now}, "expires_at": {"N": f"{now}9"}},
                ConditionExpression="attribute_not_exists(next_free_ms) OR next_free_ms < :now",
                ExpressionAttributeValues={":now": {"N": now}},
            ),
        )
        step(
            f"rate update {number}",
            lambda now=now, number=number: dynamodb.update_item(
                TableName="writes",
                Key=rate,
                UpdateExpression="SET next_free_ms = next_free_ms + :amount, expires_at = :expires",
                ConditionExpression="next_free_ms >= :now",
                ExpressionAttributeValues={":amount": {"N": str(number + 3)}, ":expires": {"N": f"9{now}"}, ":now": {"N": f"{now}0"}},
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD" if number % 2 else "NONE",
            ),
        )
    for number, expected in enumerate((0, 1, 1, 2, 5)):
        condition = "attribute_not_exists(pk)" if expected == 0 else "version = :expected"
        step(
            f"ledger save {number}",
            lambda expected=expected, condition=condition, number=number: dynamodb.put_item(
                TableName="writes",
                Item={"pk": {"S": "ledger#1"}, "version": {"N": str(expected + 1)}, "doc": {"M": {"n": {"N": str(number)}, "tags": {"SS": ["a", str(number)]}}}},
                ConditionExpression=condition,
                **({"ExpressionAttributeValues": {":expected": {"N": str(expected)}}} if expected else {}),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            ),
        )
    for number, (prefix, low, high, choices) in enumerate((("led", "0", "9", ("1", "2")), ("x", "2", "3", ("3", "4")), ("le", "3", "3", ("9", "3")))):
        values = {":p": {"S": prefix}, ":lo": {"N": low}, ":hi": {"N": high}, ":a": {"N": choices[0]}, ":b": {"N": choices[1]}, ":t": {"S": "a"}, ":s": {"N": "2"}}
        step(
            f"functions, IN, BETWEEN {number}",
            lambda values=values: dynamodb.update_item(
                TableName="writes",
                Key={"pk": {"S": "ledger#1"}},
                UpdateExpression="SET #d.#n = :s",
                ConditionExpression="begins_with(pk, :p) AND (#v BETWEEN :lo AND :hi) AND #v IN (:a, :b) AND contains(#d.tags, :t) AND size(#d.tags) >= :s AND attribute_exists(#d.#n)",
                ExpressionAttributeNames={"#d": "doc", "#n": "n", "#v": "version"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            ),
        )
    for number, version in enumerate(("9", "3", "3")):
        step(
            f"conditional delete {number}",
            lambda version=version: dynamodb.delete_item(
                TableName="writes", Key={"pk": {"S": "ledger#1"}}, ConditionExpression="NOT (version <> :v)", ExpressionAttributeValues={":v": {"N": version}}, ReturnValues="ALL_OLD"
            ),
        )
    for number, now in enumerate(("100", "1")):
        step(
            f"transaction {number}",
            lambda now=now: dynamodb.transact_write_items(
                TransactItems=[
                    {"ConditionCheck": {"TableName": "writes", "Key": rate, "ConditionExpression": "#f < :now", "ExpressionAttributeNames": {"#f": "next_free_ms"}, "ExpressionAttributeValues": {":now": {"N": now}}}},
                    {"Put": {"TableName": "writes", "Item": {"pk": {"S": f"tx#{now}"}}, "ConditionExpression": "attribute_not_exists(pk)"}},
                ]
            ),
        )
    # placeholders missing or unused, names missing, malformed conditions: each answered twice
    bad = {
        "missing value": {"ConditionExpression": "next_free_ms >= :later", "ExpressionAttributeValues": {":now": {"N": "1"}}},
        "unused value": {"ConditionExpression": "next_free_ms >= :now", "ExpressionAttributeValues": {":now": {"N": "1"}, ":spare": {"N": "2"}}},
        "missing name": {"ConditionExpression": "#x >= :now", "ExpressionAttributeNames": {"#y": "y"}, "ExpressionAttributeValues": {":now": {"N": "1"}}},
        "unused name": {"ConditionExpression": "next_free_ms >= :now", "ExpressionAttributeNames": {"#y": "y"}, "ExpressionAttributeValues": {":now": {"N": "1"}}},
        "malformed": {"ConditionExpression": "next_free_ms >= ", "ExpressionAttributeValues": {":now": {"N": "1"}}},
        "reserved word": {"ConditionExpression": "size >= :now", "ExpressionAttributeValues": {":now": {"N": "1"}}},
    }
    for attempt in range(2):
        for name, condition in bad.items():
            step(f"put, {name} {attempt}", lambda condition=condition: dynamodb.put_item(TableName="writes", Item={**rate, "n": {"N": "1"}}, **condition))
            step(
                f"update, {name} {attempt}",
                lambda condition=condition: dynamodb.update_item(TableName="writes", Key=rate, UpdateExpression="REMOVE n", **condition),
            )
    for number, low in enumerate(("0", "50", "0")):
        step(
            f"scan filter {number}",
            lambda low=low: dynamodb.scan(TableName="writes", FilterExpression="next_free_ms > :low OR begins_with(pk, :p)", ExpressionAttributeValues={":low": {"N": low}, ":p": {"S": "tx"}}),
        )
    step("final items", lambda: dynamodb.scan(TableName="writes", ConsistentRead=True))
    return steps


@pytest.mark.parametrize("speedups", [condition_expressions_parsed_once, fewer_update_expression_passes, moto_speedups], ids=["condition parses", "fewer update passes", "all speed-ups"])
def test_conditional_writes_answer_what_moto_answers(server: MotoServer, speedups: Callable[[], AbstractContextManager[None]]) -> None:
    answers = []
    for active in (nullcontext, speedups):
        server.reset_state()
        with active():
            answers.append(conditional_writes(in_process_clients()))
    plain_moto, fast = answers
    assert [name for name, _ in fast] == [name for name, _ in plain_moto]
    for (name, expected), (_, actual) in zip(plain_moto, fast, strict=True):
        assert actual == expected, name
    failed = {name.rstrip("0123456789 ") for name, answer in plain_moto if answer.get("error") == "ConditionalCheckFailedException"}
    assert {"rate put", "rate update", "ledger save", "functions, IN, BETWEEN", "conditional delete"} <= failed, "each kind of write also fails its condition"
    assert any(answer.get("error") == "TransactionCanceledException" for _, answer in plain_moto)
    assert {answer.get("raised") for name, answer in plain_moto if "missing value" in name} == {"KeyError"}, "moto's answer, kept"
