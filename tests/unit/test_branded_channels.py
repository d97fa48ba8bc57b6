"""The branded channels' own logic against moto (ledger, venue bucket) and the media host simulator:
the publishing gate's licence check, the venue package published and revoked, and the status text
Consonance shows."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import boto3
import pytest

from functions.connectors.media import MediaFetcher
from functions.domain.events import LicenceChannelChanged
from functions.domain.licence import VENUE_LICENCE_NOTICE, BrandedAsset, LicenceApproval, LicenceChannel, LicenceTerm, Licensee, licence_findings
from functions.domain.models import Episode, EpisodeKind, MasterAudio, RightGrant, Show, Territories
from functions.event_bus import EventBus
from functions.flows.licence_gate import NOT_LICENSED, publishing_rights_check
from functions.flows.licence_status.logic import channel_status_text, status_note
from functions.flows.venue_delivery.logic import VenueDeps, reconcile_venue
from functions.mapping_config import MappingConfig
from functions.state.keys import licence_key
from functions.state.ledger import LedgerEntry, SyncLedger, new_entry
from functions.state.targets import LICENCE, VENUE_DELIVERY, ChannelStatus, LicenceState
from functions.state.venue_packages import VenuePackages
from infra.tables import TABLES
from sandbox import media
from sandbox.clock import VirtualClock
from sandbox.resources import _create_bucket, _create_table
from sandbox.simulators.media_host import MediaHostSimulator

_names = itertools.count()
START = datetime(2027, 1, 10, 9, tzinfo=timezone.utc)
MASTER = "branded/masters/lantern-quay.mp3"


@pytest.fixture
def clock_start() -> datetime:
    return START


def episode(territories: Territories = Territories(worldwide=True), kind: EpisodeKind = EpisodeKind.BRANDED_PODCAST) -> Episode:
    return Episode(
        product_id=44901,
        work_id=3901,
        kind=kind,
        title="Lantern Quay",
        show=Show(series_id=9501, name="Harbourline Stories"),
        part_number=1,
        publishing_status_code="04",
        allow_onix_exports=True,
        master_audio=MasterAudio(url=f"https://media.sandbox.example/{MASTER}", approved=True, distribution_allowed=True),
        release_date=date(2026, 11, 2),
        territories=territories,
        rights=(RightGrant(right_type="audio_adaptation", contract_id=1), RightGrant(right_type="music_use", contract_id=1)),
    )


def asset(*terms: LicenceTerm, territories: Territories = Territories(worldwide=True)) -> BrandedAsset:
    return BrandedAsset(product_id=44901, work_id=3901, title="Lantern Quay", territories=territories, terms=terms)


def licence_term(starts: date, ends: date, licensee: str = "Harbourline Hotels", approval: LicenceApproval = LicenceApproval.APPROVED) -> LicenceTerm:
    return LicenceTerm(contract_id=7901, licensee=Licensee(name=licensee), starts_on=starts, ends_on=ends, channels=tuple(LicenceChannel), approval=approval)


@dataclass
class World:
    ledger: SyncLedger
    packages: VenuePackages
    media_host: MediaHostSimulator
    clock: VirtualClock
    announced: list[LicenceChannelChanged]

    def store(self, item: BrandedAsset, of: Episode, fingerprint: str = "f1") -> LedgerEntry[LicenceState]:
        entry = self.ledger.get(licence_key(item.product_id), LICENCE) or new_entry(licence_key(item.product_id), LICENCE)
        entry.state.asset, entry.state.episode, entry.state.fingerprint = item, of, fingerprint
        entry.state.licensee = item.licensee.name if item.licensee else None
        entry.state.ends_on = max((t.ends_on for t in item.terms if t.ends_on), default=None)
        entry.findings = licence_findings(item)
        return self.ledger.save(entry)

    def venue(self) -> VenueDeps:
        bus = EventBus("unused", "test")
        bus.publish = self.announced.extend  # type: ignore[method-assign]  # record what would go on the bus
        return VenueDeps(self.ledger, self.packages, MediaFetcher(), bus, MappingConfig())


@pytest.fixture
def world(aws: None, virtual_clock: VirtualClock, media_host: MediaHostSimulator) -> Iterator[World]:
    suffix = next(_names)
    ledger = SyncLedger(_create_table(next(s for s in TABLES if s.table.value == "ledger"), f"branded-ledger-{suffix}"))
    packages = VenuePackages(_create_bucket(f"branded-venue-{suffix}"))
    media_host.put(MASTER, media.mp3(3.0))
    yield World(ledger, packages, media_host, virtual_clock, [])


# --------------------------------------------------------------------------------- the gate
def test_the_gate_leaves_other_content_to_the_rights_model(world: World) -> None:
    check = publishing_rights_check(MappingConfig(), world.ledger)
    assert check(episode(kind=EpisodeKind.COMPANION_PODCAST), START.date()).allowed  # no licence needed


def test_a_branded_episode_is_cleared_only_inside_its_licence_window(world: World) -> None:
    check = publishing_rights_check(MappingConfig(), world.ledger)
    unread = check(episode(), START.date())
    assert not unread.allowed and "has not read yet" in unread.reason and unread.findings[0].code == NOT_LICENSED

    world.store(asset(licence_term(date(2027, 1, 1), date(2027, 2, 1))), episode())
    assert check(episode(), date(2027, 1, 31)).allowed
    ended = check(episode(), date(2027, 2, 1))
    assert not ended.allowed and "licence ended 2027-02-01" in ended.reason
    early = check(episode(), date(2026, 12, 31))
    assert not early.allowed and "from 2027-01-01" in early.reason


def test_a_licence_limited_to_some_territories_keeps_the_brand_show_off_megaphone(world: World) -> None:
    check = publishing_rights_check(MappingConfig(), world.ledger)
    gb = Territories(included=("GB",))
    world.store(asset(licence_term(date(2027, 1, 1), date(2027, 2, 1)), territories=gb), episode(gb))
    verdict = check(episode(gb), START.date())
    assert not verdict.allowed and "territories" in verdict.reason  # even with publish_and_report configured


# ------------------------------------------------------------------------------ venue delivery
def manifest(world: World, prefix: str) -> dict:
    found = world.packages.manifest(prefix)
    assert found is not None
    return found


def test_the_venue_package_is_published_labelled_and_then_revoked(world: World) -> None:
    item = asset(licence_term(date(2027, 1, 1), date(2027, 1, 12)))
    world.store(item, episode())

    published = reconcile_venue(44901, world.venue(), world.clock.now())

    assert published.status == "live" and published.changed
    prefix = "venue/harbourline-hotels/44901"
    assert world.packages.object_keys(prefix) == [f"{prefix}/audio.mp3", f"{prefix}/manifest.json", f"{prefix}/manifest.md"]
    data = manifest(world, prefix)
    assert data["status"] == "live" and data["notice"] == VENUE_LICENCE_NOTICE
    assert data["public_performance_licence_required"] is True and data["delivered_through_spotify"] is False
    assert data["licence"]["licensee"] == "Harbourline Hotels" and data["licence"]["ends_on"] == "2027-01-12"
    assert len(data["licence"]["territories"]) > 200 and "venue_delivery" in data["licence"]["channels"]
    audio = boto3.client("s3").get_object(Bucket=world.packages.bucket, Key=f"{prefix}/audio.mp3")
    assert audio["Body"].read() == media.mp3(3.0) and audio["Metadata"]["sha256"] == data["audio"]["sha256"]
    markdown = boto3.client("s3").get_object(Bucket=world.packages.bucket, Key=f"{prefix}/manifest.md")["Body"].read().decode()
    assert "public-performance licence" in markdown and "Status: live" in markdown
    assert [(e.channel, e.status) for e in world.announced] == [("venue_delivery", "live")]

    again = reconcile_venue(44901, world.venue(), world.clock.now())  # a redelivery changes nothing
    assert not again.changed and len(world.media_host.requests_for(MASTER)) == 1

    world.clock.advance(timedelta(days=2).total_seconds())  # past 2027-01-12: the licence ended
    withdrawn = reconcile_venue(44901, world.venue(), world.clock.now())

    assert withdrawn.status == "withdrawn" and "licence ended 2027-01-12" in withdrawn.reason
    assert world.packages.object_keys(prefix) == [f"{prefix}/manifest.json", f"{prefix}/manifest.md"]  # the audio expired
    data = manifest(world, prefix)
    assert data["status"] == "withdrawn" and data["audio"] is None and data["expired_objects"] == [f"{prefix}/audio.mp3"]
    assert data["withdrawn_at"].startswith("2027-01-12")
    target = world.ledger.get(licence_key(44901), VENUE_DELIVERY)
    assert target is not None and target.status == ChannelStatus.WITHDRAWN and target.state.live_until is None
    assert [e.status for e in world.announced] == ["live", "withdrawn"]


def test_a_renewed_licence_republishes_the_package(world: World) -> None:
    world.store(asset(licence_term(date(2027, 1, 1), date(2027, 1, 5))), episode())
    assert reconcile_venue(44901, world.venue(), world.clock.now()).status == "not_delivered"

    world.store(asset(licence_term(date(2027, 1, 1), date(2027, 6, 1))), episode(), fingerprint="f2")
    assert reconcile_venue(44901, world.venue(), world.clock.now()).status == "live"
    assert manifest(world, "venue/harbourline-hotels/44901")["licence"]["ends_on"] == "2027-06-01"


def test_a_package_moves_with_its_licensee(world: World) -> None:
    world.store(asset(licence_term(date(2027, 1, 1), date(2027, 1, 11))), episode())
    reconcile_venue(44901, world.venue(), world.clock.now())
    world.store(
        asset(licence_term(date(2027, 1, 1), date(2027, 1, 11)), licence_term(date(2027, 1, 11), date(2027, 3, 1), licensee="Copperleaf Coffee")),
        episode(),
        fingerprint="f2",
    )
    world.clock.advance(timedelta(days=1).total_seconds())
    assert reconcile_venue(44901, world.venue(), world.clock.now()).status == "live"
    assert manifest(world, "venue/harbourline-hotels/44901")["status"] == "withdrawn"
    assert manifest(world, "venue/copperleaf-coffee/44901")["licence"]["licensee"] == "Copperleaf Coffee"


def test_an_unapproved_master_holds_the_package(world: World) -> None:
    unapproved = episode().model_copy(update={"master_audio": MasterAudio(url="https://media.sandbox.example/x.mp3", approved=False, distribution_allowed=True)})
    world.store(asset(licence_term(date(2027, 1, 1), date(2027, 2, 1))), unapproved)
    held = reconcile_venue(44901, world.venue(), world.clock.now())
    assert held.status == "held" and "master audio is not approved" in held.reason
    assert world.packages.object_keys("venue/harbourline-hotels/44901") == []


# ------------------------------------------------------------------------------ status texts
def test_status_texts_say_until_when_and_never_promise_in_store_play(world: World) -> None:
    licence = world.store(asset(licence_term(date(2027, 1, 1), date(2027, 2, 1))), episode())
    reconcile_venue(44901, world.venue(), world.clock.now())
    venue = world.ledger.get(licence_key(44901), VENUE_DELIVERY)
    assert venue is not None and channel_status_text(venue) == "live until 2027-02-01"
    note = status_note(licence, {LicenceChannel.VENUE: venue})
    assert "Venue delivery (provider's public-performance licence required): live until 2027-02-01" in note.markdown
    assert "nothing on Spotify (brand show, brand playlists) is licensed for in-store or in-venue play" in note.markdown
    assert VENUE_LICENCE_NOTICE in note.markdown
    assert note.markdown.count("Brand show on Spotify: not delivered") == 1
