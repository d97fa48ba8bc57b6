"""`infra.ops plan` against the run it predicts, on the sample catalogue (issue 6: the plan cannot drift).

The world runs its first two hours (the first sync delivers the catalogue); then the catalogue's edits of days 2–6 (a title correction, an approval,
an approved master, a part-number fix, new credits, a new interview episode with its releases) are
applied in Consonance and the poller reads them, so the ledger holds the changes but no flow has
acted on them yet (release dates and rights windows have moved on too). `infra.ops plan` (as an
operator runs it, with the publisher's deployed settings) then says what the next sync does to each
episode, and the world runs that moment: every episode's Megaphone delivery must have changed exactly
as planned — created, updated (the planned fields), published, withdrawn, held or left alone. An
episode planned as `check` (its new files not fetched yet: a plan never downloads) must have had its
pre-flight run by the publisher."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, time, timedelta, timezone
from typing import Any

import pytest

from functions.flow_names import FlowName
from functions.flows.publishing_config import PublishingConfig
from functions.state.targets import EPISODE_SOURCE, MEGAPHONE, LedgerStatus, MegaphoneState
from infra.naming import ResourceNames
from infra.ops import plan as ops_plan
from sandbox.catalogue import load_catalogue
from sandbox.world import SandboxWorld
from tests.integration.harness import ledger, open_world, scheduled_event

PLANNED_AT = time(10, 0)  # day 7: every scripted edit of the sample's days 2–6 is due


@pytest.fixture(scope="module")
def planned_then_run() -> Iterator[tuple[SandboxWorld, list[Any], dict[str, MegaphoneState | None], dict[str, Any]]]:
    with open_world(load_catalogue()) as world:
        world.run_for(2 / 24)  # the first sync has delivered the catalogue
        moment = datetime.combine(world.catalogue.start_date + timedelta(days=6), PLANNED_AT, tzinfo=timezone.utc)
        world.clock.advance_to(moment)
        assert world.consonance.apply_due_changes(moment)  # the edits are in Consonance ...
        world.runtime.invoke(FlowName.CONSONANCE_POLLER, scheduled_event(world, FlowName.CONSONANCE_POLLER))  # ... and in the ledger
        with pytest.MonkeyPatch.context() as environment:  # the operator's view: the publisher's deployed settings
            for name, value in world.resources.environments[FlowName.EPISODE_PUBLISHER].items():
                environment.setenv(name, value)
            config: PublishingConfig = ops_plan.deployed_settings()
            changes, missing = ops_plan.plan(ResourceNames(world.resources.prefix), config, moment.date(), None)
        assert missing == []
        before = deliveries(world)
        world.runtime.run_due()  # the next sync, at the same moment
        yield world, changes, before, deliveries(world)


def deliveries(world: SandboxWorld) -> dict[str, Any]:
    return {entry.entity: entry for entry in ledger(world).scan(MEGAPHONE)}


def test_the_plan_covers_every_episode_and_foresees_changes(planned_then_run: tuple[SandboxWorld, list[Any], dict[str, Any], dict[str, Any]]) -> None:
    world, changes, _, _ = planned_then_run
    recorded = {entry.key.number for entry in ledger(world).scan(EPISODE_SOURCE)}
    assert [change.product_id for change in changes] == sorted(recorded)  # every product the poller recorded, once
    actions = Counter(change.action for change in changes)
    assert set(actions) == {"create", "update", "publish", "withdraw", "hold", "none", "check"}  # five days of edits: every kind of plan


def test_each_episode_changes_as_planned(planned_then_run: tuple[SandboxWorld, list[Any], dict[str, Any], dict[str, Any]]) -> None:
    _, changes, before, after = planned_then_run
    mismatches = []
    for change in changes:
        key = f"episode#{change.product_id}"
        was, now = before.get(key), after.get(key)
        done = what_happened(was, now)
        if change.action == "check":  # the plan cannot know: the publisher fetches the files, then decides
            if now is None or now.state.preflight is None:
                mismatches.append((change.product_id, "check", "no pre-flight ran", change.reason))
            continue
        expected = "unchanged" if change.action in ("none", "hold") else change.action
        if done != expected:
            mismatches.append((change.product_id, change.action, done, change.reason))
            continue
        if change.action == "update":
            changed = sorted(k for k, v in now.state.pushed_fields.items() if was.state.pushed_fields.get(k) != v)
            if changed != change.changed_fields:
                mismatches.append((change.product_id, "update fields", changed, change.changed_fields))
        if change.action == "hold" and now.status is not LedgerStatus.HELD:
            mismatches.append((change.product_id, "hold", str(now.status), change.reason))
    assert mismatches == []


def what_happened(was: Any, now: Any) -> str:
    """What the sync did to one episode's Megaphone delivery, in the plan's words."""
    if now is None or not now.state.on_megaphone:
        return "unchanged" if was is None or not was.state.on_megaphone else "gone"
    if was is None or not was.state.on_megaphone:
        return "create"
    if was.pushed_hash == now.pushed_hash:
        return "unchanged"
    if was.state.live and not now.state.live:
        return "withdraw"
    if not was.state.live and now.state.live:
        return "publish"
    return "update"
