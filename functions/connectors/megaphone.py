"""Megaphone REST API client (Spotify's hosting platform): episodes of a network's podcasts.

Written against `specs/megaphone/API-FACTS.md` (Megaphone publishes no machine-readable spec):

- Auth is `Authorization: Token token=<token>`, supplied by `HttpService.auth_headers`.
- Creating an episode is the one non-idempotent call. It is never retried blindly: a 5xx or timeout
  surfaces as `AmbiguousWrite`, and the caller looks the episode up by its `externalId` (the
  Consonance product id) before trying again. 429 is safe to retry (the server did not act on it).
- Updates are `PUT`s of absolute values, hence idempotent and retried on 5xx/timeouts. `wire()` drops
  unset (None) fields, so a PUT never clears a field on Megaphone; send an empty string to blank one.
- Lists follow the `Link: <...>; rel="next"` header; `per_page` is configurable because the server's
  default and maximum are undocumented (the server may cap it; paging still works).
- Other uncertain values stay configurable outside this module: the `explicit` vocabulary is
  `Settings.megaphone_explicit_value`, the rate limit `Settings.megaphone_rate_per_minute`.
- `find_by_external_id` also filters on the client side: should the server ever ignore the
  `externalId` query parameter, the lookup is slower (it pages through the podcast) but still right.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from functions.connectors.api_client import ApiClient, LinkHeaderPaging, PageRequest
from functions.connectors.http import HttpService
from functions.domain.errors import PermanentError

DEFAULT_PER_PAGE = 100


class MegaphoneModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")


class EpisodeFields(MegaphoneModel):
    """What the integration sets on an episode (request body, camelCase on the wire).

    Fields the facts sheet lists but this model does not declare (guid, link, preCount, ...) can be
    passed as extra keyword arguments in their camelCase wire names; they are sent as given.
    """

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


# Response-only fields (camelCase): never sent back when an episode read from Megaphone is used as
# the body of an update.
SERVER_ASSIGNED_FIELDS = frozenset(
    {
        "id",
        "uid",
        "podcastId",
        "status",
        "downloadUrl",
        "duration",
        "size",
        "bitrate",
        "spotifyIdentifier",
        "audioFileProcessing",
        "audioFileStatus",
        "audioFileUpdatedAt",
        "createdAt",
        "updatedAt",
    }
)


class MegaphoneEpisode(EpisodeFields):
    """An episode as Megaphone returns it."""

    # Episodes made by hand in Megaphone's UI have no externalId; they must still parse.
    external_id: str | None = Field(default=None, alias="externalId")  # type: ignore[assignment]
    id: str
    uid: str | None = None
    podcast_id: str | None = Field(default=None, alias="podcastId")
    status: str | None = None
    download_url: str | None = Field(default=None, alias="downloadUrl")
    duration: float | None = None
    size: int | None = None
    bitrate: int | None = None
    audio_file_processing: bool = Field(default=False, alias="audioFileProcessing")
    audio_file_status: str | None = Field(default=None, alias="audioFileStatus")
    audio_file_updated_at: str | None = Field(default=None, alias="audioFileUpdatedAt")
    spotify_identifier: str | None = Field(default=None, alias="spotifyIdentifier")
    created_at: str | None = Field(default=None, alias="createdAt")
    updated_at: str | None = Field(default=None, alias="updatedAt")

    @property
    def ingested(self) -> bool:
        return not self.audio_file_processing and self.audio_file_status == "success"

    @property
    def ingest_failed(self) -> bool:
        """Megaphone stopped processing the audio without success; polling longer will not help."""
        return not self.audio_file_processing and self.audio_file_status not in (None, "success", "processing")

    def wire(self) -> dict[str, Any]:
        """The writable fields only, so an episode read from Megaphone can be sent back as an update."""
        return {k: v for k, v in super().wire().items() if k not in SERVER_ASSIGNED_FIELDS}


class MegaphonePodcast(MegaphoneModel):
    id: str
    title: str


class DuplicateExternalId(PermanentError):
    """More than one episode of a podcast carries the same externalId: a person must merge or delete
    the extra episodes in Megaphone; until then the integration cannot know which one to update."""

    code = "duplicate_external_id"

    def __init__(self, podcast_id: str, external_id: str, episode_ids: list[str]):
        super().__init__(
            f"megaphone: {len(episode_ids)} episodes of podcast {podcast_id} share externalId {external_id!r} "
            f"(ids {', '.join(episode_ids)}); remove the duplicates in Megaphone, then redrive"
        )
        self.podcast_id = podcast_id
        self.external_id = external_id
        self.episode_ids = episode_ids


class MegaphoneClient:
    def __init__(self, http: HttpService, network_id: str, *, per_page: int = DEFAULT_PER_PAGE):
        if per_page <= 0:
            raise ValueError("per_page must be positive")
        self.api = ApiClient(http)
        self.network_id = network_id
        self.per_page = per_page

    # paths ---------------------------------------------------------------------
    def _podcasts_path(self) -> str:
        return f"networks/{quote(self.network_id, safe='')}/podcasts"

    def _episodes_path(self, podcast_id: str) -> str:
        return f"{self._podcasts_path()}/{quote(podcast_id, safe='')}/episodes"

    def _episode_path(self, podcast_id: str, episode_id: str) -> str:
        return f"{self._episodes_path(podcast_id)}/{quote(episode_id, safe='')}"

    # episodes ------------------------------------------------------------------
    def find_by_external_id(self, podcast_id: str, external_id: str) -> MegaphoneEpisode | None:
        matches = [
            episode
            for episode in self._episodes(podcast_id, {"externalId": external_id})
            if episode.external_id == external_id
        ]
        if len(matches) > 1:
            raise DuplicateExternalId(podcast_id, external_id, [episode.id for episode in matches])
        return matches[0] if matches else None

    def create_episode(self, podcast_id: str, fields: EpisodeFields) -> MegaphoneEpisode:
        """Non-idempotent: callers look the episode up by externalId before retrying a failed create."""
        response = self.api.send("POST", self._episodes_path(podcast_id), idempotent=False, json_body=fields.wire())
        return self.api.parse(response, MegaphoneEpisode)

    def update_episode(self, podcast_id: str, episode_id: str, fields: EpisodeFields) -> MegaphoneEpisode:
        response = self.api.send("PUT", self._episode_path(podcast_id, episode_id), idempotent=True, json_body=fields.wire())
        return self.api.parse(response, MegaphoneEpisode)

    def get_episode(self, podcast_id: str, episode_id: str) -> MegaphoneEpisode:
        response = self.api.send("GET", self._episode_path(podcast_id, episode_id), idempotent=True)
        return self.api.parse(response, MegaphoneEpisode)

    def list_episodes(self, podcast_id: str) -> Iterator[MegaphoneEpisode]:
        return self._episodes(podcast_id, {})

    def list_podcasts(self) -> Iterator[MegaphonePodcast]:
        for page in self.api.pages(PageRequest(path=self._podcasts_path(), params={"per_page": self.per_page}), LinkHeaderPaging()):
            yield from self.api.parse_list(page.response, MegaphonePodcast, page.items)

    def _episodes(self, podcast_id: str, params: dict[str, Any]) -> Iterator[MegaphoneEpisode]:
        """Each page's episodes, following rel="next" (the kit's guard refuses a link to another origin,
        which would receive the token, and a link repeating a page; an empty page ends the walk)."""
        first = PageRequest(path=self._episodes_path(podcast_id), params={**params, "per_page": self.per_page})
        for page in self.api.pages(first, LinkHeaderPaging()):
            yield from self.api.parse_list(page.response, MegaphoneEpisode, page.items)
