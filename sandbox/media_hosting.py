"""The publisher's media hosts of a sandbox run: every image the catalogue lists (`media_files`) made by
`sandbox.media` as a real file and served by a `MediaHostSimulator` at its URL's host, routed for the
connectors like any simulator. Nothing else is served: a URL the catalogue does not list answers 404."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from functions.clock import Clock
from functions.connectors.http import route_host
from sandbox import media
from sandbox.catalogue import MediaFileEntry
from sandbox.simulators.base import FaultPlan
from sandbox.simulators.media_host import MediaHostSimulator


def host_media_files(clock: Clock, files: Sequence[MediaFileEntry], *, faults: FaultPlan | None = None) -> dict[str, MediaHostSimulator]:
    """One simulator per host named by `files`, each serving its files; routed. Keyed by host."""
    hosts: dict[str, MediaHostSimulator] = {}
    for entry in files:
        parts = urlsplit(entry.url)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError(f"media file URLs are https URLs with a host: {entry.url!r}")
        host = hosts.get(parts.hostname)
        if host is None:
            host = hosts[parts.hostname] = MediaHostSimulator(clock, host=parts.hostname, faults=faults)
            route_host(parts.hostname, host)
        host.put(parts.path, media.cover(entry.width, entry.height, entry.format, grain=entry.grain, seed=entry.seed))
    return hosts
