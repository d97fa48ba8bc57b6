"""The bench's world: `SandboxWorld` on the bench's in-process AWS (`bench.aws.in_process_world`,
moto under `mock_aws` instead of the moto server) runs the flows as the sandbox does. The bench's
overhead, backfill and promotion parts stand on it; a world that no longer builds there fails them
all, so it is checked here, not only when `make bench` runs."""

from __future__ import annotations

from datetime import timedelta

from bench.aws import in_process_world
from tests.integration.harness import megaphone_episode, open_world
from tests.integration.small_catalogue import START, SmallCatalogue


def test_the_world_publishes_on_the_bench_in_process_aws() -> None:
    made = SmallCatalogue()
    made.show(1, "The Salt Road")
    made.episode(301, 1, "1", "Part 1", START - timedelta(days=3))
    with in_process_world(), open_world(made.build()) as world:
        world.runtime.run_for(minutes=20)  # the first poll announces it; the publisher creates it
        assert megaphone_episode(world, 301) is not None
        assert world.runtime.stats()["episode-publisher"].succeeded >= 1
