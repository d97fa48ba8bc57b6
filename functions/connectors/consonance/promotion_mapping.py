"""Where a Consonance work becomes the domain's `PromotedWork` (contributor promotion), driven by
`MappingConfig` like the episode mapping:

| PromotedWork field | from Consonance |
| --- | --- |
| work_id, title | `Work.id`, `Work.title` (else the first product's `fullTitle`) |
| podcast_content | any product is an episode by the episode mapping's rule (`is_podcast_content`) |
| description | the first `SHORT_DESCRIPTION` marketing text (`externalText`) of its products, by product id |
| cover_url | the supporting resource whose `resourceVariant` is `MappingConfig.artwork_resource_variant` |
| publication_date | the earliest `publicationDate` (else `plannedPublicationDate`) of its products |
| subjects | `Work.bics`, then `Work.bisacs` |
| credits | every product's contributions: (contributor id, ONIX role), once each |
| contacts | the credited contacts: `name`, Person/Organisation, `biographicalNote`, `contactTags` |
| images | every supporting resource with a URL: id, `resourceVariant` (inferred), `caption`, `status` (inferred), `copyright` |
"""

from __future__ import annotations


from functions.connectors.consonance.mapping import is_podcast_content
from functions.connectors.consonance.records import ContributorRecord, WorkRecord
from functions.domain.contributors import ContactDetails, PromotedWork, SupportingImage, WorkCredit
from functions.mapping_config import MappingConfig


def map_promoted_work(record: WorkRecord, config: MappingConfig) -> PromotedWork:
    products = sorted(record.products, key=lambda p: p.id or 0)
    dates = [d for p in products if (d := p.publication_date or p.planned_publication_date) is not None]
    description = next((t.external_text for p in products for t in p.marketing_texts if t.external_text.strip()), "")
    credits = {
        (c.contributor.id, c.role_code.strip().upper())
        for p in products
        for c in sorted(p.contributions, key=lambda c: c.sequence_number)
    }
    contacts: dict[int, ContactDetails] = {}
    for product in products:
        for contribution in product.contributions:
            contacts.setdefault(contribution.contributor.id, _contact(contribution.contributor))
    artwork = config.artwork_resource_variant.casefold()
    title = (record.title or "").strip() or next(((p.full_title or p.title or "").strip() for p in products), "")
    return PromotedWork(
        work_id=record.id,
        title=title,
        podcast_content=any(is_podcast_content(p.typename, record, config) for p in products),
        description=description,
        cover_url=next((r.url for r in record.supporting_resources if r.url and (r.resource_variant or "").casefold() == artwork), None),
        publication_date=min(dates) if dates else None,
        product_ids=tuple(p.id for p in products if p.id is not None),
        subjects=tuple(record.bics or ()) + tuple(record.bisacs or ()),
        credits=tuple(WorkCredit(contributor_id=cid, role_code=role) for cid, role in sorted(credits)),
        contacts=tuple(contacts[cid] for cid in sorted(contacts)),
        images=tuple(
            SupportingImage(
                resource_id=r.id,
                variant=r.resource_variant or "",
                url=r.url,
                caption=(r.caption or "").strip(),
                status=(r.status or "").strip(),
                copyright=(r.copyright or "").strip() or None,
            )
            for r in sorted(record.supporting_resources, key=lambda r: r.id)
            if r.url
        ),
    )


def _contact(record: ContributorRecord) -> ContactDetails:
    return ContactDetails(
        contributor_id=record.id,
        name=(record.name or "").strip(),
        kind="organisation" if record.typename == "Organisation" else "person",
        biographical_note=record.biographical_note,
        tags=tuple(sorted({tag.strip() for tag in record.contact_tags if tag.strip()})),
    )


