"""The per-work summary for Consonance: values from the rollups, stable text (same night, same hash)."""

from __future__ import annotations

from pathlib import Path

from functions.analytics.duckdb_runner import DuckDBRunner
from functions.analytics.summary import HEADING, work_summaries
from tests.analytics import hand_dataset
from tests.analytics.hand_dataset import TO_DAY


def test_a_summary_per_work_with_a_stable_text(tmp_path: Path) -> None:
    hand_dataset.write(tmp_path)
    summaries = {s.work_id: s for s in work_summaries(DuckDBRunner(tmp_path), TO_DAY, report_url="https://reports.example/analytics.html")}
    assert set(summaries) == {"w1", "w2", "w3"}
    tide = summaries["w1"]
    # 28 days to 14 Mar = 15 Feb – 14 Mar: 100 + 10 + 20 downloads, 4 + 6 starts
    assert (tide.plays_28d, tide.downloads_28d, tide.starts_28d, tide.followers_gained_28d, tide.ad_impressions_28d) == (140, 130, 10, 2, 1000)
    assert (tide.launch_before, tide.launch_after, tide.launch_days_observed) == (114, 26, 5)
    text = tide.markdown()
    assert text.startswith(f"**{HEADING}** — Tide, 28 days to 2025-03-14")
    assert "Plays: 140 (130 downloads via Megaphone, 10 Spotify starts)" in text
    assert "median 50 % of an episode; 30 % of starts reach 75 %" in text
    assert "114 plays in the 28 days before, 26 after (first 5 days so far), -77 %" in text
    assert "Full report: https://reports.example/analytics.html" in text
    again = {s.work_id: s for s in work_summaries(DuckDBRunner(tmp_path), TO_DAY, report_url="https://reports.example/analytics.html")}
    assert again["w1"].content_hash() == tide.content_hash()
    assert "Completion on Spotify" not in summaries["w3"].markdown()  # no Spotify data for Hills
