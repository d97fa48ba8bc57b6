"""What every branded-audio channel flow does the same way: read the licence the sweep keeps, settle
the channel's own ledger target (live, held, withdrawn — with the reason and the time), and announce
a change so the status write-back (and the playlists, which follow the brand show) can follow.

A channel target records the licence fingerprint it acted on (`acted_on`); the sweep re-announces a
licence whose channels have not acted on its current fingerprint, so a lost or dead-lettered
delivery is retried by the next sweep."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from functions.domain.errors import InvalidRecord
from functions.domain.events import LicenceChannelChanged
from functions.domain.licence import LicenceChannel
from functions.event_bus import EventBus
from functions.state.keys import licence_key
from functions.state.ledger import LedgerEntry, SyncLedger
from functions.state.targets import LICENCE, ChannelState, ChannelStatus, LicenceState

# Each channel keeps its own state class (brand show, playlists, venue); all share ChannelState.
ChannelTarget = TypeVar("ChannelTarget", bound=ChannelState)


def read_licence(ledger: SyncLedger, product_id: int) -> LedgerEntry[LicenceState]:
    """The licence entry the sweep wrote; a channel event for an asset it never read is a bad record."""
    entry = ledger.get(licence_key(product_id), LICENCE)
    if entry is None or entry.state.asset is None or entry.state.episode is None:
        raise InvalidRecord(f"licence#{product_id}: no licence read from Consonance; the licence sweep announces only licences it read")
    return entry


def settle(
    target: LedgerEntry[ChannelTarget],
    licence: LedgerEntry[LicenceState],
    *,
    live: bool,
    held: bool,
    reason: str,
    now: datetime,
    territories: list[str],
    acted: bool = True,
) -> bool:
    """Record where the asset stands on the channel now; True when its status changed.

    live → `live` (since when, until the licence window's end, where); no longer live → `withdrawn`
    (when); held → `held` (the licence allows it, something else holds it back); otherwise it keeps
    `not_delivered` / `withdrawn`, with the current reason. `acted`: the channel acted on the
    licence's current fingerprint (False for a mere refresh of what the channel holds)."""
    before = target.status
    state = target.state
    if live:
        if before != ChannelStatus.LIVE:
            state.live_since, state.withdrawn_at = now, None
        state.live_until, state.territories = licence.state.ends_on, territories
        target.set_status(ChannelStatus.LIVE, reason)
    elif before == ChannelStatus.LIVE:
        state.withdrawn_at, state.live_until, state.territories = now, None, []
        target.set_status(ChannelStatus.WITHDRAWN, reason)
    elif held:
        target.set_status(ChannelStatus.HELD, reason)
    else:
        target.set_status(ChannelStatus.NOT_DELIVERED if before in (ChannelStatus.HELD, ChannelStatus.NOT_DELIVERED) else before, reason)
    if acted:
        state.acted_on = licence.state.fingerprint
    return target.status != before


def announce(bus: EventBus, product_id: int, channel: LicenceChannel, target: LedgerEntry[ChannelTarget], correlation_id: str = "") -> None:
    bus.publish(
        [
            LicenceChannelChanged(
                product_id=product_id, channel=channel.value, status=str(target.status), reason=target.status_reason, correlation_id=correlation_id
            )
        ]
    )
