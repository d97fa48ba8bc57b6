"""The availability monitor and the never-playable rule: an episode Megaphone publishes that Spotify
has not served anywhere `playable_within` later is announced to the distribution feedback flow, and
announced again (so the report clears) once Spotify plays it; nothing is announced while the report
already agrees. The monitor's own test world (moto, the Megaphone and Spotify simulators)."""

from __future__ import annotations

from datetime import date, timedelta

from functions.distribution.models import DistributionProblem, ProblemKind
from functions.domain.events import DistributionChanged
from functions.state.keys import episode_key
from functions.state.ledger import new_entry
from functions.state.targets import DISTRIBUTION, DistributionStatus
from tests.unit.test_availability_monitor import MARKETS, SHOW, World, clock_start, fresh_connections, world  # noqa: F401 (fixtures)

PRODUCT = 41507


def announced(world: World) -> list[int]:
    return [event.product_id for event in world.bus.events if isinstance(event, DistributionChanged)]


def report_not_playable(world: World) -> None:
    """As the distribution feedback flow leaves it after the announcement."""
    entry = world.ledger.get(episode_key(PRODUCT), DISTRIBUTION) or new_entry(episode_key(PRODUCT), DISTRIBUTION)
    entry.state.problems = [DistributionProblem(kind=ProblemKind.NOT_PLAYABLE, code="not_playable_on_spotify", reason="r", action="a", key="k")]
    entry.set_status(DistributionStatus.PROBLEMS, "not_playable_on_spotify")
    world.ledger.save(entry)


def test_never_playable_is_announced_after_the_deadline_once_reported_not_again_and_again_when_played(world: World) -> None:
    world.deps.playable_within = timedelta(hours=24)
    delivered = world.deliver(PRODUCT, on_spotify=False)  # live on Megaphone; Spotify never has it
    outcome, _ = world.run()
    assert announced(world) == [] and outcome.not_playable == 0  # just published: Spotify has a day

    for _ in range(23):
        world.run()
        assert announced(world) == []
    outcome, _ = world.run()  # 24 hours after Megaphone was first seen publishing it
    assert announced(world) == [PRODUCT] and outcome.not_playable == 1 and outcome.playability_announced == 1
    event = next(e for e in world.bus.events if isinstance(e, DistributionChanged))
    assert event.ledger_version is None and "availability monitor" in event.reason

    report_not_playable(world)
    world.run()
    assert announced(world) == []  # the report agrees: nothing to say

    spotify_id = delivered.state.spotify_id
    assert spotify_id is not None
    world.spotify_sim.publish_episode(spotify_id, SHOW, "Episode", set(MARKETS), date(2031, 2, 1))
    outcome, _ = world.run()
    assert announced(world) == [PRODUCT] and outcome.not_playable == 0  # Spotify plays it now: the report must clear


def test_the_deadline_passing_while_the_podcast_is_unchanged_is_still_announced(world: World) -> None:
    """The stored records are not read for an unchanged podcast; the deadline kept from its last
    settled check, compared with this run's clock, still turns the episode overdue on time."""
    world.deps.playable_within = timedelta(hours=5)
    world.deps.full_check_every = timedelta(days=2)  # no full check in between
    world.deliver(PRODUCT, on_spotify=False)
    world.run()  # first sight: Megaphone live from now
    world.run()  # settled
    for _ in range(3):
        outcome, _ = world.run()
        assert announced(world) == [] and outcome.unchanged == 1
    outcome, _ = world.run()  # 5 hours after Megaphone was first seen publishing it
    assert announced(world) == [PRODUCT] and outcome.not_playable == 1 and outcome.unchanged == 1
