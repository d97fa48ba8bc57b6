"""A catalogue and a fortnight of facts small enough to roll up by hand (the expected values in
test_rollup_values.py are worked out from this, not read back from the engine).

Titles: w1 "Tide" and w2 "Storm" in series s1 "Coast" (Thema FBA), w3 "Hills" alone (BISAC HIS000000).
Authors: Ann (c1) wrote w1 and co-wrote w2 with Bob (c2), who also wrote w3; Nel (c3) only narrates w1.
Episodes: p1 (w1), p2 (w2), p3 (w3), each on Megaphone (m1..m3) and Spotify (sp1..sp3); shows pod-a/S1
belong to series s1; w3 has no series, so its shows map to no group. Milestone: w1 pre-order on 3 March
with Ads campaign camp-1 running to 9 March.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

from functions.analytics.facts import (
    ContributorDimension,
    DailyFact,
    Dimensions,
    EpisodeDimension,
    EntityType,
    Metric,
    MilestoneDimension,
    Source,
    TitleDimension,
    fact,
)
from functions.analytics.store import Partition, local_store

RETRIEVED = datetime(2025, 3, 15, 6, 0, tzinfo=timezone.utc)
FROM_DAY = date(2025, 3, 1)
TO_DAY = date(2025, 3, 14)

DIMENSIONS = Dimensions(
    titles=(
        TitleDimension(work_id="w1", title="Tide", series_id="s1", series_name="Coast", main_subject_scheme="THEMA", main_subject_code="FBA", main_subject_label="Modern fiction", publication_date=date(2025, 3, 10)),
        TitleDimension(work_id="w2", title="Storm", series_id="s1", series_name="Coast", main_subject_scheme="THEMA", main_subject_code="FBA", main_subject_label="Modern fiction", publication_date=date(2025, 3, 20)),
        TitleDimension(work_id="w3", title="Hills", main_subject_scheme="BISAC", main_subject_code="HIS000000", main_subject_label="History", publication_date=date(2025, 3, 15)),
    ),
    episodes=(
        EpisodeDimension(product_id="p1", work_id="w1", episode_title="Tide 1", megaphone_podcast_id="pod-a", megaphone_episode_id="m1", spotify_show_id="S1", spotify_episode_id="sp1"),
        EpisodeDimension(product_id="p2", work_id="w2", episode_title="Storm 1", megaphone_podcast_id="pod-a", megaphone_episode_id="m2", spotify_show_id="S1", spotify_episode_id="sp2"),
        EpisodeDimension(product_id="p3", work_id="w3", episode_title="Hills 1", megaphone_podcast_id="pod-b", megaphone_episode_id="m3", spotify_show_id="S2", spotify_episode_id="sp3"),
    ),
    contributors=(
        ContributorDimension(work_id="w1", contributor_id="c1", contributor_name="Ann", role_code="A01"),
        ContributorDimension(work_id="w1", contributor_id="c3", contributor_name="Nel", role_code="E07", sequence_number=2),
        ContributorDimension(work_id="w2", contributor_id="c1", contributor_name="Ann", role_code="A01"),
        ContributorDimension(work_id="w2", contributor_id="c2", contributor_name="Bob", role_code="A01", sequence_number=2),
        ContributorDimension(work_id="w3", contributor_id="c2", contributor_name="Bob", role_code="A01"),
    ),
    milestones=(MilestoneDimension(work_id="w1", milestone="pre_order", milestone_date=date(2025, 3, 3), campaign_id="camp-1", window_end=date(2025, 3, 9)),),
)

# (source, entity_type, entity_id, metric, day, value, dimension_value or "")
ROWS: list[tuple[Source, EntityType, str, Metric, date, float, str]] = [
    ("megaphone_export", "episode", "m1", Metric.DOWNLOADS, date(2025, 2, 20), 100, ""),
    ("megaphone_export", "episode", "m1", Metric.DOWNLOADS, date(2025, 3, 5), 10, ""),
    ("megaphone_export", "episode", "m1", Metric.DOWNLOADS, date(2025, 3, 5), 10, "GB"),  # a slice: never summed with totals
    ("megaphone_export", "episode", "m1", Metric.DOWNLOADS, date(2025, 3, 12), 20, ""),
    ("megaphone_export", "episode", "m2", Metric.DOWNLOADS, date(2025, 3, 12), 5, ""),
    ("megaphone_export", "episode", "m3", Metric.DOWNLOADS, date(2025, 3, 13), 7, ""),
    ("megaphone_export", "episode", "m9", Metric.DOWNLOADS, date(2025, 3, 13), 999, ""),  # not in the catalogue
    ("spotify_creators", "episode", "sp1", Metric.STARTS, date(2025, 3, 5), 4, ""),
    ("spotify_creators", "episode", "sp1", Metric.STARTS, date(2025, 3, 12), 6, ""),
    ("spotify_creators", "episode", "sp2", Metric.STARTS, date(2025, 3, 12), 10, ""),
    ("spotify_creators", "episode", "sp1", Metric.LISTENERS, date(2025, 3, 12), 3, ""),
    ("spotify_creators", "show", "S1", Metric.FOLLOWERS_GAINED, date(2025, 3, 12), 2, ""),
    ("spotify_creators", "show", "S1", Metric.FOLLOWERS, date(2025, 3, 12), 50, ""),  # a level: never summed
    ("spotify_creators", "show", "S1", Metric.STARTS, date(2025, 3, 12), 100, ""),  # show level: episodes count instead
    ("spotify_creators", "episode", "sp1", Metric.MEDIAN_COMPLETION_PCT, date(2025, 3, 5), 40, ""),
    ("spotify_creators", "episode", "sp1", Metric.MEDIAN_COMPLETION_PCT, date(2025, 3, 12), 50, ""),
    ("spotify_creators", "episode", "sp1", Metric.REACHED_75_PCT, date(2025, 3, 12), 30, ""),
    ("spotify_creators", "episode", "sp2", Metric.MEDIAN_COMPLETION_PCT, date(2025, 3, 12), 80, ""),
    ("spotify_creators", "episode", "sp2", Metric.REACHED_75_PCT, date(2025, 3, 12), 60, ""),
    ("spotify_ads", "campaign", "camp-1", Metric.AD_IMPRESSIONS, date(2025, 3, 4), 1000, ""),
    ("spotify_ads", "campaign", "camp-1", Metric.AD_CLICKS, date(2025, 3, 4), 10, ""),
]


def facts() -> list[DailyFact]:
    return [
        fact(
            source,
            day,
            entity_type,
            entity_id,
            metric,
            value,
            retrieved_at=RETRIEVED,
            origin="hand",
            dimension="country" if slice_value else "total",
            dimension_value=slice_value,
        )
        for source, entity_type, entity_id, metric, day, value, slice_value in ROWS
    ]


def write(root: Path) -> None:
    """Write the dataset as the ingests would: one batch per (source, day)."""
    store = local_store(root)
    store.write_dimensions(DIMENSIONS)
    by_partition: dict[Partition, list[DailyFact]] = {}
    for row in facts():
        by_partition.setdefault(Partition(row.source, row.day), []).append(row)
    for partition, rows in by_partition.items():
        store.replace_batch(partition, "hand", rows)
