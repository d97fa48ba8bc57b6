"""Every GraphQL document the Consonance connector sends, in one place.

The conformance test validates each of `ALL_DOCUMENTS` against the project's SDL
(`schema.graphql`) and against the shared, transcribed spec plus
`extensions.graphql`, so a field the real API may not have cannot slip in unnoticed.

Fields marked "inferred" below are not in the transcribed spec (see extensions.graphql):
`productionFiles` (and `ProductionFile.url`), `WebLink.description`, `SupportingResource.resourceVariant`,
`Work.contracts`, and the `createWebLink` / `updateWebLink` mutations.

The write-back is ONE request per batch with aliased mutations (`w0`, `w1`, ...), so its document
depends on the batch's mix of creates and updates; `spotify_links_mutation` builds it from the fixed
per-alias pieces below, and `ALL_DOCUMENTS` carries a mixed example built the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
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
  productionFiles { id fileVariant approvalStatus allowDistribution filename url }
  work {
    id
    title
    workType
    seriesMemberships { id partNumber series { id name } }
    supportingResources { id resourceVariant url caption }
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
# work.contracts

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

LinkOperation = Literal["create", "update"]

_MUTATION_FIELD: dict[str, tuple[str, str]] = {
    "create": ("createWebLink", "CreateWebLinkInput"),  # inferred mutation
    "update": ("updateWebLink", "UpdateWebLinkInput"),  # inferred mutation
}


def link_alias(index: int) -> str:
    """The alias (and variable name) of the index-th mutation in a batch."""
    return f"w{index}"


def spotify_links_mutation(operations: Sequence[LinkOperation]) -> str:
    """One mutation document with an aliased createWebLink/updateWebLink per write, in order."""
    if not operations:
        raise ValueError("a write-back batch needs at least one operation")
    variables: list[str] = []
    fields: list[str] = []
    for index, operation in enumerate(operations):
        field, input_type = _MUTATION_FIELD[operation]
        alias = link_alias(index)
        variables.append(f"${alias}: {input_type}!")
        fields.append(f"  {alias}: {field}(input: ${alias}) {WEB_LINK_PAYLOAD_SELECTION}")
    return "mutation RecordSpotifyLinks(" + ", ".join(variables) + ") {\n" + "\n".join(fields) + "\n}\n"


CREATE_WEB_LINK_MUTATION = spotify_links_mutation(("create",))
UPDATE_WEB_LINK_MUTATION = spotify_links_mutation(("update",))
MIXED_SPOTIFY_LINKS_MUTATION = spotify_links_mutation(("create", "update", "create"))

ALL_DOCUMENTS: tuple[str, ...] = (
    CHANGED_AUDIO_PRODUCTS_QUERY,
    PRODUCT_BY_ID_QUERY,
    THREE_PRODUCTS_BY_ID_QUERY,
    CREATE_WEB_LINK_MUTATION,
    UPDATE_WEB_LINK_MUTATION,
    MIXED_SPOTIFY_LINKS_MUTATION,
)
