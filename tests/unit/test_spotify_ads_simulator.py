"""The Spotify Ads API v3 simulator on its own, spoken to in plain HTTP: what it promises the Ads
connector (issue 7: drafts, validation, assets, exactly-once creates) and the reporting ingest (issue 12:
aggregate reports). Every exchange in these tests also passes the simulator's own contract check (the
project's copy of Spotify's OpenAPI document), or the test fails with a ContractViolation."""

from __future__ import annotations

import io
import secrets
import wave
from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from PIL import Image

from sandbox.clock import VirtualClock
from sandbox.simulators.base import FaultPlan
from sandbox.simulators.megaphone import ScriptedFaults
from sandbox.simulators.spotify_ads import BASE_URL, SimulatedAdAccount, SpotifyAdsSimulator, inspect_media
from sandbox.specs.openapi_contract import ContractViolation, OpenApiContract

ACCOUNT = "5f0c2d9e-3b1a-4c7e-9a21-6d8e4f3b2a10"
OTHER_ACCOUNT = "8d1e6a55-0c4b-4f2e-b7a9-1e2d3c4b5a69"
BUSINESS = "0b7e2c14-9d3f-4a61-8e5b-2f4c6d8a0e13"
START = datetime(2031, 3, 1, 9, 0, tzinfo=timezone.utc)
ANA_TOKEN = secrets.token_urlsafe(24)  # generated: no credential lives in a fixture
BOB_TOKEN = secrets.token_urlsafe(24)
USERS = {ANA_TOKEN: "ana", BOB_TOKEN: "bob"}
DRAFTS = f"/ad_accounts/{ACCOUNT}/drafts"
LIVE = f"/ad_accounts/{ACCOUNT}"


# ------------------------------------------------------------------------------------------ set-up
@pytest.fixture
def clock_start() -> datetime:
    return START


def simulator(clock: VirtualClock, **options: Any) -> SpotifyAdsSimulator:
    return SpotifyAdsSimulator(
        clock,
        token_verifier=USERS.get,
        ad_accounts=[
            SimulatedAdAccount(ACCOUNT, "Sandbox Books", BUSINESS),
            SimulatedAdAccount(OTHER_ACCOUNT, "Another Publisher", BUSINESS, currency_code="USD", country_code="US"),
        ],
        account_access={"ana": [ACCOUNT], "bob": [OTHER_ACCOUNT]},
        **options,
    )


@pytest.fixture
def sim(clock: VirtualClock) -> SpotifyAdsSimulator:
    return simulator(clock)


def http(sim: SpotifyAdsSimulator, token: str | None = ANA_TOKEN) -> httpx.Client:
    return httpx.Client(transport=sim, base_url=BASE_URL, headers={"Authorization": f"Bearer {token}"} if token else {})


@pytest.fixture
def client(sim: SpotifyAdsSimulator) -> httpx.Client:
    return http(sim)


def wav(seconds: float) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(8000)
        out.writeframes(b"\x80" * int(8000 * seconds))
    return buffer.getvalue()


def mp3(seconds: float) -> bytes:
    """MPEG-1 layer III frames at 128 kbit/s, 44.1 kHz (417 bytes, 1152 samples each), after an ID3 tag."""
    frame = bytes([0xFF, 0xFB, 0x90, 0x44]) + bytes(413)
    return b"ID3\x04\x00\x00\x00\x00\x00\x00" + frame * round(seconds * 44100 / 1152)


def picture(width: int, height: int, file_format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (180, 30, 40)).save(buffer, file_format)
    return buffer.getvalue()


def upload(client: httpx.Client, asset_type: str, name: str, data: bytes, content_type: str) -> dict[str, Any]:
    created = client.post(f"{LIVE}/assets", json={"asset_type": asset_type, "name": name})
    assert created.status_code == 200, created.text
    assert created.json()["status"] == "WAITING_UPLOAD"
    uploaded = client.post(
        f"{LIVE}/assets/{created.json()['id']}/upload",
        files={"media": (name, data, content_type)},
        data={"asset_type": asset_type},
    )
    assert uploaded.status_code == 200, uploaded.text
    return uploaded.json()


def ready_assets(client: httpx.Client, clock: VirtualClock) -> dict[str, str]:
    spot = upload(client, "AUDIO", "long-chapter-spot.mp3", mp3(20), "audio/mpeg")
    cover = upload(client, "IMAGE", "long-chapter-cover.png", picture(640, 640), "image/png")
    logo = upload(client, "IMAGE", "sandbox-books-logo.jpg", picture(800, 800, "JPEG"), "image/jpeg")
    clock.advance(61)
    return {"asset_id": spot["id"], "companion_asset_id": cover["id"], "logo_asset_id": logo["id"]}


def ad_set_body(clock: VirtualClock, campaign_id: str, **changes: Any) -> dict[str, Any]:
    body = {
        "campaign_id": campaign_id,
        "name": "The Long Chapter - UK readers",
        "start_time": (clock.now() + timedelta(days=2)).strftime("%Y-%m-%dT00:00:00Z"),
        "end_time": (clock.now() + timedelta(days=30)).strftime("%Y-%m-%dT00:00:00Z"),
        "budget": {"micro_amount": 250_000_000, "type": "LIFETIME"},
        "asset_format": "AUDIO",
        "bid_strategy": "AUTOBID",
        "targets": {
            "placements": ["PODCAST"],
            "geo_targets": {"country_code": "GB"},
            "age_ranges": [{"min": 18, "max": 65}],
            "podcast_episode_topic_ids": ["books-and-literature"],
        },
    }
    body.update(changes)
    return body


def ad_body(ad_set_id: str, assets: dict[str, str], **changes: Any) -> dict[str, Any]:
    body = {
        "ad_set_id": ad_set_id,
        "name": "The Long Chapter - author spot",
        "advertiser_name": "Sandbox Books",
        "tagline": "Pre-order the new novel",
        "assets": assets,
        "call_to_action": {"key": "ORDER_NOW", "clickthrough_url": "https://books.example/the-long-chapter"},
    }
    body.update(changes)
    return body


def draft_tree(client: httpx.Client, clock: VirtualClock, assets: dict[str, str] | None = None) -> dict[str, str]:
    """A valid draft campaign with one ad set and one ad."""
    assets = assets or ready_assets(client, clock)
    campaign = client.post(f"{DRAFTS}/campaigns", json={"name": "The Long Chapter: pre-order", "objective": "REACH"})
    assert campaign.status_code == 200, campaign.text
    ad_set = client.post(f"{DRAFTS}/ad_sets", json=ad_set_body(clock, campaign.json()["id"]))
    assert ad_set.status_code == 200, ad_set.text
    ad = client.post(f"{DRAFTS}/ads", json=ad_body(ad_set.json()["id"], assets))
    assert ad.status_code == 200, ad.text
    return {"campaign": campaign.json()["id"], "ad_set": ad_set.json()["id"], "ad": ad.json()["id"], **assets}


def version(client: httpx.Client, campaign_id: str) -> int:
    response = client.get(f"{DRAFTS}/campaigns/{campaign_id}")
    assert response.status_code == 200, response.text
    return response.json()["draft_hierarchy_version"]


def act(client: httpx.Client, campaign_id: str, action: str, at_version: int | None = None) -> httpx.Response:
    return client.post(
        f"{DRAFTS}/campaigns/{campaign_id}",
        json={
            "action": action,
            "draft_hierarchy_version": at_version if at_version is not None else version(client, campaign_id),
        },
    )


def codes(response: httpx.Response) -> list[str]:
    return [error["code"] for error in response.json()["error_codes"]]


def validation_codes(response: httpx.Response) -> set[tuple[str, str, str]]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["campaign"] is None
    return {
        (e["validation_entity_type"], e["validation_entity_id"], code)
        for e in body["validation_errors"]
        for code in e["error_codes"]
    }


# ------------------------------------------------------------------------------------------ happy path
def test_the_whole_campaign_from_assets_to_archive(sim, client, clock):
    spot = upload(client, "AUDIO", "spot.mp3", mp3(20), "audio/mpeg")
    assert spot["status"] == "PROCESSING" and "duration_ms" not in spot
    cover = upload(client, "IMAGE", "cover.png", picture(640, 640), "image/png")
    clock.advance(59)
    assert client.get(f"{LIVE}/assets/{spot['id']}").json()["status"] == "PROCESSING"
    clock.advance(2)
    audio = client.get(f"{LIVE}/assets/{spot['id']}").json()
    assert audio["status"] == "READY" and audio["file_type"] == "MP3" and 19_900 <= audio["duration_ms"] <= 20_100
    assert audio["audio_type"] == "USER_UPLOADED_AUDIO" and audio["url"].startswith("https://")
    image = client.get(f"{LIVE}/assets/{cover['id']}").json()
    assert (image["status"], image["file_type"], image["width"], image["height"], image["aspect_ratio"]) == (
        "READY",
        "PNG",
        640,
        640,
        "SQUARE",
    )
    assets = {"asset_id": spot["id"], "companion_asset_id": cover["id"], "logo_asset_id": cover["id"]}

    ids = draft_tree(client, clock, assets)
    assert version(client, ids["campaign"]) == 3  # created at 1, +1 for the ad set, +1 for the ad
    validated = act(client, ids["campaign"], "VALIDATE")
    assert validated.status_code == 200, validated.text
    assert validated.json()["campaign"]["id"] == ids["campaign"] and "validation_errors" not in validated.json()
    assert client.get(f"{LIVE}/campaigns/{ids['campaign']}").status_code == 404  # validating publishes nothing

    published = act(client, ids["campaign"], "PUBLISH")
    assert published.status_code == 200, published.text
    assert published.json()["campaign"] == {
        "id": ids["campaign"],
        "name": "The Long Chapter: pre-order",
        "objective": "REACH",
        "status": "ACTIVE",
        "created_at": "2031-03-01T09:01:01Z",
        "updated_at": "2031-03-01T09:01:01Z",
    }
    ad_set = client.get(f"{LIVE}/ad_sets/{ids['ad_set']}").json()
    ad = client.get(f"{LIVE}/ads/{ids['ad']}").json()
    assert ad_set["campaign_id"] == ids["campaign"] and ad["ad_set_id"] == ids["ad_set"]  # the drafts' ids
    assert ad_set["status"] == ad["status"] == "PENDING_APPROVAL"
    assert ad_set["budget"] == {"micro_amount": 250_000_000, "type": "LIFETIME", "currency": "GBP"}
    assert ad_set["targets"]["platforms"] == ["ANDROID", "DESKTOP", "IOS"] and ad_set["pacing"] == "PACING_EVEN"
    assert len(ad_set["frequency_caps"]) == 3 and ad_set["is_paused"] is False
    assert ad["call_to_action"] == {
        "key": "ORDER_NOW",
        "text": "Order now",
        "language": "ENGLISH",
        "clickthrough_url": "https://books.example/the-long-chapter",
    }
    assert ad["assets"] == assets
    for path in (f"campaigns/{ids['campaign']}", f"ad_sets/{ids['ad_set']}", f"ads/{ids['ad']}"):
        assert client.get(f"{DRAFTS}/{path}").status_code == 404  # the drafts became the live entities

    clock.advance(3600)
    assert client.get(f"{LIVE}/ad_sets/{ids['ad_set']}").json()["status"] == "READY"  # reviewed, starts in 2 days
    assert client.get(f"{LIVE}/ads/{ids['ad']}").json()["status"] == "ACTIVE"
    clock.advance(2 * 86400)
    assert client.get(f"{LIVE}/ad_sets/{ids['ad_set']}").json()["status"] == "ACTIVE"

    paused = client.patch(f"{LIVE}/campaigns/{ids['campaign']}", json={"status": "PAUSED"})
    assert paused.status_code == 200 and paused.json()["status"] == "PAUSED"
    ad_set_off = client.patch(f"{LIVE}/ad_sets/{ids['ad_set']}", json={"delivery": "OFF"}).json()
    assert (ad_set_off["delivery"], ad_set_off["is_paused"], ad_set_off["pause_reason"]) == ("OFF", True, "USER_PAUSED")
    assert client.patch(f"{LIVE}/ads/{ids['ad']}", json={"delivery": "OFF"}).json()["delivery"] == "OFF"
    archived = client.patch(f"{LIVE}/campaigns/{ids['campaign']}", json={"status": "ARCHIVED"})
    assert archived.json()["status"] == "ARCHIVED"
    assert client.get(f"{LIVE}/ad_sets/{ids['ad_set']}").json()["status"] == "ARCHIVED"
    assert client.get(f"{LIVE}/ads/{ids['ad']}").json()["status"] == "ARCHIVED"

    state = sim.state()
    assert [c["id"] for c in state["campaigns"]] == [ids["campaign"]] and state["campaigns"][0]["status"] == "ARCHIVED"
    assert [a["id"] for a in state["ad_sets"]] == [ids["ad_set"]] and [a["id"] for a in state["ads"]] == [ids["ad"]]
    assert state["draft_campaigns"] == state["draft_ad_sets"] == state["draft_ads"] == []
    assert {a["id"] for a in state["assets"]} == {spot["id"], cover["id"]}


def test_live_entities_are_never_deleted_and_archived_ones_never_edited(client, clock):
    ids = draft_tree(client, clock)
    assert act(client, ids["campaign"], "PUBLISH").status_code == 200
    for path in (f"campaigns/{ids['campaign']}", f"ad_sets/{ids['ad_set']}", f"ads/{ids['ad']}"):
        refused = client.delete(f"{LIVE}/{path}")
        assert refused.status_code == 405 and codes(refused) == ["METHOD_NOT_ALLOWED"]
    assert client.patch(f"{LIVE}/campaigns/{ids['campaign']}", json={"status": "PENDING_ADVERTISER_REVIEW"}).status_code == 400
    client.patch(f"{LIVE}/campaigns/{ids['campaign']}", json={"status": "ARCHIVED"})
    for path, body in (
        (f"campaigns/{ids['campaign']}", {"status": "ACTIVE"}),
        (f"ad_sets/{ids['ad_set']}", {"delivery": "ON"}),
        (f"ads/{ids['ad']}", {"tagline": "Out now in paperback"}),
    ):
        refused = client.patch(f"{LIVE}/{path}", json=body)
        assert refused.status_code == 400 and codes(refused) == ["INVALID.ENTITY.ARCHIVED"], path


def test_an_ad_set_patch_with_delivery_carries_nothing_else(client, clock):
    ids = draft_tree(client, clock)
    act(client, ids["campaign"], "PUBLISH")
    refused = client.patch(f"{LIVE}/ad_sets/{ids['ad_set']}", json={"delivery": "OFF", "name": "Renamed"})
    assert refused.status_code == 400 and codes(refused) == ["INVALID.DELIVERY.NOT_ALONE"]
    renamed = client.patch(f"{LIVE}/ad_sets/{ids['ad_set']}", json={"name": "Renamed"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Renamed"


def test_drafts_are_deleted_with_their_children_and_deleting_again_is_safe(sim, client, clock):
    ids = draft_tree(client, clock)
    at = version(client, ids["campaign"])
    assert client.delete(f"{DRAFTS}/ads/{ids['ad']}").status_code == 204
    assert version(client, ids["campaign"]) == at + 1
    assert client.delete(f"{DRAFTS}/campaigns/{ids['campaign']}").status_code == 204
    assert client.get(f"{DRAFTS}/ad_sets/{ids['ad_set']}").status_code == 404  # went with its campaign
    assert client.delete(f"{DRAFTS}/campaigns/{ids['campaign']}").status_code == 204
    assert client.delete(f"{DRAFTS}/ad_sets/{ids['ad_set']}").status_code == 204
    never = "3f6a2b1c-7d8e-4f90-a1b2-c3d4e5f60718"
    missing = client.delete(f"{DRAFTS}/ads/{never}")
    assert missing.status_code == 404 and missing.json() == {"errorCodes": [], "messages": ["Resource not found"]}
    assert sim.state()["draft_campaigns"] == []


# ------------------------------------------------------------------------------------------ hierarchy version
def test_validate_and_publish_need_the_current_hierarchy_version(client, clock):
    ids = draft_tree(client, clock)
    seen = version(client, ids["campaign"])
    client.patch(f"{DRAFTS}/ad_sets/{ids['ad_set']}", json={"name": "The Long Chapter - UK and IE"})
    stale = act(client, ids["campaign"], "PUBLISH", at_version=seen)
    assert stale.status_code == 400 and codes(stale) == ["INVALID.DRAFT_HIERARCHY_VERSION.STALE"]
    assert client.get(f"{LIVE}/campaigns/{ids['campaign']}").status_code == 404
    missing = client.post(f"{DRAFTS}/campaigns/{ids['campaign']}", json={"action": "VALIDATE"})
    assert missing.status_code == 400 and codes(missing) == ["MISSING.DRAFT_HIERARCHY_VERSION"]
    assert act(client, ids["campaign"], "VALIDATE", at_version=seen + 1).status_code == 200
    client.patch(f"{DRAFTS}/campaigns/{ids['campaign']}", json={"purchase_order": "PO-2031-17"})
    assert version(client, ids["campaign"]) == seen + 2
    assert client.get(f"{DRAFTS}/ad_sets/{ids['ad_set']}").json().get("draft_hierarchy_version") is None  # only on the campaign


def test_a_stale_version_can_be_answered_409_instead(clock):
    client = http(simulator(clock, stale_hierarchy_status=409))
    ids = draft_tree(client, clock)
    stale = act(client, ids["campaign"], "VALIDATE", at_version=1)
    assert stale.status_code == 409 and codes(stale) == ["INVALID.DRAFT_HIERARCHY_VERSION.STALE"]


def test_a_draft_child_needs_a_draft_parent_in_the_same_account(client, clock):
    orphan = client.post(f"{DRAFTS}/ad_sets", json=ad_set_body(clock, "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"))
    assert orphan.status_code == 400 and codes(orphan) == ["INVALID.CAMPAIGN_ID.NOT_FOUND"]
    no_parent = client.post(f"{DRAFTS}/ad_sets", json={"name": "No campaign"})
    assert no_parent.status_code == 400 and codes(no_parent) == ["INVALID_ARGUMENT"]  # the schema requires campaign_id


# ------------------------------------------------------------------------------------------ validation rules
RULES = [
    # (draft to edit, change, entity type in the error, reason code)
    ("campaigns", {"objective": "UNSET"}, "CAMPAIGN", "INVALID.OBJECTIVE.UNSUPPORTED_OBJECTIVE"),
    ("campaigns", {"name": " x"}, "CAMPAIGN", "INVALID.CAMPAIGN_NAME.FORMAT"),
    (
        "ad_sets",
        {"budget": {"micro_amount": 100_000_000, "type": "LIFETIME"}, "end_time": ""},
        "AD_SET",
        "INVALID.BUDGET.END_TIME_REQUIRED",
    ),
    ("ad_sets", {"budget": {"micro_amount": 0, "type": "DAILY"}}, "AD_SET", "INVALID.BUDGET.MICRO_AMOUNT"),
    ("ad_sets", {"bid_strategy": "MAX_BID"}, "AD_SET", "INVALID.BID_MICRO_AMOUNT.REQUIRED"),
    ("ad_sets", {"bid_strategy": "COST_PER_RESULT"}, "AD_SET", "INVALID.BID_MICRO_AMOUNT.REQUIRED"),
    ("ad_sets", {"bid_strategy": "UNSET"}, "AD_SET", "INVALID.BID_STRATEGY.UNSET"),
    ("ad_sets", {"name": "x"}, "AD_SET", "INVALID.AD_SET_NAME.LENGTH"),
    ("ad_sets", {"start_time": "2031-03-05"}, "AD_SET", "INVALID.START_TIME.FORMAT"),
    ("ad_sets", {"start_time": "2031-02-20T00:00:00Z"}, "AD_SET", "INVALID.SCHEDULE.START_IN_PAST"),
    ("ad_sets", {"end_time": "2031-03-02T00:00:00Z"}, "AD_SET", "INVALID.SCHEDULE.END_BEFORE_START"),
    ("ad_sets", {"targets": {"geo_targets": {"country_code": "GB"}}}, "AD_SET", "MISSING.TARGETS.PLACEMENTS"),
    (
        "ad_sets",
        {"targets": {"placements": ["PODCAST"], "geo_targets": {"country_code": "BR"}}},
        "AD_SET",
        "INVALID.GEO_TARGETS.UNSUPPORTED_COUNTRY",
    ),
    ("ad_sets", {"targets": {"placements": ["PODCAST"]}}, "AD_SET", "MISSING.GEO_TARGETS.COUNTRY_CODE"),
    (
        "ad_sets",
        {"targets": {"placements": ["PODCAST"], "geo_targets": {"country_code": "GB", "region_ids": ["2643743"]}}},
        "AD_SET",
        "INVALID.GEO_TARGETS.UNKNOWN_GEO",
    ),
    (
        "ad_sets",
        {"targets": {"placements": ["PODCAST"], "geo_targets": {"country_code": "GB"}, "age_ranges": [{"min": 40, "max": 18}]}},
        "AD_SET",
        "INVALID.AGE_RANGE.MIN_ABOVE_MAX",
    ),
    (
        "ad_sets",
        {"targets": {"placements": ["PODCAST"], "geo_targets": {"country_code": "GB"}, "podcast_episode_topic_ids": ["fiction"]}},
        "AD_SET",
        "INVALID.PODCAST_EPISODE_TOPIC.UNKNOWN",
    ),
    ("ad_sets", {"promotion": {"promotion_goal": "PODCAST_PROMO"}}, "AD_SET", "MISSING.PROMOTION.PROMOTION_TARGET_ID"),
    ("ads", {"name": "x"}, "AD", "INVALID.AD_NAME.LENGTH"),
    ("ads", {"advertiser_name": "Sandbox Books International Ltd"}, "AD", "INVALID.ADVERTISER_NAME.LENGTH"),
    ("ads", {"advertiser_name": "S"}, "AD", "INVALID.ADVERTISER_NAME.LENGTH"),
    ("ads", {"tagline": "Pre-order the new novel by Ada Lovelace now"}, "AD", "INVALID.TAGLINE.LENGTH"),
    ("ads", {"tagline": "Pre-order now "}, "AD", "INVALID.TAGLINE.FORMAT"),
    ("ads", {"call_to_action": {"key": "ORDER_NOW"}}, "AD", "MISSING.CALL_TO_ACTION.CLICKTHROUGH_URL"),
    (
        "ads",
        {"call_to_action": {"key": "ORDER_NOW", "clickthrough_url": "books.example/x"}},
        "AD",
        "INVALID.CALL_TO_ACTION.CLICKTHROUGH_URL",
    ),
]


@pytest.mark.parametrize(("draft", "change", "entity_type", "code"), RULES, ids=[rule[3] + ":" + rule[0] for rule in RULES])
def test_validate_reports_each_broken_rule_with_its_reason(client, clock, draft, change, entity_type, code):
    ids = draft_tree(client, clock)
    draft_id = {"campaigns": ids["campaign"], "ad_sets": ids["ad_set"], "ads": ids["ad"]}[draft]
    edited = client.patch(f"{DRAFTS}/{draft}/{draft_id}", json=change)
    assert edited.status_code == 200, edited.text
    for action in ("VALIDATE", "PUBLISH"):
        assert (entity_type, draft_id, code) in validation_codes(act(client, ids["campaign"], action))
    assert client.get(f"{LIVE}/campaigns/{ids['campaign']}").status_code == 404  # a refused PUBLISH publishes nothing


def test_an_audio_ad_needs_a_ready_square_companion_image(client, clock):
    ids = draft_tree(client, clock)
    client.patch(
        f"{DRAFTS}/ads/{ids['ad']}", json={"assets": {"asset_id": ids["asset_id"], "logo_asset_id": ids["logo_asset_id"]}}
    )
    assert ("AD", ids["ad"], "MISSING.ASSETS.COMPANION_ASSET_ID") in validation_codes(act(client, ids["campaign"], "VALIDATE"))

    wide = upload(client, "IMAGE", "wide-cover.jpg", picture(1280, 720, "JPEG"), "image/jpeg")
    small = upload(client, "IMAGE", "small-cover.png", picture(300, 300), "image/png")
    for companion, expected in ((wide["id"], "INVALID.ASSET.NOT_READY"), (ids["asset_id"], "INVALID.ASSET.WRONG_TYPE")):
        client.patch(f"{DRAFTS}/ads/{ids['ad']}", json={"assets": {**_assets(ids), "companion_asset_id": companion}})
        assert ("AD", ids["ad"], expected) in validation_codes(act(client, ids["campaign"], "VALIDATE"))
    clock.advance(61)
    for companion in (wide["id"], small["id"]):
        client.patch(f"{DRAFTS}/ads/{ids['ad']}", json={"assets": {**_assets(ids), "companion_asset_id": companion}})
        assert ("AD", ids["ad"], "INVALID.COMPANION_ASSET.DIMENSIONS") in validation_codes(
            act(client, ids["campaign"], "VALIDATE")
        )


def test_assets_must_exist_in_the_account_and_be_ready(client, clock):
    ids = draft_tree(client, clock)
    broken = upload(client, "AUDIO", "broken.mp3", b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"not audio" * 50, "audio/mpeg")
    clock.advance(61)
    for asset_id, code in (
        (broken["id"], "INVALID.ASSET.NOT_READY"),
        ("7b6a5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d", "INVALID.ASSET.NOT_FOUND"),
    ):
        client.patch(f"{DRAFTS}/ads/{ids['ad']}", json={"assets": {**_assets(ids), "asset_id": asset_id}})
        assert ("AD", ids["ad"], code) in validation_codes(act(client, ids["campaign"], "VALIDATE"))


def test_a_known_region_of_the_country_may_be_targeted(sim, client, clock):
    sim.add_geo("2643743", "London", "REGION", "GB", parent_geo_name="England")
    ids = draft_tree(client, clock)
    targets = {"placements": ["PODCAST"], "geo_targets": {"country_code": "GB", "region_ids": ["2643743"]}}
    client.patch(f"{DRAFTS}/ad_sets/{ids['ad_set']}", json={"targets": targets})
    assert act(client, ids["campaign"], "VALIDATE").status_code == 200
    targets["geo_targets"] = {"country_code": "US", "region_ids": ["2643743"]}
    client.patch(f"{DRAFTS}/ad_sets/{ids['ad_set']}", json={"targets": targets})
    assert ("AD_SET", ids["ad_set"], "INVALID.GEO_TARGETS.UNKNOWN_GEO") in validation_codes(
        act(client, ids["campaign"], "VALIDATE")
    )


def test_supported_countries_are_a_setting(clock):
    client = http(simulator(clock, supported_countries={"IE": "Ireland"}))
    ids = draft_tree(client, clock)
    assert ("AD_SET", ids["ad_set"], "INVALID.GEO_TARGETS.UNSUPPORTED_COUNTRY") in validation_codes(
        act(client, ids["campaign"], "VALIDATE")
    )


def test_a_hierarchy_needs_ad_sets_and_ads(client, clock):
    campaign = client.post(f"{DRAFTS}/campaigns", json={"name": "Backlist spring", "objective": "REACH"}).json()
    assert ("CAMPAIGN", campaign["id"], "MISSING.CAMPAIGN.AD_SETS") in validation_codes(act(client, campaign["id"], "VALIDATE"))
    ad_set = client.post(f"{DRAFTS}/ad_sets", json=ad_set_body(clock, campaign["id"])).json()
    assert ("AD_SET", ad_set["id"], "MISSING.AD_SET.ADS") in validation_codes(act(client, campaign["id"], "VALIDATE"))


def test_a_bare_draft_reports_every_missing_field(client):
    campaign = client.post(f"{DRAFTS}/campaigns", json={}).json()
    ad_set = client.post(f"{DRAFTS}/ad_sets", json={"campaign_id": campaign["id"]}).json()
    ad = client.post(f"{DRAFTS}/ads", json={"ad_set_id": ad_set["id"]}).json()
    found = validation_codes(act(client, campaign["id"], "VALIDATE"))
    assert {
        ("CAMPAIGN", campaign["id"], "MISSING.CAMPAIGN.NAME"),
        ("CAMPAIGN", campaign["id"], "MISSING.CAMPAIGN.OBJECTIVE"),
    } <= found
    for name in ("NAME", "START_TIME", "BUDGET", "ASSET_FORMAT", "TARGETS", "BID_STRATEGY"):
        assert ("AD_SET", ad_set["id"], f"MISSING.AD_SET.{name}") in found
    for code in (
        "MISSING.AD.NAME",
        "MISSING.AD.ADVERTISER_NAME",
        "MISSING.AD.TAGLINE",
        "MISSING.ASSETS.ASSET_ID",
        "MISSING.AD.CALL_TO_ACTION",
    ):
        assert ("AD", ad["id"], code) in found


def test_schema_rules_refuse_the_request_itself(client, clock):
    ids = draft_tree(client, clock)
    too_young = client.patch(
        f"{DRAFTS}/ad_sets/{ids['ad_set']}", json={"targets": {"placements": ["PODCAST"], "age_ranges": [{"min": 12, "max": 17}]}}
    )
    assert too_young.status_code == 400 and codes(too_young) == ["INVALID_ARGUMENT"]
    assert "12 is less than the minimum of 13" in too_young.json()["messages"][0]
    assert "sp_trace_id" in too_young.json()
    wrong_type = client.post(f"{LIVE}/assets", json={"asset_type": "SOUND", "name": "spot.mp3"})
    assert wrong_type.status_code == 400 and "'SOUND' is not one of" in wrong_type.json()["messages"][0]
    unknown_parameter = client.get(f"{LIVE}/campaigns", params={"page_size": 10})
    assert unknown_parameter.status_code == 400 and unknown_parameter.json()["messages"] == ["Unknown query parameter: page_size"]
    not_json = client.post(f"{LIVE}/campaigns", content=b"{", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400


def test_live_creates_apply_the_same_rules_at_once(client, clock):
    unset = client.post(f"{LIVE}/campaigns", json={"name": "Direct campaign", "objective": "UNSET"})
    assert unset.status_code == 400 and codes(unset) == ["INVALID.OBJECTIVE.UNSUPPORTED_OBJECTIVE"]
    campaign = client.post(f"{LIVE}/campaigns", json={"name": "Direct campaign", "objective": "REACH"})
    assert campaign.status_code == 200 and campaign.json()["status"] == "ACTIVE"
    lifetime = ad_set_body(clock, campaign.json()["id"])
    del lifetime["end_time"]
    refused = client.post(f"{LIVE}/ad_sets", json=lifetime)
    assert refused.status_code == 400 and codes(refused) == ["INVALID.BUDGET.END_TIME_REQUIRED"]
    ad_set = client.post(f"{LIVE}/ad_sets", json=ad_set_body(clock, campaign.json()["id"]))
    assert ad_set.status_code == 201, ad_set.text
    too_long = client.post(
        f"{LIVE}/ads",
        json=ad_body(
            ad_set.json()["id"], {"asset_id": ad_set.json()["id"], "logo_asset_id": ad_set.json()["id"]}, tagline="x" * 41
        ),
    )
    assert too_long.status_code == 400 and codes(too_long) == ["INVALID_ARGUMENT"]  # AdTagline's maxLength, in the schema
    assets = ready_assets(client, clock)
    no_companion = client.post(
        f"{LIVE}/ads", json=ad_body(ad_set.json()["id"], {k: v for k, v in assets.items() if k != "companion_asset_id"})
    )
    assert no_companion.status_code == 400 and codes(no_companion) == ["MISSING.ASSETS.COMPANION_ASSET_ID"]
    ad = client.post(f"{LIVE}/ads", json=ad_body(ad_set.json()["id"], assets))
    assert ad.status_code == 201 and ad.json()["status"] == "PENDING_APPROVAL"
    wrong_parent = client.post(f"{LIVE}/ads", json=ad_body(campaign.json()["id"], assets))
    assert wrong_parent.status_code == 400 and codes(wrong_parent) == ["INVALID.AD_SET_ID.NOT_FOUND"]


# ------------------------------------------------------------------------------------------ assets
def test_uploads_are_inspected_by_their_bytes(sim, client, clock):
    cases = {
        "wav": ("AUDIO", wav(12.5), "audio/wav"),
        "long": ("AUDIO", mp3(31), "audio/mpeg"),
        "flac": ("AUDIO", b"fLaC" + bytes(200), "audio/flac"),
        "garbled-ogg": ("AUDIO", b"OggS" + bytes(200), "audio/ogg"),
        "gif": ("IMAGE", picture(640, 640, "GIF"), "image/png"),
        "truncated-png": ("IMAGE", picture(640, 640)[:120], "image/png"),
        "wide-jpeg": ("IMAGE", picture(1920, 1080, "JPEG"), "image/jpeg"),
    }
    uploaded = {name: upload(client, kind, f"{name}.bin", data, mime)["id"] for name, (kind, data, mime) in cases.items()}
    clock.advance(61)
    seen = {name: client.get(f"{LIVE}/assets/{asset_id}").json() for name, asset_id in uploaded.items()}
    assert (seen["wav"]["status"], seen["wav"]["file_type"], seen["wav"]["duration_ms"]) == ("READY", "WAV", 12_500)
    for name in ("long", "flac", "garbled-ogg", "gif", "truncated-png"):
        assert seen[name]["status"] == "ERROR", name
        assert "url" not in seen[name] and "file_type" not in seen[name]
    assert (seen["wide-jpeg"]["file_type"], seen["wide-jpeg"]["aspect_ratio"], seen["wide-jpeg"]["width"]) == (
        "JPEG",
        "HORIZONTAL_16_9",
        1920,
    )
    assert sim.asset(uploaded["wav"]) == seen["wav"]
    retried = client.post(
        f"{LIVE}/assets/{uploaded['long']}/upload",
        files={"media": ("short.mp3", mp3(15), "audio/mpeg")},
        data={"asset_type": "AUDIO"},
    )
    assert retried.status_code == 200 and retried.json()["status"] == "PROCESSING"  # an asset in ERROR takes a new file


def test_upload_refusals(clock):
    sim = simulator(clock, max_upload_bytes=50_000)
    client = http(sim)
    spot = upload(client, "AUDIO", "spot.wav", wav(1), "audio/wav")
    again = client.post(
        f"{LIVE}/assets/{spot['id']}/upload", files={"media": ("spot.wav", wav(1), "audio/wav")}, data={"asset_type": "AUDIO"}
    )
    assert again.status_code == 400 and codes(again) == ["INVALID.ASSET.ALREADY_UPLOADED"]
    fresh = client.post(f"{LIVE}/assets", json={"asset_type": "AUDIO", "name": "spot-2.wav"}).json()
    mismatch = client.post(
        f"{LIVE}/assets/{fresh['id']}/upload",
        files={"media": ("a.png", picture(10, 10), "image/png")},
        data={"asset_type": "IMAGE"},
    )
    assert mismatch.status_code == 400 and codes(mismatch) == ["INVALID.ASSET_TYPE.MISMATCH"]
    too_big = client.post(
        f"{LIVE}/assets/{fresh['id']}/upload", files={"media": ("big.wav", wav(10), "audio/wav")}, data={"asset_type": "AUDIO"}
    )
    assert too_big.status_code == 400 and codes(too_big) == ["INVALID.MEDIA.TOO_LARGE"]
    no_media = client.post(
        f"{LIVE}/assets/{fresh['id']}/upload", files={"other": ("x", b"1", "text/plain")}, data={"asset_type": "AUDIO"}
    )
    assert no_media.status_code == 400 and "'media' is a required property" in no_media.json()["messages"][0]
    subtype = client.post(
        f"{LIVE}/assets", json={"asset_type": "IMAGE", "name": "cover.png", "asset_subtype": "BACKGROUND_MUSIC"}
    )
    assert subtype.status_code == 400 and codes(subtype) == ["INVALID.ASSET_SUBTYPE.NOT_AUDIO"]
    other = (
        http(sim, BOB_TOKEN)
        .post(f"/ad_accounts/{OTHER_ACCOUNT}/assets", json={"asset_type": "AUDIO", "name": "theirs.wav"})
        .json()
    )
    assert client.get(f"{LIVE}/assets/{other['id']}").status_code == 404  # another account's asset


def test_assets_are_listed_by_type_status_and_name(client, clock):
    ready_assets(client, clock)
    upload(client, "AUDIO", "backlist-spot.mp3", mp3(10), "audio/mpeg")
    images = client.get(f"{LIVE}/assets", params={"asset_types": "IMAGE"}).json()
    assert {a["name"] for a in images["assets"]} == {"long-chapter-cover.png", "sandbox-books-logo.jpg"}
    processing = client.get(f"{LIVE}/assets", params={"statuses": "PROCESSING"}).json()["assets"]
    assert [a["name"] for a in processing] == ["backlist-spot.mp3"]
    named = client.get(f"{LIVE}/assets", params={"name": "LONG-CHAPTER", "sort_field": "NAME", "sort_direction": "ASC"}).json()
    assert [a["name"] for a in named["assets"]] == ["long-chapter-cover.png", "long-chapter-spot.mp3"]
    assert named["paging"] == {"page_size": 50, "total_results": 2, "offset": 0, "current_page": 1}
    spots = client.get(f"{LIVE}/assets", params={"asset_subtypes": "AUDIO_AD"}).json()["assets"]
    assert len(spots) == 2


# ------------------------------------------------------------------------------------------ idempotency
def test_an_idempotency_key_replays_the_same_create(sim, client):
    body = {"name": "The Long Chapter: publication", "objective": "REACH"}
    first = client.post(f"{DRAFTS}/campaigns", json=body, headers={"Idempotency-Key": "title-42:publication:campaign"})
    again = client.post(f"{DRAFTS}/campaigns", json=body, headers={"Idempotency-Key": "title-42:publication:campaign"})
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert len(sim.state()["draft_campaigns"]) == 1 and sim.state()["idempotent_replays"] == 1
    reused = client.post(
        f"{DRAFTS}/campaigns", json={**body, "name": "Another"}, headers={"Idempotency-Key": "title-42:publication:campaign"}
    )
    assert reused.status_code == 409 and codes(reused) == ["IDEMPOTENCY_KEY_REUSED"]
    assert reused.json()["error_code"] == "IDEMPOTENCY_KEY_REUSED"
    other_path = client.post(f"{LIVE}/campaigns", json=body, headers={"Idempotency-Key": "title-42:publication:campaign"})
    assert other_path.status_code == 409
    bob = http(sim, BOB_TOKEN).post(
        f"/ad_accounts/{OTHER_ACCOUNT}/drafts/campaigns", json=body, headers={"Idempotency-Key": "title-42:publication:campaign"}
    )
    assert bob.status_code == 200 and bob.json()["id"] != first.json()["id"]  # keys belong to their user


def test_a_refused_create_does_not_use_up_its_key(client, clock):
    campaign = client.post(f"{LIVE}/campaigns", json={"name": "Direct", "objective": "REACH"}).json()
    bad = ad_set_body(clock, campaign["id"], bid_strategy="MAX_BID")
    assert client.post(f"{LIVE}/ad_sets", json=bad, headers={"Idempotency-Key": "k-ad-set"}).status_code == 400
    fixed = client.post(f"{LIVE}/ad_sets", json={**bad, "bid_micro_amount": 12_000_000}, headers={"Idempotency-Key": "k-ad-set"})
    assert fixed.status_code == 201


def test_keys_expire_and_replays_can_be_conflicts(clock):
    sim = simulator(clock, idempotent_replay="conflict", idempotency_key_ttl_seconds=600)
    client = http(sim)
    body = {"name": "Backlist push", "objective": "REACH"}
    first = client.post(f"{LIVE}/campaigns", json=body, headers={"Idempotency-Key": "k1"})
    completed = client.post(f"{LIVE}/campaigns", json=body, headers={"Idempotency-Key": "k1"})
    assert completed.status_code == 409 and codes(completed) == ["IDEMPOTENCY_REQUEST_ALREADY_COMPLETED"]
    assert completed.json()["resource_uri"] == f"{BASE_URL}{LIVE}/campaigns/{first.json()['id']}"
    clock.advance(601)
    later = client.post(f"{LIVE}/campaigns", json=body, headers={"Idempotency-Key": "k1"})
    assert later.status_code == 200 and later.json()["id"] != first.json()["id"]


def test_a_retry_after_a_lost_answer_finds_the_write_that_happened(clock):
    faults = ScriptedFaults("timeout-after-write")
    sim = simulator(clock, faults=faults)
    client = http(sim)
    body = {"name": "The Long Chapter: pre-order", "objective": "REACH"}
    with pytest.raises(httpx.ReadTimeout):
        client.post(f"{DRAFTS}/campaigns", json=body, headers={"Idempotency-Key": "k-lost"})
    assert len(sim.state()["draft_campaigns"]) == 1  # the server acted
    retried = client.post(f"{DRAFTS}/campaigns", json=body, headers={"Idempotency-Key": "k-lost"})
    assert retried.status_code == 200 and retried.json()["id"] == sim.state()["draft_campaigns"][0]["id"]
    assert len(sim.state()["draft_campaigns"]) == 1
    faults.fail_next("timeout")
    with pytest.raises(httpx.ReadTimeout):
        client.post(f"{DRAFTS}/campaigns", json={**body, "name": "Other"}, headers={"Idempotency-Key": "k-lost-2"})
    assert len(sim.state()["draft_campaigns"]) == 1  # lost before the server acted


# ------------------------------------------------------------------------------------------ lists
def test_lists_page_by_offset_and_filter_by_name(client):
    names = ["Alpha launch", "beta LAUNCH", "Gamma backlist", "Delta launch", "Epsilon", "Zeta launch", "Eta launch"]
    created = [client.post(f"{LIVE}/campaigns", json={"name": name, "objective": "REACH"}).json() for name in names]
    first = client.get(f"{LIVE}/campaigns", params={"limit": 3}).json()
    assert first["paging"] == {"page_size": 3, "total_results": 7, "offset": 0, "current_page": 1}
    assert [c["name"] for c in first["campaigns"]] == ["Eta launch", "Zeta launch", "Epsilon"]  # newest first
    last = client.get(f"{LIVE}/campaigns", params={"limit": 3, "offset": 6}).json()
    assert last["paging"]["current_page"] == 3 and [c["id"] for c in last["campaigns"]] == [created[0]["id"]]
    launches = client.get(f"{LIVE}/campaigns", params={"name": "launch", "sort_field": "NAME", "sort_direction": "ASC"}).json()
    assert [c["name"] for c in launches["campaigns"]] == [
        "Alpha launch",
        "beta LAUNCH",
        "Delta launch",
        "Eta launch",
        "Zeta launch",
    ]
    assert launches["paging"]["total_results"] == 5
    only = client.get(
        f"{LIVE}/campaigns", params=[("campaign_ids", created[2]["id"]), ("fields", "NAME"), ("fields", "STATUS")]
    ).json()
    assert only["campaigns"] == [{"name": "Gamma backlist", "status": "ACTIVE"}]
    assert client.get(f"{LIVE}/campaigns", params={"limit": 51}).status_code == 400
    assert client.get(f"{LIVE}/campaigns", params={"offset": -1}).status_code == 400


def test_drafts_and_children_are_listed_by_parent(client, clock):
    ids = draft_tree(client, clock)
    other = client.post(f"{DRAFTS}/campaigns", json={"name": "Other", "objective": "REACH"}).json()
    client.post(f"{DRAFTS}/ad_sets", json=ad_set_body(clock, other["id"], name="Other set"))
    campaigns = client.get(f"{DRAFTS}/campaigns").json()
    assert campaigns["paging"]["total_results"] == 2
    assert {c["draft_hierarchy_version"] for c in campaigns["campaign_drafts"]} == {3, 2}
    ad_sets = client.get(f"{DRAFTS}/ad_sets", params={"campaign_ids": ids["campaign"]}).json()["ad_set_drafts"]
    assert [a["id"] for a in ad_sets] == [ids["ad_set"]]
    ads = client.get(f"{DRAFTS}/ads", params={"ad_set_ids": ids["ad_set"]}).json()["ad_drafts"]
    assert [a["id"] for a in ads] == [ids["ad"]] and ads[0]["status"] == "PENDING"
    act(client, ids["campaign"], "PUBLISH")
    live_ad_sets = client.get(f"{LIVE}/ad_sets", params={"campaign_ids": ids["campaign"], "name": "uk readers"}).json()
    assert [a["id"] for a in live_ad_sets["ad_sets"]] == [ids["ad_set"]]
    by_asset = client.get(f"{LIVE}/ads", params={"asset_ids": ids["companion_asset_id"]}).json()
    assert [a["id"] for a in by_asset["ads"]] == [ids["ad"]]


# ------------------------------------------------------------------------------------------ auth, limits, faults
def test_auth_failures_use_the_error_shape(sim):
    for client in (http(sim, None), http(sim, "not-a-token")):
        refused = client.get(f"{LIVE}")
        assert refused.status_code == 401 and codes(refused) == ["UNAUTHENTICATED"] and refused.json()["sp_trace_id"]
    ana = http(sim)
    for account in (OTHER_ACCOUNT, "4e3d2c1b-0a9f-4e8d-b7c6-a5b4c3d2e1f0"):
        forbidden = ana.get(f"/ad_accounts/{account}/campaigns")
        assert forbidden.status_code == 403 and codes(forbidden) == ["PERMISSION_DENIED"]
    account = ana.get(LIVE).json()
    assert (account["name"], account["currency_code"], account["ad_account_role"]) == ("Sandbox Books", "GBP", "AD_ACCOUNT_ADMIN")
    assert ana.get("/targets/episode_topics").status_code == 200  # not tied to an account
    assert ana.get("/no/such/path").status_code == 404


def test_the_rate_limit_is_per_user_over_a_rolling_window(clock):
    sim = simulator(clock, requests_per_window=3, window_seconds=30)
    ana, bob = http(sim), http(sim, BOB_TOKEN)
    for _ in range(3):
        assert ana.get(LIVE).status_code == 200
        clock.advance(4)
    limited = ana.get(LIVE)
    assert limited.status_code == 429 and codes(limited) == ["RATE_LIMIT_EXCEEDED"]
    assert limited.headers["Retry-After"] == "18" and limited.headers["X-RateLimit-Remaining"] == "0"
    assert bob.get(f"/ad_accounts/{OTHER_ACCOUNT}").status_code == 200
    clock.advance(18)
    assert ana.get(LIVE).status_code == 200
    assert sim.state()["rate_limited"] == 1


def test_reporting_can_have_a_stricter_window(clock):
    sim = simulator(clock, report_requests_per_window=1, report_window_seconds=60)
    client = http(sim)
    query = {"entity_type": "AD_ACCOUNT", "fields": "IMPRESSIONS"}
    assert client.get(f"{LIVE}/aggregate_reports", params=query).status_code == 200
    assert client.get(f"{LIVE}/aggregate_reports", params=query).status_code == 429
    assert client.get(LIVE).status_code == 200


def test_faults_answer_in_the_error_shape(clock):
    sim = simulator(clock, faults=FaultPlan(rate=1.0, kinds=("500", "503", "429"), seed=4, retry_after_seconds=7))
    client = http(sim)
    seen = set()
    for _ in range(12):
        response = client.get(LIVE)
        seen.add(response.status_code)
        assert response.json()["messages"] and response.json()["error_codes"]
        if response.status_code == 429:
            assert response.headers["Retry-After"] == "7"
    assert seen == {500, 503, 429}
    assert sum(sim.state()["faults_injected"].values()) == 12


# ------------------------------------------------------------------------------------------ reports
def _published_with_two_ads(client: httpx.Client, clock: VirtualClock) -> dict[str, str]:
    ids = draft_tree(client, clock)
    second = client.post(f"{DRAFTS}/ads", json=ad_body(ids["ad_set"], _assets(ids), name="The Long Chapter - second spot")).json()
    act(client, ids["campaign"], "PUBLISH")
    return {**ids, "second_ad": second["id"]}


def report(client: httpx.Client, **params: Any) -> httpx.Response:
    pairs = [(name, item) for name, value in params.items() for item in (value if isinstance(value, list) else [value])]
    return client.get(f"{LIVE}/aggregate_reports", params=pairs)


def test_daily_reports_page_by_continuation_token(sim, client, clock):
    ids = _published_with_two_ads(client, clock)
    for offset in range(3):
        day = date(2031, 3, 4 + offset)
        sim.record_delivery(ids["ad"], day, {"IMPRESSIONS": 1000 + offset, "CLICKS": 10, "COMPLETES": 600, "REACH": 900})
        sim.record_delivery(ids["second_ad"], day, {"IMPRESSIONS": 500, "CLICKS": 5, "COMPLETES": 250, "REACH": 450})
    query = {
        "entity_type": "AD",
        "fields": ["IMPRESSIONS", "CTR", "COMPLETION_RATE"],
        "granularity": "DAY",
        "report_start": "2031-03-01T00:00:00Z",
        "report_end": "2031-03-31T00:00:00Z",
        "limit": 4,
    }
    first = report(client, **query)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["granularity"], body["report_start"], body["report_end"]) == (
        "DAY",
        "2031-03-01T00:00:00Z",
        "2031-04-01T00:00:00Z",
    )
    assert len(body["rows"]) == 4 and body["continuation_token"]
    row = body["rows"][0]
    assert (row["entity_type"], row["entity_id"], row["entity_name"], row["entity_status"]) == (
        "AD",
        ids["ad"],
        "The Long Chapter - author spot",
        "PENDING_APPROVAL",
    )
    assert (row["start_time"], row["end_time"]) == ("2031-03-04T00:00:00Z", "2031-03-05T00:00:00Z")
    assert row["stats"] == [
        {"field_type": "IMPRESSIONS", "field_value": 1000.0},
        {"field_type": "CTR", "field_value": 0.01},
        {"field_type": "COMPLETION_RATE", "field_value": 0.6},
    ]
    second = report(client, continuation_token=body["continuation_token"]).json()
    assert len(second["rows"]) == 2 and "continuation_token" not in second and "warnings" not in second
    all_rows = body["rows"] + second["rows"]
    assert [(r["entity_id"], r["start_time"][:10]) for r in all_rows] == [
        (ad, f"2031-03-0{4 + n}") for ad in (ids["ad"], ids["second_ad"]) for n in range(3)
    ]
    mixed = report(client, continuation_token=body["continuation_token"], entity_type="CAMPAIGN").json()
    assert mixed["rows"] == second["rows"] and mixed["warnings"] == [
        "continuation_token was sent with other parameters; they were ignored."
    ]
    tampered = report(client, continuation_token=body["continuation_token"][:-3] + "AAA")
    assert tampered.status_code == 400 and codes(tampered) == ["INVALID.CONTINUATION_TOKEN"]
    elsewhere = http(sim, BOB_TOKEN).get(
        f"/ad_accounts/{OTHER_ACCOUNT}/aggregate_reports", params={"continuation_token": body["continuation_token"]}
    )
    assert elsewhere.status_code == 400


def test_parents_report_the_sum_of_their_children_unless_they_have_their_own(sim, client, clock):
    ids = _published_with_two_ads(client, clock)
    sim.record_delivery(
        ids["ad"], date(2031, 3, 4), {"IMPRESSIONS": 1000, "CLICKS": 12, "COMPLETES": 700, "REACH": 800, "PURCHASES": 3}
    )
    sim.record_delivery(ids["second_ad"], date(2031, 3, 4), {"IMPRESSIONS": 600, "CLICKS": 4, "COMPLETES": 300, "REACH": 500})
    sim.record_delivery(ids["ad"], date(2031, 3, 5), {"IMPRESSIONS": 400, "CLICKS": 0, "COMPLETES": 100, "REACH": 300})
    fields = ["IMPRESSIONS", "CLICKS", "COMPLETION_RATE", "FREQUENCY", "PURCHASES", "INTENT_RATE"]
    lifetime = report(client, entity_type="CAMPAIGN", fields=fields).json()
    (row,) = lifetime["rows"]
    assert {s["field_type"]: s["field_value"] for s in row["stats"]} == {
        "IMPRESSIONS": 2000.0,
        "CLICKS": 16.0,
        "COMPLETION_RATE": 0.55,
        "FREQUENCY": 1.25,  # people counts add up: 1600 "reached" (an upper bound)
        "PURCHASES": -5.0,  # conversions from 1 to 4 are reported as -5
    }
    assert (row["start_time"], row["end_time"]) == ("2031-03-04T00:00:00Z", "2031-03-06T00:00:00Z")
    assert lifetime["warnings"] == ["Fields not simulated, left out: INTENT_RATE."]
    sim.record_delivery(ids["campaign"], date(2031, 3, 5), {"IMPRESSIONS": 450})  # the campaign's own figure wins
    daily = report(
        client,
        entity_type="CAMPAIGN",
        fields="IMPRESSIONS",
        granularity="DAY",
        report_start="2031-03-04T00:00:00Z",
        report_end="2031-03-05T00:00:00Z",
    ).json()
    assert [r["stats"][0]["field_value"] for r in daily["rows"]] == [1600.0, 450.0]
    account = report(client, entity_type="AD_ACCOUNT", fields="IMPRESSIONS").json()["rows"]
    assert account[0]["entity_id"] == ACCOUNT and account[0]["stats"] == [{"field_type": "IMPRESSIONS", "field_value": 2050.0}]
    with_parent = report(
        client,
        entity_type="AD",
        fields="IMPRESSIONS",
        include_parent_entity="true",
        entity_ids=ids["second_ad"],
        entity_ids_type="AD",
    ).json()
    assert [r["entity_id"] for r in with_parent["rows"]] == [ids["second_ad"]]
    assert with_parent["rows"][0]["parent_entity"] == {
        "id": ids["ad_set"],
        "name": "The Long Chapter - UK readers",
        "status": "PENDING_APPROVAL",
    }
    by_campaign = report(
        client, entity_type="AD", fields="IMPRESSIONS", entity_ids=ids["campaign"], entity_ids_type="CAMPAIGN"
    ).json()
    assert len(by_campaign["rows"]) == 2


REPORT_REFUSALS = [
    ({"fields": "IMPRESSIONS"}, "MISSING.ENTITY_TYPE"),
    ({"entity_type": "AD"}, "MISSING.FIELDS"),
    ({"entity_type": "AD", "fields": "IMPRESSIONS", "granularity": "HOUR"}, "UNSUPPORTED.GRANULARITY.HOUR"),
    ({"entity_type": "AD", "fields": "IMPRESSIONS", "granularity": "DAY"}, "MISSING.REPORT_RANGE"),
    (
        {
            "entity_type": "AD",
            "fields": "IMPRESSIONS",
            "granularity": "DAY",
            "report_start": "2031-01-01T00:00:00Z",
            "report_end": "2031-04-02T00:00:00Z",
        },
        "INVALID.REPORT_RANGE.TOO_LONG",
    ),
    (
        {
            "entity_type": "AD",
            "fields": "IMPRESSIONS",
            "report_start": "2031-01-01T00:00:00Z",
            "report_end": "2031-04-02T00:00:00Z",
        },
        "INVALID.REPORT_RANGE.TOO_LONG",
    ),
    (
        {
            "entity_type": "AD",
            "fields": "IMPRESSIONS",
            "granularity": "DAY",
            "report_start": "2031-03-01T06:00:00Z",
            "report_end": "2031-03-02T00:00:00Z",
        },
        "INVALID.REPORT_START.NOT_MIDNIGHT",
    ),
    (
        {"entity_type": "AD", "fields": "IMPRESSIONS", "report_start": "2031-03-01T06:30:00Z"},
        "INVALID.REPORT_START.NOT_WHOLE_HOUR",
    ),
    (
        {
            "entity_type": "AD",
            "fields": "IMPRESSIONS",
            "granularity": "DAY",
            "report_start": "2031-03-05T00:00:00Z",
            "report_end": "2031-03-02T00:00:00Z",
        },
        "INVALID.REPORT_RANGE.END_BEFORE_START",
    ),
    ({"entity_type": "AD", "fields": "IMPRESSIONS", "entity_ids": ACCOUNT}, "MISSING.ENTITY_IDS_TYPE"),
    (
        {"entity_type": "AD", "fields": "IMPRESSIONS", "statuses": "ACTIVE", "entity_status_type": "AD_SET"},
        "INVALID.ENTITY_STATUS_TYPE.MISMATCH",
    ),
    ({"entity_type": "CAMPAIGN", "fields": "IMPRESSIONS", "include_parent_entity": "true"}, "INVALID.INCLUDE_PARENT_ENTITY"),
    (
        {"entity_type": "AD", "fields": "IMPRESSIONS", "entity_ids": [ACCOUNT] * 51, "entity_ids_type": "AD"},
        "INVALID.ENTITY_IDS.TOO_MANY",
    ),
]


@pytest.mark.parametrize(("params", "code"), REPORT_REFUSALS, ids=[code for _, code in REPORT_REFUSALS])
def test_report_requests_outside_the_rules_are_refused(client, params, code):
    refused = report(client, **params)
    assert refused.status_code == 400 and codes(refused) == [code], refused.text


def test_a_ninety_day_daily_window_is_accepted(sim, client, clock):
    ids = _published_with_two_ads(client, clock)
    sim.record_delivery(ids["ad"], date(2031, 5, 30), {"IMPRESSIONS": 10})
    window = report(
        client,
        entity_type="AD",
        fields="IMPRESSIONS",
        granularity="DAY",
        report_start="2031-03-01T00:00:00Z",
        report_end="2031-05-30T00:00:00Z",
    )
    assert window.status_code == 200 and window.json()["rows"][0]["start_time"] == "2031-05-30T00:00:00Z"


def test_only_counts_are_recorded_and_only_for_live_entities(sim, client, clock):
    ids = draft_tree(client, clock)
    with pytest.raises(KeyError):
        sim.record_delivery(ids["ad"], date(2031, 3, 4), {"IMPRESSIONS": 1})  # still a draft
    act(client, ids["campaign"], "PUBLISH")
    with pytest.raises(ValueError, match="derived"):
        sim.record_delivery(ids["ad"], date(2031, 3, 4), {"CTR": 0.1})
    with pytest.raises(ValueError, match="negative"):
        sim.record_delivery(ids["ad"], date(2031, 3, 4), {"IMPRESSIONS": -1})


# ------------------------------------------------------------------------------------------ targeting look-ups
def test_targeting_look_ups(sim, client):
    topics = client.get("/targets/episode_topics", params={"q": "books"}).json()
    assert topics == {"episode_topics": [{"id": "books-and-literature", "name": "Books and Literature"}]}
    assert len(client.get("/targets/episode_topics").json()["episode_topics"]) == 29
    sim.add_geo("2643743", "London", "REGION", "GB", parent_geo_name="England")
    sim.add_geo("2644210", "Liverpool", "CITY", "GB", parent_geo_name="England")
    regions = client.get("/targets/geos", params={"country_code": "GB", "types": "REGION"}).json()
    assert regions["geos"] == [
        {"id": "2643743", "name": "London", "type": "REGION", "country_code": "GB", "parent_geo_name": "England"}
    ]
    countries = client.get("/targets/geos", params=[("types", "COUNTRY"), ("limit", "5"), ("offset", "5")]).json()
    assert (countries["offset"], countries["page_size"], len(countries["geos"])) == (5, 5, 5)
    assert client.get("/targets/geos", params={"q": "liver"}).json()["geos"][0]["id"] == "2644210"


# ------------------------------------------------------------------------------------------ the contract check
def test_a_response_outside_the_contract_fails_loudly(sim, client, monkeypatch):
    campaign = client.post(f"{LIVE}/campaigns", json={"name": "Direct", "objective": "REACH"}).json()
    real = sim._campaign_response

    def broken(entity):
        return {**real(entity), "status": "LIVE"}  # not a CampaignStatus

    monkeypatch.setattr(sim, "_campaign_response", broken)
    with pytest.raises(ContractViolation, match="'LIVE' is not one of"):
        client.get(f"{LIVE}/campaigns/{campaign['id']}")
    with pytest.raises(ContractViolation):
        try:
            client.get(f"{LIVE}/campaigns/{campaign['id']}")
        except Exception:  # what a connector, flow or handler might do with an ordinary error
            pytest.fail("a contract violation must not be catchable as an ordinary error")


def test_an_error_outside_the_error_shape_fails_loudly(sim, client, monkeypatch):
    monkeypatch.setattr(
        sim, "_error", lambda status, code, message, headers=None, extra=None: httpx.Response(status, json={"messages": message})
    )
    with pytest.raises(ContractViolation, match="not a ErrorResponse"):
        client.get(f"/ad_accounts/{OTHER_ACCOUNT}/campaigns")  # 403, a status getCampaigns does not declare
    with pytest.raises(ContractViolation, match="Failed to cast value to array"):
        client.get(f"/ad_accounts/{OTHER_ACCOUNT}")  # 403, declared by getAdAccount with ErrorResponse


def test_the_contract_keeps_recursive_schemas_as_references():
    document = {
        "openapi": "3.0.3",
        "info": {"title": "tree", "version": "1"},
        "servers": [{"url": "https://tree.example/v1"}],
        "paths": {
            "/nodes": {
                "post": {
                    "operationId": "createNode",
                    "parameters": [{"name": "depth", "in": "query", "schema": {"type": "integer", "default": 1}}],
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}},
                    "responses": {
                        "201": {
                            "description": "made",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}},
                        }
                    },
                }
            }
        },
        "components": {
            "schemas": {
                "Error": {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}},
                "Node": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string"},
                        "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                    },
                },
            }
        },
    }
    contract = OpenApiContract(document, undeclared_status_schema="Error")
    tree = {"name": "root", "children": [{"name": "leaf", "children": [{"name": "deeper"}]}]}
    request = httpx.Request("POST", "https://tree.example/v1/nodes?depth=3", json=tree)
    operation = contract.operation(request)
    checked = contract.check_request(request, operation)
    assert (checked.problems, checked.query, checked.body) == ([], {"depth": 3}, tree)
    bad = httpx.Request("POST", "https://tree.example/v1/nodes", json={"name": "root", "children": [{"children": []}]})
    assert contract.check_request(bad, contract.operation(bad)).problems == [
        "Request body validation error: children[0]: 'name' is a required property"
    ]
    contract.check_response(request, httpx.Response(201, json=tree))
    with pytest.raises(ContractViolation):
        contract.check_response(request, httpx.Response(201, json={"children": [{"name": 3}]}))
    contract.check_response(request, httpx.Response(418, json={"message": "teapot"}))  # undeclared: the fallback schema


def test_media_inspection_reads_real_files():
    assert inspect_media("AUDIO", mp3(5)).file_type == "MP3"
    assert inspect_media("AUDIO", wav(2)).duration_ms == 2000
    assert inspect_media("VIDEO", bytes(4) + b"ftypisom" + bytes(40)).failure == "video file is unreadable"
    assert inspect_media("IMAGE", picture(1080, 1920, "JPEG")).aspect_ratio == "VERTICAL_9_16"


def _assets(ids: dict[str, str]) -> dict[str, str]:
    return {"asset_id": ids["asset_id"], "companion_asset_id": ids["companion_asset_id"], "logo_asset_id": ids["logo_asset_id"]}
