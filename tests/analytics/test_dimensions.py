"""The nightly dimensions: what an audio product stands for, from the ledger and Consonance's works.

Worked by hand: a serial part without a book of its own (its release is its launch), a companion
podcast whose series is configured with two novels (the one published nearest the episode's release
is its launch; that novel's author counts as the episode's author), and a work with its own ebook and
hardback (the earlier of the two).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from functions.analytics.dimensions import AudioProduct, build_dimensions, launch_of, main_subject, works_to_read
from functions.analytics.facts import MilestoneDimension
from functions.connectors.consonance.records import AnalyticsWorkRecord
from functions.domain.models import Credit, Episode, EpisodeKind, Show
from functions.state.targets import MegaphoneState

BOOKS = ("ElectronicBookProduct", "PhysicalBookProduct")


def work(work_id: int, title: str, *, series: tuple[int, str] | None = None, products: list[dict[str, Any]] = (), subjects: list[dict[str, Any]] = (), credits: list[tuple[int, str, str]] = ()) -> AnalyticsWorkRecord:  # type: ignore[assignment]
    return AnalyticsWorkRecord.model_validate(
        {
            "id": work_id,
            "title": title,
            "seriesMemberships": [{"id": work_id, "series": {"id": series[0], "name": series[1]}}] if series else [],
            "contributions": [
                {"id": n, "sequenceNumber": n + 1, "onixContributorRoleCode": role, "contributor": {"id": cid, "name": name}}
                for n, (cid, name, role) in enumerate(credits)
            ],
            "subjectCodes": list(subjects),
            "products": list(products),
        }
    )


def episode(product_id: int, work_id: int, title: str, series: tuple[int, str], released: date, credits: tuple[Credit, ...] = ()) -> Episode:
    return Episode(
        product_id=product_id, work_id=work_id, kind=EpisodeKind.COMPANION_PODCAST, title=title,
        show=Show(series_id=series[0], name=series[1]), release_date=released, credits=credits,
    )


COURT = (9102, "Inside the Court")
SALT = (9101, "The Salt Road")
NOVEL_ONE = work(
    3301, "The Court", series=(9201, "The Court novels"),
    products=[{"__typename": "PhysicalBookProduct", "id": 42002, "publicationDate": "2026-03-12"}, {"__typename": "ElectronicBookProduct", "id": 42001, "publicationDate": "2026-03-10"}],
    credits=[(504, "Rowan Ashby", "A01")],
)
NOVEL_TWO = work(
    3302, "The Crown", series=(9201, "The Court novels"),
    products=[{"__typename": "ElectronicBookProduct", "id": 42003, "plannedPublicationDate": "2027-02-04"}],
    credits=[(504, "Rowan Ashby", "A01"), (600, "Ed Itor", "B01")],
)
COMPANION = work(
    3110, "Inside the Court, Episode 10", series=COURT,
    products=[{"__typename": "ElectronicAudioProduct", "id": 41110, "publicationDate": "2026-12-10"}],
    subjects=[{"__typename": "BISAC", "code": "FIC009000", "description": "Fiction / Fantasy", "main": True}, {"__typename": "Thema", "code": "FM", "description": "Fantasy", "main": True}],
    credits=[(503, "Priya Castellane", "E10")],
)
SERIAL_PART = work(
    3009, "The Salt Road, Part 9", series=SALT,
    products=[{"__typename": "ElectronicAudioProduct", "id": 41009, "publicationDate": "2026-12-01"}],
    subjects=[{"__typename": "Thema", "code": "FV", "description": "Historical fiction", "main": False}, {"__typename": "BISAC", "code": "FIC014000", "description": "Historical", "main": True}],
    credits=[(501, "Imogen Thale", "A01"), (502, "Tobias Wren", "E07")],
)
WORKS = {w.id: w for w in (NOVEL_ONE, NOVEL_TWO, COMPANION, SERIAL_PART)}
PRODUCTS = [
    AudioProduct(
        episode(41110, 3110, "Book Two Is Coming", COURT, date(2026, 12, 10)),
        MegaphoneState(podcast_id="mp-court", episode_id="mep-41110", spotify_id="sp41110"),
    ),
    AudioProduct(
        episode(41009, 3009, "The Drowned Chapel", SALT, date(2026, 12, 1), (Credit(contributor_id=501, name="Imogen Thale", role_code="A01", sequence=1),)),
        MegaphoneState(podcast_id="mp-salt", episode_id="mep-41009", spotify_id="sp41009"),
    ),
    AudioProduct(episode(41010, 3009, "Storm Glass (a second product of the part)", SALT, date(2026, 12, 4)), None),
]


def build(**overrides: Any):  # type: ignore[no-untyped-def]
    arguments: dict[str, Any] = {
        "related_books": {"9102": (3301, 3302)},
        "creators_shows": {"showsalt": 9101},
        "author_roles": ("A01",),
        "book_types": BOOKS,
    }
    return build_dimensions(PRODUCTS, WORKS, **{**arguments, **overrides})


def test_launch_is_the_own_book_else_the_nearest_related_book_else_the_release() -> None:
    books = frozenset(BOOKS)
    assert launch_of(NOVEL_ONE, None, [], books).day == date(2026, 3, 10)  # the ebook came two days before the hardback
    nearest = launch_of(COMPANION, date(2026, 12, 10), [NOVEL_ONE, NOVEL_TWO], books)
    assert (nearest.day, nearest.book_product_id, nearest.book_work_id) == (date(2027, 2, 4), 42003, 3302)  # 56 days vs 273
    early = launch_of(COMPANION, date(2026, 4, 1), [NOVEL_ONE, NOVEL_TWO], books)
    assert early.book_work_id == 3301
    own_release = launch_of(SERIAL_PART, date(2026, 12, 1), [], books)
    assert (own_release.day, own_release.book_product_id) == (date(2026, 12, 1), None)
    assert launch_of(None, None, [], books) is None


def test_main_subject_prefers_thema_and_only_main_codes() -> None:
    assert main_subject(COMPANION) == ("THEMA", "FM", "Fantasy")
    assert main_subject(SERIAL_PART) == ("BISAC", "FIC014000", "Historical")  # its Thema code is not main
    assert main_subject(NOVEL_TWO) is None


def test_works_to_read_are_the_audio_works_and_their_series_books() -> None:
    assert works_to_read(PRODUCTS, {"9102": (3301, 3302)}) == [3110, 3301, 3302, 3009]


def test_dimensions_of_a_companion_podcast_and_a_serial() -> None:
    dims = build()
    titles = {t.work_id: t for t in dims.titles}
    assert set(titles) == {"3110", "3009"}
    companion, serial = titles["3110"], titles["3009"]
    assert (companion.publication_date, companion.book_product_id, companion.main_subject_code) == (date(2027, 2, 4), "42003", "FM")
    assert (companion.series_id, companion.series_name) == ("9102", "Inside the Court")
    assert (serial.publication_date, serial.book_product_id) == (date(2026, 12, 1), None)  # the first product's release
    credited = {(c.work_id, c.contributor_name, c.role_code) for c in dims.contributors}
    # the companion counts towards the novel's author (A01 only, not its editor); its presenter stays a credit
    assert credited == {("3110", "Priya Castellane", "E10"), ("3110", "Rowan Ashby", "A01"), ("3009", "Imogen Thale", "A01"), ("3009", "Tobias Wren", "E07")}
    episodes = {e.product_id: e for e in dims.episodes}
    assert episodes["41009"].spotify_show_id == "showsalt"  # opted in: the show id is known
    assert episodes["41110"].spotify_show_id is None and episodes["41110"].spotify_episode_id == "sp41110"
    assert (episodes["41010"].megaphone_episode_id, episodes["41010"].work_id) == (None, "3009")  # not delivered yet
    groups = {(g.group_type, g.group_label) for g in dims.group_rows(("A01",))}
    assert {("author", "Rowan Ashby"), ("author", "Imogen Thale"), ("genre", "Fantasy (THEMA FM)"), ("series", "The Salt Road")} <= groups
    assert ("author", "Priya Castellane") not in groups  # a presenter is not an author


def test_milestones_of_unknown_works_are_left_out() -> None:
    milestones = [
        MilestoneDimension(work_id="3110", milestone="pre_order", milestone_date=date(2026, 12, 1), campaign_id="camp-1"),
        MilestoneDimension(work_id="9999", milestone="pre_order", milestone_date=date(2026, 12, 1)),
    ]
    assert [m.work_id for m in build(milestones=milestones).milestones] == ["3110"]


def test_a_books_milestones_stand_beside_the_audio_launched_with_it() -> None:
    """The Crown (3302) is the companion podcast's launch: its campaign milestones are the companion's;
    The Court (3301), the other related novel, is not its launch, so its milestone is left out."""
    crown_pre_order = MilestoneDimension(work_id="3302", milestone="pre_order", milestone_date=date(2026, 12, 2), campaign_id="camp-crown", window_end=date(2027, 1, 31))
    crown_publication = MilestoneDimension(work_id="3302", milestone="publication", milestone_date=date(2027, 2, 4))
    court_backlist = MilestoneDimension(work_id="3301", milestone="backlist", milestone_date=date(2027, 3, 10), campaign_id="camp-court")
    dims = build(milestones=[crown_publication, court_backlist, crown_pre_order])
    assert [(m.work_id, m.milestone, m.milestone_date, m.campaign_id, m.window_end) for m in dims.milestones] == [
        ("3110", "pre_order", date(2026, 12, 2), "camp-crown", date(2027, 1, 31)),
        ("3110", "publication", date(2027, 2, 4), None, None),
    ]
    campaigns = [(k.entity_id, k.work_id, k.series_id) for k in dims.key_rows() if k.entity_type == "campaign"]
    assert campaigns == [("camp-crown", "3110", "9102")]  # its Ads delivery counts towards the companion's groups


def test_a_campaign_beside_two_audio_works_is_keyed_to_both() -> None:
    """Two episodes of the companion podcast (each its own work) launched with the same novel: the novel's
    campaign is in dim_key once per work, so it reaches each title's groups (and each series once)."""
    second = work(
        3111, "Inside the Court, Episode 11", series=COURT,
        products=[{"__typename": "ElectronicAudioProduct", "id": 41111, "publicationDate": "2026-12-17"}],
    )
    products = [*PRODUCTS, AudioProduct(episode(41111, 3111, "The Map Room", COURT, date(2026, 12, 17)), None)]
    milestone = MilestoneDimension(work_id="3302", milestone="pre_order", milestone_date=date(2026, 12, 2), campaign_id="camp-crown")
    dims = build_dimensions(
        products, {**WORKS, 3111: second}, related_books={"9102": (3301, 3302)}, creators_shows={}, author_roles=("A01",), book_types=BOOKS, milestones=[milestone]
    )
    assert [m.work_id for m in dims.milestones] == ["3110", "3111"]
    assert [(k.entity_id, k.work_id) for k in dims.key_rows() if k.entity_type == "campaign"] == [("camp-crown", "3110"), ("camp-crown", "3111")]


def test_without_creators_opt_in_no_spotify_show_is_mapped() -> None:
    assert all(e.spotify_show_id is None for e in build(creators_shows={}).episodes)
