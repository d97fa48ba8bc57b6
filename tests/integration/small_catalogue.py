"""Small catalogues for integration and end-to-end tests, built from `sandbox.catalogue` models.

`SmallCatalogue` keeps the bookkeeping a hand-written catalogue needs (a work per product, contracts
that clear every kind of content, an author and a narrator, a Megaphone podcast per series) so a test
states only what it is about: which episodes, with what release dates, part numbers and defects.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

from sandbox.catalogue import (
    ApiKey,
    Catalogue,
    ContractEntry,
    ContributionEntry,
    ContributorEntry,
    LicensedRightEntry,
    MegaphonePodcastEntry,
    MegaphoneSettings,
    ProductEntry,
    ProductionFileEntry,
    Publisher,
    SeriesEntry,
    SupportingResourceEntry,
    TimelineEdit,
    WorkEntry,
)

START = date(2027, 3, 1)
NETWORK = "test-network"
AUTHOR = ContributorEntry(id=501, name="Imogen Thale")
NARRATOR = ContributorEntry(id=502, name="Tobias Wren")
GUEST = ContributorEntry(id=503, name="Priya Castellane")
RIGHTS = ("audio_adaptation", "narration", "music_use")


def audio_url(product_id: int) -> str:
    return f"https://media.example.test/masters/{product_id}.wav"


def artwork_url(series_id: int) -> str:
    return f"https://media.example.test/art/{series_id}.jpg"


def credits(*, narrator: bool = True) -> list[ContributionEntry]:
    made = [ContributionEntry(contributor_id=AUTHOR.id, role="A01", sequence=1)]
    if narrator:
        made.append(ContributionEntry(contributor_id=NARRATOR.id, role="E07", sequence=2))
    return made


class SmallCatalogue:
    def __init__(self, start: date = START, records_changed_on: date | None = None):
        self.start = start
        self.records_changed_on = records_changed_on or start - timedelta(days=10)
        self.series: list[SeriesEntry] = []
        self.podcasts: list[MegaphonePodcastEntry] = []
        self.works: list[WorkEntry] = []
        self.products: list[ProductEntry] = []
        self.timeline: list[TimelineEdit] = []
        self._kinds: dict[int, str] = {}

    def show(self, series_id: int, name: str, *, podcast_id: str | None = None, kind: str = "serialized_fiction") -> str:
        """A Consonance series published as a Megaphone podcast (`podcast_id=""` leaves it unmapped)."""
        self.series.append(SeriesEntry(id=series_id, name=name))
        self._kinds[series_id] = kind
        podcast = f"mp-{series_id}" if podcast_id is None else podcast_id
        if podcast:
            self.podcasts.append(MegaphonePodcastEntry(id=podcast, title=name, series_id=series_id))
        return podcast

    def episode(
        self,
        product_id: int,
        series_id: int | None,
        part: str | None,
        title: str | None,
        release: date,
        *,
        work_type: str | None = None,
        narrator: bool = True,
        approved: bool = True,
        **product_fields: Any,
    ) -> ProductEntry:
        """An audio product (and its work) that the default mapping makes an approved episode."""
        kind = work_type or self._kinds.get(series_id or 0, "serialized_fiction")
        self.works.append(
            WorkEntry(
                id=product_id * 10,
                title=f"Work of {product_id}",
                work_type=kind,
                series_id=series_id,
                part_number=part,
                supporting_resources=[
                    SupportingResourceEntry(id=product_id * 10, variant="cover_image", url=artwork_url(series_id or 0))
                ],
            )
        )
        fields: dict[str, Any] = {
            "id": product_id,
            "work_id": product_id * 10,
            "title": title,
            "subtitle": f"Part {part}" if part else None,
            "publishing_status": "04" if release <= self.start else "02",
            "allow_onix_exports": True,
            "publication_date": release if release <= self.start else None,
            "planned_publication_date": release,
            "for_sale_worldwide": True,
            "contributions": credits(narrator=narrator),
            "description": f"<p>Episode {part} of <em>{title}</em>.</p>",
            "production_files": [
                ProductionFileEntry(
                    id=product_id * 10 + 1,
                    variant="master_audio",
                    approval_status="approved" if approved else "pending",
                    allow_distribution="allowed",
                    filename=f"{product_id}.wav",
                    url=audio_url(product_id),
                )
            ],
        }
        fields.update(product_fields)
        product = ProductEntry.model_validate(fields)
        self.products.append(product)
        return product

    def edit(self, day: int, at: time, entity: str, record_id: int, note: str = "", **changes: Any) -> None:
        self.timeline.append(TimelineEdit(day=day, at=at, action="update", entity=entity, id=record_id, changes=changes, note=note))

    def build(self) -> Catalogue:
        work_ids = [w.id for w in self.works]
        contracts = [
            ContractEntry(
                id=7000 + index,
                name=f"{right} licence",
                work_ids=work_ids,
                signed_date=self.start - timedelta(days=400),
                licensed_rights=[LicensedRightEntry(id=7100 + index, right_type=right)],
            )
            for index, right in enumerate(RIGHTS)
        ]
        return Catalogue(
            publisher=Publisher(name="Test Publisher"),
            start_date=self.start,
            records_changed_on=self.records_changed_on,
            api_keys=[ApiKey(key="catalogue-key-unused", access="read_write")],
            contributors=[AUTHOR, NARRATOR, GUEST],
            series=self.series,
            works=self.works,
            contracts=contracts,
            products=self.products,
            megaphone=MegaphoneSettings(network_id=NETWORK, podcasts=self.podcasts),
            timeline=self.timeline,
        )


def derived_sample(sample: Catalogue, keep: set[int], *, before_day: int) -> Catalogue:
    """The sample catalogue cut down to the products in `keep` (and what they reference), with the
    timeline edits and Spotify-side takedowns due before `before_day` that touch what is kept."""
    products = [p for p in sample.products if p.id in keep]
    missing = keep - {p.id for p in products}
    if missing:
        raise LookupError(f"the sample catalogue has no products {sorted(missing)}")
    work_ids = {p.work_id for p in products}
    files = {f.id for p in products for f in p.production_files}
    contracts = [
        c.model_copy(update={"work_ids": [w for w in c.work_ids if w in work_ids]})
        for c in sample.contracts
        if set(c.work_ids) & work_ids
    ]
    kept = {"product": keep, "work": work_ids, "production_file": files, "contract": {c.id for c in contracts}}

    def touches_kept(edit: TimelineEdit) -> bool:
        if edit.day >= before_day or edit.action != "update":
            return False
        if edit.entity in kept:
            return edit.id in kept[edit.entity]
        return True  # series and contributors are all kept

    return sample.model_copy(
        update={
            "works": [w for w in sample.works if w.id in work_ids],
            "contracts": contracts,
            "products": products,
            "timeline": [e for e in sample.timeline if touches_kept(e)],
            "spotify_takedowns": [t for t in sample.spotify_takedowns if t.product_id in keep and t.day < before_day],
            "work_subjects": [s for s in sample.work_subjects if s.work_id in work_ids],
        },
        deep=True,
    )
