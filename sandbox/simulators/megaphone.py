"""Megaphone's REST API as an httpx transport, following `specs/megaphone/API-FACTS.md`.

What it enforces: `Authorization: Token token=...` (401 with `WWW-Authenticate: Token realm="Application"`
and Rails' plain-text body otherwise), a rolling rate limit per token (429 with `Retry-After`), the
facts sheet's routes, `page`/`per_page` paging with `Link`/`X-Page`/`X-Per-Page`/`X-Total`, validation,
asynchronous audio ingest in virtual time, and the base class's injected faults.

Choices where Megaphone is undocumented (each one a constructor knob where it matters):
- Error bodies are `{"errors": ["<Field> <message>", ...]}` (Rails style) for 400/404/422/429.
- `externalId` is unique per podcast (`unique_external_ids`, default on): a second create with a used
  externalId answers 422 "External id has already been taken", so a blind duplicate POST shows up as
  an error instead of silently doubling the episode. Creates also require an externalId
  (`require_external_id`): the integration always sends one.
- Unknown or read-only request fields are ignored, as Rails' strong parameters would.
- `pubdate` is answered in Rails' form (`2024-05-01T00:00:00.000Z`); publishing (`draft: false`)
  without a pubdate sets it to now.
- `status` is derived on every read: `draft` when draft, `scheduled` while pubdate is in the future,
  else `published`. `spotifyIdentifier` is assigned once an episode is published with its audio
  ingested, and kept afterwards (Spotify ids are stable).
- Lists are in creation order; `per_page` defaults to 20 and is capped at 500 (unverified).
- Ids, uids and Spotify ids derive from the seed and a counter, so two runs with the same seed and
  the same requests produce the same ids.

Audio ingest: Megaphone downloads `backgroundAudioFileUrl` itself. Given an `audio_fetch` callable
(the sandbox passes the media host's `fetch`), the simulator does the same when the URL is set: it
fails the ingest when the URL gives no file (404, timeout, ...) or the file is not audio Megaphone
ingests (MP3, AAC in MP4/M4A, WAV — the type read from the bytes with mutagen, as a transcoder
would, not from the name), and otherwise reports the file's real duration, size and bitrate. The
facts sheet names only `success`; a failed ingest ends as `audioFileStatus: "failed"`
(`failed_audio_status`), which the connector treats as any non-success status. Why it failed is not
in the API (no documented field): the sandbox reads it from `ingest_failure(episode_id)`. Without
`audio_fetch` the older stand-in applies: `audio_fails(url)` decides and the duration derives from the
URL's hash.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import math
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TypeGuard

import httpx
import mutagen
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.wave import WAVE

from functions.clock import Clock
from sandbox.simulators.base import FaultPlan, RollingWindowLimit, Simulator, json_response

BASE_URL = "https://cms.megaphone.fm/api"
EPISODE_TYPES = ("full", "trailer", "bonus")
EXPLICIT_VALUES = ("clean", "explicit", "no")

STRING_FIELDS = (
    "title",
    "subtitle",
    "summary",
    "author",
    "externalId",
    "guid",
    "pubdateTimezone",
    "explicit",
    "episodeType",
    "backgroundAudioFileUrl",
    "backgroundImageFileUrl",
    "link",
    "originalFilename",
)
INTEGER_FIELDS = ("seasonNumber", "episodeNumber", "preCount", "postCount")
WRITABLE_FIELDS = frozenset(
    STRING_FIELDS
    + INTEGER_FIELDS
    + ("pubdate", "draft", "insertionPoints", "adFree", "advertisingTags", "customFields")
)


@dataclass(frozen=True)
class ReceivedRequest:
    """What reached the simulator (before auth, limits and faults), for tests that count attempts."""

    method: str
    path: str
    query: str
    at: datetime


@dataclass
class _Ingest:
    url: str
    ready_at: datetime
    fails: bool
    reason: str | None = None
    audio: dict[str, Any] | None = None  # duration, size, bitrate read from the fetched file


@dataclass(frozen=True)
class FaultFor:
    """A scripted fault for the first request with this method whose path ends with `path_suffix`;
    requests before it pass untouched (or meet the random plan). So a test can fail one particular
    call, such as the create of one podcast's episode, whatever other traffic comes first."""

    kind: str
    method: str
    path_suffix: str

    def matches(self, request: httpx.Request | None) -> bool:
        return request is not None and request.method == self.method and request.url.path.endswith(self.path_suffix)


class ScriptedFaults(FaultPlan):
    """A FaultPlan that first plays a fixed script, one entry per request, then behaves as the seeded
    random plan. Entries: "500", "503", "429", "timeout" (the answer is lost before the server acts)
    and "timeout-after-write" (the server acts, then the answer is lost) — so a test can decide whether
    an ambiguous write really happened — each for the next request, or (`FaultFor`) for the next
    request that matches."""

    def __init__(self, *script: str | FaultFor, rate: float = 0.0, seed: int = 0, retry_after_seconds: int = 2):
        super().__init__(rate=rate, seed=seed, retry_after_seconds=retry_after_seconds)
        self.script = list(script)
        self._scripted_write: bool | None = None

    def fail_next(self, *kinds: str | FaultFor) -> None:
        self.script.extend(kinds)

    def draw(self, request: httpx.Request | None = None) -> str | None:
        if not self.script:
            return super().draw(request)
        head = self.script[0]
        if isinstance(head, FaultFor) and not head.matches(request):
            return super().draw(request)
        self.script.pop(0)
        kind = head.kind if isinstance(head, FaultFor) else head
        self.injected[kind] = self.injected.get(kind, 0) + 1
        if kind.startswith("timeout"):
            self._scripted_write = kind == "timeout-after-write"
            return "timeout"
        return kind

    def lost_response(self) -> bool:
        if self._scripted_write is not None:
            applied, self._scripted_write = self._scripted_write, None
            return applied
        return super().lost_response()


def corrupt_audio(url: str) -> bool:
    """The default ingest failure: any audio URL containing "corrupt"."""
    return "corrupt" in url


AudioFetch = Callable[[str], bytes | None]


def ingest_audio(url: str, fetch: AudioFetch) -> tuple[str | None, dict[str, Any] | None]:
    """What Megaphone's ingest makes of the file at `url`: (why it failed, None) or (None, its facts)."""
    data = fetch(url)
    if data is None:
        return f"could not download {url}", None
    try:
        found = mutagen.File(io.BytesIO(data))
    except mutagen.MutagenError:
        found = None
    if found is None or not getattr(found.info, "length", 0):
        return "the file is not audio", None
    if isinstance(found, MP3):
        layer = getattr(found.info, "layer", 3)
        kind, ingestable = f"MPEG audio layer {layer}", layer == 3
    elif isinstance(found, MP4):
        codec = str(getattr(found.info, "codec", ""))
        kind, ingestable = f"MP4 audio ({codec or 'unknown codec'})", codec.startswith("mp4a")
    else:
        kind, ingestable = type(found).__name__, isinstance(found, WAVE)
    if not ingestable:
        return f"unsupported audio format: {kind}", None
    bits_per_second = int(getattr(found.info, "bitrate", 0) or 0)
    kilobits = max(1, round(bits_per_second / 1000)) if bits_per_second else None  # Megaphone answers kbit/s
    return None, {"duration": round(float(found.info.length), 3), "size": len(data), "bitrate": kilobits}


class MegaphoneSimulator(Simulator):
    service = "megaphone"

    def __init__(
        self,
        clock: Clock,
        *,
        network_id: str,
        podcasts: Mapping[str, str],
        tokens: Iterable[str],
        seed: int = 0,
        base_url: str = BASE_URL,
        faults: FaultPlan | None = None,
        rate_limit_per_window: int | None = 60,
        rate_window_seconds: float = 60.0,
        ingest_delay_seconds: float = 120.0,
        audio_fails: Callable[[str], bool] = corrupt_audio,
        audio_fetch: AudioFetch | None = None,
        failed_audio_status: str = "failed",
        unique_external_ids: bool = True,
        require_external_id: bool = True,
        explicit_values: Iterable[str] | None = EXPLICIT_VALUES,
        default_per_page: int = 20,
        max_per_page: int = 500,
    ):
        """`podcasts` maps podcast id to title; `tokens` are the valid API tokens. `explicit_values`
        None accepts any value; `rate_limit_per_window` None turns the rate limit off."""
        limit = RollingWindowLimit(clock, rate_limit_per_window, rate_window_seconds) if rate_limit_per_window else None
        super().__init__(clock, faults=faults, rate_limit=limit)
        self.network_id = network_id
        self.base_url = base_url.rstrip("/")
        self.base_path = httpx.URL(self.base_url).path.rstrip("/")
        self.seed = seed
        self.ingest_delay_seconds = ingest_delay_seconds
        self.audio_fails = audio_fails
        self.audio_fetch = audio_fetch
        self.failed_audio_status = failed_audio_status
        self.unique_external_ids = unique_external_ids
        self.require_external_id = require_external_id
        self.explicit_values = frozenset(explicit_values) if explicit_values is not None else None
        self.default_per_page = default_per_page
        self.max_per_page = max_per_page
        self.received: list[ReceivedRequest] = []
        self._token_fingerprints = frozenset(_fingerprint(token) for token in tokens)  # never the tokens themselves
        self._podcasts = {
            podcast_id: {"id": podcast_id, "title": title, "networkId": network_id} for podcast_id, title in podcasts.items()
        }
        self._episodes: dict[str, dict[str, Any]] = {}
        self._ingests: dict[str, _Ingest] = {}
        self._pinned_status: dict[str, str] = {}
        self._ingest_failures: dict[str, str] = {}
        self._created = 0
        self.revision = 0  # counts what may have changed the state: writes through the API and edits made here

    # transport -------------------------------------------------------------------
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.received.append(ReceivedRequest(request.method, request.url.path, request.url.query.decode(), self.clock.now()))
        if request.method not in ("GET", "HEAD"):
            self.revision += 1
        return super().handle_request(request)

    def authenticate(self, request: httpx.Request) -> str | httpx.Response:
        token = _token_from(request.headers.get("Authorization", ""))
        identity = _fingerprint(token) if token else None
        if identity is None or identity not in self._token_fingerprints:
            return httpx.Response(
                401,
                headers={"WWW-Authenticate": 'Token realm="Application"', "Content-Type": "text/plain; charset=utf-8"},
                content=b"HTTP Token: Access denied.\n",
            )
        return f"token:{identity}"

    def rate_limited_response(self, retry_after: float) -> httpx.Response:
        # Rounded up: a Retry-After shorter than the real wait would only earn another 429.
        return json_response(429, {"errors": ["Rate limit exceeded"]}, headers={"Retry-After": str(max(1, math.ceil(retry_after)))})

    def route(self, request: httpx.Request, credential: str) -> httpx.Response:
        path = request.url.path
        if not path.startswith(self.base_path + "/"):
            return _not_found()
        parts = [part for part in path[len(self.base_path) :].split("/") if part]
        if len(parts) < 3 or parts[0] != "networks" or parts[1] != self.network_id or parts[2] != "podcasts":
            return _not_found()
        method = request.method
        if len(parts) == 3 and method == "GET":
            return self._paged(request, [copy.deepcopy(p) for p in self._podcasts.values()])
        if len(parts) < 5 or parts[3] not in self._podcasts or parts[4] != "episodes":
            return _not_found()
        podcast_id = parts[3]
        if len(parts) == 5 and method == "GET":
            return self._list_episodes(request, podcast_id)
        if len(parts) == 5 and method == "POST":
            return self._create_episode(request, podcast_id)
        if len(parts) == 6 and method in ("GET", "PUT"):
            episode = self._episodes.get(parts[5])
            if episode is None or episode["podcastId"] != podcast_id:
                return _not_found()
            if method == "GET":
                return json_response(200, self.episode(parts[5]))
            return self._update_episode(request, parts[5])
        return _not_found()

    # endpoints ---------------------------------------------------------------------
    def _list_episodes(self, request: httpx.Request, podcast_id: str) -> httpx.Response:
        external_id = request.url.params.get("externalId")
        episodes = [  # not copies: the page is serialized at once
            self._refresh(episode_id)
            for episode_id, episode in self._episodes.items()
            if episode["podcastId"] == podcast_id and (external_id is None or episode.get("externalId") == external_id)
        ]
        return self._paged(request, episodes)

    def _create_episode(self, request: httpx.Request, podcast_id: str) -> httpx.Response:
        body = _json_object(request)
        if isinstance(body, httpx.Response):
            return body
        fields = {key: value for key, value in body.items() if key in WRITABLE_FIELDS}
        errors = self._validation_errors(fields, podcast_id, episode_id=None)
        if errors:
            return json_response(422, {"errors": errors})
        self._created += 1
        digest = hashlib.sha256(f"megaphone:{self.seed}:{self._created}".encode()).digest()
        episode_id = str(uuid.UUID(bytes=digest[:16], version=4))
        now = _rails_time(self.clock.now())
        episode: dict[str, Any] = {
            "id": episode_id,
            "uid": _base36(int.from_bytes(digest[16:24], "big"), 13),
            "podcastId": podcast_id,
            "title": None,
            "subtitle": None,
            "summary": None,
            "author": None,
            "externalId": None,
            "pubdate": None,
            "draft": True,
            "explicit": None,
            "episodeType": "full",
            "seasonNumber": None,
            "episodeNumber": None,
            "backgroundAudioFileUrl": None,
            "backgroundImageFileUrl": None,
            "customFields": {},
            "status": "draft",
            "downloadUrl": None,
            "duration": None,
            "size": None,
            "bitrate": None,
            "spotifyIdentifier": None,
            "audioFileProcessing": False,
            "audioFileStatus": None,
            "audioFileUpdatedAt": None,
            "createdAt": now,
            "updatedAt": now,
        }
        self._episodes[episode_id] = episode
        self._apply(episode_id, fields)
        return json_response(201, self.episode(episode_id))

    def _update_episode(self, request: httpx.Request, episode_id: str) -> httpx.Response:
        body = _json_object(request)
        if isinstance(body, httpx.Response):
            return body
        fields = {key: value for key, value in body.items() if key in WRITABLE_FIELDS}
        errors = self._validation_errors(fields, self._episodes[episode_id]["podcastId"], episode_id=episode_id)
        if errors:
            return json_response(422, {"errors": errors})
        self._apply(episode_id, fields)
        self._episodes[episode_id]["updatedAt"] = _rails_time(self.clock.now())
        return json_response(200, self.episode(episode_id))

    def _validation_errors(self, fields: dict[str, Any], podcast_id: str, episode_id: str | None) -> list[str]:
        creating = episode_id is None
        errors: list[str] = []
        for name in STRING_FIELDS:
            if fields.get(name) is not None and not isinstance(fields[name], str):
                errors.append(f"{_label(name)} must be a string")
        for name in INTEGER_FIELDS:
            value = fields.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                errors.append(f"{_label(name)} must be an integer")
        if "draft" in fields and not isinstance(fields["draft"], bool):
            errors.append("Draft must be true or false")
        if (creating or "title" in fields) and not _present(fields.get("title")):
            errors.append("Title can't be blank")
        external_id = fields.get("externalId")
        if creating and self.require_external_id and not _present(external_id):
            errors.append("External id can't be blank")
        if self.unique_external_ids and _present(external_id) and self._external_id_taken(podcast_id, external_id, episode_id):
            errors.append("External id has already been taken")
        if fields.get("pubdate") is not None and (not isinstance(fields["pubdate"], str) or _parse_time(fields["pubdate"]) is None):
            errors.append("Pubdate is not a valid ISO 8601 date-time")
        if "episodeType" in fields and fields["episodeType"] not in EPISODE_TYPES:
            errors.append(f"Episode type must be one of {', '.join(EPISODE_TYPES)}")
        explicit = fields.get("explicit")
        if explicit is not None and self.explicit_values is not None and explicit not in self.explicit_values:
            errors.append(f"Explicit must be one of {', '.join(sorted(self.explicit_values))}")
        for name in ("backgroundAudioFileUrl", "backgroundImageFileUrl"):
            url = fields.get(name)
            if isinstance(url, str) and url and not url.startswith(("http://", "https://")):
                errors.append(f"{_label(name)} must be an http(s) URL")
        if fields.get("customFields") is not None and not isinstance(fields["customFields"], dict):
            errors.append("Custom fields must be an object")
        return errors

    def _external_id_taken(self, podcast_id: str, external_id: str, except_id: str | None) -> bool:
        return any(
            episode["podcastId"] == podcast_id and episode.get("externalId") == external_id and episode_id != except_id
            for episode_id, episode in self._episodes.items()
        )

    def _apply(self, episode_id: str, fields: dict[str, Any]) -> None:
        """Store the fields; a new or changed audio URL starts an ingest; publishing needs a pubdate."""
        episode = self._episodes[episode_id]
        old_audio = episode.get("backgroundAudioFileUrl")
        for name, value in fields.items():
            if name == "pubdate" and value is not None:
                parsed = _parse_time(value)
                value = _rails_time(parsed) if parsed is not None else value
            episode[name] = value
        if episode.get("draft") is False and not episode.get("pubdate"):
            episode["pubdate"] = _rails_time(self.clock.now())
        audio = episode.get("backgroundAudioFileUrl")
        if audio and audio != old_audio:
            ready_at = self.clock.now() + timedelta(seconds=self.ingest_delay_seconds)
            if self.audio_fetch is not None:
                reason, facts = ingest_audio(audio, self.audio_fetch)
                self._ingests[episode_id] = _Ingest(url=audio, ready_at=ready_at, fails=reason is not None, reason=reason, audio=facts)
            else:
                fails = self.audio_fails(audio)
                self._ingests[episode_id] = _Ingest(url=audio, ready_at=ready_at, fails=fails, reason="audio refused" if fails else None)
            self._ingest_failures.pop(episode_id, None)
            episode["audioFileProcessing"] = True
            episode["audioFileStatus"] = "processing"
        elif not audio:
            self._ingests.pop(episode_id, None)
            episode["audioFileProcessing"] = False

    def _refresh(self, episode_id: str) -> dict[str, Any]:
        """Bring an episode up to the clock: finish a due ingest, derive status, assign the Spotify id."""
        episode = self._episodes[episode_id]
        now = self.clock.now()
        ingest = self._ingests.get(episode_id)
        if ingest is not None and now >= ingest.ready_at:
            del self._ingests[episode_id]
            episode["audioFileProcessing"] = False
            episode["audioFileUpdatedAt"] = _rails_time(ingest.ready_at)
            if ingest.fails:
                episode["audioFileStatus"] = self.failed_audio_status
                self._ingest_failures[episode_id] = ingest.reason or "audio refused"
            else:
                seconds = 300 + int.from_bytes(hashlib.sha256(ingest.url.encode()).digest()[:4], "big") % 3300
                facts = ingest.audio or {"duration": float(seconds), "bitrate": 128, "size": seconds * 128_000 // 8}
                episode.update(
                    audioFileStatus="success",
                    downloadUrl=f"https://traffic.megaphone.fm/{episode['uid']}.mp3",
                    **facts,
                )
        derived = self._derived_status(episode, now)
        episode["status"] = self._pinned_status.get(episode_id, derived)
        if derived == "published" and episode["audioFileStatus"] == "success" and not episode["audioFileProcessing"]:
            if episode["spotifyIdentifier"] is None:
                digest = hashlib.sha256(f"spotify:{self.seed}:{episode_id}".encode()).digest()
                episode["spotifyIdentifier"] = _base62(int.from_bytes(digest, "big"), 22)
        return episode

    @staticmethod
    def _derived_status(episode: dict[str, Any], now: datetime) -> str:
        if episode.get("draft") is not False:
            return "draft"
        pubdate = _parse_time(episode.get("pubdate") or "")
        if pubdate is not None and pubdate > now:
            return "scheduled"
        return "published"

    def _paged(self, request: httpx.Request, items: list[dict[str, Any]]) -> httpx.Response:
        page = _positive_int(request.url.params.get("page"), 1)
        per_page = min(_positive_int(request.url.params.get("per_page"), self.default_per_page), self.max_per_page)
        last = max(1, math.ceil(len(items) / per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        url = request.url.copy_set_param("per_page", per_page)
        rels: list[tuple[str, int]] = []
        if page > 1:
            rels += [("first", 1), ("prev", min(page - 1, last))]
        if page < last:
            rels += [("next", page + 1), ("last", last)]
        headers = {"X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(len(items))}
        if rels:
            headers["Link"] = ", ".join(f'<{url.copy_set_param("page", number)}>; rel="{rel}"' for rel, number in rels)
        return json_response(200, chunk, headers=headers)

    # for the sandbox and tests ------------------------------------------------------
    def episode(self, episode_id: str) -> dict[str, Any]:
        """One episode as the API would answer it now (a copy)."""
        return copy.deepcopy(self._refresh(episode_id))

    def episode_by_external_id(self, external_id: str, podcast_id: str | None = None) -> dict[str, Any] | None:
        """The episode carrying `external_id` (in `podcast_id` if given); LookupError if several do."""
        found = [
            episode_id
            for episode_id, episode in self._episodes.items()
            if episode.get("externalId") == external_id and podcast_id in (None, episode["podcastId"])
        ]
        if len(found) > 1:
            raise LookupError(f"{len(found)} episodes carry externalId {external_id!r}: {', '.join(found)}")
        return self.episode(found[0]) if found else None

    def set_episode_fields(self, episode_id: str, **changes: Any) -> dict[str, Any]:
        """A change made on the Megaphone/Spotify side (an editor in the UI, a takedown), unvalidated.

        Names are the API's camelCase (snake_case is accepted too). `status="..."` pins the status
        until `status=None` (e.g. a takedown Megaphone reports without the draft flag); a new audio
        URL starts an ingest as an API update would."""
        if episode_id not in self._episodes:
            raise KeyError(f"no episode {episode_id}")
        self.revision += 1
        fields = {_camel(name): value for name, value in changes.items()}
        if "status" in fields:
            status = fields.pop("status")
            if status is None:
                self._pinned_status.pop(episode_id, None)
            else:
                self._pinned_status[episode_id] = status
        writable = {name: value for name, value in fields.items() if name in WRITABLE_FIELDS}
        self._apply(episode_id, writable)
        self._episodes[episode_id].update({name: value for name, value in fields.items() if name not in WRITABLE_FIELDS})
        self._episodes[episode_id]["updatedAt"] = _rails_time(self.clock.now())
        return self.episode(episode_id)

    def ingest_failure(self, episode_id: str) -> str | None:
        """Why the episode's last audio ingest failed (the sandbox's view; the API does not say)."""
        self._refresh(episode_id)
        return self._ingest_failures.get(episode_id)

    def remove_episode(self, episode_id: str) -> None:
        """Someone deleted the episode in Megaphone's UI: later reads answer 404."""
        self.revision += 1
        del self._episodes[episode_id]
        self._ingests.pop(episode_id, None)
        self._ingest_failures.pop(episode_id, None)
        self._pinned_status.pop(episode_id, None)

    def requests_received(self, method: str | None = None) -> list[ReceivedRequest]:
        return [r for r in self.received if method is None or r.method == method]

    def state(self) -> dict[str, Any]:
        """The final Megaphone-side state in Megaphone's own field names, ordered so reports diff cleanly."""
        episodes = [self.episode(episode_id) for episode_id in self._episodes]
        episodes.sort(key=lambda e: (e["podcastId"], e.get("externalId") or "", e["id"]))
        return {
            "networkId": self.network_id,
            "podcasts": sorted((copy.deepcopy(p) for p in self._podcasts.values()), key=lambda p: p["id"]),
            "episodes": episodes,
        }


# wire details ------------------------------------------------------------------------
def _token_from(header: str) -> str | None:
    """Rails' token scheme: `Token token=abc` or `Token token="abc"` (other options ignored)."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "token":
        return None
    for option in rest.split(","):
        name, _, value = option.strip().partition("=")
        if name.strip() == "token":
            value = value.strip().strip('"')
            return value or None
    return None


def _fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def _json_object(request: httpx.Request) -> dict[str, Any] | httpx.Response:
    try:
        body = json.loads(request.content or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return json_response(400, {"errors": ["Request body is not valid JSON"]})
    if not isinstance(body, dict):
        return json_response(422, {"errors": ["Request body must be a JSON object"]})
    return body


def _not_found() -> httpx.Response:
    return json_response(404, {"errors": ["Not found"]})


def _present(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value.strip())


def _positive_int(value: str | None, default: int) -> int:
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    return number if number > 0 else default


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def _rails_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _label(camel: str) -> str:
    words = "".join(f" {c.lower()}" if c.isupper() else c for c in camel)
    return words[:1].upper() + words[1:]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def _base36(number: int, length: int) -> str:
    return _encode(number, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", length)


def _base62(number: int, length: int) -> str:
    return _encode(number, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", length)


def _encode(number: int, alphabet: str, length: int) -> str:
    digits = []
    for _ in range(length):
        number, digit = divmod(number, len(alphabet))
        digits.append(alphabet[digit])
    return "".join(digits)
