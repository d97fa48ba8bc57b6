"""Contributors as promotion assembles them from Consonance: approval, bio, headshot, books."""

from __future__ import annotations

from datetime import date

import pytest

from functions.connectors.consonance.promotion_mapping import map_promoted_work
from functions.connectors.consonance.records import WorkRecord
from functions.domain.contributors import ContactDetails, PromotedWork, SupportingImage, WorkCredit, assemble_contributor, names_person
from functions.domain.promotion_policy import PromotionPolicy
from functions.mapping_config import MappingConfig

POLICY = PromotionPolicy()
IMOGEN = ContactDetails(
    contributor_id=501,
    name="Imogen Thale",
    biographical_note="<p>Imogen Thale writes about <em>the coast</em> &amp; its people.</p><script>track()</script><p onclick=\"x()\">Second paragraph.</p>",
    tags=("author", "Approved-For-Promotion"),
)


def work(work_id: int, *, podcast: bool = False, images: tuple[SupportingImage, ...] = (), published: date | None = None, **fields) -> PromotedWork:  # type: ignore[no-untyped-def]
    return PromotedWork(
        work_id=work_id,
        title=fields.pop("title", f"Work {work_id}"),
        podcast_content=podcast,
        publication_date=published,
        credits=fields.pop("credits", (WorkCredit(contributor_id=501, role_code="A01"),)),
        contacts=(IMOGEN,),
        images=images,
        **fields,
    )


def photo(resource_id: int, caption: str, status: str = "approved", variant: str = "author_photo") -> SupportingImage:
    return SupportingImage(resource_id=resource_id, variant=variant, url=f"https://images.example/{resource_id}.jpg", caption=caption, status=status, copyright="Photo © A. Person")


def test_the_approval_tag_makes_a_contributor_promotable_whatever_its_case() -> None:
    contributor, _ = assemble_contributor(IMOGEN, [work(1)], POLICY)
    assert contributor.promotable
    untagged, findings = assemble_contributor(IMOGEN.model_copy(update={"tags": ("author",)}), [work(1)], POLICY)
    assert not untagged.promotable and findings == [f for f in findings if f.code == "unsafe_bio"]
    assert assemble_contributor(IMOGEN, [work(1)], PromotionPolicy(approval_tag="promote"))[0].promotable is False


def test_the_bio_is_clean_plain_text_and_unsafe_markup_is_reported() -> None:
    contributor, findings = assemble_contributor(IMOGEN, [work(1)], POLICY)
    assert contributor.bio == "Imogen Thale writes about the coast & its people. Second paragraph."
    assert [f.code for f in findings if f.code == "unsafe_bio"] == ["unsafe_bio"]
    assert "<script>" in findings[0].message and not findings[0].blocking
    assert contributor.bio_within(40) == "Imogen Thale writes about the coast &…"


def test_the_headshot_is_the_newest_approved_author_photo_whose_caption_names_them() -> None:
    images = (
        photo(10, "Imogen Thale at Whitby"),
        photo(12, "Imogen Thale, 2027", status="draft"),  # newer, not approved
        photo(11, "The harbour at Whitby"),  # approved, does not name her
        photo(13, "IMOGEN THALE signing books", variant="event_photo"),  # another variant
        photo(9, "Imogen Thalestone reading"),  # a longer name is not hers
    )
    contributor, _ = assemble_contributor(IMOGEN, [work(1, images=images), work(2, images=(photo(14, "Imógen  Thale, portrait"),))], POLICY)
    assert contributor.headshot is not None
    assert (contributor.headshot.resource_id, contributor.headshot.work_id, contributor.headshot.credit) == (14, 2, "Photo © A. Person")


def test_a_promotable_contributor_without_headshot_or_bio_is_reported_not_held() -> None:
    bare = IMOGEN.model_copy(update={"biographical_note": None})
    contributor, findings = assemble_contributor(bare, [work(1)], POLICY)
    assert contributor.promotable and contributor.headshot is None
    assert sorted(f.code for f in findings) == ["promotion_without_bio", "promotion_without_headshot"]
    assert all(f.entity == "contributor#501" and not f.blocking for f in findings)


def test_books_are_the_works_that_are_not_episodes_newest_first_with_their_roles() -> None:
    works = [
        work(1, podcast=True, published=date(2026, 1, 1)),
        work(2, published=date(2025, 5, 1), description="<p>An <b>old</b> one.</p>"),
        work(3, published=date(2027, 2, 1), credits=(WorkCredit(contributor_id=501, role_code="A01"), WorkCredit(contributor_id=501, role_code="E07"))),
        work(4, published=None),
        work(5, credits=(WorkCredit(contributor_id=999, role_code="A01"),)),  # not hers
    ]
    contributor, _ = assemble_contributor(IMOGEN, works, POLICY)
    assert [(b.work_id, b.roles) for b in contributor.books] == [(3, ("A01", "E07")), (2, ("A01",)), (4, ("A01",))]
    assert contributor.books[1].description == "An old one."
    assert contributor.work_ids == (1, 2, 3, 4)


def test_the_content_hash_moves_only_with_what_promotion_uses() -> None:
    first, _ = assemble_contributor(IMOGEN, [work(1)], POLICY)
    again, _ = assemble_contributor(IMOGEN, [work(1)], POLICY)
    renamed, _ = assemble_contributor(IMOGEN.model_copy(update={"name": "Imogen Thale-Ross"}), [work(1)], POLICY)
    assert first.content_hash() == again.content_hash() != renamed.content_hash()


@pytest.mark.parametrize(
    ("caption", "named"),
    [("Imogen Thale", True), ("imogen thale at home", True), ("Photo: Imogen Thale.", True), ("Imogen Thaleson", False), ("Imogen", False), ("", False)],
)
def test_a_caption_names_the_person_by_their_whole_name(caption: str, named: bool) -> None:
    assert names_person(caption, "Imogen Thale") is named


def test_a_consonance_work_maps_with_its_products_credits_and_images() -> None:
    record = WorkRecord.model_validate(
        {
            "id": 3601,
            "title": "The Complete Voyage",
            "workType": "novel",
            "bics": ["FA"],
            "bisacs": ["FIC019000"],
            "seriesMemberships": [],
            "supportingResources": [
                {"id": 2, "resourceVariant": "cover_image", "url": "https://x.example/c.jpg", "caption": "cover"},
                {"id": 3, "resourceVariant": "author_photo", "url": "https://x.example/p.jpg", "caption": "Imogen Thale", "status": "approved", "copyright": "© A"},
                {"id": 4, "resourceVariant": "author_photo", "url": None, "caption": "no file yet"},
            ],
            "products": [
                {
                    "__typename": "ElectronicAudioProduct",
                    "id": 44002,
                    "publicationDate": None,
                    "plannedPublicationDate": "2027-01-15",
                    "contributions": [
                        {"sequenceNumber": 1, "onixContributorRoleCode": "A01", "contributor": {"__typename": "Person", "id": 501, "name": " Imogen Thale ", "contactTags": ["x", " approved-for-promotion "], "biographicalNote": "<p>Bio</p>"}},
                        {"sequenceNumber": 2, "onixContributorRoleCode": "e07", "contributor": {"__typename": "Person", "id": 502, "name": "Tobias Wren", "contactTags": []}},
                    ],
                    "marketingTexts": [{"id": 1, "externalText": "<p>Audio.</p>"}],
                },
                {"__typename": "ElectronicBookProduct", "id": 44001, "publicationDate": "2027-01-10", "contributions": [], "marketingTexts": [{"id": 2, "externalText": "<p>Ebook.</p>"}]},
            ],
        }
    )
    mapped = map_promoted_work(record, MappingConfig())
    assert not mapped.podcast_content  # an audiobook of a novel in no series is not an episode
    assert mapped.publication_date == date(2027, 1, 10) and mapped.product_ids == (44001, 44002)
    assert mapped.description == "<p>Ebook.</p>"  # the first product (by id) with a short description
    assert mapped.cover_url == "https://x.example/c.jpg" and mapped.subjects == ("FA", "FIC019000")
    assert [(c.contributor_id, c.role_code) for c in mapped.credits] == [(501, "A01"), (502, "E07")]
    assert mapped.contacts[0].name == "Imogen Thale" and mapped.contacts[0].tags == ("approved-for-promotion", "x")
    assert [image.resource_id for image in mapped.images] == [2, 3]  # a resource without a file is left out
