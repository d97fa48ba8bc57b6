"""Consonance GraphQL client: changed audio products (the poller), products by id (look-ups before a
write), and the write-backs (web links; internal marketing texts).

Wire facts this client relies on:
- one endpoint, `POST <consonance_url>` (the URL ends in `/graphql`), Bearer API key (the token source);
- GraphQL answers HTTP 200 even when the request failed: `{"errors": [...]}` is turned into typed
  errors here (authorisation → `AuthenticationFailed`, anything else → `RequestRejected`);
- `products(productSearch: {changedSince, after})` has no page-size argument: the server returns one
  page ordered by id, and the next page is asked for with `after` = the last id seen; the walk ends on
  an EMPTY page (the kit's `GraphQLAfterPaging`; a short page proves nothing);
- `changedSince` is a DATE and fires for sibling changes (work, contract, contributor), so callers
  compare content before acting;
- queries are idempotent (retried on 5xx/timeouts); mutations are not (`AmbiguousWrite` instead).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from functions.connectors.api_client import ApiClient, GraphQLAfterPaging, PageRequest, TokenSource
from functions.connectors.consonance.queries import (
    CHANGED_AUDIO_PRODUCTS_QUERY,
    CHANGED_PROMOTED_WORKS_QUERY,
    INTERNAL_NOTES,
    CHANGED_PRODUCT_KINDS_QUERY,
    branded_products_by_id_query,
    SPOTIFY_LINKS,
    analytics_works_query,
    BatchMutation,
    WriteOperation,
    link_alias,
    notes_of_works_query,
    products_by_id_query,
)
from functions.connectors.consonance.records import (
    DEFAULT_SPOTIFY_LINK_ROLE,
    AnalyticsWorkRecord,
    GraphQLErrorEntry,
    GraphQLResponse,
    InternalNoteWrite,
    MarketingTextRecord,
    MutationFieldError,
    NoteWriteResult,
    ProductRecord,
    SpotifyLinkWrite,
    WorkRecord,
    WriteResult,
)
from functions.connectors.errors import AuthenticationFailed, RequestRejected, UnexpectedResponse
from functions.connectors.http import HttpService

if TYPE_CHECKING:
    from functions.connectors.consonance.title_queries import AudienceSource, SubjectSource
    from functions.connectors.consonance.titles import MarketedWorkRecord

SERVICE = "consonance"
DEFAULT_PRODUCT_TYPES: tuple[str, ...] = ("ElectronicAudioProduct",)


class ConsonanceClient:
    """Talks to Consonance through an `HttpService` whose base URL is the GraphQL endpoint."""

    def __init__(
        self,
        http: HttpService,
        *,
        tokens: TokenSource | None = None,
        product_types: Sequence[str] = DEFAULT_PRODUCT_TYPES,
        link_role: str = DEFAULT_SPOTIFY_LINK_ROLE,
    ):
        self.api = ApiClient(http, tokens)
        self.product_types = tuple(product_types)
        self.link_role = link_role

    # reads -----------------------------------------------------------------------------------
    def changed_products(self, changed_since: date, after: int | None) -> list[ProductRecord]:
        """One page of audio products changed on or after the date, ids greater than `after`."""
        page = next(self.api.pages(self._changed_since(changed_since, after), GraphQLAfterPaging("products")))
        self._raise_errors("ChangedAudioProducts", page.body, page.response)
        return [self._product(raw) for raw in page.items]

    def iter_changed_products(self, changed_since: date, after: int | None = None) -> Iterator[ProductRecord]:
        """Every audio product changed on or after the date with an id above `after`, page by page,
        until Consonance returns an empty page."""
        for page in self.api.pages(self._changed_since(changed_since, after), GraphQLAfterPaging("products")):
            self._raise_errors("ChangedAudioProducts", page.body, page.response)
            yield from (self._product(raw) for raw in page.items)

    def iter_changed_product_kinds(self, changed_since: date) -> Iterator[tuple[int, str | None]]:
        """(product id, its work's type) of every audio product changed on or after the date: the light
        look the licence sweep takes before reading the branded ones in full."""
        request = self._changed_since(changed_since, None, CHANGED_PRODUCT_KINDS_QUERY, "ChangedProductKinds")
        for page in self.api.pages(request, GraphQLAfterPaging("products")):
            self._raise_errors("ChangedProductKinds", page.body, page.response)
            for raw in page.items:
                if isinstance(raw, dict) and isinstance(raw.get("id"), int):
                    work = raw.get("work")
                    yield raw["id"], work.get("workType") if isinstance(work, dict) else None

    def branded_products(self, product_ids: Sequence[int], *, contract_status: bool = True) -> dict[int, ProductRecord]:
        """Products by id with each contract's party, termination reason and (unless the deployment
        works around the inferred field) approval status, in ONE request: what the licence sweep maps."""
        return self._products_by_id(product_ids, lambda count: branded_products_by_id_query(count, contract_status), "BrandedProductsById")

    def _changed_since(
        self, changed_since: date, after: int | None, document: str = CHANGED_AUDIO_PRODUCTS_QUERY, operation: str = "ChangedAudioProducts"
    ) -> PageRequest:
        return PageRequest(
            method="POST",
            path=self.api.http.base_url,  # the base URL is the GraphQL endpoint itself
            json_body=_document(
                document,
                operation,
                {"since": changed_since.isoformat(), "after": after, "productTypes": list(self.product_types)},
            ),
        )

    def iter_changed_works(self, changed_since: date) -> Iterator[WorkRecord]:
        """Every work with a product changed on or after the date (contributor promotion), each once, with
        all its products, contributions and supporting resources; page by page with `after`."""
        first = PageRequest(
            method="POST",
            path=self.api.http.base_url,
            json_body=_document(CHANGED_PROMOTED_WORKS_QUERY, "ChangedPromotedWorks", {"since": changed_since.isoformat(), "after": None}),
        )
        seen: set[int] = set()
        for page in self.api.pages(first, GraphQLAfterPaging("products")):
            self._raise_errors("ChangedPromotedWorks", page.body, page.response)
            for raw in page.items:
                work = raw.get("work") if isinstance(raw, dict) else None
                if not isinstance(work, dict) or work.get("id") in seen:
                    continue
                seen.add(work["id"])
                try:
                    yield WorkRecord.model_validate(work)
                except ValidationError as exc:
                    raise UnexpectedResponse(SERVICE, f"work {work.get('id')} does not match the queried shape: {exc.error_count()} errors") from exc

    def product(self, product_id: int) -> ProductRecord | None:
        """One product by id (any type), or None when Consonance has no such product."""
        return self.products([product_id]).get(product_id)

    def products(self, product_ids: Sequence[int]) -> dict[int, ProductRecord]:
        """Products by id, in ONE request (an aliased `product` field per id; the schema has no id list
        search); ids Consonance does not know are left out."""
        return self._products_by_id(product_ids, products_by_id_query, "ProductsById")

    def _products_by_id(self, product_ids: Sequence[int], document: Callable[[int], str], operation: str) -> dict[int, ProductRecord]:
        ids = list(dict.fromkeys(product_ids))
        if not ids:
            return {}
        data = self._query(document(len(ids)), operation, {f"id{i}": pid for i, pid in enumerate(ids)})
        found: dict[int, ProductRecord] = {}
        for index in range(len(ids)):
            raw = data.get(f"p{index}")
            if raw is not None:
                record = self._product(raw)
                if record.id is not None:
                    found[record.id] = record
        return found

    # writes ----------------------------------------------------------------------------------
    def record_spotify_links(self, writes: list[SpotifyLinkWrite]) -> list[WriteResult]:
        """Create or update the Spotify web link on each product, in ONE request (aliased mutations).

        createWebLink / updateWebLink are inferred mutations (listed by the docs, not transcribed).
        Not idempotent: a lost answer raises `AmbiguousWrite`, and the caller re-reads the product's
        web links (`product(...).spotify_link()`) before creating again.
        """
        operations: list[WriteOperation] = ["create" if w.existing_link_id is None else "update" for w in writes]
        answers = self._write_batch(SPOTIFY_LINKS, operations, [self._link_input(w) for w in writes])
        results: list[WriteResult] = []
        for write, (record_id, messages, field_errors) in zip(writes, answers, strict=True):
            link_id = record_id if not messages else write.existing_link_id
            results.append(WriteResult(product_id=write.product_id, link_id=link_id, errors=messages, field_errors=field_errors))
        return results

    def record_internal_notes(self, writes: list[InternalNoteWrite]) -> list[NoteWriteResult]:
        """Create or update internal marketing texts, in ONE request. `updateMarketingText` is inferred;
        a create is not idempotent (a lost answer raises `AmbiguousWrite`: look the note up by its
        marker with `notes_of_works` before creating again)."""
        operations: list[WriteOperation] = ["create" if w.existing_text_id is None else "update" for w in writes]
        answers = self._write_batch(INTERNAL_NOTES, operations, [w.mutation_input() for w in writes])
        return [
            NoteWriteResult(text_id=record_id if not messages else write.existing_text_id, errors=messages, field_errors=field_errors)
            for write, (record_id, messages, field_errors) in zip(writes, answers, strict=True)
        ]

    def notes_of_works(self, work_ids: Sequence[int]) -> dict[int, list[MarketingTextRecord]]:
        """The marketing texts of each work (with their internal text), in one request."""
        ids = list(dict.fromkeys(work_ids))
        if not ids:
            return {}
        data = self._query(notes_of_works_query(len(ids)), "NotesOfWorks", {f"id{i}": wid for i, wid in enumerate(ids)})
        found: dict[int, list[MarketingTextRecord]] = {}
        for index, work_id in enumerate(ids):
            raw = data.get(f"n{index}")
            if isinstance(raw, dict):
                found[work_id] = [MarketingTextRecord.model_validate(text) for text in raw.get("marketingTexts") or []]
        return found

    def analytics_works(self, work_ids: Sequence[int]) -> dict[int, AnalyticsWorkRecord]:
        """Works by id with what the listening analytics groups them by, in one request; ids Consonance
        does not know are left out. A work the connector cannot read is an `UnexpectedResponse`."""
        ids = list(dict.fromkeys(work_ids))
        if not ids:
            return {}
        data = self._query(analytics_works_query(len(ids)), "AnalyticsWorks", {f"id{i}": wid for i, wid in enumerate(ids)})
        found: dict[int, AnalyticsWorkRecord] = {}
        for index in range(len(ids)):
            raw = data.get(f"a{index}")
            if raw is None:
                continue
            try:
                record = AnalyticsWorkRecord.model_validate(raw)
            except ValidationError as exc:
                raise UnexpectedResponse(SERVICE, f"AnalyticsWorks: work {ids[index]} has an unexpected shape: {exc.errors()[0]['msg']}") from None
            found[record.id] = record
        return found

    def _write_batch(
        self, batch: BatchMutation, operations: list[WriteOperation], inputs: list[dict[str, Any]]
    ) -> list[tuple[int | None, list[str], list[MutationFieldError]]]:
        """Send one aliased mutation per input; per item: (the written record's id, error messages,
        field errors). GraphQL errors without an item's path fail the whole batch."""
        if not inputs:
            return []
        variables = {link_alias(i): value for i, value in enumerate(inputs)}
        response = self._post(batch.document(operations), batch.operation_name, variables, idempotent=False)
        by_alias: dict[str, list[GraphQLErrorEntry]] = {}
        for error in response.errors:
            if error.is_authorisation_failure():
                raise AuthenticationFailed(SERVICE, f"write-back not authorised: {error.message}", 200)
            alias = error.path[0] if error.path else None
            if not isinstance(alias, str) or alias not in variables:
                raise RequestRejected(SERVICE, f"write-back rejected: {_messages(response.errors)}", 200)
            by_alias.setdefault(alias, []).append(error)
        data = response.data or {}
        answers: list[tuple[int | None, list[str], list[MutationFieldError]]] = []
        for index in range(len(inputs)):
            alias = link_alias(index)
            payload = data.get(alias)
            field_errors = [MutationFieldError.model_validate(e) for e in (payload or {}).get("errors") or []]
            messages = [e.text() for e in field_errors] + [f"{alias}: {e.message}" for e in by_alias.get(alias, [])]
            if payload is None and not messages:
                messages.append(f"{alias}: no payload returned")
            record = (payload or {}).get(batch.result_key) or {}
            answers.append((record.get("id") if not messages else None, messages, field_errors))
        return answers

    def _link_input(self, write: SpotifyLinkWrite) -> dict[str, Any]:
        target = {"productId": write.product_id} if write.existing_link_id is None else {"id": write.existing_link_id}
        return {
            "clientMutationId": str(write.product_id),
            **target,
            "link": write.url,
            "role": write.role or self.link_role,
            "description": write.description,  # inferred field
        }

    # titles (marketing) ----------------------------------------------------------------------
    def changed_title_works(self, changed_since: date, product_types: Sequence[str]) -> list[int]:
        """Ids of the works with a product of `product_types` changed on or after the date (every page)."""
        from functions.connectors.consonance.title_queries import CHANGED_TITLE_PRODUCTS_QUERY
        from functions.connectors.consonance.titles import ChangedProductRecord

        first = PageRequest(
            method="POST",
            path=self.api.http.base_url,
            json_body=_document(
                CHANGED_TITLE_PRODUCTS_QUERY,
                "ChangedTitleProducts",
                {"since": changed_since.isoformat(), "after": None, "productTypes": list(product_types)},
            ),
        )
        works: dict[int, None] = {}
        for page in self.api.pages(first, GraphQLAfterPaging("products")):
            self._raise_errors("ChangedTitleProducts", page.body, page.response)
            for raw in page.items:
                record = self.api.parse(page.response, ChangedProductRecord, raw)
                if record.work is not None:
                    works[record.work.id] = None
        return list(works)

    def marketed_works(self, work_ids: Sequence[int], subjects: SubjectSource, audience: AudienceSource) -> dict[int, MarketedWorkRecord]:
        """Works by id with their editions, in ONE request; ids Consonance does not know are left out."""
        from functions.connectors.consonance.title_queries import marketed_works_query, title_alias
        from functions.connectors.consonance.titles import MarketedWorkRecord

        ids = list(dict.fromkeys(work_ids))
        if not ids:
            return {}
        data = self._query(marketed_works_query(len(ids), subjects, audience), "MarketedWorks", {f"id{i}": wid for i, wid in enumerate(ids)})
        found: dict[int, MarketedWorkRecord] = {}
        for index, work_id in enumerate(ids):
            raw = data.get(title_alias(index))
            if raw is None:
                continue
            try:
                found[work_id] = MarketedWorkRecord.model_validate(raw)
            except ValidationError as exc:
                raise UnexpectedResponse(SERVICE, f"work {work_id} does not match the queried shape: {exc.error_count()} errors") from exc
        return found

    # schema ----------------------------------------------------------------------------------
    def introspect(self, document: str) -> dict[str, Any]:
        """The live schema as an introspection `document` answers it (`data` with `__schema`): what
        `infra.ops doctor` holds the project's documents against. Read-only, so retried like a query;
        a server with introspection turned off answers a `RequestRejected`."""
        return self._query(document, "IntrospectionQuery", {})

    # transport -------------------------------------------------------------------------------
    def _query(self, document: str, operation: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = self._post(document, operation, variables, idempotent=True)
        if response.errors:
            raise typed_graphql_error(operation, response.errors)
        return response.data or {}

    def _post(self, document: str, operation: str, variables: dict[str, Any], *, idempotent: bool) -> GraphQLResponse:
        http_response = self.api.send(
            "POST", self.api.http.base_url, idempotent=idempotent, json_body=_document(document, operation, variables)
        )
        return self.api.parse(http_response, GraphQLResponse)

    def _raise_errors(self, operation: str, body: Any, response: Any) -> None:
        parsed = self.api.parse(response, GraphQLResponse, body)
        if parsed.errors:
            raise typed_graphql_error(operation, parsed.errors)

    @staticmethod
    def _product(raw: Any) -> ProductRecord:
        try:
            return ProductRecord.model_validate(raw)
        except ValidationError as exc:
            product_id = raw.get("id") if isinstance(raw, dict) else None
            raise UnexpectedResponse(SERVICE, f"product {product_id} does not match the queried shape: {exc.error_count()} errors") from exc


def _document(document: str, operation: str, variables: dict[str, Any]) -> dict[str, Any]:
    return {"query": document, "operationName": operation, "variables": variables}


def _messages(errors: Sequence[GraphQLErrorEntry]) -> str:
    return "; ".join(e.message for e in errors)[:500]


def typed_graphql_error(operation: str, errors: Sequence[GraphQLErrorEntry]) -> AuthenticationFailed | RequestRejected:
    """GraphQL errors in an HTTP 200: authorisation → AuthenticationFailed, the rest → RequestRejected."""
    if any(e.is_authorisation_failure() for e in errors):
        return AuthenticationFailed(SERVICE, f"{operation} not authorised: {_messages(errors)}", 200)
    return RequestRejected(SERVICE, f"{operation} rejected: {_messages(errors)}", 200)
