"""The files behind the catalogue's media URLs: real covers and masters (`sandbox.media`), made the same
way on every run (no clock, no randomness beyond fixed seeds), served by one `MediaHostSimulator` per
host the catalogue names.

What a URL serves:
- described in the catalogue's `media` list (`MediaFileEntry`): exactly that file — a too-small
  cover, a CMYK JPEG, a 6 MB PNG, a WAV whose duration disagrees with Consonance — or nothing (an
  unreachable URL, for ever), or nothing to Megaphone only (`megaphone_refused`: a URL the
  integration reaches and Megaphone's ingest does not);
- otherwise a compliant file made from its name: a cover (JPEG or PNG by extension, the side from a
  "-3000" style suffix, else 1400 px; JPEG quality 85, well under 512 KB) or a master (WAV, MP3 or M4A by
  extension) as long as the product's stated running time (its ONIX duration extent), else
  `DEFAULT_MASTER_SECONDS`.

Every URL of the catalogue is covered, timeline records included, so a URL the flows meet is never an
accident of the sandbox. Masters are made on request (a large catalogue's would not fit in memory);
covers once, on first request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from functions.clock import Clock
from functions.connectors.consonance.mapping import onix_duration_seconds
from functions.connectors.consonance.records import ExtentRecord
from functions.connectors.http import route_host
from sandbox import media
from sandbox.catalogue import Catalogue, MediaFileEntry
from sandbox.simulators.base import FaultPlan
from sandbox.simulators.media_host import MediaHostSimulator, MediaRequest

DEFAULT_COVER_SIDE = 1400
DEFAULT_MASTER_SECONDS = 30.0
MEGAPHONE = "megaphone"  # the client name Megaphone's ingest fetches as
_SIDE_IN_NAME = re.compile(r"-(\d{3,4})\.[A-Za-z0-9]+$")
_COVER_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".gif": "GIF", ".webp": "WEBP"}
_AUDIO_FORMATS = {".wav": "wav", ".mp3": "mp3", ".m4a": "m4a", ".mp2": "mp2"}


@dataclass(frozen=True)
class MediaFile:
    url: str
    make: Callable[[], bytes]
    unreachable: str | None = None
    megaphone_refused: str | None = None


def media_files(catalogue: Catalogue) -> list[MediaFile]:
    """A file for every cover and master URL the catalogue names (see the module docstring)."""
    described = {entry.url: entry for entry in catalogue.media}
    files: list[MediaFile] = []
    for url, stated in sorted(_media_urls(catalogue).items()):
        entry = described.get(url) or MediaFileEntry(url=url)
        files.append(
            MediaFile(url=url, make=_maker(entry, stated), unreachable=entry.unreachable, megaphone_refused=entry.megaphone_refused)
        )
    return files


def _maker(entry: MediaFileEntry, stated_seconds: float | None) -> Callable[[], bytes]:
    extension = "." + urlsplit(entry.url).path.rsplit(".", 1)[-1].lower() if "." in urlsplit(entry.url).path else ""
    if entry.audio_format is not None or (entry.image_format is None and extension in _AUDIO_FORMATS):
        kind = entry.audio_format or _AUDIO_FORMATS[extension]
        seconds = entry.seconds or stated_seconds or DEFAULT_MASTER_SECONDS
        make_audio = {"wav": media.wav, "mp3": media.mp3, "m4a": media.m4a, "mp2": media.mp2}[kind]
        return lambda: _cut(make_audio(seconds), entry.truncate_to)
    if entry.image_format is not None or extension in _COVER_FORMATS:
        image_format = entry.image_format or _COVER_FORMATS[extension]
        side = _side_in_name(entry.url)
        width, height = entry.width or side, entry.height or entry.width or side
        seed = sum(entry.url.encode()) % 997  # a different picture per URL, the same on every run

        @cache
        def make_cover() -> bytes:
            return media.cover(width, height, image_format, mode=entry.mode, grain=entry.grain, quality=entry.quality, seed=seed, truncate_to=entry.truncate_to)

        return make_cover
    raise ValueError(f"media URL {entry.url!r}: no cover or audio extension; describe it in the catalogue's media list")


def _cut(data: bytes, truncate_to: int | None) -> bytes:
    return data[:truncate_to] if truncate_to is not None else data


def _side_in_name(url: str) -> int:
    found = _SIDE_IN_NAME.search(urlsplit(url).path)
    return int(found.group(1)) if found else DEFAULT_COVER_SIDE


def _media_urls(catalogue: Catalogue) -> dict[str, float | None]:
    """Every cover and master URL, with the running time Consonance states for a master (if any)."""
    urls: dict[str, float | None] = {}
    for work in catalogue.works:
        for resource in work.supporting_resources:
            urls.setdefault(resource.url, None)
    stated_by_file: dict[int, float | None] = {}
    for product in catalogue.products:
        stated = _stated([extent.model_dump() for extent in product.extents])
        for file in product.production_files:
            stated_by_file[file.id] = stated
            if file.url:
                urls[file.url] = stated
    for edit in catalogue.timeline:
        owner = stated_by_file.get(edit.id or -1) if edit.entity == "production_file" else None
        for url, stated in _urls_in(edit.record or edit.changes, owner):
            if urls.get(url) is None:
                urls[url] = stated
    for entry in catalogue.media:
        urls.setdefault(entry.url, None)
    return urls


def _urls_in(value: Any, stated: float | None = None) -> Iterator[tuple[str, float | None]]:
    """The http(s) `url` values anywhere in a timeline record, with the stated duration of its product."""
    if isinstance(value, Mapping):
        stated = _stated(value["extents"]) if isinstance(value.get("extents"), list) else stated
        for key, item in value.items():
            if key == "url" and isinstance(item, str) and item.startswith(("http://", "https://")):
                yield item, stated
            else:
                yield from _urls_in(item, stated)
    elif isinstance(value, list):
        for item in value:
            yield from _urls_in(item, stated)


def _stated(extents: list[Any]) -> float | None:
    for extent in extents:
        if isinstance(extent, Mapping) and str(extent.get("type", "09")) == "09":
            record = ExtentRecord.model_validate(
                {"onixExtentTypeCode": "09", "extentValue": str(extent.get("value")), "onixExtentUnitCode": str(extent.get("unit", "06"))}
            )
            return onix_duration_seconds(record)
    return None


@dataclass
class SandboxMedia:
    """The media hosts of a world: one simulator per host, routed where the URLs point."""

    catalogue: Catalogue
    clock: Clock
    faults: Callable[[str], FaultPlan] = lambda host: FaultPlan()
    hosts: dict[str, MediaHostSimulator] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for file in media_files(self.catalogue):
            host = self._host(urlsplit(file.url).hostname or "")
            path = urlsplit(file.url).path
            host.serve(path, file.make)
            if file.unreachable is not None:
                host.fail(path, file.unreachable, always=True)
            if file.megaphone_refused is not None:
                host.refuse(path, MEGAPHONE, file.megaphone_refused)

    def _host(self, name: str) -> MediaHostSimulator:
        if name not in self.hosts:
            self.hosts[name] = MediaHostSimulator(self.clock, host=name, faults=self.faults(name))
        return self.hosts[name]

    def route(self) -> None:
        for name, host in self.hosts.items():
            route_host(name, host)

    def host_of(self, url: str) -> MediaHostSimulator:
        return self.hosts[urlsplit(url).hostname or ""]

    def fetch_for_megaphone(self, url: str) -> bytes | None:
        """Megaphone's ingest download: a host the sandbox does not serve gives nothing."""
        host = self.hosts.get(urlsplit(url).hostname or "")
        return host.fetch(url, MEGAPHONE) if host is not None else None

    def file(self, url: str) -> bytes:
        """The bytes served at `url` (what the flows should have read)."""
        return self.host_of(url).content(urlsplit(url).path)

    def requests_for(self, url: str, method: str = "GET") -> list[MediaRequest]:
        return self.host_of(url).requests_for(urlsplit(url).path, method)

    def injected(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for host in self.hosts.values():
            for kind, count in host.faults.injected.items():
                total[kind] = total.get(kind, 0) + count
        return total
