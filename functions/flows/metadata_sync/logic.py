"""Keeps a series identical on Megaphone: order, release sequencing, naming and attribution.

For one series: re-checks the series rules over every episode's latest source snapshot. Conflicts
become blocking findings and hold the episodes involved (nothing of theirs is pushed); episodes whose
conflict has been resolved in Consonance are re-evaluated by the publisher. Then it lists the
podcast's episodes on Megaphone and corrects drift — a compared field edited on Megaphone that no
longer matches what Consonance says — by writing the expected values back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from functions.connectors.megaphone import MegaphoneClient
from functions.domain.events import EpisodeReevaluationDue
from functions.domain.series_rules import FLOW as SERIES_RULES_FLOW
from functions.domain.series_rules import series_conflicts
from functions.event_bus import EventBus
from functions.clock import utcnow
from functions.domain.models import Episode
from functions.flows.megaphone_projection import desired_fields, drifted_fields, fields_hash
from functions.flows.preflight_fields import PreflightProjection
from functions.flows.publishing_config import PublishingConfig
from functions.state.keys import episode_key, series_key
from functions.state.ledger import LedgerEntry, SyncLedger
from functions.state.targets import EPISODE_SOURCE, MEGAPHONE, LedgerStatus, MegaphoneState


@dataclass
class MetadataSyncDeps:
    ledger: SyncLedger
    megaphone: MegaphoneClient
    bus: EventBus
    config: PublishingConfig
    # What the publisher pushes is the projection as the distribution pre-flight lets it go (texts,
    # explicit value, a rendition's URL): drift is measured against that, and corrected with it.
    preflight: PreflightProjection | None = None


@dataclass
class SeriesSyncOutcome:
    series_id: int
    episodes: int = 0
    conflicting: list[int] = field(default_factory=list)
    released_from_hold: list[int] = field(default_factory=list)
    drift_corrected: dict[int, list[str]] = field(default_factory=dict)


def sync_series(series_id: int, deps: MetadataSyncDeps) -> SeriesSyncOutcome:
    outcome = SeriesSyncOutcome(series_id=series_id)
    episodes = [s.state.episode for s in deps.ledger.by_series(series_key(series_id), EPISODE_SOURCE) if s.state.episode]
    outcome.episodes = len(episodes)
    conflicts = series_conflicts(episodes, deps.config.mapping)
    outcome.conflicting = sorted(conflicts)
    found = deps.ledger.get_many([episode_key(e.product_id) for e in episodes], MEGAPHONE)
    targets = {e.product_id: found.get(episode_key(e.product_id)) for e in episodes}

    reevaluate: list[EpisodeReevaluationDue] = []
    for product_id, target in targets.items():
        if target is None:
            continue
        series_held = [f for f in target.findings if f.flow == SERIES_RULES_FLOW]
        if product_id in conflicts:
            if series_held != conflicts[product_id]:
                target.findings = [f for f in target.findings if f.flow != SERIES_RULES_FLOW] + conflicts[product_id]
                target.set_status(LedgerStatus.HELD, "series conflict: " + ", ".join(sorted({f.code for f in conflicts[product_id]})))
                deps.ledger.save(target)
        elif series_held:
            outcome.released_from_hold.append(product_id)
            reevaluate.append(EpisodeReevaluationDue(product_id=product_id, reason="series conflict resolved", due_at=utcnow()))

    podcast_id = deps.config.podcast_for(series_id)
    if podcast_id is not None:
        _correct_drift(podcast_id, [e for e in episodes if e.product_id not in conflicts], targets, deps, outcome)
    if reevaluate:
        deps.bus.publish(reevaluate)
    return outcome


def _correct_drift(
    podcast_id: str,
    episodes: list[Episode],
    targets: dict[int, LedgerEntry[MegaphoneState] | None],
    deps: MetadataSyncDeps,
    outcome: SeriesSyncOutcome,
) -> None:
    remote_by_external_id = {r.external_id: r for r in deps.megaphone.list_episodes(podcast_id)}
    for episode in episodes:
        target = targets.get(episode.product_id)
        if target is None or not target.state.on_megaphone:
            continue
        expected = desired_fields(episode, draft=target.state.draft is not False, settings=deps.config)
        if deps.preflight is not None:
            expected = deps.preflight.checked(expected, target.state.preflight)
        if fields_hash(expected) != target.pushed_hash:
            continue  # Consonance changed since the last push: the publisher owns this update, not drift
        remote = remote_by_external_id.get(str(episode.product_id))
        if remote is None:
            continue  # gone from Megaphone: availability monitoring reports it; the publisher re-creates on update
        drift = drifted_fields(expected, remote)
        if not drift:
            continue
        correction = expected.model_copy(update={"draft": remote.draft})
        deps.megaphone.update_episode(podcast_id, remote.id, deps.preflight.sendable(correction) if deps.preflight else correction)
        names = sorted(drift)
        target.record("drift_corrected", ", ".join(f"{n}: {drift[n][1]!r} -> {drift[n][0]!r}" for n in names))
        deps.ledger.save(target)
        outcome.drift_corrected[episode.product_id] = names
