"""Branded audio for business on the sandbox world: the sample's two licensees over four virtual days,
the flows deployed as they deploy (tests/e2e/branded_runs.py says which). Each licence moves through its lifecycle on time (recorded with
reason and time), each channel follows it, an expiry is alerted once, a revocation withdraws
everywhere within one sweep, Consonance shows per product where the asset is live and until when, and
the ops CLI and the report show the lifecycle table."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from functions.domain.licence import VENUE_LICENCE_NOTICE
from infra.flows import flow
from tests.e2e.branded_runs import BrandedRun

SWEEP = timedelta(minutes=flow("licence-sweep").trigger.every_minutes)  # type: ignore[union-attr]
DELIVERY_SLACK = timedelta(minutes=5)  # the sweep's event still has to reach the channel flows
REVOKED_AT = datetime(2026, 12, 3, 14, 0, tzinfo=timezone.utc)  # the sample's timeline, day 2 14:00


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def steps(run: BrandedRun, product_id: int) -> list[tuple[str, datetime]]:
    return [(s.state, s.at) for s in run.views[product_id].states]


def test_each_licence_moves_through_its_lifecycle_on_time(branded: BrandedRun) -> None:
    """Every state is entered at the sweep that follows the moment it is due (a window edge, or the
    Consonance edit), never before it and never more than one sweep interval after."""
    day = lambda d, h=0: datetime(2026, 12, d, h, tzinfo=timezone.utc)  # noqa: E731
    start = day(1)
    expected = {
        44901: [("pending", start), ("scheduled", day(2, 9)), ("live", day(3))],  # approved day 1, starts 12-03
        44902: [("expiring", start), ("withdrawn", day(5))],  # ends 12-05, not renewed
        44903: [("expiring", start), ("live", day(4, 10))],  # renewed before its end: back to live, no gap
        44904: [("live", start), ("withdrawn", REVOKED_AT)],  # revoked in Consonance
        44905: [("live", start)],
        44906: [("pending", start)],
    }
    for product_id, wanted in expected.items():
        recorded = steps(branded, product_id)
        assert [state for state, _ in recorded] == [state for state, _ in wanted], product_id
        for (state, when), (_, due) in zip(recorded, wanted, strict=True):
            assert due <= when <= due + SWEEP + DELIVERY_SLACK, (product_id, state, when)
    assert branded.views[44906].findings == ["licence_without_end"]
    assert "revoked in Consonance" in branded.views[44904].reason and "campaign" in branded.views[44904].reason
    assert branded.views[44903].until is not None and branded.views[44903].until.isoformat() == "2027-03-31"


def test_every_channel_follows_its_licence(branded: BrandedRun) -> None:
    assert branded.channel_states() == {
        44901: {"licence": "live", "brand_show": "live", "brand_playlist": "live", "venue_delivery": "live"},
        44902: {"licence": "withdrawn", "brand_show": "withdrawn", "brand_playlist": "withdrawn", "venue_delivery": "withdrawn"},
        44903: {"licence": "live", "brand_show": "live", "brand_playlist": "live", "venue_delivery": "live"},
        44904: {"licence": "withdrawn", "brand_show": "withdrawn", "brand_playlist": "withdrawn", "venue_delivery": "withdrawn"},
        # GB only: Megaphone cannot restrict territories, so the brand show holds it; the venue package carries GB
        44905: {"licence": "live", "brand_show": "held", "brand_playlist": "not_delivered", "venue_delivery": "live"},
        44906: {"licence": "pending", "brand_show": "not_delivered", "brand_playlist": "not_delivered", "venue_delivery": "not_delivered"},
    }
    assert branded.views[44905].channels["venue_delivery"].territories == ["GB"]
    assert "territories" in branded.views[44905].channels["brand_show"].reason


def test_the_brand_show_is_live_on_megaphone_only_inside_the_window(branded: BrandedRun) -> None:
    assert {pid: draft for pid, draft in branded.drafts.items()} == {44901: False, 44902: True, 44903: False, 44904: True}
    assert 44905 not in branded.drafts and 44906 not in branded.drafts  # never pushed
    show = branded.views[44901].channels["brand_show"]
    assert show.live_since is not None and at(str(show.live_since)) - datetime(2026, 12, 3, tzinfo=timezone.utc) <= SWEEP + DELIVERY_SLACK
    assert show.live_until is not None and show.live_until.isoformat() == "2027-06-01"
    ended = branded.views[44902].channels["brand_show"]
    assert ended.withdrawn_at is not None and ended.withdrawn_at - datetime(2026, 12, 5, tzinfo=timezone.utc) <= SWEEP + DELIVERY_SLACK


def test_a_revocation_withdraws_everywhere_within_one_sweep(branded: BrandedRun) -> None:
    for channel, where in branded.views[44904].channels.items():
        assert where.withdrawn_at is not None, channel
        assert REVOKED_AT <= where.withdrawn_at <= REVOKED_AT + SWEEP + DELIVERY_SLACK, (channel, where.withdrawn_at)


def test_the_brand_playlists_hold_exactly_the_live_branded_episodes(branded: BrandedRun) -> None:
    uri = lambda pid: f"spotify:episode:{branded.spotify_ids[pid]}"  # noqa: E731
    assert branded.playlists == {
        "Harbourline Hotels · branded audio": [uri(44901)],  # 44902's item was removed when its licence ended
        "Copperleaf Coffee · branded audio": [uri(44903)],  # 44904's item was removed when it was revoked
    }


def test_venue_packages_are_published_and_revoked_with_their_labels(branded: BrandedRun) -> None:
    assert branded.manifests == {
        "venue/copperleaf-coffee/44903": "live",
        "venue/copperleaf-coffee/44904": "withdrawn",
        "venue/harbourline-hotels/44901": "live",
        "venue/harbourline-hotels/44902": "withdrawn",
        "venue/harbourline-hotels/44905": "live",
    }
    audio = [key for key in branded.venue_objects if "/audio" in key]
    assert audio == ["venue/copperleaf-coffee/44903/audio.mp3", "venue/harbourline-hotels/44901/audio.mp3", "venue/harbourline-hotels/44905/audio.mp3"]


def test_one_alert_per_expiry_and_a_note_back_to_consonance(branded: BrandedRun) -> None:
    expiring = [alert for alert in branded.alerts if "ends on" in alert]
    assert len(expiring) == 2
    assert any("Tide Table (product 44902)" in a and "2026-12-05" in a for a in expiring)
    assert any("Morning Grind (product 44903)" in a and "2026-12-10" in a for a in expiring)
    assert branded.views[44902].expiry_alerts and branded.views[44903].expiry_alerts
    # The note on the renewed asset now says live until the new end; it said "expiring" before
    assert "State: **live**" in branded.notes[44903] and "2027-03-31" in branded.notes[44903]


def test_consonance_shows_where_each_asset_is_live_and_until_when(branded: BrandedRun) -> None:
    assert branded.links[(44901, "Brand show on Spotify")] == "live until 2027-06-01"
    assert branded.links[(44901, "Brand playlist on Spotify (not for in-store play)")] == "live until 2027-06-01"
    assert branded.links[(44901, "Venue delivery (provider's public-performance licence required)")] == "live until 2027-06-01"
    assert branded.links[(44904, "Brand show on Spotify")].startswith("withdrawn 2026-12-03 (revoked in Consonance")
    assert branded.links[(44902, "Venue delivery (provider's public-performance licence required)")].startswith("withdrawn 2026-12-05")
    assert (44905, "Brand show on Spotify") not in branded.links  # never on Spotify: nothing to link to
    assert all(len(ids) == 1 for ids in branded.link_ids.values())  # each link created once, then updated
    note = branded.notes[44904]
    assert "State: **withdrawn**" in note and "Lifecycle" in note and VENUE_LICENCE_NOTICE in note
    assert "nothing on Spotify (brand show, brand playlists) is licensed for in-store or in-venue play" in note


def test_the_ops_cli_and_the_report_show_the_lifecycle_table(branded: BrandedRun) -> None:
    table = branded.ops["table"].splitlines()
    assert table[0].split()[:5] == ["product", "title", "licensee", "state", "until"]
    assert len(table) == 2 + 6
    copperleaf = branded.ops["copperleaf"].splitlines()[2:]
    assert sorted(line.split()[0] for line in copperleaf) == ["44903", "44904"]
    expiring = branded.ops["expiring"].splitlines()[2:]
    assert [line.split()[0] for line in expiring] == ["44905"]  # the one live licence ending by 2027-02-18
    rows = json.loads(branded.ops["json"])
    assert {row["product_id"]: row["state"] for row in rows} == {v.product_id: v.state for v in branded.views.values()}
    section = {asset["product_id"]: asset for asset in branded.report["branded"]}
    assert section.keys() == branded.views.keys()
    assert [s["state"] for s in section[44901]["states"]] == ["pending", "scheduled", "live"]
    assert section[44904]["channels"]["venue_delivery"]["status"] == "withdrawn"


def test_nothing_was_dead_lettered(branded: BrandedRun) -> None:
    assert branded.dead_letters == []
    flows = branded.report["flows"]
    for name in ("licence-sweep", "brand-show", "brand-playlists", "venue-delivery", "licence-status"):
        assert flows[name]["delivered"] > 0 and flows[name]["dead_lettered"] == 0, name
