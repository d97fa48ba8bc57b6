"""The catalogue's media files that live on the sandbox media host (`media.sandbox.example`): every
production file and supporting resource whose URL is on that host — in the catalogue or added by its
timeline — is served as a real file of its kind (a short silent MP3/WAV/M4A master, a JPEG/PNG
cover), so a flow that copies a master (venue delivery) fetches real bytes. URLs elsewhere (the
sample's publisher hosts) are left alone, as before."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from sandbox import media
from sandbox.catalogue import Catalogue
from sandbox.simulators.media_host import MediaHostSimulator

MASTER_SECONDS = 20.0  # long enough to be a real episode file, short enough to copy in a blink
COVER_SIDE = 1400


def serve_catalogue_media(host: MediaHostSimulator, catalogue: Catalogue) -> list[str]:
    """Put every catalogue file on `host`'s host; returns the URLs served."""
    served: list[str] = []
    for url in sorted(set(_urls(catalogue))):
        parts = urlsplit(url)
        if parts.hostname != host.host:
            continue
        content = _file_for(PurePosixPath(parts.path).suffix.lower())
        if content is not None:
            host.put(parts.path, content)
            served.append(url)
    return served


def _urls(catalogue: Catalogue) -> Iterator[str]:
    for product in catalogue.products:
        yield from (f.url for f in product.production_files if f.url)
    for work in catalogue.works:
        yield from (r.url for r in work.supporting_resources if r.url)
    for edit in catalogue.timeline:
        yield from _record_urls(edit.record or {})


def _record_urls(record: dict[str, Any]) -> Iterator[str]:
    for key in ("production_files", "supporting_resources"):
        for item in record.get(key) or []:
            if isinstance(item, dict) and isinstance(item.get("url"), str):
                yield item["url"]


def _file_for(suffix: str) -> bytes | None:
    if suffix == ".mp3":
        return media.mp3(MASTER_SECONDS)
    if suffix == ".wav":
        return media.wav(MASTER_SECONDS)
    if suffix == ".m4a":
        return media.m4a(MASTER_SECONDS)
    if suffix in (".jpg", ".jpeg"):
        return media.cover(COVER_SIDE, COVER_SIDE, "JPEG")
    if suffix == ".png":
        return media.cover(COVER_SIDE, COVER_SIDE, "PNG")
    return None
