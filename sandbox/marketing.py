"""The marketing side of the sandbox world (issue 7): the Spotify Ads API simulator with the publisher's ad
account, a person in Ads Manager, and the delivery that live campaigns get.

- Ads API: `SpotifyAdsSimulator` at the real host, its tokens checked by the Spotify accounts
  simulator the world already has (`verify(token)` names the user); the user may use one ad account.
- Media: the titles' spots and covers are catalogue URLs, so the world's media library serves them as
  real files (their formats, lengths and sizes in the catalogue's `media` list).
- Authorisation: the `ads` account is one of the catalogue's `spotify_accounts` (sample.d/campaigns.json),
  authorised at world start like every account (`sandbox/spotify_consent.py`).
- A person: at the catalogue's `ads_manager_publishes` moments, publishes the title milestone's
  validated draft campaign in Ads Manager (finds the draft by its name, re-reads its hierarchy
  version, PUBLISH). The person's clicks are not the integration's requests: they go to the
  simulator directly, without injected faults, and are not in the request log.
- Delivery: at each UTC midnight, every live ad whose ad set runs on the day before gets that day's
  figures (`record_delivery`), plausible and seeded: impressions from the ad set's daily budget at a
  CPM, reach, quartiles, completes, clicks, listeners and spend in proportion. The reporting
  collector then finds rows for them.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from functions.connectors.http import route_host
from functions.flow_names import FlowName
from sandbox.catalogue import Catalogue
from sandbox.clock import VirtualClock
from sandbox.simulators.base import FaultPlan
from sandbox.simulators.spotify_accounts import SandboxUser
from sandbox.simulators.spotify_ads import ADS_HOST, BASE_URL, SimulatedAdAccount, SpotifyAdsSimulator
from sandbox.simulators.spotify_web import SpotifyWebSimulator

ADS_ACCOUNT = "ads"  # the authorised Spotify account's name in the deployment (`--account ads`)
ADS_USER = SandboxUser("larkspur-marketing", "Larkspur & Vine Marketing")  # sample.d/campaigns.json's `ads` account
AD_ACCOUNT = SimulatedAdAccount("7c1e5d2a-9b34-4f6e-8a71-2d5c3b9e0f48", "Larkspur & Vine Books", "3f9a0c1e-5b7d-4e2a-9c84-1d6e2b3a4f50")
# The publisher's own podcast for The Cartographer's Daughter (a Spotify show id): its backlist ads promote it.
COMPANION_SHOWS = {3503: "4rOoJ6Egrf8K2IrywzwOMk"}
CPM = 9.0  # plausible audio CPM in the account's currency
MARKETING_FLOWS = frozenset({FlowName.MILESTONE_DETECTOR, FlowName.CAMPAIGN_PLANNER, FlowName.ADS_REPORT_COLLECTOR})


def marketing_deployment(*, auto_publish: bool = False) -> dict[str, str]:
    """The deployment settings the marketing flows get in the sandbox (CDK context in AWS)."""
    return {
        "SPOTIFY_ADS_ACCOUNT": ADS_ACCOUNT,
        "SPOTIFY_ADS_AD_ACCOUNT_ID": AD_ACCOUNT.id,
        **({"SPOTIFY_ADS_AUTO_PUBLISH": AD_ACCOUNT.id} if auto_publish else {}),
        "MARKETING": json.dumps({"advertiser_name": "Larkspur & Vine", "companion_shows": {str(k): v for k, v in COMPANION_SHOWS.items()}}),
    }


class _PersonTransport(httpx.BaseTransport):
    """A person's browser session in Ads Manager: straight to the simulator's API, as its user."""

    def __init__(self, ads: SpotifyAdsSimulator, user: str):
        self.ads, self.user = ads, user

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        return self.ads.route(request, self.user)


@dataclass(frozen=True)
class PersonAction:
    at: datetime
    work_id: int
    milestone: str
    outcome: str


@dataclass
class MarketingSandbox:
    clock: VirtualClock
    catalogue: Catalogue
    spotify: SpotifyWebSimulator
    seed: int
    faults: float
    ads: SpotifyAdsSimulator = field(init=False)
    person_actions: list[PersonAction] = field(default_factory=list)
    delivery_recorded: dict[str, int] = field(default_factory=dict)  # day -> ads with figures
    _pending_publishes: list[Any] = field(default_factory=list)
    _delivered_through: date | None = None

    def __post_init__(self) -> None:
        def verify(token: str) -> str | None:
            issued = self.spotify.accounts.verify(token)
            return issued.user_id if issued is not None else None

        self.ads = SpotifyAdsSimulator(
            self.clock,
            token_verifier=verify,
            ad_accounts=[AD_ACCOUNT],
            account_access={ADS_USER.id: [AD_ACCOUNT.id]},
            seed=self.seed,
            faults=FaultPlan(rate=self.faults, seed=self.seed * 31 + 5),
        )
        route_host(ADS_HOST, self.ads)
        self._pending_publishes = sorted(self.catalogue.ads_manager_publishes, key=self.catalogue.due_at)
        self._delivered_through = self.clock.now().date() - timedelta(days=1)

    # every tick ----------------------------------------------------------------------------------------
    def tick(self, now: datetime) -> None:
        while self._pending_publishes and self.catalogue.due_at(self._pending_publishes[0]) <= now:
            action = self._pending_publishes.pop(0)
            self.person_actions.append(PersonAction(now, action.work_id, action.milestone, self.publish_as_person(action.work_id, action.milestone)))
        yesterday = now.date() - timedelta(days=1)
        if self._delivered_through is not None and yesterday > self._delivered_through:
            day = self._delivered_through + timedelta(days=1)
            while day <= yesterday:
                self.deliver(day)
                day += timedelta(days=1)
            self._delivered_through = yesterday

    def person_request(self, method: str, path: str, **options: Any) -> httpx.Response:
        """One click of a person in Ads Manager, as an Ads API request (a test's way to act as them)."""
        with self._person_client() as client:
            return client.request(method, path, **options)

    def _person_client(self) -> httpx.Client:
        # the session's bearer is only for the contract check: the transport acts as the user already
        session = {"Authorization": "Bearer ads-manager-session"}
        return httpx.Client(transport=_PersonTransport(self.ads, ADS_USER.id), base_url=BASE_URL, headers=session)

    def publish_as_person(self, work_id: int, milestone: str) -> str:
        """What a person does in Ads Manager: open the title's draft campaign and publish it."""
        marker = f"cs:{work_id}:{milestone} "
        with self._person_client() as client:
            drafts = client.get(f"/ad_accounts/{AD_ACCOUNT.id}/drafts/campaigns", params={"limit": 50}).json()["campaign_drafts"]
            draft = next((d for d in drafts if str(d.get("name", "")).startswith(marker)), None)
            if draft is None:
                return "no draft campaign to publish"
            version = client.get(f"/ad_accounts/{AD_ACCOUNT.id}/drafts/campaigns/{draft['id']}").json()["draft_hierarchy_version"]
            answer = client.post(
                f"/ad_accounts/{AD_ACCOUNT.id}/drafts/campaigns/{draft['id']}", json={"action": "PUBLISH", "draft_hierarchy_version": version}
            )
        if answer.status_code != 200:
            return f"publish refused: {answer.text[:200]}"
        return f"published campaign {draft['id']}"

    def deliver(self, day: date) -> None:
        """One day's figures for every live ad whose ad set runs that day (campaign not paused)."""
        state = self.ads.state()
        campaigns = {c["id"]: c for c in state["campaigns"]}
        ad_sets = {s["id"]: s for s in state["ad_sets"]}
        delivered = 0
        for ad in state["ads"]:
            ad_set = ad_sets.get(ad["ad_set_id"])
            if ad_set is None or campaigns.get(ad_set["campaign_id"], {}).get("status") != "ACTIVE" or ad_set.get("delivery") == "OFF":
                continue
            starts, ends = _day(ad_set["start_time"]), _day(ad_set.get("end_time"))
            if starts is None or day < starts or (ends is not None and day >= ends):
                continue
            self.ads.record_delivery(ad["id"], day, daily_figures(ad_set, day, f"{self.seed}:{ad['id']}:{day}"))
            delivered += 1
        self.delivery_recorded[day.isoformat()] = delivered


def daily_figures(ad_set: dict[str, Any], day: date, seed: str) -> dict[str, float]:
    """A plausible day of an audio ad: the ad set's budget spread over its days, bought at a CPM."""
    rng = random.Random(seed)
    starts, ends = _day(ad_set["start_time"]), _day(ad_set.get("end_time"))
    days = max(1, (ends - starts).days) if ends is not None and starts is not None else 30
    spend = ad_set["budget"]["micro_amount"] / 1_000_000 / days * rng.uniform(0.85, 1.0)
    impressions = round(spend / CPM * 1000)
    reach = round(impressions * rng.uniform(0.62, 0.78))
    listeners = round(reach * rng.uniform(0.03, 0.07))
    return {
        "IMPRESSIONS": impressions,
        "REACH": reach,
        "FIRST_QUARTILES": round(impressions * 0.92),
        "MIDPOINTS": round(impressions * 0.81),
        "THIRD_QUARTILES": round(impressions * 0.72),
        "COMPLETES": round(impressions * rng.uniform(0.58, 0.68)),
        "CLICKS": round(impressions * rng.uniform(0.002, 0.006)),
        "LISTENERS": listeners,
        "NEW_LISTENERS": round(listeners * rng.uniform(0.3, 0.5)),
        "STREAMS": round(listeners * rng.uniform(1.2, 2.0)),
        "SPEND": round(spend, 2),
    }


def _day(stamp: str | None) -> date | None:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).date() if stamp else None


# ------------------------------------------------------------------------------------------ report
def campaigns_report(world: Any) -> dict[str, Any]:
    """The report's `campaigns` section: per title and milestone, what the detector announced and what
    stands on the Ads API (draft ids, validation, brief link); the Ads API's totals; the person's
    clicks; the delivery recorded and the daily facts the collector wrote."""
    marketing: MarketingSandbox | None = getattr(world, "marketing", None)
    if marketing is None:
        return {}
    from functions.state.ledger import SyncLedger
    from functions.state.targets import MILESTONE, SPOTIFY_ADS
    from infra.flows import Bucket, Table

    ledger = SyncLedger(world.resources.tables[Table.LEDGER])
    announced = {e.entity: e for e in ledger.scan(MILESTONE)}
    campaigns = {e.entity: e for e in ledger.scan(SPOTIFY_ADS)}
    rows = []
    for key in sorted(set(announced) | set(campaigns)):
        milestone, campaign = announced.get(key), campaigns.get(key)
        title = milestone.state.title if milestone is not None else None
        state = campaign.state if campaign is not None else None
        rows.append(
            {
                "entity": key,
                "work_id": title.work_id if title else None,
                "title": title.title if title else None,
                "milestone": key.split(":", 1)[1],
                "announced": str(milestone.status) if milestone else None,
                "revision": milestone.state.revision if milestone else None,
                "window": milestone.state.window.model_dump(mode="json") if milestone and milestone.state.window else None,
                "campaign_status": str(campaign.status) if campaign else None,
                "reason": campaign.status_reason if campaign else None,
                "draft_ids": {
                    "campaign": state.campaign_id if state else None,
                    "ad_sets": {c: e.id for c, e in sorted(state.ad_sets.items())} if state else {},
                    "ads": {c: e.id for c, e in sorted(state.ads.items())} if state else {},
                },
                "validation": state.validation.model_dump(mode="json", exclude={"at"}) if state and state.validation else None,
                "live_status": state.live_status if state else None,
                "published_by": state.published_by if state else None,
                "brief_link": state.brief_link if state else None,
                "findings": [f.code for f in campaign.findings] if campaign else [],
            }
        )
    ads = marketing.ads.state()
    bucket = world.resources.buckets.get(Bucket.ANALYTICS)
    facts_objects = _keys(bucket, "facts/source=spotify_ads/") if bucket else []
    return {
        "milestones": rows,
        "ads_api": {
            "draft_campaigns": len(ads["draft_campaigns"]),
            "draft_ad_sets": len(ads["draft_ad_sets"]),
            "draft_ads": len(ads["draft_ads"]),
            "live_campaigns": len(ads["campaigns"]),
            "live_ad_sets": len(ads["ad_sets"]),
            "assets": len(ads["assets"]),
            "requests_served": ads["requests_served"],
            "idempotent_replays": ads["idempotent_replays"],
            "faults_injected": ads["faults_injected"],
        },
        "ads_manager": [{"at": a.at.isoformat(), "work_id": a.work_id, "milestone": a.milestone, "outcome": a.outcome} for a in marketing.person_actions],
        "delivery_recorded": dict(marketing.delivery_recorded),
        "facts_batches": facts_objects,
        "notes_in_consonance": sum(1 for n in world.consonance.notes_written if "campaign-brief:" in n.internal_markdown),
    }


def campaigns_summary(section: dict[str, Any]) -> list[str]:
    """The summary lines for the campaigns section."""
    if not section:
        return []
    rows = section["milestones"]
    statuses = [r["campaign_status"] for r in rows if r["campaign_status"]]
    drafted = [r for r in rows if r["draft_ids"]["campaign"]]
    valid = sum(1 for r in rows if r["validation"] and r["validation"]["valid"])
    lines = [
        f"Campaigns: {len(rows)} title milestones announced; drafts prepared for {len(drafted)} "
        f"({valid} validated, {statuses.count('invalid')} with validation problems); "
        f"{statuses.count('live')} live, {statuses.count('stopped')} stopped, {statuses.count('needs_person')} need a person",
    ]
    for row in rows:
        validation = row["validation"]
        result = "valid" if validation and validation["valid"] else f"{len(validation['issues'])} problem(s)" if validation else "-"
        lines.append(
            f"  {row['entity']:<26} {row['campaign_status'] or '-':<13} drafts {row['draft_ids']['campaign'] or '-':<36} "
            f"{result:<12} {', '.join(row['findings']) or ''}"
        )
    ads = section["ads_api"]
    lines.append(
        f"  Ads API: {ads['draft_campaigns']} draft / {ads['live_campaigns']} live campaigns, {ads['assets']} creatives; "
        f"delivery on {sum(1 for n in section['delivery_recorded'].values() if n)} days; {len(section['facts_batches'])} daily fact batches"
    )
    return lines


def _keys(bucket: str, prefix: str) -> list[str]:
    import boto3

    pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))
