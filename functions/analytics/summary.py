"""The short per-work listening summary written back to Consonance (an internal marketing text).

The integration's store stays the source of truth; Consonance gets a few lines per work and a link to
the full report. The text is a pure function of the rollups and `as_of` (no "generated at" clock
time), so re-running a night produces the same text and the same `content_hash`: the write-back can
see nothing changed and write nothing. It always starts with `HEADING`, by which the write-back finds
the text it wrote before and replaces it (updated in place, not appended daily).
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from functions.analytics.rollups import RollupRunner, run_rollup

HEADING = "Audio listening summary (Spotify integration)"
WINDOW_DAYS = 28


class WorkSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    work_id: str
    title: str
    as_of: date
    plays_28d: float
    downloads_28d: float
    starts_28d: float
    listener_days_28d: float
    followers_gained_28d: float
    growth_28d: float | None
    median_completion_pct: float | None
    reached_75_pct: float | None
    launch_before: float | None
    launch_after: float | None
    launch_change: float | None
    launch_days_observed: int | None
    ad_impressions_28d: float
    report_url: str | None = None

    def markdown(self) -> str:
        lines = [
            f"**{HEADING}** — {self.title}, 28 days to {self.as_of.isoformat()}",
            "",
            f"- Plays: {self.plays_28d:,.0f} ({self.downloads_28d:,.0f} downloads via Megaphone, {self.starts_28d:,.0f} Spotify starts)"
            + (f"; {_signed(self.growth_28d)} on the 28 days before" if self.growth_28d is not None else ""),
        ]
        if self.median_completion_pct is not None:
            lines.append(
                f"- Completion on Spotify: median {self.median_completion_pct:.0f} % of an episode; "
                f"{(self.reached_75_pct or 0):.0f} % of starts reach 75 %"
            )
        if self.followers_gained_28d:
            lines.append(f"- Show followers gained: {self.followers_gained_28d:+,.0f}")
        if self.launch_before is not None and self.launch_after is not None:
            partial = "" if (self.launch_days_observed or 0) >= WINDOW_DAYS else f" (first {self.launch_days_observed} days so far)"
            change = f", {_signed(self.launch_change)}" if self.launch_change is not None else ""
            lines.append(f"- Around publication: {self.launch_before:,.0f} plays in the 28 days before, {self.launch_after:,.0f} after{partial}{change}")
        if self.ad_impressions_28d:
            lines.append(f"- Paid Spotify Ads impressions: {self.ad_impressions_28d:,.0f}")
        lines.append("- Sources: Megaphone export and Spotify Ads API (official); Spotify for Creators (unofficial, where enabled).")
        if self.report_url:
            lines.append(f"- Full report: {self.report_url}")
        return "\n".join(lines) + "\n"

    def content_hash(self) -> str:
        return hashlib.sha256(self.markdown().encode()).hexdigest()


def work_summaries(runner: RollupRunner, as_of: date, report_url: str | None = None) -> list[WorkSummary]:
    """One summary per title (work) with any audio, from three rollups on the given engine."""
    first = as_of - timedelta(days=WINDOW_DAYS - 1)
    engagement = [r for r in run_rollup(runner, "engagement", from_day=first, to_day=as_of) if r["group_type"] == "title"]
    growth = {r["group_key"]: r for r in run_rollup(runner, "growth", to_day=as_of) if r["group_type"] == "title" and r["metric"] == "plays"}
    launches: dict[str, dict[str, Any]] = {}
    for row in run_rollup(runner, "launch_comparison", window_days=WINDOW_DAYS, as_of=as_of):
        if row["group_type"] == "title" and row["anchor_kind"] == "publication" and row["metric"] == "plays":
            launches[row["group_key"]] = row
    summaries = []
    for row in engagement:
        launch = launches.get(row["group_key"])
        summaries.append(
            WorkSummary(
                work_id=row["group_key"],
                title=row["group_label"],
                as_of=as_of,
                plays_28d=row["plays"],
                downloads_28d=row["downloads"],
                starts_28d=row["starts"],
                listener_days_28d=row["listener_days"],
                followers_gained_28d=row["followers_gained"],
                growth_28d=growth.get(row["group_key"], {}).get("growth_28d"),
                median_completion_pct=row["median_completion_pct"],
                reached_75_pct=row["reached_75_pct"],
                launch_before=launch["before_value"] if launch else None,
                launch_after=launch["after_value"] if launch else None,
                launch_change=launch["change_ratio"] if launch else None,
                launch_days_observed=launch["after_days_observed"] if launch else None,
                ad_impressions_28d=row["ad_impressions"],
                report_url=report_url,
            )
        )
    return summaries


def _signed(ratio: float | None) -> str:
    return "–" if ratio is None else f"{ratio * 100:+.0f} %"
