"""The Consonance → domain mapping: every rule on hand-made records, then the sample catalogue's records
(served by the simulator, read by the real connector) with their deliberate problems."""

from __future__ import annotations

import secrets

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from functions.clock import clock as active_clock
from functions.clock import use_clock
from functions.connectors.consonance import ConsonanceClient, ProductRecord
from functions.connectors.http import HttpService, route_host
from functions.domain.approval import approval_blockers, is_approved
from functions.connectors.consonance.mapping import MappedProduct, map_product
from functions.domain.models import EpisodeKind, RightGrant
from functions.domain.series_rules import series_conflicts
from functions.mapping_config import MappingConfig
from sandbox.catalogue import ApiKey, load_catalogue
from sandbox.clock import VirtualClock
from sandbox.simulators.consonance import ConsonanceSimulator

CONFIG = MappingConfig()

TEST_KEY = secrets.token_urlsafe(16)  # generated: no credential lives in a fixture


def payload(**overrides: Any) -> dict[str, Any]:
    """A complete, approved episode as the connector's fragment selects it (camelCase)."""
    record: dict[str, Any] = {
        "__typename": "ElectronicAudioProduct",
        "id": 10,
        "title": "  The Harbour at Dusk ",
        "subtitle": "The Salt Road, Part 1",
        "fullTitle": "The Harbour at Dusk: The Salt Road, Part 1",
        "isbn": {"isbn13": "978-0-306-40615-7"},
        "onixPublishingStatusCode": "04",
        "allowOnixExports": True,
        "publicationDate": "2026-10-06",
        "plannedPublicationDate": "2026-10-01",
        "forSaleCountryCodes": [],
        "notForSaleCountryCodes": [],
        "isForSaleWorldwide": True,
        "contributions": [
            {"id": 2, "sequenceNumber": 2, "onixContributorRoleCode": "E07", "contributor": {"id": 502, "name": "Tobias Wren"}},
            {"id": 1, "sequenceNumber": 1, "onixContributorRoleCode": "A01", "contributor": {"id": 501, "name": "Imogen Thale"}},
            {"id": 3, "sequenceNumber": 3, "onixContributorRoleCode": "B01", "contributor": {"id": 503, "name": "An Editor"}},
        ],
        "marketingTexts": [{"id": 1, "externalText": "<p>Part one.</p>"}],
        "webLinks": [],
        "productionFiles": [
            {"id": 5, "fileVariant": "proof_audio", "approvalStatus": "approved", "allowDistribution": "allowed", "url": "https://x/proof.wav"},
            {"id": 6, "fileVariant": "master_audio", "approvalStatus": "Approved", "allowDistribution": "allowed",
             "filename": "part-01.wav", "url": "https://media.example/part-01.wav"},
        ],
        "work": {
            "id": 3001,
            "title": "The Salt Road, Part 1",
            "workType": "serialized_fiction",
            "seriesMemberships": [{"id": 1, "partNumber": "01", "series": {"id": 9101, "name": "The Salt Road"}}],
            "supportingResources": [
                {"id": 1, "resourceVariant": "headshot", "url": "https://media.example/author.jpg"},
                {"id": 2, "resourceVariant": "cover_image", "url": "https://media.example/cover.jpg"},
            ],
            "contracts": [
                {"id": 7002, "contractName": "Narration", "signedDate": "2026-06-02", "terminatedDate": "2026-12-05",
                 "licensedRights": [{"id": 1, "rightType": "narration"}]},
                {"id": 7001, "contractName": "Adaptation", "signedDate": "2026-05-14", "terminatedDate": None,
                 "licensedRights": [{"id": 2, "rightType": "audio_adaptation"}, {"id": 3, "rightType": " "}]},
            ],
        },
    }
    record.update(overrides)
    return record


def with_work(**work_overrides: Any) -> dict[str, Any]:
    record = payload()
    record["work"] = {**record["work"], **work_overrides}
    return record


def mapped(record: dict[str, Any], config: MappingConfig = CONFIG) -> MappedProduct:
    return map_product(ProductRecord.model_validate(record), config)


def codes(result: MappedProduct) -> list[tuple[str, bool]]:
    return [(f.code, f.blocking) for f in result.findings]


# ------------------------------------------------------------------------------------------- the whole episode
def test_a_complete_record_maps_every_field() -> None:
    result = mapped(payload())
    episode = result.episode

    assert result.findings == [] and not result.held
    assert episode is not None
    assert episode.product_id == 10 and episode.work_id == 3001
    assert episode.kind is EpisodeKind.SERIALIZED_FICTION
    assert episode.title == "The Harbour at Dusk" and episode.subtitle == "The Salt Road, Part 1"
    assert episode.isbn13 == "9780306406157"
    assert episode.show is not None and (episode.show.series_id, episode.show.name) == (9101, "The Salt Road")
    assert episode.part_number == 1
    assert episode.summary == "<p>Part one.</p>"
    assert (episode.publishing_status_code, episode.allow_onix_exports) == ("04", True)
    assert episode.master_audio is not None
    assert episode.master_audio.url == "https://media.example/part-01.wav" and episode.master_audio.filename == "part-01.wav"
    assert episode.master_audio.approved and episode.master_audio.distribution_allowed
    assert episode.artwork_url == "https://media.example/cover.jpg"
    assert episode.release_date == date(2026, 10, 6)
    assert [(c.role_code, c.name, c.sequence) for c in episode.credits] == [("A01", "Imogen Thale", 1), ("E07", "Tobias Wren", 2)]
    assert episode.territories.worldwide and episode.territories.included == () and episode.territories.excluded == ()
    assert episode.rights == (
        RightGrant(right_type="audio_adaptation", contract_id=7001, starts_on=date(2026, 5, 14), ends_on=None),
        RightGrant(right_type="narration", contract_id=7002, starts_on=date(2026, 6, 2), ends_on=date(2026, 12, 5)),
    )
    assert is_approved(episode, CONFIG)


def test_the_content_hash_ignores_web_links_and_record_order() -> None:
    first = mapped(payload()).episode
    reordered = payload(webLinks=[{"id": 1, "link": "https://open.spotify.com/episode/a", "role": "_26", "description": "Spotify: live"}])
    reordered["contributions"] = list(reversed(reordered["contributions"]))
    reordered["work"]["contracts"] = list(reversed(reordered["work"]["contracts"]))
    second = mapped(reordered).episode
    changed = mapped(payload(title="Another title")).episode
    assert first is not None and second is not None and changed is not None
    assert first.content_hash() == second.content_hash() != changed.content_hash()


# ------------------------------------------------------------------------------------------- which products are episodes
def test_books_are_not_episodes() -> None:
    assert mapped(payload(__typename="ElectronicBookProduct")) == MappedProduct(product_id=10, episode=None)


def test_a_standalone_audiobook_is_not_an_episode() -> None:
    result = mapped(with_work(workType="audiobook", seriesMemberships=[]))
    assert result.episode is None and result.findings == []


def test_podcast_content_outside_any_series_is_reported() -> None:
    result = mapped(with_work(workType="author_interview", seriesMemberships=[]))
    assert result.episode is not None and result.episode.show is None
    assert codes(result) == [("missing_series", True)]


def test_a_membership_without_a_series_is_reported() -> None:
    result = mapped(with_work(seriesMemberships=[{"id": 1, "partNumber": "3", "series": None}]))
    assert codes(result) == [("missing_series", True)]


def test_a_record_without_id_is_reported_without_an_episode() -> None:
    result = mapped(payload(id=None))
    assert result.episode is None and codes(result) == [("missing_id", True)]
    assert result.findings[0].entity == "episode#unknown"


def test_a_record_without_work_is_reported_without_an_episode() -> None:
    result = mapped(payload(work=None))
    assert result.episode is None and codes(result) == [("missing_work", True)]


# ------------------------------------------------------------------------------------------- required fields
def test_title_falls_back_to_full_title_and_missing_title_blocks() -> None:
    fallback = mapped(payload(title=None)).episode
    assert fallback is not None and fallback.title == "The Harbour at Dusk: The Salt Road, Part 1"
    missing = mapped(payload(title=" ", fullTitle=""))
    assert codes(missing) == [("missing_title", True)] and missing.held


def test_title_length_limit_comes_from_config() -> None:
    strict = CONFIG.model_copy(update={"max_title_length": 10})
    result = mapped(payload(), strict)
    assert codes(result) == [("title_too_long", True)]
    assert result.episode is not None  # still mapped, so the state can show what is wrong


@pytest.mark.parametrize(("raw", "expected", "finding"), [("7", 7, None), (None, None, "missing_part_number"), ("7a", None, "invalid_part_number")])
def test_part_numbers(raw: str | None, expected: int | None, finding: str | None) -> None:
    result = mapped(with_work(seriesMemberships=[{"id": 1, "partNumber": raw, "series": {"id": 9101, "name": "The Salt Road"}}]))
    assert result.episode is not None and result.episode.part_number == expected
    assert codes(result) == ([] if finding is None else [(finding, True)])


def test_the_first_membership_with_a_series_is_the_show() -> None:
    result = mapped(with_work(seriesMemberships=[
        {"id": 1, "partNumber": "1", "series": None},
        {"id": 2, "partNumber": "4", "series": {"id": 77, "name": None}},
    ]))
    assert result.episode is not None and result.episode.show is not None
    assert (result.episode.show.series_id, result.episode.show.name, result.episode.part_number) == (77, "Series 77", 4)


def test_an_invalid_isbn_blocks_and_is_left_out() -> None:
    result = mapped(payload(isbn={"isbn13": "9780306406158"}))
    assert codes(result) == [("invalid_isbn", True)]
    assert result.episode is not None and result.episode.isbn13 is None
    assert mapped(payload(isbn=None)).findings == []


# ------------------------------------------------------------------------------------------- kind
@pytest.mark.parametrize(
    ("work_type", "kind"),
    [("companion_podcast", EpisodeKind.COMPANION_PODCAST), ("author_interview", EpisodeKind.AUTHOR_INTERVIEW),
     ("branded_podcast", EpisodeKind.BRANDED_PODCAST), ("novel", EpisodeKind.SERIALIZED_FICTION), (None, EpisodeKind.SERIALIZED_FICTION)],
)
def test_kind_comes_from_work_type_through_config(work_type: str | None, kind: EpisodeKind) -> None:
    episode = mapped(with_work(workType=work_type)).episode
    assert episode is not None and episode.kind is kind


def test_kinds_are_configurable() -> None:
    config = CONFIG.model_copy(update={"episode_kinds": {"Podcast – Interview": "author_interview"}, "default_episode_kind": "branded_podcast"})
    interview = mapped(with_work(workType="Podcast – Interview"), config).episode
    other = mapped(with_work(workType="serialized_fiction"), config).episode
    assert interview is not None and interview.kind is EpisodeKind.AUTHOR_INTERVIEW
    assert other is not None and other.kind is EpisodeKind.BRANDED_PODCAST


# ------------------------------------------------------------------------------------------- credits, territories, rights, dates
def test_credits_follow_configured_roles_in_sequence_order() -> None:
    record = payload(contributions=[
        {"sequenceNumber": 3, "onixContributorRoleCode": "e09", "contributor": {"id": 3, "name": "Guest"}},
        {"sequenceNumber": 1, "onixContributorRoleCode": "E10", "contributor": {"id": 1, "name": "Host"}},
        {"sequenceNumber": 2, "onixContributorRoleCode": "A01", "contributor": {"id": 2, "name": None}},
    ])
    result = mapped(record)
    assert result.episode is not None
    assert [(c.role_code, c.name) for c in result.episode.credits] == [("E10", "Host"), ("E09", "Guest")]
    assert codes(result) == [("unnamed_contributor", False)]
    only_hosts = mapped(record, CONFIG.model_copy(update={"credited_role_codes": ("E10",)})).episode
    assert only_hosts is not None and [c.name for c in only_hosts.credits] == ["Host"]


def test_territories_from_sales_lists() -> None:
    result = mapped(payload(isForSaleWorldwide=False, forSaleCountryCodes=["ie", "GB", "UK"], notForSaleCountryCodes=["US", "CA"]))
    assert result.episode is not None
    territories = result.episode.territories
    assert (territories.worldwide, territories.included, territories.excluded) == (False, ("GB", "IE"), ("CA", "US"))
    assert codes(result) == [("unknown_territory_code", False)]


def test_world_in_the_for_sale_list_means_worldwide() -> None:
    episode = mapped(payload(isForSaleWorldwide=None, forSaleCountryCodes=["WORLD"], notForSaleCountryCodes=["KP"])).episode
    assert episode is not None and episode.territories.worldwide and episode.territories.excluded == ("KP",)


def test_an_unknown_excluded_territory_blocks() -> None:
    assert codes(mapped(payload(notForSaleCountryCodes=["USA"]))) == [("unknown_territory_code", True)]


def test_rights_without_contracts_are_empty() -> None:
    episode = mapped(with_work(contracts=[])).episode
    assert episode is not None and episode.rights == ()


def test_release_date_falls_back_to_the_planned_date() -> None:
    episode = mapped(payload(publicationDate=None)).episode
    assert episode is not None and episode.release_date == date(2026, 10, 1)
    undated = mapped(payload(publicationDate=None, plannedPublicationDate=None)).episode
    assert undated is not None and undated.release_date is None


def test_artwork_needs_the_configured_variant() -> None:
    episode = mapped(with_work(supportingResources=[{"id": 1, "resourceVariant": "headshot", "url": "https://x/h.jpg"}])).episode
    assert episode is not None and episode.artwork_url is None
    config = CONFIG.model_copy(update={"artwork_resource_variant": "headshot"})
    configured = mapped(with_work(supportingResources=[{"id": 1, "resourceVariant": "headshot", "url": "https://x/h.jpg"}]), config).episode
    assert configured is not None and configured.artwork_url == "https://x/h.jpg"


def test_descriptions_are_sanitised_and_shortened() -> None:
    unsafe = mapped(payload(marketingTexts=[{"id": 1, "externalText": ""}, {"id": 2, "externalText": "<p onclick='x()'>Hi</p>"}]))
    assert unsafe.episode is not None and unsafe.episode.summary == "<p>Hi</p>"
    assert codes(unsafe) == [("unsafe_description", False)]
    long = mapped(payload(marketingTexts=[{"id": 1, "externalText": "word " * 50}]), CONFIG.model_copy(update={"max_summary_length": 40}))
    assert long.episode is not None and len(long.episode.summary) <= 40
    assert codes(long) == [("summary_truncated", False)]
    none = mapped(payload(marketingTexts=[])).episode
    assert none is not None and none.summary == ""


# ------------------------------------------------------------------------------------------- approval
def production_file(**overrides: Any) -> dict[str, Any]:
    return {"id": 6, "fileVariant": "master_audio", "approvalStatus": "approved", "allowDistribution": "allowed",
            "url": "https://media.example/a.wav", **overrides}


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"onixPublishingStatusCode": None}, "publishing status (none) is not 02/04"),
        ({"onixPublishingStatusCode": "07"}, "publishing status 07 is not 02/04"),
        ({"allowOnixExports": False}, "ONIX exports are not allowed"),
        ({"productionFiles": []}, "no master audio file"),
        ({"productionFiles": [production_file(approvalStatus="pending")]}, "master audio is not approved"),
        ({"productionFiles": [production_file(allowDistribution="not_allowed")]}, "master audio distribution is not allowed"),
    ],
)
def test_each_approval_condition_is_required(overrides: dict[str, Any], reason: str) -> None:
    episode = mapped(payload(**overrides)).episode
    assert episode is not None
    assert not is_approved(episode, CONFIG)
    assert approval_blockers(episode, CONFIG) == [reason]


def test_forthcoming_is_approved_too() -> None:
    episode = mapped(payload(onixPublishingStatusCode="02")).episode
    assert episode is not None and is_approved(episode, CONFIG)


def test_approval_values_are_configurable() -> None:
    config = CONFIG.model_copy(update={
        "approved_publishing_status_codes": frozenset({"04"}),
        "approved_file_status": "signed_off",
        "distribution_allowed_values": frozenset({"Yes"}),
        "master_audio_variant": "final_mix",
    })
    record = payload(onixPublishingStatusCode="04",
                     productionFiles=[production_file(fileVariant="FINAL_MIX", approvalStatus="Signed_Off", allowDistribution="yes")])
    episode = mapped(record, config).episode
    assert episode is not None and is_approved(episode, config)
    forthcoming = mapped(payload(onixPublishingStatusCode="02"), config).episode
    assert forthcoming is not None and not is_approved(forthcoming, config)


def test_a_master_without_url_is_reported_and_not_approved() -> None:
    result = mapped(payload(productionFiles=[production_file(url=None)]))
    assert codes(result) == [("master_audio_without_url", False)]
    assert result.episode is not None and result.episode.master_audio is None and not is_approved(result.episode, CONFIG)


# ------------------------------------------------------------------------------------------- the sample catalogue
@pytest.fixture(scope="module")
def simulator() -> Iterator[ConsonanceSimulator]:
    catalogue = load_catalogue()
    previous = active_clock()
    clock = VirtualClock(catalogue.start_moment() + timedelta(hours=8))
    use_clock(clock)
    yield ConsonanceSimulator(clock, catalogue, api_keys=[ApiKey(key=TEST_KEY)])
    use_clock(previous)


def read_all(simulator: ConsonanceSimulator) -> dict[int, MappedProduct]:
    route_host("consonance-mapping.test", simulator)
    http = HttpService("consonance", "https://consonance-mapping.test/graphql", lambda: {"Authorization": f"Bearer {TEST_KEY}"})
    client = ConsonanceClient(http)
    results = {}
    for record in client.iter_changed_products(date(2020, 1, 1)):
        assert record.id is not None
        results[record.id] = map_product(record, CONFIG)
    return results


@pytest.fixture(scope="module")
def sample(simulator: ConsonanceSimulator) -> dict[int, MappedProduct]:
    return read_all(simulator)


def test_the_sample_has_four_shows_and_50_episodes(sample: dict[int, MappedProduct]) -> None:
    episodes = [m.episode for m in sample.values() if m.episode is not None]
    by_show: dict[str, int] = {}
    for episode in episodes:
        assert episode.show is not None
        by_show[episode.show.name] = by_show.get(episode.show.name, 0) + 1
    # the main sample's three shows; parts in sample.d/ add shows of their own (each checked by its tests)
    main = {name: by_show.get(name) for name in ("The Salt Road", "Inside the Ember Court", "Larkspur Conversations")}
    assert main == {"The Salt Road": 20, "Inside the Ember Court": 12, "Larkspur Conversations": 10}
    assert sample[43001].episode is None and sample[43001].findings == []  # the stand-alone audiobook
    assert sample[44002].episode is None and sample[44002].findings == []  # promotion.json's audiobook edition


def test_the_sample_products_with_deliberate_data_problems(sample: dict[int, MappedProduct]) -> None:
    with_findings = {product_id: codes(m) for product_id, m in sample.items() if m.findings}
    assert with_findings == {
        41105: [("unsafe_description", False)],
        41108: [("title_too_long", True)],
        41204: [("invalid_isbn", True)],
        41206: [("unknown_territory_code", False)],
    }


def test_the_sample_mixes_approval_states(sample: dict[int, MappedProduct]) -> None:
    not_approved = {
        product_id: approval_blockers(m.episode, CONFIG)
        for product_id, m in sample.items()
        if m.episode is not None and not is_approved(m.episode, CONFIG)
    }
    assert not_approved == {
        41018: ["master audio is not approved"],
        41019: ["publishing status (none) is not 02/04", "master audio is not approved"],
        41020: ["publishing status (none) is not 02/04", "ONIX exports are not allowed", "no master audio file"],
        41111: ["ONIX exports are not allowed"],
        41112: ["publishing status (none) is not 02/04"],
        41208: ["ONIX exports are not allowed"],
        41209: ["master audio is not approved"],
        41210: ["master audio distribution is not allowed"],
    }


def test_the_sample_release_dates_lie_before_and_after_the_start(sample: dict[int, MappedProduct]) -> None:
    start = load_catalogue().start_date
    dates = [m.episode.release_date for m in sample.values() if m.episode is not None and m.episode.release_date]
    assert any(d < start for d in dates) and any(start < d <= start + timedelta(days=14) for d in dates)
    assert any(d > start + timedelta(days=14) for d in dates)


def test_the_sample_series_problems_show_up_in_the_series_rules(sample: dict[int, MappedProduct]) -> None:
    salt_road = [m.episode for m in sample.values() if m.episode is not None and m.episode.show and m.episode.show.series_id == 9101]
    conflicts = {pid: sorted(f.code for f in found) for pid, found in series_conflicts(salt_road, CONFIG).items()}
    assert conflicts == {
        41012: ["missing_narrator_credit"],
        41014: ["duplicate_part_number"],
        41015: ["duplicate_part_number"],
        41017: ["release_out_of_order"],
    }


def test_the_sample_rights_data(sample: dict[int, MappedProduct]) -> None:
    def right_types(product_id: int) -> set[str]:
        episode = sample[product_id].episode
        assert episode is not None
        return {g.right_type for g in episode.rights}

    companion = range(41101, 41113)
    assert all("music_use" in right_types(pid) for pid in companion if pid != 41107)
    assert "music_use" not in right_types(41107)
    pick_up = sample[41015].episode
    assert pick_up is not None
    [narration] = [g for g in pick_up.rights if g.right_type == "narration"]
    assert narration.ends_on == date(2026, 12, 5)
    only_some = sample[41101].episode
    assert only_some is not None and not only_some.territories.worldwide and only_some.territories.excluded == ("CA", "US")


def test_the_sample_timeline_fixes_the_series_problems(simulator: ConsonanceSimulator) -> None:
    fork = ConsonanceSimulator(simulator.clock, load_catalogue(), api_keys=[ApiKey(key=TEST_KEY)])
    fork.apply_due_changes(datetime(2026, 12, 10, tzinfo=timezone.utc))
    after = read_all(fork)

    salt_road = [m.episode for m in after.values() if m.episode is not None and m.episode.show and m.episode.show.series_id == 9101]
    remaining = {pid: sorted(f.code for f in found) for pid, found in series_conflicts(salt_road, CONFIG).items()}
    assert remaining == {41017: ["release_out_of_order"]}
    episode_11 = after[41011].episode
    new_interview = after[41211].episode
    approved_12 = after[41112].episode
    assert episode_11 is not None and episode_11.title == "The Tide Clock"
    assert new_interview is not None and new_interview.part_number == 11 and is_approved(new_interview, CONFIG)
    assert approved_12 is not None and is_approved(approved_12, CONFIG)
