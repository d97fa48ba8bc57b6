"""The Megaphone connector against the Megaphone simulator, on a virtual clock."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import httpx
import pytest

from functions.connectors.errors import AmbiguousWrite, AuthenticationFailed, NotFound, RequestRejected
from functions.connectors.http import HttpService, RetryPolicy, route_host
from functions.connectors.api_client import next_link as next_page_url
from functions.connectors.errors import UnexpectedResponse
from functions.connectors.link_header import parse_link_header
from functions.connectors.megaphone import (
    DuplicateExternalId,
    EpisodeFields,
    MegaphoneClient,
    MegaphoneEpisode,
)
from functions.domain.errors import PermanentError
from sandbox.clock import VirtualClock
from sandbox.simulators.megaphone import BASE_URL, MegaphoneSimulator, ScriptedFaults

pytestmark = pytest.mark.usefixtures("cleared_routes")

HOST = "cms.megaphone.fm"
NETWORK = "net-penguin"
PODCAST = "pod-long-chapter"
OTHER_PODCAST = "pod-author-talks"
TOKEN = "mp-token-5f1e9a"
START = datetime(2031, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock_start() -> datetime:
    return START


def simulator(clock: VirtualClock, **options) -> MegaphoneSimulator:
    options.setdefault("podcasts", {PODCAST: "The Long Chapter", OTHER_PODCAST: "Author Talks"})
    return MegaphoneSimulator(clock, network_id=NETWORK, tokens=[TOKEN], **options)


def connect(sim: MegaphoneSimulator, *, token: str = TOKEN, per_page: int = 100) -> MegaphoneClient:
    route_host(HOST, sim)
    http = HttpService(
        service="megaphone",
        base_url=BASE_URL,
        auth_headers=lambda: {"Authorization": f"Token token={token}"},
        retry=RetryPolicy(max_attempts=4, backoff_initial_seconds=0.5, backoff_cap_seconds=20.0),
    )
    return MegaphoneClient(http, NETWORK, per_page=per_page)


def fields(number: int, **changes) -> EpisodeFields:
    values = {"title": f"Chapter {number}", "externalId": f"product-{number}", "summary": f"Part {number} of the serial"}
    return EpisodeFields(**{**values, **changes})


def received(sim: MegaphoneSimulator, method: str, path_end: str = "") -> int:
    return len([r for r in sim.requests_received(method) if r.path.endswith(path_end)])


# ------------------------------------------------------------------------------ happy path
def test_create_then_find_by_external_id_then_update(clock):
    sim = simulator(clock)
    client = connect(sim)

    created = client.create_episode(PODCAST, fields(1, backgroundAudioFileUrl="https://audio.example/ch1.mp3"))
    assert created.podcast_id == PODCAST and created.external_id == "product-1" and created.draft is True
    assert created.status == "draft" and created.audio_file_processing is True

    found = client.find_by_external_id(PODCAST, "product-1")
    assert found is not None and found.id == created.id
    assert client.find_by_external_id(PODCAST, "product-2") is None
    assert client.find_by_external_id(OTHER_PODCAST, "product-1") is None

    updated = client.update_episode(PODCAST, created.id, fields(1, title="Chapter 1: The Crossing"))
    assert updated.title == "Chapter 1: The Crossing"
    assert client.get_episode(PODCAST, created.id).title == "Chapter 1: The Crossing"
    assert sim.episode_by_external_id("product-1", PODCAST)["title"] == "Chapter 1: The Crossing"
    assert received(sim, "POST") == 1


def test_find_sends_the_external_id_filter(clock, exchanges):
    client = connect(simulator(clock))
    client.find_by_external_id(PODCAST, "product 7&x")
    [lookup] = exchanges
    url = httpx.URL(lookup.url)
    assert lookup.method == "GET" and url.path.endswith(f"/podcasts/{PODCAST}/episodes")
    assert url.params["externalId"] == "product 7&x" and url.params["per_page"] == "100"


def test_list_episodes_follows_link_pages(clock):
    sim = simulator(clock)
    client = connect(sim, per_page=3)
    ids = [client.create_episode(PODCAST, fields(n)).id for n in range(1, 8)]
    client.create_episode(OTHER_PODCAST, fields(99))

    listed = list(client.list_episodes(PODCAST))

    assert [episode.id for episode in listed] == ids
    pages = [r.query for r in sim.requests_received("GET")]
    assert len(pages) == 3
    assert "page=2" in pages[1] and "page=3" in pages[2] and all("per_page=3" in q for q in pages)


def test_list_podcasts_follows_link_pages(clock):
    podcasts = {f"pod-{n}": f"Show {n}" for n in range(5)}
    sim = simulator(clock, podcasts=podcasts)
    client = connect(sim, per_page=2)
    assert {p.id: p.title for p in client.list_podcasts()} == podcasts
    assert received(sim, "GET") == 3


def test_an_empty_podcast_lists_nothing(clock):
    assert list(connect(simulator(clock)).list_episodes(PODCAST)) == []


def test_duplicate_external_ids_are_a_permanent_data_problem(clock):
    sim = simulator(clock, unique_external_ids=False)
    client = connect(sim)
    first = client.create_episode(PODCAST, fields(1))
    second = client.create_episode(PODCAST, fields(1, title="Chapter 1 (again)"))

    with pytest.raises(DuplicateExternalId) as caught:
        client.find_by_external_id(PODCAST, "product-1")
    assert isinstance(caught.value, PermanentError)
    assert caught.value.episode_ids == [first.id, second.id]
    assert "product-1" in str(caught.value) and first.id in str(caught.value)


def test_episodes_made_in_megaphones_ui_without_external_id_still_parse(clock):
    sim = simulator(clock)
    client = connect(sim)
    episode = client.create_episode(PODCAST, fields(1))
    sim.set_episode_fields(episode.id, externalId=None)
    [listed] = client.list_episodes(PODCAST)
    assert listed.external_id is None
    assert client.find_by_external_id(PODCAST, "product-1") is None


def test_an_episode_read_back_sends_only_writable_fields(clock):
    sim = simulator(clock)
    client = connect(sim)
    episode = client.create_episode(PODCAST, fields(1))
    wire = episode.model_copy(update={"title": "Retitled"}).wire()
    assert wire["title"] == "Retitled" and wire["externalId"] == "product-1"
    assert not {"id", "status", "podcastId", "createdAt", "audioFileProcessing"} & wire.keys()
    assert client.update_episode(PODCAST, episode.id, episode.model_copy(update={"title": "Retitled"})).title == "Retitled"


# ------------------------------------------------------------------------------ errors
def test_a_bad_token_is_authentication_failed_and_not_retried(clock):
    sim = simulator(clock)
    client = connect(sim, token="not-a-valid-token")
    with pytest.raises(AuthenticationFailed) as caught:
        list(client.list_podcasts())
    assert caught.value.status == 401 and "Access denied" in (caught.value.body or "")
    assert received(sim, "GET") == 1


def test_unknown_episode_and_podcast_are_not_found(clock):
    client = connect(simulator(clock))
    with pytest.raises(NotFound):
        client.get_episode(PODCAST, "00000000-0000-4000-8000-000000000000")
    with pytest.raises(NotFound):
        client.create_episode("no-such-podcast", fields(1))


def test_a_rejected_create_carries_the_error_body(clock):
    sim = simulator(clock)
    client = connect(sim)
    with pytest.raises(RequestRejected) as caught:
        client.create_episode(PODCAST, fields(1, title="  "))
    assert caught.value.status == 422
    assert json.loads(caught.value.body or "") == {"errors": ["Title can't be blank"]}
    assert sim.state()["episodes"] == []


def test_a_second_create_with_the_same_external_id_is_rejected_not_doubled(clock):
    sim = simulator(clock)
    client = connect(sim)
    client.create_episode(PODCAST, fields(1))
    with pytest.raises(RequestRejected) as caught:
        client.create_episode(PODCAST, fields(1))
    assert "External id has already been taken" in (caught.value.body or "")
    assert len(sim.state()["episodes"]) == 1


def test_rate_limit_waits_for_retry_after_in_virtual_time(clock, exchanges):
    sim = simulator(clock, rate_limit_per_window=3)
    client = connect(sim)
    for _ in range(3):
        list(client.list_podcasts())
    before = clock.now()

    list(client.list_podcasts())

    assert [e.status for e in exchanges] == [200, 200, 200, 429, 200]
    assert (clock.now() - before).total_seconds() == 60.0  # Retry-After: 60 (the whole rolling window)


def test_an_injected_429_is_retried_after_its_retry_after_even_for_a_create(clock):
    sim = simulator(clock, faults=ScriptedFaults("429", retry_after_seconds=7))
    client = connect(sim)
    before = clock.now()
    client.create_episode(PODCAST, fields(1))
    assert (clock.now() - before).total_seconds() == 7.0
    assert received(sim, "POST") == 2 and len(sim.state()["episodes"]) == 1


def test_server_errors_on_a_read_are_retried_until_it_succeeds(clock):
    sim = simulator(clock)
    client = connect(sim)
    episode = client.create_episode(PODCAST, fields(1))
    sim.faults = ScriptedFaults("503", "500")
    assert client.get_episode(PODCAST, episode.id).id == episode.id
    assert received(sim, "GET", episode.id) == 3
    assert 0 < clock.slept_seconds <= 0.5 + 1.0


def test_an_update_is_retried_after_a_timeout(clock):
    sim = simulator(clock)
    client = connect(sim)
    episode = client.create_episode(PODCAST, fields(1))
    sim.faults = ScriptedFaults("timeout")
    assert client.update_episode(PODCAST, episode.id, fields(1, title="New")).title == "New"
    assert received(sim, "PUT") == 2


@pytest.mark.parametrize(
    ("fault", "applied"),
    [("500", False), ("503", False), ("timeout", False), ("timeout-after-write", True)],
)
def test_a_failed_create_is_ambiguous_and_never_retried(clock, fault, applied):
    sim = simulator(clock, faults=ScriptedFaults(fault))
    client = connect(sim)

    with pytest.raises(AmbiguousWrite):
        client.create_episode(PODCAST, fields(1))

    assert received(sim, "POST") == 1
    # The caller's recovery: look the episode up by its externalId before creating again.
    found = client.find_by_external_id(PODCAST, "product-1")
    assert (found is not None) is applied
    if not applied:
        client.create_episode(PODCAST, fields(1))
    assert len(sim.state()["episodes"]) == 1


# ------------------------------------------------------------------------------ audio ingest
def test_audio_ingest_runs_from_processing_to_success_after_the_delay(clock):
    sim = simulator(clock, ingest_delay_seconds=120)
    client = connect(sim)
    episode = client.create_episode(PODCAST, fields(1, backgroundAudioFileUrl="https://audio.example/ch1.mp3"))
    assert episode.audio_file_processing and episode.audio_file_status == "processing" and not episode.ingested

    clock.advance(119)
    assert not client.get_episode(PODCAST, episode.id).ingested

    clock.advance(1)
    done = client.get_episode(PODCAST, episode.id)
    assert done.ingested and not done.ingest_failed
    assert done.duration and done.size and done.download_url


def test_corrupt_audio_ends_in_a_failed_ingest(clock):
    sim = simulator(clock)
    client = connect(sim)
    episode = client.create_episode(PODCAST, fields(1, backgroundAudioFileUrl="https://audio.example/corrupt.mp3"))
    clock.advance(120)
    failed = client.get_episode(PODCAST, episode.id)
    assert failed.audio_file_status == "failed" and failed.ingest_failed and not failed.ingested


# ------------------------------------------------------------------------------ answers it cannot read
def test_unreadable_answers_raise_unexpected_response_with_the_raw_body(clock):
    answers = {
        "/api/networks/net-penguin/podcasts": httpx.Response(200, text="<html>maintenance</html>"),
        "/api/networks/net-penguin/podcasts/p/episodes": httpx.Response(200, json={"episodes": []}),
        "/api/networks/net-penguin/podcasts/p/episodes/e": httpx.Response(200, json={"title": "no id"}),
    }
    route_host(HOST, httpx.MockTransport(lambda request: answers[request.url.path]))
    client = MegaphoneClient(HttpService("megaphone", BASE_URL, lambda: {}), NETWORK)

    with pytest.raises(UnexpectedResponse) as not_json:
        list(client.list_podcasts())
    assert not_json.value.body == "<html>maintenance</html>"
    with pytest.raises(UnexpectedResponse, match="JSON array"):
        list(client.list_episodes("p"))
    with pytest.raises(UnexpectedResponse, match="id") as no_id:
        client.get_episode("p", "e")
    assert isinstance(no_id.value, PermanentError) and '"no id"' in (no_id.value.body or "")


def test_paging_refuses_links_to_other_hosts_and_loops(clock):
    item = [{"id": "p", "title": "Show"}]

    def answer(request: httpx.Request) -> httpx.Response:
        if "/networks/leaving/" in request.url.path:
            return httpx.Response(200, json=item, headers={"Link": '<https://elsewhere.example/steal>; rel="next"'})
        if request.url.params.get("page") == "2":
            return httpx.Response(200, json=item, headers={"Link": f'<{request.url}>; rel="next"'})
        return httpx.Response(200, json=item, headers={"Link": f'<{request.url.copy_set_param("page", 2)}>; rel="next"'})

    route_host(HOST, httpx.MockTransport(answer))
    http = HttpService("megaphone", BASE_URL, lambda: {})
    with pytest.raises(UnexpectedResponse, match="repeats"):
        list(MegaphoneClient(http, "looping").list_podcasts())
    with pytest.raises(UnexpectedResponse, match="elsewhere.example"):
        list(MegaphoneClient(http, "leaving").list_podcasts())


def test_link_header_parsing_is_lenient_about_case_quotes_and_several_rels():
    header = (
        '<https://cms.megaphone.fm/api/x?page=1>; rel=first, '
        '<https://cms.megaphone.fm/api/x?page=3&per_page=2>; title="a, b; c"; REL="next last", '
        "<https://cms.megaphone.fm/api/x?page=2>;rel=prev"
    )
    assert parse_link_header(header) == [
        ("https://cms.megaphone.fm/api/x?page=1", {"rel": "first"}),
        ("https://cms.megaphone.fm/api/x?page=3&per_page=2", {"title": "a, b; c", "rel": "next last"}),
        ("https://cms.megaphone.fm/api/x?page=2", {"rel": "prev"}),
    ]
    request = httpx.Request("GET", "https://cms.megaphone.fm/api/networks/n/podcasts?page=1")
    relative = httpx.Response(200, headers={"Link": '</api/networks/n/podcasts?page=2>; rel="next"'}, request=request)
    assert next_page_url(relative) == "https://cms.megaphone.fm/api/networks/n/podcasts?page=2"
    last = httpx.Response(200, headers={"Link": '<https://cms.megaphone.fm/api/x?page=1>; rel="first"'}, request=request)
    assert next_page_url(last) is None
    assert MegaphoneEpisode.model_validate({"id": "e", "title": "t"}).external_id is None
