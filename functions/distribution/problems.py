"""An episode's distribution problems, worked out from what the ledger and the availability table hold.

| kind | when | from | alerted by |
| --- | --- | --- | --- |
| preflight | the publishing gate holds the episode on a blocking pre-flight finding | the Megaphone entry's findings (`flow="preflight"`) | nobody: production teams see it in Consonance |
| ingest_failed | Megaphone could not ingest the audio URL the integration last pushed | `MegaphoneState.ingest_failed_url` (the ingest checker) | this flow |
| not_playable | delivered (audio ingested, live) and Megaphone published it, and Spotify has served it in none of the watched markets `spotify_playable_within_hours` later | the availability table (`megaphone#*` live since; no Spotify record ever live) | this flow |
| taken_down | a takedown the integration did not make, while it has the episode delivered | the availability table (`taken_down`) | the availability recorder (already) |

Each problem carries a reason with the facts (measured values, URLs without their query, times) and
an action: what a person does, and where. Its `key` names the occurrence, so an alert goes out once
per occurrence and again only if the problem comes back after it was gone.

Non-blocking pre-flight findings (a rendition pushed instead of the cover, a subtitle cut) are
notices: told in the note, never alerted.

`delivery_signature` is what a sender of `DistributionChanged` compares before and after its change:
the parts of a Megaphone entry that decide its pre-flight and ingest problems.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from functions.distribution.models import DistributionNotice, DistributionProblem, ProblemKind
from functions.preflight.findings import FLOW as PREFLIGHT_FLOW
from functions.preflight.findings import PreflightCode
from functions.state.availability import CHANNEL_WIDE, AvailabilityRecord
from functions.state.ledger import LedgerEntry
from functions.state.targets import LedgerStatus, MegaphoneState, PushFlags

COVER_RULES = "a square JPEG or PNG in RGB, 1400–3000 px a side, at most 512 KB"
REPLACE_COVER = f"Upload a new cover image on the work in Consonance ({COVER_RULES}); the next poll checks it again."
REPLACE_MASTER = "Upload a corrected master audio file (MP3, M4A/AAC or WAV) as the product's master production file in Consonance."

# What to do about each blocking pre-flight finding (the message says what was measured).
PREFLIGHT_ACTIONS: dict[str, str] = {
    PreflightCode.ARTWORK_UNREACHABLE: "Make the cover's URL in Consonance reachable (or upload the cover again); the next poll fetches it.",
    PreflightCode.ARTWORK_FETCH_TOO_LARGE: REPLACE_COVER,
    PreflightCode.ARTWORK_UNREADABLE: REPLACE_COVER,
    PreflightCode.ARTWORK_UNSUPPORTED_FORMAT: REPLACE_COVER,
    PreflightCode.ARTWORK_UNSUPPORTED_COLOUR_MODE: REPLACE_COVER,
    PreflightCode.ARTWORK_SOURCE_TOO_LARGE: REPLACE_COVER,
    PreflightCode.ARTWORK_NOT_SQUARE: REPLACE_COVER,
    PreflightCode.ARTWORK_TOO_SMALL: REPLACE_COVER,
    PreflightCode.ARTWORK_RENDITION_IMPOSSIBLE: REPLACE_COVER,
    PreflightCode.AUDIO_UNREACHABLE: "Make the master audio's URL in Consonance reachable (or upload the master again); the next poll fetches it.",
    PreflightCode.AUDIO_FETCH_TOO_LARGE: "Upload a smaller master (a compressed MP3 or M4A) in Consonance.",
    PreflightCode.AUDIO_UNREADABLE: REPLACE_MASTER,
    PreflightCode.AUDIO_UNSUPPORTED_TYPE: REPLACE_MASTER,
    PreflightCode.AUDIO_DURATION_MISMATCH: (
        "Check which is right: if the master is the wrong file, upload the right one; if the running time in "
        "Consonance is wrong, correct the product's duration extent."
    ),
    "missing_title": "Give the product a title in Consonance.",
    "title_too_long": "Shorten the product's title in Consonance.",
}
DEFAULT_ACTION = "Correct the product in Consonance; the next poll checks it again."

INGEST_FAILED_ACTION = (
    "Make sure Megaphone can fetch the master from outside your network (a public or long-lived URL, not one behind "
    "a login, an IP allow-list or a short-lived signature) and that it is MP3, M4A/AAC or WAV; then give the product "
    "its new master URL in Consonance: the next poll pushes it and Megaphone ingests it again."
)
NOT_PLAYABLE_ACTION = (
    "Look the episode up in Megaphone (its Spotify distribution) and in Spotify for Podcasters; if Megaphone shows it "
    "published, ask Megaphone support why Spotify has not taken it. It clears by itself once Spotify plays it."
)
TAKEN_DOWN_ACTION = (
    "Read the reason; if the takedown is wrong, contact Spotify (or Megaphone) to reinstate it. It clears by itself "
    "once the episode is available again."
)


def ingest_failed(state: MegaphoneState) -> bool:
    """Megaphone failed to ingest the audio URL the integration last pushed (a new URL is a new try)."""
    return state.ingest_failed_url is not None and state.ingest_failed_url == state.audio_url


def ingest_failure_reason(state: MegaphoneState) -> str:
    """Why an ingest failed, as far as anyone can tell: Megaphone's API says only "failed", so the
    reason adds what the pre-flight read from the same URL (a file that was fine when checked points
    at the URL: Megaphone could not fetch it)."""
    url = shown_url(state.audio_url or "")
    reason = f"Megaphone could not ingest the master audio at {url} (audioFileStatus: failed)"
    checked = state.preflight.audio if state.preflight is not None else None
    if checked is not None and checked.source.url == state.audio_url and checked.measured.type is not None:
        return (
            f"{reason}; the pre-flight read the same URL as {checked.measured.describe()}"
            + (f", {checked.measured.duration_seconds:g} s" if checked.measured.duration_seconds else "")
            + f" on {checked.checked_at:%Y-%m-%d}, "
            "so the file was fine when checked: Megaphone could not fetch it, or it changed since"
        )
    return reason


def delivery_signature(entry: LedgerEntry[MegaphoneState]) -> str:
    """The parts of a Megaphone entry that decide its pre-flight and ingest problems, as a hash."""
    preflight = [f for f in entry.findings if f.flow == PREFLIGHT_FLOW]
    parts = {
        "preflight": sorted([f.code, f.message, f.blocking] for f in preflight),
        "held": entry.status == LedgerStatus.HELD and any(f.blocking for f in preflight),
        "ingest_failed": entry.state.ingest_failed_url if ingest_failed(entry.state) else None,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


class Delivery(Protocol):
    """A Megaphone entry, or the view of one, as far as playability goes."""

    @property
    def status(self) -> str: ...
    @property
    def state(self) -> PushFlags: ...


def playability_deadline(entry: Delivery, records: Sequence[AvailabilityRecord], within: timedelta) -> datetime | None:
    """When Spotify must have made the episode playable: `within` after Megaphone began publishing an
    episode the integration delivered (audio ingested, live; before that, its own problem says why)
    that Spotify has never served in a watched market; None when no such moment applies. It moves
    only when the records do, so a caller may keep it and compare it with a later clock."""
    if entry.status != LedgerStatus.DELIVERED or entry.state.draft is not False:
        return None
    megaphone = next((r for r in records if r.channel == "megaphone" and r.territory == CHANNEL_WIDE), None)
    if megaphone is None or not megaphone.live or megaphone.since is None:
        return None
    if any(r.channel == "spotify" and r.since is not None for r in records):
        return None  # Spotify served it at some point: a stop since then is a takedown, not this
    return megaphone.since + within


def playability_overdue(
    entry: LedgerEntry[MegaphoneState], records: Sequence[AvailabilityRecord], now: datetime, within: timedelta
) -> datetime | None:
    """The playability deadline (`playability_deadline`) if it has passed at `now`; None otherwise."""
    deadline = playability_deadline(entry, records, within)
    return deadline if deadline is not None and now >= deadline else None


def taken_down_places(records: Sequence[AvailabilityRecord]) -> list[str]:
    """Where a takedown the integration did not make holds: markets, or "worldwide" (Megaphone stopped)."""
    return sorted({"worldwide" if r.territory == CHANNEL_WIDE else r.territory for r in records if r.taken_down and not r.live})


def problems_of(
    entry: LedgerEntry[MegaphoneState] | None, records: Sequence[AvailabilityRecord], now: datetime, playable_within: timedelta
) -> tuple[list[DistributionProblem], list[DistributionNotice]]:
    """The episode's open problems and the notices worth telling (see the module docstring)."""
    if entry is None:
        return [], []
    problems: list[DistributionProblem] = []
    preflight = [f for f in entry.findings if f.flow == PREFLIGHT_FLOW]
    notices = [DistributionNotice(code=f.code, message=f.message) for f in preflight if not f.blocking]
    if entry.status == LedgerStatus.HELD:
        for finding in (f for f in preflight if f.blocking):
            problems.append(
                DistributionProblem(
                    kind=ProblemKind.PREFLIGHT,
                    code=finding.code,
                    reason=finding.message,
                    action=PREFLIGHT_ACTIONS.get(finding.code, DEFAULT_ACTION),
                    key=_key("preflight", finding.code, finding.message),
                    alerts=False,
                )
            )
    state = entry.state
    if ingest_failed(state):
        problems.append(
            DistributionProblem(
                kind=ProblemKind.INGEST_FAILED,
                code="megaphone_ingest_failed",
                reason=ingest_failure_reason(state),
                action=INGEST_FAILED_ACTION,
                key=_key("ingest_failed", state.ingest_failed_url or ""),
            )
        )
    deadline = playability_overdue(entry, records, now, playable_within)
    if deadline is not None:
        since = deadline - playable_within
        problems.append(
            DistributionProblem(
                kind=ProblemKind.NOT_PLAYABLE,
                code="not_playable_on_spotify",
                reason=(
                    f"published on Megaphone since {_moment(since)}, but Spotify has not played it in any watched market "
                    f"({', '.join(sorted(r.territory for r in records if r.channel == 'spotify')) or 'none checked yet'}) "
                    f"within {_hours(playable_within)}"
                ),
                action=NOT_PLAYABLE_ACTION,
                key=_key("not_playable", state.spotify_id or state.episode_id or "", _moment(since)),
                since=since,
            )
        )
    places = taken_down_places(records) if entry.status == LedgerStatus.DELIVERED else []
    if places:
        reasons = sorted({r.reason for r in records if r.taken_down and not r.live and r.reason})
        stopped = [r.stopped_at for r in records if r.taken_down and not r.live and r.stopped_at is not None]
        problems.append(
            DistributionProblem(
                kind=ProblemKind.TAKEN_DOWN,
                code="taken_down_on_spotify",
                reason=f"taken down in {', '.join(places)}" + (f": {'; '.join(reasons)}" if reasons else ""),
                action=TAKEN_DOWN_ACTION,
                key=_key("taken_down", *places),
                since=min(stopped) if stopped else None,
                alerts=False,
            )
        )
    return problems, notices


def shown_url(url: str) -> str:
    """A URL as findings and notes show it: without its query (a pre-signed URL's signature stays out)."""
    return urlsplit(url)._replace(query="", fragment="").geturl()


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


def _moment(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _hours(value: timedelta) -> str:
    hours = value.total_seconds() / 3600
    return f"{hours:g} hours" if hours != 1 else "1 hour"
