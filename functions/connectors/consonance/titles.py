"""Consonance works as the title queries select them (`title_queries.py`), and the one mapping from
them to the domain's `MarketedTitle`.

The lead product is the first edition of the configured title product types (in that order, then by
id) that has a publication or planned date; it gives the title its status, dates, ISBN, territories
and landing page. A work with no such edition is not a marketed title (None, with the reason). The
audio spot may sit on any of the work's products (a production file of the configured variant, in an
approved status); the cover is the work's supporting resource of the configured variant.
"""

from __future__ import annotations


from pydantic import Field

from functions.connectors.consonance.records import ConsonanceModel, ProductRecord, SupportingResourceRecord
from functions.domain.marketing import AudioSpot, MarketedTitle, SubjectCode
from functions.domain.models import Territories
from functions.mapping_config import MappingConfig
from functions.marketing.config import MarketingConfig

SCHEMES = {"Thema": "THEMA", "BISAC": "BISAC", "BIC": "BIC"}


class WorkIdRecord(ConsonanceModel):
    id: int


class ChangedProductRecord(ConsonanceModel):
    id: int
    work: WorkIdRecord | None = None


class SubjectCodeRecord(ConsonanceModel):
    typename: str = Field(alias="__typename")
    code: str
    main: bool = False


class SeriesIdRecord(ConsonanceModel):
    id: int | None = None


class SeriesMembershipIdRecord(ConsonanceModel):
    series: SeriesIdRecord | None = None


class MarketedWorkRecord(ConsonanceModel):
    id: int
    title: str | None = None
    subtitle: str | None = None
    marketing_tier: str | None = Field(default=None, alias="marketingTier")
    season: str | None = None
    subject_codes: tuple[SubjectCodeRecord, ...] | None = Field(default=None, alias="subjectCodes")  # inferred field
    bisacs: tuple[str, ...] | None = None
    audience_codes: tuple[str, ...] | None = Field(default=None, alias="onixContentAudienceCodes")  # inferred field
    series_memberships: tuple[SeriesMembershipIdRecord, ...] = Field(default=(), alias="seriesMemberships")
    supporting_resources: tuple[SupportingResourceRecord, ...] = Field(default=(), alias="supportingResources")
    products: tuple[ProductRecord, ...] = ()  # the fields the MarketedProduct fragment selects


def map_title(record: MarketedWorkRecord, config: MarketingConfig, mapping: MappingConfig) -> MarketedTitle | str:
    """The work as a marketed title, or why it is not one."""
    editions = sorted(
        (p for p in record.products if p.id is not None and p.typename in config.title_product_types),
        key=lambda p: (config.title_product_types.index(str(p.typename)), p.id or 0),
    )
    if not editions:
        return f"work {record.id} has no edition of the title product types {', '.join(config.title_product_types)}"
    dated = [p for p in editions if p.publication_date or p.planned_publication_date]
    lead = dated[0] if dated else editions[0]
    authors = sorted((c for c in lead.contributions if c.role_code in mapping.author_role_codes), key=lambda c: c.sequence_number)
    isbn13 = lead.isbn.isbn13 if lead.isbn else None
    return MarketedTitle(
        work_id=record.id,
        title=record.title or lead.title or lead.full_title or f"work {record.id}",
        subtitle=record.subtitle,
        author=authors[0].contributor.name if authors and authors[0].contributor.name else None,
        lead_product_id=lead.id or 0,
        product_ids=tuple(sorted(p.id for p in editions if p.id is not None)),
        isbn13=isbn13,
        publishing_status_code=lead.onix_publishing_status_code,
        publication_date=lead.publication_date,
        planned_publication_date=lead.planned_publication_date,
        marketing_tier=record.marketing_tier,
        season=record.season,
        subjects=_subjects(record),
        audience_codes=tuple(record.audience_codes or ()),
        territories=Territories(
            worldwide=bool(lead.is_for_sale_worldwide),
            included=tuple(sorted(set(lead.for_sale_country_codes))),
            excluded=tuple(sorted(set(lead.not_for_sale_country_codes))),
        ),
        series_ids=tuple(sorted({m.series.id for m in record.series_memberships if m.series and m.series.id is not None})),
        cover_url=next((r.url for r in record.supporting_resources if r.resource_variant == config.cover_variant and r.url), None),
        audio_spot=_audio_spot(record, config),
        landing_page=_landing_page(lead, config, isbn13, record.id),
    )


def _subjects(record: MarketedWorkRecord) -> tuple[SubjectCode, ...]:
    if record.subject_codes is not None:
        return tuple(
            SubjectCode(scheme=SCHEMES[s.typename], code=s.code, main=s.main)  # type: ignore[arg-type]
            for s in record.subject_codes
            if s.typename in SCHEMES
        )
    # `bisacs` is a plain list: its first code is taken as the main subject (inferred ordering)
    return tuple(SubjectCode(scheme="BISAC", code=code, main=index == 0) for index, code in enumerate(record.bisacs or ()))


def _audio_spot(record: MarketedWorkRecord, config: MarketingConfig) -> AudioSpot | None:
    for product in sorted(record.products, key=lambda p: p.id or 0):
        for file in product.production_files:
            if file.file_variant == config.audio_spot_variant and file.approval_status in config.audio_spot_statuses and file.url:
                return AudioSpot(url=file.url, filename=file.filename, file_id=file.id)
    return None


def _landing_page(lead: ProductRecord, config: MarketingConfig, isbn13: str | None, work_id: int) -> str | None:
    link = next((w.link for w in lead.web_links if w.role == config.landing_page_role and w.link.startswith(("https://", "http://"))), None)
    return link or config.landing_page(isbn13, work_id)
