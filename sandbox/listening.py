"""Plausible, deterministic listening for the sandbox's shows, emitted through all three sources.

Given the catalogue's dimensions (episodes with their Megaphone and Spotify ids, titles with their
publication dates, milestones with their Ads campaigns) and a seed, every (episode, day) gets an
audience: a popularity per show and episode, nothing before release, a slow decay with age, a weekly
rhythm, a launch bump around the related book's publication (a little before, a lot after, fading
over weeks) and a campaign bump while a campaign runs. The same seed always gives the same numbers,
so a test can check what the pipeline computed against what was generated (`truth`).

The audience splits into Megaphone downloads (apps other than Spotify) and Spotify starts (Spotify
caches audio once, so its plays never reach the host's logs); streams and listeners follow starts.

Emitted as:
- Megaphone delivery export files (`export_drops`): one gzip JSON-lines day file per day with one
  record per counted download plus records the ingest must drop (flagged IPs/user agents, deliveries
  shorter than a minute, the same listener again); one day's file is dropped twice (a partial hourly
  version, then the whole day: the overwrite), one day has no file at all (a missed export), and
  each day ends with its completion marker;
- Spotify for Creators (`feed_creators`): shows, episodes, daily figures and follower counts into the
  simulator (`ListeningPlan.creators_login_expires_on` says when the sandbox should expire the login);
- Ads delivery (`deliver_ads`): per campaign and day, the aggregate report's stats, handed to a
  `record_delivery(entity_id, day, stats)` callable — for a world built offline from these figures
  (tests/analytics/generated_world.py). The sandbox world does not use it: there the Ads simulator
  delivers the live campaigns the flows created (`sandbox/marketing.py`) and the Ads report collector
  brings them into the store, as in AWS.
"""

from __future__ import annotations

import gzip
import json
import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from functions.analytics.facts import Dimensions, EpisodeDimension

SPOTIFY_SHARE = 0.4  # of the audience that plays on Spotify (starts) rather than downloading elsewhere
COUNTRIES = (("GB", 0.55), ("US", 0.25), ("IE", 0.1), ("AU", 0.06), ("CA", 0.04))
USER_AGENTS = (("AppleCoreMedia/1.0.0", "Apple Podcasts"), ("Overcast/3.0", "Overcast"), ("PocketCasts/7.0", "Pocket Casts"), ("Mozilla/5.0", "Browser"))
RecordDelivery = Callable[[str, date, dict[str, float]], None]


@dataclass(frozen=True)
class ListeningPlan:
    """The sandbox's listening scenario: the days covered and the faults to stage."""

    first_day: date
    last_day: date
    seed: int = 7
    naming: str = "v2"  # "v2" (delivery-v2-day-…) or "legacy" (metrics-day-…)
    missing_export_day: date | None = None
    overwritten_export_day: date | None = None
    creators_login_expires_on: date | None = None
    launch_bump: float = 2.0  # extra audience at publication, fading with `launch_fade_days`
    launch_fade_days: float = 12.0
    campaign_bump: float = 0.8  # extra audience while a campaign runs
    noise_share: float = 0.08  # export records the ingest must drop, per counted download

    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=i) for i in range((self.last_day - self.first_day).days + 1)]


@dataclass
class EpisodeDay:
    downloads: int
    countries: dict[str, int]
    starts: int
    streams: int
    listeners: int


@dataclass
class ExportDrop:
    """One object Megaphone puts in the bucket, in order: what the ingest receives a notification for."""

    key: str
    body: bytes
    note: str


@dataclass
class ListeningTruth:
    episodes: dict[tuple[str, date], EpisodeDay] = field(default_factory=dict)  # by product id
    followers: dict[tuple[str, date], int] = field(default_factory=dict)  # by Spotify show id
    ads: dict[tuple[str, date], dict[str, float]] = field(default_factory=dict)
    median_completion: dict[str, float] = field(default_factory=dict)  # by product id, fraction


class ListeningGenerator:
    def __init__(self, dimensions: Dimensions, plan: ListeningPlan):
        self.dimensions = dimensions
        self.plan = plan
        self.truth = ListeningTruth()
        self._generate()

    # the audience -----------------------------------------------------------------------------------
    def _generate(self) -> None:
        rng = random.Random(self.plan.seed)
        titles = {t.work_id: t for t in self.dimensions.titles}
        show_popularity: dict[str, float] = {}
        campaigns = [m for m in self.dimensions.milestones if m.campaign_id]
        for episode in sorted(self.dimensions.episodes, key=lambda e: e.product_id):
            show = episode.spotify_show_id or episode.megaphone_podcast_id or episode.work_id
            base = show_popularity.setdefault(show, rng.lognormvariate(math.log(40), 0.6)) * rng.uniform(0.5, 1.5)
            self.truth.median_completion[episode.product_id] = round(rng.uniform(0.35, 0.85), 3)
            released = episode.release_date or self.plan.first_day
            publication = titles[episode.work_id].publication_date
            windows = [(m.milestone_date, m.window_end or m.milestone_date + timedelta(days=13)) for m in campaigns if m.work_id == episode.work_id]
            for day in self.plan.days():
                if day < released:
                    continue
                age = (day - released).days
                rate = base * (0.35 + 0.65 * math.exp(-age / 45)) * (1.15 if day.weekday() < 5 else 0.8)
                if publication is not None:
                    offset = (day - publication).days
                    if -7 <= offset < 0:
                        rate *= 1 + 0.3 * self.plan.launch_bump
                    elif offset >= 0:
                        rate *= 1 + self.plan.launch_bump * math.exp(-offset / self.plan.launch_fade_days)
                if any(start <= day <= end for start, end in windows):
                    rate *= 1 + self.plan.campaign_bump
                audience = _poisson(rng, rate)
                starts = sum(1 for _ in range(audience) if rng.random() < SPOTIFY_SHARE)
                downloads = audience - starts
                countries: dict[str, int] = {}
                for _ in range(downloads):
                    country = _weighted(rng, COUNTRIES)
                    countries[country] = countries.get(country, 0) + 1
                streams = sum(1 for _ in range(starts) if rng.random() < 0.75)
                listeners = max(streams, round(starts * rng.uniform(0.8, 0.95)))
                self.truth.episodes[(episode.product_id, day)] = EpisodeDay(downloads, countries, starts, streams, listeners)
        self._generate_followers(rng)
        self._generate_ads(rng, campaigns)

    def _generate_followers(self, rng: random.Random) -> None:
        shows: dict[str, list[str]] = {}
        for episode in self.dimensions.episodes:
            if episode.spotify_show_id:
                shows.setdefault(episode.spotify_show_id, []).append(episode.product_id)
        for show, products in sorted(shows.items()):
            count = rng.randint(50, 400)
            for day in [self.plan.first_day - timedelta(days=1), *self.plan.days()]:
                starts = sum(self.truth.episodes[(p, day)].starts for p in products if (p, day) in self.truth.episodes)
                count += _poisson(rng, 0.05 * starts)
                self.truth.followers[(show, day)] = count

    def _generate_ads(self, rng: random.Random, campaigns: list) -> None:
        for milestone in campaigns:
            end = milestone.window_end or milestone.milestone_date + timedelta(days=13)
            for day in self.plan.days():
                if not milestone.milestone_date <= day <= end:
                    continue
                impressions = _poisson(rng, 2500)
                self.truth.ads[(milestone.campaign_id, day)] = {
                    "IMPRESSIONS": impressions,
                    "REACH": round(impressions * 0.7),
                    "FIRST_QUARTILES": round(impressions * 0.92),
                    "MIDPOINTS": round(impressions * 0.8),
                    "THIRD_QUARTILES": round(impressions * 0.7),
                    "COMPLETES": round(impressions * 0.62),
                    "COMPLETION_RATE": 0.62,
                    "CLICKS": _poisson(rng, impressions * 0.004),
                    "LISTENERS": round(impressions * 0.08),
                    "NEW_LISTENERS": round(impressions * 0.03),
                }

    # the Megaphone export ---------------------------------------------------------------------------
    def export_drops(self) -> list[ExportDrop]:
        """Every object Megaphone would drop in the bucket over the plan, in the order it drops them."""
        return [drop for day in self.plan.days() for drop in self.export_day(day)]

    def export_day(self, day: date, episodes: Sequence[EpisodeDimension] | None = None) -> list[ExportDrop]:
        """The objects Megaphone drops for one day, in order (none on the plan's missing day): on the
        overwritten day a partial hourly version first, then the whole day, then the completion marker.
        `episodes` (default: the dimensions') are the episodes Megaphone delivered that day, with their ids."""
        if day == self.plan.missing_export_day:
            return []
        lines = list(self.delivery_lines(day, episodes))
        name = export_file_name(day, self.plan.naming)
        drops = []
        if day == self.plan.overwritten_export_day:
            drops.append(ExportDrop(name, _gzip(lines[: len(lines) // 2]), "partial hourly version, overwritten later"))
        drops.append(ExportDrop(name, _gzip(lines), "the whole day"))
        drops.append(ExportDrop(completion_marker_name(day), b"", "completion marker"))
        return drops

    def delivery_lines(self, day: date, episodes: Sequence[EpisodeDimension] | None = None) -> Iterator[str]:
        """One record per counted download, plus flagged, short and repeated deliveries to be dropped."""
        rng = random.Random(f"{self.plan.seed}:{day.isoformat()}")
        serial = 0
        for episode in sorted(self.dimensions.episodes if episodes is None else episodes, key=lambda e: e.product_id):
            figures = self.truth.episodes.get((episode.product_id, day))
            if figures is None or not episode.megaphone_episode_id:
                continue
            for country, count in sorted(figures.countries.items()):
                for _ in range(count):
                    serial += 1
                    record = delivery_record(episode, day, serial, country, rng)
                    yield json.dumps(record)
                    if rng.random() < self.plan.noise_share:
                        yield json.dumps({**record, "id": f"{record['id']}-again", "created_at": _later(str(record["created_at"]))})
                    if rng.random() < self.plan.noise_share:
                        yield json.dumps({**record, "id": f"{record['id']}-bot", "ip": f"198.51.100.{serial % 250}", "blacklisted_ua": True})
                    if rng.random() < self.plan.noise_share:
                        yield json.dumps({**record, "id": f"{record['id']}-short", "ip": f"192.0.2.{serial % 250}", "seconds_downloaded": 8.0})

    # Spotify for Creators ---------------------------------------------------------------------------
    def feed_creators(self, simulator: object, account: str) -> None:
        """Load shows, episodes, daily figures and follower counts into a `SpotifyCreatorsSimulator`."""
        from sandbox.simulators.spotify_creators import SpotifyCreatorsSimulator

        assert isinstance(simulator, SpotifyCreatorsSimulator)
        for show, day in sorted(self.truth.followers):
            if day < self.plan.first_day:
                simulator.set_followers(show, day, self.truth.followers[(show, day)])  # the day before the first
        for day in self.plan.days():
            self.feed_creators_day(simulator, account, day)

    def feed_creators_day(self, simulator: object, account: str, day: date, episodes: Sequence[EpisodeDimension] | None = None) -> None:
        """One day's figures into a `SpotifyCreatorsSimulator`: each episode on Spotify that day
        (`episodes`, default the dimensions', with their Spotify ids), its show's sums and follower count."""
        from sandbox.simulators.spotify_creators import SpotifyCreatorsSimulator

        assert isinstance(simulator, SpotifyCreatorsSimulator)
        titles = {t.work_id: t for t in self.dimensions.titles}
        totals: dict[str, list[int]] = {}
        for episode in self.dimensions.episodes if episodes is None else episodes:
            if not (episode.spotify_show_id and episode.spotify_episode_id):
                continue
            if episode.spotify_show_id not in simulator.shows:
                title = titles[episode.work_id]
                simulator.add_show(episode.spotify_show_id, title.series_name or title.title, account)
            if episode.spotify_episode_id not in simulator.episodes:
                simulator.add_episode(
                    episode.spotify_episode_id, episode.spotify_show_id, episode.episode_title,
                    episode.release_date or self.plan.first_day, 1800, self.truth.median_completion[episode.product_id],
                )
            show = totals.setdefault(episode.spotify_show_id, [0, 0, 0])
            figures = self.truth.episodes.get((episode.product_id, day))
            if figures is None:
                continue
            simulator.record_day(episode.spotify_episode_id, day, figures.starts, figures.streams, figures.listeners)
            for index, value in enumerate((figures.starts, figures.streams, figures.listeners)):
                show[index] += value
        for show_id, (starts, streams, listeners) in totals.items():
            if starts or streams or listeners:
                simulator.record_day(show_id, day, starts, streams, listeners)
            if (show_id, day) in self.truth.followers:
                simulator.set_followers(show_id, day, self.truth.followers[(show_id, day)])

    # Ads --------------------------------------------------------------------------------------------
    def deliver_ads(self, record_delivery: RecordDelivery, through: date | None = None) -> int:
        """Hand each campaign's daily stats (Ads API field names) to the Ads simulator; returns rows handed."""
        handed = 0
        for (campaign, day), stats in sorted(self.truth.ads.items()):
            if through is None or day <= through:
                record_delivery(campaign, day, dict(stats))
                handed += 1
        return handed


def export_file_name(day: date, naming: str = "v2") -> str:
    """Megaphone's delivery day file for `day` (V2 or legacy naming)."""
    return f"delivery-v2-day-{day.isoformat()}.json.gz" if naming == "v2" else f"metrics-day-{day.isoformat()}.json.gz"


def completion_marker_name(day: date) -> str:
    """The V2 completion marker Megaphone drops once `day` is final (11:00 UTC the next day)."""
    final = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=11)
    return f"_finalized_delivery_{day.isoformat()}_{final.strftime('%Y%m%dT%H%M%SZ')}"


def delivery_record(episode: EpisodeDimension, day: date, serial: int, country: str, rng: random.Random) -> dict[str, object]:
    """A Megaphone delivery record (legacy field names) for one counted download."""
    agent, normalized = USER_AGENTS[serial % len(USER_AGENTS)]
    moment = datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc) + timedelta(seconds=rng.randrange(0, 86_400 - 120))
    return {
        "id": f"{day.isoformat()}-{serial}",
        "created_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "podcast_id": episode.megaphone_podcast_id,
        "episode_id": episode.megaphone_episode_id,
        "country": country,
        "region": None,
        "city": None,
        "dma_name": None,
        "ip": f"10.{serial // 65536 % 256}.{serial // 256 % 256}.{serial % 256}",
        "user_agent": agent,
        "normalized_user_agent": normalized,
        "source": "rss",
        "filesize": 28_800_000,
        "bytes_sent": 28_800_000,
        "seconds_downloaded": 1800.0,
        "duration": 1800.0,
        "blacklisted_ip": False,
        "blacklisted_ua": False,
    }


def _later(stamp: str) -> str:
    moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc) + timedelta(seconds=60)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _gzip(lines: list[str]) -> bytes:
    return gzip.compress(("\n".join(lines) + ("\n" if lines else "")).encode(), mtime=0)


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


def _weighted(rng: random.Random, choices: tuple[tuple[str, float], ...]) -> str:
    point = rng.random() * sum(weight for _, weight in choices)
    for value, weight in choices:
        point -= weight
        if point <= 0:
            return value
    return choices[-1][0]
