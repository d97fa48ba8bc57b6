"""The ONE place where a Consonance product becomes a domain `Episode` (DESIGN.md, "Mapping Consonance
onto the flows"), driven by `MappingConfig` so a publisher's conventions are configuration, not code.

| Episode field | from Consonance |
| --- | --- |
| product_id, work_id | `Product.id`, `Product.work.id` |
| kind | `Work.workType` through `config.episode_kinds` (unknown types: `config.default_episode_kind`) |
| title, subtitle | `Product.title` (else `fullTitle`), `Product.subtitle` |
| isbn13 | `Product.isbn.isbn13`, hyphens removed (an invalid one is reported and left out) |
| show, part_number | the work's first series membership with a series: `Series.id/name`; `partNumber` as a whole number |
| summary | the first SHORT_DESCRIPTION marketing text (`externalText`), sanitised (see `validation`) |
| publishing_status_code, allow_onix_exports | `onixPublishingStatusCode` (ONIX list 64), `allowOnixExports` |
| master_audio | the production file whose `fileVariant` is `config.master_audio_variant`: its `url`, `approvalStatus` = `config.approved_file_status`, `allowDistribution` in `config.distribution_allowed_values` |
| artwork_url, artwork_file | the work's supporting resource whose `resourceVariant` is `config.artwork_resource_variant`: its `url`, and `fileSize`, `createdAt`, `filename` |
| master_audio size, created_at | the master production file's `fileSize` and `createdAt` (with `filename`: the pre-flight's file identity) |
| stated_duration_seconds | the first of the product's ONIX extents (inferred `Product.extents`) whose type is in `config.duration_extent_types` (09 "duration"), in seconds from its list 24 unit (hours, minutes, seconds, HHH, HHHMM, HHHMMSS) |
| release_date | `publicationDate`, else `plannedPublicationDate` |
| credits | contributions whose ONIX role is in `config.credited_role_codes`, in `sequenceNumber` order |
| territories | `isForSaleWorldwide` (or `WORLD` in the for-sale list), `forSaleCountryCodes`, `notForSaleCountryCodes` |
| rights | every licensed right of every contract on the work: `rightType`, window [`signedDate`, `terminatedDate`); the product's territories apply (contracts carry none in the schema) |

Which products are episodes: an audio product (`__typename` in `config.audio_product_types`) of a work
that is in a series, or whose `workType` is one of `config.episode_kinds` (podcast content that lost
its series is reported, not silently dropped). Anything else (a book, a stand-alone audiobook) maps to
no episode and no findings.

Approval is NOT an Episode field: it is derived from fields the episode already carries, so
`functions.domain.approval.is_approved(episode, config)` answers it (the publisher's gate calls it) and the content hash never
holds the same fact twice.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from functions.connectors.consonance.records import (
    ExtentRecord,
    ProductRecord,
    ProductionFileRecord,
    SeriesMembershipRecord,
    SupportingResourceRecord,
    WorkRecord,
)
from functions.domain.models import Credit, Episode, EpisodeKind, FileFacts, Finding, MasterAudio, RightGrant, Show, Territories
from functions.domain.validation import (
    classify_territory_codes,
    finding,
    is_valid_isbn13,
    isbn_findings,
    normalise_isbn13,
    parse_part_number,
    part_number_findings,
    summary_with_findings,
    territory_findings,
    title_findings,
)
from functions.mapping_config import MappingConfig


class MappedProduct(BaseModel):
    """What the mapping made of one product: the episode (None when it is not one) and the findings."""

    model_config = ConfigDict(frozen=True)

    product_id: int | None
    episode: Episode | None
    findings: list[Finding] = Field(default_factory=list)

    @property
    def blocking_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]

    @property
    def held(self) -> bool:
        """True when a blocking finding means the episode must not be pushed as it stands."""
        return bool(self.blocking_findings)


def map_product(record: ProductRecord, config: MappingConfig) -> MappedProduct:
    """Consonance product → domain episode plus data-quality findings (see the module docstring)."""
    product_id = record.id
    if record.typename is not None and record.typename not in config.audio_product_types:
        return MappedProduct(product_id=product_id, episode=None)
    if product_id is None:
        return MappedProduct(
            product_id=None, episode=None, findings=[finding("missing_id", None, "the product record has no id")]
        )
    work = record.work
    if work is None:
        return MappedProduct(
            product_id=product_id,
            episode=None,
            findings=[finding("missing_work", product_id, "the product belongs to no work: no show, kind or rights")],
        )
    membership = _series_membership(work)
    if not is_podcast_content(record.typename, work, config):
        return MappedProduct(product_id=product_id, episode=None)

    findings: list[Finding] = []
    title = (record.title or record.full_title or "").strip()
    findings += title_findings(title, product_id, config.max_title_length)

    show: Show | None = None
    part_number: int | None = None
    if membership is None or membership.series is None or membership.series.id is None:
        findings.append(finding("missing_series", product_id, "podcast content that is in no series has no show"))
    else:
        series = membership.series
        show = Show(series_id=membership.series.id, name=(series.name or "").strip() or f"Series {series.id}")
        findings += part_number_findings(membership.part_number, product_id)
        part_number = parse_part_number(membership.part_number)

    isbn13 = record.isbn.isbn13 if record.isbn else None
    findings += isbn_findings(isbn13, product_id)
    clean_isbn = normalise_isbn13(isbn13) if isbn13 and is_valid_isbn13(isbn13) else None

    summary = ""
    description = next((t.external_text for t in record.marketing_texts if t.external_text.strip()), None)
    if description is not None:
        summary, summary_findings = summary_with_findings(description, config.max_summary_length, product_id)
        findings += summary_findings

    master_audio, audio_findings = _master_audio(record, config)
    findings += audio_findings
    credits, credit_findings = _credits(record, config)
    findings += credit_findings
    territories, place_findings = _territories(record)
    findings += place_findings
    stated_duration, duration_findings = _stated_duration(record, config)
    findings += duration_findings
    artwork = _artwork(work, config)

    episode = Episode(
        product_id=product_id,
        work_id=work.id,
        isbn13=clean_isbn,
        kind=EpisodeKind(config.episode_kinds.get(work.work_type or "", config.default_episode_kind)),
        title=title,
        subtitle=(record.subtitle or "").strip() or None,
        summary=summary,
        show=show,
        part_number=part_number,
        publishing_status_code=(record.onix_publishing_status_code or "").strip() or None,
        allow_onix_exports=record.allow_onix_exports,
        master_audio=master_audio,
        artwork_url=artwork.url if artwork else None,
        artwork_file=FileFacts(size=artwork.file_size, created_at=artwork.created_at, filename=artwork.filename) if artwork else None,
        stated_duration_seconds=stated_duration,
        release_date=record.publication_date or record.planned_publication_date,
        credits=credits,
        territories=territories,
        rights=_rights(work),
    )
    return MappedProduct(product_id=product_id, episode=episode, findings=findings)


def is_podcast_content(typename: str | None, work: WorkRecord, config: MappingConfig) -> bool:
    """Whether a product of this type on this work is an episode (see the module docstring): an audio
    product of a work in a series, or of a work whose type is an episode kind."""
    if typename is not None and typename not in config.audio_product_types:
        return False
    return _series_membership(work) is not None or (work.work_type or "") in config.episode_kinds


# ---------------------------------------------------------------------------------------------- parts
def _series_membership(work: WorkRecord) -> SeriesMembershipRecord | None:
    """The membership that makes the show: the first one that names a series."""
    with_series = [m for m in work.series_memberships if m.series is not None and m.series.id is not None]
    if with_series:
        return with_series[0]
    return work.series_memberships[0] if work.series_memberships else None


def _master_audio_file(record: ProductRecord, config: MappingConfig) -> ProductionFileRecord | None:
    wanted = config.master_audio_variant.casefold()
    return next((f for f in record.production_files if f.file_variant.casefold() == wanted), None)


def _master_audio(record: ProductRecord, config: MappingConfig) -> tuple[MasterAudio | None, list[Finding]]:
    file = _master_audio_file(record, config)
    if file is None:
        return None, []
    approved = file.approval_status.strip().casefold() == config.approved_file_status.casefold()
    allowed_values = {value.casefold() for value in config.distribution_allowed_values}
    distribution_allowed = file.allow_distribution.strip().casefold() in allowed_values
    if not file.url:  # ProductionFile.url is an inferred field
        message = "the master audio production file has no URL; Megaphone has nothing to fetch"
        return None, [finding("master_audio_without_url", record.id, message, blocking=False)]
    return (
        MasterAudio(
            url=file.url,
            approved=approved,
            distribution_allowed=distribution_allowed,
            filename=file.filename,
            size=file.file_size,
            created_at=file.created_at,
        ),
        [],
    )


def _credits(record: ProductRecord, config: MappingConfig) -> tuple[tuple[Credit, ...], list[Finding]]:
    credited = set(config.credited_role_codes)
    credits: list[Credit] = []
    findings: list[Finding] = []
    for contribution in sorted(record.contributions, key=lambda c: (c.sequence_number, c.contributor.id)):
        role = contribution.role_code.strip().upper()
        if role not in credited:
            continue
        name = (contribution.contributor.name or "").strip()
        if not name:
            findings.append(
                finding(
                    "unnamed_contributor",
                    record.id,
                    f"contributor {contribution.contributor.id} ({role}) has no name; left out of the credits",
                    blocking=False,
                )
            )
            continue
        credits.append(
            Credit(contributor_id=contribution.contributor.id, name=name, role_code=role, sequence=contribution.sequence_number)
        )
    return tuple(credits), findings


def _territories(record: ProductRecord) -> tuple[Territories, list[Finding]]:
    included = classify_territory_codes(record.for_sale_country_codes)
    excluded = classify_territory_codes(record.not_for_sale_country_codes)
    territories = Territories(
        worldwide=bool(record.is_for_sale_worldwide) or included.world,
        included=included.countries,
        excluded=excluded.countries,
    )
    return territories, territory_findings(included, excluded, record.id)


def _artwork(work: WorkRecord, config: MappingConfig) -> SupportingResourceRecord | None:
    wanted = config.artwork_resource_variant.casefold()
    for resource in work.supporting_resources:
        if resource.url and (resource.resource_variant or "").casefold() == wanted:
            return resource
    return None


# ONIX list 24 units of time, as seconds per unit; the fixed-width forms are parsed separately.
_SECONDS_PER_UNIT = {"04": 3600.0, "05": 60.0, "06": 1.0}
_FIXED_WIDTH_UNITS = {"14": (3,), "15": (3, 2), "16": (3, 2, 2)}  # HHH, HHHMM, HHHMMSS (field widths)


def _stated_duration(record: ProductRecord, config: MappingConfig) -> tuple[float | None, list[Finding]]:
    """The running time Consonance states, in seconds (None when it states none)."""
    wanted = {code.strip() for code in config.duration_extent_types}
    extent = next((e for e in record.extents if e.type_code.strip() in wanted), None)
    if extent is None:
        return None, []
    seconds = onix_duration_seconds(extent)
    if seconds is None:
        message = (
            f"the running time extent ({extent.type_code}) says {extent.value!r} in ONIX unit {extent.unit_code!r}, "
            "which is not a duration the integration can read; the master's duration is not compared"
        )
        return None, [finding("unreadable_duration", record.id, message, blocking=False)]
    return seconds, []


def onix_duration_seconds(extent: ExtentRecord) -> float | None:
    """An ONIX extent value in seconds, for the list 24 units of time; None for anything else."""
    value, unit = extent.value.strip(), extent.unit_code.strip()
    if unit in _SECONDS_PER_UNIT:
        try:
            number = float(value)
        except ValueError:
            return None
        return round(number * _SECONDS_PER_UNIT[unit], 3) if number >= 0 else None
    widths = _FIXED_WIDTH_UNITS.get(unit)
    if widths is None or not value.isdigit():
        return None
    digits = value.zfill(sum(widths))
    if unit == "16" and len(digits) == sum(widths) + 2:  # HHHMMSScc: centiseconds after the seconds
        digits, centiseconds = digits[:-2], int(digits[-2:])
    else:
        centiseconds = 0
    if len(digits) != sum(widths):
        return None
    parts, position = [], 0
    for width in widths:
        parts.append(int(digits[position : position + width]))
        position += width
    hours, minutes, seconds = (parts + [0, 0])[:3]
    if minutes >= 60 or seconds >= 60:
        return None
    return hours * 3600 + minutes * 60 + seconds + centiseconds / 100


def _rights(work: WorkRecord) -> tuple[RightGrant, ...]:
    """Every licensed right of the work's contracts (Work.contracts is an inferred field)."""
    grants = {
        RightGrant(
            right_type=right.right_type.strip(),
            contract_id=contract.id,
            starts_on=contract.signed_date,
            ends_on=contract.terminated_date,
        )
        for contract in work.contracts
        for right in contract.licensed_rights
        if right.right_type.strip()
    }
    return tuple(sorted(grants, key=lambda g: (g.right_type, g.contract_id)))
