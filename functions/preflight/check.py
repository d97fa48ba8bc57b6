"""One episode's pre-flight: artwork, audio and text checked together, with cached media checks.

`check_episode` is what the publishing gate calls before a push. It fetches through a `MediaSource`
(the media connector) and stores renditions through a `RenditionSink` (the S3 repository), both
injected, so this module knows neither HTTP nor AWS. Given the previous `PreflightResult` (kept in the
ledger), a media file whose identity is unchanged is not fetched again (`functions.preflight.identity`).

Failures:
- a permanent fetch failure (unreachable, too large) is a blocking finding, and is not cached;
- a transient one (timeouts, 5xx, connection errors, after the connector's own retries) is raised as
  it is (`TransientError`): no result is returned, the previous one is left as it was, and the queue
  retries the record. A fetch that did not complete can never become a verdict.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

from functions.clock import utcnow
from functions.connectors.media import FetchedMedia, MediaTooLarge, MediaUnreachable
from functions.domain.models import Finding
from functions.domain.validation import product_entity
from functions.preflight.artwork import inspect_artwork
from functions.preflight.audio import judge_audio, measure_audio
from functions.preflight.findings import PreflightCode, preflight_finding, size_text
from functions.preflight.identity import MediaIdentity, media_cache_key
from functions.preflight.results import ArtworkCheck, AudioCheck, AudioVerdict, PreflightRequest, PreflightResult
from functions.preflight.settings import PreflightSettings
from functions.preflight.text import check_text


class MediaSource(Protocol):
    def fetch(self, url: str, *, max_bytes: int) -> FetchedMedia: ...


class RenditionSink(Protocol):
    def put(self, content: bytes, *, content_type: str, extension: str) -> str:
        """Store the rendition; return its key (stable: the same bytes give the same key)."""
        ...


def check_episode(
    request: PreflightRequest,
    *,
    media: MediaSource,
    renditions: RenditionSink,
    settings: PreflightSettings,
    previous: PreflightResult | None = None,
    known_artwork: MutableMapping[str, ArtworkCheck] | None = None,
) -> PreflightResult:
    """Artwork, audio and text of one episode (see the module docstring). `known_artwork` holds
    artwork checks made for other episodes, by cache key (the episodes of a series share a cover):
    a cover found there is not fetched again, and a new check is added to it."""
    now = utcnow()
    findings: list[Finding] = []
    artwork: ArtworkCheck | None = None
    if request.artwork is not None:
        artwork, found = _artwork(request.product_id, request.artwork, media, renditions, settings, previous, known_artwork, now)
        findings += found
    audio: AudioCheck | None = None
    audio_verdict: AudioVerdict | None = None
    if request.audio is not None:
        audio, found = _audio(request.product_id, request.audio, media, previous, settings, now)
        findings += found
        if audio is not None:
            audio_verdict = judge_audio(
                audio.measured,
                stated_duration_seconds=request.stated_duration_seconds,
                product_id=request.product_id,
                settings=settings,
            )
            findings += audio_verdict.findings
    text = check_text(request.text, product_id=request.product_id, settings=settings)
    findings += text.findings
    return PreflightResult(
        product_id=request.product_id,
        checked_at=now,
        text=text,
        artwork=artwork,
        audio=audio,
        audio_verdict=audio_verdict,
        findings=tuple(findings),
    )


def _artwork(
    product_id: int,
    identity: MediaIdentity,
    media: MediaSource,
    renditions: RenditionSink,
    settings: PreflightSettings,
    previous: PreflightResult | None,
    known_artwork: MutableMapping[str, ArtworkCheck] | None,
    now: datetime,
) -> tuple[ArtworkCheck | None, list[Finding]]:
    key = media_cache_key("artwork", identity, settings.artwork_fingerprint())
    if previous is not None and previous.artwork is not None and previous.artwork.cache_key == key:
        return previous.artwork, list(previous.artwork.verdict.findings)
    if known_artwork is not None and key in known_artwork:
        reused = _for_product(known_artwork[key], product_id)
        return reused, list(reused.verdict.findings)
    fetched = _fetch(product_id, "cover", identity.url, media, settings.artwork_fetch_max_bytes, PreflightCode.ARTWORK_UNREACHABLE, PreflightCode.ARTWORK_FETCH_TOO_LARGE)
    if isinstance(fetched, Finding):
        return None, [fetched]
    with fetched:
        inspection = inspect_artwork(fetched.read(), product_id=product_id, settings=settings)
    rendition_key = None
    if inspection.rendition is not None and inspection.verdict.rendition is not None:
        facts = inspection.verdict.rendition
        rendition_key = renditions.put(inspection.rendition, content_type=facts.content_type, extension=facts.extension)
    check = ArtworkCheck(cache_key=key, source=identity, checked_at=now, verdict=inspection.verdict, rendition_key=rendition_key)
    if known_artwork is not None:
        known_artwork[key] = check
    return check, list(inspection.verdict.findings)


def _for_product(check: ArtworkCheck, product_id: int) -> ArtworkCheck:
    """Another episode's artwork check, its findings about this episode (the verdict is the file's)."""
    entity = product_entity(product_id)
    findings = tuple(f.model_copy(update={"entity": entity}) for f in check.verdict.findings)
    return check.model_copy(update={"verdict": check.verdict.model_copy(update={"findings": findings})})


def _audio(
    product_id: int,
    identity: MediaIdentity,
    media: MediaSource,
    previous: PreflightResult | None,
    settings: PreflightSettings,
    now: datetime,
) -> tuple[AudioCheck | None, list[Finding]]:
    key = media_cache_key("audio", identity)
    if previous is not None and previous.audio is not None and previous.audio.cache_key == key:
        return previous.audio, []
    fetched = _fetch(product_id, "master audio", identity.url, media, settings.audio_fetch_max_bytes, PreflightCode.AUDIO_UNREACHABLE, PreflightCode.AUDIO_FETCH_TOO_LARGE)
    if isinstance(fetched, Finding):
        return None, [fetched]
    with fetched:
        measured = measure_audio(fetched.body, size=fetched.size, sha256=fetched.sha256)
    return AudioCheck(cache_key=key, source=identity, checked_at=now, measured=measured), []


def _fetch(
    product_id: int,
    what: str,
    url: str,
    media: MediaSource,
    max_bytes: int,
    unreachable: PreflightCode,
    too_large: PreflightCode,
) -> FetchedMedia | Finding:
    """The file, or the blocking finding a permanent failure makes; transient errors propagate.

    Messages name the URL without its query: a pre-signed URL's signature must not reach the ledger
    or Consonance."""
    shown = urlsplit(url)._replace(query="", fragment="").geturl()
    try:
        return media.fetch(url, max_bytes=max_bytes)
    except MediaUnreachable as exc:
        answer = f"the host answered {exc.status}" if exc.status else "it is not an http(s) URL or its redirects loop"
        return preflight_finding(unreachable, product_id, f"the {what} cannot be fetched from {shown}: {answer}")
    except MediaTooLarge as exc:
        message = f"the {what} at {shown} is larger than {size_text(exc.limit)}, the most the pre-flight reads"
        return preflight_finding(too_large, product_id, message)
