"""The Spotify Ads connector against the Ads API simulator (every exchange held to the OpenAPI contract):
drafts and VALIDATE at the re-read hierarchy version, validation errors as data, assets through their
states, look-ups by name, the Idempotency-Key, typed errors in both error spellings, no blind retries,
and the daily report in 90-day windows paged by a continuation token sent alone."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from functions.connectors.api_client import StaticToken
from functions.connectors.errors import AmbiguousWrite, PermanentError, TransientError
from functions.connectors.http import HttpService, route_host
from functions.connectors.spotify_ads import (
    DEFAULT_BASE_URL,
    AdsAuthenticationFailed,
    AdsConflict,
    AdsErrorBody,
    AdsIdempotencyKeyReused,
    AdsNotFound,
    AdsRequestRejected,
    SpotifyAdsClient,
    ads_error,
    report_windows,
)
from functions.connectors.errors import Conflict, NotFound
from functions.marketing.creatives import companion_image
from sandbox import media
from sandbox.clock import VirtualClock
from sandbox.simulators.megaphone import ScriptedFaults
from sandbox.simulators.spotify_ads import ADS_HOST, SimulatedAdAccount, SpotifyAdsSimulator
from tests.recorded_requests import recording_requests

ACCOUNT = "7c1e5d2a-9b34-4f6e-8a71-2d5c3b9e0f48"
TOKEN = secrets.token_urlsafe(24)  # generated: no credential lives in a fixture
START = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)


pytestmark = pytest.mark.usefixtures("cleared_routes")


@pytest.fixture
def clock_start() -> datetime:
    return START


def make(clock: VirtualClock, **options: Any) -> tuple[SpotifyAdsSimulator, SpotifyAdsClient]:
    simulator = SpotifyAdsSimulator(
        clock,
        token_verifier={TOKEN: "ana"}.get,
        ad_accounts=[SimulatedAdAccount(ACCOUNT, "Larkspur & Vine Books", "biz")],
        account_access={"ana": [ACCOUNT]},
        **options,
    )
    route_host(ADS_HOST, simulator)
    client = SpotifyAdsClient(HttpService("spotify-ads", DEFAULT_BASE_URL), StaticToken("Authorization", "Bearer {token}", lambda: TOKEN), ACCOUNT)
    return simulator, client


def ad_set_body(campaign_id: str, country: str = "GB", start: str = "2026-12-03T00:00:00Z") -> dict[str, Any]:
    return {
        "campaign_id": campaign_id,
        "name": f"cs:1:pre_order {country} Pre-order · Fiction",
        "start_time": start,
        "end_time": "2027-01-28T00:00:00Z",
        "budget": {"micro_amount": 250_000_000, "type": "LIFETIME"},
        "asset_format": "AUDIO",
        "bid_strategy": "AUTOBID",
        "category": "ADV_21_182",
        "targets": {"placements": ["PODCAST"], "geo_targets": {"country_code": country}, "age_ranges": [{"min": 18, "max": 99}], "podcast_episode_topic_ids": ["books-and-literature"]},
    }


def ad_body(ad_set_id: str, audio: str, image: str, tagline: str = "Pre-order The Glass Orchard") -> dict[str, Any]:
    return {
        "ad_set_id": ad_set_id,
        "name": "cs:1:pre_order GB spot",
        "advertiser_name": "Larkspur & Vine",
        "tagline": tagline,
        "asset_format": "AUDIO",
        "assets": {"asset_id": audio, "companion_asset_id": image, "logo_asset_id": image},
        "call_to_action": {"key": "ORDER_NOW", "language": "ENGLISH", "clickthrough_url": "https://larkspurvine.example/books/1"},
    }


def creatives(client: SpotifyAdsClient) -> tuple[str, str]:
    audio = client.upload_asset(client.create_asset("AUDIO", "cs-1-audio.mp3"), media.mp3(24), "audio/mpeg")
    cover = companion_image(media.cover(1400, 2100), 640)
    assert not isinstance(cover, list) and hasattr(cover, "data")
    image = client.upload_asset(client.create_asset("IMAGE", "cs-1-image.jpg"), cover.data, "image/jpeg")  # type: ignore[union-attr]
    assert (audio.status, image.status) == ("PROCESSING", "PROCESSING")
    return audio.id, image.id


def test_a_draft_hierarchy_validates_at_its_re_read_version_once_its_assets_are_ready(clock: VirtualClock) -> None:
    simulator, client = make(clock)
    with recording_requests() as log:
        campaign = client.create_draft_campaign({"name": "cs:1:pre_order The Glass Orchard (pre-order)", "objective": "CLICKS"})
        audio, image = creatives(client)
        ad_set = client.create_draft_ad_set(ad_set_body(campaign.id))
        client.create_draft_ad(ad_body(ad_set.id, audio, image))

        not_ready = client.validate(campaign.id)
        clock.advance(61)
        assert {a.status for a in client.assets([audio, image])} == {"READY"}  # one request for both
        valid = client.validate(campaign.id)
    sent = log.exchanges

    assert not not_ready.valid and {c for i in not_ready.issues for c in i.error_codes} == {"INVALID.ASSET.NOT_READY"}
    assert not_ready.issues[0].text().startswith("ad ") and "[INVALID.ASSET.NOT_READY]" in not_ready.issues[0].text()
    assert valid.valid and valid.hierarchy_version == 3 and valid.issues == ()
    validate_posts = [e for e in sent if e.method == "POST" and e.url.endswith(f"/drafts/campaigns/{campaign.id}")]
    assert [e.request_body for e in validate_posts] == [{"action": "VALIDATE", "draft_hierarchy_version": 3}] * 2
    for post in validate_posts:  # each VALIDATE right after a GET of the draft campaign
        before = sent[sent.index(post) - 1]
        assert (before.method, before.url.split("?")[0]) == ("GET", f"{DEFAULT_BASE_URL}/ad_accounts/{ACCOUNT}/drafts/campaigns/{campaign.id}")
    creates = [e for e in sent if e.method == "POST" and e.url.rsplit("/", 1)[-1] in ("campaigns", "ad_sets", "ads", "assets")]
    assert creates and all(len(e.request_headers.get("idempotency-key", "")) == 64 for e in creates)
    assert simulator.state()["draft_ads"][0]["tagline"] == "Pre-order The Glass Orchard"


def test_a_stale_hierarchy_version_is_read_again_once(clock: VirtualClock) -> None:
    simulator, client = make(clock)
    campaign = client.create_draft_campaign({"name": "cs:1:pre_order X", "objective": "CLICKS"})
    real_get = client.get_draft_campaign
    calls = {"n": 0}

    def get_then_change(draft_id: str) -> Any:
        found = real_get(draft_id)
        calls["n"] += 1
        if calls["n"] == 1:  # someone edits the tree between our read and our action
            client.update_draft_campaign(draft_id, {"name": "cs:1:pre_order X (edited)"})
        return found

    client.get_draft_campaign = get_then_change  # type: ignore[method-assign]
    outcome = client.validate(campaign.id)
    assert calls["n"] == 2 and not outcome.valid and outcome.hierarchy_version == 2  # the second read saw version 2
    assert {c for i in outcome.issues for c in i.error_codes} == {"MISSING.CAMPAIGN.AD_SETS"}


def test_look_ups_find_drafts_and_assets_by_their_deterministic_names(clock: VirtualClock) -> None:
    simulator, client = make(clock)
    first = client.create_draft_campaign({"name": "cs:1:pre_order One", "objective": "CLICKS"})
    client.create_draft_campaign({"name": "cs:1:publication One", "objective": "CLICKS"})
    client.create_draft_campaign({"name": "cs:12:pre_order Twelve", "objective": "CLICKS"})
    ad_set = client.create_draft_ad_set(ad_set_body(first.id, "US"))
    client.create_asset("AUDIO", "cs-1-audio-abc.mp3")

    assert [c.id for c in client.find_draft_campaigns("cs:1:pre_order ")] == [first.id]
    assert [s.id for s in client.draft_ad_sets(first.id)] == [ad_set.id]
    assert [a.name for a in client.find_assets("cs-1-audio-abc.mp3")] == ["cs-1-audio-abc.mp3"]
    assert client.find_assets("cs-1-audio") == []  # the API's filter is a substring; the look-up wants the name
    assert client.get_draft_campaign("8a3e0a52-0000-4000-8000-000000000000") is None  # 404 {"errorCodes": ...} read as gone


def test_an_ambiguous_create_is_not_retried_by_the_connector(clock: VirtualClock) -> None:
    simulator, client = make(clock, faults=ScriptedFaults("timeout-after-write"))
    with pytest.raises(AmbiguousWrite):
        client.create_draft_campaign({"name": "cs:1:pre_order X", "objective": "CLICKS"})
    assert len(simulator.state()["draft_campaigns"]) == 1  # it happened; the caller looks it up (intents.create_once)
    assert [r.method for r in simulator.received] == ["POST"]


def test_the_same_create_again_is_deduplicated_by_its_idempotency_key(clock: VirtualClock) -> None:
    simulator, client = make(clock, idempotent_replay="conflict")
    body = {"name": "cs:1:pre_order X", "objective": "CLICKS"}
    first = client.create_draft_campaign(body)
    again = client.create_draft_campaign(body)  # 409 ALREADY_COMPLETED: the created draft is read at resource_uri
    assert again.id == first.id and len(simulator.state()["draft_campaigns"]) == 1 and simulator.idempotent_replays == 1


def test_errors_are_typed_and_carry_the_apis_reasons_in_either_spelling() -> None:
    request = httpx.Request("POST", f"{DEFAULT_BASE_URL}/x")
    rejected = ads_error(AdsRequestRejected("spotify-ads", "POST /x rejected: ...", 400, '{"sp_trace_id": "t", "messages": ["bad bid"], "error_codes": [{"code": "INVALID.BID", "definition": "bad bid"}]}'))
    assert isinstance(rejected, AdsRequestRejected) and isinstance(rejected, PermanentError) and rejected.codes == ("INVALID.BID",)
    assert "bad bid [INVALID.BID]" in str(rejected)
    camel = ads_error(NotFound("spotify-ads", "GET /x not found", 404, '{"errorCodes": [], "messages": ["Resource not found"]}'))
    assert isinstance(camel, AdsNotFound) and "Resource not found" in str(camel)
    reused = ads_error(Conflict("spotify-ads", "POST /x conflicts", 409, '{"error_code": "IDEMPOTENCY_KEY_REUSED", "messages": ["used"], "error_codes": []}'))
    assert isinstance(reused, AdsIdempotencyKeyReused) and isinstance(reused, PermanentError)
    busy = ads_error(Conflict("spotify-ads", "POST /x conflicts", 409, '{"error_code": "IDEMPOTENCY_REQUEST_IN_PROGRESS"}'))
    assert isinstance(busy, AdsConflict) and isinstance(busy, TransientError)
    assert AdsErrorBody.from_text("not json") is None and request.method == "POST"


def test_an_unknown_token_is_authentication_failed(clock: VirtualClock) -> None:
    simulator, _ = make(clock)
    stranger = SpotifyAdsClient(HttpService("spotify-ads", DEFAULT_BASE_URL), StaticToken("Authorization", "Bearer {token}", lambda: "nope"), ACCOUNT)
    with pytest.raises(AdsAuthenticationFailed, match="invalid or expired"):
        stranger.get_campaign("8a3e0a52-0000-4000-8000-000000000000")


def test_live_campaigns_are_paused_never_deleted(clock: VirtualClock) -> None:
    simulator, client = make(clock)
    campaign = client.create_draft_campaign({"name": "cs:1:pre_order X", "objective": "CLICKS"})
    audio, image = creatives(client)
    ad_set = client.create_draft_ad_set(ad_set_body(campaign.id))
    client.create_draft_ad(ad_body(ad_set.id, audio, image))
    clock.advance(61)
    published = client.publish(campaign.id)
    assert published.valid and published.campaign_status == "ACTIVE" and client.get_draft_campaign(campaign.id) is None
    assert client.set_campaign_status(campaign.id, "PAUSED").status == "PAUSED"
    assert [c.status for c in client.find_campaigns("cs:1:pre_order")] == ["PAUSED"]


def test_daily_reports_page_by_a_continuation_token_sent_alone_in_windows_of_90_days(clock: VirtualClock) -> None:
    simulator, client = make(clock)
    ids = []
    audio, image = creatives(client)
    clock.advance(61)
    for n in range(3):
        campaign = client.create_draft_campaign({"name": f"cs:{n}:pre_order X", "objective": "CLICKS"})
        ad_set = client.create_draft_ad_set(ad_set_body(campaign.id))
        ad = client.create_draft_ad(ad_body(ad_set.id, audio, image))
        assert client.publish(campaign.id).valid
        ids.append(campaign.id)
        for offset in range(40):
            simulator.record_delivery(ad.id, date(2026, 10, 1) + timedelta(days=offset * 3), {"IMPRESSIONS": 100 + n, "COMPLETES": 60})
    with recording_requests() as log:
        reports = list(client.daily_reports("CAMPAIGN", ids, date(2026, 10, 1), date(2027, 2, 1), ["IMPRESSIONS", "COMPLETION_RATE"]))
    sent = log.exchanges

    rows = [row for report in reports for row in report.rows]
    assert len(rows) == 3 * 40 and {r.entity_id for r in rows} == set(ids)
    assert all(r.start_time.date() <= date(2027, 2, 1) for r in rows)
    firsts = [httpx.URL(e.url) for e in sent if "continuation_token" not in httpx.URL(e.url).params]
    follows = [httpx.URL(e.url) for e in sent if "continuation_token" in httpx.URL(e.url).params]
    assert len(firsts) == 2 and follows and all(set(u.params.keys()) == {"continuation_token"} for u in follows)
    for url in firsts:
        start, end = (datetime.fromisoformat(url.params[k].replace("Z", "+00:00")) for k in ("report_start", "report_end"))
        assert (end - start).days <= 90 and start.hour == end.hour == 0 and url.params["granularity"] == "DAY"
    assert report_windows(date(2026, 1, 1), date(2026, 1, 1)) == [(date(2026, 1, 1), date(2026, 1, 1))]
    assert report_windows(date(2026, 1, 1), date(2026, 6, 30))[0] == (date(2026, 1, 1), date(2026, 3, 31))
