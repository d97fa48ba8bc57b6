"""Faults change nothing in effect for branded audio: the sample's branded part run with `faults=0.2`
(a fifth of the API calls to Consonance, Megaphone, Spotify and the media host answered 500/503/429 or
timing out, some after the server acted; handlers crashing mid-batch now and then) ends with the same
state on every channel as the fault-free run — the lifecycle, the brand show on Megaphone, the brand
playlists, the venue packages and what Consonance shows — with every expiry alerted exactly once and
no link written twice."""

from __future__ import annotations

import pytest

from tests.e2e.branded_runs import BrandedRun, run_branded

FAULT_RATE = 0.2


@pytest.fixture(scope="module")
def faulted() -> BrandedRun:
    return run_branded(faults=FAULT_RATE)


def test_faults_were_really_injected(faulted: BrandedRun) -> None:
    injected = faulted.report["faults_injected"]
    assert sum(injected["consonance"].values()) > 0 and sum(injected["megaphone"].values()) > 0
    assert injected["handler_crashes"] > 0
    assert sum(stats["retried"] for name, stats in faulted.report["flows"].items() if name in LICENCE_FLOWS) > 0


LICENCE_FLOWS = ("licence-sweep", "brand-show", "brand-playlists", "venue-delivery", "licence-status")


def test_every_channel_ends_in_the_same_state(branded: BrandedRun, faulted: BrandedRun) -> None:
    assert faulted.channel_states() == branded.channel_states()
    assert [[s.state for s in v.states] for v in faulted.views.values()] == [[s.state for s in v.states] for v in branded.views.values()]
    assert faulted.drafts == branded.drafts
    assert faulted.manifests == branded.manifests and faulted.venue_objects == branded.venue_objects

    def items(run: BrandedRun) -> dict[str, list[int]]:
        by_id = {f"spotify:episode:{sid}": pid for pid, sid in run.spotify_ids.items()}
        return {name: [by_id[uri] for uri in uris] for name, uris in run.playlists.items()}

    assert items(faulted) == items(branded)


def test_consonance_shows_the_same_and_nothing_was_written_twice(branded: BrandedRun, faulted: BrandedRun) -> None:
    assert faulted.links == branded.links
    assert all(len(ids) == 1 for ids in faulted.link_ids.values())  # a lost create answer never made a second link
    assert faulted.notes.keys() == branded.notes.keys()


def test_every_expiry_alert_was_sent_once(branded: BrandedRun, faulted: BrandedRun) -> None:
    def expiries(run: BrandedRun) -> list[str]:
        return sorted(alert.splitlines()[0] for alert in run.alerts if "ends on" in alert)

    assert expiries(faulted) == expiries(branded) and len(expiries(faulted)) == 2


def test_every_dead_letter_has_its_reason(faulted: BrandedRun) -> None:
    for letter in faulted.dead_letters:
        assert letter.reason.strip()
        assert letter.flow not in LICENCE_FLOWS or letter.error_code, letter
