"""Every product's distribution at a glance: its pre-flight and where its delivery stands, with the open
problems. The ops CLI (`python -m infra.ops distribution [--failing]`) and the sandbox report read
the same rows, from three ledger targets (source, megaphone, distribution) read once each."""

from __future__ import annotations

from pydantic import BaseModel, Field

from functions.distribution.models import DistributionProblem
from functions.preflight.findings import FLOW as PREFLIGHT_FLOW
from functions.preflight.findings import PreflightCode
from functions.preflight.results import PreflightResult
from functions.state.ledger import LedgerEntry, SyncLedger
from functions.state.targets import DISTRIBUTION, EPISODE_SOURCE, MEGAPHONE, LedgerStatus, MegaphoneState


class PreflightOverview(BaseModel):
    verdict: str  # passed | held | held at its last check (the gate stops earlier now) | not run
    artwork: str | None = None  # accepted | rendition | held | not checked, with what was measured
    audio: str | None = None  # the master's type and duration, against Consonance's
    explicit: str | None = None
    findings: list[str] = Field(default_factory=list)  # code: message (the last pre-flight's)


class DistributionRow(BaseModel):
    product_id: int
    title: str
    preflight: PreflightOverview
    delivery: str  # the Megaphone ledger status ("not pushed" before any decision)
    delivery_reason: str = ""
    spotify_id: str | None = None
    problems: list[DistributionProblem] = Field(default_factory=list)
    link_status: str | None = None  # what the distribution feedback put on the Spotify link, while it answers for it
    note_written: bool = False

    @property
    def failing(self) -> bool:
        return bool(self.problems) or self.preflight.verdict == "held"


def distribution_rows(ledger: SyncLedger) -> list[DistributionRow]:
    """A row per product the poller knows, by product id."""
    megaphone = {entry.key.number: entry for entry in ledger.scan(MEGAPHONE)}
    feedback = {entry.key.number: entry for entry in ledger.scan(DISTRIBUTION)}
    rows: list[DistributionRow] = []
    for source in sorted(ledger.scan(EPISODE_SOURCE), key=lambda entry: entry.key.number):
        product_id = source.key.number
        episode = source.state.episode
        target = megaphone.get(product_id)
        reported = feedback.get(product_id)
        rows.append(
            DistributionRow(
                product_id=product_id,
                title=episode.title if episode is not None else "(not an episode: see the poller's findings)",
                preflight=preflight_overview(target),
                delivery=str(target.status) if target is not None else "not pushed",
                delivery_reason=target.status_reason if target is not None else "",
                spotify_id=target.state.spotify_id if target is not None else None,
                problems=list(reported.state.problems) if reported is not None else [],
                link_status=reported.state.link_status if reported is not None else None,
                note_written=reported.state.note_written if reported is not None else False,
            )
        )
    return rows


def preflight_overview(target: LedgerEntry[MegaphoneState] | None) -> PreflightOverview:
    result = target.state.preflight if target is not None else None
    if target is None or result is None:
        return PreflightOverview(verdict="not run")
    findings = [f"{f.code}: {f.message}" for f in target.findings if f.flow == PREFLIGHT_FLOW] or [
        f"{f.code}: {f.message}" for f in result.findings
    ]
    held = target.status == LedgerStatus.HELD and any(f.blocking for f in target.findings if f.flow == PREFLIGHT_FLOW)
    return PreflightOverview(
        verdict="held" if held else "passed" if not result.held else "held at its last check",
        artwork=_artwork(result),
        audio=_audio(result),
        explicit=f"{result.text.megaphone_explicit} ({result.text.explicit_source})",
        findings=findings,
    )


def _artwork(result: PreflightResult) -> str | None:
    if result.artwork is None:
        failed = [f.code for f in result.findings if f.code in (PreflightCode.ARTWORK_UNREACHABLE, PreflightCode.ARTWORK_FETCH_TOO_LARGE)]
        return f"not checked ({', '.join(failed)})" if failed else None
    verdict = result.artwork.verdict
    return f"{verdict.status.value}: {verdict.measured.describe()}"


def _audio(result: PreflightResult) -> str | None:
    if result.audio is None:
        failed = [f.code for f in result.findings if f.code in (PreflightCode.AUDIO_UNREACHABLE, PreflightCode.AUDIO_FETCH_TOO_LARGE)]
        return f"not checked ({', '.join(failed)})" if failed else None
    measured = result.audio.measured
    duration = f", {measured.duration_seconds:g} s" if measured.duration_seconds else ""
    stated = result.audio_verdict.stated_duration_seconds if result.audio_verdict else None
    return f"{measured.describe()}{duration}" + (f" (Consonance: {stated:g} s)" if stated is not None else "")
