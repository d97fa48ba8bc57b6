"""The distribution pre-flight's cost per episode, as the publisher pays it: the cover and the master
fetched through the media connector from a media host (the sandbox's simulator, in process), read
with Pillow and mutagen, a rendition made and stored in S3 (moto in process) when needed, and the
re-check of an unchanged episode (the ledger's result passed back: nothing fetched).

Files are the sandbox's real ones (`sandbox.media`): a 3000 px JPEG cover (~200 KB), a 6 MB PNG, and
a 20-minute 8 kHz WAV master (~9.6 MB, a realistic size to download and hash).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from bench.results import Figure

REPS = 5
COMPLIANT_TARGET_MS = 1000.0  # well inside the publisher's per-record share of its Lambda timeout
RENDITION_TARGET_MS = 5000.0
CACHED_TARGET_MS = 5.0  # the point of the cache: an unchanged episode costs next to nothing
MASTER_SECONDS = 20 * 60
BUCKET = "bench-renditions"


def preflight_figures(say: Callable[[str], None]) -> list[Figure]:
    import boto3

    from bench.aws import InProcessAws
    from functions.clock import SystemClock, use_clock
    from functions.connectors.http import clear_routes, route_host
    from functions.connectors.media import MediaFetcher
    from functions.preflight.check import check_episode
    from functions.preflight.identity import MediaIdentity
    from functions.preflight.results import EpisodeText, PreflightRequest, PreflightResult
    from functions.preflight.settings import PreflightSettings
    from functions.state.renditions import RenditionStore
    from sandbox import media
    from sandbox.clock import VirtualClock
    from sandbox.simulators.media_host import MediaHostSimulator

    aws = InProcessAws().start()
    try:
        clock = VirtualClock(datetime(2027, 3, 1, tzinfo=timezone.utc))
        use_clock(clock)
        boto3.client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": aws.region})
        host = MediaHostSimulator(clock, host="media.bench.example")
        route_host(host.host, host)
        say("  making the files ...")
        cover = host.put("art/cover-3000.jpg", media.cover(3000, 3000, quality=85))
        png = host.put("art/cover-3000.png", media.cover(3000, 3000, "PNG", grain=3))
        master_bytes = media.wav(MASTER_SECONDS)
        master = host.put("masters/episode.wav", master_bytes)
        store = RenditionStore(BUCKET, public_base_url="https://renditions.bench.example")
        settings = PreflightSettings()

        def request(artwork: str) -> PreflightRequest:
            text = EpisodeText(title="A Letter from Esk", description="<p>Part 3 of The Salt Road.</p>")
            return PreflightRequest(
                product_id=1, text=text, artwork=MediaIdentity(url=artwork), audio=MediaIdentity(url=master), stated_duration_seconds=MASTER_SECONDS
            )

        def timed(artwork: str, previous: PreflightResult | None = None) -> tuple[float, PreflightResult]:
            started = time.perf_counter()
            result = check_episode(request(artwork), media=MediaFetcher(), renditions=store, settings=settings, previous=previous)
            return (time.perf_counter() - started) * 1000, result

        say("  compliant cover and master ...")
        compliant = [timed(cover) for _ in range(REPS)]
        say("  6 MB PNG cover (a rendition made) ...")
        rendition = [timed(png) for _ in range(REPS)]
        requests_before = len(host.received)
        cached = [timed(cover, compliant[-1][1])[0] for _ in range(REPS * 4)]
        fetched_again = len(host.received) - requests_before
    finally:
        clear_routes()
        use_clock(SystemClock())
        aws.stop()
    compliant_ms = statistics.median(ms for ms, _ in compliant)
    rendition_ms = statistics.median(ms for ms, _ in rendition)
    held = [result for _, result in compliant + rendition if result.held]
    details: dict[str, Any] = {
        "compliant_ms": [round(ms, 1) for ms, _ in compliant],
        "rendition_ms": [round(ms, 1) for ms, _ in rendition],
        "cached_ms": [round(ms, 3) for ms in cached],
        "master_bytes": len(master_bytes),
    }
    return [
        Figure(
            "preflight_compliant_ms",
            round(compliant_ms, 1),
            COMPLIANT_TARGET_MS,
            unit="ms",
            note=f"median of {REPS}: a 3000 px JPEG cover and a {MASTER_SECONDS // 60}-minute WAV master ({len(master_bytes):,} bytes) fetched, "
            "read and judged (nothing cached)",
            details=details,
            error="a compliant episode was held" if held else None,
        ),
        Figure(
            "preflight_rendition_ms",
            round(rendition_ms, 1),
            RENDITION_TARGET_MS,
            unit="ms",
            note=f"median of {REPS}: a 6 MB PNG cover re-encoded as a JPEG within 512 KB (binary search over quality) and stored in S3, with the master",
        ),
        Figure(
            "preflight_cached_ms",
            round(statistics.median(cached), 3),
            CACHED_TARGET_MS,
            unit="ms",
            note=f"median of {len(cached)}: an unchanged episode re-checked with the ledger's result; {fetched_again} media requests made",
            error=f"{fetched_again} media requests on re-checks of unchanged files" if fetched_again else None,
        ),
    ]
