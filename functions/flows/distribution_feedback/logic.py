"""Brings what Spotify's requirements say about an episode back to the people who fix it.

On `DistributionChanged` (the publisher after a pre-flight verdict changed, the ingest checker after an
ingest, the availability recorder after a takedown changed, the availability monitor when Spotify's
playability disagrees with what is reported), for every episode of the batch:
1. its problems are worked out afresh from the ledger and the availability table
   (`functions.distribution.problems`): the event says only that something may have changed. An event
   announced before its sender's ledger write (`ledger_version`) waits until the ledger has caught
   up: its record is retried (a `TransientError`), never judged on the state before the change;
2. Consonance is brought up to date through the one write-back service (`functions.consonance_writes`):
   the Spotify link's status (while a problem is open, or to restore the integration's own status
   once the problems this flow put there are gone) and the internal note (purpose `distribution`),
   updated in place — a whole batch is one request for links and one for notes, and nothing is
   written when Consonance already shows it;
3. each after-push problem not alerted yet is alerted once to the operations topic (takedowns are
   the availability recorder's to alert, pre-flight holds are the production team's to fix in
   Consonance); an alert is sent before its marker is saved, so a crash repeats it rather than losing it;
4. the `distribution` ledger entry keeps the problems (typed), the notices, what was alerted and what
   the link was set to, with a finding per after-push problem; its status is `problems` or `clear`.
When the problem is fixed in Consonance, the next poll re-runs the pre-flight or the push, the sender
announces the change, and this flow clears it everywhere: the problem leaves the entry, the note says
there are none, the link shows the integration's own status again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from functions.alerts import Alert, AlertPublisher
from functions.consonance_writes import ConsonanceWriteback, InternalNote, LinkStatus
from functions.distribution.consonance_view import NOTE_PURPOSE, link_status, note_markdown
from functions.distribution.models import DistributionNotice, DistributionProblem, ProblemKind
from functions.distribution.problems import problems_of, taken_down_places
from functions.domain.errors import TransientError
from functions.domain.events import DistributionChanged
from functions.domain.models import Episode, Finding
from functions.flow_names import FlowName
from functions.state.availability import AvailabilityStore
from functions.state.keys import EntityKey, episode_key
from functions.state.ledger import LedgerEntry, SyncLedger, new_entry
from functions.state.targets import (
    DISTRIBUTION,
    EPISODE_SOURCE,
    MEGAPHONE,
    DistributionState,
    DistributionStatus,
    EpisodeSourceState,
    MegaphoneState,
)

FLOW = FlowName.DISTRIBUTION_FEEDBACK
OPS_COMMAND = "python -m infra.ops distribution --failing"
FINDING_KINDS = frozenset({ProblemKind.INGEST_FAILED, ProblemKind.NOT_PLAYABLE, ProblemKind.TAKEN_DOWN})


class LedgerNotCaughtUp(TransientError):
    """The event was announced before its sender's ledger write, which is not visible yet."""

    code = "ledger_not_caught_up"


@dataclass
class FeedbackDeps:
    ledger: SyncLedger
    availability: AvailabilityStore
    writeback: ConsonanceWriteback
    alerts: AlertPublisher
    spotify_url_template: str
    playable_within: timedelta


@dataclass
class Assessment:
    """One episode's problems and what Consonance and the operators should be told about them."""

    product_id: int
    key: EntityKey
    entry: LedgerEntry[DistributionState]
    problems: list[DistributionProblem]
    notices: list[DistributionNotice]
    link: LinkStatus | None = None  # the link write, when one is due
    link_owned: str | None = None  # the status this flow answers for afterwards
    note: InternalNote | None = None
    new_alerts: list[DistributionProblem] = field(default_factory=list)
    megaphone: LedgerEntry[MegaphoneState] | None = None
    episode: Episode | None = None


def give_feedback(events: list[DistributionChanged], deps: FeedbackDeps, now: datetime) -> dict[int, Exception | None]:
    """Outcome per index in `events`: None when done (or nothing to do), else the error."""
    outcomes: dict[int, Exception | None] = {index: None for index in range(len(events))}
    wanted: dict[int, list[int]] = {}
    for index, event in enumerate(events):
        wanted.setdefault(event.product_id, []).append(index)
    keys = [episode_key(product_id) for product_id in wanted]
    megaphone = deps.ledger.get_many(keys, MEGAPHONE)
    sources = deps.ledger.get_many(keys, EPISODE_SOURCE)
    entries = deps.ledger.get_many(keys, DISTRIBUTION)
    assessments: list[Assessment] = []
    for product_id, indexes in wanted.items():
        key = episode_key(product_id)
        behind = _not_caught_up([events[i] for i in indexes], megaphone.get(key))
        if behind is not None:
            for index in indexes:
                outcomes[index] = behind
            continue
        assessments.append(_assess(product_id, key, megaphone.get(key), sources.get(key), entries.get(key), deps, now))
    failed = _write_to_consonance(assessments, deps)
    for assessment in assessments:
        error = failed.get(assessment.product_id)
        if error is None:
            _settle(assessment, deps, now)
        for index in wanted[assessment.product_id]:
            outcomes[index] = error
    return outcomes


def _not_caught_up(events: list[DistributionChanged], entry: LedgerEntry[MegaphoneState] | None) -> LedgerNotCaughtUp | None:
    expected = max((event.ledger_version for event in events if event.ledger_version is not None), default=None)
    version = entry.version if entry is not None else 0
    if expected is None or version >= expected:
        return None
    return LedgerNotCaughtUp(f"the Megaphone ledger entry is at version {version}; the change announced is at {expected}")


def _assess(
    product_id: int,
    key: EntityKey,
    megaphone: LedgerEntry[MegaphoneState] | None,
    source: LedgerEntry[EpisodeSourceState] | None,
    entry: LedgerEntry[DistributionState] | None,
    deps: FeedbackDeps,
    now: datetime,
) -> Assessment:
    records = deps.availability.get_for(key) if megaphone is not None and megaphone.state.on_megaphone else []
    problems, notices = problems_of(megaphone, records, now, deps.playable_within)
    distribution = entry or new_entry(key, DISTRIBUTION)
    episode = source.state.episode if source is not None else None
    assessment = Assessment(product_id, key, distribution, problems, notices, megaphone=megaphone, episode=episode)
    if megaphone is not None and megaphone.state.spotify_id:
        _plan_link(assessment, taken_down_places(records), deps)
    if episode is not None and episode.work_id is not None and (problems or notices or distribution.state.note_written):
        markdown = note_markdown(episode, problems, notices, megaphone)
        assessment.note = InternalNote(key=key, purpose=NOTE_PURPOSE, work_id=episode.work_id, markdown=markdown, product_ids=(product_id,))
    alerted = set(distribution.state.alerted)
    assessment.new_alerts = [problem for problem in problems if problem.alerts and problem.key not in alerted]
    return assessment


def _plan_link(assessment: Assessment, taken_down: list[str], deps: FeedbackDeps) -> None:
    """The link shows a problem while one is open; once they are gone, the integration's own status
    comes back, but only over a status this flow put there (never over another flow's)."""
    megaphone = assessment.megaphone
    assert megaphone is not None and megaphone.state.spotify_id
    wanted = link_status(assessment.problems, taken_down, megaphone)
    shown = deps.writeback.shown_link_status(assessment.product_id)
    ours = assessment.entry.state.link_status
    assessment.link_owned = wanted if assessment.problems else None
    if wanted is None or wanted == shown or not (assessment.problems or (ours is not None and shown == ours)):
        return
    url = deps.spotify_url_template.format(spotify_id=megaphone.state.spotify_id)
    assessment.link = LinkStatus(product_id=assessment.product_id, url=url, status=wanted)


def _write_to_consonance(assessments: list[Assessment], deps: FeedbackDeps) -> dict[int, Exception]:
    """One request for the batch's links and one for its notes; the error per product that failed."""
    failed: dict[int, Exception] = {}
    links = [a for a in assessments if a.link is not None]
    for assessment, error in zip(links, deps.writeback.write_spotify_links([a.link for a in links if a.link]), strict=True):
        if error is not None:
            failed[assessment.product_id] = error
    notes = [a for a in assessments if a.note is not None and a.product_id not in failed]
    for assessment, error in zip(notes, deps.writeback.write_internal_notes([a.note for a in notes if a.note]), strict=True):
        if error is not None:
            failed[assessment.product_id] = error
    return failed


def _settle(assessment: Assessment, deps: FeedbackDeps, now: datetime) -> None:
    """Alert what is new, then keep what was concluded and told (only when something changed)."""
    entry = assessment.entry
    state = entry.state
    if entry.version == 0 and not (assessment.problems or assessment.notices or assessment.note or assessment.link):
        return  # never had anything to tell: no entry
    before = entry.model_dump_json(exclude={"history", "updated_at"})
    if assessment.new_alerts:
        deps.alerts.publish(_alert(assessment))
        entry.record("alerted", ", ".join(problem.code for problem in assessment.new_alerts))
    open_keys = {problem.key for problem in assessment.problems}
    state.alerted = [key for key in state.alerted if key in open_keys] + [problem.key for problem in assessment.new_alerts]
    state.problems, state.notices = assessment.problems, assessment.notices
    state.link_status = assessment.link_owned
    state.note_written = state.note_written or assessment.note is not None
    entry.findings = [_finding(entry.entity, problem) for problem in assessment.problems if problem.kind in FINDING_KINDS]
    codes = ", ".join(problem.code for problem in assessment.problems)
    entry.set_status(DistributionStatus.PROBLEMS if assessment.problems else DistributionStatus.CLEAR, codes or "no problems")
    if assessment.link is not None:
        entry.record("link_written", assessment.link.status)
    if entry.version == 0 or entry.model_dump_json(exclude={"history", "updated_at"}) != before:
        state.checked_at = now
        deps.ledger.save(entry)


def _finding(entity: str, problem: DistributionProblem) -> Finding:
    return Finding(code=problem.code, entity=entity, message=f"{problem.reason}. What to do: {problem.action}", flow=FLOW)


def _alert(assessment: Assessment) -> Alert:
    episode, megaphone = assessment.episode, assessment.megaphone
    title = episode.title if episode is not None else "(title unknown)"
    isbn = f" (ISBN {episode.isbn13})" if episode is not None and episode.isbn13 else ""
    lines = [f'Consonance product {assessment.product_id} "{title}"{isbn} has a distribution problem.', ""]
    for problem in assessment.new_alerts:
        lines += [f"- {problem.code}: {problem.reason}.", f"  What to do: {problem.action}"]
    others = [problem for problem in assessment.problems if problem not in assessment.new_alerts]
    if others:
        lines += ["", "Also open: " + ", ".join(problem.code for problem in others)]
    if megaphone is not None and megaphone.state.episode_id:
        lines += ["", f"Megaphone episode: {megaphone.state.episode_id} (podcast {megaphone.state.podcast_id or '?'})"]
    if assessment.note is not None:
        lines.append("Consonance: the product's distribution note has the details" + (" and its Spotify link shows the problem." if assessment.link_owned else "."))
    lines += ["", f"Details: {OPS_COMMAND}"]
    codes = ", ".join(problem.code for problem in assessment.new_alerts)
    return Alert(
        subject=f"Distribution problem: {title} ({assessment.product_id}) - {codes}",
        message="\n".join(lines),
        attributes={"kind": "distribution", "flow": FLOW, "product_id": str(assessment.product_id)},
    )
