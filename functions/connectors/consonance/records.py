"""Consonance records as the connector's GraphQL documents select them: camelCase on the wire,
unknown fields ignored. The mapping (`mapping.py`) turns them into domain models; nothing outside the
Consonance adapter reads these shapes.

Fields marked "inferred" are not in the transcribed spec (see extensions.graphql)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_SPOTIFY_LINK_ROLE = "_26"
LINK_DESCRIPTION_PREFIX = "Spotify: "

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
    # contributor promotion (selected by the promotion query only)
    typename: str | None = Field(default=None, alias="__typename")
    contact_tags: tuple[str, ...] = Field(default=(), alias="contactTags")
    biographical_note: str | None = Field(default=None, alias="biographicalNote")


class ContributionRecord(ConsonanceModel):
    id: int | None = None
    sequence_number: int = Field(alias="sequenceNumber")
    role_code: str = Field(alias="onixContributorRoleCode")
    contributor: ContributorRecord


class MarketingTextRecord(ConsonanceModel):
    id: int | None = None
    external_text: str = Field(default="", alias="externalText")
    internal_text_markdown: str = Field(default="", alias="internalTextMarkdown")


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
    file_size: int | None = Field(default=None, alias="fileSize")  # a BigInt: JSON number or string
    created_at: datetime | None = Field(default=None, alias="createdAt")


class ExtentRecord(ConsonanceModel):
    """One ONIX extent of a product (inferred field `Product.extents`): list 23 type, value, list 24 unit."""

    type_code: str = Field(alias="onixExtentTypeCode")
    value: str = Field(alias="extentValue")
    unit_code: str = Field(alias="onixExtentUnitCode")


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
    file_size: int | None = Field(default=None, alias="fileSize")
    filename: str | None = None
    created_at: datetime | None = Field(default=None, alias="createdAt")
    status: str | None = None  # inferred field (contributor promotion)
    copyright: str | None = None


class LicensedRightRecord(ConsonanceModel):
    id: int
    right_type: str = Field(alias="rightType")


class ClientRecord(ConsonanceModel):
    """A contract's party (`Contract.client`); the schema shows only its name."""

    name: str | None = None


class ContractRecord(ConsonanceModel):
    id: int
    contract_name: str = Field(default="", alias="contractName")
    signed_date: date | None = Field(default=None, alias="signedDate")
    terminated_date: date | None = Field(default=None, alias="terminatedDate")
    licensed_rights: tuple[LicensedRightRecord, ...] = Field(default=(), alias="licensedRights")
    # Selected by the licence sweep only (the `BrandedLicence` fragment):
    client: ClientRecord | None = None
    termination_reason: str | None = Field(default=None, alias="terminationReason")
    approval_status: str | None = Field(default=None, alias="approvalStatus")  # inferred field


class WorkRecord(ConsonanceModel):
    id: int
    title: str | None = None
    work_type: str | None = Field(default=None, alias="workType")
    series_memberships: tuple[SeriesMembershipRecord, ...] = Field(default=(), alias="seriesMemberships")
    supporting_resources: tuple[SupportingResourceRecord, ...] = Field(default=(), alias="supportingResources")
    contracts: tuple[ContractRecord, ...] = ()  # inferred field
    # contributor promotion (selected by the promotion query only)
    bics: tuple[str, ...] | None = None
    bisacs: tuple[str, ...] | None = None
    products: tuple["ProductRecord", ...] = ()


class SubjectCodeRecord(ConsonanceModel):
    """A work's subject code (`Work.subjectCodes`, inferred): the scheme is the code's type."""

    typename: str = Field(alias="__typename")  # Thema | BISAC | BIC
    code: str
    description: str | None = None
    main: bool = False


class DatedProductRecord(ConsonanceModel):
    """A product of a work with its dates (the analytics read which of them is the book)."""

    typename: str | None = Field(default=None, alias="__typename")
    id: int
    publication_date: date | None = Field(default=None, alias="publicationDate")
    planned_publication_date: date | None = Field(default=None, alias="plannedPublicationDate")


class AnalyticsWorkRecord(ConsonanceModel):
    """A work as the analytics' `AnalyticsWork` fragment selects it."""

    id: int
    title: str | None = None
    series_memberships: tuple[SeriesMembershipRecord, ...] = Field(default=(), alias="seriesMemberships")
    contributions: tuple[ContributionRecord, ...] = ()
    subject_codes: tuple[SubjectCodeRecord, ...] = Field(default=(), alias="subjectCodes")  # inferred
    products: tuple[DatedProductRecord, ...] = ()


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
    extents: tuple[ExtentRecord, ...] = ()  # inferred
    work: WorkRecord | None = None

    def spotify_link(self, role: str = DEFAULT_SPOTIFY_LINK_ROLE) -> WebLinkRecord | None:
        """The product's web link to Spotify (the write-back's target), if one was written before."""
        for link in self.web_links:
            host = urlsplit(link.link).hostname or ""
            if link.role == role and (host == "spotify.com" or host.endswith(".spotify.com")):
                return link
        return None


WorkRecord.model_rebuild()


class SpotifyLinkWrite(ConsonanceModel):
    """One product's write-back: create a web link (the Spotify link unless `label`/`role` say which
    other one), or update the one we created before."""

    product_id: int
    url: str
    status: str  # e.g. "live", "draft", "withdrawn", "taken down"
    existing_link_id: int | None = None
    label: str = LINK_DESCRIPTION_PREFIX.removesuffix(": ")  # the description reads "<label>: <status>"
    role: str | None = None  # None: the client's configured Spotify link role

    @property
    def description(self) -> str:
        """What people see on the product's web link in Consonance."""
        return f"{self.label}: {self.status}"

    @staticmethod
    def status_in(description: str | None) -> str | None:
        """The status a link description written by this integration shows (None for another text)."""
        if description is None or not description.startswith(LINK_DESCRIPTION_PREFIX):
            return None
        return description.removeprefix(LINK_DESCRIPTION_PREFIX)


class InternalNoteWrite(ConsonanceModel):
    """One internal marketing text: created on a work (and its products), or updated in place.

    Only the internal text carries the note; the required external text is a fixed line that says it
    is not for publication, and no ONIX variant is set (see functions/consonance_writes.py)."""

    work_id: int | None = None
    product_ids: tuple[int, ...] = ()
    internal_markdown: str
    external_markdown: str
    existing_text_id: int | None = None
    client_reference: str = ""

    def mutation_input(self) -> dict[str, Any]:
        if self.existing_text_id is not None:
            return {
                "clientMutationId": self.client_reference,
                "id": self.existing_text_id,
                "internalTextMarkdown": self.internal_markdown,
                "externalTextMarkdown": self.external_markdown,
            }
        created: dict[str, Any] = {
            "clientMutationId": self.client_reference,
            "internalTextMarkdown": self.internal_markdown,
            "externalTextMarkdown": self.external_markdown,
        }
        if self.work_id is not None:
            created["workId"] = self.work_id
        if self.product_ids:
            created["productIds"] = list(self.product_ids)
        return created


class NoteWriteResult(ConsonanceModel):
    text_id: int | None = None
    errors: list[str] = Field(default_factory=list)
    field_errors: list["MutationFieldError"] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


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
