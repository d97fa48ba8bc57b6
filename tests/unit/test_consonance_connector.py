"""The Consonance connector against the Consonance simulator, over real HTTP requests (httpx transport)."""

from __future__ import annotations

import secrets

import itertools
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from functions.connectors.consonance import ConsonanceClient, SpotifyLinkWrite, typed_graphql_error
from functions.connectors.consonance.records import GraphQLErrorEntry
from functions.connectors.errors import AmbiguousWrite, AuthenticationFailed, RateLimited, RequestRejected
from functions.connectors.http import HttpExchange, HttpService, RetryPolicy, route_host
from functions.connectors.consonance.mapping import map_product
from functions.mapping_config import MappingConfig
from sandbox.catalogue import SAMPLE_CATALOGUE_PATH, ApiKey, Catalogue
from sandbox.clock import VirtualClock
from sandbox.simulators.base import FaultPlan
from sandbox.simulators.consonance import PROJECT_SDL_PATH, ConsonanceSimulator

KEY = secrets.token_urlsafe(16)  # generated: no credential lives in a fixture
READ_ONLY_KEY = secrets.token_urlsafe(16)
AUDIO_IDS_IN_SAMPLE = 43  # 42 episodes and one stand-alone audiobook (sample.json alone: see `catalogue`)
_hosts = itertools.count()


@pytest.fixture
def catalogue() -> Catalogue:
    """The main sample file alone: the parts in sample.d/ (other capabilities' records and timeline
    edits) would change the counts and the timeline these tests walk."""
    return Catalogue.model_validate_json(SAMPLE_CATALOGUE_PATH.read_text(encoding="utf-8"))


@pytest.fixture
def clock_start(catalogue: Catalogue) -> datetime:
    return catalogue.start_moment() + timedelta(hours=8)


def make_client(
    simulator: ConsonanceSimulator, key: str | None = KEY, product_types: tuple[str, ...] = ("ElectronicAudioProduct",)
) -> ConsonanceClient:
    host = f"consonance-{next(_hosts)}.test"
    route_host(host, simulator)
    http = HttpService(
        service="consonance",
        base_url=f"https://{host}/graphql",
        auth_headers=lambda: {"Authorization": f"Bearer {key}"} if key is not None else {},
        retry=RetryPolicy(max_attempts=4, backoff_initial_seconds=0.5, backoff_cap_seconds=20.0),
    )
    return ConsonanceClient(http, product_types=product_types)


def make_simulator(clock: VirtualClock, catalogue: Catalogue, **options: object) -> ConsonanceSimulator:
    options.setdefault("api_keys", [ApiKey(key=KEY), ApiKey(key=READ_ONLY_KEY, access="read")])
    return ConsonanceSimulator(clock, catalogue, **options)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------- paging
def test_paging_follows_after_ids_and_stops_on_an_empty_page(
    virtual_clock: VirtualClock, catalogue: Catalogue, exchanges: list[HttpExchange]
) -> None:
    simulator = make_simulator(virtual_clock, catalogue, page_size=10)
    client = make_client(simulator)

    ids = [record.id for record in client.iter_changed_products(date(2026, 1, 1))]

    assert len(ids) == AUDIO_IDS_IN_SAMPLE
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    afters = [exchange.request_body["variables"]["after"] for exchange in exchanges]
    assert len(exchanges) == 6  # five pages of at most 10, then the empty page that ends the walk
    assert afters[0] is None
    assert afters[1:] == [ids[9], ids[19], ids[29], ids[39], ids[-1]]


def test_one_page_is_returned_by_changed_products(virtual_clock: VirtualClock, catalogue: Catalogue) -> None:
    client = make_client(make_simulator(virtual_clock, catalogue, page_size=7))

    page = client.changed_products(date(2026, 1, 1), after=41015)

    assert [record.id for record in page] == [41016, 41017, 41018, 41019, 41020, 41101, 41102]


def test_a_short_page_does_not_end_the_walk(virtual_clock: VirtualClock, catalogue: Catalogue, exchanges: list[HttpExchange]) -> None:
    """The server's page size is unknown to the client: only an empty page ends it."""
    client = make_client(make_simulator(virtual_clock, catalogue, page_size=25))

    ids = [record.id for record in client.iter_changed_products(date(2026, 1, 1))]

    assert len(ids) == AUDIO_IDS_IN_SAMPLE
    assert len(exchanges) == 3


def test_records_are_typed_models(virtual_clock: VirtualClock, catalogue: Catalogue) -> None:
    client = make_client(make_simulator(virtual_clock, catalogue))

    record = client.product(41001)

    assert record is not None
    assert record.typename == "ElectronicAudioProduct"
    assert record.publication_date == date(2026, 10, 6)
    assert record.contributions[1].role_code == "E07" and record.contributions[1].contributor.name == "Tobias Wren"
    assert record.production_files[0].file_variant == "master_audio"
    assert record.work is not None and record.work.series_memberships[0].series is not None
    assert record.work.series_memberships[0].series.name == "The Salt Road"
    assert {c.id for c in record.work.contracts} == {7001, 7002, 7004}
    assert record.marketing_texts[0].external_text.startswith("<p>Part 1 of")
    assert record.web_links[0].role == "_02"
    assert record.spotify_link() is None  # a publisher link, not a Spotify one


def test_product_lookup_of_an_unknown_id_is_none(virtual_clock: VirtualClock, catalogue: Catalogue) -> None:
    assert make_client(make_simulator(virtual_clock, catalogue)).product(1) is None


# ------------------------------------------------------------------------------------------- changedSince
def test_changed_since_is_date_granular_and_counts_sibling_changes(virtual_clock: VirtualClock, catalogue: Catalogue) -> None:
    client = make_client(make_simulator(virtual_clock, catalogue))

    since_28th = {record.id for record in client.iter_changed_products(date(2026, 11, 28))}
    since_30th = {record.id for record in client.iter_changed_products(date(2026, 11, 30))}
    since_start = list(client.iter_changed_products(catalogue.start_date))

    # contract 7003 (narration, parts 7-8 and 13-20) changed on the 28th; the interview host on the 30th
    assert since_28th == {41007, 41008} | set(range(41013, 41021)) | set(range(41201, 41211))
    assert since_30th == set(range(41201, 41211))  # inclusive: changed ON the date counts
    assert since_start == []


def test_product_types_filter_selects_by_graphql_type(virtual_clock: VirtualClock, catalogue: Catalogue) -> None:
    simulator = make_simulator(virtual_clock, catalogue)
    books = make_client(simulator, product_types=("ElectronicBookProduct",))

    ids = [record.id for record in books.iter_changed_products(date(2026, 1, 1))]

    # the catalogue's parts (sample.d/) add books of their own: every ebook, and only the ebooks
    assert ids == sorted(p.id for p in catalogue.products if p.type == "ElectronicBookProduct")
    assert {42001, 42003} <= set(ids) and 42002 not in ids


def test_a_write_back_is_a_change_whose_content_is_unchanged(virtual_clock: VirtualClock, catalogue: Catalogue) -> None:
    client = make_client(make_simulator(virtual_clock, catalogue))
    before = client.product(41003)
    assert before is not None

    client.record_spotify_links([SpotifyLinkWrite(product_id=41003, url="https://open.spotify.com/episode/x3", status="live")])

    changed_today = [record.id for record in client.iter_changed_products(virtual_clock.now().date())]
    after = client.product(41003)
    assert changed_today == [41003]
    assert after is not None and after.spotify_link() is not None
    episode_before = map_product(before, MappingConfig()).episode
    episode_after = map_product(after, MappingConfig()).episode
    assert episode_before is not None and episode_after is not None
    assert episode_before.content_hash() == episode_after.content_hash()


# ------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("key", [None, "not-a-key"])
def test_a_missing_or_wrong_key_is_authentication_failed(virtual_clock: VirtualClock, catalogue: Catalogue, key: str | None) -> None:
    client = make_client(make_simulator(virtual_clock, catalogue), key=key)

    with pytest.raises(AuthenticationFailed) as raised:
        client.changed_products(date(2026, 1, 1), None)

    assert raised.value.status == 401
    assert raised.value.body is not None and "errors" in raised.value.body
    assert "not-a-key" not in str(raised.value)


def test_a_graphql_validation_error_is_request_rejected(virtual_clock: VirtualClock, catalogue: Catalogue, tmp_path: Path) -> None:
    """If the real API lacks an inferred field, the 200-with-errors answer becomes a typed error."""
    sdl = PROJECT_SDL_PATH.read_text(encoding="utf-8").replace("  url: String\n}", "}")
    assert sdl != PROJECT_SDL_PATH.read_text(encoding="utf-8")
    without_file_urls = tmp_path / "schema.graphql"
    without_file_urls.write_text(sdl, encoding="utf-8")
    client = make_client(make_simulator(virtual_clock, catalogue, sdl_path=without_file_urls))

    with pytest.raises(RequestRejected) as raised:
        client.product(41001)

    assert raised.value.status == 200
    assert "url" in str(raised.value) and "ProductionFile" in str(raised.value)


def test_a_graphql_authorisation_error_is_authentication_failed(virtual_clock: VirtualClock, catalogue: Catalogue) -> None:
    simulator = make_simulator(virtual_clock, catalogue)
    read_only = make_client(simulator, key=READ_ONLY_KEY)

    assert read_only.product(41001) is not None  # a read key may query
    with pytest.raises(AuthenticationFailed):
        read_only.record_spotify_links([SpotifyLinkWrite(product_id=41001, url="https://open.spotify.com/episode/a", status="live")])
    assert simulator.write_backs == []


def test_graphql_errors_are_classified_by_code_or_wording() -> None:
    by_code = typed_graphql_error("Op", [GraphQLErrorEntry(message="nope", extensions={"code": "FORBIDDEN"})])
    by_wording = typed_graphql_error("Op", [GraphQLErrorEntry(message="You are not authorized to see this")])
    other = typed_graphql_error("Op", [GraphQLErrorEntry(message="Field 'x' doesn't exist on type 'Product'")])

    assert isinstance(by_code, AuthenticationFailed)
    assert isinstance(by_wording, AuthenticationFailed)
    assert isinstance(other, RequestRejected)


# ------------------------------------------------------------------------------------------- write-back
def test_batched_write_back_creates_then_updates_links_in_one_request_each(
    virtual_clock: VirtualClock, catalogue: Catalogue, exchanges: list[HttpExchange]
) -> None:
    simulator = make_simulator(virtual_clock, catalogue)
    client = make_client(simulator)

    created = client.record_spotify_links(
        [
            SpotifyLinkWrite(product_id=41001, url="https://open.spotify.com/episode/one", status="live"),
            SpotifyLinkWrite(product_id=41002, url="https://open.spotify.com/episode/two", status="draft"),
        ]
    )
    assert len(exchanges) == 1
    assert "w0: createWebLink" in exchanges[0].request_body["query"] and "w1: createWebLink" in exchanges[0].request_body["query"]
    assert [r.product_id for r in created] == [41001, 41002]
    assert all(r.ok and r.link_id is not None for r in created)

    updated = client.record_spotify_links(
        [
            SpotifyLinkWrite(product_id=41001, url="https://open.spotify.com/episode/one", status="withdrawn", existing_link_id=created[0].link_id),
            SpotifyLinkWrite(product_id=41003, url="https://open.spotify.com/episode/three", status="live"),
        ]
    )
    assert len(exchanges) == 2
    assert "w0: updateWebLink" in exchanges[1].request_body["query"] and "w1: createWebLink" in exchanges[1].request_body["query"]
    assert updated[0].link_id == created[0].link_id and updated[0].ok
    assert updated[1].ok and updated[1].link_id not in (created[0].link_id, created[1].link_id)

    first = client.product(41001)
    assert first is not None
    link = first.spotify_link()
    assert link is not None and link.id == created[0].link_id and link.description == "Spotify: withdrawn"
    assert [w.id for w in first.web_links].count(created[0].link_id) == 1
    assert [(w.operation, w.product_id) for w in simulator.write_backs] == [
        ("createWebLink", 41001),
        ("createWebLink", 41002),
        ("updateWebLink", 41001),
        ("createWebLink", 41003),
    ]
    assert simulator.write_backs[1].description == "Spotify: draft"


def test_write_back_reports_mutation_errors_per_product(virtual_clock: VirtualClock, catalogue: Catalogue) -> None:
    client = make_client(make_simulator(virtual_clock, catalogue))

    results = client.record_spotify_links(
        [
            SpotifyLinkWrite(product_id=41001, url="https://open.spotify.com/episode/ok", status="live"),
            SpotifyLinkWrite(product_id=999, url="https://open.spotify.com/episode/none", status="live"),
            SpotifyLinkWrite(product_id=41002, url="not a url", status="live"),
            SpotifyLinkWrite(product_id=41003, url="https://open.spotify.com/episode/x", status="live", existing_link_id=123),
        ]
    )

    assert results[0].ok
    assert results[1].errors == ["productId: not found"]
    assert results[2].field_errors[0].field == "link" and results[2].link_id is None
    assert results[3].errors == ["id: web link not found"] and results[3].link_id == 123


def test_an_empty_write_back_sends_nothing(virtual_clock: VirtualClock, catalogue: Catalogue, exchanges: list[HttpExchange]) -> None:
    assert make_client(make_simulator(virtual_clock, catalogue)).record_spotify_links([]) == []
    assert exchanges == []


# ------------------------------------------------------------------------------------------- rate limits and faults
def test_429_retry_after_is_honoured_in_virtual_time(virtual_clock: VirtualClock, catalogue: Catalogue) -> None:
    simulator = make_simulator(virtual_clock, catalogue, requests_per_minute=2)
    client = make_client(simulator)
    started = virtual_clock.now()

    for _ in range(3):
        assert client.product(41001) is not None

    assert simulator.rate_limit is not None and simulator.rate_limit.rejected == 1
    waited = (virtual_clock.now() - started).total_seconds()
    assert 59 <= waited <= 61  # the Retry-After of a full 60-second rolling window, no more


def test_persistent_429_gives_up_with_rate_limited(virtual_clock: VirtualClock, catalogue: Catalogue) -> None:
    simulator = make_simulator(virtual_clock, catalogue, faults=FaultPlan(rate=1.0, kinds=("429",), retry_after_seconds=3))
    client = make_client(simulator)

    with pytest.raises(RateLimited) as raised:
        client.product(41001)

    assert raised.value.retry_after == 3
    assert simulator.faults.injected == {"429": 4}


class FailOnce(FaultPlan):
    """The first request fails with `kind`; the rest go through."""

    def __init__(self, kind: str):
        super().__init__(rate=1.0, kinds=(kind,))
        self.fired = False

    def draw(self, request: httpx.Request | None = None) -> str | None:
        if self.fired:
            return None
        self.fired = True
        return super().draw(request)


def test_queries_are_retried_after_a_5xx(virtual_clock: VirtualClock, catalogue: Catalogue, exchanges: list[HttpExchange]) -> None:
    client = make_client(make_simulator(virtual_clock, catalogue, faults=FailOnce("503")))

    assert client.product(41001) is not None
    assert [exchange.status for exchange in exchanges] == [503, 200]


def test_mutations_are_not_retried_blindly(virtual_clock: VirtualClock, catalogue: Catalogue, exchanges: list[HttpExchange]) -> None:
    simulator = make_simulator(virtual_clock, catalogue, faults=FailOnce("500"))
    client = make_client(simulator)

    with pytest.raises(AmbiguousWrite):
        client.record_spotify_links([SpotifyLinkWrite(product_id=41001, url="https://open.spotify.com/episode/a", status="live")])

    assert len(exchanges) == 1
    assert simulator.write_backs == []


# ------------------------------------------------------------------------------------------- simulator behaviour
def test_simulator_answers_like_a_graphql_server(virtual_clock: VirtualClock, catalogue: Catalogue) -> None:
    simulator = make_simulator(virtual_clock, catalogue)
    transport_client = httpx.Client(transport=simulator, base_url="https://consonance.test")
    auth = {"Authorization": f"Bearer {KEY}"}

    invalid = transport_client.post("/graphql", json={"query": "{ products { nope } }"}, headers=auth)
    syntax = transport_client.post("/graphql", json={"query": "{ products { "}, headers=auth)
    bad_date = transport_client.post(
        "/graphql",
        json={"query": "query($d: ISO8601Date!) { products(productSearch: {changedSince: $d}) { id } }", "variables": {"d": "soon"}},
        headers=auth,
    )
    literal = transport_client.post(
        "/graphql", json={"query": '{ products(productSearch: {changedSince: "2026-11-30", after: 41205}) { id } }'}, headers=auth
    )
    wrong_path = transport_client.post("/api/graphql", json={"query": "{ products { id } }"}, headers=auth)
    not_json = transport_client.post("/graphql", content=b"{", headers={**auth, "Content-Type": "application/json"})

    assert invalid.status_code == 200 and "data" not in invalid.json() and "nope" in invalid.json()["errors"][0]["message"]
    assert syntax.status_code == 200 and "Syntax Error" in syntax.json()["errors"][0]["message"]
    assert bad_date.status_code == 200 and "not an ISO 8601 date" in bad_date.json()["errors"][0]["message"]
    assert literal.json() == {"data": {"products": [{"id": i} for i in range(41206, 41211)]}}
    assert wrong_path.status_code == 404
    assert not_json.status_code == 400


def test_timeline_edits_apply_when_due_and_stamp_the_changed_date(virtual_clock: VirtualClock, catalogue: Catalogue) -> None:
    simulator = make_simulator(virtual_clock, catalogue)
    client = make_client(simulator)
    day_2_morning = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)
    day_2_later = datetime(2026, 12, 3, 10, 0, tzinfo=timezone.utc)

    assert simulator.apply_due_changes(day_2_morning) == []
    applied = simulator.apply_due_changes(day_2_later)

    assert [a.edit.note for a in applied] == ["title correction (typo 'Clok')"]
    corrected = client.product(41011)
    assert corrected is not None and corrected.title == "The Tide Clock"
    assert [r.id for r in client.iter_changed_products(date(2026, 12, 3))] == [41011]

    everything = simulator.apply_due_changes(datetime(2026, 12, 31, tzinfo=timezone.utc))
    assert len(everything) == len(catalogue.timeline) - 1
    renumbered = client.product(41015)
    assert renumbered is not None and renumbered.work is not None
    assert renumbered.work.series_memberships[0].part_number == "15"
    added = client.product(41211)
    assert added is not None and added.work is not None and {c.id for c in added.work.contracts} == {7020, 7021}
    master = client.product(41018)
    assert master is not None and master.production_files[0].approval_status == "approved"
    assert simulator.apply_due_changes(datetime(2027, 6, 1, tzinfo=timezone.utc)) == []
