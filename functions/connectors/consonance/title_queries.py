"""The GraphQL documents the marketing flows send: which titles changed, and each title's work with its
editions, read in one request per batch of works (an aliased `work` field per id).

What a title query selects depends on two settings (`functions/marketing/config.py`), because two of
its facts are not in the transcribed schema (extensions.graphql, marked inferred):
- subjects: `subjectCodes { __typename code main }` (inferred; the official examples use it) or the
  schema's `bisacs` list;
- audience: `onixContentAudienceCodes` (inferred) or nothing.
Every combination is in `TITLE_DOCUMENTS`, which the conformance test validates against the project SDL
and against the shared spec plus extensions.
"""

from __future__ import annotations

from typing import Literal

SubjectSource = Literal["subject_codes", "bisac_list"]
AudienceSource = Literal["work_codes", "subjects"]

CHANGED_TITLE_PRODUCTS_QUERY = """
query ChangedTitleProducts($since: ISO8601Date!, $after: Int, $productTypes: [ProductTypename!]) {
  products(productSearch: {changedSince: $since, after: $after, productTypes: $productTypes}) {
    id
    work { id }
  }
}
"""

MARKETED_PRODUCT_FRAGMENT = """
fragment MarketedProduct on Product {
  __typename
  id
  title
  fullTitle
  isbn { isbn13 }
  onixPublishingStatusCode
  publicationDate
  plannedPublicationDate
  forSaleCountryCodes
  notForSaleCountryCodes
  isForSaleWorldwide
  contributions { sequenceNumber onixContributorRoleCode contributor { id name } }
  webLinks { id link role }
  productionFiles { id fileVariant approvalStatus allowDistribution filename url }
}
"""
# inferred fields in the fragment: productionFiles{...url}

SUBJECT_SELECTIONS: dict[SubjectSource, str] = {
    "subject_codes": "subjectCodes { __typename code main }",  # inferred
    "bisac_list": "bisacs",
}
AUDIENCE_SELECTIONS: dict[AudienceSource, str] = {
    "work_codes": "onixContentAudienceCodes",  # inferred
    "subjects": "",
}


def marketed_work_fragment(subjects: SubjectSource, audience: AudienceSource) -> str:
    selections = "\n  ".join(s for s in (SUBJECT_SELECTIONS[subjects], AUDIENCE_SELECTIONS[audience]) if s)
    return f"""
fragment MarketedWork on Work {{
  id
  title
  subtitle
  marketingTier
  season
  {selections}
  seriesMemberships {{ series {{ id }} }}
  supportingResources {{ id resourceVariant url }}
  products {{ ...MarketedProduct }}
}}
"""


def title_alias(index: int) -> str:
    return f"t{index}"


def marketed_works_query(count: int, subjects: SubjectSource = "subject_codes", audience: AudienceSource = "work_codes") -> str:
    """One query reading `count` works by id (`t0`, `t1`, ...) with everything a campaign needs."""
    if count < 1:
        raise ValueError("a works query needs at least one id")
    variables = ", ".join(f"$id{i}: Int!" for i in range(count))
    fields = "\n".join(f"  {title_alias(i)}: work(workSearch: {{idEq: $id{i}}}) {{ ...MarketedWork }}" for i in range(count))
    return f"query MarketedWorks({variables}) {{\n{fields}\n}}\n" + marketed_work_fragment(subjects, audience) + MARKETED_PRODUCT_FRAGMENT


TITLE_DOCUMENTS: tuple[str, ...] = (
    CHANGED_TITLE_PRODUCTS_QUERY,
    marketed_works_query(2, "subject_codes", "work_codes"),
    marketed_works_query(2, "subject_codes", "subjects"),
    marketed_works_query(2, "bisac_list", "work_codes"),
    marketed_works_query(2, "bisac_list", "subjects"),
)
