"""The Megaphone simulator on its own, spoken to in plain HTTP: what it promises the connector tests."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from functions.connectors.link_header import parse_link_header
from sandbox.clock import VirtualClock
from sandbox.simulators.base import FaultPlan
from sandbox.simulators.megaphone import MegaphoneSimulator, ScriptedFaults

NETWORK = "net-penguin"
PODCAST = "pod-long-chapter"
OTHER_PODCAST = "pod-author-talks"
TOKEN = "mp-token-5f1e9a"
SECOND_TOKEN = "mp-token-other-user"
API = f"https://cms.megaphone.fm/api/networks/{NETWORK}"
EPISODES = f"{API}/podcasts/{PODCAST}/episodes"
START = datetime(2031, 3, 1, 12, 0, tzinfo=timezone.utc)
AUDIO = "https://audio.example/ch1.mp3"


@pytest.fixture
def clock_start() -> datetime:
    return START


def simulator(clock: VirtualClock, **options: Any) -> MegaphoneSimulator:
    return MegaphoneSimulator(
        clock,
        network_id=NETWORK,
        podcasts={PODCAST: "The Long Chapter", OTHER_PODCAST: "Author Talks"},
        tokens=[TOKEN, SECOND_TOKEN],
        **options,
    )


def http(sim: MegaphoneSimulator, token: str | None = TOKEN) -> httpx.Client:
    headers = {"Authorization": f"Token token={token}"} if token else {}
    return httpx.Client(transport=sim, headers=headers)


def create(client: httpx.Client, number: int, podcast: str = PODCAST, **changes: Any) -> dict[str, Any]:
    body = {"title": f"Chapter {number}", "externalId": f"product-{number}", **changes}
    response = client.post(f"{API}/podcasts/{podcast}/episodes", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def links(response: httpx.Response) -> dict[str, str]:
    return {params["rel"]: url for url, params in parse_link_header(response.headers.get("Link", ""))}


# ------------------------------------------------------------------------------ auth
def test_missing_or_wrong_tokens_get_401_with_the_token_challenge(clock):
    sim = simulator(clock)
    for client in (http(sim, token=None), http(sim, token="guess"), httpx.Client(transport=sim, headers={"Authorization": f"Bearer {TOKEN}"})):
        response = client.get(f"{API}/podcasts")
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Token realm="Application"'
        assert TOKEN not in response.text
    quoted = httpx.Client(transport=sim, headers={"Authorization": f'Token token="{TOKEN}"'})
    assert quoted.get(f"{API}/podcasts").status_code == 200


# ------------------------------------------------------------------------------ routes
def test_unknown_network_podcast_and_episode_are_404_with_an_errors_body(clock):
    sim = simulator(clock)
    client = http(sim)
    episode = create(client, 1)
    for url in (
        "https://cms.megaphone.fm/api/networks/other/podcasts",
        f"{API}/podcasts/nope/episodes",
        f"{EPISODES}/00000000-0000-4000-8000-000000000000",
        f"{API}/podcasts/{OTHER_PODCAST}/episodes/{episode['id']}",
    ):
        response = client.get(url)
        assert response.status_code == 404 and response.json() == {"errors": ["Not found"]}


def test_paging_headers_and_absolute_links(clock):
    sim = simulator(clock)
    client = http(sim)
    for number in range(1, 6):
        create(client, number)

    first = client.get(EPISODES, params={"per_page": 2})
    assert [e["title"] for e in first.json()] == ["Chapter 1", "Chapter 2"]
    assert (first.headers["X-Page"], first.headers["X-Per-Page"], first.headers["X-Total"]) == ("1", "2", "5")
    assert set(links(first)) == {"next", "last"}
    assert links(first)["next"] == f"{EPISODES}?per_page=2&page=2"

    middle = client.get(links(first)["next"])
    assert [e["title"] for e in middle.json()] == ["Chapter 3", "Chapter 4"]
    assert set(links(middle)) == {"first", "prev", "next", "last"}

    last = client.get(links(first)["last"])
    assert [e["title"] for e in last.json()] == ["Chapter 5"] and last.headers["X-Page"] == "3"
    assert set(links(last)) == {"first", "prev"}
    assert all(url.startswith("https://cms.megaphone.fm/api/") for url in links(middle).values())


def test_paging_defaults_caps_and_keeps_the_filter(clock):
    sim = simulator(clock, default_per_page=2, max_per_page=3)
    client = http(sim)
    for number in range(1, 6):
        create(client, number)
    assert client.get(EPISODES).headers["X-Per-Page"] == "2"
    capped = client.get(EPISODES, params={"per_page": 50})
    assert capped.headers["X-Per-Page"] == "3" and len(capped.json()) == 3
    assert "per_page=3" in links(capped)["next"]

    filtered = client.get(EPISODES, params={"externalId": "product-4", "per_page": 1})
    assert [e["externalId"] for e in filtered.json()] == ["product-4"] and filtered.headers["X-Total"] == "1"
    assert "Link" not in filtered.headers
    empty = client.get(EPISODES, params={"externalId": "product-404"})
    assert empty.json() == [] and empty.headers["X-Total"] == "0"


def test_podcasts_of_the_network_are_listed(clock):
    response = http(simulator(clock)).get(f"{API}/podcasts")
    assert [(p["id"], p["title"]) for p in response.json()] == [(PODCAST, "The Long Chapter"), (OTHER_PODCAST, "Author Talks")]


# ------------------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"externalId": "p-1"}, "Title can't be blank"),
        ({"title": "T"}, "External id can't be blank"),
        ({"title": "T", "externalId": "p-1", "episodeType": "special"}, "Episode type must be one of full, trailer, bonus"),
        ({"title": "T", "externalId": "p-1", "explicit": "maybe"}, "Explicit must be one of clean, explicit, no"),
        ({"title": "T", "externalId": "p-1", "pubdate": "next tuesday"}, "Pubdate is not a valid ISO 8601 date-time"),
        ({"title": "T", "externalId": "p-1", "draft": "no"}, "Draft must be true or false"),
        ({"title": "T", "externalId": "p-1", "episodeNumber": "3"}, "Episode number must be an integer"),
        ({"title": "T", "externalId": 42}, "External id must be a string"),
    ],
)
def test_invalid_creates_are_422_with_errors(clock, body, error):
    sim = simulator(clock)
    response = http(sim).post(EPISODES, json=body)
    assert response.status_code == 422
    assert error in response.json()["errors"]
    assert sim.state()["episodes"] == []


def test_malformed_bodies_and_unknown_fields(clock):
    sim = simulator(clock)
    client = http(sim)
    assert client.post(EPISODES, content=b"{not json", headers={"Content-Type": "application/json"}).status_code == 400
    assert client.post(EPISODES, json=["a list"]).status_code == 422
    episode = create(client, 1, id="chosen-by-client", status="published", shoeSize=11)
    assert episode["id"] != "chosen-by-client" and episode["status"] == "draft" and "shoeSize" not in episode


def test_external_ids_are_unique_per_podcast_unless_configured_otherwise(clock):
    strict = http(simulator(clock))
    create(strict, 1)
    duplicate = strict.post(EPISODES, json={"title": "Again", "externalId": "product-1"})
    assert duplicate.status_code == 422 and duplicate.json() == {"errors": ["External id has already been taken"]}
    create(strict, 1, podcast=OTHER_PODCAST)  # another podcast may reuse it
    second = create(strict, 2)
    taken = strict.put(f"{EPISODES}/{second['id']}", json={"externalId": "product-1"})
    assert taken.status_code == 422

    lenient = http(simulator(clock, unique_external_ids=False))
    create(lenient, 1)
    create(lenient, 1)


def test_put_is_a_partial_update_and_validates_what_it_sends(clock):
    sim = simulator(clock)
    client = http(sim)
    episode = create(client, 1, summary="Once upon a time")
    clock.advance(30)
    updated = client.put(f"{EPISODES}/{episode['id']}", json={"title": "Chapter One"}).json()
    assert updated["title"] == "Chapter One" and updated["summary"] == "Once upon a time"
    assert updated["createdAt"] == "2031-03-01T12:00:00.000Z" and updated["updatedAt"] == "2031-03-01T12:00:30.000Z"
    assert client.put(f"{EPISODES}/{episode['id']}", json={"title": ""}).status_code == 422


# ------------------------------------------------------------------------------ server-assigned fields
def test_status_follows_draft_and_pubdate_against_the_clock(clock):
    sim = simulator(clock)
    client = http(sim)
    assert create(client, 1)["status"] == "draft"

    tomorrow = (START + timedelta(days=1)).isoformat()
    scheduled = create(client, 2, draft=False, pubdate=tomorrow)
    assert scheduled["status"] == "scheduled" and scheduled["pubdate"] == "2031-03-02T12:00:00.000Z"
    clock.advance(timedelta(days=1).total_seconds())
    assert client.get(f"{EPISODES}/{scheduled['id']}").json()["status"] == "published"

    immediate = create(client, 3, draft=False)
    assert immediate["status"] == "published" and immediate["pubdate"] == "2031-03-02T12:00:00.000Z"

    sim.set_episode_fields(immediate["id"], draft=True)
    assert sim.episode(immediate["id"])["status"] == "draft"
    sim.set_episode_fields(immediate["id"], draft=False, status="removed")
    assert sim.episode(immediate["id"])["status"] == "removed"
    sim.set_episode_fields(immediate["id"], status=None)
    assert sim.episode(immediate["id"])["status"] == "published"


def test_ingest_takes_the_configured_virtual_delay(clock):
    sim = simulator(clock, ingest_delay_seconds=45)
    client = http(sim)
    episode = create(client, 1, backgroundAudioFileUrl=AUDIO)
    assert (episode["audioFileProcessing"], episode["audioFileStatus"], episode["duration"]) == (True, "processing", None)

    clock.advance(44.9)
    assert sim.episode(episode["id"])["audioFileProcessing"] is True
    clock.advance(0.1)
    done = sim.episode(episode["id"])
    assert (done["audioFileProcessing"], done["audioFileStatus"]) == (False, "success")
    assert done["audioFileUpdatedAt"] == "2031-03-01T12:00:45.000Z"
    assert done["duration"] > 0 and done["size"] > 0 and done["downloadUrl"].endswith(f"{done['uid']}.mp3")

    same = client.put(f"{EPISODES}/{episode['id']}", json={"backgroundAudioFileUrl": AUDIO}).json()
    assert same["audioFileProcessing"] is False
    changed = client.put(f"{EPISODES}/{episode['id']}", json={"backgroundAudioFileUrl": AUDIO + "?v=2"}).json()
    assert changed["audioFileProcessing"] is True and changed["audioFileStatus"] == "processing"

    without_audio = create(client, 2)
    assert (without_audio["audioFileProcessing"], without_audio["audioFileStatus"]) == (False, None)


def test_ingest_failures_follow_the_predicate(clock):
    sim = simulator(clock, audio_fails=lambda url: url.endswith(".wav"))
    client = http(sim)
    failing = create(client, 1, backgroundAudioFileUrl="https://audio.example/ch1.wav")
    corrupt_but_allowed = create(client, 2, backgroundAudioFileUrl="https://audio.example/corrupt.mp3")
    clock.advance(120)
    assert sim.episode(failing["id"])["audioFileStatus"] == "failed"
    assert sim.episode(failing["id"])["downloadUrl"] is None
    assert sim.episode(corrupt_but_allowed["id"])["audioFileStatus"] == "success"


def test_spotify_identifier_appears_once_published_with_audio_and_stays(clock):
    sim = simulator(clock)
    client = http(sim)
    draft = create(client, 1, backgroundAudioFileUrl=AUDIO)
    scheduled = create(client, 2, backgroundAudioFileUrl=AUDIO, draft=False, pubdate=(START + timedelta(hours=1)).isoformat())
    live = create(client, 3, backgroundAudioFileUrl=AUDIO, draft=False)
    assert live["spotifyIdentifier"] is None  # audio still processing

    clock.advance(120)
    assert sim.episode(draft["id"])["spotifyIdentifier"] is None
    assert sim.episode(scheduled["id"])["spotifyIdentifier"] is None
    spotify_id = sim.episode(live["id"])["spotifyIdentifier"]
    assert re.fullmatch(r"[0-9A-Za-z]{22}", spotify_id)

    clock.advance(3600)
    assert sim.episode(scheduled["id"])["spotifyIdentifier"] not in (None, spotify_id)
    sim.set_episode_fields(live["id"], draft=True)  # a takedown keeps the Spotify id
    assert sim.episode(live["id"])["spotifyIdentifier"] == spotify_id


def test_the_same_seed_gives_the_same_ids(clock):
    def run(seed: int) -> list[tuple[str, str, str]]:
        sim = simulator(clock, seed=seed, ingest_delay_seconds=0)
        client = http(sim)
        episodes = [create(client, n, draft=False, backgroundAudioFileUrl=AUDIO) for n in range(3)]
        return [(e["id"], e["uid"], sim.episode(e["id"])["spotifyIdentifier"]) for e in episodes]

    first, again, other = run(7), run(7), run(8)
    assert first == again
    assert not {row[0] for row in first} & {row[0] for row in other}
    assert all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", row[0]) for row in first)
    assert len({row[0] for row in first}) == 3


# ------------------------------------------------------------------------------ limits and faults
def test_rate_limit_is_per_token_over_a_rolling_window(clock):
    sim = simulator(clock)
    client, other = http(sim), http(sim, SECOND_TOKEN)
    for _ in range(60):
        assert client.get(f"{API}/podcasts").status_code == 200
        clock.advance(0.5)
    clock.advance(0.6)
    limited = client.get(f"{API}/podcasts")
    assert limited.status_code == 429 and limited.json() == {"errors": ["Rate limit exceeded"]}
    assert limited.headers["Retry-After"] == "30"  # the first call leaves the window in 29.4 s: rounded up
    assert other.get(f"{API}/podcasts").status_code == 200
    clock.advance(30)
    assert client.get(f"{API}/podcasts").status_code == 200
    assert sim.rate_limit is not None and sim.rate_limit.rejected == 1


def test_faults_from_the_plan_and_from_a_script(clock):
    sim = simulator(clock, faults=FaultPlan(rate=1.0, kinds=("503",)))
    assert http(sim).get(f"{API}/podcasts").status_code == 503

    scripted = simulator(clock, faults=ScriptedFaults("500", "timeout-after-write", "timeout"))
    client = http(scripted)
    assert client.get(f"{API}/podcasts").status_code == 500
    with pytest.raises(httpx.ReadTimeout):
        client.post(EPISODES, json={"title": "Applied", "externalId": "product-1"})
    with pytest.raises(httpx.ReadTimeout):
        client.post(EPISODES, json={"title": "Lost", "externalId": "product-2"})
    assert [e["title"] for e in scripted.state()["episodes"]] == ["Applied"]
    assert client.get(f"{API}/podcasts").status_code == 200  # the script is spent
    assert len(scripted.requests_received("POST")) == 2


# ------------------------------------------------------------------------------ the sandbox's view
def test_state_is_sorted_and_carries_scripted_changes_but_no_tokens(clock):
    sim = simulator(clock)
    client = http(sim)
    b = create(client, 2)
    a = create(client, 1)
    other = create(client, 3, podcast=OTHER_PODCAST)
    sim.set_episode_fields(a["id"], title="Chapter 1 (edited in Megaphone)")
    sim.remove_episode(b["id"])

    state = sim.state()
    assert [p["id"] for p in state["podcasts"]] == sorted([PODCAST, OTHER_PODCAST])
    assert [(e["podcastId"], e["externalId"]) for e in state["episodes"]] == [(OTHER_PODCAST, "product-3"), (PODCAST, "product-1")]
    assert sim.episode_by_external_id("product-1")["title"] == "Chapter 1 (edited in Megaphone)"
    assert sim.episode_by_external_id("product-3", PODCAST) is None
    assert sim.episode_by_external_id("product-3")["id"] == other["id"]
    assert client.get(f"{EPISODES}/{b['id']}").status_code == 404
    text = json.dumps(state)
    assert TOKEN not in text and SECOND_TOKEN not in text
    with pytest.raises(KeyError):
        sim.set_episode_fields("missing", title="x")
