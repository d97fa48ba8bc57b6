"""Moto's slow paths, short-cut with the same answers: wall time only.

Moto's DynamoDB responses go through its generic, shape-driven serializer, which tries several key
spellings for every member of every attribute value: a Query returning 50 ledger items costs tens of
milliseconds of moto time, and the serializer is about a third of all of moto's time in a sandbox
run. Its DynamoDB results are already in wire form (DynamoDB JSON), so `fast_dynamodb_json()`
answers the data-plane operations with `json.dumps` of that result instead, falling back to the
serializer whenever the result holds anything JSON cannot carry as is (binary, timestamps).
`moto_sqs_and_events_speedups()` makes SQS and EventBridge work that grows with queue length
constant; `cheaper_item_order()` sorts a table's items (every Query and Scan does) on keys converted
once per item instead of per comparison, and converts a string, binary or number key without first
asking whether it is a set, a list, a map or null; `remembered_action_names()` keeps the list of a response class's methods moto's dispatch
builds on every request. A Query reads only the items that can match its hash key
(`query_reads_only_its_partition()`), a table Scan's page starts where bisection puts its start key
(`scan_pages_start_at_their_key()`), a Query or Scan returns its items without deep-copying them
(`uncopied_query_and_scan_results()`), and sizes each item once, counting string and number
attributes directly (`item_sizes_once_per_read()`, `cheaper_item_sizes()`); results become plain
data by their values' exact types first (`plainer_results()`), and a projection of top-level
attributes takes them from the item without converting all of it (`cheaper_projections()`). An
UpdateItem's expression is parsed once per text (`update_expressions_parsed_once()`), its tree copied
for validation without `copy.deepcopy`'s generic machinery (`cheaper_update_expression_copies()`) and
validated by the same ten passes with their per-node lookups remembered per class
(`cheaper_update_expression_walks()`), of which the three checks are not run again for a tree,
names and table they passed for, nor a pass that can find no node to process in the tree
(`fewer_update_expression_passes()`); a condition or filter expression is parsed once per
expression, names and values' placeholders, each call's `Op` tree built by moto from that parse
with the call's values (`condition_expressions_parsed_once()`), reserved words are looked up in
a set (`reserved_words_looked_up_in_a_set()`), a JSON body is not searched for an XML request id
(`cheaper_request_ids()`), the request id is drawn in one call (`cheaper_request_id_strings()`), and
an Authorization header without an access key is not searched for one (`access_key_search_prechecked()`).
A DynamoDB or SQS request's parameters come from a converter compiled per operation instead of
moto's shape-driven JSON parser (`json_requests_converted()`, sandbox/moto_json_requests.py). All
patch moto's classes for the whole process while active, so the moto server's socket and in-process
paths (and `mock_aws`) answer alike.

tests/sandbox/test_aws_transport.py holds every answer of a broad DynamoDB / SQS / EventBridge / SNS
/ Secrets Manager scenario equal with and without them; tests/unit/test_bench_aws.py compares the
fast body with the serializer's call by call for the ledger's traffic. Converted request parameters
are held identical (types and key order too) to moto's parser's for the scenario's and the ledger's
requests and for hand-made bodies (tests/unit/test_moto_json_requests.py).
"""

from __future__ import annotations

import functools
import json
import re
import string
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Any
from unittest import mock

from sandbox.moto_read_caches import partition_of, remembered_sizes, table_read_caches


FAST_OPERATIONS = frozenset(
    {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem"}
)


def fast_body(result: object) -> str | None:
    """The JSON body for a DynamoDB result already in wire form; None when JSON cannot carry it as is."""
    try:
        return json.dumps(result)
    except (TypeError, ValueError):
        return None


@contextmanager
def fast_dynamodb_json(on_compare: Callable[[str, str, str | bytes], None] | None = None) -> Iterator[None]:
    """While active, moto answers DynamoDB data-plane calls with `fast_body`. With `on_compare`, the
    serializer runs too and `on_compare(operation, fast, serialized)` sees both bodies (for tests)."""
    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoResult

    original = ActionResult.execute_result
    status_and_headers: dict[tuple[type, str], tuple[int, dict[str, Any]]] = {}
    """Per serializer and operation, what moto's serializer answers for an empty result: its status
    and headers depend on nothing else (the operation's HTTP code, the protocol's content type)."""

    def execute_result(self: ActionResult, context: Any) -> Any:
        operation = context.operation_model.name
        if isinstance(self, DynamoResult) and operation in FAST_OPERATIONS:
            body = fast_body(self.result)
            if body is not None:
                kind = (context.serializer_class, operation)
                if kind not in status_and_headers:
                    status, headers, _ = original(DynamoResult({}), context)
                    status_and_headers[kind] = (status, dict(headers))
                status, known_headers = status_and_headers[kind]
                headers = dict(known_headers)  # the caller adds to its copy
                if on_compare is not None:
                    on_compare(operation, body, original(self, context)[2])
                return status, headers, body
        return original(self, context)

    with mock.patch.object(ActionResult, "execute_result", execute_result):
        yield


def _fast_unix_time(original: Callable[..., float], scale: float) -> Callable[..., float]:
    """moto's `unix_time(dt=None)` reads the wall clock through two datetime constructions; for "now"
    `time.time()` is the same number, a few times cheaper. Other arguments go to moto's own."""
    import time

    def unix_time(dt: Any = None) -> float:
        return time.time() * scale if dt is None else original(dt)

    return unix_time


@contextmanager
def moto_sqs_and_events_speedups() -> Iterator[None]:
    """Moto work that grows with queue length, made constant; same answers:
    - SQS checks each message's retention by computing *all* queue attributes, three of which count
      the queue's messages (reading the clock per message): with 2,000 messages queued, sending or
      receiving one message costs ~10,000 clock reads. The retention period is read directly.
    - SQS reads "now" per message through datetime constructions: `time.time()` instead.
    - SQS sending a message reads the queue's ContentBasedDeduplication from all its attributes,
      three of which count the queue's messages: while `send_message` runs (nothing in it reads a
      count), the counts answer 0 without counting.
    - EventBridge builds a JSONPath parser (ply yacc) for every target input path of every event:
      the parsed paths are cached (they are immutable).
    """
    import jsonpath_ng.ext
    from moto.sqs import models as sqs_models

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention_period = self.get_queue(queue_name).message_retention_period
        return not retention_period + message.sent_timestamp / 1000 <= sqs_models.unix_time()

    sending = threading.local()

    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        before = getattr(sending, "active", False)
        sending.active = True
        try:
            return original_send_message(self, *args, **kwargs)
        finally:
            sending.active = before

    def uncounted_while_sending(count: Any) -> property:
        def value(self: Any) -> int:
            return 0 if getattr(sending, "active", False) else count.fget(self)

        return property(value)

    original_send_message = sqs_models.SQSBackend.send_message
    counts = ("approximate_number_of_messages", "approximate_number_of_messages_delayed", "approximate_number_of_messages_not_visible")

    cached_parse = functools.lru_cache(maxsize=1024)(jsonpath_ng.ext.parse)
    with (
        mock.patch.object(sqs_models, "unix_time", _fast_unix_time(sqs_models.unix_time, 1.0)),
        mock.patch.object(sqs_models, "unix_time_millis", _fast_unix_time(sqs_models.unix_time_millis, 1000.0)),
        mock.patch.object(sqs_models.SQSBackend, "is_message_valid_based_on_retention_period", is_message_valid_based_on_retention_period),
        mock.patch.object(jsonpath_ng.ext, "parse", cached_parse),
        mock.patch.object(sqs_models.SQSBackend, "send_message", send_message),
        ExitStack() as counted,
    ):
        for name in counts:
            counted.enter_context(mock.patch.object(sqs_models.Queue, name, uncounted_while_sending(getattr(sqs_models.Queue, name))))
        yield


@contextmanager
def cheaper_item_order() -> Iterator[None]:
    """moto answers every Query and Scan from the whole table sorted by primary key, and sorts with
    `DynamoType.__lt__`, which converts both sides (`cast_value`: a `Decimal` for a number) on every
    comparison: with a few thousand ledger items that is most of a Query's cost. The same order comes
    from sorting on the converted values themselves, computed once per item: `__lt__` and `__eq__`
    compare exactly those values, and a key attribute has one type throughout a table. The conversion
    itself (millions of calls in a sandbox run: every key comparison of a Query makes two) answers the
    common types first."""
    from decimal import Decimal

    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    def all_items(self: Any) -> list[Any]:
        items: list[Any] = []
        for hash_set in self.items.values():
            if self.range_key_attr:
                items.extend(hash_set.values())
            else:
                items.append(hash_set)
        return sorted(items, key=_primary_key_order)

    original_cast = DynamoType.cast_value.fget  # type: ignore[attr-defined]  # a property, typed by moto as its getter

    def cast_value(self: Any) -> Any:
        kind = self.type
        if kind == "S" or kind == "B" or kind == "BOOL":
            return self.value  # moto's last branch: none of number, set, list, map or null
        if kind == "N":
            return Decimal(self.value)  # moto's first branch
        return original_cast(self)

    with mock.patch.object(Table, "all_items", all_items), mock.patch.object(DynamoType, "cast_value", property(cast_value)):
        yield


def _primary_key_order(item: Any) -> Any:
    """Where an item sorts in its table: its hash key's converted value, then its range key's (what
    `DynamoType.__lt__` compares). `cheaper_item_order` sorts on it and `scan_pages_start_at_their_key`
    bisects on it, so the two always agree."""
    return (item.hash_key.cast_value, item.range_key.cast_value) if item.range_key else item.hash_key.cast_value


_current_read = threading.local()
"""What the Query or Scan running on this thread may skip; set by the wrappers below for one call."""


def _during_each_call(method: Callable[..., Any], **settings: Any) -> Callable[..., Any]:
    """`method`, with `settings` as attributes of `_current_read` for the length of each call (a call
    within a call keeps its caller's settings afterwards); a callable setting is called with the
    table the call reads, for the value of that call."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        before = {name: getattr(_current_read, name, None) for name in settings}
        for name, value in settings.items():
            setattr(_current_read, name, value(args[0]) if callable(value) else value)
        try:
            return method(*args, **kwargs)
        finally:
            for name, value in before.items():
                setattr(_current_read, name, value)

    return wrapper


@contextmanager
def _during_each_read(**settings: Any) -> Iterator[None]:
    """moto's `Table.query` and `Table.scan`, each with `settings` for the length of its calls."""
    from moto.dynamodb.models.table import Table

    with (
        mock.patch.object(Table, "query", _during_each_call(Table.query, **settings)),
        mock.patch.object(Table, "scan", _during_each_call(Table.scan, **settings)),
    ):
        yield


@contextmanager
def _narrowed_all_items(method_name: str, narrowed: Callable[[Any, dict[str, Any], Callable[[Any], list[Any]]], list[Any] | None]) -> Iterator[None]:
    """While moto's `Table.<method_name>` runs, its one `all_items()` call answers
    `narrowed(table, the call's bound arguments, all_items as it was)`; None: `all_items()` as it was."""
    import inspect

    from moto.dynamodb.models.table import Table

    original_method = getattr(Table, method_name)
    original_all_items: Callable[[Any], list[Any]] = Table.all_items
    parameters = inspect.signature(original_method)
    slot = f"narrowed_{method_name}"

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        items = narrowed(self, parameters.bind(self, *args, **kwargs).arguments, original_all_items)
        setattr(_current_read, slot, None if items is None else (self, items))
        try:
            return original_method(self, *args, **kwargs)
        finally:
            setattr(_current_read, slot, None)

    def all_items(self: Any) -> list[Any]:
        pending = getattr(_current_read, slot, None)
        if pending is None or pending[0] is not self:
            return original_all_items(self)
        setattr(_current_read, slot, None)  # the call's one read
        return pending[1]

    with mock.patch.object(Table, method_name, method), mock.patch.object(Table, "all_items", all_items):
        yield


@contextmanager
def query_reads_only_its_partition() -> Iterator[None]:
    """moto's `Table.query` takes its candidates from `all_items()`, the whole table sorted, and then keeps
    those whose table hash key (a table query) or index hash key attributes (an index query) equal
    the query's. While a query runs, `all_items()` answers from the items that can pass that test:
    the table's hash bucket holding the query's key, or the items whose index hash attributes equal
    the query's (the same `!=` moto applies). Same answer: every item moto keeps is among them (an
    item lives in the bucket of its own hash key, and bucket keys hash and compare by type and
    value), and sorting a subset with the same key and a stable sort gives the order the subset has
    in the sorted whole, so moto's filter, its re-sort and everything after see the same list."""
    from types import SimpleNamespace

    def partition(table: Any, arguments: dict[str, Any], all_items: Callable[[Any], list[Any]]) -> list[Any] | None:
        candidates = _query_candidates(table, arguments)
        return None if candidates is None else all_items(SimpleNamespace(items=candidates, range_key_attr=table.range_key_attr))

    with _narrowed_all_items("query", partition):
        yield


@contextmanager
def scan_pages_start_at_their_key() -> Iterator[None]:
    """moto's table Scan finds where a page starts (its ExclusiveStartKey) by walking the items before
    it, each compared with the key through two attribute values made from the key: the pages of a
    1,500-item table cost thousands of comparisons. Those items are a prefix of the list `all_items`
    gives, which is sorted on the primary key's converted values (`_primary_key_order`), the order the
    comparisons follow: the prefix ends where bisection on those same values puts the key, and the scan
    is handed the rest. Same answer: every item left out is one moto would have skipped, before
    counting it. Index scans, and a start key without the table's key attributes, keep moto's walk."""
    import bisect

    from moto.dynamodb.models.dynamo_type import DynamoType

    def after_start(table: Any, arguments: dict[str, Any], all_items: Callable[[Any], list[Any]]) -> list[Any] | None:
        start = arguments.get("exclusive_start_key")
        if not start or arguments.get("index_name"):
            return None
        names = [table.hash_key_attr, *([table.range_key_attr] if table.range_key_attr else [])]
        if any(not isinstance(start.get(name), dict) for name in names):
            return None
        values = [DynamoType(start[name]).cast_value for name in names]
        key = tuple(values) if table.range_key_attr else values[0]
        items = all_items(table)
        return items[bisect.bisect_right(items, key, key=_primary_key_order) :]

    with _narrowed_all_items("scan", after_start):
        yield


def _query_candidates(table: Any, arguments: dict[str, Any]) -> dict[Any, Any] | None:
    """The part of `table.items` (same shape, same order) a query can answer from; None: all of it."""
    if not arguments.get("index_name"):
        hash_key = arguments.get("hash_key")
        if hash_key is None:
            return None
        try:
            bucket = table.items.get(hash_key)
        except TypeError:  # a key value of a type that cannot be a key (a list, a map): moto compares
            return None
        return {} if bucket is None else {hash_key: bucket}
    conditions = arguments.get("hash_key_conditions") or []
    if not conditions:
        return None

    if all(expected.type in ("S", "B") for _, expected in conditions):
        # moto's `!=` compares type and `cast_value`, which is the value itself for a string or binary
        return partition_of(table, [(name, expected.type, expected.value) for name, expected in conditions])

    def wanted(item: Any) -> bool:  # moto's own test, for a number key
        for name, expected in conditions:
            value = item.attrs.get(name)
            if not value or value != expected:
                return False
        return True

    if not table.range_key_attr:
        return {key: item for key, item in table.items.items() if wanted(item)}
    candidates: dict[Any, Any] = {}
    for key, bucket in table.items.items():
        for range_key, item in bucket.items():
            if wanted(item):
                candidates.setdefault(key, {})[range_key] = item
    return candidates


@contextmanager
def uncopied_query_and_scan_results() -> Iterator[None]:
    """moto's `Table.query` and `Table.scan` deep-copy every item they return (a query: every candidate,
    before its FilterExpression drops most of them). Only moto's Query and Scan responses call them
    (through the backend), and those turn the returned items into new dicts and lists (`DynamoResult`)
    at once; the filters only read an item, and index and expression projections build new ones. The
    copies are never needed, so while a query or scan runs, an item's deep copy is the item itself."""
    from moto.dynamodb.models.dynamo_type import Item

    original_deepcopy = Item.__deepcopy__

    def deepcopy(self: Any, memo: dict[int, Any]) -> Any:
        return self if getattr(_current_read, "uncopied", False) else original_deepcopy(self, memo)

    with mock.patch.object(Item, "__deepcopy__", deepcopy), _during_each_read(uncopied=True):
        yield


@contextmanager
def cheaper_item_sizes() -> Iterator[None]:
    """moto's `Item.size` (every Query and Scan sizes every item it reads, for the 1 MB page limit;
    every write checks the 400 KB limit) asks each attribute value its size through a chain of type
    tests, and `DynamoType.size` sizes each value of a map by first rebuilding it (`DynamoType(v)`,
    which copies a nested list or map whole). The same numbers, computed directly: a string's size
    is its UTF-8 length (its length when it is ASCII), a number's the length of its text, a map's the
    sum of its keys' UTF-8 lengths and its values' sizes (a copy of a value has the value's size), a
    list's the sum of its elements' sizes; names' sizes are remembered (up to 4,096 names). Sets,
    booleans, binary and null values, and anything not built as moto builds it, are still asked."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.models.utilities import bytesize

    original_value_size = DynamoType.size

    @functools.lru_cache(maxsize=4096)
    def name_size(name: str) -> int:
        return len(name) if name.isascii() else len(name.encode("utf-8"))

    def value_size(self: Any) -> int:
        kind, inner = self.type, self.value
        if type(inner) is str:
            if kind == "S":
                return len(inner) if inner.isascii() else len(inner.encode("utf-8"))
            if kind == "N":
                return len(inner)  # moto: len(str(value)), and a str is its own str
        elif kind == "M" and type(inner) is dict:
            total = 0
            for key, nested in inner.items():
                if type(key) is not str:
                    return original_value_size(self)
                total += name_size(key) + (value_size(nested) if type(nested) is DynamoType else DynamoType(nested).size())
            return total
        elif kind == "L" and type(inner) is list:
            return sum([value_size(element) if type(element) is DynamoType else element.size() for element in inner])
        return original_value_size(self)

    def size(self: Any) -> int:
        total = 0
        for name, value in self.attrs.items():
            total += (name_size(name) if type(name) is str else bytesize(name)) + (value_size(value) if type(value) is DynamoType else value.size())
        return total

    with mock.patch.object(Item, "size", size), mock.patch.object(DynamoType, "size", value_size):
        yield


@contextmanager
def item_sizes_once_per_read() -> Iterator[None]:
    """moto's `Table.query` and `Table.scan` compute each item's size (a walk over every attribute) twice:
    once to check the 1 MB page limit, once to add it to the page's size, and a Scan sizes every item
    of the table. Within one call the items do not change, so the second answer is the first; and
    with `table_read_caches` active, nor do they between two writes to the table, so the answers are
    kept for the table's generation (`sandbox.moto_read_caches.remembered_sizes`)."""
    from moto.dynamodb.models.dynamo_type import Item

    original_size = Item.size

    def size(self: Any) -> int:
        sizes = getattr(_current_read, "sizes", None)
        if sizes is None:
            return original_size(self)
        known = sizes.get(id(self))
        if known is None or known[0] is not self:
            known = sizes[id(self)] = (self, original_size(self))  # the item kept: its id stays its own
        return known[1]

    def sizes_for(table: Any) -> dict[int, tuple[Any, int]]:
        kept = remembered_sizes(table)
        return {} if kept is None else kept

    with mock.patch.object(Item, "size", size), _during_each_read(sizes=sizes_for):
        yield


@contextmanager
def plainer_results() -> Iterator[None]:
    """moto turns every DynamoDB result into plain data (`dynamo_to_dict`) by asking each value in turn
    whether it is a timestamp, an attribute value, something with `to_json`, a map or a list — five
    questions for every string of every item, most of them already plain dicts of strings. Here a
    value of an exact built-in type is answered by its type first (a string, number, boolean or None
    is itself; a dict, an item's attributes or a list is walked), and so is an attribute value (a `DynamoType` itself, not
    binary: moto's `{type: converted value}`, its value walked the same way); everything else
    (binary values, timestamps, model objects) goes to moto's own conversion. A 50-item page:
    1.3 ms -> 0.23 ms."""
    from moto.dynamodb import responses
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict

    original = responses.dynamo_to_dict
    itself = (str, int, float, bool, type(None))
    # an item's attributes are a dict to moto too (unless it gave them a `to_json`, which it would call)
    walked = (dict,) if hasattr(LimitedSizeDict, "to_json") else (dict, LimitedSizeDict)

    def plain(value: Any) -> Any:
        kind = type(value)
        if kind in itself:
            return value
        if kind in walked:
            return {key: plain(item) for key, item in value.items()}
        if kind is list:
            return [plain(item) for item in value]
        if kind is DynamoType and value.type != "B" and value.type != "BS":
            return {value.type: plain(value.value)}
        return original(value)

    with mock.patch.object(responses, "dynamo_to_dict", plain):
        yield


@contextmanager
def cheaper_projections() -> Iterator[None]:
    """moto's `Item.project` turns the whole item into plain Python once per projected name (a scan
    projecting twelve attributes of a 2 KB ledger item converts it twelve times) and builds the result
    from that. When every name is a top-level attribute (no path, no list index), each one present is
    taken from the item directly — a string as it is, any other value converted on its own exactly
    as moto converts it — in the order moto's merge gives; otherwise moto's own `project` answers.
    The result's attributes are set at once, not one by one through moto's size check (which sums
    the whole item again for each): a part of a stored item cannot exceed the limit the item met.

    A value that moto's conversion (to plain Python and back) would give back unchanged — strings,
    booleans, nulls, numbers already in the form that conversion writes, and maps and lists of only
    those — is the stored value itself, shared, as the unprojected Query and Scan results share
    theirs (`uncopied_query_and_scan_results`): a result is serialized, never changed. Sets and
    binary values take moto's conversion (it may reorder a set)."""
    from boto3.dynamodb.types import DYNAMODB_CONTEXT
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    original = Item.project

    def unchanged_by_conversion(value: Any) -> bool:
        kind = value.type
        if kind == "S":
            return type(value.value) is str
        if kind == "BOOL" or kind == "NULL":
            return True
        if kind == "N":
            try:
                return str(DYNAMODB_CONTEXT.create_decimal(value.value)) == value.value
            except ArithmeticError:
                return False
        if kind == "M":
            return all(unchanged_by_conversion(member) for member in value.value.values())
        if kind == "L":
            return all(unchanged_by_conversion(member) for member in value.value)
        return False

    def project(self: Any, projection_expressions: list[list[str]]) -> Any:
        names = [path[0] for path in projection_expressions if len(path) == 1 and not path[0].endswith("]")]
        if len(names) != len(projection_expressions):
            return original(self, projection_expressions)
        attrs: dict[str, Any] = {}
        for name in names:
            value = self.attrs.get(name)
            if value is None or name in attrs:
                continue
            if unchanged_by_conversion(value):
                attrs[name] = value
            else:
                attrs[name] = DynamoType(dynamo_type.serializer.serialize(dynamo_type.deserializer.deserialize(value.to_regular_json())))
        projected = Item(hash_key=self.hash_key, range_key=self.range_key, attrs={})
        projected.attrs = LimitedSizeDict(attrs)  # dict.update: no per-key check
        return projected

    with mock.patch.object(Item, "project", project):
        yield


@contextmanager
def remembered_action_names() -> Iterator[None]:
    """moto's dispatch lists a response class's methods with `inspect.getmembers` on every request to
    see whether the action is one of them; a class's methods do not change, so the list is kept."""
    from moto.core import responses

    with mock.patch.object(responses, "method_names_from_class", functools.lru_cache(maxsize=None)(responses.method_names_from_class)):
        yield


def _untyped_moto_module(name: str) -> Any:
    """A moto module its authors keep out of type checking (`# type: ignore` on its first line): mypy
    sees none of its names, so it is imported by name and used untyped."""
    import importlib

    return importlib.import_module(name)


@contextmanager
def update_expressions_parsed_once() -> Iterator[None]:
    """moto parses an UpdateItem's UpdateExpression twice (the response checks the placeholders it
    names, the backend validates and runs it), and the sandbox sends the same few expressions
    thousands of times. The parse depends on the expression's text alone, so its tree is kept per
    text (up to 1,024 texts). Sharing one tree is safe because no one changes it: in moto 5.2.1 its
    every user (`update_item` and `transact_write_items` in responses.py, which only read it with
    `find_clauses`; the backend's `update_item`, also under `transact_write_items`, which hands it to
    `UpdateExpressionValidator`) reads it or works on a deep copy (`Validator.__init__`). A text that
    does not parse is parsed, and raises, every time: failures are never kept."""
    UpdateExpressionParser = _untyped_moto_module("moto.dynamodb.parsing.expressions").UpdateExpressionParser

    original = UpdateExpressionParser.make
    parse_once = functools.lru_cache(maxsize=1024)(original)

    def make(cls: Any, expression_str: Any) -> Any:
        if cls is UpdateExpressionParser and type(expression_str) is str:
            return parse_once(expression_str)
        return original.__func__(cls, expression_str)  # a classmethod's own function

    with mock.patch.object(UpdateExpressionParser, "make", classmethod(make)):
        yield


_ATOMS = frozenset({str, int, bool, float, type(None)})
"""Types `copy.deepcopy` returns as they are."""


def _copied_tree(value: Any, memo: dict[int, Any], nodes: dict[type, bool]) -> Any:
    """`copy.deepcopy(value, memo)` for a tree of moto's update-expression nodes, walked directly. A class
    in `nodes` (True) is copied as deepcopy copies a plain object (`__new__`, then its deep-copied
    `__dict__`; see `_plainly_copied`), a list element by element, shared parts stay shared (the
    memo), and anything else is left to `copy.deepcopy`."""
    kind = type(value)
    if kind in _ATOMS:
        return value
    known = memo.get(id(value), _ATOMS)  # `_ATOMS`: nothing copied yet
    if known is not _ATOMS:
        return known
    if kind is list:
        copied_list: list[Any] = []
        memo[id(value)] = copied_list
        for element in value:
            copied_list.append(_copied_tree(element, memo, nodes))
        return copied_list
    if nodes.get(kind):
        copied = object.__new__(kind)  # what `kind.__new__` is: `_plainly_copied` saw no class's own
        memo[id(value)] = copied
        copied.__dict__.update({name: _copied_tree(attribute, memo, nodes) for name, attribute in value.__dict__.items()})
        return copied
    import copy

    return copy.deepcopy(value, memo)


def _plainly_copied(kind: type) -> bool:
    """Whether `copy.deepcopy` copies an instance of `kind` the generic way (`object.__reduce_ex__`: a
    new object from `__new__`, then the deep-copied `__dict__`): no class of its own defines a copy,
    pickling or construction hook or slots, and `copyreg` has no entry for it."""
    import copyreg

    hooks = {"__deepcopy__", "__copy__", "__reduce_ex__", "__reduce__", "__getstate__", "__setstate__", "__getnewargs_ex__", "__getnewargs__", "__new__", "__slots__"}
    own = [cls for cls in kind.__mro__ if cls is not object]
    return kind not in copyreg.dispatch_table and not any(hooks & set(vars(cls)) for cls in own)


def _subclasses(kind: type) -> set[type]:
    """`kind` and every class derived from it, now."""
    found = {kind}
    subclass: type
    for subclass in kind.__subclasses__():
        found |= _subclasses(subclass)
    return found


@contextmanager
def cheaper_update_expression_copies() -> Iterator[None]:
    """moto's `Validator.__init__` deep-copies the update-expression tree before validating it (the
    validation replaces nodes in place); `copy.deepcopy`'s generic machinery is most of that cost. The
    validators module's `deepcopy` copies a node tree with `_copied_tree` instead (the same copy) and
    leaves everything else (the `list_append` operand it also deep-copies) to `copy.deepcopy`."""
    import copy

    from moto.dynamodb.parsing import validators

    Node = _untyped_moto_module("moto.dynamodb.parsing.ast_nodes").Node

    nodes = {kind: _plainly_copied(kind) for kind in _subclasses(Node)}

    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if memo is None and type(value) in nodes:
            return _copied_tree(value, {}, nodes)
        return copy.deepcopy(value, memo)

    with mock.patch.object(validators, "deepcopy", deepcopy):
        yield


@contextmanager
def cheaper_update_expression_walks() -> Iterator[None]:
    """moto validates an update expression with ten depth-first passes over its tree, and each pass asks
    at every node which processors apply by rebuilding its processor map and testing the node against
    abstract classes (`isinstance` through `ABCMeta`); `find_clauses` (run by two of the passes at
    every node below the root, and by `normalize`) tests every child the same way. The same walks,
    in the same order, with each pass's map built once and the answers to "which of the map's node
    classes (in its order) is this node an instance of first?" and "is this class an expression or a
    function?" remembered per class (moto registers no virtual subclasses, so a class's answer never
    changes); a pass whose traverser keeps the default `pre_processing_of_child` (a no-op) skips
    calling it."""
    ast_nodes = _untyped_moto_module("moto.dynamodb.parsing.ast_nodes")
    DepthFirstTraverser, Expression, Node = ast_nodes.DepthFirstTraverser, ast_nodes.Expression, ast_nodes.Node
    UpdateExpressionFunction = ast_nodes.UpdateExpressionFunction

    default_hook = DepthFirstTraverser.pre_processing_of_child
    is_node: dict[type, bool] = {}
    descends: dict[type, bool] = {}
    decided: dict[tuple[type, ...], dict[type, type | None]] = {}

    def traverse_node_recursively(self: Any, node: Any, child_id: int = -1) -> Any:
        processing = self._processing_map()
        kinds = tuple(processing)
        hook = None if type(self).pre_processing_of_child is default_hook else self.pre_processing_of_child
        chosen = decided.get(kinds)  # node class -> the first of `kinds` it is an instance of, or None
        if chosen is None:
            chosen = decided[kinds] = {}

        def walk(node: Any, child_id: int) -> Any:
            kind = type(node)
            node_kind = is_node.get(kind)
            if node_kind is None:
                node_kind = is_node[kind] = isinstance(node, Node)
            if not node_kind:
                return node
            parent_node = node.parent
            if node.children is not None:
                for i, child_node in enumerate(node.children):
                    if hook is not None:
                        hook(node, i)
                    walk(child_node, i)
            if kind in chosen:
                class_key = chosen[kind]
            else:
                class_key = chosen[kind] = next((key for key in kinds if isinstance(node, key)), None)
            if class_key is not None:
                node = processing[class_key](node)
                node.parent = parent_node
                if parent_node:
                    parent_node.children[child_id] = node
            return node

        return walk(node, child_id)

    def find_clauses(self: Any, clause_types: Any) -> list[Any]:
        clauses: list[Any] = []
        for child in self.children or []:
            kind = type(child)
            if kind in clause_types:
                clauses.append(child)
                continue
            deeper = descends.get(kind)
            if deeper is None:
                deeper = descends[kind] = isinstance(child, Expression) or isinstance(child, UpdateExpressionFunction)
            if deeper:
                clauses.extend(child.find_clauses(clause_types))
        return clauses

    with (
        mock.patch.object(DepthFirstTraverser, "traverse_node_recursively", traverse_node_recursively),
        mock.patch.object(Node, "find_clauses", find_clauses),
    ):
        yield


_UNKEYED = object()
"""A value no key holds: what it stands for (a validation, a parse) is not remembered."""


def _names_key(names: Any) -> Any:
    """An expression's attribute names as a key: None for none, their (placeholder, name) pairs in
    order when all are strings (as moto's lookups of them are), `_UNKEYED` for anything else, which
    is left to moto."""
    if names is None:
        return None
    if type(names) is dict and all(type(key) is str and type(name) is str for key, name in names.items()):
        return tuple(names.items())
    return _UNKEYED

_CHECKED_TREES_KEPT = 1024
"""How many update-expression trees `fewer_update_expression_passes` keeps what it learnt about."""


@contextmanager
def fewer_update_expression_passes() -> Iterator[None]:
    """moto validates an UpdateItem's expression (a deep copy of its parsed tree) with ten passes,
    each a walk of the whole tree. The first three (`ActionCountValidator`, `OverlappingPathsValidator`,
    `UpdateHashRangeKeyValidator`) only check: each returns every node it is given unchanged, and
    whether it raises depends on nothing but the tree's shape, the attribute names and the table's
    key names — so once they passed for a parsed tree (the same object again: kept by
    `update_expressions_parsed_once`, never changed), those names (strings) and those key names,
    they pass again, and are not run. A later pass is not run when the tree holds no node of a class
    it processes (the classes of its `_processing_map`) and it has no `pre_processing_of_child` of
    its own: no pass makes nodes but `DDBTypedValue`s and `NoneExistingPath`s (always run for) and
    every other node is a copy of one of the tree's, so such a walk finds nothing to do (an
    expression without functions skips `UpdateExpressionFunctionEvaluator`, one without SET the two
    SET checks). Everything else, and any validator whose passes are not moto 5.2.1's ten, is
    validated as before. The same answers and errors, in the same order."""
    validators = _untyped_moto_module("moto.dynamodb.parsing.validators")
    ast_nodes = _untyped_moto_module("moto.dynamodb.parsing.ast_nodes")
    Validator, UpdateExpressionValidator = validators.Validator, validators.UpdateExpressionValidator
    checks = (validators.ActionCountValidator, validators.OverlappingPathsValidator, validators.UpdateHashRangeKeyValidator)
    passes = (
        *checks,
        validators.ExpressionAttributeValueProcessor,
        validators.ExpressionAttributeResolvingProcessor,
        validators.UpdateExpressionFunctionEvaluator,
        validators.NoneExistingPathChecker,
        validators.ExecuteOperations,
        validators.TypeMismatchValidator,
        validators.EmptyStringKeyValueValidator,
    )
    made_by_passes = (ast_nodes.DDBTypedValue, ast_nodes.NoneExistingPath)
    default_hook = ast_nodes.DepthFirstTraverser.pre_processing_of_child
    Node = ast_nodes.Node

    original_init, original_validate = Validator.__init__, Validator.validate
    trees: dict[int, tuple[Any, dict[type, bool], set[Any]]] = {}
    """Per parsed tree (by id; the tree is held, so its id stays its own): the tree, per pass class
    whether it can find work in it, and the (names, key names) its checks passed for."""

    def node_classes(tree: Any) -> set[type]:
        found: set[type] = set()
        pending = [tree]
        while pending:
            node = pending.pop()
            if isinstance(node, Node):
                found.add(type(node))
                pending.extend(node.children or [])
        return found

    def finds_work(processor: Any, classes: set[type]) -> bool:
        if type(processor).pre_processing_of_child is not default_hook:
            return True
        processed = tuple(processor._processing_map())  # noqa: SLF001 - moto's own list of what a pass processes
        return any(issubclass(kind, processed) for kind in (*classes, *made_by_passes))

    def __init__(self: Any, expression: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, expression, *args, **kwargs)
        self._parsed_tree = expression  # what `validate` knows the tree by

    def validate(self: Any) -> Any:
        tree = self.__dict__.get("_parsed_tree")
        processors = self.processors
        if type(self) is not UpdateExpressionValidator or tree is None or tuple(type(p) for p in processors) != passes:
            return original_validate(self)
        known = trees.get(id(tree))
        if known is None or known[0] is not tree:
            if len(trees) >= _CHECKED_TREES_KEPT:
                trees.clear()
            known = trees[id(tree)] = (tree, {}, set())
        _, work, passed = known
        names = _names_key(self.expression_attribute_names)
        key_names = self.table.table_key_attrs
        checked = None if names is _UNKEYED or not all(type(name) is str for name in key_names) else (names, tuple(key_names))
        node = self.node_to_validate
        classes: set[type] | None = None
        for index, processor in enumerate(processors):
            if index < len(checks):
                if checked is not None and checked in passed:
                    continue
            else:
                kind = type(processor)
                if kind not in work:
                    classes = node_classes(tree) if classes is None else classes
                    work[kind] = finds_work(processor, classes)
                if not work[kind]:
                    continue
            node = processor.traverse(node)
            if index == len(checks) - 1 and checked is not None:
                passed.add(checked)
        return node

    with mock.patch.object(Validator, "__init__", __init__), mock.patch.object(Validator, "validate", validate):
        yield


@contextmanager
def condition_expressions_parsed_once() -> Iterator[None]:
    """moto parses a ConditionExpression or FilterExpression twice per call (the response checks the
    placeholders it uses, the backend evaluates it), character by character with a regular
    expression per token, and the sandbox's conditional writes send the same few expressions with
    other values each time (a time, an expected version). The parse's steps up to its last one (a
    tree of `Node`s, and the placeholders found) read the values only to look each `:placeholder`
    up in them (a `KeyError` for a missing one, a `TypeError` without values) and to put what they
    find, unread, in that placeholder's node; its last step (`_make_op_condition`) turns the tree
    into `Op`/`Func` objects, an `AttributeValue` of each such node's value. So the tree is kept per
    (expression, names, the values' placeholders in order) — parsed once with stand-in values —
    and each call gets moto's `_make_op_condition` of the kept tree with its placeholder nodes
    holding this call's values (moto's own lookup): the objects moto's parse would return, built
    by moto's code from the same tree, found lists included. Names must be strings (as their
    lookups are) and the values a dict with string keys, or None; anything else is parsed as moto
    parses it. A value moto cannot make an `AttributeValue` of raises as it would, in the last
    step. An expression that does not parse raises exactly as before, every time: failures are
    never kept. Up to 1,024 trees are kept; nothing in them comes from a request."""
    from moto.dynamodb.comparisons import ConditionExpressionParser

    original_parse = ConditionExpressionParser.parse
    placeholder_kind = ConditionExpressionParser.Kind.EXPRESSION_ATTRIBUTE_VALUE

    @functools.lru_cache(maxsize=1024)
    def parsed(expression: str, names: tuple[tuple[str, str], ...] | None, placeholders: tuple[str, ...] | None) -> tuple[Any, tuple[str, ...], tuple[str, ...]]:
        stand_ins: Any = None if placeholders is None else dict.fromkeys(placeholders)  # read only by the last step
        parser: Any = ConditionExpressionParser(expression, None if names is None else dict(names), stand_ins)
        parser._make_op_condition = lambda node: node  # noqa: SLF001 - the parse's last step, left for each call
        node = original_parse(parser)
        return node, tuple(parser.expr_attr_names_found), tuple(parser.expr_attr_values_found)

    def with_values(node: Any, lookup: Callable[[str], Any]) -> Any:
        """`node` with each placeholder node below it holding `lookup(its text)`; unchanged parts shared."""
        if node.kind == placeholder_kind:
            return node._replace(value=lookup(node.text))
        children = node.children
        if not children:
            return node
        replaced = [with_values(child, lookup) for child in children]
        if all(new is old for new, old in zip(replaced, children, strict=True)):
            return node
        return node._replace(children=replaced)

    def key_of(values: Any, names: Any) -> tuple[tuple[tuple[str, str], ...] | None, tuple[str, ...] | None] | None:
        """The parse's key parts for these names and values; None: moto parses."""
        names_key = _names_key(names)
        if names_key is _UNKEYED:
            return None
        if values is None:
            return names_key, None
        if type(values) is dict and all(type(key) is str for key in values):
            return names_key, tuple(values)
        return None

    def parse(self: Any) -> Any:
        expression = self.condition_expression
        if type(self) is not ConditionExpressionParser or type(expression) is not str or not expression:
            return original_parse(self)
        key = key_of(self.expression_attribute_values, self.expression_attribute_names)
        if key is None:
            return original_parse(self)
        node, names_found, values_found = parsed(expression, *key)
        self.expr_attr_names_found.extend(names_found)
        self.expr_attr_values_found.extend(values_found)
        return self._make_op_condition(with_values(node, self._lookup_expression_attribute_value))

    with mock.patch.object(ConditionExpressionParser, "parse", parse):
        yield


@contextmanager
def cheaper_request_ids() -> Iterator[None]:
    """After every action moto writes a fresh request id into the body's `<RequestId>` element with a
    look-behind regular expression run over the whole body — a JSON body (every DynamoDB answer, a
    Scan's can be megabytes) has none, and the search finds nothing. A text body without the text
    `<RequestId>` cannot match, so it is returned as it is; the headers get their request id and
    status exactly as moto gives them (`_enrich_response`)."""
    from moto.core import responses

    original = responses.BaseResponse._enrich_response

    def enrich_response(headers: dict[str, Any], body: Any) -> tuple[dict[str, Any], Any]:
        if type(body) is not str or "<RequestId>" in body:
            return original(headers, body)
        if "status" in headers:
            headers["status"] = str(headers["status"])
        responses.gen_amzn_requestid_long(headers)
        return headers, body

    with mock.patch.object(responses.BaseResponse, "_enrich_response", staticmethod(enrich_response)):
        yield


@contextmanager
def json_requests_converted(on_compare: Callable[[str, Any, Any], None] | None = None) -> Iterator[None]:
    """moto parses every DynamoDB and SQS request body with its shape-driven JSON parser
    (`BaseResponse.parse_parameters`), a walk that looks up handlers and members by name at every
    node: about a third of moto's per-request setup. While active, such a JSON-protocol request's
    parameters come from the converter compiled for its operation
    (`sandbox.moto_json_requests.json_request_converter`: the parser's walk, same result, key order
    included), from the body moto reads (`normalize_request`: mock_aws's requests too); other
    protocols, operations with a shape no converter mirrors and bodies a converter does not take (a value of the wrong type, a conversion that raises) are parsed
    by moto as before, and raise as before. With `on_compare`, moto's parser runs too and
    `on_compare(operation, converted, parsed)` sees both (for tests)."""
    from botocore.awsrequest import AWSPreparedRequest
    from moto.core import parse, request as moto_request, utils
    from moto.dynamodb.responses import DynamoHandler
    from moto.sqs.responses import SQSResponse
    from werkzeug import Request

    from sandbox.moto_json_requests import json_request_converter

    converters: dict[tuple[str, str, str | None], Callable[[bytes | str], Any] | None] = {}
    """Per (service, action, content type), the converter; None: moto parses. The operation model
    depends on the first two, the protocol on the first and the last."""

    def converter(self: Any, action: str, content_type: str | None) -> Callable[[bytes | str], Any] | None:
        service_model = utils.get_service_model(self.boto3_service_name)
        operation_model = service_model.operation_model(action)  # raises for an unknown action, as moto
        if moto_request.determine_request_protocol(service_model, content_type) != "json":
            return None
        return json_request_converter(operation_model)

    def converting(original: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        """`parse_parameters` converting where it can, and `original` (the one in place) elsewhere."""

        def parse_parameters(self: Any, request: Any) -> None:
            if (
                not isinstance(request, (AWSPreparedRequest, Request))
                or self.PROTOCOL_PARSER_MAP_TYPE is not dict
                or parse.PROTOCOL_PARSERS["json"] is not parse.JSONParser
            ):
                return original(self, request)
            normalized = moto_request.normalize_request(request)  # moto's steps, in moto's order
            key = (self.boto3_service_name, self._get_action(), normalized.content_type)
            if key not in converters:
                converters[key] = converter(self, key[1], key[2])
            convert = converters[key]
            if convert is None:
                return original(self, request)
            try:
                params = convert(normalized.data)
            except Exception:  # noqa: BLE001 - moto's parser answers, or raises, for what the converter does not take
                return original(self, request)
            if on_compare is not None:
                original(self, request)
                on_compare(key[1], params, self.params)
            self.params = params
            return None

        return parse_parameters

    with ExitStack() as patched:
        for handler in (DynamoHandler, SQSResponse):
            patched.enter_context(mock.patch.object(handler, "parse_parameters", converting(handler.parse_parameters)))
        yield


_REQUEST_ID_ALPHABET = string.ascii_letters + string.digits
"""What moto's `gen_amzn_requestid_long` draws its 52 characters from (`get_random_string`'s pool)."""


@contextmanager
def cheaper_request_id_strings() -> Iterator[None]:
    """moto makes every response's `x-amzn-requestid` with `get_random_string(52)`: 52 calls of
    `random.choice`, a few per cent of a call. The same kind of id — 52 characters from the same
    62 — comes from one `choices(k=52)` on moto's own random instance (the one its seed sets: a
    seeded moto still gives repeatable ids, though not the ones `choice` would draw)."""
    from moto.core import responses
    from moto.moto_api import _internal as moto_random
    from moto.utilities import aws_headers

    def gen_amzn_requestid_long(headerdict: dict[str, Any] | None = None) -> str:
        request_id = "".join(moto_random.mock_random.choices(_REQUEST_ID_ALPHABET, k=52))
        if headerdict is not None and isinstance(headerdict, dict):
            headerdict.update({"x-amzn-requestid": request_id})
        return request_id

    with (
        mock.patch.object(responses, "gen_amzn_requestid_long", gen_amzn_requestid_long),
        mock.patch.object(aws_headers, "gen_amzn_requestid_long", gen_amzn_requestid_long),
    ):
        yield


class _PrecheckedPattern:
    """`pattern`'s `search`, answering None at once for a text without `required` (a pattern every
    match of `pattern` contains), where `pattern`'s own search would backtrack through the text."""

    def __init__(self, pattern: re.Pattern[str], required: re.Pattern[str]):
        self.pattern = pattern
        self._required = required

    def search(self, text: str, *args: Any) -> re.Match[str] | None:
        if not args and type(text) is str and self._required.search(text) is None:
            return None
        return self.pattern.search(text, *args)


@contextmanager
def access_key_search_prechecked() -> Iterator[None]:
    """moto looks for an access key in every request's Authorization header with
    `AWS.*(?P<access_key>(?<![A-Z0-9])[A-Z0-9]{20}(?![A-Z0-9]))[:/]` (twice a request): with the
    sandbox's dummy key there is none, and `.*` makes the search back off through the whole header,
    a few microseconds each time. Any match holds 20 characters of `[A-Z0-9]` in a row, so a header
    without such a run answers None at once; one with it is searched by moto's pattern."""
    from moto.core.responses import BaseResponse

    original = BaseResponse.access_key_regex
    prechecked = _PrecheckedPattern(original, re.compile(r"[A-Z0-9]{20}"))
    with mock.patch.object(BaseResponse, "access_key_regex", prechecked):
        yield


class _KeywordList(list[str]):
    """moto's reserved words, still a list, answering `in` from a set (the same answer for strings)."""

    def __init__(self, words: list[str]):
        super().__init__(words)
        self._words = frozenset(words)

    def __contains__(self, word: object) -> bool:
        return word in self._words if type(word) is str else super().__contains__(word)


@contextmanager
def reserved_words_looked_up_in_a_set() -> Iterator[None]:
    """moto asks whether an attribute name is one of DynamoDB's 573 reserved words (every plain name
    in an update expression's paths, every one a condition or projection names) with `in` on a list,
    a scan of the whole list for the usual answer "no". The same list, answering `in` from a set."""
    from moto.dynamodb.parsing.reserved_keywords import ReservedKeywords

    with mock.patch.object(ReservedKeywords, "KEYWORDS", _KeywordList(list(ReservedKeywords.get_reserved_keywords()))):
        yield


@contextmanager
def moto_speedups() -> Iterator[None]:
    """Every moto speed-up above (wall time only; moto answers the same), entered in this order and
    left in the reverse one (one `with` statement cannot hold this many)."""
    speedups: tuple[Callable[[], AbstractContextManager[None]], ...] = (
        fast_dynamodb_json,
        moto_sqs_and_events_speedups,
        cheaper_item_order,
        table_read_caches,  # after cheaper_item_order: it keeps whichever sorted list is in place
        query_reads_only_its_partition,  # after cheaper_item_order: it narrows whichever all_items is in place
        scan_pages_start_at_their_key,  # after table_read_caches: it cuts whichever sorted list is in place
        uncopied_query_and_scan_results,
        cheaper_item_sizes,
        item_sizes_once_per_read,  # after cheaper_item_sizes: it remembers whichever size is in place
        plainer_results,
        cheaper_projections,
        remembered_action_names,
        update_expressions_parsed_once,
        cheaper_update_expression_copies,
        cheaper_update_expression_walks,
        fewer_update_expression_passes,  # after cheaper_update_expression_walks: its passes walk as that one walks
        condition_expressions_parsed_once,
        cheaper_request_ids,
        cheaper_request_id_strings,
        json_requests_converted,
        access_key_search_prechecked,
        reserved_words_looked_up_in_a_set,
    )
    with ExitStack() as entered:
        for speedup in speedups:
            entered.enter_context(speedup())
        yield
