"""What Consonance shows of an episode's distribution: the status on the product's Spotify web link,
and an internal note (purpose `distribution`) with the details, both updated in place.

Link status, in order (the first that applies):
| problem | status |
| --- | --- |
| taken down | "taken down in AU, NZ" / "taken down worldwide" (the availability recorder's wording) |
| Megaphone ingest failed | "audio ingest failed on Megaphone" |
| never playable | "not playable on Spotify" |
| pre-flight hold | "update held: see the distribution note" (what is live stays live) |
| none | the integration's own status ("live", "draft", "withdrawn") |
A link exists only once Spotify knows the episode (a Spotify id); before that the note says it all.

The note is Markdown, deterministic (no "checked at" times, so an unchanged situation writes
nothing): the problems with their reason and what to do, what the integration fixed by itself, what
the pre-flight measured, and where the episode stands. Once every problem is gone it says so, and
stays until the next problem (a note is only started for an episode that had something to tell).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from functions.distribution.models import DistributionNotice, DistributionProblem, ProblemKind
from functions.domain.models import Episode
from functions.preflight.results import ArtworkStatus, PreflightResult
from functions.state.ledger import LedgerEntry
from functions.state.targets import LedgerStatus, MegaphoneState

NOTE_PURPOSE = "distribution"
TAKEN_DOWN_PREFIX = "taken down"
TERRITORIES_LISTED = 12  # more than this and the link status gives a count (Consonance shows it in a list)
INGEST_FAILED_STATUS = "audio ingest failed on Megaphone"
NOT_PLAYABLE_STATUS = "not playable on Spotify"
HELD_STATUS = "update held: see the distribution note"
OWN_STATUSES = {LedgerStatus.DELIVERED: "live", LedgerStatus.DRAFT: "draft", LedgerStatus.WITHDRAWN: "withdrawn"}
PROBLEM_TITLES = {
    ProblemKind.PREFLIGHT: "Held before the push",
    ProblemKind.INGEST_FAILED: "Megaphone could not ingest the audio",
    ProblemKind.NOT_PLAYABLE: "Not playable on Spotify",
    ProblemKind.TAKEN_DOWN: "Taken down",
}


def takedown_status(places: Iterable[str]) -> str:
    ordered = sorted(set(places))
    if "worldwide" in ordered:
        return f"{TAKEN_DOWN_PREFIX} worldwide"
    if len(ordered) > TERRITORIES_LISTED:
        return f"{TAKEN_DOWN_PREFIX} in {len(ordered)} markets ({', '.join(ordered[:TERRITORIES_LISTED])}, ...)"
    return f"{TAKEN_DOWN_PREFIX} in {', '.join(ordered)}"


def link_status(problems: Sequence[DistributionProblem], taken_down: Sequence[str], entry: LedgerEntry[MegaphoneState]) -> str | None:
    """The status the Spotify link should show (see the module docstring); None: nothing to show."""
    kinds = {problem.kind for problem in problems}
    if ProblemKind.TAKEN_DOWN in kinds:
        return takedown_status(taken_down)
    if ProblemKind.INGEST_FAILED in kinds:
        return INGEST_FAILED_STATUS
    if ProblemKind.NOT_PLAYABLE in kinds:
        return NOT_PLAYABLE_STATUS
    if ProblemKind.PREFLIGHT in kinds:
        return HELD_STATUS
    return own_link_status(entry)


def own_link_status(entry: LedgerEntry[MegaphoneState]) -> str | None:
    """The integration's own status for the link: what the write-back flow writes when all is well."""
    own = OWN_STATUSES.get(LedgerStatus(entry.status))
    if own is not None:
        return own
    return "live" if entry.state.live else None


def note_markdown(
    episode: Episode,
    problems: Sequence[DistributionProblem],
    notices: Sequence[DistributionNotice],
    entry: LedgerEntry[MegaphoneState] | None,
) -> str:
    """The internal note's text (see the module docstring)."""
    isbn = f", ISBN {episode.isbn13}" if episode.isbn13 else ""
    lines = [f"**Spotify distribution: {episode.title}** (Consonance product {episode.product_id}{isbn})", ""]
    if problems:
        lines.append(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} to fix:")
        lines.append("")
        for number, problem in enumerate(problems, start=1):
            since = f" (since {problem.since:%Y-%m-%d %H:%M} UTC)" if problem.since else ""
            lines.append(f"{number}. **{PROBLEM_TITLES[problem.kind]}** ({problem.code}){since}: {problem.reason}.")
            lines.append(f"   What to do: {problem.action}")
    else:
        lines.append("No distribution problems: everything Spotify and Megaphone require is in order.")
    if notices:
        lines += ["", "Fixed by the integration (nothing to do, but worth knowing):"]
        lines += [f"- {notice.message} ({notice.code})" for notice in notices]
    if entry is not None and entry.state.preflight is not None:
        lines += ["", "Pre-flight: " + preflight_summary(entry.state.preflight)]
    lines += ["", "Delivery: " + delivery_summary(entry)]
    return "\n".join(lines)


def preflight_summary(result: PreflightResult) -> str:
    """What the pre-flight measured, in one line."""
    parts: list[str] = []
    if result.artwork is not None:
        verdict = result.artwork.verdict
        shown = {ArtworkStatus.ACCEPTED: "accepted", ArtworkStatus.RENDITION: "a compliant rendition is pushed", ArtworkStatus.HELD: "held"}
        parts.append(f"cover {verdict.measured.describe()}, {shown[verdict.status]}")
    if result.audio is not None:
        measured = result.audio.measured
        duration = f", {measured.duration_seconds:g} s" if measured.duration_seconds else ""
        stated = result.audio_verdict.stated_duration_seconds if result.audio_verdict else None
        against = f" (Consonance states {stated:g} s)" if stated is not None else " (Consonance states no running time)"
        parts.append(f"master {measured.describe()}{duration}{against}")
    text = result.text
    parts.append(f"explicit: {text.megaphone_explicit} ({'from Consonance' if text.explicit_source == 'consonance' else 'setting'})")
    return "; ".join(parts) + "."


def delivery_summary(entry: LedgerEntry[MegaphoneState] | None) -> str:
    if entry is None or not entry.state.on_megaphone:
        status = entry.status if entry is not None else "seen"
        return f"not on Megaphone yet (integration status: {status})."
    state = entry.state
    where = f"Megaphone episode {state.episode_id} (podcast {state.podcast_id})"
    spotify = f", Spotify episode {state.spotify_id}" if state.spotify_id else ", not on Spotify yet"
    return f"{where}{spotify}; integration status: {entry.status}."
