"""The connector kit's rules, held for every connector at once.

- Every error a connector raises is permanent or transient: a test reads every `raise` in
  `functions/connectors` and resolves the raised class; a bare `ApiError` (or any class that is
  neither) fails it.
- The paging strategies: the same next-page guard (scheme, host and port) and loop guard for all.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import typing
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from functions.connectors.api_client import (
    ApiClient,
    ContinuationTokenPaging,
    GraphQLAfterPaging,
    LinkHeaderPaging,
    NextUrlPaging,
    OffsetPaging,
    PageRequest,
)
from functions.connectors.errors import ApiError, UnexpectedResponse
from functions.connectors.http import HttpService, clear_routes, route_host
from functions.domain.errors import PermanentError, TransientError

CONNECTORS = Path(__file__).resolve().parents[2] / "functions" / "connectors"


def raise_sites() -> Iterator[tuple[str, int, type[BaseException]]]:
    """(module, line, class) for every `raise` of a new error in the connectors: `raise SomeError(...)`,
    and `raise make_error(...)` / `raise self.make_error(...)` resolved through the function's return
    annotation (each member of a union). Re-raises (`raise`, `raise exc`) are excluded."""
    for path in sorted(CONNECTORS.rglob("*.py")):
        module_name = ".".join(path.relative_to(CONNECTORS.parents[1]).with_suffix("").parts)
        module = importlib.import_module(module_name)
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Raise) or not isinstance(node.exc, ast.Call):
                continue
            func = node.exc.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            for raised in _classes_made_by(module, name):
                yield module_name, node.lineno, raised


def _classes_made_by(module: object, name: str | None) -> list[type[BaseException]]:
    if name is None:
        return []
    candidates = [getattr(module, name, None)] + [
        getattr(member, name, None) for member in vars(module).values() if inspect.isclass(member) and member.__module__ == module.__name__  # type: ignore[attr-defined]
    ]
    for candidate in candidates:
        if inspect.isclass(candidate) and issubclass(candidate, BaseException):
            return [candidate]
        if callable(candidate):
            returned = typing.get_type_hints(candidate).get("return")
            members = typing.get_args(returned) or (returned,)
            classes = [m for m in members if inspect.isclass(m) and issubclass(m, BaseException)]
            if classes:
                return classes
    return []


def test_the_walk_finds_the_raise_sites() -> None:
    sites = list(raise_sites())
    assert len(sites) > 20
    assert {module for module, _, _ in sites} >= {"functions.connectors.http", "functions.connectors.api_client"}


def test_no_connector_raises_an_error_that_is_neither_permanent_nor_transient() -> None:
    unclassified = [
        f"{module}:{line} raises {raised.__name__}"
        for module, line, raised in raise_sites()
        if issubclass(raised, ApiError) and not issubclass(raised, (PermanentError, TransientError))
    ]
    assert unclassified == []


def test_api_error_itself_is_never_raised() -> None:
    assert [f"{m}:{line}" for m, line, raised in raise_sites() if raised is ApiError] == []


# ------------------------------------------------------------------------------------------ paging
HOST = "kit.example"


def answering(pages: dict[str, httpx.Response]) -> ApiClient:
    def answer(request: httpx.Request) -> httpx.Response:
        key = str(request.url)
        if request.content:
            key += "|" + request.content.decode()
        return pages[key] if key in pages else pages[str(request.url.copy_with(query=None))]

    clear_routes()
    route_host(HOST, httpx.MockTransport(answer))
    return ApiClient(HttpService(service="kit", base_url=f"https://{HOST}/v1"))


@pytest.fixture(autouse=True)
def _routes() -> Iterator[None]:
    yield
    clear_routes()


def test_link_header_paging_follows_next_and_ends_on_the_last_page() -> None:
    client = answering(
        {
            f"https://{HOST}/v1/items": httpx.Response(200, json=[1, 2], headers={"Link": '</v1/items?page=2>; rel="next"'}),
            f"https://{HOST}/v1/items?page=2": httpx.Response(200, json=[3]),
        }
    )
    assert [item for page in client.pages(PageRequest(path="items"), LinkHeaderPaging()) for item in page.items] == [1, 2, 3]


@pytest.mark.parametrize(
    "next_url",
    ["http://kit.example/v1/items?page=2", "https://kit.example:8443/v1/items?page=2", "https://elsewhere.example/v1/items?page=2"],
    ids=["other-scheme", "other-port", "other-host"],
)
def test_every_strategy_refuses_a_next_page_off_the_apis_origin(next_url: str) -> None:
    client = answering({f"https://{HOST}/v1/items": httpx.Response(200, json={"items": [1], "next": next_url})})
    with pytest.raises(UnexpectedResponse, match="another host"):
        list(client.pages(PageRequest(path="items"), NextUrlPaging()))


def test_a_next_page_that_repeats_a_page_already_read_ends_with_an_error() -> None:
    client = answering({f"https://{HOST}/v1/items": httpx.Response(200, json={"items": [1], "next": f"https://{HOST}/v1/items"})})
    with pytest.raises(UnexpectedResponse, match="repeats"):
        list(client.pages(PageRequest(path="items"), NextUrlPaging()))


def test_continuation_token_paging_sends_the_token_back_until_there_is_none() -> None:
    client = answering(
        {
            f"https://{HOST}/v1/reports": httpx.Response(200, json={"rows": [1, 2], "continuation_token": "t2"}),
            f"https://{HOST}/v1/reports?continuation_token=t2": httpx.Response(200, json={"rows": [3]}),
        }
    )
    pages = list(client.pages(PageRequest(path="reports"), ContinuationTokenPaging(items_key="rows")))
    assert [row for page in pages for row in page.items] == [1, 2, 3]


def test_offset_paging_stops_at_the_total() -> None:
    paging = OffsetPaging(items_key="campaigns", limit=2, total_key="paging.total_results")
    client = answering(
        {
            f"https://{HOST}/v1/campaigns?offset=0&limit=2": httpx.Response(200, json={"campaigns": ["a", "b"], "paging": {"total_results": 3}}),
            f"https://{HOST}/v1/campaigns?offset=2&limit=2": httpx.Response(200, json={"campaigns": ["c"], "paging": {"total_results": 3}}),
        }
    )
    assert [c for page in client.pages(paging.first("campaigns"), paging) for c in page.items] == ["a", "b", "c"]


def test_graphql_after_paging_asks_after_the_last_id_and_ends_on_an_empty_page() -> None:
    def body(after: int | None) -> str:
        return httpx.Request("POST", "https://x", json={"query": "q", "variables": {"after": after}}).content.decode()

    client = answering(
        {
            f"https://{HOST}/v1/graphql|{body(None)}": httpx.Response(200, json={"data": {"products": [{"id": 5}, {"id": 9}]}}),
            f"https://{HOST}/v1/graphql|{body(9)}": httpx.Response(200, json={"data": {"products": [{"id": 11}]}}),
            f"https://{HOST}/v1/graphql|{body(11)}": httpx.Response(200, json={"data": {"products": []}}),
        }
    )
    first = PageRequest(method="POST", path=f"https://{HOST}/v1/graphql", json_body={"query": "q", "variables": {"after": None}})
    ids = [item["id"] for page in client.pages(first, GraphQLAfterPaging("products")) for item in page.items]
    assert ids == [5, 9, 11]


def test_an_answer_that_is_not_the_paged_shape_is_an_unexpected_response() -> None:
    client = answering({f"https://{HOST}/v1/items": httpx.Response(200, json={"items": "not a list"})})
    with pytest.raises(UnexpectedResponse, match="not a list"):
        list(client.pages(PageRequest(path="items"), NextUrlPaging()))
