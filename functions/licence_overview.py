"""Where every branded asset stands, read from the ledger: its licence's lifecycle (states with their
reasons and times) and each channel (live since / until, withdrawn when, held why). One view for the
ops CLI (`python -m infra.ops licences`) and the sandbox report's `branded` section."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from functions.domain.licence import LifecycleState
from functions.state.keys import EntityKey
from functions.state.ledger import LedgerEntry, SyncLedger
from functions.state.targets import CHANNEL_TARGETS, LICENCE, LicenceState


class StateStep(BaseModel):
    at: datetime
    state: str
    reason: str


class ChannelView(BaseModel):
    status: str
    reason: str
    live_since: datetime | None = None
    live_until: date | None = None
    withdrawn_at: datetime | None = None
    territories: list[str] = []


class LicenceView(BaseModel):
    product_id: int
    title: str
    licensee: str | None
    state: str
    reason: str
    until: date | None
    findings: list[str]
    expiry_alerts: list[date]
    states: list[StateStep]
    channels: dict[str, ChannelView]


def licence_view(licence: LedgerEntry[LicenceState], channels: Iterable[LedgerEntry[Any]]) -> LicenceView:
    asset = licence.state.asset
    assert asset is not None
    names = {spec.name: channel for channel, spec in CHANNEL_TARGETS.items()}
    return LicenceView(
        product_id=asset.product_id,
        title=asset.title,
        licensee=licence.state.licensee,
        state=str(licence.status),
        reason=licence.status_reason,
        until=licence.state.ends_on,
        findings=[f.code for f in licence.findings],
        expiry_alerts=list(licence.state.expiry_alerted_for),
        states=[StateStep(at=t.at, state=t.state.value, reason=t.reason) for t in licence.state.transitions],
        channels={
            names[entry.target].value: ChannelView(
                status=str(entry.status),
                reason=entry.status_reason,
                live_since=entry.state.live_since,
                live_until=entry.state.live_until,
                withdrawn_at=entry.state.withdrawn_at,
                territories=list(entry.state.territories),
            )
            for entry in sorted(channels, key=lambda e: e.target)
            if entry.target in names
        },
    )


def licence_views(ledger: SyncLedger) -> list[LicenceView]:
    """Every licence the sweep has read, by product id (status-index queries, no table scan)."""
    licences = {entry.key: entry for state in LifecycleState for entry in ledger.by_status(LICENCE, state) if entry.state.asset is not None}
    channels: dict[EntityKey, list[LedgerEntry[Any]]] = {}
    for entry in ledger.get_items((key, spec) for key in licences for spec in CHANNEL_TARGETS.values()):
        channels.setdefault(entry.key, []).append(entry)
    return [licence_view(licences[key], channels.get(key, [])) for key in sorted(licences, key=lambda k: k.number)]
