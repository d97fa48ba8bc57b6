"""The pre-flight's finding codes: stable names the ledger, the write-back and the ops CLI key on.

Every finding carries `flow="preflight"`, so the publisher can replace the pre-flight's findings on a
ledger entry without touching those of the mapping or the rights model. Blocking findings hold the
episode (nothing is pushed); non-blocking ones say what the pre-flight changed and the push goes on.

| code | blocking | meaning |
| --- | --- | --- |
| artwork_unreachable | yes | the artwork URL answered "not there" or "not for you" (404, 410, 401, 403, other 4xx) |
| artwork_fetch_too_large | yes | the artwork file is larger than `artwork_fetch_max_bytes`; reading stopped there |
| artwork_unreadable | yes | not an image Pillow can decode, or a truncated one |
| artwork_unsupported_format | yes | an image, but neither JPEG nor PNG (`artwork_formats`) |
| artwork_unsupported_colour_mode | yes | a colour mode that cannot be turned into RGB without guessing (16-bit, float) |
| artwork_source_too_large | yes | more pixels than `artwork_max_source_pixels` (a decompression bomb guard) |
| artwork_not_square | yes | width and height differ |
| artwork_too_small | yes | narrower than `artwork_min_side` (never upscaled) |
| artwork_rendition_impossible | yes | no JPEG of at least `artwork_min_side` fits `artwork_max_bytes` |
| artwork_rendition_made | no | the source was larger than allowed or not RGB: a compliant rendition is pushed instead |
| audio_unreachable | yes | the master audio URL answered "not there" or "not for you" |
| audio_fetch_too_large | yes | the master is larger than `audio_fetch_max_bytes`; reading stopped there |
| audio_unreadable | yes | no audio type could be read from the bytes, or the file has no duration |
| audio_unsupported_type | yes | audio, but not a type Megaphone ingests (`audio_types`) |
| audio_duration_mismatch | `duration_mismatch_blocks` | the file's duration and Consonance's differ by more than the tolerance |
| missing_title, title_too_long | yes | `functions.domain.validation.title_findings` on the title as pushed |
| subtitle_truncated | no | the subtitle was longer than `max_subtitle_length`: cut at a word |
| unsafe_description, summary_truncated | no | `functions.domain.validation.summary_with_findings` on the description as pushed |

Transient failures (timeouts, 5xx, connection errors) are never findings: they raise, the queue
retries the record, and no verdict is made from a fetch that did not complete.
"""

from __future__ import annotations

from enum import StrEnum

from functions.domain.models import Finding
from functions.domain.validation import product_entity

FLOW = "preflight"


class PreflightCode(StrEnum):
    ARTWORK_UNREACHABLE = "artwork_unreachable"
    ARTWORK_FETCH_TOO_LARGE = "artwork_fetch_too_large"
    ARTWORK_UNREADABLE = "artwork_unreadable"
    ARTWORK_UNSUPPORTED_FORMAT = "artwork_unsupported_format"
    ARTWORK_UNSUPPORTED_COLOUR_MODE = "artwork_unsupported_colour_mode"
    ARTWORK_SOURCE_TOO_LARGE = "artwork_source_too_large"
    ARTWORK_NOT_SQUARE = "artwork_not_square"
    ARTWORK_TOO_SMALL = "artwork_too_small"
    ARTWORK_RENDITION_IMPOSSIBLE = "artwork_rendition_impossible"
    ARTWORK_RENDITION_MADE = "artwork_rendition_made"
    AUDIO_UNREACHABLE = "audio_unreachable"
    AUDIO_FETCH_TOO_LARGE = "audio_fetch_too_large"
    AUDIO_UNREADABLE = "audio_unreadable"
    AUDIO_UNSUPPORTED_TYPE = "audio_unsupported_type"
    AUDIO_DURATION_MISMATCH = "audio_duration_mismatch"
    SUBTITLE_TRUNCATED = "subtitle_truncated"


NON_BLOCKING: frozenset[PreflightCode] = frozenset({PreflightCode.ARTWORK_RENDITION_MADE, PreflightCode.SUBTITLE_TRUNCATED})


def preflight_finding(code: PreflightCode, product_id: int, message: str, *, blocking: bool | None = None) -> Finding:
    """A pre-flight finding; blocking as the table above says unless the caller's setting decides."""
    return Finding(
        code=code.value,
        entity=product_entity(product_id),
        message=message,
        flow=FLOW,
        blocking=code not in NON_BLOCKING if blocking is None else blocking,
    )


def size_text(size: int) -> str:
    """A byte count as people read it in a finding: "4.1 MB (4,301,234 bytes)", "512 KB"."""
    if size >= 1024 * 1024:
        short = f"{size / (1024 * 1024):.1f} MB"
    elif size >= 1024:
        short = f"{size / 1024:.0f} KB" if size % 1024 == 0 else f"{size / 1024:.1f} KB"
    else:
        return f"{size} bytes"
    return short if size % 1024 == 0 else f"{short} ({size:,} bytes)"


def as_preflight(findings: list[Finding]) -> tuple[Finding, ...]:
    """Findings of a shared validation rule, re-labelled as the pre-flight's (same code and message)."""
    return tuple(f.model_copy(update={"flow": FLOW}) for f in findings)
