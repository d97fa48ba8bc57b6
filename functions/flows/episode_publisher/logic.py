"""Publishes one episode to Megaphone when the gate allows, exactly once in effect.

- Reads the latest source snapshot from the ledger (falls back to the event's copy on first sight),
  checks its series, and asks the gate where it belongs (live, draft, held, withdrawn).
- Projects it onto Megaphone's fields; if their hash equals what was last pushed, nothing is written.
- A create is preceded by an intent mark in the ledger; a retry after an ambiguous create (timeout,
  5xx) finds the intent and looks the episode up by `externalId` before creating, so no episode is
  ever doubled. Updates (PUT) are idempotent.
- New or changed audio leaves the entry `awaiting_ingest`; the ingest checker finishes it without
  holding this Lambda. An episode that becomes live with its audio already ingested is announced
  (`EpisodeDelivered`) here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from functions.connectors.errors import NotFound
from functions.connectors.megaphone import EpisodeFields, MegaphoneClient, MegaphoneEpisode
from functions.domain.errors import InvalidRecord
from functions.domain.events import EpisodeDelivered
from functions.domain.models import Episode, Finding
from functions.domain.series_rules import series_conflicts
from functions.event_bus import EventBus
from functions.flows.episode_publisher.gate import GateDecision, Placement, RightsCheck, decide, sales_territories_check
from functions.flows.ledger_keys import SOURCE, TARGET, episode_key, series_key
from functions.flows.megaphone_projection import desired_fields, fields_hash
from functions.settings import Settings
from functions.state.ledger import LedgerEntry, LedgerStatus, SyncLedger


@dataclass
class PublisherDeps:
    ledger: SyncLedger
    megaphone: MegaphoneClient
    bus: EventBus
    settings: Settings
    rights_check: RightsCheck = sales_territories_check


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
    target: LedgerEntry


def evaluate(product_id: int, event_episode: Episode | None, ledger: SyncLedger, settings: Settings, today: date,
             rights_check: RightsCheck = sales_territories_check) -> Evaluation:
    """The read-only half of publishing: used by the publisher and by the ops CLI's dry run."""
    entity = episode_key(product_id)
    source = ledger.get(entity, SOURCE)
    episode = source.episode() if source is not None and source.snapshot else event_episode
    if episode is None:
        raise InvalidRecord(f"product {product_id} has no source snapshot in the ledger and the event carries none")
    decision = decide(
        episode,
        today=today,
        settings=settings,
        source_findings=list(source.findings) if source else [],
        series_findings=_series_findings(episode, ledger, settings),
        rights_check=rights_check,
    )
    return Evaluation(episode=episode, decision=decision, target=ledger.get_or_new(entity, TARGET))


def publish_episode(product_id: int, event_episode: Episode | None, deps: PublisherDeps, today: date) -> PublishOutcome:
    evaluation = evaluate(product_id, event_episode, deps.ledger, deps.settings, today, deps.rights_check)
    episode, decision, target = evaluation.episode, evaluation.decision, evaluation.target
    decision = respect_takedown(decision, target)
    before = target.model_dump_json()
    target.findings = list(decision.findings)
    target.attributes["release_date"] = episode.release_date.isoformat() if episode.release_date else None
    action = _apply(decision, episode, target, deps)
    if target.model_dump_json() != before:
        deps.ledger.save(target)
    return PublishOutcome(
        product_id=product_id, action=action, placement=decision.placement, reason=decision.reason, findings=tuple(decision.findings)
    )


def respect_takedown(decision: GateDecision, target: LedgerEntry) -> GateDecision:
    """An episode someone took down on the Megaphone/Spotify side (recorded by the availability
    recorder) is never put back live by this integration: it stays as it is until it is reinstated."""
    places = target.attributes.get("takedown_alerted") or []
    if "worldwide" in places and decision.placement in (Placement.LIVE, Placement.DRAFT):
        return GateDecision(
            placement=Placement.HOLD,
            reason="taken down on the Spotify side; not republished until reinstated",
            findings=decision.findings,
        )
    return decision


def _series_findings(episode: Episode, ledger: SyncLedger, settings: Settings) -> list[Finding]:
    if episode.show is None:
        return []
    siblings = {e.entity: e.episode() for e in ledger.by_series(series_key(episode.show.series_id), SOURCE)}
    siblings[episode_key(episode.product_id)] = episode
    conflicts = series_conflicts([e for e in siblings.values() if e is not None], settings.mapping)
    return conflicts.get(episode.product_id, [])


def _apply(decision: GateDecision, episode: Episode, target: LedgerEntry, deps: PublisherDeps) -> str:
    on_megaphone = "episode_id" in target.target_ids
    is_live = on_megaphone and target.attributes.get("draft") is False
    placement = decision.placement
    if placement in (Placement.NOT_READY, Placement.WITHDRAW):
        if is_live:
            _push(desired_fields(episode, draft=True, settings=deps.settings), episode, target, deps)
            target.set_status(LedgerStatus.WITHDRAWN, decision.reason)
            _announce(target, episode, deps, status="withdrawn")
            return "withdrawn"
        target.set_status(LedgerStatus.SEEN if placement is Placement.NOT_READY else LedgerStatus.HELD, decision.reason)
        return "not_ready" if placement is Placement.NOT_READY else "held"
    if placement is Placement.HOLD:
        target.set_status(LedgerStatus.HELD, decision.reason)
        return "held"
    fields = desired_fields(episode, draft=placement is Placement.DRAFT, settings=deps.settings)
    if on_megaphone and target.pushed_hash == fields_hash(fields):
        if target.status in (LedgerStatus.HELD, LedgerStatus.SEEN, LedgerStatus.WITHDRAWN):
            target.set_status(LedgerStatus.DRAFT if fields.draft else LedgerStatus.DELIVERED, decision.reason)
        return "unchanged"
    action, remote = _push(fields, episode, target, deps)
    audio_pending = target.attributes.pop("audio_pending", False) or target.status is LedgerStatus.AWAITING_INGEST
    if audio_pending and not remote.ingested:
        target.set_status(LedgerStatus.AWAITING_INGEST, "Megaphone is ingesting the audio")
    elif fields.draft:
        target.set_status(LedgerStatus.DRAFT, decision.reason)
    else:
        if target.status is not LedgerStatus.DELIVERED:
            _announce(target, episode, deps, status="live", remote=remote)
        target.set_status(LedgerStatus.DELIVERED, decision.reason)
    return action


def _push(fields: EpisodeFields, episode: Episode, target: LedgerEntry, deps: PublisherDeps) -> tuple[str, MegaphoneEpisode]:
    podcast_id = deps.settings.megaphone_podcasts[str(episode.show.series_id)]  # the gate checked the mapping
    megaphone = deps.megaphone
    remote: MegaphoneEpisode | None = None
    action = "updated"
    if "episode_id" in target.target_ids:
        try:
            remote = megaphone.update_episode(target.target_ids["podcast_id"], target.target_ids["episode_id"], fields)
        except NotFound:
            target.record("missing_on_megaphone", f"episode {target.target_ids['episode_id']} is gone; re-creating")
            target.target_ids = {}
    if remote is None and target.pending_create:
        found = megaphone.find_by_external_id(podcast_id, fields.external_id)
        if found is not None:
            remote, action = megaphone.update_episode(podcast_id, found.id, fields), "adopted"
    if remote is None:
        if not target.pending_create:
            target.pending_create = fields_hash(fields)
            target.record("create_intent", f"podcast {podcast_id}")
            deps.ledger.save(target)
        remote, action = megaphone.create_episode(podcast_id, fields), "created"
    audio_changed = target.attributes.get("audio_url") != fields.background_audio_file_url
    target.target_ids = {"podcast_id": podcast_id, "episode_id": remote.id}
    if remote.spotify_identifier:
        target.target_ids["spotify_id"] = remote.spotify_identifier
    target.pending_create = None
    target.pushed_hash = fields_hash(fields)
    target.attributes.update(draft=fields.draft, audio_url=fields.background_audio_file_url, pushed_fields=fields.wire())
    target.attributes["audio_pending"] = bool(audio_changed and fields.background_audio_file_url)
    target.record(action, f"draft={fields.draft} hash={target.pushed_hash}")
    return action, remote


def _announce(target: LedgerEntry, episode: Episode, deps: PublisherDeps, *, status: str, remote: MegaphoneEpisode | None = None) -> None:
    """Tell the write-back flow; only once Spotify knows the episode (it has a Spotify id)."""
    spotify_id = (remote.spotify_identifier if remote else None) or target.target_ids.get("spotify_id")
    if not spotify_id:
        return
    deps.bus.publish(
        [
            EpisodeDelivered(
                product_id=episode.product_id,
                megaphone_episode_id=target.target_ids["episode_id"],
                podcast_id=target.target_ids["podcast_id"],
                spotify_id=spotify_id,
                status=status,
                content_hash=target.pushed_hash or "",
            )
        ]
    )
