"""The sandbox's listening feed on its own: what each source receives, and when.

No flows run here: the world only gives the feed its simulators and buckets, and the test moves the
clock and calls the feed as the runtime's tick would. Checked: the export's schedule (the whole day at
04:00 the next day, the marker at 11:00, the overwritten day's partial version at 13:00 the same day,
nothing on the missing day), the Creators figures at midnight and the login expiring on its day.
Paid delivery is not the feed's: the Ads simulator records it and the Ads report collector reads it
(tests/integration/test_campaigns.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone

import pytest

from sandbox.catalogue import load_catalogue
from sandbox.world import SandboxWorld, WorldOptions

START = date(2026, 12, 1)


@pytest.fixture(scope="module")
def world() -> Iterator[SandboxWorld]:
    with SandboxWorld(load_catalogue(), WorldOptions(flows=())) as world:
        yield world


def at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=timezone.utc)


def test_the_export_schedule_and_the_creators_login(world: SandboxWorld) -> None:
    feed = world.listening  # the world's own feed; nothing runs it but this test
    for moment in (at(START, time(13)), at(START + timedelta(days=3), time(13, 30)), at(START + timedelta(days=4), time(0, 0)), at(START + timedelta(days=5), time(11, 0))):
        world.clock.advance_to(moment)
        feed(moment)
    names = [(when.isoformat()[:16], key) for when, key, _ in feed.drops]
    assert ("2026-12-02T04:00", "delivery-v2-day-2026-12-01.json.gz") in names
    # the feed was called only now and then: a marker due at 11:00 goes out at the first call after it
    assert ("2026-12-04T13:30", "_finalized_delivery_2026-12-01_20261202T110000Z") in names
    assert not any("2026-12-03" in key for _, key in names)  # the scenario's missing day
    overwritten = [when for when, key in names if key == "delivery-v2-day-2026-12-04.json.gz"]
    assert overwritten == ["2026-12-04T13:30", "2026-12-05T04:00"]  # half-full first, then the whole day
    assert world.creators.accounts[world.creators_login.sp_dc].expired  # day 4's midnight
    assert set(feed.delivered) == {START, date(2026, 12, 2), date(2026, 12, 4), date(2026, 12, 5)}  # whole files, by 6 Dec 04:00
