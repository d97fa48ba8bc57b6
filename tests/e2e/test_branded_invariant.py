"""The branded-audio invariant, over random licences and clocks: at no virtual time is a branded asset
live on any channel outside its licence window or territory beyond one sweep interval, and every
expiry is alerted once.

Each example builds a small brand show (one licensee, one or two assets) with random licences — a
start and end around a random start date, sometimes pending and approved mid-run, sometimes revoked
or renewed mid-run, sometimes limited to a few countries, with a random set of channels — runs the
sandbox (the flows that put branded assets anywhere) for two virtual days and watches the simulators, not the
ledger: Megaphone's episode (the brand show), the brand account's playlist, and the venue bucket's
audio objects, every five minutes. When each may be live is computed here from the drawn licence,
independently of the project's lifecycle code.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import boto3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.flows import FLOWS, Bucket, flow
from sandbox.catalogue import (
    Catalogue,
    ContractEntry,
    ContributionEntry,
    ContributorEntry,
    LicensedRightEntry,
    MegaphonePodcastEntry,
    MegaphoneSettings,
    ProductEntry,
    ProductionFileEntry,
    Publisher,
    SeriesEntry,
    SpotifyAccountEntry,
    TimelineEdit,
    WorkEntry,
)
from sandbox.world import SandboxWorld, WorldOptions

DAYS = 2
SWEEP = timedelta(minutes=flow("licence-sweep").trigger.every_minutes)  # type: ignore[union-attr]
SAMPLE_EVERY = timedelta(minutes=5)
GRACE = SWEEP + SAMPLE_EVERY + timedelta(minutes=5)  # one sweep, one sample, the channels' own delivery
EXPIRING_DAYS = 14  # the default `branded.expiring_days`
SERIES_ID = 9601
LICENSEE = "Northwind Lodges"
ACCOUNT = "northwind-lodges"
CHANNEL_RIGHTS = {"brand_show": "Brand show", "brand_playlist": "Brand playlist", "venue_delivery": "Venue delivery"}
# The flows that put branded assets anywhere (the brand show publishes through the publisher's own
# logic with the episode the sweep read; the poller and the episode publisher would only add more
# evaluations by the same gate). The Spotify id the playlists need is learnt when the audio is
# ingested: by the ingest check the brand show's push sends to the ingest follow-up, or by the ingest
# checker's sweep (the safety net), as deployed.
FLOWS_RUN = tuple(
    f for f in FLOWS if f.name in {"licence-sweep", "brand-show", "ingest-checker", "ingest-follow-up", "brand-playlists", "venue-delivery"}
)
COUNTRIES = ("GB", "IE", "US", "DE")


@dataclass(frozen=True)
class Drawn:
    """One asset's licence, in days (and minutes) from the run's start."""

    starts: int
    length: int
    approved_at: int | None  # minutes after the start when a pending licence is approved; None: approved already
    revoked_at: int | None  # minutes after the start
    renewed_at: int | None  # minutes after the start: the end moves `length` days later
    territories: tuple[str, ...]  # empty: worldwide
    channels: frozenset[str]

    def window(self, start: date) -> tuple[date, date]:
        return start + timedelta(days=self.starts), start + timedelta(days=self.starts + self.length)

    def allowed(self, channel: str, moment: datetime, start: datetime) -> bool:
        """May the asset be live on `channel` at `moment`? Straight from the drawn licence."""
        if channel not in self.channels:
            return False
        elapsed = (moment - start) / timedelta(minutes=1)
        if self.approved_at is not None and elapsed < self.approved_at:
            return False
        if self.revoked_at is not None and elapsed >= self.revoked_at:
            return False
        if self.territories and channel != "venue_delivery":
            return False  # Spotify (via Megaphone) cannot be limited to some countries
        first, end = self.window(start.date())
        if self.renewed_at is not None and elapsed >= self.renewed_at:
            end += timedelta(days=self.length)
        return first <= moment.date() < end


@st.composite
def licences(draw: st.DrawFn) -> Drawn:
    worldwide = draw(st.booleans())
    return Drawn(
        starts=draw(st.integers(min_value=-20, max_value=DAYS)),
        length=draw(st.integers(min_value=1, max_value=30)),
        approved_at=draw(st.one_of(st.none(), st.integers(min_value=0, max_value=DAYS * 1440 - 60))),
        revoked_at=draw(st.one_of(st.none(), st.integers(min_value=0, max_value=DAYS * 1440 - 60))),
        renewed_at=draw(st.one_of(st.none(), st.integers(min_value=0, max_value=DAYS * 1440 - 60))),
        territories=() if worldwide else tuple(draw(st.lists(st.sampled_from(COUNTRIES), min_size=1, max_size=2, unique=True))),
        channels=draw(st.frozensets(st.sampled_from(sorted(CHANNEL_RIGHTS)), min_size=1)),
    )


def isbn13(serial: int) -> str:
    body = f"978{serial:09d}"
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def moment(start: date, minutes: int) -> tuple[int, time]:
    at = datetime.combine(start, time(0), tzinfo=timezone.utc) + timedelta(minutes=minutes)
    return (at.date() - start).days, at.time().replace(second=0, microsecond=0)


def build_catalogue(start: date, drawn: list[Drawn]) -> Catalogue:
    works, products, contracts, timeline = [], [], [], []
    for index, spec in enumerate(drawn, start=1):
        work_id, product_id, contract_id = 3950 + index, 44950 + index, 7950 + index
        first, end = spec.window(start)
        works.append(WorkEntry(id=work_id, title=f"Lodge Story {index}", work_type="branded_podcast", series_id=SERIES_ID, part_number=str(index)))
        products.append(
            ProductEntry(
                id=product_id,
                work_id=work_id,
                title=f"Lodge Story {index}",
                isbn13=isbn13(500000 + index),
                publishing_status="04",
                allow_onix_exports=True,
                publication_date=start - timedelta(days=40 - index),
                for_sale_worldwide=not spec.territories,
                for_sale=list(spec.territories),
                contributions=[ContributionEntry(contributor_id=1, role="E10", sequence=1)],
                description=f"Story {index}.",
                production_files=[
                    ProductionFileEntry(
                        id=64950 + index, variant="master_audio", approval_status="approved", allow_distribution="allowed",
                        url=f"https://media.sandbox.example/lodges/story-{index}.mp3",
                    )
                ],
            )
        )
        contracts.append(
            ContractEntry(
                id=contract_id,
                name=f"{LICENSEE}: story {index}",
                work_ids=[work_id],
                client=LICENSEE,
                signed_date=first,
                terminated_date=end,
                approval_status="pending" if spec.approved_at is not None else "approved",
                licensed_rights=[LicensedRightEntry(id=contract_id * 10 + i, right_type=CHANNEL_RIGHTS[c]) for i, c in enumerate(sorted(spec.channels))],
            )
        )
        for minutes, changes in (
            (spec.approved_at, {"approval_status": "approved"}),
            (spec.revoked_at, {"termination_reason": "revoked by the brand"}),
            (spec.renewed_at, {"terminated_date": (end + timedelta(days=spec.length)).isoformat()}),
        ):
            if minutes is not None:
                day, at = moment(start, minutes)
                timeline.append(TimelineEdit(day=day, at=at, action="update", entity="contract", id=contract_id, changes=changes))
    contracts.append(
        ContractEntry(
            id=7949, name="production rights", work_ids=[w.id for w in works], signed_date=start - timedelta(days=365),
            licensed_rights=[LicensedRightEntry(id=79491, right_type="audio_adaptation"), LicensedRightEntry(id=79492, right_type="music_use")],
        )
    )  # fmt: skip
    return Catalogue(
        publisher=Publisher(name="Invariant Audio"),
        start_date=start,
        records_changed_on=start - timedelta(days=1),
        contributors=[ContributorEntry(id=1, name="A. Presenter")],
        series=[SeriesEntry(id=SERIES_ID, name="Northwind Stories")],
        works=works,
        contracts=contracts,
        products=products,
        megaphone=MegaphoneSettings(network_id="invariant", podcasts=[MegaphonePodcastEntry(id="mp-northwind", title="Northwind Stories", series_id=SERIES_ID)]),
        timeline=sorted(timeline, key=lambda e: (e.day, e.at)),
        spotify_accounts=[SpotifyAccountEntry(account=ACCOUNT, user_id="northwind", display_name=LICENSEE)],
    )


class Observer:
    """What the simulators show, every five minutes: the products live on each channel."""

    def __init__(self, world: SandboxWorld):
        self.world = world
        self.seen: list[tuple[datetime, str, int]] = []
        self._last: datetime | None = None
        self._s3 = boto3.client("s3")
        self._bucket = world.resources.buckets[Bucket.VENUE_DELIVERY]

    def __call__(self, now: datetime) -> None:
        if self._last is not None and now - self._last < SAMPLE_EVERY:
            return
        self._last = now
        episodes = self.world.megaphone.state()["episodes"]
        self.seen += [(now, "brand_show", int(e["externalId"])) for e in episodes if not e.get("draft")]
        ids = {e.get("spotifyIdentifier"): int(e["externalId"]) for e in episodes}
        for playlist in self.world.spotify.playlists.state():
            self.seen += [(now, "brand_playlist", ids[uri.rsplit(":", 1)[1]]) for uri in playlist["items"]]
        for item in self._s3.list_objects_v2(Bucket=self._bucket).get("Contents", []):
            if "/audio" in item["Key"]:
                self.seen.append((now, "venue_delivery", int(item["Key"].split("/")[2])))


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(start=st.dates(min_value=date(2027, 1, 4), max_value=date(2028, 12, 1)), drawn=st.lists(licences(), min_size=1, max_size=2))
def test_no_asset_is_live_outside_its_licence_and_every_expiry_is_alerted_once(start: date, drawn: list[Drawn]) -> None:
    catalogue = build_catalogue(start, drawn)
    with SandboxWorld(catalogue, WorldOptions(seed=5, flows=FLOWS_RUN)) as world:
        observer = Observer(world)
        world.runtime.add_before_tick(observer)
        world.run_for(DAYS)
        alerts = world.alerts.received()
    begin = catalogue.start_moment()
    specs = {44950 + i: spec for i, spec in enumerate(drawn, start=1)}
    for seen_at, channel, product_id in observer.seen:
        spec = specs[product_id]
        assert spec.allowed(channel, seen_at, begin) or spec.allowed(channel, seen_at - GRACE, begin), (
            f"product {product_id} live on {channel} at {seen_at} outside its licence {spec} (start {begin})"
        )
    expiries = Counter(line.splitlines()[0] for line in alerts if "ends on" in line)
    assert all(count == 1 for count in expiries.values()), expiries
    for product_id, spec in specs.items():
        first, end = spec.window(start)
        expiring_at_start = first <= start < end and (end - start).days <= EXPIRING_DAYS
        if expiring_at_start and spec.approved_at is None and (spec.revoked_at is None or spec.revoked_at > 30):
            assert any(f"(product {product_id})" in line and str(end) in line for line in expiries), (product_id, spec, expiries)
