"""The analytics store's one daily-fact schema, and the dimension tables that give facts their meaning.

A fact is one number for one day: `value` of `metric` for the entity `entity_id` (in the source's own
identifiers: a Megaphone episode id, a Spotify show or episode id, an Ads campaign id), for the whole
audience (`dimension = "total"`) or one slice of it (`country` GB, `age` 18-22, `gender` FEMALE). Every
row carries its `source` and whether that source is `official`, so a reader can always leave out the
unofficial Spotify for Creators figures.

Long, not wide: the three sources measure different things, and a new measure is a new metric value,
not a schema change (the Glue table and every Parquet file stay valid).

The store partitions by `source` and `date` (Hive style); those two are not stored inside the files.
`COLUMNS` is the single definition: the pyarrow schema (store.py), the Glue table columns and the
README table are all built from it.

Dimensions: facts know nothing about Consonance. `Dimensions` (filled by the lead's flow from the sync
ledger and Consonance) says which product, work, series, contributors and main subject an episode
belongs to, and which milestones and campaigns a work has; from it the store derives two bridge
tables the SQL joins on: `dim_key` (source id -> product/work/series) and `dim_group` (product ->
each episode/title/series/author/genre group it counts towards).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from types import UnionType
from typing import Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Source = Literal["megaphone_export", "spotify_creators", "spotify_ads"]
SOURCES: tuple[Source, ...] = ("megaphone_export", "spotify_creators", "spotify_ads")
# Official: the Megaphone export and the Ads API are documented products; Spotify for Creators is not.
OFFICIAL: dict[str, bool] = {"megaphone_export": True, "spotify_creators": False, "spotify_ads": True}

EntityType = Literal["episode", "show", "campaign", "ad_set"]
Dimension = Literal["total", "country", "age", "gender"]
TOTAL: Dimension = "total"


class Metric(StrEnum):
    """What a fact measures. `ADDITIVE` metrics may be summed over days and entities; the others are
    levels or snapshots (a follower count, an all-time completion curve) and are read, not summed."""

    DOWNLOADS = "downloads"  # Megaphone: counted deliveries (filtered, one per listener and day)
    STARTS = "starts"  # Spotify: plays begun
    STREAMS = "streams"  # Spotify: plays of at least 60 s
    LISTENERS = "listeners"  # Spotify: unique listeners that day (summed over days = listener-days)
    FOLLOWERS = "followers"  # Spotify: followers of the show at the end of the day (a level)
    FOLLOWERS_GAINED = "followers_gained"  # Spotify: change of `followers` from the day before
    MEDIAN_COMPLETION_PCT = "median_completion_pct"  # Spotify: all-time curve, snapshot of that day
    REACHED_25_PCT = "reached_25_pct"  # Spotify: % of starts that reached 25 % of the episode (snapshot)
    REACHED_50_PCT = "reached_50_pct"
    REACHED_75_PCT = "reached_75_pct"
    REACHED_100_PCT = "reached_100_pct"
    AD_IMPRESSIONS = "ad_impressions"  # Ads API, paid delivery only
    AD_REACH = "ad_reach"  # unique per day; summed over days it is not deduplicated
    AD_LISTENERS = "ad_listeners"
    AD_NEW_LISTENERS = "ad_new_listeners"
    AD_STREAMS = "ad_streams"
    AD_CLICKS = "ad_clicks"
    AD_COMPLETES = "ad_completes"
    AD_FIRST_QUARTILES = "ad_first_quartiles"
    AD_MIDPOINTS = "ad_midpoints"
    AD_THIRD_QUARTILES = "ad_third_quartiles"


SNAPSHOT_METRICS: frozenset[Metric] = frozenset(
    {
        Metric.FOLLOWERS,
        Metric.MEDIAN_COMPLETION_PCT,
        Metric.REACHED_25_PCT,
        Metric.REACHED_50_PCT,
        Metric.REACHED_75_PCT,
        Metric.REACHED_100_PCT,
    }
)
ADDITIVE_METRICS: frozenset[Metric] = frozenset(Metric) - SNAPSHOT_METRICS


@dataclass(frozen=True)
class Column:
    """One column of the facts table: its name, its type (Athena/Glue names), nullability and meaning."""

    name: str
    type: Literal["string", "double", "boolean", "timestamp", "date", "bigint"]
    nullable: bool
    description: str


# Partition columns live in the object key (`source=…/date=…/`), not inside the Parquet files.
PARTITION_COLUMNS: tuple[Column, ...] = (
    Column("source", "string", False, "megaphone_export | spotify_creators | spotify_ads"),
    Column("date", "date", False, "the UTC day the value is for (YYYY-MM-DD)"),
)
COLUMNS: tuple[Column, ...] = (
    Column("official", "boolean", False, "true for the Megaphone export and the Ads API, false for Spotify for Creators"),
    Column("entity_type", "string", False, "episode | show | campaign | ad_set"),
    Column("entity_id", "string", False, "the source's own id (Megaphone episode, Spotify show/episode, Ads campaign)"),
    Column("show_id", "string", True, "the show/podcast of the entity in the source's ids, when known"),
    Column("metric", "string", False, "what is measured (see the metric table)"),
    Column("dimension", "string", False, "total, or the slice: country | age | gender"),
    Column("dimension_value", "string", False, "'' for total; else the slice's value (GB, 18-22, FEMALE)"),
    Column("value", "double", False, "the figure"),
    Column("retrieved_at", "timestamp", False, "when the integration read it (UTC)"),
    Column("origin", "string", False, "where it came from: the export object's key or the API path"),
)


class DailyFact(BaseModel):
    """One row of the facts table. `day` is stored as the partition column `date`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Source
    day: date
    official: bool
    entity_type: EntityType
    entity_id: str = Field(min_length=1, max_length=200)
    show_id: str | None = None
    metric: Metric
    dimension: Dimension = TOTAL
    dimension_value: str = ""
    value: float
    retrieved_at: datetime
    origin: str = Field(min_length=1)

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("value must be a finite number")
        return value

    @field_validator("retrieved_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("retrieved_at must carry its time zone (UTC)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "DailyFact":
        if self.official != OFFICIAL[self.source]:
            raise ValueError(f"{self.source} facts are official={OFFICIAL[self.source]}")
        if (self.dimension == TOTAL) != (self.dimension_value == ""):
            raise ValueError("dimension_value is '' exactly when dimension is 'total'")
        return self


def fact(
    source: Source,
    day: date,
    entity_type: EntityType,
    entity_id: str,
    metric: Metric,
    value: float,
    *,
    retrieved_at: datetime,
    origin: str,
    show_id: str | None = None,
    dimension: Dimension = TOTAL,
    dimension_value: str = "",
) -> DailyFact:
    """A fact with its officialness taken from its source (the one place that decides it)."""
    return DailyFact(
        source=source,
        day=day,
        official=OFFICIAL[source],
        entity_type=entity_type,
        entity_id=entity_id,
        show_id=show_id,
        metric=metric,
        dimension=dimension,
        dimension_value=dimension_value,
        value=value,
        retrieved_at=retrieved_at,
        origin=origin,
    )


# ------------------------------------------------------------------------------------------ dimensions
class DimensionRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TitleDimension(DimensionRow):
    """A Consonance work (the book title) and what groups it: series, main subject, publication date.

    `publication_date` is the related book's `Product.publicationDate` (the launch the audio is
    compared against); `main_subject_*` is the work's main Thema or BISAC subject.
    """

    work_id: str
    title: str
    series_id: str | None = None
    series_name: str | None = None
    main_subject_scheme: Literal["THEMA", "BISAC"] | None = None
    main_subject_code: str | None = None
    main_subject_label: str | None = None
    publication_date: date | None = None
    book_product_id: str | None = None


class EpisodeDimension(DimensionRow):
    """An audio product (an episode) with its ids on each platform, as the sync ledger records them."""

    product_id: str
    work_id: str
    episode_title: str
    series_id: str | None = None
    megaphone_podcast_id: str | None = None
    megaphone_episode_id: str | None = None
    spotify_show_id: str | None = None
    spotify_episode_id: str | None = None
    release_date: date | None = None


class ContributorDimension(DimensionRow):
    """A contribution to a work (ONIX list 17 role: A01 author, E07 read by, …)."""

    work_id: str
    contributor_id: str
    contributor_name: str
    role_code: str
    sequence_number: int = 1


class MilestoneDimension(DimensionRow):
    """A dated marketing milestone of a work (pre-order, publication, backlist promotion), with the
    Ads campaign prepared for it when there is one, and the campaign's last day when it is known."""

    work_id: str
    milestone: str
    milestone_date: date
    campaign_id: str | None = None
    window_end: date | None = None


class KeyRow(DimensionRow):
    """`dim_key`: which product, work and series a source's id stands for."""

    source: Source
    entity_type: EntityType
    entity_id: str
    product_id: str | None
    work_id: str | None
    series_id: str | None


GroupType = Literal["episode", "title", "series", "author", "genre"]
GROUP_TYPES: tuple[GroupType, ...] = ("episode", "title", "series", "author", "genre")


class GroupRow(DimensionRow):
    """`dim_group`: one row per (group, episode) — an episode counts towards its own episode group,
    its title, its series, each of its work's authors and its work's main subject."""

    group_type: GroupType
    group_key: str
    group_label: str
    product_id: str
    work_id: str
    series_id: str | None


class DimensionConflict(ValueError):
    """The dimension rows contradict each other (one id mapped to two things)."""


class Dimensions(BaseModel):
    """Everything the rollups need to know about the catalogue; the lead's flow fills it from the ledger."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    titles: tuple[TitleDimension, ...] = ()
    episodes: tuple[EpisodeDimension, ...] = ()
    contributors: tuple[ContributorDimension, ...] = ()
    milestones: tuple[MilestoneDimension, ...] = ()

    @model_validator(mode="after")
    def _referentially_sound(self) -> "Dimensions":
        works = _unique((t.work_id for t in self.titles), "work_id in titles")
        _unique((e.product_id for e in self.episodes), "product_id in episodes")
        for rows, what in ((self.episodes, "episode"), (self.contributors, "contributor"), (self.milestones, "milestone")):
            unknown = sorted({row.work_id for row in rows} - works)
            if unknown:
                raise DimensionConflict(f"{what} rows name works missing from titles: {unknown[:5]}")
        return self

    def key_rows(self) -> list[KeyRow]:
        """`dim_key`: every source id the dimensions know, mapped once (a conflict is an error); an Ads
        campaign once per audio work it stands beside (a book's campaign, with each audio launched with the book)."""
        series_of_work = {t.work_id: t.series_id for t in self.titles}
        keys: dict[tuple[str, ...], KeyRow] = {}

        def add(row: KeyRow) -> None:
            key: tuple[str, ...] = (row.source, row.entity_type, row.entity_id)
            if row.entity_type == "campaign":  # a book's campaign stands beside each audio work launched with it
                key += (row.work_id or "",)
            if key in keys and keys[key] != row:
                raise DimensionConflict(f"{row.source} {row.entity_type} {row.entity_id} maps to two different entities")
            keys[key] = row

        for e in self.episodes:
            series = e.series_id or series_of_work.get(e.work_id)
            if e.megaphone_episode_id:
                add(KeyRow(source="megaphone_export", entity_type="episode", entity_id=e.megaphone_episode_id, product_id=e.product_id, work_id=e.work_id, series_id=series))
            if e.spotify_episode_id:
                add(KeyRow(source="spotify_creators", entity_type="episode", entity_id=e.spotify_episode_id, product_id=e.product_id, work_id=e.work_id, series_id=series))
            if e.megaphone_podcast_id and series:
                add(KeyRow(source="megaphone_export", entity_type="show", entity_id=e.megaphone_podcast_id, product_id=None, work_id=None, series_id=series))
            if e.spotify_show_id and series:
                add(KeyRow(source="spotify_creators", entity_type="show", entity_id=e.spotify_show_id, product_id=None, work_id=None, series_id=series))
        for m in self.milestones:
            if m.campaign_id:
                add(KeyRow(source="spotify_ads", entity_type="campaign", entity_id=m.campaign_id, product_id=None, work_id=m.work_id, series_id=series_of_work.get(m.work_id)))
        return sorted(keys.values(), key=lambda k: (k.source, k.entity_type, k.entity_id, k.work_id or ""))

    def group_rows(self, author_role_codes: Sequence[str] = ("A01",)) -> list[GroupRow]:
        """`dim_group`: the groups each episode counts towards. Authors are the work's contributors
        with one of `author_role_codes` (ONIX list 17; configurable)."""
        titles = {t.work_id: t for t in self.titles}
        authors: dict[str, list[ContributorDimension]] = {}
        for c in sorted(self.contributors, key=lambda c: (c.work_id, c.sequence_number, c.contributor_id)):
            if c.role_code in author_role_codes:
                authors.setdefault(c.work_id, []).append(c)
        rows: dict[tuple[str, str, str], GroupRow] = {}
        labels: dict[tuple[str, str], str] = {}  # one label per group, so DISTINCT never splits a group
        for e in sorted(self.episodes, key=lambda e: e.product_id):
            title = titles[e.work_id]
            series = e.series_id or title.series_id

            # the episode and series are bound per iteration (add runs at once, but a late call must not see the next episode)
            def add(group_type: GroupType, key: str, label: str, e: EpisodeDimension = e, series: str | None = series) -> None:
                rows[(group_type, key, e.product_id)] = GroupRow(
                    group_type=group_type,
                    group_key=key,
                    group_label=labels.setdefault((group_type, key), label),
                    product_id=e.product_id,
                    work_id=e.work_id,
                    series_id=series,
                )

            add("episode", e.product_id, e.episode_title)
            add("title", title.work_id, title.title)
            if series:
                add("series", series, title.series_name or series)
            for author in authors.get(e.work_id, []):
                add("author", author.contributor_id, author.contributor_name)
            if title.main_subject_scheme and title.main_subject_code:
                label = title.main_subject_label or title.main_subject_code
                add("genre", f"{title.main_subject_scheme}:{title.main_subject_code}", f"{label} ({title.main_subject_scheme} {title.main_subject_code})")
        return sorted(rows.values(), key=lambda r: (r.group_type, r.group_key, r.product_id))


def _unique(values: Iterable[str], what: str) -> set[str]:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise DimensionConflict(f"duplicate {what}: {value}")
        seen.add(value)
    return seen


# Where the store keeps them, under its root (an S3 prefix or a directory; see store.py).
FACTS_DIRECTORY = "facts"
DIMENSIONS_DIRECTORY = "dimensions"
# Dimension tables: their row models, in the order the rollups' joins need them.
DIMENSION_MODELS: dict[str, type[BaseModel]] = {
    "dim_title": TitleDimension,
    "dim_episode": EpisodeDimension,
    "dim_contributor": ContributorDimension,
    "dim_milestone": MilestoneDimension,
    "dim_key": KeyRow,
    "dim_group": GroupRow,
}


def dimension_columns(model: type[BaseModel]) -> list[Column]:
    """A dimension row model's columns: str (and Literal of strings) -> string, date -> date, int ->
    bigint; an Optional field is nullable. The Parquet schema and the Glue table are both built from it."""
    columns = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        nullable = False
        if get_origin(annotation) in (Union, UnionType):
            arguments = [a for a in get_args(annotation) if a is not type(None)]
            nullable = len(arguments) < len(get_args(annotation))
            annotation = arguments[0]
        kind: Literal["string", "date", "bigint"] = "date" if annotation is date else "bigint" if annotation is int else "string"
        columns.append(Column(name, kind, nullable, info.description or name.replace("_", " ")))
    return columns


def glue_columns() -> list[dict[str, str]]:
    """The facts table's columns in Glue's `StorageDescriptor.Columns` shape (partition keys apart)."""
    return [{"Name": c.name, "Type": c.type, "Comment": c.description} for c in COLUMNS]


def glue_partition_keys() -> list[dict[str, str]]:
    return [{"Name": c.name, "Type": c.type, "Comment": c.description} for c in PARTITION_COLUMNS]
