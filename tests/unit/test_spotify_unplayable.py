"""The Spotify Web API simulator leaves a delivered episode unplayable when told to, and the connector
sees it: `is_playable: false` in every market, or not there at all ("missing")."""

from __future__ import annotations

from datetime import date

import pytest

from functions.connectors.http import RetryPolicy, route_host
from functions.connectors.spotify_web import SpotifyCredentials, SpotifyWebClient
from sandbox.clock import VirtualClock
from sandbox.simulators.spotify_web import ACCOUNTS_HOST, API_HOST, SpotifyWebSimulator

EPISODE = "4rOoJ6Egrf8K2IrywzwOMk"
NEIGHBOUR = "0Q86acNRm6V9GYx55SXKwf"
SHOW = "38bS44xjbVVZ3No3ByF1dJ"


@pytest.fixture
def spotify(virtual_clock: VirtualClock, cleared_routes: None) -> SpotifyWebSimulator:
    simulator = SpotifyWebSimulator(virtual_clock)
    simulator.add_show(SHOW, "The Long Chapter")
    simulator.publish_episode(EPISODE, SHOW, "Chapter 1", {"GB", "IE"}, date(2031, 2, 1))
    simulator.publish_episode(NEIGHBOUR, SHOW, "Chapter 2", {"GB", "IE"}, date(2031, 2, 8))
    route_host(ACCOUNTS_HOST, simulator)
    route_host(API_HOST, simulator)
    return simulator


@pytest.fixture
def client(spotify: SpotifyWebSimulator) -> SpotifyWebClient:
    return SpotifyWebClient(SpotifyCredentials(client_id="sandbox-client", client_secret="sandbox-secret"), retry=RetryPolicy(max_attempts=2))


def test_an_episode_left_not_playable_is_answered_with_is_playable_false(spotify, client):
    spotify.leave_unplayable(EPISODE)
    episode = client.episode(EPISODE, "GB")
    assert episode is not None and episode.is_playable is False and not episode.playable
    listed = {e.id: e.is_playable for e in client.show_episodes(SHOW, "IE")}
    assert listed == {EPISODE: False, NEIGHBOUR: True}


def test_a_missing_episode_is_not_found_anywhere_while_its_neighbours_are(spotify, client):
    spotify.leave_unplayable(EPISODE, "missing")
    assert client.episode_markets(EPISODE, ["GB", "IE"]) == {"GB": False, "IE": False}
    assert [e.id for e in client.show_episodes(SHOW, "GB")] == [NEIGHBOUR]


def test_an_episode_can_be_made_playable_again(spotify, client):
    spotify.leave_unplayable(EPISODE, "missing")
    spotify.leave_unplayable(EPISODE, None)
    episode = client.episode(EPISODE, "GB")
    assert episode is not None and episode.playable
