"""Spotify Ads API v3 (`https://api-partner.spotify.com/ads/v3`) on the connector kit: campaign drafts,
their validation, creative assets and the daily aggregate report, for one ad account, with the user
token of the Spotify account authorised for it (`infra.ops auth spotify`; the Ads API asks no scopes).

Wire rules this client keeps (`../shared/specs/spotify/ADS-API-FACTS.md`):
- Creates (`POST .../drafts/{campaigns|ad_sets|ads}`, `POST .../assets`) are never retried blindly: a
  timeout or 5xx is `AmbiguousWrite` (the kit's rule for non-idempotent requests) and the caller looks
  the entity up by its deterministic name before creating again. Each create also carries an
  `Idempotency-Key` (SHA-256 of method, path, ad account and canonical body), which Spotify's own tools
  send; the key is not in the OpenAPI document, so it is a second safeguard, not the first. A 409
  `IDEMPOTENCY_REQUEST_ALREADY_COMPLETED` answers with the created entity (`resource_uri` is read);
  `IDEMPOTENCY_KEY_REUSED` is permanent; `IDEMPOTENCY_REQUEST_IN_PROGRESS` is a transient conflict.
- PATCH is not retried blindly either: after an ambiguous PATCH the caller reads the entity again.
- VALIDATE (`POST .../drafts/campaigns/{id}` with `action: VALIDATE`) changes nothing, so it is
  retried like a read; the `draft_hierarchy_version` it needs is re-read from the draft campaign right
  before (any create or edit in the tree moves it on), and a stale answer re-reads once more.
  Validation errors come back as data (`ValidationOutcome.issues`), to become findings.
- Draft DELETE answers 204 and may be repeated; live entities have no DELETE (pause or archive).
- Assets: create (WAITING_UPLOAD) → multipart upload of `media` + `asset_type` (≤ 20 MB) → poll
  until READY or ERROR. An ambiguous upload is followed by a GET of the asset, never a second upload.
- Errors come as `ErrorResponse` `{sp_trace_id, messages, error_codes: [{code, definition}]}`, or with
  the live API's camelCase `errorCodes`; both are read. Every failure is typed permanent or transient.
- Reports: `GET .../aggregate_reports` with `granularity=DAY`, midnight UTC stamps, windows of at
  most 90 days, at most 50 entity ids a request, paged by `continuation_token` sent alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from functions.analytics.ads_facts import AggregateReport
from functions.connectors.api_client import ApiClient, OffsetPaging, Page, PageRequest, TokenSource
from functions.connectors.errors import (
    ApiError,
    AuthenticationFailed,
    Conflict,
    NotFound,
    RateLimited,
    RequestRejected,
    ServiceUnavailable,
)
from functions.connectors.http import HttpService
from functions.domain.errors import PermanentError

SERVICE = "spotify-ads"
DEFAULT_BASE_URL = "https://api-partner.spotify.com/ads/v3"
PAGE_SIZE = 50
MAX_REPORT_DAYS = 90
Model = TypeVar("Model", bound=BaseModel)
MAX_REPORT_ENTITIES = 50
STALE_VERSION = "INVALID.DRAFT_HIERARCHY_VERSION.STALE"
ALREADY_COMPLETED = "IDEMPOTENCY_REQUEST_ALREADY_COMPLETED"
KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"


# ------------------------------------------------------------------------------------------ errors
class AdsErrorCode(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    code: str
    definition: str | None = None


class ValidationIssue(BaseModel):
    """One broken rule VALIDATE (or PUBLISH) reported, on the draft it names."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    validation_entity_type: str | None = None
    validation_entity_id: str | None = None
    message: str = ""
    error_codes: tuple[str, ...] = ()

    def text(self) -> str:
        where = f"{(self.validation_entity_type or 'entity').lower().replace('_', ' ')} {self.validation_entity_id or ''}".strip()
        codes = f" [{', '.join(self.error_codes)}]" if self.error_codes else ""
        return f"{where}: {self.message}{codes}"


class AdsErrorBody(BaseModel):
    """What the Ads API said: `ErrorResponse` (snake or camel case), a 409's idempotency fields, or a
    hierarchy's `validation_errors`."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    messages: tuple[str, ...] = ()
    error_codes: tuple[AdsErrorCode, ...] = ()
    camel_error_codes: tuple[AdsErrorCode, ...] = Field(default=(), alias="errorCodes")
    error_code: str | None = None
    resource_uri: str | None = None
    validation_errors: tuple[ValidationIssue, ...] | None = None

    @classmethod
    def from_text(cls, body: str | None) -> AdsErrorBody | None:
        if not body:
            return None
        try:
            return cls.model_validate_json(body)
        except ValidationError:
            return None

    @property
    def codes(self) -> tuple[str, ...]:
        found = [c.code for c in self.error_codes + self.camel_error_codes]
        if self.error_code and self.error_code not in found:
            found.append(self.error_code)
        return tuple(found)

    def summary(self) -> str:
        if self.validation_errors:
            return "; ".join(issue.text() for issue in self.validation_errors)
        text = "; ".join(self.messages)
        return f"{text} [{', '.join(self.codes)}]" if self.codes else text


class AdsErrorDetails:
    """Mixed into every Ads error: the parsed body, when there was one."""

    detail: AdsErrorBody | None = None

    @property
    def codes(self) -> tuple[str, ...]:
        return self.detail.codes if self.detail is not None else ()


class AdsRequestRejected(AdsErrorDetails, RequestRejected):
    pass


class AdsValidationFailed(AdsRequestRejected):
    """VALIDATE or PUBLISH found broken rules in the draft hierarchy (`detail.validation_errors`)."""

    code = "ads_validation_failed"


class AdsNotFound(AdsErrorDetails, NotFound):
    pass


class AdsAuthenticationFailed(AdsErrorDetails, AuthenticationFailed):
    pass


class AdsRateLimited(AdsErrorDetails, RateLimited):
    pass


class AdsConflict(AdsErrorDetails, Conflict):
    """409: an idempotent create still in progress, or a moved hierarchy version; ask again later."""


class AdsCreateAlreadyCompleted(AdsConflict):
    """409 `IDEMPOTENCY_REQUEST_ALREADY_COMPLETED`: the create happened; `resource_uri` names it."""


class AdsIdempotencyKeyReused(AdsErrorDetails, ApiError, PermanentError):
    """409 `IDEMPOTENCY_KEY_REUSED`: the key was used with another body; sending it again cannot help."""

    code = "ads_idempotency_key_reused"


class AdsUnavailable(AdsErrorDetails, ServiceUnavailable):
    pass


def ads_error(exc: ApiError) -> ApiError:
    """The kit's typed error, re-typed as its Ads variant with the API's own messages and codes."""
    detail = AdsErrorBody.from_text(exc.body)
    message = str(exc).removeprefix(f"{exc.service}: ").removesuffix(f" (HTTP {exc.status})")
    if detail is not None and detail.summary():
        message = f"{message.split(': ', 1)[0]}: {detail.summary()}"
    error: AdsErrorDetails
    codes = detail.codes if detail is not None else ()
    if isinstance(exc, RateLimited):
        error = AdsRateLimited(exc.service, message, exc.retry_after, exc.status or 429, exc.body)
    elif isinstance(exc, Conflict) and KEY_REUSED in codes:
        error = AdsIdempotencyKeyReused(exc.service, message, exc.status, exc.body)
    elif isinstance(exc, Conflict) and ALREADY_COMPLETED in codes and detail is not None and detail.resource_uri:
        error = AdsCreateAlreadyCompleted(exc.service, message, exc.status, exc.body)
    elif isinstance(exc, Conflict):
        error = AdsConflict(exc.service, message, exc.status, exc.body)
    elif isinstance(exc, AuthenticationFailed):
        error = AdsAuthenticationFailed(exc.service, message, exc.status, exc.body)
    elif isinstance(exc, NotFound):
        error = AdsNotFound(exc.service, message, exc.status, exc.body)
    elif isinstance(exc, RequestRejected) and detail is not None and detail.validation_errors:
        error = AdsValidationFailed(exc.service, message, exc.status, exc.body)
    elif isinstance(exc, RequestRejected):
        error = AdsRequestRejected(exc.service, message, exc.status, exc.body)
    elif isinstance(exc, ServiceUnavailable):
        error = AdsUnavailable(exc.service, message, exc.status, exc.body)
    else:
        return exc  # AmbiguousWrite keeps its own type: the caller looks up before anything else
    error.detail = detail
    return error


# ------------------------------------------------------------------------------------------ models
class AdsModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class DraftCampaign(AdsModel):
    id: str
    name: str | None = None
    status: str | None = None
    objective: str | None = None
    draft_hierarchy_version: int | None = None


class DraftAdSet(AdsModel):
    id: str
    name: str | None = None
    campaign_id: str | None = None
    status: str | None = None


class DraftAd(AdsModel):
    id: str
    name: str | None = None
    ad_set_id: str | None = None
    status: str | None = None


class LiveCampaign(AdsModel):
    id: str
    name: str | None = None
    status: str | None = None


class Asset(AdsModel):
    id: str
    name: str
    asset_type: str
    status: str
    duration_ms: int | None = None
    width: int | None = None
    height: int | None = None


class ValidationOutcome(AdsModel):
    valid: bool
    hierarchy_version: int
    issues: tuple[ValidationIssue, ...] = ()
    campaign_status: str | None = None  # PUBLISH: the live campaign's status


class _PublishAnswer(AdsModel):
    campaign: LiveCampaign | None = None


# ------------------------------------------------------------------------------------------ paging
@dataclass(frozen=True)
class ContinuationTokenAlone:
    """Items under `rows`; the next page is asked for with the answer's `continuation_token` as the ONLY
    query parameter (the Ads API ignores, and warns about, anything sent beside it)."""

    items_key: str = "rows"

    def items(self, body: Any, response: httpx.Response) -> list[Any]:
        value = body.get(self.items_key) if isinstance(body, dict) else None
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValueError(f"{self.items_key} is not a list")
        return value

    def next_request(self, current: PageRequest, page: Page) -> PageRequest | None:
        token = page.body.get("continuation_token") if isinstance(page.body, dict) else None
        if not isinstance(token, str) or not token:
            return None
        return PageRequest(method=current.method, path=current.path, params={"continuation_token": token})


# ------------------------------------------------------------------------------------------ client
class SpotifyAdsClient:
    """One ad account on the Ads API, through an `HttpService` whose base URL is the API's."""

    def __init__(self, http: HttpService, tokens: TokenSource | None, ad_account_id: str):
        if http.translate_error is None:
            http.translate_error = ads_error
        self.api = ApiClient(http, tokens)
        self.ad_account_id = ad_account_id
        self.account_path = f"/ad_accounts/{ad_account_id}"

    # drafts ------------------------------------------------------------------------------------
    def create_draft_campaign(self, body: dict[str, Any]) -> DraftCampaign:
        return self._create(f"{self.account_path}/drafts/campaigns", body, DraftCampaign)

    def get_draft_campaign(self, draft_id: str) -> DraftCampaign | None:
        return self._get_or_none(f"{self.account_path}/drafts/campaigns/{draft_id}", DraftCampaign)

    def update_draft_campaign(self, draft_id: str, body: dict[str, Any]) -> DraftCampaign:
        return self._patch(f"{self.account_path}/drafts/campaigns/{draft_id}", body, DraftCampaign)

    def delete_draft_campaign(self, draft_id: str) -> None:
        """Deletes the draft and everything under it (204; repeating it is safe)."""
        try:
            self.api.send("DELETE", f"{self.account_path}/drafts/campaigns/{draft_id}", idempotent=True)
        except AdsNotFound:
            return

    def draft_fields(self, kind: Literal["campaigns", "ad_sets", "ads"], draft_id: str) -> dict[str, Any] | None:
        """A draft as the API shows it (to check what an ambiguous PATCH left), or None when gone."""
        try:
            response = self.api.send("GET", f"{self.account_path}/drafts/{kind}/{draft_id}", idempotent=True)
        except AdsNotFound:
            return None
        body = self.api.json(response)
        if not isinstance(body, dict):
            raise self.api.unexpected(response, "expected a JSON object for a draft")
        return body

    def find_draft_campaigns(self, marker: str) -> list[DraftCampaign]:
        """Draft campaigns whose name starts with `marker` (the list has no name filter: all pages are read)."""
        found = self._list(f"{self.account_path}/drafts/campaigns", "campaign_drafts", DraftCampaign)
        return [c for c in found if (c.name or "").startswith(marker)]

    def create_draft_ad_set(self, body: dict[str, Any]) -> DraftAdSet:
        return self._create(f"{self.account_path}/drafts/ad_sets", body, DraftAdSet)

    def update_draft_ad_set(self, draft_id: str, body: dict[str, Any]) -> DraftAdSet:
        return self._patch(f"{self.account_path}/drafts/ad_sets/{draft_id}", body, DraftAdSet)

    def delete_draft_ad_set(self, draft_id: str) -> None:
        try:
            self.api.send("DELETE", f"{self.account_path}/drafts/ad_sets/{draft_id}", idempotent=True)
        except AdsNotFound:
            return

    def draft_ad_sets(self, campaign_id: str) -> list[DraftAdSet]:
        return self._list(f"{self.account_path}/drafts/ad_sets", "ad_set_drafts", DraftAdSet, {"campaign_ids": [campaign_id]})

    def create_draft_ad(self, body: dict[str, Any]) -> DraftAd:
        return self._create(f"{self.account_path}/drafts/ads", body, DraftAd)

    def update_draft_ad(self, draft_id: str, body: dict[str, Any]) -> DraftAd:
        return self._patch(f"{self.account_path}/drafts/ads/{draft_id}", body, DraftAd)

    def draft_ads(self, ad_set_ids: Sequence[str]) -> list[DraftAd]:
        if not ad_set_ids:
            return []
        return self._list(f"{self.account_path}/drafts/ads", "ad_drafts", DraftAd, {"ad_set_ids": list(ad_set_ids)})

    def validate(self, draft_campaign_id: str) -> ValidationOutcome:
        """VALIDATE the whole draft hierarchy at its current version (re-read first)."""
        return self._act(draft_campaign_id, "VALIDATE")

    def publish(self, draft_campaign_id: str) -> ValidationOutcome:
        """PUBLISH the hierarchy: live entities with the drafts' ids. Only with the explicit per-account
        setting; not idempotent (after an ambiguous answer, `get_campaign` tells whether it happened)."""
        return self._act(draft_campaign_id, "PUBLISH")

    def _act(self, draft_campaign_id: str, action: Literal["VALIDATE", "PUBLISH"]) -> ValidationOutcome:
        for _attempt in range(2):
            draft = self.get_draft_campaign(draft_campaign_id)
            if draft is None or draft.draft_hierarchy_version is None:
                raise AdsNotFound(SERVICE, f"draft campaign {draft_campaign_id} is gone (published or deleted)", 404)
            try:
                response = self.api.send(
                    "POST",
                    f"{self.account_path}/drafts/campaigns/{draft_campaign_id}",
                    idempotent=action == "VALIDATE",
                    json_body={"action": action, "draft_hierarchy_version": draft.draft_hierarchy_version},
                )
            except AdsValidationFailed as exc:
                issues = exc.detail.validation_errors if exc.detail is not None else ()
                return ValidationOutcome(valid=False, hierarchy_version=draft.draft_hierarchy_version, issues=tuple(issues or ()))
            except (AdsRequestRejected, AdsConflict) as exc:
                if STALE_VERSION in exc.codes:
                    continue  # the tree moved between the read and the action: read it again
                raise
            answer = self.api.parse(response, _PublishAnswer)
            status = answer.campaign.status if answer.campaign is not None else None
            return ValidationOutcome(valid=True, hierarchy_version=draft.draft_hierarchy_version, campaign_status=status)
        raise AdsConflict(SERVICE, f"draft campaign {draft_campaign_id} changed under {action} twice; ask again later", 409)

    # live ----------------------------------------------------------------------------------------
    def get_campaign(self, campaign_id: str) -> LiveCampaign | None:
        return self._get_or_none(f"{self.account_path}/campaigns/{campaign_id}", LiveCampaign)

    def set_campaign_status(self, campaign_id: str, status: Literal["PAUSED", "ARCHIVED", "ACTIVE"]) -> LiveCampaign:
        """Pause or archive a live campaign (live entities are never deleted)."""
        return self._patch(f"{self.account_path}/campaigns/{campaign_id}", {"status": status}, LiveCampaign)

    def find_campaigns(self, marker: str) -> list[LiveCampaign]:
        found = self._list(f"{self.account_path}/campaigns", "campaigns", LiveCampaign, {"name": marker})
        return [c for c in found if (c.name or "").startswith(marker)]

    # assets ----------------------------------------------------------------------------------------
    def create_asset(self, asset_type: Literal["AUDIO", "IMAGE"], name: str) -> Asset:
        body: dict[str, Any] = {"asset_type": asset_type, "name": name}
        if asset_type == "AUDIO":
            body["asset_subtype"] = "USER_UPLOADED_AUDIO"
        return self._create(f"{self.account_path}/assets", body, Asset)

    def upload_asset(self, asset: Asset, data: bytes, content_type: str) -> Asset:
        """The small-file upload (≤ 20 MB): multipart `media` + `asset_type`. Not retried blindly."""
        response = self.api.send(
            "POST",
            f"{self.account_path}/assets/{asset.id}/upload",
            idempotent=False,
            form_body={"asset_type": asset.asset_type},
            files={"media": (asset.name, data, content_type)},
        )
        return self.api.parse(response, Asset)

    def assets(self, asset_ids: Sequence[str]) -> list[Asset]:
        """Several assets in one request (the list's `asset_ids` filter): how readiness is polled."""
        if not asset_ids:
            return []
        return self._list(f"{self.account_path}/assets", "assets", Asset, {"asset_ids": list(asset_ids)})

    def find_assets(self, name: str) -> list[Asset]:
        found = self._list(f"{self.account_path}/assets", "assets", Asset, {"name": name})
        return [a for a in found if a.name == name]

    # reports ---------------------------------------------------------------------------------------
    def daily_reports(
        self, entity_type: Literal["CAMPAIGN", "AD_SET"], entity_ids: Sequence[str], first_day: date, last_day: date, fields: Sequence[str]
    ) -> Iterator[AggregateReport]:
        """Daily figures of the entities for [first_day, last_day], page by page: windows of at most 90
        days, at most 50 ids a request. Rows outside the asked days are dropped (whether the API reads
        `report_end` as inclusive or not, the window asks one day past the last and keeps what fits)."""
        ids = list(dict.fromkeys(entity_ids))
        for window_start, window_last in report_windows(first_day, last_day):
            for start in range(0, len(ids), MAX_REPORT_ENTITIES):
                params: dict[str, Any] = {
                    "entity_type": entity_type,
                    "entity_ids": ids[start : start + MAX_REPORT_ENTITIES],
                    "entity_ids_type": entity_type,
                    "fields": list(fields),
                    "granularity": "DAY",
                    "report_start": _midnight(window_start),
                    "report_end": _midnight(window_last + timedelta(days=1)),
                    "limit": PAGE_SIZE,
                }
                first = PageRequest(path=f"{self.account_path}/aggregate_reports", params=params)
                for page in self.api.pages(first, ContinuationTokenAlone()):
                    report = self.api.parse(page.response, AggregateReport, page.body)
                    rows = [r for r in report.rows if window_start <= r.start_time.astimezone(timezone.utc).date() <= window_last]
                    yield report.model_copy(update={"rows": rows})

    # plumbing --------------------------------------------------------------------------------------
    def _create(self, path: str, body: dict[str, Any], model: type[Model]) -> Model:
        try:
            response = self.api.send("POST", path, idempotent=False, json_body=body, headers={"Idempotency-Key": self.idempotency_key("POST", path, body)})
        except AdsCreateAlreadyCompleted as exc:
            assert exc.detail is not None and exc.detail.resource_uri is not None
            response = self.api.send("GET", self._same_api(exc.detail.resource_uri), idempotent=True)
        return self.api.parse(response, model)

    def idempotency_key(self, method: str, path: str, body: dict[str, Any]) -> str:
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(f"{method}|{path}|{self.ad_account_id}|{canonical}".encode()).hexdigest()

    def _patch(self, path: str, body: dict[str, Any], model: type[Model]) -> Model:
        return self.api.parse(self.api.send("PATCH", path, idempotent=False, json_body=body), model)

    def _get_or_none(self, path: str, model: type[Model]) -> Model | None:
        try:
            return self.api.parse(self.api.send("GET", path, idempotent=True), model)
        except AdsNotFound:
            return None

    def _list(self, path: str, key: str, model: type[Model], params: dict[str, Any] | None = None) -> list[Model]:
        paging = OffsetPaging(items_key=key, limit=PAGE_SIZE, total_key="paging.total_results")
        found: list[Model] = []
        for page in self.api.pages(paging.first(path, params), paging):
            found += self.api.parse_list(page.response, model, page.items)
        return found

    def _same_api(self, uri: str) -> str:
        """A `resource_uri` as a path under this API (the kit refuses to follow links to another host)."""
        base = httpx.URL(self.api.http.base_url)
        target = httpx.URL(uri)
        if (target.scheme, target.host) != (base.scheme, base.host) or not target.path.startswith(base.path):
            raise AdsRequestRejected(SERVICE, f"resource_uri {uri[:200]} is not on the Ads API")
        return target.path.removeprefix(base.path.rstrip("/"))


def report_windows(first_day: date, last_day: date) -> list[tuple[date, date]]:
    """[first_day, last_day] in consecutive windows of at most `MAX_REPORT_DAYS` days."""
    windows = []
    start = first_day
    while start <= last_day:
        last = min(last_day, start + timedelta(days=MAX_REPORT_DAYS - 1))
        windows.append((start, last))
        start = last + timedelta(days=1)
    return windows


def _midnight(day: date) -> str:
    return datetime.combine(day, time(0, 0), tzinfo=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
