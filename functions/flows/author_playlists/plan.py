"""What each promotable author's playlist should be — worked out from the ledger alone, with no call to
Spotify, so a run in which nothing changed costs nothing there.

- Episodes: every episode live on Spotify — delivered through Megaphone with a Spotify id (ledger
  target `megaphone`, status delivered), not taken down anywhere (the availability table) — whose
  credits name the contributor in any credited role: their interviews, readings, the series they
  narrate or host, their guest appearances. In release order (release date, then show, part number,
  product id). An episode withdrawn (no longer delivered) or taken down is simply not wanted any more,
  so it leaves every playlist on the next run.
- Name and description: the policy's templates, filled with the contributor's name, the publisher's
  name and the bio (plain text); the description is trimmed at a word boundary to Spotify's 300 characters.
- Cover: the contributor's approved headshot, identified by its supporting resource and URL.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date

from functions.connectors.spotify_playlists import episode_uri
from functions.domain.contributors import Contributor
from functions.domain.models import Credit, Show
from functions.domain.promotion_policy import PromotionPolicy
from functions.domain.validation import truncate_at_word
from functions.state.ledger import StatePart
from functions.state.targets import PlaylistEpisode, playlist_items_hash


class PlaylistSourceEpisode(StatePart):
    """What a playlist uses of an episode (`functions.domain.models.Episode`), read as part of its
    source's ledger view. Why: every run reads every live episode, and parsing only these fields is
    about a third of the work of the whole episode (its audio, artwork, territories, rights)."""

    product_id: int
    title: str
    show: Show | None = None
    part_number: int | None = None
    release_date: date | None = None
    credits: tuple[Credit, ...] = ()


@dataclass(frozen=True)
class LiveEpisode:
    """An episode that is on Spotify now."""

    episode: PlaylistSourceEpisode
    spotify_id: str


@dataclass(frozen=True)
class DesiredPlaylist:
    contributor_id: int
    name: str
    description: str
    public: bool
    episodes: tuple[PlaylistEpisode, ...]
    cover_resource: str | None  # "<resource id> <url>" of the headshot, None without one
    cover_url: str | None

    @property
    def uris(self) -> list[str]:
        return [episode_uri(e.spotify_id) for e in self.episodes]

    @property
    def uris_hash(self) -> str:
        return playlist_items_hash(self.uris)

    @property
    def details_hash(self) -> str:
        return _hash({"name": self.name, "description": self.description, "public": self.public})


def desired_playlist(contributor: Contributor, live: list[LiveEpisode], policy: PromotionPolicy) -> DesiredPlaylist:
    episodes = [
        PlaylistEpisode(
            product_id=item.episode.product_id,
            spotify_id=item.spotify_id,
            title=item.episode.title,
            series_id=item.episode.show.series_id if item.episode.show else None,
            show=item.episode.show.name if item.episode.show else None,
            release_date=item.episode.release_date,
            roles=sorted({c.role_code for c in item.episode.credits if c.contributor_id == contributor.contributor_id}),
        )
        for item in live
        if any(c.contributor_id == contributor.contributor_id for c in item.episode.credits)
    ]
    parts = {item.episode.product_id: item.episode.part_number or 0 for item in live}
    episodes.sort(key=lambda e: (e.release_date is None, e.release_date, e.show or "", parts.get(e.product_id, 0), e.product_id))
    fields = {"name": contributor.name, "publisher": policy.publisher_name, "bio": contributor.bio}
    headshot = contributor.headshot
    return DesiredPlaylist(
        contributor_id=contributor.contributor_id,
        name=_one_line(policy.playlist_name_template.format(**fields)),
        description=truncate_at_word(_one_line(policy.playlist_description_template.format(**fields)), policy.playlist_description_limit),
        public=policy.playlist_public,
        episodes=tuple(episodes),
        cover_resource=f"{headshot.resource_id} {headshot.url}" if headshot else None,
        cover_url=headshot.url if headshot else None,
    )


def _one_line(text: str) -> str:
    """Spotify shows names and descriptions as one line of plain text."""
    return re.sub(r"\s+", " ", text).strip()


def _hash(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:32]
