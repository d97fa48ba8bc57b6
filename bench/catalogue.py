"""A synthetic backfill catalogue: `series` × `parts` serialized-fiction episodes, every one approved,
rights-cleared, released in the past and valid, so the whole catalogue should reach Spotify.

Built from the sandbox's own catalogue models (`sandbox.catalogue`), so the simulator serves it
exactly as it serves the hand-written sample. Per series: one author and one narrator (credited A01
and E07), one contract granting the audio adaptation and one narrator agreement (the rights a
serialized fiction episode needs), a cover image on each work, and a Megaphone podcast mapped to the
series. Parts are released one day apart, in part order, well before the start date.
"""

from __future__ import annotations

from datetime import date, timedelta

from sandbox.catalogue import (
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
    WorkEntry,
)

START_DATE = date(2027, 3, 1)  # a Monday; every release below is before it
FIRST_RELEASE = date(2026, 1, 5)
RECORDS_CHANGED_ON = date(2027, 2, 1)

SERIES_BASE = 20_000
CONTRIBUTOR_BASE = 30_000
WORK_BASE = 400_000
PRODUCT_BASE = 500_000
CONTRACT_BASE = 60_000
RIGHT_BASE = 70_000
FILE_BASE = 800_000
RESOURCE_BASE = 900_000


def isbn13(serial: int) -> str:
    """A valid ISBN-13 (978 prefix) for a serial number: 978 + 9 digits + check digit."""
    body = f"978{serial % 1_000_000_000:09d}"
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def product_id(series_index: int, part: int) -> int:
    """The Consonance product id of a part (1-based) of a series (0-based)."""
    return PRODUCT_BASE + series_index * 1000 + part


def backfill_catalogue(series: int = 40, parts: int = 50, start_date: date = START_DATE) -> Catalogue:
    if series < 1 or parts < 1 or parts > 999:
        raise ValueError("need at least one series of 1..999 parts")
    contributors: list[ContributorEntry] = []
    series_entries: list[SeriesEntry] = []
    works: list[WorkEntry] = []
    contracts: list[ContractEntry] = []
    products: list[ProductEntry] = []
    podcasts: list[MegaphonePodcastEntry] = []
    for s in range(series):
        series_id = SERIES_BASE + s
        name = f"Backfill Serial {s + 1:02d}"
        author_id, narrator_id = CONTRIBUTOR_BASE + 2 * s, CONTRIBUTOR_BASE + 2 * s + 1
        contributors += [
            ContributorEntry(id=author_id, name=f"Author {s + 1:02d}"),
            ContributorEntry(id=narrator_id, name=f"Narrator {s + 1:02d}"),
        ]
        series_entries.append(SeriesEntry(id=series_id, name=name))
        podcasts.append(MegaphonePodcastEntry(id=f"mp-backfill-{s + 1:02d}", title=name, series_id=series_id))
        work_ids: list[int] = []
        for part in range(1, parts + 1):
            serial = s * 1000 + part
            work_id = WORK_BASE + serial
            work_ids.append(work_id)
            works.append(
                WorkEntry(
                    id=work_id,
                    title=f"{name}, Part {part}",
                    work_type="serialized_fiction",
                    series_id=series_id,
                    part_number=str(part),
                    supporting_resources=[
                        SupportingResourceEntry(
                            id=RESOURCE_BASE + serial,
                            variant="cover_image",
                            url=f"https://media.backfill.example/art/{series_id}-3000.jpg",
                            caption=f"{name} cover",
                        )
                    ],
                )
            )
            released = FIRST_RELEASE + timedelta(days=part - 1)
            products.append(
                ProductEntry(
                    id=product_id(s, part),
                    work_id=work_id,
                    title=f"Chapter {part} of {name}",
                    subtitle=f"{name}, Part {part}",
                    isbn13=isbn13(serial),
                    publishing_status="04",
                    allow_onix_exports=True,
                    publication_date=released,
                    planned_publication_date=released,
                    for_sale_worldwide=True,
                    contributions=[
                        ContributionEntry(contributor_id=author_id, role="A01", sequence=1),
                        ContributionEntry(contributor_id=narrator_id, role="E07", sequence=2),
                    ],
                    description=f"<p>Part {part} of <em>{name}</em>, read by Narrator {s + 1:02d}.</p>",
                    production_files=[
                        ProductionFileEntry(
                            id=FILE_BASE + serial,
                            variant="master_audio",
                            approval_status="approved",
                            allow_distribution="allowed",
                            filename=f"part-{part:03d}.wav",
                            url=f"https://media.backfill.example/masters/{series_id}/part-{part:03d}.wav",
                        )
                    ],
                )
            )
        contracts += [
            ContractEntry(
                id=CONTRACT_BASE + 2 * s,
                name=f"{name}: audio serialisation licence",
                work_ids=work_ids,
                signed_date=FIRST_RELEASE - timedelta(days=90),
                licensed_rights=[LicensedRightEntry(id=RIGHT_BASE + 2 * s, right_type="audio_adaptation", author_cut=0.25)],
            ),
            ContractEntry(
                id=CONTRACT_BASE + 2 * s + 1,
                name=f"{name}: narration agreement",
                work_ids=work_ids,
                signed_date=FIRST_RELEASE - timedelta(days=60),
                licensed_rights=[LicensedRightEntry(id=RIGHT_BASE + 2 * s + 1, right_type="narration")],
            ),
        ]
    return Catalogue(
        publisher=Publisher(name="Backfill Benchmark Audio"),
        start_date=start_date,
        records_changed_on=RECORDS_CHANGED_ON,
        api_keys=[],  # the sandbox world generates the keys it accepts
        contributors=contributors,
        series=series_entries,
        works=works,
        contracts=contracts,
        products=products,
        megaphone=MegaphoneSettings(network_id="backfill-bench", podcasts=podcasts),
    )
