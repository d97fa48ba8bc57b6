"""Which works get their summary note: those listened to in the 28 days, and those that went quiet but
carry a note from before (it then says so, instead of keeping old figures); never a work that was
never listened to."""

from __future__ import annotations

import itertools
from datetime import date

from functions.analytics.summary import WorkSummary
from functions.flows.analytics_nightly.logic import SUMMARY_PURPOSE, summaries_to_write
from functions.state.keys import work_key
from functions.state.ledger import SyncLedger, new_entry
from functions.state.targets import CONSONANCE_WRITEBACK, WrittenText
from infra.tables import TABLES
from sandbox.resources import _create_table

_tables = itertools.count(1)


def summary(work_id: str, plays: float = 0, ad_impressions: float = 0) -> WorkSummary:
    return WorkSummary(
        work_id=work_id, title=f"work {work_id}", as_of=date(2026, 12, 7), plays_28d=plays, downloads_28d=plays, starts_28d=0,
        listener_days_28d=0, followers_gained_28d=0, growth_28d=None, median_completion_pct=None, reached_75_pct=None,
        launch_before=None, launch_after=None, launch_change=None, launch_days_observed=None, ad_impressions_28d=ad_impressions,
    )


def test_active_works_and_quiet_works_with_a_note_are_written(aws: None) -> None:
    ledger = SyncLedger(_create_table(next(s for s in TABLES if s.table.value == "ledger"), f"summaries-{next(_tables)}"))
    noted = new_entry(work_key(3002), CONSONANCE_WRITEBACK)
    noted.state.texts[SUMMARY_PURPOSE] = WrittenText(text_id=7, content_hash="h")
    ledger.save(noted)
    other_note = new_entry(work_key(3003), CONSONANCE_WRITEBACK)
    other_note.state.texts["campaign-brief"] = WrittenText(text_id=8, content_hash="h")
    ledger.save(other_note)
    chosen = summaries_to_write([summary("3001", plays=12), summary("3002"), summary("3003"), summary("3004"), summary("3005", ad_impressions=900)], ledger)
    assert [s.work_id for s in chosen] == ["3001", "3005", "3002"]
    assert "- Plays: 0 (0 downloads via Megaphone, 0 Spotify starts)" in chosen[-1].markdown()
