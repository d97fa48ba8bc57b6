"""Megaphone's audio ingest in the simulator: it downloads the file (from the media host simulator) and
fails as the real service would — unsupported audio, a URL that gives no file — seen through the
Megaphone connector as `audioFileStatus`."""

from __future__ import annotations

import pytest

from functions.connectors.http import HttpService, RetryPolicy, route_host
from functions.connectors.megaphone import EpisodeFields, MegaphoneClient, MegaphoneEpisode
from sandbox import media
from sandbox.clock import VirtualClock
from sandbox.simulators.media_host import MediaHostSimulator
from sandbox.simulators.megaphone import BASE_URL, MegaphoneSimulator

NETWORK = "net-preflight"
PODCAST = "pod-ingest"
TOKEN = "mp-token-ingest"
INGEST_SECONDS = 120


@pytest.fixture
def megaphone(virtual_clock: VirtualClock, media_host: MediaHostSimulator) -> MegaphoneSimulator:
    simulator = MegaphoneSimulator(
        virtual_clock,
        network_id=NETWORK,
        podcasts={PODCAST: "Ingest"},
        tokens=[TOKEN],
        audio_fetch=media_host.fetch,
        ingest_delay_seconds=INGEST_SECONDS,
    )
    route_host("cms.megaphone.fm", simulator)
    return simulator


@pytest.fixture
def client(megaphone: MegaphoneSimulator) -> MegaphoneClient:
    http = HttpService("megaphone", BASE_URL, lambda: {"Authorization": f"Token token={TOKEN}"}, retry=RetryPolicy(max_attempts=2))
    return MegaphoneClient(http, NETWORK)


def ingest(client: MegaphoneClient, clock: VirtualClock, audio_url: str, number: int = 1) -> MegaphoneEpisode:
    created = client.create_episode(PODCAST, EpisodeFields(title=f"Part {number}", externalId=str(number), backgroundAudioFileUrl=audio_url))
    assert created.audio_file_processing and created.audio_file_status == "processing"
    clock.advance(INGEST_SECONDS)
    return client.get_episode(PODCAST, created.id)


@pytest.mark.parametrize(
    ("path", "data", "duration", "bitrate"),
    [
        ("masters/one.mp3", media.mp3(61.2), 61.2, 32),
        ("masters/two.wav", media.wav(42.5), 42.5, 64),
        ("masters/three.m4a", media.m4a(30.016), 30.016, 1),
    ],
    ids=["mp3", "wav", "m4a"],
)
def test_ingestable_audio_succeeds_with_the_file_s_real_facts(client, media_host, megaphone, virtual_clock, path, data, duration, bitrate):
    episode = ingest(client, virtual_clock, media_host.put(path, data))
    assert episode.ingested and not episode.ingest_failed
    assert (episode.duration, episode.size, episode.bitrate) == (duration, len(data), bitrate)
    assert megaphone.ingest_failure(episode.id) is None
    assert len(media_host.requests_for(path)) == 1  # Megaphone downloaded it once


@pytest.mark.parametrize(
    ("path", "data", "reason"),
    [
        ("masters/broadcast.mp2", media.mp2(20), "unsupported audio format: MPEG audio layer 2"),
        ("masters/cover.mp3", media.cover(300, 300), "the file is not audio"),
    ],
    ids=["mp2", "image"],
)
def test_audio_megaphone_does_not_take_fails_the_ingest(client, media_host, megaphone, virtual_clock, path, data, reason):
    episode = ingest(client, virtual_clock, media_host.put(path, data))
    assert episode.ingest_failed and not episode.ingested
    assert (episode.audio_file_status, episode.audio_file_processing, episode.duration) == ("failed", False, None)
    assert megaphone.ingest_failure(episode.id) == reason


@pytest.mark.parametrize("failure", ["404", "403", "timeout", "reset"])
def test_a_url_that_gives_no_file_fails_the_ingest(client, media_host, megaphone, virtual_clock, failure):
    url = media_host.fail("masters/dead.mp3", failure, always=True)
    episode = ingest(client, virtual_clock, url)
    assert episode.ingest_failed and episode.audio_file_status == "failed"
    assert megaphone.ingest_failure(episode.id) == f"could not download {url}"


def test_replacing_a_failed_audio_url_ingests_again(client, media_host, megaphone, virtual_clock):
    dead = media_host.fail("masters/first.mp3", "404", always=True)
    episode = ingest(client, virtual_clock, dead)
    assert megaphone.ingest_failure(episode.id) is not None
    fixed = media_host.put("masters/second.mp3", media.mp3(10))
    client.update_episode(PODCAST, episode.id, EpisodeFields(title="Part 1", externalId="1", backgroundAudioFileUrl=fixed))
    virtual_clock.advance(INGEST_SECONDS)
    again = client.get_episode(PODCAST, episode.id)
    assert again.ingested and megaphone.ingest_failure(episode.id) is None


def test_the_failed_status_value_is_configurable(virtual_clock, media_host):
    simulator = MegaphoneSimulator(
        virtual_clock, network_id=NETWORK, podcasts={PODCAST: "Ingest"}, tokens=[TOKEN], audio_fetch=media_host.fetch, failed_audio_status="error"
    )
    route_host("cms.megaphone.fm", simulator)
    http = HttpService("megaphone", BASE_URL, lambda: {"Authorization": f"Token token={TOKEN}"})
    episode = ingest(MegaphoneClient(http, NETWORK), virtual_clock, media_host.fail("masters/x.mp3", "404", always=True))
    assert episode.audio_file_status == "error" and episode.ingest_failed
