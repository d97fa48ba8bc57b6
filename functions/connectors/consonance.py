"""Consonance GraphQL client: changed audio products (the poller), one product (look-ups before a
write), and the Spotify web-link write-back.

Wire facts this client relies on:
- one endpoint, `POST <consonance_url>` (the URL ends in `/graphql`), Bearer API key from `HttpService`;
- GraphQL answers HTTP 200 even when the request failed: `{"errors": [...]}` is turned into typed
  errors here (authorisation → `AuthenticationFailed`, anything else → `RequestRejected`);
- `products(productSearch: {changedSince, after})` has no page-size argument: the server returns one
  page ordered by id, and the next page is asked for with `after` = the last id seen; the walk ends on
  an EMPTY page (a short page proves nothing: the server's page size is not documented);
- `changedSince` is a DATE and fires for sibling changes (work, contract, contributor), so callers
  compare content before acting;
- queries are idempotent (retried on 5xx/timeouts); mutations are not (`AmbiguousWrite` instead).

Fields not in the transcribed spec (see consonance_extensions.graphql) are marked "inferred".
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from functions.connectors.consonance_queries import (
    CHANGED_AUDIO_PRODUCTS_QUERY,
    PRODUCT_BY_ID_QUERY,
    LinkOperation,
    link_alias,
    spotify_links_mutation,
)
from functions.connectors.errors import ApiError, AuthenticationFailed, RequestRejected
from functions.connectors.http import HttpService, json_or_error

SERVICE = "consonance"
DEFAULT_PRODUCT_TYPES: tuple[str, ...] = ("ElectronicAudioProduct",)
DEFAULT_SPOTIFY_LINK_ROLE = "_26"

# GraphQL-level authorisation failures: graphql-ruby apps report them with an extensions code or the
# usual "not authorized" wording; both are checked because neither is documented for Consonance.
_AUTH_ERROR_CODES = frozenset({"UNAUTHENTICATED", "UNAUTHORIZED", "UNAUTHORISED", "FORBIDDEN", "NOT_AUTHORIZED"})
_AUTH_ERROR_WORDING = re.compile(r"not authori[sz]ed|unauthori[sz]ed|unauthenticated|invalid api key|access denied", re.I)


class ConsonanceModel(BaseModel):
    """A record as Consonance returns it: camelCase on the wire, unknown fields ignored."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


class IsbnRecord(ConsonanceModel):
    isbn13: str | None = None


class ContributorRecord(ConsonanceModel):
    id: int
    name: str | None = None


class ContributionRecord(ConsonanceModel):
    id: int | None = None
    sequence_number: int = Field(alias="sequenceNumber")
    role_code: str = Field(alias="onixContributorRoleCode")
    contributor: ContributorRecord


class MarketingTextRecord(ConsonanceModel):
    id: int | None = None
    external_text: str = Field(default="", alias="externalText")


class WebLinkRecord(ConsonanceModel):
    id: int
    link: str
    role: str
    description: str | None = None  # inferred field


class ProductionFileRecord(ConsonanceModel):
    """A production file; the master audio is the one whose variant the mapping config names."""

    id: int | None = None
    file_variant: str = Field(alias="fileVariant")
    approval_status: str = Field(alias="approvalStatus")
    allow_distribution: str = Field(alias="allowDistribution")
    filename: str | None = None
    url: str | None = None  # inferred field


class SeriesRecord(ConsonanceModel):
    id: int | None = None
    name: str | None = None


class SeriesMembershipRecord(ConsonanceModel):
    id: int | None = None
    part_number: str | None = Field(default=None, alias="partNumber")
    series: SeriesRecord | None = None


class SupportingResourceRecord(ConsonanceModel):
    id: int
    resource_variant: str | None = Field(default=None, alias="resourceVariant")  # inferred field
    url: str | None = None
    caption: str | None = None


class LicensedRightRecord(ConsonanceModel):
    id: int
    right_type: str = Field(alias="rightType")


class ContractRecord(ConsonanceModel):
    id: int
    contract_name: str = Field(default="", alias="contractName")
    signed_date: date | None = Field(default=None, alias="signedDate")
    terminated_date: date | None = Field(default=None, alias="terminatedDate")
    licensed_rights: tuple[LicensedRightRecord, ...] = Field(default=(), alias="licensedRights")


class WorkRecord(ConsonanceModel):
    id: int
    title: str | None = None
    work_type: str | None = Field(default=None, alias="workType")
    series_memberships: tuple[SeriesMembershipRecord, ...] = Field(default=(), alias="seriesMemberships")
    supporting_resources: tuple[SupportingResourceRecord, ...] = Field(default=(), alias="supportingResources")
    contracts: tuple[ContractRecord, ...] = ()  # inferred field


class ProductRecord(ConsonanceModel):
    """A product as the connector's `EpisodeProduct` fragment selects it.

    `id` is optional only so that a malformed record reaches the mapping (which reports it) instead of
    failing the whole page; the schema declares it `Int!`.
    """

    id: int | None = None
    typename: str | None = Field(default=None, alias="__typename")
    title: str | None = None
    subtitle: str | None = None
    full_title: str | None = Field(default=None, alias="fullTitle")
    isbn: IsbnRecord | None = None
    onix_publishing_status_code: str | None = Field(default=None, alias="onixPublishingStatusCode")
    allow_onix_exports: bool = Field(default=False, alias="allowOnixExports")
    publication_date: date | None = Field(default=None, alias="publicationDate")
    planned_publication_date: date | None = Field(default=None, alias="plannedPublicationDate")
    for_sale_country_codes: tuple[str, ...] = Field(default=(), alias="forSaleCountryCodes")
    not_for_sale_country_codes: tuple[str, ...] = Field(default=(), alias="notForSaleCountryCodes")
    is_for_sale_worldwide: bool | None = Field(default=None, alias="isForSaleWorldwide")
    contributions: tuple[ContributionRecord, ...] = ()
    marketing_texts: tuple[MarketingTextRecord, ...] = Field(default=(), alias="marketingTexts")
    web_links: tuple[WebLinkRecord, ...] = Field(default=(), alias="webLinks")
    production_files: tuple[ProductionFileRecord, ...] = Field(default=(), alias="productionFiles")  # inferred
    work: WorkRecord | None = None

    def spotify_link(self, role: str = DEFAULT_SPOTIFY_LINK_ROLE) -> WebLinkRecord | None:
        """The product's web link to Spotify (the write-back's target), if one was written before."""
        for link in self.web_links:
            host = urlsplit(link.link).hostname or ""
            if link.role == role and (host == "spotify.com" or host.endswith(".spotify.com")):
                return link
        return None


class SpotifyLinkWrite(ConsonanceModel):
    """One product's write-back: create the Spotify link, or update the one we created before."""

    product_id: int
    url: str
    status: str  # e.g. "live", "draft", "withdrawn", "taken down"
    existing_link_id: int | None = None

    @property
    def description(self) -> str:
        """What people see on the product's web link in Consonance."""
        return f"Spotify: {self.status}"


class MutationFieldError(ConsonanceModel):
    """One entry of a mutation payload's `errors { field messages }`."""

    field: str | None = None
    messages: tuple[str, ...] = ()

    def text(self) -> str:
        joined = "; ".join(self.messages) or "rejected"
        return f"{self.field}: {joined}" if self.field else joined


class WriteResult(ConsonanceModel):
    """The outcome for one product. `errors` is empty when Consonance applied the write."""

    product_id: int
    link_id: int | None = None
    errors: list[str] = Field(default_factory=list)
    field_errors: list[MutationFieldError] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class GraphQLErrorEntry(ConsonanceModel):
    message: str = ""
    path: tuple[str | int, ...] | None = None
    extensions: dict[str, Any] = Field(default_factory=dict)

    def is_authorisation_failure(self) -> bool:
        code = str(self.extensions.get("code", "")).upper()
        return code in _AUTH_ERROR_CODES or bool(_AUTH_ERROR_WORDING.search(self.message))


class GraphQLResponse(ConsonanceModel):
    data: dict[str, Any] | None = None
    errors: tuple[GraphQLErrorEntry, ...] = ()


class ConsonanceClient:
    """Talks to Consonance through an `HttpService` whose base URL is the GraphQL endpoint."""

    def __init__(
        self,
        http: HttpService,
        *,
        product_types: Sequence[str] = DEFAULT_PRODUCT_TYPES,
        link_role: str = DEFAULT_SPOTIFY_LINK_ROLE,
    ):
        self.http = http
        self.product_types = tuple(product_types)
        self.link_role = link_role

    # reads -----------------------------------------------------------------------------------
    def changed_products(self, changed_since: date, after: int | None) -> list[ProductRecord]:
        """One page of audio products changed on or after the date, ids greater than `after`."""
        data = self._query(
            CHANGED_AUDIO_PRODUCTS_QUERY,
            "ChangedAudioProducts",
            {"since": changed_since.isoformat(), "after": after, "productTypes": list(self.product_types)},
        )
        return [self._product(raw) for raw in data.get("products") or []]

    def iter_changed_products(self, changed_since: date, after: int | None = None) -> Iterator[ProductRecord]:
        """Every changed audio product, page by page, until Consonance returns an empty page."""
        while True:
            page = self.changed_products(changed_since, after)
            if not page:
                return
            yield from page
            last = max((record.id for record in page if record.id is not None), default=None)
            if last is None or (after is not None and last <= after):
                raise ApiError(SERVICE, f"paging did not advance past id {after}; stopping to avoid a loop")
            after = last

    def product(self, product_id: int) -> ProductRecord | None:
        """One product by id (any type), or None when Consonance has no such product."""
        data = self._query(PRODUCT_BY_ID_QUERY, "ProductById", {"id": product_id})
        raw = data.get("product")
        return self._product(raw) if raw is not None else None

    # writes ----------------------------------------------------------------------------------
    def record_spotify_links(self, writes: list[SpotifyLinkWrite]) -> list[WriteResult]:
        """Create or update the Spotify web link on each product, in ONE request (aliased mutations).

        createWebLink / updateWebLink are inferred mutations (listed by the docs, not transcribed).
        Not idempotent: a lost answer raises `AmbiguousWrite`, and the caller re-reads the product's
        web links (`product(...).spotify_link()`) before creating again.
        """
        if not writes:
            return []
        operations: list[LinkOperation] = ["create" if w.existing_link_id is None else "update" for w in writes]
        variables = {link_alias(i): self._link_input(w) for i, w in enumerate(writes)}
        response = self._post(spotify_links_mutation(operations), "RecordSpotifyLinks", variables, idempotent=False)
        by_alias: dict[str, list[GraphQLErrorEntry]] = {}
        for error in response.errors:
            if error.is_authorisation_failure():
                raise AuthenticationFailed(SERVICE, f"write-back not authorised: {error.message}", 200)
            alias = error.path[0] if error.path else None
            if not isinstance(alias, str) or alias not in variables:
                raise RequestRejected(SERVICE, f"write-back rejected: {_messages(response.errors)}", 200)
            by_alias.setdefault(alias, []).append(error)
        data = response.data or {}
        return [self._write_result(i, w, data.get(link_alias(i)), by_alias.get(link_alias(i), [])) for i, w in enumerate(writes)]

    def _link_input(self, write: SpotifyLinkWrite) -> dict[str, Any]:
        if write.existing_link_id is None:
            return {
                "clientMutationId": str(write.product_id),
                "productId": write.product_id,
                "link": write.url,
                "role": self.link_role,
                "description": write.description,  # inferred field
            }
        return {
            "clientMutationId": str(write.product_id),
            "id": write.existing_link_id,
            "link": write.url,
            "role": self.link_role,
            "description": write.description,  # inferred field
        }

    @staticmethod
    def _write_result(
        index: int, write: SpotifyLinkWrite, payload: dict[str, Any] | None, errors: list[GraphQLErrorEntry]
    ) -> WriteResult:
        field_errors = [MutationFieldError.model_validate(e) for e in (payload or {}).get("errors") or []]
        messages = [e.text() for e in field_errors] + [f"{link_alias(index)}: {e.message}" for e in errors]
        link = (payload or {}).get("webLink") or {}
        if payload is None and not messages:
            messages.append(f"{link_alias(index)}: no payload returned")
        link_id = link.get("id") if not messages else write.existing_link_id
        return WriteResult(product_id=write.product_id, link_id=link_id, errors=messages, field_errors=field_errors)

    # transport -------------------------------------------------------------------------------
    def _query(self, document: str, operation: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = self._post(document, operation, variables, idempotent=True)
        if response.errors:
            raise typed_graphql_error(operation, response.errors)
        return response.data or {}

    def _post(self, document: str, operation: str, variables: dict[str, Any], *, idempotent: bool) -> GraphQLResponse:
        http_response = self.http.request(
            "POST",
            self.http.base_url,  # the base URL is the GraphQL endpoint itself
            idempotent=idempotent,
            json_body={"query": document, "operationName": operation, "variables": variables},
        )
        body = json_or_error(SERVICE, http_response)
        try:
            return GraphQLResponse.model_validate(body)
        except ValidationError as exc:
            raise ApiError(SERVICE, f"{operation}: not a GraphQL response", http_response.status_code) from exc

    @staticmethod
    def _product(raw: Any) -> ProductRecord:
        try:
            return ProductRecord.model_validate(raw)
        except ValidationError as exc:
            product_id = raw.get("id") if isinstance(raw, dict) else None
            raise ApiError(SERVICE, f"product {product_id} does not match the queried shape: {exc.error_count()} errors") from exc


def _messages(errors: Sequence[GraphQLErrorEntry]) -> str:
    return "; ".join(e.message for e in errors)[:500]


def typed_graphql_error(operation: str, errors: Sequence[GraphQLErrorEntry]) -> ApiError:
    """GraphQL errors in an HTTP 200: authorisation → AuthenticationFailed, the rest → RequestRejected."""
    if any(e.is_authorisation_failure() for e in errors):
        return AuthenticationFailed(SERVICE, f"{operation} not authorised: {_messages(errors)}", 200)
    return RequestRejected(SERVICE, f"{operation} rejected: {_messages(errors)}", 200)
