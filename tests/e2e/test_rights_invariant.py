"""The rights invariant, over randomised catalogues and clocks: at no virtual time is an episode live
on the simulated Spotify outside its clearance, beyond one sweep interval.

Each example builds a small serial (random release dates around a random start date, random rights
windows — adaptation and narration, some ending or starting mid-run — and random sales territories),
runs the whole sandbox for a few virtual days, and reads the rights timeline: every moment an episode
was live must fall inside its clearance, or within one release-sweep interval after the clearance
ended (the sweep is what withdraws it without any change in Consonance).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.domain.clearance import compute_clearance
from functions.state.keys import episode_key
from functions.state.targets import EPISODE_SOURCE as SOURCE
from infra.flows import flow
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
    WorkEntry,
)
from sandbox.world import SandboxWorld, WorldOptions

SWEEP_INTERVAL = timedelta(minutes=flow("release-sweep").trigger.every_minutes)  # type: ignore[union-attr]
PROCESSING_SLACK = timedelta(minutes=5)  # the sweep's event still has to reach rights sync and Megaphone
DAYS = 3
SERIES_ID = 77
TERRITORY_CHOICES = ("GB", "IE", "US", "CA", "AU", "NZ", "DE", "FR")


def isbn13(serial: int) -> str:
    body = f"978{serial:09d}"
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


@st.composite
def episodes(draw: st.DrawFn) -> dict:
    signed = draw(st.integers(min_value=-60, max_value=2))
    narration_start = draw(st.integers(min_value=-60, max_value=2))
    narration_end = draw(st.one_of(st.none(), st.integers(min_value=-1, max_value=DAYS + 1)))
    worldwide = draw(st.booleans())
    return {
        "release": draw(st.integers(min_value=-5, max_value=DAYS)),
        "adaptation": (signed, None),
        "narration": (narration_start, narration_end),
        "worldwide": worldwide,
        "territories": [] if worldwide else draw(st.lists(st.sampled_from(TERRITORY_CHOICES), min_size=1, max_size=3, unique=True)),
    }


def build_catalogue(start: date, drawn: list[dict]) -> Catalogue:
    works, products, contracts = [], [], []
    for index, spec in enumerate(drawn, start=1):
        work_id, product_id = 500 + index, 9000 + index
        release = start + timedelta(days=spec["release"])
        works.append(WorkEntry(id=work_id, title=f"Serial, Part {index}", work_type="serialized_fiction", series_id=SERIES_ID, part_number=str(index)))
        products.append(
            ProductEntry(
                id=product_id,
                work_id=work_id,
                title=f"Chapter {index}",
                isbn13=isbn13(100000 + index),
                publishing_status="04",
                allow_onix_exports=True,
                publication_date=release,
                for_sale_worldwide=spec["worldwide"],
                for_sale=spec["territories"],
                contributions=[ContributionEntry(contributor_id=1, role="A01", sequence=1), ContributionEntry(contributor_id=2, role="E07", sequence=2)],
                description=f"Part {index}.",
                production_files=[
                    ProductionFileEntry(
                        id=70000 + index, variant="master_audio", approval_status="approved", allow_distribution="allowed",
                        url=f"https://media.example/serial/{index}.wav",
                    )
                ],
            )
        )
        for offset, (right, (begin, end)) in enumerate((("audio_adaptation", spec["adaptation"]), ("narration", spec["narration"]))):
            contracts.append(
                ContractEntry(
                    id=800 + index * 2 + offset,
                    name=f"{right} for part {index}",
                    work_ids=[work_id],
                    signed_date=start + timedelta(days=begin),
                    terminated_date=start + timedelta(days=end) if end is not None else None,
                    licensed_rights=[LicensedRightEntry(id=900 + index * 2 + offset, right_type=right)],
                )
            )
    # release dates must rise with part order, or the series rules hold everything back
    ordered = sorted(products, key=lambda p: p.publication_date)
    for part, product in enumerate(ordered, start=1):
        next(w for w in works if w.id == product.work_id).part_number = str(part)
    return Catalogue(
        publisher=Publisher(name="Invariant Press"),
        start_date=start,
        records_changed_on=start - timedelta(days=1),
        contributors=[ContributorEntry(id=1, name="A. Author"), ContributorEntry(id=2, name="N. Reader")],
        series=[SeriesEntry(id=SERIES_ID, name="The Serial")],
        works=works,
        contracts=contracts,
        products=products,
        megaphone=MegaphoneSettings(network_id="invariant", podcasts=[MegaphonePodcastEntry(id="mp-serial", title="The Serial", series_id=SERIES_ID)]),
    )


def live_intervals(timeline: list[dict], product_id: int, end: datetime) -> list[tuple[datetime, datetime]]:
    changes = [(datetime.fromisoformat(e["virtual_time"]), e["state"]) for e in timeline if e["product_id"] == product_id]
    intervals = []
    for (moment, state), following in pairwise([*changes, (end, "end")]):
        if state == "live":
            intervals.append((moment, following[0]))
    return intervals


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    start=st.dates(min_value=date(2026, 1, 5), max_value=date(2027, 12, 20)),
    drawn=st.lists(episodes(), min_size=2, max_size=4),
)
def test_no_episode_is_live_outside_its_clearance(start: date, drawn: list[dict]) -> None:
    catalogue = build_catalogue(start, drawn)
    with SandboxWorld(catalogue, WorldOptions(seed=3)) as world:
        world.run_for(DAYS)
        end = world.clock.now()
        timeline = [
            {"virtual_time": e.virtual_time, "product_id": e.product_id, "state": e.state} for e in world.distribution.timeline
        ]
        snapshots = {p.id: world.distribution.ledger.get(episode_key(p.id), SOURCE) for p in catalogue.products}
        policy = world.distribution.mapping.rights
        for product in catalogue.products:
            source = snapshots[product.id]
            assert source is not None and source.state.episode is not None, f"product {product.id} was never seen"
            clearance = compute_clearance(source.state.episode, policy)
            for live_from, live_until in live_intervals(timeline, product.id, end):
                day = live_from.date()
                while datetime.combine(day, time(0), tzinfo=timezone.utc) < live_until:
                    day_start = datetime.combine(day, time(0), tzinfo=timezone.utc)
                    if not clearance.territories_on(day):
                        allowed_until = day_start + SWEEP_INTERVAL + PROCESSING_SLACK
                        assert live_until <= allowed_until, (
                            f"product {product.id} live until {live_until} but not cleared on {day} "
                            f"(allowed until {allowed_until}); timeline: {timeline}"
                        )
                    day += timedelta(days=1)
