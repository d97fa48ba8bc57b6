"""Clearance and rights findings: examples for each rule, and properties against a brute-force oracle."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from functions.domain.clearance import (
    Clearance,
    DateWindow,
    assess_rights,
    compute_clearance,
    rights_findings,
    sales_territories,
)
from functions.domain.models import Episode, EpisodeKind, RightGrant, Territories
from functions.domain.rights import AUDIO_ADAPTATION, MUSIC_USE, NARRATION, RightsPolicy
from functions.domain.territories import ISO_3166_ALPHA2, KNOWN_TERRITORIES
from functions.mapping_config import MappingConfig

POLICY = RightsPolicy()
D = date(2031, 1, 1)


def day(offset: int) -> date:
    return D + timedelta(days=offset)


def grant(right_type: str, start: int | None = None, end: int | None = None, territories: Territories | None = None, contract_id: int = 1) -> RightGrant:
    return RightGrant(
        right_type=right_type,
        contract_id=contract_id,
        starts_on=None if start is None else day(start),
        ends_on=None if end is None else day(end),
        territories=territories,
    )


def episode(kind: EpisodeKind = EpisodeKind.AUTHOR_INTERVIEW, territories: Territories | None = None, rights: tuple[RightGrant, ...] = ()) -> Episode:
    return Episode(
        product_id=42,
        kind=kind,
        title="Chapter One",
        territories=territories or Territories(worldwide=True),
        rights=rights,
    )


def codes(findings) -> set[str]:
    return {f.code for f in findings}


# ------------------------------------------------------------------------------------ territories
def test_territory_universe_is_iso_3166_alpha2_plus_kosovo():
    assert len(ISO_3166_ALPHA2) == 249
    assert {"GB", "US", "DE", "BQ", "SS"} <= ISO_3166_ALPHA2
    assert "UK" not in ISO_3166_ALPHA2 and "XK" in KNOWN_TERRITORIES


def test_sales_territories_worldwide_minus_excluded_or_included_list():
    universe = {"GB", "US", "FR", "DE"}
    assert sales_territories(Territories(worldwide=True, excluded=("US",)), universe) == {"GB", "FR", "DE"}
    assert sales_territories(Territories(included=("GB", "FR", "ZZ")), universe) == {"GB", "FR"}
    assert sales_territories(Territories(included=("GB", "FR"), excluded=("FR",)), universe) == {"GB"}
    assert sales_territories(Territories(), universe) == frozenset()


# ------------------------------------------------------------------------------------ clearance rules
def test_worldwide_with_an_open_right_is_cleared_everywhere_for_all_time():
    clearance = compute_clearance(episode(rights=(grant(AUDIO_ADAPTATION),)), POLICY)
    assert clearance.territories == KNOWN_TERRITORIES
    assert clearance.allows("JP", date(1990, 5, 1)) and clearance.allows("JP", date(2999, 1, 1))
    assert clearance.next_change_after(D) is None


def test_excluded_territory_is_never_cleared():
    ep = episode(territories=Territories(worldwide=True, excluded=("US", "CA")), rights=(grant(AUDIO_ADAPTATION),))
    clearance = compute_clearance(ep, POLICY)
    assert not clearance.allows("US", D) and not clearance.allows("CA", D)
    assert clearance.allows("GB", D)


def test_included_list_limits_clearance():
    ep = episode(territories=Territories(included=("GB", "IE")), rights=(grant(AUDIO_ADAPTATION),))
    assert compute_clearance(ep, POLICY).territories == {"GB", "IE"}


def test_window_is_half_open():
    ep = episode(rights=(grant(AUDIO_ADAPTATION, start=0, end=10),))
    clearance = compute_clearance(ep, POLICY)
    assert not clearance.allows("GB", day(-1))
    assert clearance.allows("GB", day(0)) and clearance.allows("GB", day(9))
    assert not clearance.allows("GB", day(10))
    assert clearance.windows["GB"] == (DateWindow(starts_on=day(0), ends_on=day(10)),)


def test_every_required_right_must_hold_so_windows_intersect():
    ep = episode(
        kind=EpisodeKind.SERIALIZED_FICTION,
        rights=(grant(AUDIO_ADAPTATION, start=0, end=30), grant(NARRATION, start=10, end=None)),
    )
    assert compute_clearance(ep, POLICY).windows["FR"] == (DateWindow(starts_on=day(10), ends_on=day(30)),)


def test_grants_of_one_type_add_up_and_touching_windows_merge():
    ep = episode(rights=(grant(AUDIO_ADAPTATION, start=0, end=5), grant(AUDIO_ADAPTATION, start=5, end=8, contract_id=2),
                         grant(AUDIO_ADAPTATION, start=20, end=25, contract_id=3)))
    assert compute_clearance(ep, POLICY).windows["GB"] == (
        DateWindow(starts_on=day(0), ends_on=day(8)),
        DateWindow(starts_on=day(20), ends_on=day(25)),
    )


def test_grant_territories_narrow_that_right_only_within_the_sales_territories():
    ep = episode(
        kind=EpisodeKind.COMPANION_PODCAST,
        territories=Territories(included=("GB", "US", "FR")),
        rights=(
            grant(AUDIO_ADAPTATION),
            grant(MUSIC_USE, territories=Territories(included=("GB", "US", "DE"))),
            grant(MUSIC_USE, start=0, end=3, territories=Territories(worldwide=True, excluded=("US", "GB"))),
        ),
    )
    clearance = compute_clearance(ep, POLICY)
    assert clearance.territories == {"GB", "US", "FR"}
    assert clearance.windows["FR"] == (DateWindow(starts_on=day(0), ends_on=day(3)),)
    assert "DE" not in clearance.windows  # granted, but the product is not for sale there


def test_missing_required_right_means_no_clearance():
    ep = episode(kind=EpisodeKind.SERIALIZED_FICTION, rights=(grant(AUDIO_ADAPTATION),))
    assert compute_clearance(ep, POLICY).is_empty


def test_right_types_resolve_through_aliases():
    ep = episode(kind=EpisodeKind.SERIALIZED_FICTION, rights=(grant("Audio rights"), grant("Narrator-Agreement")))
    assert compute_clearance(ep, POLICY).allows("GB", D)
    assert rights_findings(ep, POLICY) == []


def test_contradictory_window_grants_nothing():
    ep = episode(rights=(grant(AUDIO_ADAPTATION, start=10, end=2),))
    assert compute_clearance(ep, POLICY).is_empty


def test_territory_both_included_and_excluded_is_not_cleared():
    ep = episode(territories=Territories(included=("GB", "FR"), excluded=("FR",)), rights=(grant(AUDIO_ADAPTATION),))
    assert compute_clearance(ep, POLICY).territories == {"GB"}


def test_what_each_kind_requires_is_configuration():
    ep = episode(kind=EpisodeKind.BRANDED_PODCAST, rights=(grant(AUDIO_ADAPTATION),))
    assert compute_clearance(ep, POLICY).is_empty
    relaxed = RightsPolicy(required={"branded_podcast": ["audio_adaptation"]})
    assert compute_clearance(ep, relaxed).allows("GB", D)
    assert relaxed.required_for(EpisodeKind.SERIALIZED_FICTION) == (AUDIO_ADAPTATION, NARRATION)  # others keep defaults
    nothing = RightsPolicy(required={"branded_podcast": []})
    assert compute_clearance(episode(kind=EpisodeKind.BRANDED_PODCAST), nothing).allows("GB", date(1900, 1, 1))


def test_policy_is_configurable_through_the_mapping_config():
    config = MappingConfig.model_validate({"rights": {"aliases": {"Hörbuchrechte": "audio_adaptation"}}})
    assert config.rights.canonical_right_type("HÖRBUCHRECHTE") == AUDIO_ADAPTATION
    assert MappingConfig().rights.required_for(EpisodeKind.COMPANION_PODCAST) == (AUDIO_ADAPTATION, MUSIC_USE)


def test_policy_rejects_required_or_aliased_types_it_does_not_know():
    with pytest.raises(ValidationError, match="not known"):
        RightsPolicy(required={"author_interview": ["translation"]})
    with pytest.raises(ValidationError, match="unknown right types"):
        RightsPolicy(aliases={"Film": "film"})
    with pytest.raises(ValidationError, match="written differently"):
        RightsPolicy(aliases={"Audio": "audio_adaptation", "AUDIO": "narration"})


def test_next_change_after_names_the_next_opening_or_closing():
    ep = episode(
        territories=Territories(included=("GB", "US")),
        rights=(grant(AUDIO_ADAPTATION, start=0, end=10, territories=Territories(included=("GB",))),
                grant(AUDIO_ADAPTATION, start=5, end=None, territories=Territories(included=("US",)))),
    )
    clearance = compute_clearance(ep, POLICY)
    assert clearance.next_change_after(day(-3)) == day(0)
    assert clearance.next_change_after(day(0)) == day(5)
    assert clearance.next_change_after(day(5)) == day(10)
    assert clearance.next_change_after(day(10)) is None
    assert clearance.territories_on(day(7)) == {"GB", "US"}
    assert clearance.territories_on(day(12)) == {"US"}


def test_clearance_rejects_windows_that_are_not_normalised():
    with pytest.raises(ValidationError):
        Clearance(windows={"GB": (DateWindow(starts_on=day(0), ends_on=day(5)), DateWindow(starts_on=day(5), ends_on=day(9)))})
    with pytest.raises(ValidationError):
        Clearance(windows={"GB": ()})
    with pytest.raises(ValidationError):
        DateWindow(starts_on=day(3), ends_on=day(3))


# ------------------------------------------------------------------------------------ findings
def test_consistent_rights_give_no_findings():
    ep = episode(kind=EpisodeKind.SERIALIZED_FICTION, rights=(grant(AUDIO_ADAPTATION), grant(NARRATION, start=0, end=9)))
    assert rights_findings(ep, POLICY) == []


def test_territory_included_and_excluded_is_a_blocking_finding():
    ep = episode(territories=Territories(included=("GB", "FR"), excluded=("FR",)), rights=(grant(AUDIO_ADAPTATION),))
    findings = rights_findings(ep, POLICY)
    assert codes(findings) == {"territory_included_and_excluded"}
    assert all(f.blocking for f in findings) and "FR" in findings[0].message
    assert findings[0].entity == "episode#42"


def test_grant_territory_contradiction_is_a_finding_too():
    ep = episode(rights=(grant(AUDIO_ADAPTATION, territories=Territories(included=("DE",), excluded=("DE",))),))
    assert codes(rights_findings(ep, POLICY)) == {"territory_included_and_excluded"}


def test_window_ending_before_it_starts_is_a_finding():
    ep = episode(rights=(grant(AUDIO_ADAPTATION, start=10, end=2, contract_id=7),))
    [finding] = rights_findings(ep, POLICY)
    assert finding.code == "window_ends_before_start" and "contract 7" in finding.message and finding.blocking


def test_unknown_right_type_is_a_finding():
    ep = episode(rights=(grant(AUDIO_ADAPTATION), grant("Film rights")))
    [finding] = rights_findings(ep, POLICY)
    assert finding.code == "unknown_right_type" and "Film rights" in finding.message


def test_unknown_country_codes_are_findings():
    ep = episode(territories=Territories(included=("GB", "UK")), rights=(grant(AUDIO_ADAPTATION, territories=Territories(excluded=("EU",))),))
    findings = rights_findings(ep, POLICY)
    assert [f.code for f in findings] == ["unknown_territory", "unknown_territory"]
    assert "UK" in findings[0].message and "EU" in findings[1].message


def test_missing_required_right_is_a_finding_per_type():
    ep = episode(kind=EpisodeKind.COMPANION_PODCAST)
    assert codes(rights_findings(ep, POLICY)) == {"missing_right:audio_adaptation", "missing_right:music_use"}


def test_not_for_sale_anywhere_is_a_finding():
    ep = episode(territories=Territories(), rights=(grant(AUDIO_ADAPTATION),))
    assert codes(rights_findings(ep, POLICY)) == {"not_for_sale_anywhere"}


def test_assessment_holds_content_with_blocking_findings_even_where_cleared():
    ep = episode(territories=Territories(included=("GB", "FR"), excluded=("FR",)), rights=(grant(AUDIO_ADAPTATION),))
    assessment = assess_rights(ep, POLICY)
    assert assessment.clearance.allows("GB", D)
    assert assessment.blocked and assessment.live_territories_on(D) == set()
    clean = assess_rights(episode(territories=Territories(included=("GB",)), rights=(grant(AUDIO_ADAPTATION),)), POLICY)
    assert not clean.blocked and clean.live_territories_on(D) == {"GB"}


# ------------------------------------------------------------------------------------ properties
UNIVERSE = ("GB", "US", "FR", "DE")
SPAN = 20  # grant boundaries fall within [D, D + SPAN]
RIGHT_NAMES = (AUDIO_ADAPTATION, NARRATION, MUSIC_USE, "Audio rights", "Music usage", "Film rights")

boundary = st.one_of(st.none(), st.integers(0, SPAN).map(day))
territory_subset = st.lists(st.sampled_from(UNIVERSE), max_size=4, unique=True).map(tuple)
territories_strategy = st.builds(Territories, worldwide=st.booleans(), included=territory_subset, excluded=territory_subset)
# Weighted towards content that is cleared somewhere, so that windows, narrowing and merging are exercised
# as often as the empty cases.
grant_strategy = st.builds(
    RightGrant,
    right_type=st.one_of(st.sampled_from(RIGHT_NAMES[:3]), st.sampled_from(RIGHT_NAMES)),
    contract_id=st.integers(1, 5),
    starts_on=boundary,
    ends_on=boundary,
    territories=st.one_of(st.none(), st.none(), territories_strategy),
)
episode_strategy = st.builds(
    Episode,
    product_id=st.just(1),
    kind=st.sampled_from(list(EpisodeKind)),
    title=st.just("t"),
    territories=st.one_of(st.just(Territories(worldwide=True)), territories_strategy),
    rights=st.lists(grant_strategy, min_size=1, max_size=8).map(tuple),
)
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


def in_territories(territories: Territories, territory: str) -> bool:
    return (territories.worldwide or territory in territories.included) and territory not in territories.excluded


def oracle_allows(ep: Episode, territory: str, on: date) -> bool:
    """The definition, evaluated directly for one (territory, day)."""
    if not in_territories(ep.territories, territory):
        return False
    for required in POLICY.required_for(ep.kind):
        if not any(
            POLICY.canonical_right_type(g.right_type) == required
            and (g.territories is None or in_territories(g.territories, territory))
            and (g.starts_on is None or g.starts_on <= on)
            and (g.ends_on is None or on < g.ends_on)
            for g in ep.rights
        ):
            return False
    return True


DAYS = [day(offset) for offset in range(-2, SPAN + 3)]


@PROPERTY_SETTINGS
@given(episode_strategy)
def test_clearance_allows_exactly_what_the_definition_allows(ep: Episode):
    clearance = compute_clearance(ep, POLICY, UNIVERSE)
    for territory in UNIVERSE:
        for on in DAYS:
            assert clearance.allows(territory, on) == oracle_allows(ep, territory, on), (territory, on)
    assert clearance.territories <= set(UNIVERSE)


@PROPERTY_SETTINGS
@given(episode_strategy)
def test_clearance_never_allows_outside_the_sales_territories_or_a_required_window(ep: Episode):
    clearance = compute_clearance(ep, POLICY, UNIVERSE)
    for on in DAYS:
        for territory in clearance.territories_on(on):
            assert in_territories(ep.territories, territory)
            for required in POLICY.required_for(ep.kind):
                holding = [g for g in ep.rights if POLICY.canonical_right_type(g.right_type) == required]
                assert any(
                    (g.starts_on is None or g.starts_on <= on) and (g.ends_on is None or on < g.ends_on) for g in holding
                )


@PROPERTY_SETTINGS
@given(episode_strategy, st.integers(-3, SPAN + 2))
def test_next_change_after_is_the_next_day_the_live_territories_change(ep: Episode, offset: int):
    clearance = compute_clearance(ep, POLICY, UNIVERSE)
    start = day(offset)
    expected = None
    current = clearance.territories_on(start)
    probe = start + timedelta(days=1)
    while probe <= day(SPAN + 3):
        following = clearance.territories_on(probe)
        if following != current:
            expected = probe
            break
        current = following
        probe += timedelta(days=1)
    assert clearance.next_change_after(start) == expected


@PROPERTY_SETTINGS
@given(episode_strategy)
def test_clearance_round_trips_through_json(ep: Episode):
    clearance = compute_clearance(ep, POLICY, UNIVERSE)
    assert Clearance.model_validate_json(clearance.model_dump_json()) == clearance
    assert Clearance.model_validate(clearance.model_dump(mode="json")) == clearance


@PROPERTY_SETTINGS
@given(episode_strategy)
def test_every_contradiction_in_the_input_is_a_blocking_finding(ep: Episode):
    findings = rights_findings(ep, POLICY, UNIVERSE)
    found = codes(findings)
    all_territories = [ep.territories] + [g.territories for g in ep.rights if g.territories is not None]
    if any(set(t.included) & set(t.excluded) for t in all_territories):
        assert "territory_included_and_excluded" in found
    if any(g.starts_on and g.ends_on and g.ends_on < g.starts_on for g in ep.rights):
        assert "window_ends_before_start" in found
    if any(g.right_type == "Film rights" for g in ep.rights):
        assert "unknown_right_type" in found
    for required in POLICY.required_for(ep.kind):
        granted = any(POLICY.canonical_right_type(g.right_type) == required for g in ep.rights)
        assert (f"missing_right:{required}" in found) == (not granted)
    assert all(f.blocking for f in findings)
