"""Spotify Ads API v3 (`https://api-partner.spotify.com/ads/v3`) as an httpx transport.

Contract: every request and every response is held to the project's copy of Spotify's OpenAPI document
(`sandbox/specs/spotify-ads-v3.subset.openapi.yml`) with openapi-core. A request the contract rejects is
answered 400 in the API's `ErrorResponse` shape (`{sp_trace_id, messages, error_codes: [{code,
definition}]}`); a response of the simulator's own that the contract rejects raises `ContractViolation`
(a BaseException no `except Exception` catches), so a test or sandbox run stops instead of passing on an
answer the real API could not give.
Statuses an operation does not declare (401, 403, 404, 405, 409, 429, 503) carry `ErrorResponse` too.
Two readings of the contract are the simulator's (inferred): a query parameter the operation does not
declare is a 400 (the facts report this for the targeting look-ups; applied everywhere so a mistyped
parameter cannot pass unseen), and JSON body properties it does not declare are ignored.

Rules, after `../shared/specs/spotify/ADS-API-FACTS.md` (facts marked there as verified unless noted):
- Auth: `Authorization: Bearer <token>`; `token_verifier(token)` names the Spotify user or None → 401.
  A user may use only the ad accounts `account_access` grants → 403 (also for accounts that do not exist,
  so ids are not disclosed).
- Rate limit per user over a rolling window → 429 with `Retry-After` (whole seconds, rounded up) and
  `X-RateLimit-Remaining: 0`; an optional stricter window for reporting. Numbers are not published
  (older docs: 1,500 requests per 30 s per client), so both are settings.
- Draft hierarchy: draft campaign → draft ad sets → draft ads. `draft_hierarchy_version` lives on the
  draft campaign, starts at 1 and goes up on every create, edit or delete in its tree. VALIDATE and
  PUBLISH (`POST .../drafts/campaigns/{id}`) need the current version: a missing one is 400
  `MISSING.DRAFT_HIERARCHY_VERSION`, a stale one `INVALID.DRAFT_HIERARCHY_VERSION.STALE` with status
  `stale_hierarchy_status` (400 by default: the operation declares 400 and no 409; inferred).
- VALIDATE/PUBLISH check the whole tree (rules below); violations answer 400 with
  `{"campaign": null, "validation_errors": [{validation_entity_type, validation_entity_id, message,
  error_codes: [...]}]}` — the shape of the recorded VALIDATE 400 in spotify/ads-agentic-tools. Success is
  200 `{"campaign": ...}`; the real API adds `"validation_errors": null`, which the spec's schema does not
  allow (not nullable), so the simulator leaves the key out. PUBLISH creates live entities with the same
  ids and removes the drafts (inferred: the draft has become the live entity).
- Live entities cannot be deleted (no DELETE in the contract → 405); campaigns are paused or archived by
  `status`, ad sets and ads by `delivery: OFF`. An ad set PATCH with `delivery` must carry nothing else.
  Nothing under an archived campaign can be edited, and an archived campaign stays archived.
- Assets: create (WAITING_UPLOAD) → multipart upload of `media` + `asset_type` (≤ 20 MB) → PROCESSING →
  READY after `asset_processing_seconds` (virtual), or ERROR. The bytes decide: MP3/OGG/WAV for audio
  (duration read with mutagen; longer than `max_audio_duration_ms` → ERROR, Spotify's ads are ≤ 30 s),
  JPEG/PNG for images (size read with Pillow), MP4/QuickTime for video (recognised by its `ftyp` box).
- `Idempotency-Key` on the six create endpoints: the same key with the same method, path and body
  replays the first answer (or, with `idempotent_replay="conflict"`, answers 409
  `IDEMPOTENCY_REQUEST_ALREADY_COMPLETED` with `resource_uri`); the same key with anything else is 409
  `IDEMPOTENCY_KEY_REUSED`. Only successful creates are remembered (a 4xx created nothing), for
  `idempotency_key_ttl_seconds`. Codes from spotify/ads-agentic-tools (not in the spec).
- Lists: `limit` (1–50, default 50) and `offset`, `paging: {page_size, total_results, offset,
  current_page}`, the `name` filter (case-insensitive substring) where the contract has one, sorting by
  `sort_field`/`sort_direction` (default CREATED_AT, DESC).
- 404 bodies are `{"errorCodes": [], "messages": ["Resource not found"]}`: the recorded live form, with the
  camelCase key the facts warn about, so clients learn to read both spellings.
- Aggregate reports: daily figures the sandbox records with `record_delivery`, rows per entity (and per
  day for DAY), `continuation_token` paging (opaque, signed; sent alone). DAY needs midnight stamps and
  at most `max_report_days` (90) between start and end (end day inclusive); LIFETIME truncates to days
  and has the same limit when bounded. HOUR is refused: the simulator keeps daily figures only.
- Faults from `FaultPlan` (500/503/429/timeouts, a timeout possibly after the server acted) in the
  API's error shape.
- Live statuses (inferred): campaigns as set; ad sets and ads PENDING_APPROVAL for `review_seconds`
  after publishing, then ad sets READY before start_time, ACTIVE, COMPLETED after end_time; ads ACTIVE;
  both ARCHIVED with their campaign. Draft defaults: campaign and ad set ACTIVE, ad PENDING (as in the
  ads-agentic-tools fixtures). Live ads report `companion_asset_id`, which their schema requires, as the
  creative's own id when a non-AUDIO ad has none.

Validation rules (reason codes are the simulator's, in the dotted style of the recorded
`INVALID.OBJECTIVE.UNSUPPORTED_OBJECTIVE`):
- campaign: name 2–200 without outer spaces; objective present and not UNSET; at least one ad set.
- ad set: name 2–200, start_time (`YYYY-MM-DDTHH:MM:SSZ`, not in the past), budget {micro_amount > 0,
  type}, end_time after start_time and required for LIFETIME budgets, asset_format (AUDIO/VIDEO/IMAGE),
  targets with placements, bid_strategy not UNSET, bid_micro_amount > 0 for MAX_BID and
  COST_PER_RESULT (the latter also needs a LIFETIME budget and PACING_EVEN), geo_targets.country_code in
  `supported_countries`, region/city/postal ids known in that country, age ranges min ≤ max (13..99 is
  the schema's), podcast_episode_topic_ids known, PODCAST_PROMO with a promotion_target_id; at least one ad.
- ad: name 2–200, advertiser_name 2–25, tagline 2–40 matching `^\\S.*\\S$`, assets.asset_id of the ad
  set's format, companion_asset_id (an IMAGE) for AUDIO ad sets, logo_asset_id an IMAGE, every asset
  READY; companion images square and at least `companion_min_side` px (Spotify's audio ad specs; not in
  the facts sheet, so a setting); call_to_action with an http(s) clickthrough_url (the live schema
  requires one).
Live creates (`POST /campaigns|ad_sets|ads`) apply the same rules at once and answer 400 ErrorResponse.

Sandbox controls: `add_geo`, `record_delivery`, `asset`, `state()` (campaigns, ad sets, ads and assets,
drafts and live, in the API's field names), `received` (every request that arrived) and
`contract.timings`. Ids come from the seed and a counter, so a run repeats.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import io
import json
import math
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal, NoReturn

import httpx

from functions.clock import Clock
from sandbox.simulators.base import FaultPlan, RollingWindowLimit, Simulator, json_response
from sandbox.simulators.megaphone import ReceivedRequest
from sandbox.specs.openapi_contract import (
    CheckedRequest,
    MatchedOperation,
    MethodNotAllowed,
    OpenApiContract,
    UnknownPath,
    load_contract,
)

ADS_HOST = "api-partner.spotify.com"
BASE_PATH = "/ads/v3"
BASE_URL = f"https://{ADS_HOST}{BASE_PATH}"
CONTRACT_PATH = Path(__file__).resolve().parents[1] / "specs" / "spotify-ads-v3.subset.openapi.yml"
ERROR_SCHEMA = "ErrorResponse"

# The 29 topics the spec lists for `podcast_episode_topic_ids`.
EPISODE_TOPICS: tuple[str, ...] = (
    "automotive", "books-and-literature", "business-and-finance", "careers", "education",
    "events-and-attractions", "family-and-relationships", "fine-art", "food-and-drink", "healthy-living",
    "hobbies-and-interests", "home-and-garden", "medical-health", "movies", "music-and-audio",
    "news-and-politics", "personal-finance", "pets", "pop-culture", "real-estate",
    "religion-and-spirituality", "science", "shopping", "sports", "style-and-fashion",
    "technology-and-computing", "television", "travel", "video-gaming",
)  # fmt: skip

# Ad Studio's markets (ads.spotify.com help centre, "Troubleshooting on Ad Studio"): the default list of
# countries an ad set may target. Which countries the Ads API accepts for targeting is not published, so
# the list is a setting (inferred).
AD_STUDIO_MARKETS: Mapping[str, str] = {
    "AT": "Austria", "AU": "Australia", "BB": "Barbados", "BZ": "Belize", "CA": "Canada", "DE": "Germany",
    "DK": "Denmark", "ES": "Spain", "FI": "Finland", "FR": "France", "GB": "United Kingdom", "GH": "Ghana",
    "GY": "Guyana", "IT": "Italy", "JM": "Jamaica", "KE": "Kenya", "MX": "Mexico", "NG": "Nigeria",
    "NL": "Netherlands", "NO": "Norway", "NZ": "New Zealand", "SE": "Sweden", "SG": "Singapore",
    "TT": "Trinidad and Tobago", "TZ": "Tanzania", "UG": "Uganda", "US": "United States",
}  # fmt: skip

IDEMPOTENT_CREATES = frozenset(
    {"createCampaign", "createAdSet", "createAd", "createCampaignDraft", "createAdSetDraft", "createAdDraft"}
)
REPORT_OPERATIONS = frozenset({"getAggregateReport"})
ALL_PLATFORMS = ["ANDROID", "DESKTOP", "IOS"]
DEFAULT_FREQUENCY_CAPS = [
    {"frequency_unit": "DAY", "frequency_period": 1, "max_impressions": 5},
    {"frequency_unit": "WEEK", "frequency_period": 1, "max_impressions": 35},
    {"frequency_unit": "MONTH", "frequency_period": 1, "max_impressions": 50},
]
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
UTC_SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
NO_OUTER_SPACE = re.compile(r"^\S.*\S$")
ASPECT_RATIOS: Mapping[str, float] = {
    "SQUARE": 1.0,
    "HORIZONTAL_16_9": 16 / 9,
    "HORIZONTAL_1_91_1": 1.91,
    "HORIZONTAL_1_2_1": 1.2,
    "VERTICAL_9_16": 9 / 16,
}

# Aggregate report fields: counts that add up over days and entities, people counts (summed too: the
# simulator cannot know the overlap, so a sum over days or children is an upper bound), and ratios
# derived from them (never recorded). CTR and COMPLETION_RATE are fractions (the spec's sample: 0.61).
ADDITIVE_FIELDS = frozenset(
    {
        "IMPRESSIONS", "CLICKS", "COMPLETES", "FIRST_QUARTILES", "MIDPOINTS", "THIRD_QUARTILES", "STARTS",
        "SKIPS", "SPEND", "STREAMS", "PAID_LISTENS", "VIDEO_VIEWS", "VIDEO_EXPANDS", "UNMUTES",
        "OFF_SPOTIFY_IMPRESSIONS", "STREAMED_IMPRESSIONS", "NEW_LISTENER_STREAMS", "PAGE_VIEWS", "LEADS",
        "ADD_TO_CART", "PURCHASES", "REVENUE", "START_CHECKOUT", "PRODUCTS", "SIGN_UPS",
        "CUSTOM_EVENT_1", "CUSTOM_EVENT_2", "CUSTOM_EVENT_3", "CUSTOM_EVENT_4", "CUSTOM_EVENT_5",
    }
)  # fmt: skip
PEOPLE_FIELDS = frozenset({"REACH", "LISTENERS", "NEW_LISTENERS", "PAID_LISTENS_REACH"})
RECORDABLE_FIELDS = ADDITIVE_FIELDS | PEOPLE_FIELDS
DERIVED_FIELDS: Mapping[str, tuple[str, str, float]] = {
    "CTR": ("CLICKS", "IMPRESSIONS", 1.0),
    "COMPLETION_RATE": ("COMPLETES", "IMPRESSIONS", 1.0),
    "FREQUENCY": ("IMPRESSIONS", "REACH", 1.0),
    "PAID_LISTENS_FREQUENCY": ("PAID_LISTENS", "PAID_LISTENS_REACH", 1.0),
    "STREAMS_PER_USER": ("STREAMS", "LISTENERS", 1.0),
    "STREAMS_PER_NEW_LISTENER": ("NEW_LISTENER_STREAMS", "NEW_LISTENERS", 1.0),
    "CONVERSION_RATE": ("LISTENERS", "REACH", 1.0),
    "NEW_LISTENER_CONVERSION_RATE": ("NEW_LISTENERS", "REACH", 1.0),
    "VIDEO_EXPAND_RATE": ("VIDEO_EXPANDS", "IMPRESSIONS", 1.0),
    "E_CPCL": ("SPEND", "COMPLETES", 1000.0),
    "AVERAGE_ORDER_VALUE": ("REVENUE", "PURCHASES", 1.0),
    "RETURN_ON_AD_SPEND": ("REVENUE", "SPEND", 1.0),
    "CUSTOMER_ACQUISITION_COST": ("SPEND", "PURCHASES", 1.0),
    "COST_PER_LEAD": ("SPEND", "LEADS", 1.0),
}
# "conversion counts as -5 whenever the actual number of conversions is less than 5 and greater than 0"
PRIVACY_FLOORED_FIELDS = frozenset(
    {"PAGE_VIEWS", "LEADS", "ADD_TO_CART", "PURCHASES", "START_CHECKOUT", "PRODUCTS", "SIGN_UPS"}
    | {f"CUSTOM_EVENT_{n}" for n in range(1, 6)}
)

EntityKind = Literal["CAMPAIGN", "AD_SET", "AD"]
PARENT_FIELD: Mapping[str, str] = {"AD_SET": "campaign_id", "AD": "ad_set_id"}
CHILD_KIND: Mapping[str, EntityKind] = {"CAMPAIGN": "AD_SET", "AD_SET": "AD"}


# ------------------------------------------------------------------------------------------ model
@dataclass
class SimulatedAdAccount:
    id: str
    name: str
    business_id: str
    currency_code: str = "GBP"
    country_code: str = "GB"
    status: str = "ACTIVE"


@dataclass(frozen=True)
class Problem:
    """One broken rule: a reason code and a sentence, and the entity it is about (for VALIDATE)."""

    code: str
    message: str
    entity_type: str = ""
    entity_id: str = ""


@dataclass(frozen=True)
class MediaFacts:
    """What the simulator read from uploaded bytes: the metadata a READY asset reports, or why not."""

    file_type: str | None = None
    duration_ms: int | None = None
    width: int | None = None
    height: int | None = None
    aspect_ratio: str | None = None
    failure: str | None = None


@dataclass
class _Entity:
    kind: EntityKind
    id: str
    account_id: str
    fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    sequence: int
    published_at: datetime | None = None

    @property
    def parent_id(self) -> str | None:
        field_name = PARENT_FIELD.get(self.kind)
        return str(self.fields[field_name]) if field_name and self.fields.get(field_name) else None


@dataclass
class _Asset:
    id: str
    account_id: str
    asset_type: str
    name: str
    subtype: str | None
    created_at: datetime
    updated_at: datetime
    sequence: int
    status: str = "WAITING_UPLOAD"
    ready_at: datetime | None = None
    facts: MediaFacts | None = None


@dataclass
class _Remembered:
    """A create answered under an Idempotency-Key."""

    fingerprint: str
    status: int
    body: bytes
    resource_uri: str
    at: datetime


@dataclass
class _Call:
    request: httpx.Request
    user: str
    operation: MatchedOperation
    query: dict[str, Any]
    body: Any

    @property
    def account_id(self) -> str:
        return self.operation.path_params["ad_account_id"]

    def path(self, name: str) -> str:
        return self.operation.path_params[name]

    def sent(self, name: str) -> bool:
        """Did the client send this query parameter (rather than openapi-core filling in its default)?"""
        return name in self.request.url.params


@dataclass
class _ReportQuery:
    entity_type: str
    fields: list[str]
    granularity: str
    start: date | None
    end: date | None
    entity_ids: list[str]
    entity_ids_type: str | None
    statuses: list[str]
    entity_status_type: str | None
    include_parent_entity: bool
    limit: int

    def to_json(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> _ReportQuery:
        values = dict(data)
        values["start"] = date.fromisoformat(values["start"]) if values.get("start") else None
        values["end"] = date.fromisoformat(values["end"]) if values.get("end") else None
        return cls(**values)


class _Refusal(Exception):
    """Raised inside a handler to answer with an error response at once."""

    def __init__(self, response: httpx.Response):
        super().__init__(response.status_code)
        self.response = response


# ------------------------------------------------------------------------------------------ simulator
class SpotifyAdsSimulator(Simulator):
    service = "spotify-ads"

    def __init__(
        self,
        clock: Clock,
        *,
        token_verifier: Callable[[str], str | None],
        ad_accounts: Iterable[SimulatedAdAccount],
        account_access: Mapping[str, Iterable[str]],
        seed: int = 0,
        faults: FaultPlan | None = None,
        requests_per_window: int | None = 1500,
        window_seconds: float = 30.0,
        report_requests_per_window: int | None = None,
        report_window_seconds: float = 30.0,
        supported_countries: Mapping[str, str] | Iterable[str] = AD_STUDIO_MARKETS,
        episode_topics: Iterable[str] = EPISODE_TOPICS,
        asset_processing_seconds: float = 60.0,
        max_audio_duration_ms: int | None = 30_000,
        companion_min_side: int | None = 640,
        review_seconds: float = 3600.0,
        stale_hierarchy_status: int = 400,
        idempotent_replay: Literal["replay", "conflict"] = "replay",
        idempotency_key_ttl_seconds: float = 24 * 3600.0,
        max_report_days: int = 90,
        max_upload_bytes: int = MAX_UPLOAD_BYTES,
        contract_path: Path = CONTRACT_PATH,
    ):
        """`token_verifier` maps an access token to its Spotify user id (None: not a valid token);
        `account_access` maps a user id to the ad account ids the user may use. `requests_per_window`
        None turns the per-user limit off; `report_requests_per_window` adds a stricter window for
        reporting. `supported_countries` are the targetable countries (code → name)."""
        limit = RollingWindowLimit(clock, requests_per_window, window_seconds) if requests_per_window else None
        super().__init__(clock, faults=faults, rate_limit=limit)
        self.token_verifier = token_verifier
        self.accounts = {account.id: account for account in ad_accounts}
        self.account_access = {user: frozenset(ids) for user, ids in account_access.items()}
        unknown = {account for ids in self.account_access.values() for account in ids} - set(self.accounts)
        if unknown:
            raise ValueError(f"account_access names unknown ad accounts: {sorted(unknown)}")
        self.seed = seed
        self.report_rate_limit = (
            RollingWindowLimit(clock, report_requests_per_window, report_window_seconds) if report_requests_per_window else None
        )
        countries = supported_countries if isinstance(supported_countries, Mapping) else {c: c for c in supported_countries}
        self.supported_countries: dict[str, str] = dict(countries)
        self.episode_topics = tuple(episode_topics)
        self.asset_processing_seconds = asset_processing_seconds
        self.max_audio_duration_ms = max_audio_duration_ms
        self.companion_min_side = companion_min_side
        self.review_seconds = review_seconds
        if stale_hierarchy_status not in (400, 409):
            raise ValueError("stale_hierarchy_status is 400 or 409")
        self.stale_hierarchy_status = stale_hierarchy_status
        self.idempotent_replay = idempotent_replay
        self.idempotency_key_ttl_seconds = idempotency_key_ttl_seconds
        self.max_report_days = max_report_days
        self.max_upload_bytes = max_upload_bytes
        self.contract: OpenApiContract = load_contract(contract_path, ERROR_SCHEMA)
        self.received: list[ReceivedRequest] = []
        self.idempotent_replays = 0
        self.requests_rejected = 0
        self._lock = threading.RLock()
        self._counter = 0
        self._drafts: dict[str, _Entity] = {}
        self._deleted_drafts: set[str] = set()
        self._versions: dict[str, int] = {}
        self._live: dict[str, _Entity] = {}
        self._assets: dict[str, _Asset] = {}
        self._remembered: dict[tuple[str, str], _Remembered] = {}
        self._delivery: dict[str, dict[date, dict[str, float]]] = {}
        self._geos: dict[str, dict[str, str]] = {
            code: {"id": code, "name": name, "type": "COUNTRY", "country_code": code}
            for code, name in sorted(self.supported_countries.items())
        }
        self._token_key = hashlib.sha256(f"spotify-ads-continuation:{seed}".encode()).digest()
        self._handlers: dict[str, Callable[[_Call], httpx.Response]] = {
            "getAdAccount": self._get_ad_account,
            "getCampaigns": self._list_campaigns,
            "createCampaign": self._create_campaign,
            "getCampaign": self._get_campaign,
            "updateCampaign": self._update_campaign,
            "getAdSetsByAdAccountId": self._list_ad_sets,
            "createAdSet": self._create_ad_set,
            "getAdSetById": self._get_ad_set,
            "updateAdSet": self._update_ad_set,
            "getAds": self._list_ads,
            "createAd": self._create_ad,
            "getAd": self._get_ad,
            "updateAd": self._update_ad,
            "getCampaignDraftsV3": self._list_draft_campaigns,
            "createCampaignDraft": self._create_draft_campaign,
            "getCampaignDraft": self._get_draft_campaign,
            "updateCampaignDraft": self._update_draft_campaign,
            "publishCampaignDraft": self._publish_draft_campaign,
            "deleteCampaignDraft": self._delete_draft,
            "getAdSetDrafts": self._list_draft_ad_sets,
            "createAdSetDraft": self._create_draft_ad_set,
            "getAdSetDraft": self._get_draft_ad_set,
            "updateAdSetDraft": self._update_draft_ad_set,
            "deleteAdSetDraft": self._delete_draft,
            "getAdDrafts": self._list_draft_ads,
            "createAdDraft": self._create_draft_ad,
            "getAdDraft": self._get_draft_ad,
            "updateAdDraft": self._update_draft_ad,
            "deleteAdDraft": self._delete_draft,
            "getAssetsByAdAccount": self._list_assets,
            "createAsset": self._create_asset,
            "getAsset": self._get_asset,
            "uploadAsset": self._upload_asset,
            "getAggregateReport": self._aggregate_report,
            "getEpisodeTopicTargets": self._episode_topics,
            "getGeoTargets": self._geo_targets,
        }
        in_contract = {operation_id for _, _, operation_id in self.contract.operations()}
        if in_contract != set(self._handlers):
            raise RuntimeError(
                f"handlers and contract disagree: without handler {sorted(in_contract - set(self._handlers))}, "
                f"not in contract {sorted(set(self._handlers) - in_contract)}"
            )

    # ====================================================================================== sandbox
    def add_geo(self, geo_id: str, name: str, geo_type: str, country_code: str, parent_geo_name: str | None = None) -> None:
        """A region, city or postal code the geo look-up finds and ad sets may target."""
        with self._lock:
            geo = {"id": geo_id, "name": name, "type": geo_type, "country_code": country_code}
            if parent_geo_name:
                geo["parent_geo_name"] = parent_geo_name
            self._geos[geo_id] = geo

    def record_delivery(self, entity_id: str, day: date, stats: Mapping[str, float]) -> None:
        """Set a live campaign's, ad set's or ad's figures for one UTC day (replacing that day's), in
        report field names: counts from `ADDITIVE_FIELDS`, people from `PEOPLE_FIELDS`; ratios (CTR,
        COMPLETION_RATE, FREQUENCY, ...) are derived. An entity without figures of its own for a day
        reports the sum of its children's."""
        unknown = set(stats) - RECORDABLE_FIELDS
        if unknown:
            derived = unknown & set(DERIVED_FIELDS)
            hint = f" ({sorted(derived)} are derived from counts)" if derived else ""
            raise ValueError(f"not recordable report fields: {sorted(unknown)}{hint}")
        negative = {name for name, value in stats.items() if value < 0}
        if negative:
            raise ValueError(f"report figures cannot be negative: {sorted(negative)}")
        with self._lock:
            if entity_id not in self._live:
                raise KeyError(f"no live campaign, ad set or ad {entity_id}")
            self._delivery.setdefault(entity_id, {})[day] = {name: float(value) for name, value in stats.items()}

    def asset(self, asset_id: str) -> dict[str, Any]:
        """An asset as `GET .../assets/{id}` shows it now."""
        with self._lock:
            return self._asset_json(self._assets[asset_id])

    def state(self) -> dict[str, Any]:
        """Everything on the Ads API, in its field names, for the sandbox report."""
        with self._lock:
            drafts = list(self._drafts.values())
            live = list(self._live.values())
            return {
                "ad_accounts": [self._account_json(account, None) for account in self.accounts.values()],
                "draft_campaigns": [self._draft_json(e) for e in drafts if e.kind == "CAMPAIGN"],
                "draft_ad_sets": [self._draft_json(e) for e in drafts if e.kind == "AD_SET"],
                "draft_ads": [self._draft_json(e) for e in drafts if e.kind == "AD"],
                "campaigns": [self._live_json(e) for e in live if e.kind == "CAMPAIGN"],
                "ad_sets": [self._live_json(e) for e in live if e.kind == "AD_SET"],
                "ads": [self._live_json(e) for e in live if e.kind == "AD"],
                "assets": [self._asset_json(asset) for asset in self._assets.values()],
                "delivery_days": sum(len(days) for days in self._delivery.values()),
                "requests_served": self.requests_served,
                "requests_rejected": self.requests_rejected,
                "idempotent_replays": self.idempotent_replays,
                "rate_limited": (self.rate_limit.rejected if self.rate_limit else 0)
                + (self.report_rate_limit.rejected if self.report_rate_limit else 0),
                "faults_injected": dict(self.faults.injected),
            }

    # ====================================================================================== transport
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.received.append(ReceivedRequest(request.method, request.url.path, request.url.query.decode(), self.clock.now()))
        response = super().handle_request(request)
        if not response.extensions.get("contract_checked"):
            self.contract.check_response(request, response)  # 401, 429 and injected faults
        return response

    def authenticate(self, request: httpx.Request) -> str | httpx.Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self._error(401, "UNAUTHENTICATED", "No bearer token: send Authorization: Bearer <access token>.")
        user = self.token_verifier(token.strip())
        if user is None:
            return self._error(401, "UNAUTHENTICATED", "The access token is invalid or expired.")
        return user

    def rate_limited_response(self, retry_after: float) -> httpx.Response:
        return self._error(
            429,
            "RATE_LIMIT_EXCEEDED",
            "Too many requests; retry after the time in Retry-After.",
            headers={"Retry-After": str(max(1, math.ceil(retry_after))), "X-RateLimit-Remaining": "0"},
        )

    def fault_response(self, kind: str) -> httpx.Response:
        if kind == "429":
            return self.rate_limited_response(self.faults.retry_after_seconds)
        messages = {"500": "Internal server error.", "502": "Bad gateway.", "503": "Service unavailable."}
        return self._error(int(kind), "INTERNAL" if kind == "500" else "UNAVAILABLE", messages.get(kind, "Server error."))

    def route(self, request: httpx.Request, credential: str) -> httpx.Response:
        with self._lock:
            response = self._answer(request, credential)
        self.contract.check_response(request, response)
        response.extensions["contract_checked"] = True
        return response

    def _answer(self, request: httpx.Request, user: str) -> httpx.Response:
        if request.url.host != ADS_HOST or not request.url.path.startswith(BASE_PATH + "/"):
            return _not_found()
        try:
            operation = self.contract.operation(request)
        except UnknownPath:
            return _not_found()
        except MethodNotAllowed:
            return self._error(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed on {request.url.path}.")
        account_id = operation.path_params.get("ad_account_id")
        if account_id is not None and account_id not in self.account_access.get(user, frozenset()):
            return self._error(403, "PERMISSION_DENIED", f"The user may not use ad account {account_id}.")
        checked = self.contract.check_request(request, operation)
        if checked.problems:
            self.requests_rejected += 1
            return self._error_list(400, [("INVALID_ARGUMENT", problem) for problem in checked.problems])
        if operation.operation_id in REPORT_OPERATIONS and self.report_rate_limit is not None:
            wait = self.report_rate_limit.admit(user)
            if wait is not None:
                return self.rate_limited_response(wait)
        call = _Call(request, user, operation, _utc(checked.query), self._body(operation, checked))
        key = request.headers.get("Idempotency-Key")
        if key and operation.operation_id in IDEMPOTENT_CREATES:
            return self._idempotent(call, key)
        return self._dispatch(call)

    def _dispatch(self, call: _Call) -> httpx.Response:
        try:
            return self._handlers[call.operation.operation_id](call)
        except _Refusal as refusal:
            if refusal.response.status_code == 400:
                self.requests_rejected += 1
            return refusal.response

    @staticmethod
    def _body(operation: MatchedOperation, checked: CheckedRequest) -> Any:
        """The parsed body, keeping of a JSON object only the properties the contract declares for the
        operation (others are ignored, as a lenient JSON deserialiser does; inferred)."""
        if isinstance(checked.body, dict) and operation.body_properties:
            return {key: value for key, value in checked.body.items() if key in operation.body_properties}
        return checked.body

    # ------------------------------------------------------------------------ idempotency
    def _idempotent(self, call: _Call, key: str) -> httpx.Response:
        body = json.dumps(call.body, sort_keys=True, separators=(",", ":"))
        fingerprint = hashlib.sha256(f"{call.request.method}|{call.request.url.path}|{body}".encode()).hexdigest()
        now = self.clock.now()
        remembered = self._remembered.get((call.user, key))
        if remembered is not None and (now - remembered.at).total_seconds() > self.idempotency_key_ttl_seconds:
            del self._remembered[(call.user, key)]
            remembered = None
        if remembered is not None:
            if remembered.fingerprint != fingerprint:
                return self._error(
                    409,
                    "IDEMPOTENCY_KEY_REUSED",
                    "This Idempotency-Key was used with a different request; do not retry, send a new key.",
                    extra={"error_code": "IDEMPOTENCY_KEY_REUSED"},
                )
            self.idempotent_replays += 1
            if self.idempotent_replay == "conflict":
                return self._error(
                    409,
                    "IDEMPOTENCY_REQUEST_ALREADY_COMPLETED",
                    "The request with this Idempotency-Key was completed; GET resource_uri.",
                    extra={"error_code": "IDEMPOTENCY_REQUEST_ALREADY_COMPLETED", "resource_uri": remembered.resource_uri},
                )
            return httpx.Response(remembered.status, headers={"Content-Type": "application/json"}, content=remembered.body)
        response = self._dispatch(call)
        if 200 <= response.status_code < 300:
            created = json.loads(response.content)
            resource_uri = f"{BASE_URL}{call.request.url.path.removeprefix(BASE_PATH)}/{created['id']}"
            self._remembered[(call.user, key)] = _Remembered(
                fingerprint, response.status_code, response.content, resource_uri, now
            )
        return response

    # ====================================================================================== ad account
    def _get_ad_account(self, call: _Call) -> httpx.Response:
        return json_response(200, self._account_json(self.accounts[call.account_id], call.user))

    def _account_json(self, account: SimulatedAdAccount, user: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": account.id,
            "business_id": account.business_id,
            "name": account.name,
            "status": account.status,
            "country_code": account.country_code,
            "currency_code": account.currency_code,
        }
        if user is not None:
            body["ad_account_role"] = "AD_ACCOUNT_ADMIN"
        return body

    # ====================================================================================== drafts
    def _create_draft_campaign(self, call: _Call) -> httpx.Response:
        entity = self._new_entity("CAMPAIGN", call.account_id, call.body, self._drafts)
        self._versions[entity.id] = 1
        return json_response(200, self._draft_json(entity))

    def _create_draft_ad_set(self, call: _Call) -> httpx.Response:
        self._draft_parent(call, "CAMPAIGN", "campaign_id")
        entity = self._new_entity("AD_SET", call.account_id, call.body, self._drafts)
        self._bump(entity)
        return json_response(200, self._draft_json(entity))

    def _create_draft_ad(self, call: _Call) -> httpx.Response:
        self._draft_parent(call, "AD_SET", "ad_set_id")
        entity = self._new_entity("AD", call.account_id, call.body, self._drafts)
        self._bump(entity)
        return json_response(200, self._draft_json(entity))

    def _draft_parent(self, call: _Call, kind: EntityKind, field_name: str) -> _Entity:
        parent = self._drafts.get(str(call.body[field_name]))
        if parent is None or parent.kind != kind or parent.account_id != call.account_id:
            raise _Refusal(
                self._error(
                    400,
                    f"INVALID.{field_name.upper()}.NOT_FOUND",
                    f"{field_name} {call.body[field_name]} is not a draft in this ad account.",
                )
            )
        return parent

    def _get_draft_campaign(self, call: _Call) -> httpx.Response:
        return json_response(200, self._draft_json(self._draft(call, "CAMPAIGN", "draft_campaign_id")))

    def _get_draft_ad_set(self, call: _Call) -> httpx.Response:
        return json_response(200, self._draft_json(self._draft(call, "AD_SET", "draft_ad_set_id")))

    def _get_draft_ad(self, call: _Call) -> httpx.Response:
        return json_response(200, self._draft_json(self._draft(call, "AD", "draft_ad_id")))

    def _update_draft_campaign(self, call: _Call) -> httpx.Response:
        return self._update_draft(call, self._draft(call, "CAMPAIGN", "draft_campaign_id"))

    def _update_draft_ad_set(self, call: _Call) -> httpx.Response:
        return self._update_draft(call, self._draft(call, "AD_SET", "draft_ad_set_id"))

    def _update_draft_ad(self, call: _Call) -> httpx.Response:
        return self._update_draft(call, self._draft(call, "AD", "draft_ad_id"))

    def _update_draft(self, call: _Call, entity: _Entity) -> httpx.Response:
        entity.fields.update(call.body)
        entity.updated_at = self._now()
        self._bump(entity)
        return json_response(200, self._draft_json(entity))

    def _delete_draft(self, call: _Call) -> httpx.Response:
        name = next(name for name in call.operation.path_params if name.startswith("draft_"))
        draft_id = call.path(name)
        if draft_id in self._deleted_drafts:
            return httpx.Response(204)  # deleting again is safe
        kind: EntityKind = {"draft_campaign_id": "CAMPAIGN", "draft_ad_set_id": "AD_SET", "draft_ad_id": "AD"}[name]  # type: ignore[assignment]
        entity = self._draft(call, kind, name)
        self._bump(entity)
        for gone in [entity, *self._descendants(entity, self._drafts)]:
            del self._drafts[gone.id]
            self._deleted_drafts.add(gone.id)
            self._versions.pop(gone.id, None)
        return httpx.Response(204)

    def _draft(self, call: _Call, kind: EntityKind, path_name: str) -> _Entity:
        entity = self._drafts.get(call.path(path_name))
        if entity is None or entity.kind != kind or entity.account_id != call.account_id:
            raise _Refusal(_not_found())
        return entity

    def _bump(self, entity: _Entity) -> None:
        """A create, edit or delete anywhere in a draft tree moves its campaign's hierarchy version on."""
        campaign = self._root(entity, self._drafts)
        if campaign is not None and campaign.id in self._versions:
            self._versions[campaign.id] += 1

    def _list_draft_campaigns(self, call: _Call) -> httpx.Response:
        items = [self._draft_json(e) for e in self._drafts.values() if e.kind == "CAMPAIGN" and e.account_id == call.account_id]
        items = _filtered(items, call.query, {"campaign_ids": "id", "statuses": "status", "channel": "channel"})
        return self._page(call, items, "campaign_drafts", default_sort="CREATED_AT")

    def _list_draft_ad_sets(self, call: _Call) -> httpx.Response:
        items = [self._draft_json(e) for e in self._drafts.values() if e.kind == "AD_SET" and e.account_id == call.account_id]
        items = _filtered(items, call.query, {"campaign_ids": "campaign_id", "statuses": "status"})
        return self._page(call, items, "ad_set_drafts", default_sort="CREATED_AT")

    def _list_draft_ads(self, call: _Call) -> httpx.Response:
        items = [self._draft_json(e) for e in self._drafts.values() if e.kind == "AD" and e.account_id == call.account_id]
        items = _filtered(items, call.query, {"ad_set_ids": "ad_set_id", "statuses": "status"})
        return self._page(call, items, "ad_drafts", default_sort="CREATED_AT")

    def _draft_json(self, entity: _Entity) -> dict[str, Any]:
        body = {key: copy.deepcopy(value) for key, value in entity.fields.items() if value is not None}
        body.update(id=entity.id, created_at=_iso(entity.created_at), updated_at=_iso(entity.updated_at))
        if entity.kind == "CAMPAIGN":
            body.setdefault("status", "ACTIVE")
            body.update(
                ad_account_id=entity.account_id,
                needs_advertiser_review=False,
                modified_by_role="ADVERTISER",
                draft_hierarchy_version=self._versions[entity.id],
            )
        elif entity.kind == "AD_SET":
            body.setdefault("status", "ACTIVE")
        else:
            body.setdefault("status", "PENDING")
        return body

    # ------------------------------------------------------------------------ validate / publish
    def _publish_draft_campaign(self, call: _Call) -> httpx.Response:
        campaign = self._draft(call, "CAMPAIGN", "draft_campaign_id")
        action = call.body.get("action", "VALIDATE")
        version = call.body.get("draft_hierarchy_version")
        current = self._versions[campaign.id]
        if version is None:
            return self._error(
                400,
                "MISSING.DRAFT_HIERARCHY_VERSION",
                f"draft_hierarchy_version is required; the hierarchy is at version {current}.",
            )
        if version != current:
            return self._error(
                self.stale_hierarchy_status,
                "INVALID.DRAFT_HIERARCHY_VERSION.STALE",
                f"draft_hierarchy_version {version} is stale; the hierarchy is at version {current}. "
                "GET the draft campaign again.",
            )
        problems = self._hierarchy_problems(campaign)
        if problems:
            self.requests_rejected += 1
            return json_response(
                400,
                {
                    "campaign": None,
                    "validation_errors": [
                        {
                            "validation_entity_type": problem.entity_type,
                            "validation_entity_id": problem.entity_id,
                            "message": problem.message,
                            "error_codes": [problem.code],
                        }
                        for problem in problems
                    ],
                },
            )
        if action == "VALIDATE":
            return json_response(200, {"campaign": self._campaign_response(campaign)})
        return json_response(200, {"campaign": self._live_json(self._publish(campaign))})

    def _publish(self, campaign: _Entity) -> _Entity:
        now = self._now()
        tree = [campaign, *self._descendants(campaign, self._drafts)]
        for draft in tree:
            fields = copy.deepcopy(draft.fields)
            if draft.kind == "CAMPAIGN":
                fields["status"] = fields.get("status") if fields.get("status") in ("ACTIVE", "PAUSED") else "ACTIVE"
            self._counter += 1
            self._live[draft.id] = _Entity(
                draft.kind, draft.id, draft.account_id, fields, draft.created_at, now, self._counter, published_at=now
            )
            del self._drafts[draft.id]
        del self._versions[campaign.id]
        return self._live[campaign.id]

    def _hierarchy_problems(self, campaign: _Entity) -> list[Problem]:
        problems = self._campaign_problems(campaign.fields, campaign.id)
        ad_sets = self._children(campaign, self._drafts)
        if not ad_sets:
            problems.append(Problem("MISSING.CAMPAIGN.AD_SETS", "A campaign needs at least one ad set.", "CAMPAIGN", campaign.id))
        for ad_set in ad_sets:
            problems.extend(self._ad_set_problems(ad_set.fields, ad_set.account_id, ad_set.id))
            ads = self._children(ad_set, self._drafts)
            if not ads:
                problems.append(Problem("MISSING.AD_SET.ADS", "An ad set needs at least one ad.", "AD_SET", ad_set.id))
            for ad in ads:
                problems.extend(self._ad_problems(ad.fields, ad_set.fields, ad.account_id, ad.id))
        return problems

    # ====================================================================================== live
    def _create_campaign(self, call: _Call) -> httpx.Response:
        self._refuse_problems(self._campaign_problems(call.body, ""))
        entity = self._new_entity("CAMPAIGN", call.account_id, {**call.body, "status": "ACTIVE"}, self._live)
        entity.published_at = entity.created_at
        return json_response(200, self._live_json(entity))

    def _create_ad_set(self, call: _Call) -> httpx.Response:
        campaign_id = call.body.get("campaign_id")
        if not campaign_id:
            raise _Refusal(self._error(400, "MISSING.AD_SET.CAMPAIGN_ID", "campaign_id is required."))
        campaign = self._live_entity(call, "CAMPAIGN", str(campaign_id), in_body=True)
        self._refuse_if_archived(campaign)
        self._refuse_problems(self._ad_set_problems(call.body, call.account_id, ""))
        entity = self._new_entity("AD_SET", call.account_id, call.body, self._live)
        entity.published_at = entity.created_at
        return json_response(201, self._live_json(entity))

    def _create_ad(self, call: _Call) -> httpx.Response:
        ad_set = self._live_entity(call, "AD_SET", str(call.body["ad_set_id"]), in_body=True)
        self._refuse_if_archived(ad_set)
        self._refuse_problems(self._ad_problems(call.body, ad_set.fields, call.account_id, ""))
        entity = self._new_entity("AD", call.account_id, call.body, self._live)
        entity.published_at = entity.created_at
        return json_response(201, self._live_json(entity))

    def _get_campaign(self, call: _Call) -> httpx.Response:
        entity = self._live_entity(call, "CAMPAIGN", call.path("campaign_id"))
        return json_response(200, _projected(self._live_json(entity), call))

    def _get_ad_set(self, call: _Call) -> httpx.Response:
        return json_response(200, self._live_json(self._live_entity(call, "AD_SET", call.path("ad_set_id"))))

    def _get_ad(self, call: _Call) -> httpx.Response:
        entity = self._live_entity(call, "AD", call.path("ad_id"))
        return json_response(200, _projected(self._live_json(entity), call))

    def _update_campaign(self, call: _Call) -> httpx.Response:
        entity = self._live_entity(call, "CAMPAIGN", call.path("campaign_id"))
        self._refuse_if_archived(entity)
        status = call.body.get("status")
        if status is not None and status not in ("ACTIVE", "PAUSED", "ARCHIVED"):
            raise _Refusal(
                self._error(
                    400, "INVALID.CAMPAIGN_STATUS.NOT_SETTABLE", f"status {status} cannot be set; use ACTIVE, PAUSED or ARCHIVED."
                )
            )
        return self._apply_live_edit(entity, call.body)

    def _update_ad_set(self, call: _Call) -> httpx.Response:
        entity = self._live_entity(call, "AD_SET", call.path("ad_set_id"))
        self._refuse_if_archived(entity)
        if "delivery" in call.body and len(call.body) > 1:
            raise _Refusal(self._error(400, "INVALID.DELIVERY.NOT_ALONE", "delivery must be the only field of an ad set PATCH."))
        if "delivery" not in call.body:
            self._refuse_problems(
                self._ad_set_problems({**entity.fields, **call.body}, entity.account_id, entity.id, live_edit=True)
            )
        return self._apply_live_edit(entity, call.body)

    def _update_ad(self, call: _Call) -> httpx.Response:
        entity = self._live_entity(call, "AD", call.path("ad_id"))
        self._refuse_if_archived(entity)
        ad_set = self._live[str(entity.parent_id)]
        self._refuse_problems(self._ad_problems({**entity.fields, **call.body}, ad_set.fields, entity.account_id, entity.id))
        return self._apply_live_edit(entity, call.body)

    def _apply_live_edit(self, entity: _Entity, changes: Mapping[str, Any]) -> httpx.Response:
        entity.fields.update(copy.deepcopy(dict(changes)))
        entity.updated_at = self._now()
        return json_response(200, self._live_json(entity))

    def _live_entity(self, call: _Call, kind: EntityKind, entity_id: str, in_body: bool = False) -> _Entity:
        entity = self._live.get(entity_id)
        if entity is None or entity.kind != kind or entity.account_id != call.account_id:
            if in_body:
                field_name = {"CAMPAIGN": "campaign_id", "AD_SET": "ad_set_id"}[kind]
                raise _Refusal(
                    self._error(
                        400,
                        f"INVALID.{field_name.upper()}.NOT_FOUND",
                        f"{field_name} {entity_id} is not a live {kind.lower().replace('_', ' ')} in this ad account.",
                    )
                )
            raise _Refusal(_not_found())
        return entity

    def _refuse_if_archived(self, entity: _Entity) -> None:
        campaign = self._root(entity, self._live)
        if campaign is not None and campaign.fields.get("status") == "ARCHIVED":
            raise _Refusal(
                self._error(400, "INVALID.ENTITY.ARCHIVED", "Archived campaigns and everything in them cannot be edited.")
            )

    def _refuse_problems(self, problems: Sequence[Problem]) -> None:
        if problems:
            raise _Refusal(self._error_list(400, [(problem.code, problem.message) for problem in problems]))

    def _list_campaigns(self, call: _Call) -> httpx.Response:
        items = [self._live_json(e) for e in self._live.values() if e.kind == "CAMPAIGN" and e.account_id == call.account_id]
        items = _filtered(items, call.query, {"campaign_ids": "id", "statuses": "status"})
        wanted_ad_set_statuses = set(call.query.get("ad_set_statuses") or [])
        if wanted_ad_set_statuses:
            having = {
                str(e.parent_id)
                for e in self._live.values()
                if e.kind == "AD_SET" and self._live_json(e)["status"] in wanted_ad_set_statuses
            }
            items = [item for item in items if item["id"] in having]
        items = _named(items, call.query.get("name"))
        return self._page(call, [_projected(item, call) for item in items], "campaigns", default_sort="CREATED_AT")

    def _list_ad_sets(self, call: _Call) -> httpx.Response:
        items = [self._live_json(e) for e in self._live.values() if e.kind == "AD_SET" and e.account_id == call.account_id]
        items = _named(
            _filtered(items, call.query, {"campaign_ids": "campaign_id", "statuses": "status"}), call.query.get("name")
        )
        return self._page(call, items, "ad_sets", default_sort="CREATED_AT")

    def _list_ads(self, call: _Call) -> httpx.Response:
        items = [self._live_json(e) for e in self._live.values() if e.kind == "AD" and e.account_id == call.account_id]
        items = _named(_filtered(items, call.query, {"ad_set_ids": "ad_set_id", "statuses": "status"}), call.query.get("name"))
        asset_ids = set(call.query.get("asset_ids") or [])
        if asset_ids:
            items = [item for item in items if asset_ids & set(item["assets"].values())]
        return self._page(call, [_projected(item, call) for item in items], "ads", default_sort="CREATED_AT")

    # ------------------------------------------------------------------------ live json
    def _live_json(self, entity: _Entity) -> dict[str, Any]:
        if entity.kind == "CAMPAIGN":
            return self._campaign_response(entity)
        if entity.kind == "AD_SET":
            return self._ad_set_response(entity)
        return self._ad_response(entity)

    def _campaign_response(self, entity: _Entity) -> dict[str, Any]:
        fields = entity.fields
        body: dict[str, Any] = {"id": entity.id, "created_at": _iso(entity.created_at), "updated_at": _iso(entity.updated_at)}
        for key in ("name", "purchase_order", "objective", "delivery_goal_group"):
            if fields.get(key) is not None:
                body[key] = fields[key]
        body["status"] = fields.get("status") or "ACTIVE"
        return body

    def _ad_set_response(self, entity: _Entity) -> dict[str, Any]:
        fields = entity.fields
        body: dict[str, Any] = {
            key: copy.deepcopy(fields[key])
            for key in (
                "name", "category", "campaign_id", "asset_format", "bid_strategy", "bid_micro_amount",
                "base_rate_micro_amount", "cost_modifiers", "promotion", "mobile_app_id", "delivery_goal",
                "slot_positions", "dataset_id", "video_delivery_formats", "skad_enabled",
            )
            if fields.get(key) is not None
        }  # fmt: skip
        body.update(
            id=entity.id,
            created_at=_iso(entity.created_at),
            updated_at=_iso(entity.updated_at),
            start_time=_iso(_parse_time(fields["start_time"])),
            cost_model="CPM",
            pacing=fields.get("pacing") or "PACING_EVEN",
            frequency_caps=copy.deepcopy(fields.get("frequency_caps") or DEFAULT_FREQUENCY_CAPS),
            budget={**copy.deepcopy(fields["budget"]), "currency": self.accounts[entity.account_id].currency_code},
            delivery=fields.get("delivery") or "ON",
            status=self._live_status(entity),
        )
        if fields.get("end_time"):
            body["end_time"] = _iso(_parse_time(fields["end_time"]))
        targets = copy.deepcopy(fields.get("targets") or {})
        targets["platforms"] = targets.get("platforms") or list(ALL_PLATFORMS)
        body["targets"] = targets
        body["is_paused"] = body["delivery"] == "OFF"
        if body["is_paused"]:
            body["pause_reason"] = "USER_PAUSED"
        return body

    def _ad_response(self, entity: _Entity) -> dict[str, Any]:
        fields = entity.fields
        cta = fields.get("call_to_action") or {}
        key = cta.get("key") or "LEARN_MORE"
        assets = {name: str(value) for name, value in (fields.get("assets") or {}).items() if value}
        # The live schema requires companion_asset_id; formats without one repeat the creative (inferred).
        assets.setdefault("companion_asset_id", assets.get("asset_id", ""))
        body: dict[str, Any] = {
            "id": entity.id,
            "ad_set_id": str(fields["ad_set_id"]),
            "name": fields.get("name"),
            "advertiser_name": fields.get("advertiser_name"),
            "tagline": fields.get("tagline"),
            "assets": assets,
            "call_to_action": {
                "key": key,
                "text": key.replace("_", " ").capitalize(),
                "language": cta.get("language") or "ENGLISH",
                "clickthrough_url": cta.get("clickthrough_url") or "",
            },
            "delivery": fields.get("delivery") or "ON",
            "status": self._live_status(entity),
            "ad_preview_url": f"https://adstudio.spotify.com/ad-preview/{entity.id}",
            "created_at": _iso(entity.created_at),
            "updated_at": _iso(entity.updated_at),
        }
        for time_key in ("start_time", "end_time"):
            if fields.get(time_key):
                body[time_key] = _iso(_parse_time(fields[time_key]))
        if fields.get("third_party_tracking"):
            body["third_party_tracking"] = copy.deepcopy(fields["third_party_tracking"])
        return body

    def _live_status(self, entity: _Entity) -> str:
        """Campaigns: as set. Ad sets and ads: in review for `review_seconds` after publishing, then
        scheduled (READY), running (ACTIVE) and, for ad sets past end_time, COMPLETED; ARCHIVED with
        their campaign."""
        campaign = self._root(entity, self._live)
        if entity.kind == "CAMPAIGN":
            return str(entity.fields.get("status") or "ACTIVE")
        if campaign is not None and campaign.fields.get("status") == "ARCHIVED":
            return "ARCHIVED"
        now = self.clock.now()
        assert entity.published_at is not None
        if (now - entity.published_at).total_seconds() < self.review_seconds:
            return "PENDING_APPROVAL"
        if entity.kind == "AD":
            return "ACTIVE"
        start, end = _parse_time(entity.fields["start_time"]), _parse_time(entity.fields.get("end_time") or "")
        if end is not None and now >= end:
            return "COMPLETED"
        if start is not None and now < start:
            return "READY"
        return "ACTIVE"

    # ====================================================================================== rules
    def _campaign_problems(self, fields: Mapping[str, Any], entity_id: str) -> list[Problem]:
        problems: list[Problem] = []

        def add(code: str, message: str) -> None:
            problems.append(Problem(code, message, "CAMPAIGN", entity_id))

        name = fields.get("name")
        if not name:
            add("MISSING.CAMPAIGN.NAME", "A campaign needs a name.")
        elif not (2 <= len(name) <= 200 and NO_OUTER_SPACE.match(name)):
            add("INVALID.CAMPAIGN_NAME.FORMAT", "A campaign name has 2 to 200 characters and no leading or trailing space.")
        objective = fields.get("objective")
        if objective is None:
            add("MISSING.CAMPAIGN.OBJECTIVE", "A campaign needs an objective.")
        elif objective == "UNSET":
            add("INVALID.OBJECTIVE.UNSUPPORTED_OBJECTIVE", "UNSET is not supported")
        return problems

    def _ad_set_problems(
        self, fields: Mapping[str, Any], account_id: str, entity_id: str, live_edit: bool = False
    ) -> list[Problem]:
        problems: list[Problem] = []

        def add(code: str, message: str) -> None:
            problems.append(Problem(code, message, "AD_SET", entity_id))

        for required in ("name", "start_time", "budget", "asset_format", "targets", "bid_strategy"):
            if fields.get(required) in (None, "", {}):
                add(f"MISSING.AD_SET.{required.upper()}", f"An ad set needs {required}.")
        name = fields.get("name")
        if name and not 2 <= len(name) <= 200:
            add("INVALID.AD_SET_NAME.LENGTH", "An ad set name has 2 to 200 characters.")
        start = self._time_field(fields, "start_time", add)
        end = self._time_field(fields, "end_time", add)
        now = self.clock.now()
        if start is not None and start < now and not live_edit:
            add("INVALID.SCHEDULE.START_IN_PAST", f"start_time {fields['start_time']} is in the past.")
        if start is not None and end is not None and end <= start:
            add("INVALID.SCHEDULE.END_BEFORE_START", "end_time must be after start_time.")
        if end is not None and end <= now:
            add("INVALID.SCHEDULE.END_IN_PAST", f"end_time {fields['end_time']} is in the past.")
        budget = fields.get("budget") or {}
        if fields.get("budget"):
            if not budget.get("type"):
                add("MISSING.BUDGET.TYPE", "budget.type is DAILY or LIFETIME.")
            if not isinstance(budget.get("micro_amount"), int) or budget["micro_amount"] <= 0:
                add(
                    "INVALID.BUDGET.MICRO_AMOUNT",
                    "budget.micro_amount is a positive amount in micro-units (currency × 1,000,000).",
                )
            if budget.get("type") == "LIFETIME" and not fields.get("end_time"):
                add("INVALID.BUDGET.END_TIME_REQUIRED", "end_time is required when budget type is LIFETIME.")
        asset_format = fields.get("asset_format")
        if asset_format == "CATALOG":
            add("INVALID.ASSET_FORMAT.UNSUPPORTED", "CATALOG ad sets are not supported for this ad account.")
        strategy = fields.get("bid_strategy")
        if strategy == "UNSET":
            add("INVALID.BID_STRATEGY.UNSET", "bid_strategy UNSET cannot be used; choose AUTOBID, MAX_BID or COST_PER_RESULT.")
        if strategy in ("MAX_BID", "COST_PER_RESULT"):
            bid = fields.get("bid_micro_amount")
            if not isinstance(bid, int) or bid <= 0:
                add("INVALID.BID_MICRO_AMOUNT.REQUIRED", f"bid_micro_amount (> 0) is required when bid_strategy is {strategy}.")
        if strategy == "COST_PER_RESULT" and (
            budget.get("type") != "LIFETIME" or (fields.get("pacing") or "PACING_EVEN") != "PACING_EVEN"
        ):
            add("INVALID.BID_STRATEGY.COST_PER_RESULT", "COST_PER_RESULT requires a LIFETIME budget and PACING_EVEN.")
        promotion = fields.get("promotion")
        if promotion is not None:
            if not promotion.get("promotion_goal"):
                add("MISSING.PROMOTION.PROMOTION_GOAL", "promotion.promotion_goal is ARTIST_PROMO or PODCAST_PROMO.")
            elif not promotion.get("promotion_target_id"):
                add(
                    "MISSING.PROMOTION.PROMOTION_TARGET_ID",
                    f"{promotion['promotion_goal']} needs promotion_target_id (the artist or show id).",
                )
        if fields.get("targets"):
            problems.extend(
                Problem(code, message, "AD_SET", entity_id) for code, message in self._target_problems(fields["targets"])
            )
        return problems

    def _target_problems(self, targets: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if not targets.get("placements"):
            problems.append(("MISSING.TARGETS.PLACEMENTS", "targets.placements is required: MUSIC and/or PODCAST."))
        geo = targets.get("geo_targets") or {}
        country = geo.get("country_code")
        if not country:
            problems.append(("MISSING.GEO_TARGETS.COUNTRY_CODE", "targets.geo_targets.country_code is required."))
        elif country not in self.supported_countries:
            problems.append(("INVALID.GEO_TARGETS.UNSUPPORTED_COUNTRY", f"Country {country} cannot be targeted."))
        for key, geo_type in (("region_ids", "REGION"), ("city_ids", "CITY"), ("postal_code_ids", "POSTAL_CODE")):
            for geo_id in geo.get(key) or []:
                known = self._geos.get(geo_id)
                if known is None or known["type"] != geo_type or known["country_code"] != country:
                    problems.append(
                        ("INVALID.GEO_TARGETS.UNKNOWN_GEO", f"{key} {geo_id} is not a {geo_type.lower()} of {country}.")
                    )
        for age_range in targets.get("age_ranges") or []:
            low, high = age_range.get("min", 13), age_range.get("max", 99)
            if low > high:
                problems.append(("INVALID.AGE_RANGE.MIN_ABOVE_MAX", f"Age range {low}-{high}: min is above max."))
        unknown_topics = [topic for topic in targets.get("podcast_episode_topic_ids") or [] if topic not in self.episode_topics]
        if unknown_topics:
            problems.append(
                ("INVALID.PODCAST_EPISODE_TOPIC.UNKNOWN", f"Unknown podcast episode topics: {', '.join(unknown_topics)}.")
            )
        return problems

    def _ad_problems(
        self, fields: Mapping[str, Any], ad_set: Mapping[str, Any], account_id: str, entity_id: str
    ) -> list[Problem]:
        problems: list[Problem] = []

        def add(code: str, message: str) -> None:
            problems.append(Problem(code, message, "AD", entity_id))

        for name, low, high in (("name", 2, 200), ("advertiser_name", 2, 25), ("tagline", 2, 40)):
            value = fields.get(name)
            if not value:
                add(f"MISSING.AD.{name.upper()}", f"An ad needs {name}.")
            elif not low <= len(value) <= high:
                label = "AD_NAME" if name == "name" else name.upper()
                add(f"INVALID.{label}.LENGTH", f"{name} has {low} to {high} characters ({len(value)} given).")
        tagline = fields.get("tagline")
        if tagline and not NO_OUTER_SPACE.match(tagline):
            add("INVALID.TAGLINE.FORMAT", "tagline cannot start or end with a space.")
        assets = fields.get("assets") or {}
        asset_format = ad_set.get("asset_format")
        if not assets.get("asset_id"):
            add("MISSING.ASSETS.ASSET_ID", "assets.asset_id is required.")
        else:
            self._asset_problems(
                assets["asset_id"], "asset_id", {asset_format} if asset_format else {"AUDIO", "VIDEO", "IMAGE"}, account_id, add
            )
        if not assets.get("logo_asset_id"):
            add("MISSING.ASSETS.LOGO_ASSET_ID", "assets.logo_asset_id is required.")
        else:
            self._asset_problems(assets["logo_asset_id"], "logo_asset_id", {"IMAGE"}, account_id, add)
        companion = assets.get("companion_asset_id")
        if asset_format == "AUDIO" and not companion:
            add("MISSING.ASSETS.COMPANION_ASSET_ID", "companion_asset_id (an IMAGE) is required for AUDIO ad sets.")
        if companion:
            asset = self._asset_problems(companion, "companion_asset_id", {"IMAGE"}, account_id, add)
            facts = asset.facts if asset is not None and asset.status == "READY" else None
            side = self.companion_min_side
            if facts is not None and side is not None and (facts.width != facts.height or (facts.width or 0) < side):
                add(
                    "INVALID.COMPANION_ASSET.DIMENSIONS",
                    f"A companion image is square and at least {side}x{side} px ({facts.width}x{facts.height} given).",
                )
        if assets.get("canvas_asset_id"):
            self._asset_problems(assets["canvas_asset_id"], "canvas_asset_id", {"IMAGE", "VIDEO"}, account_id, add)
        cta = fields.get("call_to_action")
        if not cta:
            add("MISSING.AD.CALL_TO_ACTION", "An ad needs call_to_action.")
        elif not cta.get("clickthrough_url"):
            add("MISSING.CALL_TO_ACTION.CLICKTHROUGH_URL", "call_to_action.clickthrough_url is required.")
        else:
            url = httpx.URL(cta["clickthrough_url"])
            if url.scheme not in ("http", "https") or not url.host:
                add(
                    "INVALID.CALL_TO_ACTION.CLICKTHROUGH_URL",
                    f"clickthrough_url {cta['clickthrough_url']} is not an http(s) URL.",
                )
        return problems

    def _asset_problems(
        self, asset_id: Any, role: str, types: set[str], account_id: str, add: Callable[[str, str], None]
    ) -> _Asset | None:
        asset = self._assets.get(str(asset_id))
        if asset is None or asset.account_id != account_id:
            add("INVALID.ASSET.NOT_FOUND", f"{role} {asset_id} is not an asset of this ad account.")
            return None
        self._settle(asset)
        if asset.asset_type not in types:
            add("INVALID.ASSET.WRONG_TYPE", f"{role} must be {' or '.join(sorted(types))}, not {asset.asset_type}.")
        if asset.status != "READY":
            add("INVALID.ASSET.NOT_READY", f"{role} {asset_id} is {asset.status}, not READY.")
        return asset

    @staticmethod
    def _time_field(fields: Mapping[str, Any], name: str, add: Callable[[str, str], None]) -> datetime | None:
        value = fields.get(name)
        if not value:
            return None
        parsed = _parse_time(value) if UTC_SECONDS.match(str(value)) else None
        if parsed is None:
            add(f"INVALID.{name.upper()}.FORMAT", f"{name} {value!r} is not YYYY-MM-DDTHH:MM:SSZ (UTC).")
        return parsed

    # ====================================================================================== assets
    def _create_asset(self, call: _Call) -> httpx.Response:
        now = self._now()
        asset_type = call.body["asset_type"]
        subtype = call.body.get("asset_subtype")
        if subtype is not None and asset_type != "AUDIO":
            return self._error(400, "INVALID.ASSET_SUBTYPE.NOT_AUDIO", "asset_subtype applies to AUDIO assets only.")
        asset = _Asset(self._new_id(), call.account_id, asset_type, call.body["name"], subtype, now, now, self._counter)
        self._assets[asset.id] = asset
        return json_response(200, self._asset_json(asset))

    def _get_asset(self, call: _Call) -> httpx.Response:
        return json_response(200, self._asset_json(self._own_asset(call)))

    def _upload_asset(self, call: _Call) -> httpx.Response:
        asset = self._own_asset(call)
        self._settle(asset)
        media, declared = call.body["media"], call.body["asset_type"]
        if asset.status not in ("WAITING_UPLOAD", "ERROR"):
            return self._error(
                400, "INVALID.ASSET.ALREADY_UPLOADED", f"Asset {asset.id} is {asset.status}; upload to a new asset."
            )
        if declared != asset.asset_type:
            return self._error(
                400, "INVALID.ASSET_TYPE.MISMATCH", f"asset_type {declared} does not match the asset's {asset.asset_type}."
            )
        if len(media) > self.max_upload_bytes:
            return self._error(400, "INVALID.MEDIA.TOO_LARGE", "Files over 20 MB go through the chunked upload.")
        facts = inspect_media(asset.asset_type, media)
        too_long = self.max_audio_duration_ms is not None and (facts.duration_ms or 0) > self.max_audio_duration_ms
        if facts.failure is None and asset.asset_type == "AUDIO" and too_long:
            facts = MediaFacts(
                facts.file_type, facts.duration_ms, failure=f"audio is longer than {self.max_audio_duration_ms} ms"
            )
        asset.facts = facts
        asset.status = "PROCESSING"
        asset.updated_at = self._now()
        asset.ready_at = self.clock.now() + timedelta(seconds=self.asset_processing_seconds)
        return json_response(200, self._asset_json(asset))

    def _own_asset(self, call: _Call) -> _Asset:
        asset = self._assets.get(call.path("asset_id"))
        if asset is None or asset.account_id != call.account_id:
            raise _Refusal(_not_found())
        return asset

    def _settle(self, asset: _Asset) -> None:
        """Processing finishes on the virtual clock: READY with the metadata read, or ERROR."""
        if asset.status == "PROCESSING" and asset.ready_at is not None and self.clock.now() >= asset.ready_at:
            assert asset.facts is not None
            asset.status = "ERROR" if asset.facts.failure else "READY"
            asset.updated_at = asset.ready_at.astimezone(timezone.utc).replace(microsecond=0)

    def _list_assets(self, call: _Call) -> httpx.Response:
        items = []
        for asset in self._assets.values():
            if asset.account_id == call.account_id:
                items.append(self._asset_json(asset))
        items = _filtered(
            items,
            call.query,
            {"asset_ids": "id", "asset_types": "asset_type", "statuses": "status", "aspect_ratios": "aspect_ratio"},
        )
        general = set(call.query.get("asset_subtypes") or [])
        if general:
            kinds = {
                "AUDIO_AD": {"USER_UPLOADED_AUDIO", "ADSTUDIO_SUPPLIED_AUDIO"},
                "BACKGROUND_MUSIC": {"BACKGROUND_MUSIC", "STOCK_BACKGROUND_MUSIC"},
            }
            allowed = set().union(*(kinds[name] for name in general))
            items = [item for item in items if item.get("audio_type") in allowed]
        return self._page(call, _named(items, call.query.get("name")), "assets", default_sort="CREATED_AT")

    def _asset_json(self, asset: _Asset) -> dict[str, Any]:
        self._settle(asset)
        body: dict[str, Any] = {
            "id": asset.id,
            "name": asset.name,
            "asset_type": asset.asset_type,
            "status": asset.status,
            "created_at": _iso(asset.created_at),
            "updated_at": _iso(asset.updated_at),
        }
        if asset.asset_type == "AUDIO":
            body["audio_type"] = asset.subtype or "USER_UPLOADED_AUDIO"
        facts = asset.facts
        if facts is not None and asset.status == "READY":
            body["url"] = f"https://adstudio-assets.spotifycdn.com/{asset.asset_type.lower()}/{asset.id}"
            values = {
                "file_type": facts.file_type,
                "duration_ms": facts.duration_ms,
                "width": facts.width,
                "height": facts.height,
                "aspect_ratio": facts.aspect_ratio,
            }
            kept = {
                "AUDIO": ("file_type", "duration_ms"),
                "IMAGE": ("file_type", "width", "height", "aspect_ratio"),
                "VIDEO": ("file_type", "duration_ms"),
            }[asset.asset_type]
            body.update({key: values[key] for key in kept if values[key] is not None})
        return body

    # ====================================================================================== targets
    def _episode_topics(self, call: _Call) -> httpx.Response:
        ids = set(call.query.get("ids") or [])
        words = (call.query.get("q") or "").lower()
        topics = [{"id": topic, "name": _topic_name(topic)} for topic in self.episode_topics]
        topics = [
            t for t in topics if (not ids or t["id"] in ids) and (not words or words in t["name"].lower() or words in t["id"])
        ]
        return json_response(200, {"episode_topics": topics})

    def _geo_targets(self, call: _Call) -> httpx.Response:
        country = call.query.get("country_code") or ""
        ids = set(call.query.get("ids") or [])
        types = {t.upper() for t in call.query.get("types") or []}
        words = (call.query.get("q") or "").lower()
        limit, offset = int(call.query.get("limit", 50)), int(call.query.get("offset", 0))
        if offset < 0:
            return self._error(400, "INVALID.OFFSET", "offset cannot be negative.")
        geos = [
            geo
            for geo in self._geos.values()
            if (not country or geo["country_code"] == country)
            and (not ids or geo["id"] in ids)
            and (not types or geo["type"] in types)
            and (not words or words in geo["name"].lower())
        ]
        return json_response(200, {"offset": offset, "page_size": limit, "geos": geos[offset : offset + limit]})

    # ====================================================================================== reports
    def _aggregate_report(self, call: _Call) -> httpx.Response:
        warnings: list[str] = []
        token = call.query.get("continuation_token")
        if token:
            query, offset = self._read_token(token, call.account_id)
            if any(name != "continuation_token" for name in call.request.url.params):
                warnings.append("continuation_token was sent with other parameters; they were ignored.")
        else:
            query, offset = self._report_query(call), 0
        rows, window_start, window_end, unsimulated = self._report_rows(call.account_id, query)
        if unsimulated:
            warnings.append(f"Fields not simulated, left out: {', '.join(unsimulated)}.")
        page = rows[offset : offset + query.limit]
        body: dict[str, Any] = {"granularity": query.granularity, "rows": page}
        if window_start is not None:
            body["report_start"] = _iso(window_start)
        if window_end is not None:
            body["report_end"] = _iso(window_end)
        if offset + query.limit < len(rows):
            body["continuation_token"] = self._write_token(call.account_id, query, offset + query.limit)
        if warnings:
            body["warnings"] = warnings
        return json_response(200, body)

    def _report_query(self, call: _Call) -> _ReportQuery:
        q = call.query
        entity_type = q.get("entity_type")
        if not entity_type:
            self._refuse_report("MISSING.ENTITY_TYPE", "entity_type is required unless continuation_token is sent.")
        fields = list(q.get("fields") or [])
        if not fields:
            self._refuse_report("MISSING.FIELDS", "fields is required unless continuation_token is sent.")
        granularity = q.get("granularity") or "LIFETIME"
        if granularity == "HOUR":
            self._refuse_report(
                "UNSUPPORTED.GRANULARITY.HOUR", "The simulator keeps daily figures only; ask for DAY or LIFETIME."
            )
        start, end = q.get("report_start"), q.get("report_end")
        for name, value in (("report_start", start), ("report_end", end)):
            if value is not None and (value.minute or value.second or value.microsecond):
                self._refuse_report(f"INVALID.{name.upper()}.NOT_WHOLE_HOUR", f"{name} must be a whole hour (UTC).")
            if value is not None and granularity == "DAY" and value.hour:
                self._refuse_report(f"INVALID.{name.upper()}.NOT_MIDNIGHT", f"{name} must be UTC midnight for DAY reports.")
        if granularity == "DAY" and (start is None or end is None):
            self._refuse_report("MISSING.REPORT_RANGE", "DAY reports need report_start and report_end.")
        start_day = start.date() if start is not None else None
        end_day = end.date() if end is not None else None
        if start_day is not None and end_day is not None:
            if end_day < start_day:
                self._refuse_report("INVALID.REPORT_RANGE.END_BEFORE_START", "report_end is before report_start.")
            if (end_day - start_day).days > self.max_report_days:
                self._refuse_report(
                    "INVALID.REPORT_RANGE.TOO_LONG",
                    f"report_start and report_end must be within {self.max_report_days} days of each other.",
                )
        entity_ids = [str(value) for value in q.get("entity_ids") or []]
        ids_type = q.get("entity_ids_type")
        statuses = list(q.get("statuses") or [])
        status_type = q.get("entity_status_type")
        if entity_type == "AD_ACCOUNT" and (entity_ids or ids_type or statuses or status_type):
            self._refuse_report("INVALID.FILTER.AD_ACCOUNT", "entity_ids and statuses do not apply to AD_ACCOUNT reports.")
        if len(entity_ids) > 50:
            self._refuse_report("INVALID.ENTITY_IDS.TOO_MANY", "At most 50 entity_ids per request.")
        if entity_ids and not ids_type:
            self._refuse_report("MISSING.ENTITY_IDS_TYPE", "entity_ids needs entity_ids_type.")
        if entity_ids and granularity != "LIFETIME" and ids_type != entity_type:
            self._refuse_report("INVALID.ENTITY_IDS_TYPE.MISMATCH", "For DAY reports entity_ids_type must match entity_type.")
        if statuses and status_type != entity_type:
            self._refuse_report("INVALID.ENTITY_STATUS_TYPE.MISMATCH", "statuses needs entity_status_type equal to entity_type.")
        include_parent = bool(q.get("include_parent_entity"))
        if include_parent and entity_type in ("AD_ACCOUNT", "CAMPAIGN"):
            self._refuse_report(
                "INVALID.INCLUDE_PARENT_ENTITY", "include_parent_entity is not valid for AD_ACCOUNT and CAMPAIGN reports."
            )
        return _ReportQuery(
            entity_type, fields, granularity, start_day, end_day, entity_ids, ids_type, statuses, status_type,
            include_parent, int(q.get("limit", 50)),
        )  # fmt: skip

    def _refuse_report(self, code: str, message: str) -> NoReturn:
        raise _Refusal(self._error(400, code, message))

    def _report_rows(
        self, account_id: str, query: _ReportQuery
    ) -> tuple[list[dict[str, Any]], datetime | None, datetime | None, list[str]]:
        unsimulated = [name for name in query.fields if name not in RECORDABLE_FIELDS and name not in DERIVED_FIELDS]
        fields = [name for name in query.fields if name not in unsimulated]
        entities = self._report_entities(account_id, query)
        rows: list[dict[str, Any]] = []
        window_start = _midnight(query.start) if query.start else None
        window_end = _midnight(query.end + timedelta(days=1)) if query.end else None
        for entity_id, name, status, parent in entities:
            days = self._delivery_days(account_id, entity_id)
            in_window = sorted(
                day for day in days if (query.start is None or day >= query.start) and (query.end is None or day <= query.end)
            )
            base: dict[str, Any] = {
                "entity_type": query.entity_type,
                "entity_id": entity_id,
                "entity_name": name,
                "entity_status": status,
            }
            if parent is not None:
                base["parent_entity"] = parent
            if query.granularity == "DAY":
                for day in in_window:
                    figures = self._figures(account_id, entity_id, day)
                    rows.append(
                        {
                            **base,
                            "start_time": _iso(_midnight(day)),
                            "end_time": _iso(_midnight(day + timedelta(days=1))),
                            "stats": _stats(figures, fields),
                        }
                    )
                continue
            totals: dict[str, float] = {}
            for day in in_window:
                for key, value in self._figures(account_id, entity_id, day).items():
                    totals[key] = totals.get(key, 0.0) + value
            row = {**base, "stats": _stats(totals, fields)}
            first = window_start or (_midnight(min(in_window)) if in_window else None)
            last = window_end or (_midnight(max(in_window) + timedelta(days=1)) if in_window else None)
            if first is not None and last is not None:
                row.update(start_time=_iso(first), end_time=_iso(last))
            rows.append(row)
        return rows, window_start, window_end, unsimulated

    def _report_entities(self, account_id: str, query: _ReportQuery) -> list[tuple[str, str, str, dict[str, Any] | None]]:
        """(id, name, status, parent) of every entity the report covers, in creation order."""
        account = self.accounts[account_id]
        if query.entity_type == "AD_ACCOUNT":
            return [(account.id, account.name, "ACTIVE", None)]
        chosen = []
        for entity in sorted(self._live.values(), key=lambda e: e.sequence):
            if entity.kind != query.entity_type or entity.account_id != account_id:
                continue
            if query.entity_ids and not set(query.entity_ids) & self._lineage(entity):
                continue
            status = _report_status(self._live_json(entity)["status"])
            if query.statuses and status not in query.statuses:
                continue
            parent = None
            if query.include_parent_entity and entity.parent_id in self._live:
                owner = self._live[str(entity.parent_id)]
                parent = {
                    "id": owner.id,
                    "name": owner.fields.get("name") or "",
                    "status": _report_status(self._live_json(owner)["status"]),
                }
            chosen.append((entity.id, str(entity.fields.get("name") or ""), status, parent))
        return chosen

    def _lineage(self, entity: _Entity) -> set[str]:
        ids = {entity.id}
        while entity.parent_id and entity.parent_id in self._live:
            entity = self._live[entity.parent_id]
            ids.add(entity.id)
        return ids

    def _members(self, account_id: str, entity_id: str) -> list[str]:
        """The ids whose figures make up `entity_id`'s: its children (or an account's campaigns)."""
        if entity_id == account_id:
            return [e.id for e in self._live.values() if e.kind == "CAMPAIGN" and e.account_id == account_id]
        entity = self._live[entity_id]
        return [child.id for child in self._children(entity, self._live)]

    def _delivery_days(self, account_id: str, entity_id: str) -> set[date]:
        days = set(self._delivery.get(entity_id, {}))
        for member in self._members(account_id, entity_id):
            days |= self._delivery_days(account_id, member)
        return days

    def _figures(self, account_id: str, entity_id: str, day: date) -> dict[str, float]:
        own = self._delivery.get(entity_id, {}).get(day)
        if own is not None:
            return own
        totals: dict[str, float] = {}
        for member in self._members(account_id, entity_id):
            for key, value in self._figures(account_id, member, day).items():
                totals[key] = totals.get(key, 0.0) + value
        return totals

    def _write_token(self, account_id: str, query: _ReportQuery, offset: int) -> str:
        payload = json.dumps({"a": account_id, "q": query.to_json(), "o": offset}, sort_keys=True).encode()
        signature = hmac.new(self._token_key, payload, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(signature + payload).decode().rstrip("=")

    def _read_token(self, token: str, account_id: str) -> tuple[_ReportQuery, int]:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            signature, payload = raw[:16], raw[16:]
            if not hmac.compare_digest(signature, hmac.new(self._token_key, payload, hashlib.sha256).digest()[:16]):
                raise ValueError("signature")
            data = json.loads(payload)
            if data["a"] != account_id:
                raise ValueError("account")
            return _ReportQuery.from_json(data["q"]), int(data["o"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise _Refusal(
                self._error(
                    400, "INVALID.CONTINUATION_TOKEN", "continuation_token is not one this API issued for this ad account."
                )
            ) from None

    # ====================================================================================== shared
    def _page(self, call: _Call, items: list[dict[str, Any]], key: str, default_sort: str) -> httpx.Response:
        limit, offset = int(call.query.get("limit", 50)), int(call.query.get("offset", 0))
        if offset < 0:
            return self._error(400, "INVALID.OFFSET", "offset cannot be negative.")
        sort_field = call.query.get("sort_field") or default_sort
        descending = (call.query.get("sort_direction") or "DESC") == "DESC"
        # `items` come in creation order; it breaks ties (a virtual clock often stands still between creates)
        ranked = sorted(enumerate(items), key=lambda pair: (_sort_value(pair[1], sort_field), pair[0]), reverse=descending)
        ordered = [item for _, item in ranked]
        return json_response(
            200,
            {
                "paging": {
                    "page_size": limit,
                    "total_results": len(items),
                    "offset": offset,
                    "current_page": offset // limit + 1,
                },
                key: ordered[offset : offset + limit],
            },
        )

    def _new_entity(self, kind: EntityKind, account_id: str, fields: Mapping[str, Any], store: dict[str, _Entity]) -> _Entity:
        now = self._now()
        entity = _Entity(kind, self._new_id(), account_id, copy.deepcopy(dict(fields)), now, now, self._counter)
        store[entity.id] = entity
        return entity

    def _new_id(self) -> str:
        self._counter += 1
        digest = hashlib.sha256(f"spotify-ads:{self.seed}:{self._counter}".encode()).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))

    def _trace_id(self) -> str:
        digest = hashlib.sha256(
            f"spotify-ads-trace:{self.seed}:{len(self.received)}:{self.clock.now().isoformat()}".encode()
        ).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))

    def _children(self, entity: _Entity, store: Mapping[str, _Entity]) -> list[_Entity]:
        kind = CHILD_KIND.get(entity.kind)
        return [e for e in store.values() if e.kind == kind and e.parent_id == entity.id] if kind else []

    def _descendants(self, entity: _Entity, store: Mapping[str, _Entity]) -> list[_Entity]:
        found = []
        for child in self._children(entity, store):
            found.append(child)
            found.extend(self._descendants(child, store))
        return found

    @staticmethod
    def _root(entity: _Entity, store: Mapping[str, _Entity]) -> _Entity | None:
        while entity.kind != "CAMPAIGN":
            parent = store.get(entity.parent_id or "")
            if parent is None:
                return None
            entity = parent
        return entity

    def _now(self) -> datetime:
        return self.clock.now().astimezone(timezone.utc).replace(microsecond=0)

    def _error(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None, extra: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        return self._error_list(status, [(code, message)], headers=headers, extra=extra)

    def _error_list(
        self,
        status: int,
        problems: Sequence[tuple[str, str]],
        headers: dict[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """The API's ErrorResponse: one message and one error code per problem."""
        body: dict[str, Any] = {
            "sp_trace_id": self._trace_id(),
            "messages": [message for _, message in problems],
            "error_codes": [{"code": code, "definition": message} for code, message in problems],
            **(extra or {}),
        }
        return json_response(status, body, headers=headers)


# ------------------------------------------------------------------------------------------ media
def inspect_media(asset_type: str, data: bytes) -> MediaFacts:
    """Read what Spotify's processing would: the file type and duration or size, or why not."""
    if asset_type == "AUDIO":
        return _inspect_audio(data)
    if asset_type == "IMAGE":
        return _inspect_image(data)
    return _inspect_video(data)


def _inspect_audio(data: bytes) -> MediaFacts:
    from mutagen.mp3 import MP3
    from mutagen.oggopus import OggOpus
    from mutagen.oggvorbis import OggVorbis
    from mutagen.wave import WAVE

    if data[:4] == b"OggS":
        candidates: list[tuple[str, Any]] = [("OGG", OggVorbis), ("OGG", OggOpus)]
    elif data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        candidates = [("WAV", WAVE)]
    elif data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        candidates = [("MP3", MP3)]
    else:
        return MediaFacts(failure="unsupported audio format: MP3, OGG or WAV expected")
    for file_type, reader in candidates:
        try:
            audio = reader(io.BytesIO(data))
        except Exception:  # noqa: BLE001 - a parser of arbitrary bytes fails in many ways; any is "unreadable"
            continue
        length = getattr(audio.info, "length", 0) or 0
        if length <= 0:
            return MediaFacts(file_type, failure="audio has no playable frames")
        return MediaFacts(file_type, duration_ms=int(round(length * 1000)))
    return MediaFacts(failure="audio file is unreadable")


def _inspect_image(data: bytes) -> MediaFacts:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            file_format = image.format
            width, height = image.size
            image.load()  # decodes the pixels: a truncated file fails here
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return MediaFacts(failure="image file is unreadable")
    if file_format not in ("JPEG", "PNG"):
        return MediaFacts(failure=f"unsupported image format {file_format}: JPEG or PNG expected")
    return MediaFacts(file_format, width=width, height=height, aspect_ratio=_aspect_ratio(width, height))


def _inspect_video(data: bytes) -> MediaFacts:
    if data[4:8] != b"ftyp":
        return MediaFacts(failure="unsupported video format: MP4 or QuickTime expected")
    file_type = "QUICKTIME" if data[8:12] == b"qt  " else "MP4"
    from mutagen.mp4 import MP4, MP4NoTrackError

    try:
        info = MP4(io.BytesIO(data)).info
    except MP4NoTrackError:
        return MediaFacts(file_type)  # a readable container without an audio track: duration unknown
    except Exception:  # noqa: BLE001 - see _inspect_audio
        return MediaFacts(failure="video file is unreadable")
    length = getattr(info, "length", 0)
    return MediaFacts(file_type, duration_ms=int(round(length * 1000)) if length else None)


def _aspect_ratio(width: int, height: int) -> str | None:
    if not width or not height:
        return None
    ratio = width / height
    for name, target in ASPECT_RATIOS.items():
        if abs(ratio - target) / target <= 0.01:
            return name
    return None


# ------------------------------------------------------------------------------------------ helpers
def _not_found() -> httpx.Response:
    return json_response(404, {"errorCodes": [], "messages": ["Resource not found"]})


def _iso(moment: datetime | None) -> str:
    assert moment is not None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def _utc(query: Mapping[str, Any]) -> dict[str, Any]:
    """Query values with their times in UTC."""
    return {name: value.astimezone(timezone.utc) if isinstance(value, datetime) else value for name, value in query.items()}


def _filtered(items: list[dict[str, Any]], query: Mapping[str, Any], filters: Mapping[str, str]) -> list[dict[str, Any]]:
    """Keep items whose `filters[param]` field is one of the values sent in `param`."""
    for param, key in filters.items():
        wanted = query.get(param)
        if wanted:
            values = set(wanted if isinstance(wanted, list) else [wanted])
            items = [item for item in items if item.get(key) in values]
    return items


def _named(items: list[dict[str, Any]], name: str | None) -> list[dict[str, Any]]:
    """The API's `name` filter: case-insensitive substring of the name."""
    if not name:
        return items
    needle = name.lower()
    return [item for item in items if needle in str(item.get("name") or "").lower()]


def _projected(item: dict[str, Any], call: _Call) -> dict[str, Any]:
    """`fields=NAME&fields=STATUS`: only the named fields (when the client chose some)."""
    if not call.sent("fields"):
        return item
    wanted = {name.lower() for name in call.query.get("fields") or []}
    return {key: value for key, value in item.items() if key in wanted}


def _sort_value(item: Mapping[str, Any], sort_field: str) -> tuple[bool, Any]:
    key = {"START_DATE_TIME": "start_time", "END_DATE_TIME": "end_time"}.get(sort_field, sort_field.lower())
    value = item.get(key)
    if key == "budget" and isinstance(value, Mapping):
        value = value.get("micro_amount")
    if isinstance(value, str):
        value = value.lower()
    return (value is None, value if value is not None else "")


def _stats(figures: Mapping[str, float], fields: Sequence[str]) -> list[dict[str, Any]]:
    stats = []
    for name in fields:
        if name in DERIVED_FIELDS:
            numerator, denominator, scale = DERIVED_FIELDS[name]
            below = figures.get(denominator, 0.0)
            value = figures.get(numerator, 0.0) / below * scale if below else 0.0
        else:
            value = figures.get(name, 0.0)
            if name in PRIVACY_FLOORED_FIELDS and 0 < value < 5:
                value = -5.0
        stats.append({"field_type": name, "field_value": round(value, 6)})
    return stats


def _report_status(status: str) -> str:
    """Live statuses in the report vocabulary (`ReportEntityStatus`)."""
    return {"FAILED": "REJECTED", "UNRECOGNIZED": "PENDING"}.get(status, status)


def _topic_name(topic_id: str) -> str:
    return " ".join(word if word == "and" else word.capitalize() for word in topic_id.split("-"))
