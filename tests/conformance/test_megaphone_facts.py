"""The Megaphone connector and simulator held against `../shared/specs/megaphone/API-FACTS.md`.

Megaphone publishes no machine-readable spec, so the facts sheet is parsed: the base URL, the auth
header, the resource table (method and path; `{...}` is one path segment; a query named there is
allowed on that route, besides the documented `page` / `per_page` paging) and the episode field lists
(request, and response besides the request's). A sandbox run sends every kind of request the flows
make — create (one of them with its answer lost, so the look-up by `externalId` and the adopting
update follow), ingest checks (a list for a podcast with several episodes waiting, a GET for one
alone), the metadata sync's listing and a drift correction — and each is held
against the sheet: route, query, the `Token token=` scheme with the run's token, and body fields.
Every episode the simulator answers with may only carry documented fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from functions.connectors.http import route_host
from functions.settings import MegaphoneSettings
from infra.flows import Secret
from sandbox.simulators.megaphone import MegaphoneSimulator, ScriptedFaults
from sandbox.world import SandboxWorld
from tests.integration.harness import megaphone_episode, open_world, target_entry
from tests.recorded_requests import ExchangeLog, recording_requests
from tests.integration.small_catalogue import START, SmallCatalogue

FACTS_PATH = Path(__file__).parents[2].parent / "shared/specs/megaphone/API-FACTS.md"
pytestmark = pytest.mark.skipif(
    not FACTS_PATH.exists(),
    reason=f"Megaphone's API facts sheet is not present at {FACTS_PATH} (../shared/specs is outside the project; CI has it)",
)
PAGING_PARAMETERS = frozenset({"page", "per_page"})


# ------------------------------------------------------------------------------------ the facts sheet
@dataclass(frozen=True)
class Route:
    method: str
    template: str  # as written in the sheet, e.g. /networks/{n}/podcasts/{p}/episodes
    query: frozenset[str]

    def matches(self, method: str, path: str) -> bool:
        pattern = "^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(self.template)) + "$"
        return method == self.method and re.match(pattern, path) is not None


@dataclass(frozen=True)
class Facts:
    base_url: str
    auth_prefix: str  # "Token token="
    routes: tuple[Route, ...]
    request_fields: frozenset[str]
    response_fields: frozenset[str]


def _section(text: str, heading: str) -> str:
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"the facts sheet has no section {heading!r}"
    return match.group(1)


def _field_list(section: str) -> frozenset[str]:
    """The backticked names of the section's first paragraph, explanations in parentheses removed."""
    paragraph = section.strip().split("\n\n")[0]
    while re.search(r"\([^()]*\)", paragraph):
        paragraph = re.sub(r"\([^()]*\)", "", paragraph)
    names = re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", paragraph)
    assert names, section
    return frozenset(names)


def _routes(section: str) -> tuple[Route, ...]:
    routes: list[Route] = []
    for row in section.splitlines():
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        if len(cells) != 2 or cells[1].startswith("---") or cells[1] == "method and path":
            continue
        methods: list[str] = []
        for code in re.findall(r"`([^`]+)`", cells[1]):
            parts = code.split(" ", 1)
            if parts[0] not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                continue  # a path without a method ("/orders/...") documents nothing callable
            methods.append(parts[0])
            if len(parts) == 1:
                continue  # "`GET` / `PUT /path`": the method applies to the next path
            target = urlsplit(parts[1])
            if target.path.startswith("/"):
                query = frozenset(name for name, _ in parse_qsl(target.query, keep_blank_values=True))
                routes += [Route(method, target.path, query) for method in methods]
            methods = []
    return tuple(routes)


@pytest.fixture(scope="module")
def facts() -> Facts:
    text = FACTS_PATH.read_text(encoding="utf-8")
    base = re.search(r"Base URL: `([^`]+)`", text)
    auth = re.search(r"Auth header: `Authorization: ([^`<]+)<", text)
    assert base and auth, "the facts sheet no longer states the base URL and auth header as expected"
    return Facts(
        base_url=base.group(1),
        auth_prefix=auth.group(1),
        routes=_routes(_section(text, "Resources used by a publisher integration")),
        request_fields=_field_list(_section(text, "Episode fields (request)")),
        response_fields=_field_list(_section(text, "Episode fields (response, besides the above)")),
    )


def test_the_sheet_parses_into_what_the_integration_relies_on(facts: Facts) -> None:
    assert facts.auth_prefix == "Token token="
    assert {"title", "externalId", "draft", "pubdate", "episodeNumber", "backgroundAudioFileUrl"} <= facts.request_fields
    assert {"id", "spotifyIdentifier", "audioFileProcessing", "audioFileStatus"} <= facts.response_fields
    assert {"full", "trailer", "clean"}.isdisjoint(facts.request_fields)  # values, not fields
    documented = {(r.method, r.template) for r in facts.routes}
    assert ("POST", "/networks/{n}/podcasts/{p}/episodes") in documented
    assert ("PUT", "/networks/{n}/podcasts/{p}/episodes/{episode_id}") in documented
    assert ("GET", "/networks/{n}/podcasts/{p}/episodes/{episode_id}") in documented


# ------------------------------------------------------------------------------------ a sandbox run
@dataclass
class RawExchange:
    request: httpx.Request
    response: httpx.Response | None


@dataclass
class RecordingTransport(httpx.BaseTransport):
    """Routes to the Megaphone simulator and keeps each raw request (its real Authorization header)
    and the simulator's answer."""

    simulator: MegaphoneSimulator
    exchanges: list[RawExchange] = field(default_factory=list)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        exchange = RawExchange(request, None)
        self.exchanges.append(exchange)
        response = self.simulator.handle_request(request)
        response.read()
        exchange.response = response
        return response


@dataclass(frozen=True)
class Run:
    world: SandboxWorld
    connector: ExchangeLog
    raw: RecordingTransport


def catalogue():  # noqa: ANN201 (a Catalogue)
    made = SmallCatalogue()
    made.show(1, "The Salt Road")
    made.episode(101, 1, "1", "The Harbour at Dusk", START - timedelta(days=20))
    made.episode(102, 1, "2", "Ropes and Reckonings", START - timedelta(days=10))
    made.episode(103, 1, "3", "A Letter from Esk", START + timedelta(days=3))
    made.show(2, "Larkspur Conversations")  # one episode alone: its ingest check is a single GET
    made.episode(201, 2, "1", "In Conversation: Imogen Thale", START - timedelta(days=5))
    return made.build()


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    with open_world(catalogue()) as world:
        raw = RecordingTransport(world.megaphone)
        route_host(urlsplit(str(MegaphoneSettings.model_fields["megaphone_url"].default)).netloc, raw)  # before any connector is built
        world.megaphone.faults = ScriptedFaults("timeout-after-write")  # the first create loses its answer
        with recording_requests() as connector:
            world.runtime.run_until(datetime.combine(START, time(0, 45), tzinfo=timezone.utc))
            drifted = target_entry(world, 101).state.episode_id  # type: ignore[union-attr]
            world.megaphone.set_episode_fields(drifted, title="Edited in Megaphone")
            world.runtime.run_until(datetime.combine(START, time(1, 30), tzinfo=timezone.utc))  # daily sync at 01:00
        assert megaphone_episode(world, 101)["title"] == "The Harbour at Dusk"  # type: ignore[index]
        yield Run(world, connector, raw)


def _route(facts: Facts, method: str, url: str) -> Route:
    """The documented route this request uses: method and path match, and its query (paging aside)
    is one the route names."""
    base_path = urlsplit(facts.base_url).path.rstrip("/")
    parts = urlsplit(url)
    assert parts.path.startswith(base_path + "/"), url
    relative = parts.path[len(base_path) :]
    query = {name for name, _ in parse_qsl(parts.query, keep_blank_values=True)} - PAGING_PARAMETERS
    matching = [r for r in facts.routes if r.matches(method, relative) and query <= r.query]
    assert matching, f"{method} {relative} with query {sorted(query)} is not a documented Megaphone resource"
    return min(matching, key=lambda r: len(r.query - query))


def test_every_request_the_connector_sent_is_documented(facts: Facts, run: Run) -> None:
    sent = run.connector.of("megaphone")
    routes = set()
    for exchange in sent:
        assert exchange.url.startswith(facts.base_url + "/"), exchange.url
        route = _route(facts, exchange.method, exchange.url)
        routes.add((route.method, route.template, tuple(sorted(route.query))))
        if exchange.method in ("POST", "PUT"):
            assert isinstance(exchange.request_body, dict)
            assert set(exchange.request_body) <= facts.request_fields, set(exchange.request_body) - facts.request_fields
        else:
            assert exchange.request_body is None
    # every kind of request the flows make was seen, so the checks above were not vacuous
    assert routes == {
        ("POST", "/networks/{n}/podcasts/{p}/episodes", ()),
        ("PUT", "/networks/{n}/podcasts/{p}/episodes/{episode_id}", ()),
        ("GET", "/networks/{n}/podcasts/{p}/episodes/{episode_id}", ()),
        ("GET", "/networks/{n}/podcasts/{p}/episodes", ("externalId",)),  # the look-up after the lost create
        ("GET", "/networks/{network_id}/podcasts/{podcast_id}/episodes", ()),  # metadata sync's listing
    }


def test_every_request_authenticates_with_the_token_scheme(facts: Facts, run: Run) -> None:
    token = run.world.secret_values[Secret.MEGAPHONE]
    assert len(run.raw.exchanges) == len(run.connector.of("megaphone")) > 0
    for exchange in run.raw.exchanges:
        assert exchange.request.headers["Authorization"] == f"{facts.auth_prefix}{token}"
        if exchange.request.method in ("POST", "PUT"):
            assert exchange.request.headers["Content-Type"] == "application/json"


def test_every_episode_the_simulator_answers_with_is_documented(facts: Facts, run: Run) -> None:
    documented = facts.request_fields | facts.response_fields
    episodes = []
    for exchange in run.raw.exchanges:
        response = exchange.response
        if response is None or not response.is_success:
            continue
        body = response.json()
        if "/episodes" in exchange.request.url.path:
            episodes += body if isinstance(body, list) else [body]
        if exchange.request.method == "GET" and isinstance(body, list):
            assert all(name in response.headers for name in ("X-Page", "X-Per-Page", "X-Total"))  # the sheet's paging
    assert len(episodes) > 10
    for episode in episodes:
        assert set(episode) <= documented, set(episode) - documented


def test_the_simulator_refuses_other_auth_schemes_as_documented(facts: Facts, run: Run) -> None:
    token = run.world.secret_values[Secret.MEGAPHONE]
    url = f"{facts.base_url}/networks/{run.world.megaphone.network_id}/podcasts"
    for header in (f"Bearer {token}", "Token token=not-the-token", None):
        request = httpx.Request("GET", url, headers={"Authorization": header} if header else {})
        response = run.world.megaphone.handle_request(request)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Token realm="Application"'
    accepted = run.world.megaphone.handle_request(httpx.Request("GET", url, headers={"Authorization": f"{facts.auth_prefix}{token}"}))
    assert accepted.status_code == 200 and json.loads(accepted.content)
