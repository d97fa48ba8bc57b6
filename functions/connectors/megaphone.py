"""Megaphone REST API client (Spotify's hosting platform): episodes of a network's podcasts.

INTERFACE DRAFT — implementation in progress.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from functions.connectors.http import HttpService


class MegaphoneModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")


class EpisodeFields(MegaphoneModel):
    """What the integration sets on an episode (request body, camelCase on the wire)."""

    title: str
    subtitle: str | None = None
    summary: str | None = None
    author: str | None = None
    external_id: str = Field(alias="externalId")
    pubdate: str | None = None  # ISO 8601
    draft: bool = True
    explicit: str | None = None
    episode_type: str = Field(default="full", alias="episodeType")
    season_number: int | None = Field(default=None, alias="seasonNumber")
    episode_number: int | None = Field(default=None, alias="episodeNumber")
    background_audio_file_url: str | None = Field(default=None, alias="backgroundAudioFileUrl")
    background_image_file_url: str | None = Field(default=None, alias="backgroundImageFileUrl")
    custom_fields: dict[str, Any] | None = Field(default=None, alias="customFields")

    def wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class MegaphoneEpisode(EpisodeFields):
    """An episode as Megaphone returns it."""

    id: str
    podcast_id: str | None = Field(default=None, alias="podcastId")
    status: str | None = None
    audio_file_processing: bool = Field(default=False, alias="audioFileProcessing")
    audio_file_status: str | None = Field(default=None, alias="audioFileStatus")
    spotify_identifier: str | None = Field(default=None, alias="spotifyIdentifier")
    created_at: str | None = Field(default=None, alias="createdAt")
    updated_at: str | None = Field(default=None, alias="updatedAt")

    @property
    def ingested(self) -> bool:
        return not self.audio_file_processing and self.audio_file_status == "success"


class MegaphonePodcast(MegaphoneModel):
    id: str
    title: str


class MegaphoneClient:
    def __init__(self, http: HttpService, network_id: str):
        self.http = http
        self.network_id = network_id

    def find_by_external_id(self, podcast_id: str, external_id: str) -> MegaphoneEpisode | None: ...

    def create_episode(self, podcast_id: str, fields: EpisodeFields) -> MegaphoneEpisode:
        """Non-idempotent: callers look the episode up by externalId before retrying a failed create."""
        ...

    def update_episode(self, podcast_id: str, episode_id: str, fields: EpisodeFields) -> MegaphoneEpisode: ...

    def get_episode(self, podcast_id: str, episode_id: str) -> MegaphoneEpisode: ...

    def list_episodes(self, podcast_id: str) -> Iterator[MegaphoneEpisode]: ...

    def list_podcasts(self) -> Iterator[MegaphonePodcast]: ...
