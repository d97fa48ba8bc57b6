"""Series rules: every conflict the publisher must hold back, and none where the series is sound."""

from __future__ import annotations

from datetime import date

from functions.domain.models import Credit, Episode, EpisodeKind, Show
from functions.domain.series_rules import series_conflicts
from functions.mapping_config import MappingConfig

CONFIG = MappingConfig()
SHOW = Show(series_id=7, name="The Salt Road")
AUTHOR = Credit(contributor_id=1, name="Mara Quill", role_code="A01", sequence=1)
READER = Credit(contributor_id=2, name="Tobias Reed", role_code="E07", sequence=2)


def episode(product_id: int, part: int | None, released: date, *, credits=(AUTHOR, READER), title: str | None = None) -> Episode:
    return Episode(
        product_id=product_id,
        kind=EpisodeKind.SERIALIZED_FICTION,
        title=title or f"Part {part}",
        show=SHOW,
        part_number=part,
        release_date=released,
        credits=credits,
    )


def codes(conflicts, product_id: int) -> set[str]:
    return {f.code for f in conflicts.get(product_id, [])}


def test_a_sound_series_has_no_conflict():
    series = [episode(i, i, date(2026, 12, i)) for i in range(1, 6)]
    assert series_conflicts(series, CONFIG) == {}


def test_duplicate_part_numbers_hold_both_episodes():
    conflicts = series_conflicts([episode(1, 1, date(2026, 12, 1)), episode(2, 1, date(2026, 12, 2), title="Other")], CONFIG)
    assert codes(conflicts, 1) == {"duplicate_part_number"}
    assert codes(conflicts, 2) == {"duplicate_part_number"}


def test_release_dates_must_rise_with_part_order():
    series = [episode(1, 1, date(2026, 12, 1)), episode(2, 2, date(2026, 12, 10)), episode(3, 3, date(2026, 12, 5))]
    conflicts = series_conflicts(series, CONFIG)
    assert codes(conflicts, 3) == {"release_out_of_order"}
    assert 1 not in conflicts and 2 not in conflicts


def test_missing_narrator_on_a_serial_and_missing_part_number():
    conflicts = series_conflicts([episode(1, 1, date(2026, 12, 1), credits=(AUTHOR,)), episode(2, None, date(2026, 12, 2))], CONFIG)
    assert codes(conflicts, 1) == {"missing_narrator_credit"}
    assert codes(conflicts, 2) == {"missing_part_number"}


def test_author_attribution_must_match_the_series():
    stranger = Credit(contributor_id=9, name="Someone Else", role_code="A01", sequence=1)
    series = [episode(1, 1, date(2026, 12, 1)), episode(2, 2, date(2026, 12, 2)), episode(3, 3, date(2026, 12, 3), credits=(stranger, READER))]
    conflicts = series_conflicts(series, CONFIG)
    assert codes(conflicts, 3) == {"inconsistent_author_attribution"}
    assert "Mara Quill" in conflicts[3][0].message


def test_duplicate_titles_within_a_show():
    conflicts = series_conflicts([episode(1, 1, date(2026, 12, 1), title="Dawn"), episode(2, 2, date(2026, 12, 2), title="dawn ")], CONFIG)
    assert codes(conflicts, 1) == codes(conflicts, 2) == {"duplicate_title"}
