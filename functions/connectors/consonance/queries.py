"""Every GraphQL document the Consonance connector sends, in one place.

The conformance test validates each of `ALL_DOCUMENTS` against the project's SDL
(`schema.graphql`) and against the shared, transcribed spec plus
`extensions.graphql`, so a field the real API may not have cannot slip in unnoticed.

Fields marked "inferred" below are not in the transcribed spec (see extensions.graphql):
`productionFiles` (and `ProductionFile.url`), `WebLink.description`, `SupportingResource.resourceVariant`
and `.status`, `Work.contracts`, `Work.subjectCodes`, `Work.onixContentAudienceCodes`, `Product.extents`,
`Contract.approvalStatus` (the licence sweep's; a setting avoids it), the `createWebLink` /
`updateWebLink` mutations, and `updateMarketingText`.

The write-back is ONE request per batch with aliased mutations (`w0`, `w1`, ...), so its document
depends on the batch's mix of creates and updates; `spotify_links_mutation` builds it from the fixed
per-alias pieces below, and `ALL_DOCUMENTS` carries a mixed example built the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

# Everything the mapping (functions.domain.mapping) reads from an audio product.
EPISODE_PRODUCT_FRAGMENT = """
fragment EpisodeProduct on Product {
  __typename
  id
  title
  subtitle
  fullTitle
  isbn { isbn13 }
  onixPublishingStatusCode
  allowOnixExports
  publicationDate
  plannedPublicationDate
  forSaleCountryCodes
  notForSaleCountryCodes
  isForSaleWorldwide
  contributions {
    id
    sequenceNumber
    onixContributorRoleCode
    contributor { id name }
  }
  marketingTexts(variantIn: [SHORT_DESCRIPTION]) { id externalText }
  webLinks { id link role description }
  productionFiles { id fileVariant approvalStatus allowDistribution filename url fileSize createdAt }
  extents { onixExtentTypeCode extentValue onixExtentUnitCode }
  work {
    id
    title
    workType
    seriesMemberships { id partNumber series { id name } }
    supportingResources { id resourceVariant url caption fileSize filename createdAt }
    contracts {
      id
      contractName
      signedDate
      terminatedDate
      licensedRights { id rightType }
    }
  }
}
"""
# inferred fields in the fragment: webLinks.description, productionFiles{...url}, supportingResources.resourceVariant,
# work.contracts, extents

CHANGED_AUDIO_PRODUCTS_QUERY = (
    """
query ChangedAudioProducts($since: ISO8601Date!, $after: Int, $productTypes: [ProductTypename!]) {
  products(productSearch: {changedSince: $since, after: $after, productTypes: $productTypes}) {
    ...EpisodeProduct
  }
}
"""
    + EPISODE_PRODUCT_FRAGMENT
)

# Contributor promotion: a changed product leads to its whole work — every product (descriptions,
# publication dates, contributions with the contributors' bios and tags), subjects and supporting
# resources (headshots). Products are searched because their `changedSince` fires for sibling changes
# (a contributor's bio, a work's resources); a work with several products comes back once per product.
PROMOTED_WORK_FRAGMENT = """
fragment PromotedWork on Work {
  id
  title
  workType
  bics
  bisacs
  seriesMemberships { id partNumber series { id name } }
  supportingResources { id resourceVariant url caption status copyright }
  products {
    __typename
    id
    title
    fullTitle
    publicationDate
    plannedPublicationDate
    onixPublishingStatusCode
    contributions {
      id
      sequenceNumber
      onixContributorRoleCode
      contributor {
        __typename
        id
        name
        contactTags
        ... on Person { biographicalNote }
        ... on Organisation { biographicalNote }
      }
    }
    marketingTexts(variantIn: [SHORT_DESCRIPTION]) { id externalText }
  }
}
"""
# inferred fields in the fragment: supportingResources.resourceVariant, supportingResources.status

CHANGED_PROMOTED_WORKS_QUERY = (
    """
query ChangedPromotedWorks($since: ISO8601Date!, $after: Int) {
  products(productSearch: {changedSince: $since, after: $after}) {
    id
    work { ...PromotedWork }
  }
}
"""
    + PROMOTED_WORK_FRAGMENT
)


def branded_licence_fragment(contract_status: bool) -> str:
    """What the licence sweep reads beyond `EpisodeProduct`: each contract's party, termination reason
    and — unless the deployment works around its absence (`branded.licence_approval = "signed"`) — the
    inferred `Contract.approvalStatus`."""
    status = " approvalStatus" if contract_status else ""
    return f"""
fragment BrandedLicence on Product {{
  work {{
    id
    contracts {{ id client {{ name }} terminationReason{status} }}
  }}
}}
"""


# The licence sweep's light first look: which changed audio products are of which kind of work.
CHANGED_PRODUCT_KINDS_QUERY = """
query ChangedProductKinds($since: ISO8601Date!, $after: Int, $productTypes: [ProductTypename!]) {
  products(productSearch: {changedSince: $since, after: $after, productTypes: $productTypes}) {
    id
    work { id workType }
  }
}
"""


def branded_products_by_id_query(count: int, contract_status: bool) -> str:
    """Branded products by id with their licence contracts, one aliased `product` field per id."""
    if count < 1:
        raise ValueError("a branded products query needs at least one id")
    variables = ", ".join(f"$id{i}: Int!" for i in range(count))
    fields = "\n".join(f"  p{i}: product(productSearch: {{idEq: $id{i}}}) {{ ...EpisodeProduct ...BrandedLicence }}" for i in range(count))
    return f"query BrandedProductsById({variables}) {{\n{fields}\n}}\n" + EPISODE_PRODUCT_FRAGMENT + branded_licence_fragment(contract_status)


BRANDED_PRODUCTS_QUERY = branded_products_by_id_query(2, contract_status=True)
BRANDED_PRODUCTS_SIGNED_QUERY = branded_products_by_id_query(2, contract_status=False)  # the workaround: no inferred field


def products_by_id_query(count: int) -> str:
    """One query reading `count` products by id: an aliased `product` field per id (`p0`, `p1`, ...),
    since the schema's product search has no id list."""
    if count < 1:
        raise ValueError("a products-by-id query needs at least one id")
    variables = ", ".join(f"$id{i}: Int!" for i in range(count))
    fields = "\n".join(f"  p{i}: product(productSearch: {{idEq: $id{i}}}) {{ ...EpisodeProduct }}" for i in range(count))
    return f"query ProductsById({variables}) {{\n{fields}\n}}\n" + EPISODE_PRODUCT_FRAGMENT


PRODUCT_BY_ID_QUERY = products_by_id_query(1)
THREE_PRODUCTS_BY_ID_QUERY = products_by_id_query(3)

WEB_LINK_PAYLOAD_SELECTION = "{ clientMutationId errors { field messages } webLink { id link role description } }"
NOTE_PAYLOAD_SELECTION = "{ clientMutationId errors { field messages } marketingText { id } }"

WriteOperation = Literal["create", "update"]
LinkOperation = WriteOperation


@dataclass(frozen=True)
class BatchMutation:
    """One kind of write, done for a whole batch in one document: an aliased mutation per item."""

    operation_name: str
    fields: dict[str, tuple[str, str]]  # operation -> (mutation field, input type)
    payload_selection: str
    result_key: str  # the payload field holding the written record

    def document(self, operations: Sequence[WriteOperation]) -> str:
        if not operations:
            raise ValueError("a write-back batch needs at least one operation")
        variables: list[str] = []
        selections: list[str] = []
        for index, operation in enumerate(operations):
            field, input_type = self.fields[operation]
            alias = link_alias(index)
            variables.append(f"${alias}: {input_type}!")
            selections.append(f"  {alias}: {field}(input: ${alias}) {self.payload_selection}")
        return f"mutation {self.operation_name}(" + ", ".join(variables) + ") {\n" + "\n".join(selections) + "\n}\n"


SPOTIFY_LINKS = BatchMutation(
    "RecordSpotifyLinks",
    {"create": ("createWebLink", "CreateWebLinkInput"), "update": ("updateWebLink", "UpdateWebLinkInput")},  # inferred mutations
    WEB_LINK_PAYLOAD_SELECTION,
    "webLink",
)
INTERNAL_NOTES = BatchMutation(
    "RecordInternalNotes",
    {"create": ("createMarketingText", "CreateMarketingTextInput"), "update": ("updateMarketingText", "UpdateMarketingTextInput")},
    NOTE_PAYLOAD_SELECTION,  # updateMarketingText is inferred
    "marketingText",
)


def link_alias(index: int) -> str:
    """The alias (and variable name) of the index-th mutation in a batch."""
    return f"w{index}"


def spotify_links_mutation(operations: Sequence[LinkOperation]) -> str:
    """One mutation document with an aliased createWebLink/updateWebLink per write, in order."""
    return SPOTIFY_LINKS.document(operations)


def notes_of_works_query(count: int) -> str:
    """The marketing texts of `count` works, one aliased `work` field per id (`n0`, `n1`, ...): where an
    internal note whose create answer was lost is found again."""
    if count < 1:
        raise ValueError("a notes query needs at least one work")
    variables = ", ".join(f"$id{i}: Int!" for i in range(count))
    fields = "\n".join(f"  n{i}: work(workSearch: {{idEq: $id{i}}}) {{ id marketingTexts {{ id internalTextMarkdown }} }}" for i in range(count))
    return f"query NotesOfWorks({variables}) {{\n{fields}\n}}\n"


# What the listening analytics needs of a work (its dimensions): title, series, credits, main subject
# and the products with their dates (the book's publication is the launch audio is compared with).
# `subjectCodes` is inferred (see extensions.graphql); the rest is in the transcribed spec.
ANALYTICS_WORK_FRAGMENT = """
fragment AnalyticsWork on Work {
  id
  title
  seriesMemberships { id series { id name } }
  contributions {
    id
    sequenceNumber
    onixContributorRoleCode
    contributor { id name }
  }
  subjectCodes(schemesIn: [THEMA, BISAC], mainOnly: true) { __typename code description main }
  products { __typename id publicationDate plannedPublicationDate }
}
"""


def analytics_works_query(count: int) -> str:
    """`count` works by id for the analytics dimensions, one aliased `work` field per id (`a0`, `a1`, ...)."""
    if count < 1:
        raise ValueError("an analytics works query needs at least one work")
    variables = ", ".join(f"$id{i}: Int!" for i in range(count))
    fields = "\n".join(f"  a{i}: work(workSearch: {{idEq: $id{i}}}) {{ ...AnalyticsWork }}" for i in range(count))
    return f"query AnalyticsWorks({variables}) {{\n{fields}\n}}\n" + ANALYTICS_WORK_FRAGMENT


CREATE_WEB_LINK_MUTATION = spotify_links_mutation(("create",))
UPDATE_WEB_LINK_MUTATION = spotify_links_mutation(("update",))
MIXED_SPOTIFY_LINKS_MUTATION = spotify_links_mutation(("create", "update", "create"))
MIXED_INTERNAL_NOTES_MUTATION = INTERNAL_NOTES.document(("create", "update"))
NOTES_OF_TWO_WORKS_QUERY = notes_of_works_query(2)
TWO_ANALYTICS_WORKS_QUERY = analytics_works_query(2)

ALL_DOCUMENTS: tuple[str, ...] = (
    CHANGED_AUDIO_PRODUCTS_QUERY,
    PRODUCT_BY_ID_QUERY,
    THREE_PRODUCTS_BY_ID_QUERY,
    CREATE_WEB_LINK_MUTATION,
    UPDATE_WEB_LINK_MUTATION,
    MIXED_SPOTIFY_LINKS_MUTATION,
    MIXED_INTERNAL_NOTES_MUTATION,
    NOTES_OF_TWO_WORKS_QUERY,
    CHANGED_PROMOTED_WORKS_QUERY,
    CHANGED_PRODUCT_KINDS_QUERY,
    BRANDED_PRODUCTS_QUERY,
    BRANDED_PRODUCTS_SIGNED_QUERY,
    TWO_ANALYTICS_WORKS_QUERY,
)

# Marketing (issue 7): the title queries, in every combination of their settings (title_queries.py).
from functions.connectors.consonance.title_queries import TITLE_DOCUMENTS  # noqa: E402

ALL_DOCUMENTS = ALL_DOCUMENTS + TITLE_DOCUMENTS
