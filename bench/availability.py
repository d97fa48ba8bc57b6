"""availability_sweep_web_api_calls: what one availability-monitor sweep costs the Spotify Web API for a
5,000-episode catalogue, against the floor ⌈episodes ÷ 50⌉ × markets (issue 10).

Method: 100 podcasts × 50 episodes, every one delivered — live on the Megaphone simulator, on the
Spotify Web API simulator in every watched market (the settings' default six), a `delivered` ledger
entry in moto (in process) — then the monitor's own logic (`monitor_availability`) sweeps twice with
the connectors as deployed: the Web API client paced at the settings' default rate, the simulator
enforcing its rolling window (429s count as calls). The first sweep learns each show's id from one
of its episodes (kept in the cursor); the second is the steady state, the figure.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from bench.results import Figure

PODCASTS = 100
EPISODES_PER_PODCAST = 50
PAGE = 50  # /shows/{id}/episodes returns at most 50 a page
START = datetime(2031, 3, 1, 12, 0, tzinfo=timezone.utc)
NETWORK = "net-bench"
MEGAPHONE_TOKEN = "bench-megaphone-token"


def availability_figures(say: Any) -> list[Figure]:
    from bench.aws import InProcessAws
    from sandbox.moto_speedups import moto_speedups

    with InProcessAws(), moto_speedups():
        return _sweeps(say)


def _sweeps(say: Any) -> list[Figure]:
    from functions.clock import SystemClock, use_clock
    from functions.connectors.http import HttpService, RetryPolicy, clear_routes, route_host
    from functions.connectors.megaphone import EpisodeFields, MegaphoneClient
    from functions.connectors.rate_limit import InMemorySlotSchedule, SlotRateLimiter
    from functions.connectors.spotify_auth import SpotifyCredentials
    from pydantic import SecretStr
    from functions.connectors.spotify_web import SpotifyWebClient
    from functions.domain.events import DomainEvent
    from functions.event_bus import EventBus
    from functions.flows.availability_monitor.logic import MonitorDeps, monitor_availability
    from functions.settings import CoreSettings, MegaphoneSettings, SpotifySettings
    from functions.state.availability import AvailabilityStore
    from functions.state.cursors import CursorStore
    from functions.state.keys import episode_key
    from functions.state.ledger import SyncLedger, new_entry
    from functions.state.targets import MEGAPHONE, LedgerStatus, MegaphoneState
    from infra.flows import Table
    from sandbox.clock import VirtualClock
    from sandbox.distribution import spotify_show_id
    from sandbox.moto_server import reset_client_caches
    from sandbox.resources import create_resources
    from sandbox.simulators.megaphone import MegaphoneSimulator
    from sandbox.simulators.spotify_web import SpotifyWebSimulator

    class CountingBus(EventBus):
        """The bus as far as the monitor can tell: the events are counted, not sent."""

        def __init__(self) -> None:
            super().__init__("bench-bus", "bench")
            self.events = 0

        def publish(self, events: Sequence[DomainEvent]) -> None:
            self.events += len(events)

    clock = VirtualClock(START)
    use_clock(clock)
    reset_client_caches()
    try:
        markets = CoreSettings.model_fields["spotify_markets"].default
        spotify_settings = SpotifySettings(spotify_secret_id="bench")
        megaphone_url = MegaphoneSettings.model_fields["megaphone_url"].default
        tables = create_resources([], secret_values={}, prefix="bench-availability").tables
        podcasts = {f"mp-bench-{n:03d}": f"Bench show {n}" for n in range(PODCASTS)}
        megaphone_sim = MegaphoneSimulator(
            clock, network_id=NETWORK, podcasts=podcasts, tokens=[MEGAPHONE_TOKEN], rate_limit_per_window=None, ingest_delay_seconds=60
        )
        spotify_sim = SpotifyWebSimulator(clock)
        route_host(urlsplit(megaphone_url).netloc, megaphone_sim)
        route_host(urlsplit(spotify_settings.spotify_accounts_url).netloc, spotify_sim)
        route_host(urlsplit(spotify_settings.spotify_api_url).netloc, spotify_sim)
        retry = RetryPolicy()
        megaphone = MegaphoneClient(
            HttpService(service="megaphone", base_url=megaphone_url, auth_headers=lambda: {"Authorization": f"Token token={MEGAPHONE_TOKEN}"}, retry=retry),
            network_id=NETWORK,
        )
        ledger = SyncLedger(tables[Table.LEDGER])
        say(f"  availability: delivering {PODCASTS * EPISODES_PER_PODCAST} episodes in {PODCASTS} podcasts ...")
        seeded = time.perf_counter()
        product = 700_000
        for podcast_id, title in podcasts.items():
            show = spotify_show_id(podcast_id)
            spotify_sim.add_show(show, title)
            for _ in range(EPISODES_PER_PODCAST):
                product += 1
                fields = EpisodeFields(
                    title=f"Episode {product}",
                    external_id=str(product),
                    draft=False,
                    pubdate=(clock.now() - timedelta(days=1)).isoformat(),
                    background_audio_file_url=f"https://media.example/{product}.mp3",
                )
                megaphone.create_episode(podcast_id, fields)
        clock.advance(120)  # every ingest finished: Megaphone has given each episode its Spotify id
        for podcast_id in podcasts:
            for remote in megaphone.list_episodes(podcast_id):
                assert remote.spotify_identifier and remote.external_id
                spotify_sim.publish_episode(remote.spotify_identifier, spotify_show_id(podcast_id), remote.title, set(markets), date(2031, 2, 1))
                entry = new_entry(episode_key(int(remote.external_id)), MEGAPHONE)
                entry.state = MegaphoneState(podcast_id=podcast_id, episode_id=remote.id, spotify_id=remote.spotify_identifier, draft=False)
                entry.set_status(LedgerStatus.DELIVERED, "cleared and released")
                ledger.save(entry)
        say(f"  availability: seeded in {time.perf_counter() - seeded:.0f} s; two sweeps ...")
        spotify = SpotifyWebClient(
            SpotifyCredentials(client_id="sandbox-client", client_secret=SecretStr("sandbox-secret")),
            limiter=SlotRateLimiter("spotify:bench", spotify_settings.spotify_rate_per_minute, InMemorySlotSchedule()),
            retry=retry,
        )
        bus = CountingBus()
        deps = MonitorDeps(
            ledger=ledger,
            availability=AvailabilityStore(tables[Table.AVAILABILITY]),
            megaphone=megaphone,
            spotify=spotify,
            bus=bus,
            cursors=CursorStore(tables[Table.CURSORS]),
            markets=tuple(markets),
        )
        sweeps: list[dict[str, Any]] = []
        for _ in range(2):
            megaphone_before, spotify_before, began = len(megaphone_sim.requests_received()), spotify_sim.requests_served, clock.now()
            wall = time.perf_counter()
            outcome = monitor_availability(deps, clock.now())
            sweeps.append(
                {
                    "checked": outcome.checked,
                    "errors": len(outcome.errors),
                    "web_api_requests": outcome.spotify_requests,
                    "spotify_requests_served": spotify_sim.requests_served - spotify_before,
                    "megaphone_requests": len(megaphone_sim.requests_received()) - megaphone_before,
                    "virtual_seconds": round((clock.now() - began).total_seconds(), 1),
                    "wall_seconds": round(time.perf_counter() - wall, 1),
                }
            )
            clock.advance(3600)
    finally:
        clear_routes()
        use_clock(SystemClock())
        reset_client_caches()
    episodes = PODCASTS * EPISODES_PER_PODCAST
    floor = math.ceil(episodes / PAGE) * len(markets)
    first, steady = sweeps
    note = (
        f"{episodes} delivered episodes in {PODCASTS} podcasts of {EPISODES_PER_PODCAST}, {len(markets)} markets ({', '.join(markets)}): "
        f"the steady sweep sent {steady['web_api_requests']} Web API requests (the simulator served "
        f"{steady['spotify_requests_served']}, app token included) against the floor ⌈{episodes} ÷ {PAGE}⌉ × {len(markets)} = {floor}; "
        f"{steady['megaphone_requests']} Megaphone requests (one paged list per podcast); {steady['virtual_seconds']:.0f} s of virtual "
        f"time at the client's {spotify_settings.spotify_rate_per_minute}/min pace, {steady['errors']} errors. The first sweep also "
        f"learns each show's id from one of its episodes: {first['web_api_requests']} requests. Before (issue 10): one GET /episodes/{{id}} "
        f"per episode and market, {episodes * len(markets)} a sweep."
    )
    return [
        Figure(
            name="availability_sweep_web_api_calls",
            value=float(steady["web_api_requests"]),
            target=float(floor),
            note=note,
            details={"sweeps": sweeps, "floor": floor, "episodes": episodes, "markets": list(markets)},
        ),
        Figure(
            name="availability_sweep_minutes",
            value=round(steady["virtual_seconds"] / 60, 1),
            target=None,
            unit="min",
            note="informational: virtual minutes one steady sweep takes at the Web API client's configured pace.",
            informational=True,
        ),
    ]
