"""Spotify for Creators: the cookie login, pacing, typed errors and validated responses of the connector,
held against the simulator (whose bodies validate against the project's schema copies), and the
collection of an opted-in show into daily facts."""

from __future__ import annotations

from itertools import pairwise
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import pyarrow.dataset as ds
import pytest

from functions.analytics.creators_facts import (
    CreatorsNotOptedIn,
    CreatorsOptIn,
    bucket_of,
    collect_show,
    write_collection,
)
from functions.analytics.store import local_store
from functions.connectors.http import HttpExchange, route_host
from functions.connectors.spotify_creators import (
    CreatorsCredentials,
    CreatorsCredentialsInvalid,
    CreatorsLoginExpired,
    CreatorsResponseInvalid,
    SpotifyCreatorsClient,
)
from sandbox.clock import VirtualClock
from sandbox.simulators.spotify_creators import ACCOUNTS_HOST, API_HOST, SpotifyCreatorsSimulator
from sandbox.simulators.spotify_web import SpotifyWebSimulator
from tests.analytics.conftest import CLOCK_START as START

pytestmark = pytest.mark.usefixtures("cleared_routes")
SHOW = "4rOoJ6Egrf8K2IrywzwOMk"
EPISODES = ("0Q86acNRm6V9GYx55SXKwf", "1a2b3c4d5e6f7g8h9i0jKL")
COOKIES = CreatorsCredentials.from_secret('{"sp_dc": "dc-cookie-value", "sp_key": "key-cookie-value"}')



@pytest.fixture
def simulator(virtual_clock: VirtualClock) -> SpotifyCreatorsSimulator:
    sim = SpotifyCreatorsSimulator(virtual_clock, fallback=SpotifyWebSimulator(virtual_clock))
    sim.add_account("dc-cookie-value", "key-cookie-value")
    sim.add_show(SHOW, "Coast", "dc-cookie-value")
    for number, episode in enumerate(EPISODES, start=1):
        sim.add_episode(episode, SHOW, f"Part {number}", date(2025, 3, 1), 1800, median_completion=0.4 + 0.2 * number)
    for offset in range(14):
        day = date(2025, 3, 1) + timedelta(days=offset)
        sim.record_day(SHOW, day, 30 + offset, 20 + offset, 25)
        sim.record_day(EPISODES[0], day, 10 + offset, 8, 9)
        sim.record_day(EPISODES[1], day, 5, 4, 4)
        sim.set_followers(SHOW, day, 100 + 2 * offset)
    route_host(ACCOUNTS_HOST, sim)
    route_host(API_HOST, sim)
    return sim


def test_login_then_paced_reads_with_redacted_cookies(simulator: SpotifyCreatorsSimulator, virtual_clock: VirtualClock, exchanges: list[HttpExchange]) -> None:
    client = SpotifyCreatorsClient(COOKIES)
    streams = client.starts_and_streams("episodes", EPISODES[0], date(2025, 3, 1), date(2025, 3, 3))
    assert [(s.date, s.starts) for s in streams.detailedStreams] == [(date(2025, 3, 1), 10), (date(2025, 3, 2), 11), (date(2025, 3, 3), 12)]
    client.listeners("shows", SHOW, date(2025, 3, 1), date(2025, 3, 1))
    client.performance(EPISODES[1])
    assert client.logins == 1
    assert simulator.paced_out == 0
    times = [datetime.fromisoformat(e.virtual_time) for e in exchanges]
    assert all((b - a).total_seconds() >= 1.0 for a, b in pairwise(times)), "at most one request a second"
    authorize = exchanges[0]
    assert authorize.url.startswith("https://accounts.spotify.com/oauth2/v2/auth?") and "prompt=none" in authorize.url
    assert authorize.request_headers["cookie"] == "[redacted]"
    assert all(e.request_headers.get("authorization") in (None, "[redacted]") for e in exchanges)
    assert "dc-cookie-value" not in repr(exchanges)


def test_an_expired_login_is_a_clear_permanent_error(simulator: SpotifyCreatorsSimulator, virtual_clock: VirtualClock) -> None:
    client = SpotifyCreatorsClient(COOKIES)
    client.show_metadata(SHOW)
    simulator.expire_login("dc-cookie-value")
    client.show_metadata(SHOW)  # the issued token still lives out its hour
    virtual_clock.advance(3600)
    with pytest.raises(CreatorsLoginExpired, match="login_required") as raised:
        client.show_metadata(SHOW)
    assert raised.value.code == "creators_login_required"
    assert simulator.logins_refused == 1


def test_a_revoked_token_logs_in_again_once(simulator: SpotifyCreatorsSimulator) -> None:
    client = SpotifyCreatorsClient(COOKIES)
    client.show_metadata(SHOW)
    simulator.tokens.clear()
    assert client.show_metadata(SHOW).followers == 100 + 2 * 13
    assert client.logins == 2


def test_credentials_come_only_from_the_secret_and_must_be_whole() -> None:
    with pytest.raises(CreatorsCredentialsInvalid, match="sp_key"):
        CreatorsCredentials.from_secret('{"sp_dc": "x"}')
    assert "dc-cookie-value" not in repr(COOKIES)


def test_an_unexpected_shape_is_a_typed_error(simulator: SpotifyCreatorsSimulator, virtual_clock: VirtualClock) -> None:
    client = SpotifyCreatorsClient(COOKIES)
    client.access_token()

    def changed(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"detailedStreams": [{"day": "2025-03-01", "plays": 3}]})

    route_host(API_HOST, httpx.MockTransport(changed))
    with pytest.raises(CreatorsResponseInvalid, match="unexpected shape"):
        client.starts_and_streams("shows", SHOW, date(2025, 3, 1), date(2025, 3, 1))


def test_episode_listing_follows_pages(simulator: SpotifyCreatorsSimulator) -> None:
    for number in range(60):
        simulator.add_episode(f"extra{number:02d}", SHOW, f"Extra {number}", date(2024, 1, 1) + timedelta(days=number), 600, 0.5)
    listed = list(SpotifyCreatorsClient(COOKIES).show_episodes(SHOW, date(2025, 3, 1), date(2025, 3, 14)))
    assert len(listed) == 62 and len({e.id for e in listed}) == 62


def test_the_web_api_token_still_reaches_the_web_simulator_on_the_shared_host(simulator: SpotifyCreatorsSimulator) -> None:
    from functions.connectors.spotify_web import SpotifyCredentials, SpotifyWebClient

    web = SpotifyWebClient(SpotifyCredentials(client_id="sandbox-client", client_secret="sandbox-secret"))
    assert web.access_token().startswith("BQ")


OPTED_IN = CreatorsOptIn(enabled=True, shows=(SHOW,))


def test_collection_is_off_by_default_and_per_show(simulator: SpotifyCreatorsSimulator) -> None:
    client = SpotifyCreatorsClient(COOKIES)
    assert CreatorsOptIn().shows_to_collect() == ()
    with pytest.raises(CreatorsNotOptedIn):
        collect_show(client, SHOW, EPISODES, date(2025, 3, 10), date(2025, 3, 11), retrieved_at=START, opt_in=CreatorsOptIn(shows=(SHOW,)))
    with pytest.raises(CreatorsNotOptedIn):
        collect_show(client, "otherShow", (), date(2025, 3, 10), date(2025, 3, 11), retrieved_at=START, opt_in=OPTED_IN)
    assert client.logins == 0


def test_a_show_collects_into_unofficial_daily_facts(simulator: SpotifyCreatorsSimulator) -> None:
    simulator.fail_aggregate_on(date(2025, 3, 11))
    collection = collect_show(SpotifyCreatorsClient(COOKIES), SHOW, EPISODES, date(2025, 3, 10), date(2025, 3, 11), retrieved_at=START, opt_in=OPTED_IN)
    rows = [row for batch in collection.batches.values() for row in batch]
    assert all(r.source == "spotify_creators" and r.official is False for r in rows)
    values = {(r.entity_id, r.day, r.metric.value, r.dimension, r.dimension_value): r.value for r in rows}
    assert values[(EPISODES[0], date(2025, 3, 10), "starts", "total", "")] == 19
    assert values[(SHOW, date(2025, 3, 10), "followers", "total", "")] == 118
    assert values[(SHOW, date(2025, 3, 10), "followers_gained", "total", "")] == 2  # 118 - 116 (the day before was asked too)
    assert values[(SHOW, date(2025, 3, 10), "listeners", "country", "GB")] == 16  # 60 % of 25 is 15, plus the rounding remainder (24 of 25 placed)
    assert sum(v for k, v in values.items() if k[:3] == (SHOW, date(2025, 3, 10), "listeners") and k[3] == "gender") == 25
    assert not any(k[0] == SHOW and k[1] == date(2025, 3, 11) and k[3] != "total" for k in values), "no demographics for the failed day"
    assert values[(EPISODES[1], date(2025, 3, 11), "median_completion_pct", "total", "")] == 80.0
    assert values[(EPISODES[1], date(2025, 3, 11), "reached_75_pct", "total", "")] == pytest.approx(100 * 0.5 ** (0.75 / 0.8), abs=0.05)
    [finding] = collection.findings
    assert finding.code == "creators_demographics_unavailable" and "2025-03-11" in finding.message
    assert collection.remaining_buckets == ()
    buckets = {batch for (_, batch) in collection.batches}
    assert buckets == {f"show-{SHOW}"} | {f"show-{SHOW}-b{bucket_of(e)}" for e in EPISODES}


def test_a_collection_cut_short_leaves_whole_buckets_and_rewrites_replace(simulator: SpotifyCreatorsSimulator, tmp_path: Path) -> None:
    client = SpotifyCreatorsClient(COOKIES)
    budget = iter([600.0, 30.0])
    partial = collect_show(client, SHOW, EPISODES, date(2025, 3, 10), date(2025, 3, 10), retrieved_at=START, opt_in=OPTED_IN, time_left=lambda: next(budget))
    # the two episodes hash to two buckets (the other buckets hold none, so they are neither read nor left over)
    assert len(partial.remaining_buckets) == 1 and partial.remaining_buckets[0] in {bucket_of(e) for e in EPISODES}
    rest = collect_show(
        client, SHOW, EPISODES, date(2025, 3, 10), date(2025, 3, 10),
        retrieved_at=START, opt_in=OPTED_IN, buckets=partial.remaining_buckets, with_show_facts=False,
    )
    store = local_store(tmp_path)
    for collection in (partial, rest, rest, partial):  # re-runs replace, never add
        write_collection(store, collection)
    table = ds.dataset(tmp_path / "facts", format="parquet", partitioning="hive").to_table().to_pylist()
    starts = {r["entity_id"]: r["value"] for r in table if r["metric"] == "starts"}
    assert starts == {SHOW: 39, EPISODES[0]: 19, EPISODES[1]: 5}


def test_an_expired_login_has_an_operator_alert_without_secrets(simulator: SpotifyCreatorsSimulator) -> None:
    from functions.analytics.creators_facts import login_expired_alert

    simulator.expire_login("dc-cookie-value")
    with pytest.raises(CreatorsLoginExpired) as raised:
        SpotifyCreatorsClient(COOKIES).show_metadata(SHOW)
    alert = login_expired_alert(raised.value, [SHOW], "consonance-spotify/spotify-creators-cookies")
    assert "login_required" in alert.message and SHOW in alert.message and "consonance-spotify/spotify-creators-cookies" in alert.message
    assert "Megaphone export and the Ads API" in alert.message
    assert "dc-cookie-value" not in alert.message and alert.attributes == {"kind": "creators_login_required"}
