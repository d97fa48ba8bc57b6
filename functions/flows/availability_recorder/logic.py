"""Records where each episode is live, and acts on takedowns: an alert to operators and the status on
the product's Spotify web link in Consonance.

Two inputs, one table:
- `AvailabilityChanged` (the monitor): the named channel/territories are now live or not, takedown or not;
- `TakedownReported` (a signed notice): `takedown` / `reinstated` for the named territories, or
  `availability`, a full statement (live in exactly these territories; every other known market is not).
  A notice names the product by id or by ISBN; an ISBN is resolved through the availability table's
  `by-isbn` index, then the ledger's source snapshots. A product the integration does not know is a
  permanent error (dead-letter queue, with the reason), as is an id and ISBN that disagree.
  `worldwide` means the monitored markets plus every market the table already holds for the episode.

After the table is written, the episode's takedowns are settled from the table as a whole (not from
the event), which makes every step safe to repeat:
1. territories newly taken down (not yet alerted, per the ledger's `takedown_places`) raise ONE alert
   on the operations topic and one `TakedownsDetected` count;
2. while the integration has the episode delivered, the Spotify web link's status becomes "taken down
   in <territories>" (or "taken down worldwide" when Megaphone itself no longer publishes it); once every
   takedown is lifted, or the integration withdrew the episode itself, it goes back to the integration's
   own status ("live", "withdrawn", ...). It is written through the one write-back service
   (`functions.consonance_writes`), which writes only what differs from what the link shows (its
   ledger target is shared with the consonance-writeback flow, so that flow's next "live" is not
   mistaken for one already written);
3. both are recorded in the Megaphone ledger entry's history (the audit trail);
4. a change in the takedowns is announced (`DistributionChanged`, before the marker is saved) for the
   distribution feedback flow, which tells it in the product's distribution note in Consonance.
A redelivered or repeated event finds the table unchanged and both markers equal: nothing is written,
nothing is sent. An alert is at least once: it is sent before its marker is saved, so a crash between
the two repeats it rather than losing it.

"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from functions.alerts import Alert, AlertPublisher
from functions.consonance_writes import ConsonanceWriteback, LinkStatus
from functions.distribution.consonance_view import TAKEN_DOWN_PREFIX, takedown_status
from functions.domain.errors import InvalidRecord
from functions.domain.events import AvailabilityChanged, DistributionChanged, TakedownReported
from functions.event_bus import EventBus
from functions.domain.notices import AvailabilityNotice, NoticeKind
from functions.flow_names import FlowName
from functions.state.availability import (
    CHANNEL_WIDE,
    AvailabilityRecord,
    AvailabilityStore,
    Channel,
    Source,
    transition,
)
from functions.state.keys import episode_key, parse_entity_key
from functions.state.ledger import LedgerEntry, SyncLedger
from functions.state.targets import EPISODE_SOURCE, MEGAPHONE, LedgerStatus, MegaphoneState

FLOW = FlowName.AVAILABILITY_RECORDER
OPS_COMMAND = "python -m infra.ops availability {product_id}"


class UnknownProduct(InvalidRecord):
    """The notice or event names a product this integration has never seen or delivered."""

    code = "unknown_product"


class ConflictingProduct(InvalidRecord):
    """The notice's product id and ISBN point at different products, or its ISBN at several."""

    code = "conflicting_product"


@dataclass
class RecorderDeps:
    ledger: SyncLedger
    availability: AvailabilityStore
    writeback: ConsonanceWriteback
    alerts: AlertPublisher
    markets: tuple[str, ...]  # the markets the monitor checks: "worldwide" in a notice means these and more
    spotify_url_template: str
    bus: EventBus | None = None  # announces takedown changes to the distribution feedback flow (the deployed recorder has it)


@dataclass(frozen=True)
class Change:
    """One channel/territory as an event or notice states it."""

    channel: Channel
    territory: str
    live: bool
    reason: str
    taken_down: bool
    source: Source
    observed_at: datetime


@dataclass
class RecordOutcome:
    product_id: int
    records_written: int = 0
    records_unchanged: int = 0
    newly_taken_down: tuple[str, ...] = ()
    alert_id: str | None = None
    link_status_written: str | None = None
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------ inputs
def record_availability_change(event: AvailabilityChanged, deps: RecorderDeps) -> RecordOutcome:
    target = deps.ledger.get(episode_key(event.product_id), MEGAPHONE)
    if target is None:
        raise UnknownProduct(f"product {event.product_id} has no Megaphone entry in the ledger; nothing to record")
    channel: Channel = "megaphone" if event.channel == "megaphone" else "spotify"
    changes = [
        Change(channel, territory, event.live, event.reason, event.takedown and not event.live, "monitor", event.observed_at)
        for territory in (event.territories or (CHANNEL_WIDE,))
    ]
    return _record(event.product_id, target, changes, deps, source_note="found by the availability monitor")


def record_notice(event: TakedownReported, deps: RecorderDeps) -> RecordOutcome:
    notice = event.notice
    product_id = resolve_product(notice, deps)
    entity = episode_key(product_id)
    target = deps.ledger.get(entity, MEGAPHONE)
    if target is None:
        raise UnknownProduct(f"notice {notice.notice_id}: product {product_id} was never delivered to Megaphone; nothing is live to take down")
    stored = {record.territory: record for record in deps.availability.get_for(str(entity)) if record.channel == "spotify"}
    changes = _notice_changes(notice, target, stored, deps.markets)
    return _record(product_id, target, changes, deps, source_note=f"reported by notice {notice.notice_id} from {notice.source}")


def resolve_product(notice: AvailabilityNotice, deps: RecorderDeps) -> int:
    """The product a notice is about: its id, or the one product carrying its ISBN."""
    if notice.product_id is not None:
        source = deps.ledger.get(episode_key(notice.product_id), EPISODE_SOURCE)
        known_isbn = source.state.episode.isbn13 if source is not None and source.state.episode else None
        if notice.isbn13 and known_isbn and known_isbn != notice.isbn13:
            raise ConflictingProduct(
                f"notice {notice.notice_id}: product {notice.product_id} has ISBN {known_isbn}, the notice says {notice.isbn13}"
            )
        return notice.product_id
    assert notice.isbn13 is not None  # the notice model requires an id or an ISBN
    found = {parse_entity_key(record.entity).number for record in deps.availability.by_isbn(notice.isbn13)}
    if not found:
        found = {
            entry.key.number
            for entry in deps.ledger.scan(EPISODE_SOURCE)
            if entry.state.episode and entry.state.episode.isbn13 == notice.isbn13
        }
    if not found:
        raise UnknownProduct(f"notice {notice.notice_id}: no product with ISBN {notice.isbn13} is known to the integration")
    if len(found) > 1:
        raise ConflictingProduct(f"notice {notice.notice_id}: ISBN {notice.isbn13} belongs to products {sorted(found)}")
    return found.pop()


def _notice_changes(
    notice: AvailabilityNotice, target: LedgerEntry[MegaphoneState], stored: dict[str, AvailabilityRecord], markets: tuple[str, ...]
) -> list[Change]:
    named = tuple(sorted(set(markets) | set(stored))) if notice.worldwide else notice.territories
    where = "worldwide" if notice.worldwide else "in " + ", ".join(named)
    said = f"{notice.reason} (notice {notice.notice_id} from {notice.source})"
    at = notice.reported_at

    if notice.kind is NoticeKind.TAKEDOWN:
        return [Change("spotify", t, False, f"taken down {where}: {said}", True, "webhook", at) for t in named]
    if notice.kind is NoticeKind.REINSTATED:
        return [Change("spotify", t, True, f"reinstated {where}: {said}", False, "webhook", at) for t in named]
    # A full statement: live exactly where named; any other market we know of is not.
    believes_live = target.status == LedgerStatus.DELIVERED and target.state.pushed_live
    changes = [Change("spotify", t, True, f"available per statement: {said}", False, "webhook", at) for t in named]
    for territory in sorted((set(stored) | set(markets)) - set(named)):
        was_live = territory in stored and stored[territory].live
        changes.append(
            Change("spotify", territory, False, f"not in the availability statement: {said}", was_live and believes_live, "webhook", at)
        )
    return changes


# ------------------------------------------------------------------------------------------ table
def _record(
    product_id: int, target: LedgerEntry[MegaphoneState], changes: list[Change], deps: RecorderDeps, source_note: str
) -> RecordOutcome:
    outcome = RecordOutcome(product_id=product_id)
    entity = target.entity
    stored = {(record.channel, record.territory): record for record in deps.availability.get_for(entity)}
    # Every record of an episode carries its ISBN: the ledger is asked only for an episode's first record.
    isbn13 = next((record.isbn13 for record in stored.values() if record.isbn13), None) or _isbn_of(entity, deps.ledger)
    table_moved = False  # a write lost to a newer observation: the table holds what this run did not see
    for change in changes:
        existing = stored.get((change.channel, change.territory))
        record = transition(
            existing,
            entity=entity,
            channel=change.channel,
            territory=change.territory,
            live=change.live,
            reason=change.reason,
            taken_down=change.taken_down,
            source=change.source,
            observed_at=change.observed_at,
            spotify_id=target.state.spotify_id,
            megaphone_episode_id=target.state.episode_id,
            isbn13=isbn13,
        )
        if existing is not None and existing.observed_at > change.observed_at and not record.same_state_as(existing):
            outcome.notes.append(f"{record.sort_key}: a newer observation is recorded; this older one is ignored")
            outcome.records_unchanged += 1
            continue
        if deps.availability.put(record, existing, existing_read=True):
            outcome.records_written += 1
            stored[(record.channel, record.territory)] = record
        else:
            outcome.records_unchanged += 1
            table_moved = table_moved or not record.same_state_as(existing)
    records = deps.availability.get_for(entity) if table_moved else list(stored.values())
    _settle_takedowns(product_id, target, records, deps, outcome, source_note)
    return outcome


def _isbn_of(entity: str, ledger: SyncLedger) -> str | None:
    source = ledger.get(parse_entity_key(entity), EPISODE_SOURCE)
    return source.state.episode.isbn13 if source is not None and source.state.episode else None


# ------------------------------------------------------------------------------------------ takedowns
def _settle_takedowns(
    product_id: int,
    target: LedgerEntry[MegaphoneState],
    records: list[AvailabilityRecord],
    deps: RecorderDeps,
    outcome: RecordOutcome,
    source_note: str,
) -> None:
    """`records`: the episode's whole table as this event leaves it."""
    taken_down = [record for record in records if record.taken_down and not record.live]
    places = sorted({_place(record) for record in taken_down})
    alerted = list(target.state.takedown_places)
    newly = [place for place in places if place not in alerted]
    shown = deps.writeback.shown_link_status(product_id)
    if newly:
        outcome.newly_taken_down = tuple(newly)
        alert = _takedown_alert(product_id, target, [r for r in taken_down if _place(r) in newly], places, shown, deps, source_note)
        outcome.alert_id = deps.alerts.publish(alert)
        target.record("takedown_alerted", f"{', '.join(newly)} ({source_note})")
    if newly or alerted != places:
        target.state.takedown_places = places
        if deps.bus is not None:
            reason = f"takedowns now: {', '.join(places) or 'none'} ({source_note})"
            deps.bus.publish([DistributionChanged(product_id=product_id, reason=reason, ledger_version=target.version + 1)])
        deps.ledger.save(target)

    wanted = _link_status(places, target, shown)
    if wanted is None or wanted == shown:
        return
    _write_link_status(product_id, target, wanted, deps, outcome)


def _place(record: AvailabilityRecord) -> str:
    """Where a takedown applies: a market, or "worldwide" when Megaphone itself stopped publishing."""
    return "worldwide" if record.territory == CHANNEL_WIDE else record.territory


def _link_status(places: list[str], target: LedgerEntry[MegaphoneState], shown: str | None) -> str | None:
    """The status the Spotify link should show; None when there is nothing of ours to correct.

    A takedown is shown while the integration has the episode delivered. Once the integration itself
    withdrew it, its own status ("withdrawn", written by the write-back flow) is what the rights team
    needs to see, so a takedown status still on the link is replaced by it.
    """
    if places and target.status == LedgerStatus.DELIVERED and not target.state.withdraw_pending:
        return takedown_status(places)
    if shown is None or not shown.startswith(TAKEN_DOWN_PREFIX):
        return None
    return {LedgerStatus.DELIVERED: "live", LedgerStatus.WITHDRAWN: "withdrawn", LedgerStatus.DRAFT: "draft"}.get(
        LedgerStatus(target.status), target.status
    )


def _write_link_status(product_id: int, target: LedgerEntry[MegaphoneState], status: str, deps: RecorderDeps, outcome: RecordOutcome) -> None:
    spotify_id = target.state.spotify_id
    if not spotify_id:
        recent = [h for h in target.history[-5:] if h.action == "takedown_not_written_back"]
        if not recent or not recent[-1].detail.startswith(status):
            target.record("takedown_not_written_back", f"{status}: no Spotify id, so no Spotify link to put it on")
            deps.ledger.save(target)
        outcome.notes.append("no Spotify id: status not written back")
        return
    url = deps.spotify_url_template.format(spotify_id=spotify_id)
    [error] = deps.writeback.write_spotify_links([LinkStatus(product_id=product_id, url=url, status=status)])
    if error is not None:
        raise error
    target.record("availability_written_back", f"Spotify link status: {status}")
    deps.ledger.save(target)
    outcome.link_status_written = status


def _takedown_alert(
    product_id: int,
    target: LedgerEntry[MegaphoneState],
    newly: list[AvailabilityRecord],
    places: list[str],
    shown: str | None,
    deps: RecorderDeps,
    source_note: str,
) -> Alert:
    source = deps.ledger.get(target.key, EPISODE_SOURCE)
    episode = source.state.episode if source is not None else None
    title = episode.title if episode is not None else "(title unknown)"
    isbn = episode.isbn13 if episode is not None else None
    new_places = sorted({_place(record) for record in newly})
    reasons = sorted({record.reason for record in newly if record.reason})
    spotify_id = target.state.spotify_id
    lines = [
        f'Consonance product {product_id} "{title}"' + (f" (ISBN {isbn})" if isbn else "") + " was taken down.",
        "",
        f"Newly taken down: {', '.join(new_places)}",
        f"Taken down now: {', '.join(places)}",
        f"How it was found: {source_note}",
        *(f"Reason: {reason}" for reason in reasons),
        f"The integration's own status for it: {target.status}" + (f" ({target.status_reason})" if target.status_reason else ""),
    ]
    if target.state.episode_id:
        lines.append(f"Megaphone episode: {target.state.episode_id} (podcast {target.state.podcast_id or '?'})")
    if spotify_id:
        lines.append(f"Spotify episode: {deps.spotify_url_template.format(spotify_id=spotify_id)}")
    wanted = _link_status(places, target, shown)
    if not spotify_id:
        lines.append("Consonance: not written back (no Spotify id yet, so no Spotify web link on the product).")
    elif wanted is not None and wanted.startswith(TAKEN_DOWN_PREFIX):
        lines.append(f'Consonance: the Spotify web link on the product will show "{wanted}".')
    else:
        lines.append(f"Consonance: the Spotify web link keeps the integration's own status ({target.status}).")
    lines += ["", f"Details: {OPS_COMMAND.format(product_id=product_id)}"]
    return Alert(
        subject=f"Takedown: {title} ({product_id}) - {', '.join(new_places)}",
        message="\n".join(lines),
        attributes={"kind": "takedown", "flow": FLOW, "product_id": str(product_id)},
    )
