"""The draft hierarchy of one milestone campaign on the Ads API, brought to what the plan says: one
draft campaign, an ad set per country, an ad per ad set.

Each entity is created once (an intent in the ledger before the create, a look-up by its deterministic
name after an unfinished or ambiguous one: `intents.create_once`) and updated only when the body the
plan asks for differs from the one last written (a hash per entity in the ledger) — so replanning an
unchanged title writes nothing, and a moved date updates the existing drafts instead of making new
ones. An ad set for a country the plan no longer has is deleted (drafts only: live entities are
never written here).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from functions.connectors.spotify_ads import SpotifyAdsClient
from functions.flows.campaign_planner.intents import create_once, update_checked
from functions.marketing.plan import AdSetPlan, AssetIds, CampaignPlan
from functions.state.ledger import LedgerEntry, SyncLedger
from functions.state.targets import AdsCampaignState, DraftEntity


def body_hash(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class DraftSlot:
    """One draft the plan asks for: where the ledger keeps it, its body, and how the API makes,
    finds and changes it."""

    kind: Literal["campaigns", "ad_sets", "ads"]
    label: str  # for the ledger's history: "campaign", "ad set GB" ...
    intent: str
    body: dict[str, Any]
    create: Callable[[], Any]  # sends the create body (the body plus its parent's id)
    look_up: Callable[[], Any]
    update: Callable[[str], Any]
    known: Callable[[], DraftEntity | None]
    keep: Callable[[DraftEntity], None]


@dataclass
class DraftWriter:
    ads: SpotifyAdsClient
    ledger: SyncLedger

    def write(self, entry: LedgerEntry[AdsCampaignState], plan: CampaignPlan, assets: AssetIds) -> int:
        """Bring the drafts to the plan; returns how many writes it took (0: nothing to change)."""
        state = entry.state
        writes = self._bring(entry, self._campaign_slot(state, plan))
        campaign_id = state.campaign_id
        assert campaign_id is not None
        planned = {ad_set.country for ad_set in plan.ad_sets}
        for country in sorted(set(state.ad_sets) - planned):
            self.ads.delete_draft_ad_set(state.ad_sets[country].id)  # its ad goes with it
            state.ad_sets.pop(country)
            state.ads.pop(country, None)
            entry.record("draft_deleted", f"ad set for {country}: no longer in the segment")
            self.ledger.save(entry)
            writes += 1
        for ad_set in plan.ad_sets:
            writes += self._bring(entry, self._ad_set_slot(state, plan, ad_set, campaign_id))
            writes += self._bring(entry, self._ad_slot(state, plan, ad_set, assets))
        return writes

    def _ad_set_slot(self, state: AdsCampaignState, plan: CampaignPlan, ad_set: AdSetPlan, campaign_id: str) -> DraftSlot:
        country, body, prefix = ad_set.country, ad_set.body, f"{plan.marker} {ad_set.country} "

        def keep(draft: DraftEntity) -> None:
            state.ad_sets[country] = draft

        return DraftSlot(
            kind="ad_sets",
            label=f"ad set {country}",
            intent=f"draft_ad_set:{country}",
            body=body,
            create=lambda: self.ads.create_draft_ad_set({"campaign_id": campaign_id, **body}),
            look_up=lambda: next((s for s in self.ads.draft_ad_sets(campaign_id) if (s.name or "").startswith(prefix)), None),
            update=lambda draft_id: self.ads.update_draft_ad_set(draft_id, body),
            known=lambda: state.ad_sets.get(country),
            keep=keep,
        )

    def _ad_slot(self, state: AdsCampaignState, plan: CampaignPlan, ad_set: AdSetPlan, assets: AssetIds) -> DraftSlot:
        country, body, name = ad_set.country, plan.ad_body(ad_set, assets), ad_set.ad_name
        ad_set_id = state.ad_sets[country].id

        def keep(draft: DraftEntity) -> None:
            state.ads[country] = draft

        return DraftSlot(
            kind="ads",
            label=f"ad {country}",
            intent=f"draft_ad:{country}",
            body=body,
            create=lambda: self.ads.create_draft_ad({"ad_set_id": ad_set_id, **body}),
            look_up=lambda: next((a for a in self.ads.draft_ads([ad_set_id]) if a.name == name), None),
            update=lambda draft_id: self.ads.update_draft_ad(draft_id, body),
            known=lambda: state.ads.get(country),
            keep=keep,
        )

    def _campaign_slot(self, state: AdsCampaignState, plan: CampaignPlan) -> DraftSlot:
        prefix = f"{plan.marker} "

        def keep(draft: DraftEntity) -> None:
            state.campaign_id, state.campaign_hash = draft.id, draft.pushed_hash

        return DraftSlot(
            kind="campaigns",
            label="campaign",
            intent="draft_campaign",
            body=plan.campaign_body,
            create=lambda: self.ads.create_draft_campaign(plan.campaign_body),
            look_up=lambda: next(iter(self.ads.find_draft_campaigns(prefix)), None),
            update=lambda draft_id: self.ads.update_draft_campaign(draft_id, plan.campaign_body),
            known=lambda: DraftEntity(id=state.campaign_id, pushed_hash=state.campaign_hash or "") if state.campaign_id else None,
            keep=keep,
        )

    def _bring(self, entry: LedgerEntry[AdsCampaignState], slot: DraftSlot) -> int:
        """Create the draft once, or update it when its body changed; 1 for a write, 0 for none."""
        wanted = body_hash(slot.body)
        known = slot.known()
        if known is None:
            created = create_once(entry, self.ledger, slot.intent, create=slot.create, look_up=slot.look_up)
            slot.keep(DraftEntity(id=created.id, pushed_hash=wanted))
            entry.record("draft_created", f"{slot.label}: {created.id}")
        elif known.pushed_hash != wanted:
            update_checked(lambda: slot.update(known.id), lambda: self.ads.draft_fields(slot.kind, known.id), slot.body)
            slot.keep(DraftEntity(id=known.id, pushed_hash=wanted))
            entry.record("draft_updated", f"{slot.label}: {known.id}")
        else:
            return 0
        self.ledger.save(entry)
        return 1
