"""The sandbox's listening, delivered as the real sources deliver it, while the world runs.

`ListeningGenerator` (sandbox/listening.py) decides who listened to which episode each day (seeded,
with launch and campaign bumps). This feed hands each finished day to the sources, for the episodes
that really were out there that day — live on the Megaphone simulator, and on the Spotify simulator
for Spotify's figures — with the ids those simulators gave them:

- Megaphone's delivery export: the day's file is put into the export bucket (moto's S3) at 04:00 UTC
  the next day, its completion marker at 11:00; S3 announces both on EventBridge's default bus, whose
  rule sends them to the ingest flow's queue — the wiring that deploys. The scenario's overwritten
  day gets a half-full hourly version at 13:00 first; its missing day gets nothing at all.
- Spotify for Creators: the day's figures and follower counts go into the Creators simulator when the
  day ends (midnight UTC, before the nightly run asks for them), where the collector reads them; the
  scenario's login-expiry day makes the stored cookies stale at that midnight.
- Spotify Ads: not here. Paid delivery is the Ads simulator's (`sandbox/marketing.py` records each
  live ad's day as the campaign flows' campaigns go live), and the Ads report collector brings it
  into the store as it does in AWS: one path, the deployed one.

The titles' launch dates follow the nightly flow's rule (`functions.analytics.dimensions.launch_of`),
from the same Consonance answers, so the launch bumps sit where the rollups will look for them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import boto3

from functions.analytics.dimensions import launch_of, main_subject
from functions.analytics.facts import Dimensions, EpisodeDimension, TitleDimension
from functions.connectors.consonance.queries import analytics_works_query
from functions.connectors.consonance.records import AnalyticsWorkRecord
from sandbox.catalogue import ApiKey, Catalogue
from sandbox.distribution import spotify_show_id
from sandbox.listening import ExportDrop, ListeningGenerator, ListeningPlan
from sandbox.simulators.consonance import ConsonanceSimulator
from sandbox.simulators.megaphone import MegaphoneSimulator
from sandbox.simulators.spotify_creators import SpotifyCreatorsSimulator
from sandbox.simulators.spotify_web import SpotifyWebSimulator

SPOTIFY_AT = time(0, 0)  # the dashboard shows a day's figures once it is over (before the nightly run asks)
FILE_AT = time(4, 0)  # the whole day's file (legacy exports are final by 04:30, V2 by 11:00)
MARKER_AT = time(11, 0)  # Megaphone's V2 completion marker
PARTIAL_AT = time(13, 0)  # the overwritten day's earlier, half-full hourly version (same day)
PLAN_DAYS = 120  # listening generated ahead; a run emits only the days it reaches
DEFAULT_BOOK_TYPES = ("ElectronicBookProduct", "PhysicalBookProduct")


@dataclass(frozen=True)
class CreatorsLogin:
    sp_dc: str
    sp_key: str

    def secret(self) -> str:
        return json.dumps({"sp_dc": self.sp_dc, "sp_key": self.sp_key})


def catalogue_dimensions(catalogue: Catalogue, consonance: ConsonanceSimulator, key: ApiKey, audio_types: Sequence[str]) -> Dimensions:
    """The catalogue's audio episodes and their titles, as the nightly flow will see them (without the
    platform ids, which the simulators give during the run)."""
    podcast_of_series = {p.series_id: p.id for p in catalogue.megaphone.podcasts}
    works = {w.id: w for w in catalogue.works}
    related = catalogue.analytics.related_books
    episodes = []
    for product in sorted(catalogue.products, key=lambda p: p.id):
        work = works[product.work_id]
        if product.type not in audio_types or work.series_id not in podcast_of_series:
            continue
        podcast = podcast_of_series[work.series_id]
        episodes.append(
            EpisodeDimension(
                product_id=str(product.id),
                work_id=str(work.id),
                episode_title=product.title or work.title,
                series_id=str(work.series_id),
                megaphone_podcast_id=podcast,
                spotify_show_id=spotify_show_id(podcast),
                release_date=product.publication_date or product.planned_publication_date,
            )
        )
    wanted = sorted({int(e.work_id) for e in episodes} | {book for books in related.values() for book in books})
    if not wanted:
        return Dimensions(titles=(), episodes=())
    answer = consonance.execute(analytics_works_query(len(wanted)), {f"id{i}": w for i, w in enumerate(wanted)}, None, key)
    records = {record.id: record for record in (AnalyticsWorkRecord.model_validate(raw) for raw in answer["data"].values() if raw)}
    titles = []
    for work_id in sorted({int(e.work_id) for e in episodes}):
        record, work = records[work_id], works[work_id]
        release = min((e.release_date for e in episodes if e.work_id == str(work_id) and e.release_date), default=None)
        books = [records[b] for b in related.get(str(work.series_id), []) if b in records]
        launch = launch_of(record, release, books, frozenset(DEFAULT_BOOK_TYPES))
        subject = main_subject(record)
        series = next((s for s in catalogue.series if s.id == work.series_id), None)
        titles.append(
            TitleDimension(
                work_id=str(work_id),
                title=record.title or work.title,
                series_id=str(work.series_id) if work.series_id else None,
                series_name=series.name if series else None,
                main_subject_scheme=subject[0] if subject else None,  # type: ignore[arg-type]
                main_subject_code=subject[1] if subject else None,
                main_subject_label=subject[2] if subject else None,
                publication_date=launch.day if launch else None,
            )
        )
    return Dimensions(titles=tuple(titles), episodes=tuple(episodes))


class ListeningFeed:
    """A `before_tick` hook of the world: see the module docstring."""

    def __init__(
        self,
        catalogue: Catalogue,
        dimensions: Dimensions,
        *,
        megaphone: MegaphoneSimulator,
        spotify: SpotifyWebSimulator,
        creators: SpotifyCreatorsSimulator,
        creators_login: CreatorsLogin,
        export_bucket: str,
        export_prefix: str = "",
        on_objects: Callable[[], None] = lambda: None,
    ):
        scenario = catalogue.analytics
        start = catalogue.start_date

        def scenario_day(offset: int | None) -> date | None:
            return start + timedelta(days=offset) if offset is not None else None

        self.plan = ListeningPlan(
            first_day=start,
            last_day=start + timedelta(days=PLAN_DAYS),
            seed=scenario.seed,
            missing_export_day=scenario_day(scenario.missing_export_day),
            overwritten_export_day=scenario_day(scenario.overwritten_export_day),
            creators_login_expires_on=scenario_day(scenario.creators_login_expires_day),
        )
        self.generator = ListeningGenerator(dimensions, self.plan)
        self.megaphone, self.spotify, self.creators = megaphone, spotify, creators
        self.creators_login = creators_login
        self.export_bucket = export_bucket
        self.export_prefix = export_prefix.strip("/") + "/" if export_prefix.strip("/") else ""
        self.on_objects = on_objects
        self.next_day = start  # the next day whose file is due
        self.next_spotify_day = start  # the next day whose Spotify figures are due
        self.drops: list[tuple[datetime, str, str]] = []  # (moment, key, note): what was put, for reports
        # What each day's whole file holds: counted downloads per Megaphone episode (the truth the store must show).
        self.delivered: dict[date, dict[str, int]] = {}
        self._pending: list[tuple[datetime, ExportDrop]] = []  # markers and partial versions not yet due
        for podcast in catalogue.megaphone.podcasts:  # the publisher's shows are on its Creators account from the start
            creators.add_show(spotify_show_id(podcast.id), podcast.title, creators_login.sp_dc)
        self._login_expired = False
        self._partial_put = False
        self._s3: Any = None
        self._creators_seeded = False

    def __call__(self, now: datetime) -> None:
        self._expire_login(now)
        while self.next_spotify_day <= self.plan.last_day and now >= _at(self.next_spotify_day + timedelta(days=1), SPOTIFY_AT):
            self._spotify_day(self.next_spotify_day)
            self.next_spotify_day += timedelta(days=1)
        while self.next_day <= self.plan.last_day and now >= _at(self.next_day + timedelta(days=1), FILE_AT):
            self._finish(self.next_day)
            self.next_day += timedelta(days=1)
        partial_day = self.plan.overwritten_export_day
        if partial_day is not None and partial_day >= self.next_day and now >= _at(partial_day, PARTIAL_AT) and not self._partial_put:
            drops = self.generator.export_day(partial_day, self._on_megaphone(partial_day))
            self._put(now, drops[0])  # the half-full hourly version; the whole day follows next morning
            self._partial_put = True
        due = [item for item in self._pending if item[0] <= now]
        if due:
            self._pending = [item for item in self._pending if item[0] > now]
            for _, drop in due:
                self._put(now, drop)
            self.on_objects()

    def _expire_login(self, now: datetime) -> None:
        expires = self.plan.creators_login_expires_on
        if not self._login_expired and expires is not None and now >= _at(expires, time(0, 0)):
            self.creators.expire_login(self.creators_login.sp_dc)
            self._login_expired = True

    def _finish(self, day: date) -> None:
        """Megaphone's whole file of the day (and, later, its completion marker)."""
        live = self._on_megaphone(day)
        drops = self.generator.export_day(day, live)
        whole = [d for d in drops if d.note == "the whole day"]
        if whole:
            truth = self.generator.truth.episodes
            counted = {e.megaphone_episode_id: truth[(e.product_id, day)].downloads for e in live if (e.product_id, day) in truth}
            self.delivered[day] = {episode: count for episode, count in counted.items() if episode and count}
            self._put(_at(day + timedelta(days=1), FILE_AT), whole[0])
            self._pending += [(_at(day + timedelta(days=1), MARKER_AT), d) for d in drops if d.note == "completion marker"]
            self.on_objects()

    def _spotify_day(self, day: date) -> None:
        """The day is over on Spotify's side: its Creators figures."""
        if not self._creators_seeded:  # the follower count the day before the first, for day one's change
            for (show, seen), count in self.generator.truth.followers.items():
                if seen < self.plan.first_day:
                    self.creators.set_followers(show, seen, count)
            self._creators_seeded = True
        self.generator.feed_creators_day(self.creators, self.creators_login.sp_dc, day, self._on_spotify(day))

    def _put(self, now: datetime, drop: ExportDrop) -> None:
        if self._s3 is None:
            self._s3 = boto3.client("s3")
        key = self.export_prefix + drop.key
        self._s3.put_object(Bucket=self.export_bucket, Key=key, Body=drop.body)
        self.drops.append((now, key, drop.note))

    # the episodes out there on a day ---------------------------------------------------------------
    def _on_megaphone(self, day: date) -> list[EpisodeDimension]:
        """Episodes published on Megaphone by the end of `day`, with the ids Megaphone gave them."""
        found = []
        by_product = {e.product_id: e for e in self.generator.dimensions.episodes}
        end_of_day = _at(day + timedelta(days=1), time(0, 0))
        for episode in self.megaphone.state()["episodes"]:
            dimension = by_product.get(str(episode.get("externalId")))
            pubdate = episode.get("pubdate")
            if dimension is None or episode.get("draft") is not False or not pubdate:
                continue
            if datetime.fromisoformat(pubdate.replace("Z", "+00:00")) >= end_of_day:
                continue
            ids = {"megaphone_podcast_id": episode["podcastId"], "megaphone_episode_id": episode["id"], "spotify_episode_id": episode.get("spotifyIdentifier")}
            found.append(dimension.model_copy(update=ids))
        return found

    def _on_spotify(self, day: date) -> list[EpisodeDimension]:
        return [e for e in self._on_megaphone(day) if e.spotify_episode_id and e.spotify_episode_id in self.spotify.episodes]


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=timezone.utc)

