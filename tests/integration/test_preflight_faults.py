"""A cover fetch that fails for a while is retried — by the media connector, then by the queue — and
never becomes a verdict: no finding, no hold, nothing stored, until a fetch completes; then the
verdict is the one a healthy fetch gives. A cover that is really gone (404) is a finding at once,
without a retry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from functions.preflight.results import ArtworkStatus
from functions.settings import HttpSettings
from functions.state.keys import episode_key
from functions.state.targets import DISTRIBUTION, LedgerStatus
from sandbox.world import SandboxWorld
from tests.integration.harness import ledger, megaphone_episode, open_world, target_entry
from tests.integration.small_catalogue import START, SmallCatalogue, artwork_url

FLAKY_SERIES, GONE_SERIES = 1, 2
FLAKY, GONE = 101, 201
ATTEMPTS = int(HttpSettings.model_fields["http_max_attempts"].default)  # the connector's own tries per fetch
# the first delivery's every attempt fails; the redelivery's first attempt fails too, its second succeeds
FLAKY_ANSWERS = ("503", "timeout", "500", "429", "reset")[:ATTEMPTS] + ("503",)


def catalogue():  # noqa: ANN201 (a Catalogue)
    made = SmallCatalogue()
    made.show(FLAKY_SERIES, "Flaky Covers")
    made.show(GONE_SERIES, "Gone Covers")
    made.episode(FLAKY, FLAKY_SERIES, "1", "A Cover Behind a Flaky CDN", START - timedelta(days=3))
    made.episode(GONE, GONE_SERIES, "1", "A Cover That Was Deleted", START - timedelta(days=3))
    return made.build()


@pytest.fixture(scope="module")
def world() -> Iterator[SandboxWorld]:
    with open_world(catalogue()) as opened:
        flaky, gone = urlsplit(artwork_url(FLAKY_SERIES)).path, urlsplit(artwork_url(GONE_SERIES)).path
        opened.media.host_of(artwork_url(FLAKY_SERIES)).fail(flaky, *FLAKY_ANSWERS)
        opened.media.host_of(artwork_url(GONE_SERIES)).fail(gone, "404", always=True)
        opened.runtime.run_until(opened.clock.now() + timedelta(hours=1))
        yield opened


def test_the_failed_fetches_were_retried_by_the_connector_and_then_by_the_queue(world: SandboxWorld) -> None:
    answers = [r.answer for r in world.media.requests_for(artwork_url(FLAKY_SERIES))]
    assert answers == [*FLAKY_ANSWERS, "200"]
    stats = world.runtime.stats()["episode-publisher"]
    assert stats.retried == 1 and stats.dead_lettered == 0  # one delivery failed as a whole and was redelivered


def test_no_verdict_was_made_from_a_fetch_that_did_not_complete(world: SandboxWorld) -> None:
    entry = target_entry(world, FLAKY)
    assert entry is not None and entry.status is LedgerStatus.DELIVERED
    assert not [h for h in entry.history if h.action == "status:held"]
    assert not [f for f in entry.findings if f.flow == "preflight"]
    assert ledger(world).get(episode_key(FLAKY), DISTRIBUTION) is None  # nothing was ever reported
    check = entry.state.preflight.artwork  # type: ignore[union-attr]
    assert check is not None and check.verdict.status is ArtworkStatus.ACCEPTED
    assert (check.verdict.measured.width, check.verdict.measured.format) == (1400, "JPEG")
    assert megaphone_episode(world, FLAKY)["backgroundImageFileUrl"] == artwork_url(FLAKY_SERIES)  # type: ignore[index]


def test_a_cover_that_is_gone_is_a_finding_at_once(world: SandboxWorld) -> None:
    answers = [r.answer for r in world.media.requests_for(artwork_url(GONE_SERIES))]
    assert answers == ["404"]  # a permanent answer: no retry, by the connector or the queue
    entry = target_entry(world, GONE)
    assert entry is not None and entry.status is LedgerStatus.HELD
    [finding] = [f for f in entry.findings if f.flow == "preflight"]
    assert finding.code == "artwork_unreachable"
    assert finding.message == f"the cover cannot be fetched from {artwork_url(GONE_SERIES)}: the host answered 404"
    assert megaphone_episode(world, GONE) is None
