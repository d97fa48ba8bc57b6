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

import json
import re
from collections.abc import Iterator
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from functions.connectors.errors import ApiError
from functions.connectors.http import HttpService
from functions.domain.errors import PermanentError

DEFAULT_PER_PAGE = 100
RAW_BODY_LIMIT = 2000

Model = TypeVar("Model", bound=BaseModel)


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


class UnexpectedResponse(ApiError, PermanentError):
    """A 2xx answer this client cannot read (not JSON, or not the documented shape). The integration and
    the API disagree about the contract; retrying cannot fix that. `body` holds the raw answer."""

    code = "unexpected_response"


_LINK = re.compile(r'<(?P<url>[^>]*)>(?P<params>(?:\s*;\s*[^;,=\s]+(?:\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^;,"]*))?)*)')
_LINK_PARAM = re.compile(r';\s*(?P<name>[^;,=\s]+)(?:\s*=\s*(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<token>[^;,"]*)))?')


def parse_link_header(value: str) -> list[tuple[str, dict[str, str]]]:
    """RFC 8288 `Link` values as (url, params): parameter names lower-cased, quoted values unquoted
    (commas and semicolons inside quotes kept). httpx's `response.links` keys by the literal rel and
    is case-sensitive on `rel`, so `rel="next last"` or `REL=next` would be missed."""
    links: list[tuple[str, dict[str, str]]] = []
    for match in _LINK.finditer(value):
        params: dict[str, str] = {}
        for param in _LINK_PARAM.finditer(match.group("params")):
            quoted = param.group("quoted")
            raw = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else (param.group("token") or "").strip()
            params.setdefault(param.group("name").lower(), raw)
        links.append((match.group("url").strip(), params))
    return links


def next_page_url(response: httpx.Response) -> str | None:
    """The absolute URL of `rel="next"`, resolved against the request URL; None on the last page."""
    for header in response.headers.get_list("link"):
        for url, params in parse_link_header(header):
            if "next" in params.get("rel", "").lower().split():
                return str(response.request.url.join(url))
    return None


class MegaphoneClient:
    def __init__(self, http: HttpService, network_id: str, *, per_page: int = DEFAULT_PER_PAGE):
        if per_page <= 0:
            raise ValueError("per_page must be positive")
        self.http = http
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
        response = self.http.request("POST", self._episodes_path(podcast_id), idempotent=False, json_body=fields.wire())
        return self._episode_from(self._json(response), response)

    def update_episode(self, podcast_id: str, episode_id: str, fields: EpisodeFields) -> MegaphoneEpisode:
        response = self.http.request(
            "PUT", self._episode_path(podcast_id, episode_id), idempotent=True, json_body=fields.wire()
        )
        return self._episode_from(self._json(response), response)

    def get_episode(self, podcast_id: str, episode_id: str) -> MegaphoneEpisode:
        response = self.http.request("GET", self._episode_path(podcast_id, episode_id), idempotent=True)
        return self._episode_from(self._json(response), response)

    def list_episodes(self, podcast_id: str) -> Iterator[MegaphoneEpisode]:
        return self._episodes(podcast_id, {})

    def list_podcasts(self) -> Iterator[MegaphonePodcast]:
        for items, response in self._pages(self._podcasts_path(), {}):
            for item in items:
                yield self._model_from(MegaphonePodcast, item, response)

    # reading answers -------------------------------------------------------------
    def _episodes(self, podcast_id: str, params: dict[str, Any]) -> Iterator[MegaphoneEpisode]:
        for items, response in self._pages(self._episodes_path(podcast_id), params):
            for item in items:
                yield self._episode_from(item, response)

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[tuple[list[Any], httpx.Response]]:
        """Each page's items, following rel="next" until it is absent.

        A next link to another origin is refused (it would receive the token); a link already visited
        or an empty page ends the walk, so a misbehaving server cannot loop it forever."""
        target: str = path
        query: dict[str, Any] | None = {**params, "per_page": self.per_page}
        visited: set[str] = set()
        origin = httpx.URL(self.http.base_url)
        while True:
            response = self.http.request("GET", target, idempotent=True, params=query)
            visited.add(str(response.request.url))
            items = self._json(response)
            if not isinstance(items, list):
                raise self._unexpected(response, "expected a JSON array of items")
            if not items:
                return
            yield items, response
            following = next_page_url(response)
            if following is None:
                return
            link = httpx.URL(following)
            if (link.scheme, link.host, link.port) != (origin.scheme, origin.host, origin.port):
                raise self._unexpected(response, f"next page link leaves {origin.host}: {link.host}")
            if following in visited:
                raise self._unexpected(response, f"next page link repeats a page already read: {following}")
            target, query = following, None

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise self._unexpected(response, "response was not JSON") from None

    def _episode_from(self, item: Any, response: httpx.Response) -> MegaphoneEpisode:
        return self._model_from(MegaphoneEpisode, item, response)

    def _model_from(self, model: type[Model], item: Any, response: httpx.Response) -> Model:
        if not isinstance(item, dict):
            raise self._unexpected(response, f"expected a JSON object for {model.__name__}")
        try:
            return model.model_validate(item)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
            raise self._unexpected(response, f"not a {model.__name__}: {problems}") from None

    def _unexpected(self, response: httpx.Response, problem: str) -> UnexpectedResponse:
        where = f"{response.request.method} {response.request.url.path}"
        return UnexpectedResponse(self.http.service, f"{where}: {problem}", response.status_code, response.text[:RAW_BODY_LIMIT])
