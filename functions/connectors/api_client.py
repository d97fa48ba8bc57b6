"""The base every API client stands on: send through `HttpService`, read answers into pydantic models,
and walk pages — the same way for every API.

- `ApiClient.send` sends one logical request (rate limit, retries and typed errors come from
  `HttpService`); with a `TokenSource` whose token can be renewed, a 401 renews it and sends once more.
- `ApiClient.parse` / `parse_list` is the one response-parsing step: JSON into the given model, or
  `UnexpectedResponse` (permanent) naming what did not fit.
- `ApiClient.pages` walks any `Paging` strategy (Link header, `next` URL, continuation token, offset,
  GraphQL `after`): every page is parsed the same way, and every URL-following step is held to the same
  guard — the next page must be on the API's own scheme, host and port (it would receive the
  credentials) and must not repeat a page already read; a cursor that does not move ends the walk
  with an error instead of looping.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from functions.connectors.errors import AuthenticationFailed, UnexpectedResponse
from functions.connectors.http import HttpService
from functions.connectors.link_header import parse_link_header

RAW_BODY_LIMIT = 2000

Model = TypeVar("Model", bound=BaseModel)


class TokenSource(Protocol):
    """Supplies an access token's headers; `renew` drops a token the API refused (401) and says
    whether a new one can be had (a static API key cannot)."""

    def headers(self) -> dict[str, str]: ...

    def renew(self) -> bool: ...


class StaticToken:
    """A token that does not change during an invocation (an API key read from Secrets Manager)."""

    def __init__(self, header_name: str, value_format: str, token: Any):
        self._header = header_name
        self._format = value_format
        self._token = token  # a callable returning the current value (the secrets cache refreshes it)

    def headers(self) -> dict[str, str]:
        return {self._header: self._format.format(token=self._token())}

    def renew(self) -> bool:
        return False


@dataclass(frozen=True)
class PageRequest:
    """One page's request. `path` is relative to the base URL, or an absolute URL to follow."""

    method: str = "GET"
    path: str = ""
    params: dict[str, Any] | None = None
    json_body: Any = None


@dataclass(frozen=True)
class Page:
    items: list[Any]
    body: Any
    response: httpx.Response


class Paging(Protocol):
    """How one API pages: where the items are in an answer, and the request for the next page.
    A strategy raises ValueError when an answer is not the paged shape it expects."""

    def items(self, body: Any, response: httpx.Response) -> list[Any]: ...

    def next_request(self, current: PageRequest, page: Page) -> PageRequest | None: ...


@dataclass(frozen=True)
class LinkHeaderPaging:
    """Items are the JSON array itself; the next page is the `Link: <...>; rel="next"` target (RFC 8288)."""

    def items(self, body: Any, response: httpx.Response) -> list[Any]:
        if not isinstance(body, list):
            raise ValueError("expected a JSON array of items")
        return body

    def next_request(self, current: PageRequest, page: Page) -> PageRequest | None:
        if not page.items:
            return None
        following = next_link(page.response)
        return PageRequest(method=current.method, path=following) if following else None


@dataclass(frozen=True)
class NextUrlPaging:
    """Items under `items_key`; the next page is the absolute URL under `next_key` (null on the last)."""

    items_key: str = "items"
    next_key: str = "next"

    def items(self, body: Any, response: httpx.Response) -> list[Any]:
        return _list_under(body, self.items_key, response)

    def next_request(self, current: PageRequest, page: Page) -> PageRequest | None:
        following = page.body.get(self.next_key) if isinstance(page.body, dict) else None
        return PageRequest(method=current.method, path=following) if isinstance(following, str) and following else None


@dataclass(frozen=True)
class ContinuationTokenPaging:
    """Items under `items_key`; the answer's `token_key` goes back as the `param` query parameter."""

    items_key: str
    token_key: str = "continuation_token"
    param: str = "continuation_token"

    def items(self, body: Any, response: httpx.Response) -> list[Any]:
        return _list_under(body, self.items_key, response)

    def next_request(self, current: PageRequest, page: Page) -> PageRequest | None:
        token = _dig(page.body, self.token_key)
        if not isinstance(token, str) or not token:
            return None
        return replace(current, params={**(current.params or {}), self.param: token})


@dataclass(frozen=True)
class OffsetPaging:
    """Items under `items_key`; pages by `offset`/`limit` query parameters until `total_key` is reached
    (or a short page when the API gives no total)."""

    items_key: str
    limit: int
    total_key: str | None = None
    offset_param: str = "offset"
    limit_param: str = "limit"

    def first(self, path: str, params: dict[str, Any] | None = None) -> PageRequest:
        return PageRequest(path=path, params={**(params or {}), self.offset_param: 0, self.limit_param: self.limit})

    def items(self, body: Any, response: httpx.Response) -> list[Any]:
        return _list_under(body, self.items_key, response)

    def next_request(self, current: PageRequest, page: Page) -> PageRequest | None:
        offset = int((current.params or {}).get(self.offset_param, 0)) + len(page.items)
        total = _dig(page.body, self.total_key) if self.total_key else None
        done = (isinstance(total, int) and offset >= total) or (total is None and len(page.items) < self.limit) or not page.items
        return None if done else replace(current, params={**(current.params or {}), self.offset_param: offset})


@dataclass(frozen=True)
class GraphQLAfterPaging:
    """A GraphQL list with `after` = the last id seen; the walk ends on an EMPTY page (a short page
    proves nothing when the server's page size is not documented)."""

    field_name: str  # the root field holding the list, e.g. "products"
    after_variable: str = "after"
    id_key: str = "id"

    def items(self, body: Any, response: httpx.Response) -> list[Any]:
        data = body.get("data") if isinstance(body, dict) else None
        value = (data or {}).get(self.field_name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValueError(f"{self.field_name} is not a list")
        return value

    def next_request(self, current: PageRequest, page: Page) -> PageRequest | None:
        if not page.items:
            return None
        ids: list[int] = [item[self.id_key] for item in page.items if isinstance(item, dict) and isinstance(item.get(self.id_key), int)]
        if not ids:
            return None
        body = dict(current.json_body or {})
        variables = {**body.get("variables", {}), self.after_variable: max(ids)}
        return replace(current, json_body={**body, "variables": variables})


@dataclass
class ApiClient:
    """A client of one API over one `HttpService` (base URL, credential headers, limiter, retries)."""

    http: HttpService
    tokens: TokenSource | None = None
    renewals: int = field(default=0, init=False)
    sent: int = field(default=0, init=False)  # logical requests sent (a figure for callers' budgets)

    @property
    def service(self) -> str:
        return self.http.service

    def send(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        form_body: dict[str, str] | None = None,
        content: bytes | None = None,
        files: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One logical request. A 401 with a renewable token renews it and sends once more (the API
        refused a token that looked valid: revoked or expired early)."""
        arguments: dict[str, Any] = dict(
            idempotent=idempotent, params=params, json_body=json_body, form_body=form_body, content=content, files=files
        )
        self.sent += 1
        try:
            return self.http.request(method, path, headers=self._headers(headers), **arguments)
        except AuthenticationFailed as exc:
            if exc.status != 401 or self.tokens is None or not self.tokens.renew():
                raise
            self.renewals += 1
            return self.http.request(method, path, headers=self._headers(headers), **arguments)

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {**(extra or {}), **(self.tokens.headers() if self.tokens is not None else {})}

    # reading answers -------------------------------------------------------------------------------
    def json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise self.unexpected(response, "response was not JSON") from None

    def parse(self, response: httpx.Response, model: type[Model], body: Any = None) -> Model:
        """The answer (or `body`, a part of it) as `model`, or `UnexpectedResponse` naming what did not fit."""
        value = self.json(response) if body is None else body
        if not isinstance(value, dict):
            raise self.unexpected(response, f"expected a JSON object for {model.__name__}")
        try:
            return model.model_validate(value)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
            raise self.unexpected(response, f"not a {model.__name__}: {problems}") from None

    def parse_list(self, response: httpx.Response, model: type[Model], items: list[Any]) -> list[Model]:
        return [self.parse(response, model, item) for item in items]

    def unexpected(self, response: httpx.Response, problem: str) -> UnexpectedResponse:
        where = f"{response.request.method} {response.request.url.path}"
        return UnexpectedResponse(self.service, f"{where}: {problem}", response.status_code, response.text[:RAW_BODY_LIMIT])

    # paging ----------------------------------------------------------------------------------------
    def pages(self, first: PageRequest, paging: Paging, *, idempotent: bool = True) -> Iterator[Page]:
        """Every page from `first` on, as `paging` says, under the shared next-page guard."""
        request: PageRequest | None = first
        seen: set[str] = set()
        while request is not None:
            if request.path.startswith(("http://", "https://")):
                self._guard_same_origin(request.path)
            response = self.send(request.method, request.path, idempotent=idempotent, params=request.params, json_body=request.json_body)
            fingerprint = f"{response.request.url}|{json.dumps(request.json_body, sort_keys=True, default=str)}"
            if fingerprint in seen:
                raise self.unexpected(response, f"the next page repeats a page already read: {str(response.request.url)[:200]}")
            seen.add(fingerprint)
            body = self.json(response)
            try:
                page = Page(items=paging.items(body, response), body=body, response=response)
                following = paging.next_request(request, page)
            except ValueError as exc:  # the answer is not the paged shape this API documents
                raise self.unexpected(response, str(exc)) from None
            yield page
            request = following

    def _guard_same_origin(self, url: str) -> None:
        link, origin = httpx.URL(url), httpx.URL(self.http.base_url)
        if (link.scheme, link.host, link.port) != (origin.scheme, origin.host, origin.port):
            raise UnexpectedResponse(self.service, f"refusing to follow a next-page link to another host than {origin.host}: {url[:200]}")


# ------------------------------------------------------------------------------------------ helpers
def _dig(body: Any, dotted: str | None) -> Any:
    value = body
    for part in (dotted or "").split("."):
        if not part:
            continue
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _list_under(body: Any, key: str, response: httpx.Response) -> list[Any]:
    value = _dig(body, key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{key} is not a list")
    return value


def next_link(response: httpx.Response) -> str | None:
    """The absolute URL of `rel="next"`, resolved against the request URL; None on the last page."""
    for header in response.headers.get_list("link"):
        for url, params in parse_link_header(header):
            if "next" in params.get("rel", "").lower().split():
                return str(response.request.url.join(url))
    return None
