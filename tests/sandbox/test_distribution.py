"""The simulated Spotify shows what Megaphone distributes: metadata changed on Megaphone reaches the
Spotify Web API after the distribution delay of virtual time, keeps the episode's markets and
Spotify-side takedowns, restarts its wait on a further change and never arrives when changed back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import httpx
import pytest

from functions.settings import MappingConfig
from sandbox.clock import VirtualClock
from sandbox.distribution import DistributedMetadata, SpotifyDistribution
from sandbox.simulators.megaphone import MegaphoneSimulator
from sandbox.simulators.spotify_web import SpotifyWebSimulator
from sandbox.world import SandboxWorld, WorldOptions
from tests.integration.harness import PUBLISHING_FLOWS, megaphone_episode
from tests.integration.small_catalogue import NETWORK, START, SmallCatalogue

SERIES = 9301
PRODUCT = 51001
TOKEN = "megaphone-test-token-6f2d"
APP = ("spotify-test-client", "spotify-test-secret")
DELAY = timedelta(minutes=10)
TICK = timedelta(minutes=1)


def catalogue() -> Any:
    made = SmallCatalogue()
    made.show(SERIES, "The Lantern Road")
    made.episode(PRODUCT, SERIES, "1", "The Lantern Rod", START - timedelta(days=3))
    made.edit(0, time(9, 0), "product", PRODUCT, note="title typo fixed", title="The Lantern Road")
    return made.build()


@dataclass
class Bridge:
    clock: VirtualClock
    megaphone: MegaphoneSimulator
    spotify: SpotifyWebSimulator
    distribution: SpotifyDistribution
    episode_id: str = ""

    def megaphone_api(self, method: str, path: str, json: dict[str, Any] | None = None) -> dict[str, Any]:
        with httpx.Client(transport=self.megaphone, base_url=f"https://cms.megaphone.fm/api/networks/{NETWORK}") as client:
            response = client.request(method, path, json=json, headers={"Authorization": f"Token token={TOKEN}"})
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def edit_on_megaphone(self, **fields: Any) -> None:
        self.megaphone_api("PUT", f"/podcasts/mp-{SERIES}/episodes/{self.episode_id}", fields)

    def run(self, duration: timedelta) -> None:
        """Tick by tick, as the runtime calls the bridge's hook."""
        end = self.clock.now() + duration
        while self.clock.now() < end:
            self.clock.advance_to(self.clock.now() + TICK)
            self.distribution.tick(self.clock.now())

    @property
    def spotify_id(self) -> str:
        return str(self.megaphone.episode(self.episode_id)["spotifyIdentifier"])

    def web_api(self, market: str = "GB") -> dict[str, Any]:
        """The episode as the Spotify Web API answers it (client-credentials token, then GET)."""
        with httpx.Client(transport=self.spotify) as client:
            token = client.post("https://accounts.spotify.com/api/token", data={"grant_type": "client_credentials"}, auth=APP).json()
            response = client.get(
                f"https://api.spotify.com/v1/episodes/{self.spotify_id}",
                params={"market": market},
                headers={"Authorization": f"Bearer {token['access_token']}"},
            )
        answer: dict[str, Any] = {"status": response.status_code, **response.json()}
        return answer


@pytest.fixture
def bridge() -> Iterator[Bridge]:
    clock = VirtualClock(datetime.combine(START, time(8, 0), tzinfo=timezone.utc))
    megaphone = MegaphoneSimulator(clock, network_id=NETWORK, podcasts={f"mp-{SERIES}": "The Lantern Road"}, tokens=[TOKEN], ingest_delay_seconds=60)
    spotify = SpotifyWebSimulator(clock, {APP[0]: APP[1]})
    made = Bridge(clock, megaphone, spotify, SpotifyDistribution(catalogue(), megaphone, spotify, MappingConfig(), delay=DELAY))
    created = made.megaphone_api(
        "POST",
        f"/podcasts/mp-{SERIES}/episodes",
        {
            "title": "The Lantern Rod",
            "externalId": str(PRODUCT),
            "summary": "<p>Part one of <em>The Lantern Road</em> &amp; more.</p>",
            "pubdate": "2027-02-20T00:00:00.000Z",
            "draft": False,
            "backgroundAudioFileUrl": "https://media.example.test/masters/51001.wav",
        },
    )
    made.episode_id = created["id"]
    made.run(timedelta(minutes=3))  # ingested, published, on Spotify
    yield made


def test_a_published_episode_carries_megaphones_metadata_to_spotify(bridge: Bridge) -> None:
    answer = bridge.web_api()
    on_megaphone = bridge.megaphone.episode(bridge.episode_id)
    assert answer["status"] == 200
    assert (answer["name"], answer["release_date"]) == ("The Lantern Rod", "2027-02-20")
    assert answer["description"] == "Part one of The Lantern Road & more."
    assert answer["duration_ms"] == int(on_megaphone["duration"] * 1000) > 0


def test_a_title_corrected_on_megaphone_reaches_spotify_after_the_distribution_delay(bridge: Bridge) -> None:
    bridge.spotify.take_down(bridge.spotify_id, ["AU"])  # a Spotify-side takedown the update must not undo
    bridge.edit_on_megaphone(title="The Lantern Road", summary="<p>Part one, corrected.</p>")
    bridge.run(TICK)  # the bridge sees the change at its next tick
    seen_at = bridge.clock.now()

    bridge.run(DELAY - TICK)
    assert bridge.web_api()["name"] == "The Lantern Rod", "not before the delay has passed"
    bridge.run(TICK)

    answer = bridge.web_api()
    assert bridge.clock.now() == seen_at + DELAY
    assert (answer["name"], answer["description"]) == ("The Lantern Road", "Part one, corrected.")
    assert bridge.web_api("AU")["status"] == 404, "the takedown on Spotify stays"
    assert bridge.web_api("US")["status"] == 200


def test_a_further_change_restarts_the_wait_and_only_the_last_value_arrives(bridge: Bridge) -> None:
    bridge.edit_on_megaphone(title="The Lantern Road")
    bridge.run(timedelta(minutes=5))
    bridge.edit_on_megaphone(title="The Lantern Road (Part 1)", pubdate="2027-02-21T00:00:00.000Z")
    bridge.run(DELAY)
    assert bridge.web_api()["name"] == "The Lantern Rod", "the first change never showed on its own"
    bridge.run(TICK)

    answer = bridge.web_api()
    assert (answer["name"], answer["release_date"]) == ("The Lantern Road (Part 1)", "2027-02-21")


def test_a_change_reverted_before_it_arrives_never_arrives(bridge: Bridge) -> None:
    names: list[str] = []
    bridge.edit_on_megaphone(title="A Wrong Title")
    for _ in range(3):
        bridge.run(TICK)
        names.append(bridge.web_api()["name"])
    bridge.edit_on_megaphone(title="The Lantern Rod")
    for _ in range(2 * int(DELAY / TICK)):
        bridge.run(TICK)
        names.append(bridge.web_api()["name"])

    assert set(names) == {"The Lantern Rod"}


def test_metadata_reads_megaphones_fields_as_spotify_shows_them() -> None:
    metadata = DistributedMetadata.of(
        {"title": "T", "summary": "<p>A &lt;b&gt; <br/>c</p>", "pubdate": "2027-01-02T05:00:00.000Z", "duration": 61.2346}
    )
    assert metadata == DistributedMetadata(name="T", description="A <b> c", release_date=date(2027, 1, 2), duration_ms=61235)


def test_a_title_corrected_in_consonance_reaches_the_simulated_spotify() -> None:
    """End to end: the Consonance edit at 09:00 goes through the poller and the publisher to Megaphone,
    and from there to Spotify one distribution delay (and at most one tick) later."""
    with SandboxWorld(catalogue(), WorldOptions(flows=PUBLISHING_FLOWS, distribution_delay=DELAY)) as world:
        world.run_for(0.3)  # 07:12: published, live on Spotify with the typo
        episode = megaphone_episode(world, PRODUCT)
        assert episode is not None
        spotify_id = episode["spotifyIdentifier"]
        assert world.spotify.episodes[spotify_id].name == "The Lantern Rod"

        on_megaphone: datetime | None = None
        on_spotify: datetime | None = None
        while on_spotify is None and world.clock.now() < datetime.combine(START, time(12, 0), tzinfo=timezone.utc):
            world.runtime.run_for(minutes=1)
            if on_megaphone is None and world.megaphone.episode(episode["id"])["title"] == "The Lantern Road":
                on_megaphone = world.clock.now()
            if world.spotify.episodes[spotify_id].name == "The Lantern Road":
                on_spotify = world.clock.now()

    assert on_megaphone is not None and on_spotify is not None
    assert DELAY <= on_spotify - on_megaphone <= DELAY + TICK


def test_a_world_collects_the_oldest_generation_rarely_while_it_runs_and_restores_the_threshold() -> None:
    import gc

    before = gc.get_threshold()
    with SandboxWorld(catalogue(), WorldOptions(flows=PUBLISHING_FLOWS, distribution_delay=DELAY)):
        young, middle, oldest = gc.get_threshold()
        assert (young, middle) == before[:2] and oldest >= 1_000
    assert gc.get_threshold() == before


def test_the_timeline_follows_spotify_side_changes_even_when_megaphone_is_quiet(bridge: Bridge) -> None:
    """States are recorded again only when Megaphone's listing or Spotify's episodes changed; a
    takedown made on the Spotify side while Megaphone stays unchanged still reaches the timeline at
    the next tick, and quiet ticks add nothing."""
    states = [(entry.product_id, entry.state) for entry in bridge.distribution.timeline]
    assert states[-1] == (PRODUCT, "live")
    bridge.run(TICK * 5)
    assert len(bridge.distribution.timeline) == len(states), "quiet ticks record nothing"

    bridge.spotify.take_down(bridge.spotify_id)  # everywhere, on Spotify's side
    bridge.run(TICK)
    last = bridge.distribution.timeline[-1]
    assert (last.product_id, last.state, last.virtual_time) == (PRODUCT, "taken_down", bridge.clock.now().isoformat())
