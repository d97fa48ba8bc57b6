"""Branded audio for business: a branded asset's licence, what is wrong with it, and where it stands in
its lifecycle on a given day. Pure functions, no I/O (the mapping from Consonance is in
`functions/connectors/consonance/licence_mapping.py`; the flows that act on it are `licence_sweep`,
`brand_show`, `brand_playlists`, `venue_delivery` and `licence_status`).

A branded asset is one product of a licensed kind (`BrandedConfig.licensed_kinds`). Its licence is
every contract on its work that grants a delivery channel (a licensed right whose type the rights
model resolves to `brand_show`, `brand_playlist` or `venue_delivery`); each such contract is one
`LicenceTerm`: the licensee (the contract's party), the other licensed rights, the channels, the
window `[starts_on, ends_on)` and an approval state. A renewal is a later term of the same licensee,
or the same term with a later end: both merge into one window without a gap.

Lifecycle on a day (`lifecycle`): `pending` (not approved, or blocked by findings before it was ever
live) → `scheduled` (approved, starts later) → `live` → `expiring` (live, ending within
`expiring_days`) → `withdrawn` (ended, revoked, or blocked after it was live). Nothing here promises
in-venue playback on Spotify: Spotify's consumer service and developer platform are not licensed for
it, so the venue channel is a third-party delivery that needs the provider's own public-performance
licence (`VENUE_LICENCE_NOTICE`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.domain.clearance import DateWindow, sales_territories
from functions.domain.models import EpisodeKind, Finding, Frozen, Territories
from functions.domain.rights import BRAND_PLAYLIST, BRAND_SHOW, VENUE_DELIVERY
from functions.domain.territories import KNOWN_TERRITORIES
from functions.flow_names import FlowName
from functions.state.keys import licence_key

VENUE_LICENCE_NOTICE = (
    "Third-party venue delivery, not a Spotify product: playing this audio in a shop, restaurant, hotel, gym or "
    "event requires the business-music provider's (or venue's) own public-performance licence. Spotify's "
    "consumer service and developer platform are not licensed for in-venue playback."
)


class LicenceChannel(StrEnum):
    """Where a licence may deliver the asset; the values are the rights model's channel right types."""

    BRAND_SHOW = BRAND_SHOW  # episodes of the licensee's branded show, on Spotify through Megaphone
    BRAND_PLAYLIST = BRAND_PLAYLIST  # playlists on the brand's own authorised Spotify account
    VENUE = VENUE_DELIVERY  # an export package for a business-music provider (no Spotify dependency)


class LicenceApproval(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REVOKED = "revoked"


class LifecycleState(StrEnum):
    PENDING = "pending"
    SCHEDULED = "scheduled"
    LIVE = "live"
    EXPIRING = "expiring"
    WITHDRAWN = "withdrawn"


LIVE_STATES = frozenset({LifecycleState.LIVE, LifecycleState.EXPIRING})


class BrandedConfig(BaseModel):
    """Branded-audio settings, carried in `MappingConfig.branded` (the `MAPPING` JSON, CDK context
    `consonanceMapping`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Products whose work maps (MappingConfig.episode_kinds) to one of these kinds are branded assets:
    # they need a licence to be anywhere, on every channel (the publishing gate asks too).
    licensed_kinds: frozenset[EpisodeKind] = frozenset({EpisodeKind.BRANDED_PODCAST})
    # Where a licence contract's approval comes from. "contract_status": the inferred
    # `Contract.approvalStatus`; "signed" (the workaround where Consonance has no such field): a
    # contract is approved once it has a signed date.
    licence_approval: Literal["contract_status", "signed"] = "contract_status"
    approved_licence_statuses: frozenset[str] = frozenset({"approved"})  # inferred values
    revoked_licence_statuses: frozenset[str] = frozenset({"revoked", "withdrawn", "cancelled"})  # inferred values
    expiring_days: int = Field(default=14, ge=0, le=365)  # `expiring` this many days before the end
    # Licensee (the contract party's name, compared as `Licensee.key`) -> the brand's Spotify account
    # authorised with `infra.ops auth spotify --account NAME` (brand playlists live there).
    brand_accounts: dict[str, str] = Field(default_factory=dict)

    def account_for(self, licensee: Licensee) -> str | None:
        return next((account for name, account in self.brand_accounts.items() if Licensee(name=name).key == licensee.key), None)
    status_link_role: str = "_00"  # ONIX website role of the status links (00: unspecified, see description)
    venue_audio_max_mb: int = Field(default=1024, gt=0)  # largest master copied into a venue package


class Licensee(Frozen):
    """The contract's party (`Contract.client`). The schema's `Client` shows only a name, so the name
    is the licensee's identity; `key` is its stable, case- and punctuation-insensitive form."""

    name: str

    @property
    def key(self) -> str:
        return re.sub(r"[^0-9a-z]+", "-", self.name.casefold()).strip("-") or "unnamed"


class LicenceTerm(Frozen):
    """One licence contract of a branded asset."""

    contract_id: int
    name: str = ""
    licensee: Licensee | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    rights: tuple[str, ...] = ()  # canonical licensed rights other than channels
    channels: tuple[LicenceChannel, ...] = ()
    unknown_rights: tuple[str, ...] = ()  # right types the rights model does not know
    approval: LicenceApproval = LicenceApproval.PENDING
    revoked_reason: str | None = None

    @property
    def window_is_valid(self) -> bool:
        return self.starts_on is not None and self.ends_on is not None and self.starts_on < self.ends_on


class BrandedAsset(Frozen):
    """A branded product with its licence terms, as Consonance states them."""

    product_id: int
    work_id: int | None = None
    title: str
    isbn13: str | None = None
    territories: Territories = Field(default_factory=Territories)
    terms: tuple[LicenceTerm, ...] = ()

    @property
    def licensee(self) -> Licensee | None:
        """The licensee of the latest approved term (else of any term): who the asset is for."""
        ranked = sorted(self.terms, key=lambda t: (t.approval is LicenceApproval.APPROVED, t.ends_on or date.min, t.contract_id))
        return next((t.licensee for t in reversed(ranked) if t.licensee is not None), None)


# ------------------------------------------------------------------------------------------ findings
def licence_findings(asset: BrandedAsset, known_territories: Iterable[str] = KNOWN_TERRITORIES) -> list[Finding]:
    """Contradictory or incomplete licences; every one is blocking (the asset stays off every channel).

    Codes: `licence_missing`, `licence_without_licensee`, `licence_without_start`, `licence_without_end`,
    `licence_window_ends_before_start`, `licence_unknown_right`, `licence_licensees_overlap` (two
    licensees' approved windows overlap), `licence_territory_conflict` (a country both for sale and not),
    `licence_no_territory` (for sale nowhere)."""
    entity = str(licence_key(asset.product_id))
    findings: list[Finding] = []

    def add(code: str, message: str) -> None:
        findings.append(Finding(code=code, entity=entity, message=message, flow=FlowName.LICENCE_SWEEP))

    if not asset.terms:
        add("licence_missing", "a branded asset with no licence contract (no contract on its work grants a delivery channel)")
    for term in asset.terms:
        if term.approval is LicenceApproval.REVOKED:
            continue
        where = f"licence contract {term.contract_id}"
        if term.licensee is None:
            add("licence_without_licensee", f"{where} names no party (Contract.client) to license to")
        if term.starts_on is None:
            add("licence_without_start", f"{where} has no start (signed date)")
        if term.ends_on is None:
            add("licence_without_end", f"{where} has no end (terminated date); a branded licence must end")
        if term.starts_on is not None and term.ends_on is not None and term.ends_on <= term.starts_on:
            add("licence_window_ends_before_start", f"{where} ends {term.ends_on}, not after its start {term.starts_on}")
        if term.unknown_rights:
            add("licence_unknown_right", f"{where}: unknown licensed right types {', '.join(sorted(term.unknown_rights))}")
    approved = [t for t in asset.terms if t.approval is LicenceApproval.APPROVED and t.window_is_valid and t.licensee is not None]
    for index, first in enumerate(approved):
        for second in approved[index + 1 :]:
            assert first.licensee is not None and second.licensee is not None
            if first.licensee.key != second.licensee.key and _overlap(first, second):
                add(
                    "licence_licensees_overlap",
                    f"contracts {first.contract_id} ({first.licensee.name}) and {second.contract_id} ({second.licensee.name}) "
                    "license the asset to two parties at once",
                )
    both = sorted(set(asset.territories.included) & set(asset.territories.excluded))
    if both:
        add("licence_territory_conflict", f"{', '.join(both)} both for sale and not for sale")
    if not licence_territories(asset, known_territories):
        add("licence_no_territory", "the product is not for sale in any known territory")
    return findings


def _overlap(first: LicenceTerm, second: LicenceTerm) -> bool:
    assert first.starts_on and first.ends_on and second.starts_on and second.ends_on
    return first.starts_on < second.ends_on and second.starts_on < first.ends_on


def licence_territories(asset: BrandedAsset, universe: Iterable[str] = KNOWN_TERRITORIES) -> frozenset[str]:
    """Where the licence may be exercised: the product's sales territories (the rights model's rule)."""
    return sales_territories(asset.territories, universe)


def is_worldwide(asset: BrandedAsset, universe: Iterable[str] = KNOWN_TERRITORIES) -> bool:
    return licence_territories(asset, universe) == frozenset(universe)


# ----------------------------------------------------------------------------------------- windows
def licence_windows(asset: BrandedAsset) -> list[DateWindow]:
    """The merged windows of the approved, valid terms: a renewal that starts on or before the old end
    continues the same window (no gap)."""
    spans = sorted(
        (t.starts_on, t.ends_on)
        for t in asset.terms
        if t.approval is LicenceApproval.APPROVED and t.window_is_valid and t.licensee is not None
    )
    merged: list[tuple[date, date]] = []
    for start, end in spans:
        assert start is not None and end is not None
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return [DateWindow(starts_on=start, ends_on=end) for start, end in merged]


def channels_on(asset: BrandedAsset, day: date) -> frozenset[LicenceChannel]:
    """The channels the approved terms covering `day` grant."""
    return frozenset(
        channel
        for term in asset.terms
        if term.approval is LicenceApproval.APPROVED and term.window_is_valid and term.starts_on <= day < term.ends_on  # type: ignore[operator]
        for channel in term.channels
    )


# --------------------------------------------------------------------------------------- lifecycle
class LifecycleDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    state: LifecycleState
    reason: str
    window: DateWindow | None = None  # the window the state refers to (current, next or last)

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES

    @property
    def ends_on(self) -> date | None:
        return self.window.ends_on if self.window is not None else None


def lifecycle(
    asset: BrandedAsset, findings: Sequence[Finding], day: date, expiring_days: int, previous: LifecycleState | None = None
) -> LifecycleDecision:
    """Where the licence stands on `day` (UTC). `previous` tells a block after going live (withdrawn)
    from one before (pending)."""
    blocking = sorted({f.code for f in findings if f.blocking})
    if blocking:
        state = LifecycleState.WITHDRAWN if previous in (*LIVE_STATES, LifecycleState.WITHDRAWN) else LifecycleState.PENDING
        return LifecycleDecision(state=state, reason="licence problems: " + ", ".join(blocking))
    windows = licence_windows(asset)
    current = next((w for w in windows if w.contains(day)), None)
    if current is not None:
        assert current.ends_on is not None
        who = _licensee_text(asset)
        if (current.ends_on - day).days <= expiring_days:
            return LifecycleDecision(
                state=LifecycleState.EXPIRING,
                reason=f"licensed to {who} until {current.ends_on}, within the {expiring_days}-day expiry notice",
                window=current,
            )
        return LifecycleDecision(state=LifecycleState.LIVE, reason=f"licensed to {who} from {current.starts_on} until {current.ends_on}", window=current)
    upcoming = next((w for w in windows if w.starts_on is not None and w.starts_on > day), None)
    ended = [w for w in windows if w.ends_on is not None and w.ends_on <= day]
    revoked = [t for t in asset.terms if t.approval is LicenceApproval.REVOKED]
    was_out = bool(ended) or previous in (*LIVE_STATES, LifecycleState.WITHDRAWN)
    if upcoming is not None and not was_out:
        return LifecycleDecision(state=LifecycleState.SCHEDULED, reason=f"approved; licensed to {_licensee_text(asset)} from {upcoming.starts_on}", window=upcoming)
    if was_out or revoked:
        parts = []
        if revoked:
            parts.append("revoked in Consonance (" + "; ".join(f"contract {t.contract_id}: {t.revoked_reason or 'revoked'}" for t in revoked) + ")")
        if ended:
            parts.append(f"licence ended {ended[-1].ends_on}")
        if upcoming is not None:
            parts.append(f"renewal starts {upcoming.starts_on}")
        return LifecycleDecision(
            state=LifecycleState.WITHDRAWN, reason="; ".join(parts) or "no licence window covers this day", window=upcoming or (ended[-1] if ended else None)
        )
    pending = [t for t in asset.terms if t.approval is LicenceApproval.PENDING]
    why = "awaiting approval of " + ", ".join(f"contract {t.contract_id}" for t in pending) if pending else "no approved licence"
    return LifecycleDecision(state=LifecycleState.PENDING, reason=why)


def _licensee_text(asset: BrandedAsset) -> str:
    licensee = asset.licensee
    return licensee.name if licensee is not None else "(no licensee)"


def channel_allowed(asset: BrandedAsset, findings: Sequence[Finding], day: date, channel: LicenceChannel) -> tuple[bool, str]:
    """Whether the asset may be live on `channel` on `day`, and why (the licence's side only: each
    channel adds its own conditions, e.g. the brand show's worldwide territories)."""
    decision = lifecycle(asset, findings, day, expiring_days=0)
    if not decision.live:
        return False, decision.reason
    if channel not in channels_on(asset, day):
        return False, f"the licence does not grant {channel.value} on {day}"
    return True, decision.reason
