"""Publishes one episode to Megaphone when the gate allows, exactly once in effect.

Three steps, so that the dry run (`infra.ops plan`) runs the very code the publisher runs:
- `evaluate` (read only): the latest source snapshot from the ledger (the event's copy on first
  sight), its series, and the gate's decision (live, draft, held, withdrawn);
- `decide` (pure): from that and what the ledger says was pushed, the action — create, update,
  publish, withdraw, hold or nothing — with the Megaphone fields it would push;
- `apply`: carries the action out. Equal field hashes write nothing. A create is preceded by an
  intent mark in the ledger; a retry after an ambiguous create (timeout, 5xx) finds the intent and
  looks the episode up by `externalId` before creating, so no episode is ever doubled. Updates (PUT)
  are idempotent. New or changed audio leaves the entry `awaiting_ingest`; the ingest follow-up
  checks it once the expected ingest time has passed (`deps.ingest_checks`), the ingest checker's
  sweep otherwise, without holding this Lambda. An episode that becomes live with its audio already
  ingested is announced (`EpisodeDelivered`) here.

The distribution pre-flight (`deps.preflight`, `functions.flows.preflight_gate`) runs inside the gate;
the parts that touch this module are kept apart below ("distribution pre-flight"): its result is kept
on the entry (`state.preflight`, passed back so unchanged files are not fetched again), the fields
pushed are the ones it lets go (`checked_fields`: a rendition's stable reference is hashed, the URL
Megaphone fetches is made at the push), and a change in what the pre-flight or an ingest says about
the episode is announced (`DistributionChanged`) for the distribution feedback flow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from functions.connectors.errors import NotFound
from functions.connectors.megaphone import EpisodeFields, MegaphoneClient, MegaphoneEpisode
from functions.domain.errors import InvalidRecord
from functions.distribution.problems import delivery_signature
from functions.domain.events import DistributionChanged, EpisodeDelivered
from functions.domain.models import Episode, Finding
from functions.domain.series_rules import series_conflicts
from functions.event_bus import EventBus
from functions.flows.episode_publisher.gate import GateDecision, Placement, PreflightCheck, RightsCheck, decide
from functions.flows.megaphone_projection import desired_fields, fields_hash
from functions.flows.publishing_config import PublishingConfig
from functions.state.keys import EntityKey, episode_key, licence_key, series_key
from functions.state.ledger import LedgerEntry, SyncLedger
from functions.state.targets import EPISODE_SOURCE, LICENCE, MEGAPHONE, LedgerStatus, MegaphoneState, TargetSpec

if TYPE_CHECKING:
    from functions.flows.episode_publisher.ingest_checks import IngestChecks
    from functions.flows.preflight_gate import PreflightGate

TAKEDOWN_EVERYWHERE = "worldwide"


@dataclass
class PublisherDeps:
    ledger: SyncLedger
    megaphone: MegaphoneClient
    bus: EventBus
    config: PublishingConfig
    rights_check: RightsCheck
    preflight: PreflightGate | None = None  # the distribution pre-flight (the deployed publisher always has it)
    ingest_checks: IngestChecks | None = None  # the prompt ingest checks of the pushes (ingest_checks.py)


class ActionKind(StrEnum):
    CREATE = "create"  # not on Megaphone yet
    UPDATE = "update"  # on Megaphone; fields changed, stays as live/draft as it was
    PUBLISH = "publish"  # on Megaphone as a draft (or withdrawn); goes live now
    WITHDRAW = "withdraw"  # live; back to draft
    HOLD = "hold"  # approved but held (gate), or must not be live but is not
    NONE = "none"  # nothing to push


@dataclass(frozen=True)
class PublishAction:
    kind: ActionKind
    decision: GateDecision
    fields: EpisodeFields | None = None  # what would be pushed (create/update/publish/withdraw)
    status: LedgerStatus | None = None  # the status when nothing is pushed
    changed_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class PublishOutcome:
    product_id: int
    action: str  # created | updated | adopted | unchanged | withdrawn | held | not_ready
    placement: Placement
    reason: str
    findings: tuple[Finding, ...] = ()


@dataclass
class Evaluation:
    """What the gate says about an episode now, and the ledger entry it would change."""

    episode: Episode
    decision: GateDecision
    target: LedgerEntry[MegaphoneState]
    source_hash: str | None = None
    findings: list[Finding] = field(default_factory=list)


def ledger_reads_for(product_ids: list[int]) -> list[tuple[EntityKey, TargetSpec[Any]]]:
    """The entries `evaluate` reads for these episodes (read ahead for a whole batch): the source, the
    Megaphone target and, which the licence gate reads for a branded asset, its licence (absent for
    the others: the read-ahead then answers "none" without a call)."""
    return [
        pair
        for product_id in product_ids
        for pair in ((episode_key(product_id), EPISODE_SOURCE), (episode_key(product_id), MEGAPHONE), (licence_key(product_id), LICENCE))
    ]


def evaluate(
    product_id: int,
    event_episode: Episode | None,
    ledger: SyncLedger,
    config: PublishingConfig,
    today: date,
    rights_check: RightsCheck,
    preflight: PreflightGate | None = None,
) -> Evaluation:
    """The read-only half of publishing: used by the publisher and by the ops CLI's dry run."""
    key = episode_key(product_id)
    source = ledger.get(key, EPISODE_SOURCE)
    episode = source.state.episode if source is not None and source.state.episode else event_episode
    if episode is None:
        raise InvalidRecord(f"product {product_id} has no source snapshot in the ledger and the event carries none")
    target = ledger.get_or_new(key, MEGAPHONE)
    decision = decide(
        episode,
        today=today,
        settings=config,
        source_findings=list(source.findings) if source else [],
        series_findings=_series_findings(episode, ledger, config),
        rights_check=rights_check,
        preflight=_preflight_check(preflight, target),
    )
    return Evaluation(episode=episode, decision=respect_takedown(decision, target), target=target, source_hash=source.source_hash if source else None)


def respect_takedown(decision: GateDecision, target: LedgerEntry[MegaphoneState]) -> GateDecision:
    """An episode someone took down on the Megaphone/Spotify side (recorded by the availability
    recorder) is never put back live by this integration: it stays as it is until it is reinstated."""
    if TAKEDOWN_EVERYWHERE in target.state.takedown_places and decision.placement in (Placement.LIVE, Placement.DRAFT):
        return GateDecision(
            placement=Placement.HOLD,
            reason="taken down on the Spotify side; not republished until reinstated",
            findings=decision.findings,
        )
    return decision


def decide_action(evaluation: Evaluation, config: PublishingConfig, preflight: PreflightGate | None = None) -> PublishAction:
    """What publishing would do now, from the gate's decision and what was last pushed. Pure."""
    decision, state, target = evaluation.decision, evaluation.target.state, evaluation.target
    placement = decision.placement
    if placement in (Placement.NOT_READY, Placement.WITHDRAW):
        if state.live:
            return PublishAction(ActionKind.WITHDRAW, decision, fields=_fields(evaluation, True, config, preflight))
        status = LedgerStatus.SEEN if placement is Placement.NOT_READY else LedgerStatus.HELD
        return PublishAction(ActionKind.HOLD if placement is Placement.WITHDRAW else ActionKind.NONE, decision, status=status)
    if placement is Placement.HOLD:
        return PublishAction(ActionKind.HOLD, decision, status=LedgerStatus.HELD)
    fields = _fields(evaluation, placement is Placement.DRAFT, config, preflight)
    if not state.on_megaphone:
        return PublishAction(ActionKind.CREATE, decision, fields=fields, changed_fields=tuple(sorted(fields.wire())))
    if target.pushed_hash == fields_hash(fields):
        settled: LedgerStatus | None = None
        if target.status in (LedgerStatus.HELD, LedgerStatus.SEEN, LedgerStatus.WITHDRAWN):
            settled = LedgerStatus.DRAFT if fields.draft else LedgerStatus.DELIVERED
        return PublishAction(ActionKind.NONE, decision, status=settled)
    previous = state.pushed_fields or {}
    changed = tuple(sorted(k for k, v in fields.wire().items() if previous.get(k) != v)) if previous else ("(unknown: pushed before field snapshots)",)
    kind = ActionKind.PUBLISH if (not fields.draft and not state.live) else ActionKind.UPDATE
    return PublishAction(kind, decision, fields=fields, changed_fields=changed)


def publish_episode(product_id: int, event_episode: Episode | None, deps: PublisherDeps, today: date) -> PublishOutcome:
    evaluation = evaluate(product_id, event_episode, deps.ledger, deps.config, today, deps.rights_check, deps.preflight)
    action = decide_action(evaluation, deps.config, deps.preflight)
    target = evaluation.target
    before = target.model_dump_json()
    signature = delivery_signature(target)
    target.findings = list(action.decision.findings)
    target.state.release_date = evaluation.episode.release_date
    target.state.evaluated_source_hash = evaluation.source_hash
    _keep_preflight(target, action.decision)
    done = _apply(action, evaluation.episode, target, deps)
    if target.model_dump_json() != before:
        _announce_distribution(target, signature, deps)
        deps.ledger.save(target)
    decision = action.decision
    return PublishOutcome(product_id=product_id, action=done, placement=decision.placement, reason=decision.reason, findings=tuple(decision.findings))


def _series_findings(episode: Episode, ledger: SyncLedger, config: PublishingConfig) -> list[Finding]:
    if episode.show is None:
        return []
    siblings = {e.entity: e.state.episode for e in ledger.by_series(series_key(episode.show.series_id), EPISODE_SOURCE)}
    siblings[str(episode_key(episode.product_id))] = episode
    conflicts = series_conflicts([e for e in siblings.values() if e is not None], config.mapping)
    return conflicts.get(episode.product_id, [])


def _apply(action: PublishAction, episode: Episode, target: LedgerEntry[MegaphoneState], deps: PublisherDeps) -> str:
    reason = action.decision.reason
    if action.kind is ActionKind.WITHDRAW:
        assert action.fields is not None
        if not target.state.withdraw_pending:  # recorded first: the monitor must not take our own
            target.state.withdraw_pending = True  # withdrawal for a takedown should we die mid-way
            target.record("withdraw_intent", reason)
            deps.ledger.save(target)
        _push(action.fields, episode, target, deps)
        target.state.withdraw_pending = False
        target.set_status(LedgerStatus.WITHDRAWN, reason)
        _announce(target, episode, deps, status="withdrawn")
        return "withdrawn"
    if action.fields is None:  # hold / none: nothing pushed
        if action.status is not None:
            target.set_status(action.status, reason)
        if action.kind is ActionKind.NONE and action.decision.placement is Placement.NOT_READY:
            return "not_ready"
        return "held" if action.kind is ActionKind.HOLD else "unchanged"
    done, remote = _push(action.fields, episode, target, deps)
    # a failed ingest is not delivered by an update that leaves the audio alone: Megaphone is asked again
    audio_pending = target.state.audio_pending or target.status in (LedgerStatus.AWAITING_INGEST, LedgerStatus.FAILED)
    target.state.audio_pending = False  # consumed: the status says what the audio still needs
    if audio_pending and not remote.ingested:
        target.set_status(LedgerStatus.AWAITING_INGEST, "Megaphone is ingesting the audio")
        if deps.ingest_checks is not None:
            deps.ingest_checks.request(episode.product_id)
    elif action.fields.draft:
        target.set_status(LedgerStatus.DRAFT, reason)
    else:
        if target.status != LedgerStatus.DELIVERED:
            _announce(target, episode, deps, status="live", remote=remote)
        target.set_status(LedgerStatus.DELIVERED, reason)
    return done


def _push(fields: EpisodeFields, episode: Episode, target: LedgerEntry[MegaphoneState], deps: PublisherDeps) -> tuple[str, MegaphoneEpisode]:
    assert episode.show is not None
    podcast_id = deps.config.podcast_for(episode.show.series_id)
    assert podcast_id is not None  # the gate checked the mapping
    megaphone, state = deps.megaphone, target.state
    wire = _sendable(fields, deps)
    remote: MegaphoneEpisode | None = None
    done = "updated"
    if state.on_megaphone:
        assert state.podcast_id is not None and state.episode_id is not None
        try:
            remote = megaphone.update_episode(state.podcast_id, state.episode_id, wire)
        except NotFound:
            target.record("missing_on_megaphone", f"episode {state.episode_id} is gone; re-creating")
            state.podcast_id = state.episode_id = state.spotify_id = None
    if remote is None and target.pending_create:
        found = megaphone.find_by_external_id(podcast_id, fields.external_id)
        if found is not None:
            remote, done = megaphone.update_episode(podcast_id, found.id, wire), "adopted"
    if remote is None:
        if not target.pending_create:
            target.pending_create = fields_hash(fields)
            target.record("create_intent", f"podcast {podcast_id}")
            deps.ledger.save(target)
        remote, done = megaphone.create_episode(podcast_id, wire), "created"
    audio_changed = state.audio_url != fields.background_audio_file_url
    state.podcast_id, state.episode_id = podcast_id, remote.id
    if remote.spotify_identifier:
        state.spotify_id = remote.spotify_identifier
    target.pending_create = None
    target.pushed_hash = fields_hash(fields)
    state.draft, state.audio_url, state.pushed_fields = fields.draft, fields.background_audio_file_url, fields.wire()
    state.audio_pending = bool(audio_changed and fields.background_audio_file_url)
    target.record(done, f"draft={fields.draft} hash={target.pushed_hash}")
    return done, remote


def _announce(
    target: LedgerEntry[MegaphoneState], episode: Episode, deps: PublisherDeps, *, status: str, remote: MegaphoneEpisode | None = None
) -> None:
    """Tell the write-back flow; only once Spotify knows the episode (it has a Spotify id)."""
    state = target.state
    spotify_id = (remote.spotify_identifier if remote else None) or state.spotify_id
    if not spotify_id or state.episode_id is None or state.podcast_id is None:
        return
    deps.bus.publish(
        [
            EpisodeDelivered(
                product_id=episode.product_id,
                megaphone_episode_id=state.episode_id,
                podcast_id=state.podcast_id,
                spotify_id=spotify_id,
                status=status,
                content_hash=target.pushed_hash or "",
            )
        ]
    )


# ------------------------------------------------------------------------------- distribution pre-flight
def _preflight_check(preflight: PreflightGate | None, target: LedgerEntry[MegaphoneState]) -> PreflightCheck | None:
    """The gate's pre-flight step, given the result the ledger keeps (unchanged files are not fetched)."""
    if preflight is None:
        return None
    return lambda episode: preflight.check(episode, target.state.preflight)


def _fields(evaluation: Evaluation, draft: bool, config: PublishingConfig, preflight: PreflightGate | None) -> EpisodeFields:
    """The fields to push: the projection, as the pre-flight lets it go (this decision's result, else
    the one last kept, e.g. for a withdrawal the gate decided before the pre-flight ran)."""
    fields = desired_fields(evaluation.episode, draft=draft, settings=config)
    if preflight is None:
        return fields
    return preflight.projection.checked(fields, evaluation.decision.preflight or evaluation.target.state.preflight)


def _sendable(fields: EpisodeFields, deps: PublisherDeps) -> EpisodeFields:
    """The fields as sent: a rendition's reference becomes the URL Megaphone fetches (minted now)."""
    return deps.preflight.projection.sendable(fields) if deps.preflight is not None else fields


def _keep_preflight(target: LedgerEntry[MegaphoneState], decision: GateDecision) -> None:
    """The decision's pre-flight result replaces the kept one (a decision that did not get that far
    keeps the last one: its media checks stay reusable)."""
    if decision.preflight is not None:
        target.state.preflight = decision.preflight


def _announce_distribution(target: LedgerEntry[MegaphoneState], before: str, deps: PublisherDeps) -> None:
    """Tell the distribution feedback flow when what the pre-flight or an ingest says about the episode
    changed; sent before the ledger write it announces (`ledger_version`), so a crash repeats it."""
    if delivery_signature(target) == before:
        return
    deps.bus.publish(
        [DistributionChanged(product_id=target.key.number, reason="pre-flight or ingest state changed", ledger_version=target.version + 1)]
    )
