"""The campaign figures from their counts (the measurement itself runs in `make bench`; the same flows are
tested end to end in tests/integration/test_campaigns.py)."""

from __future__ import annotations

from bench.campaigns import TITLE_PRODUCTS, CampaignCounts, bench_catalogue, figures_from


def test_figures_report_calls_against_the_goal_and_writes_on_a_rerun() -> None:
    first = ["POST /assets", "POST /assets/upload"] * 2 + ["POST /drafts/campaigns", "POST /drafts/ad_sets", "POST /drafts/ads", "GET /assets", "GET /drafts/campaigns", "POST /drafts/campaigns"]
    later = ["POST /drafts/campaigns", "POST /drafts/ad_sets", "POST /drafts/ads", "GET /drafts/campaigns", "POST /drafts/campaigns"]
    figures = {f.name: f for f in figures_from(CampaignCounts(first, later, {"ads_api": 0, "ledger_item_versions": 0, "documents": 0, "consonance_notes": 1}))}
    assert (figures["ads_calls_per_milestone"].value, figures["ads_calls_per_milestone"].status) == (10.0, "miss")
    assert "2× POST /assets/upload" in figures["ads_calls_per_milestone"].note
    assert (figures["ads_calls_per_later_milestone"].value, figures["ads_calls_per_later_milestone"].status) == (5.0, "pass")
    assert (figures["writes_on_unchanged_campaign_rerun"].value, figures["writes_on_unchanged_campaign_rerun"].status) == (1.0, "miss")


def test_the_bench_title_has_one_country_so_one_ad_set() -> None:
    catalogue = bench_catalogue()
    assert [w.id for w in catalogue.works] == [3502]
    assert {p.id for p in catalogue.products} == set(TITLE_PRODUCTS)
    assert {(p.for_sale_worldwide, tuple(p.for_sale)) for p in catalogue.products} == {(False, ("GB",))}
    assert {e.id for e in catalogue.timeline} <= set(TITLE_PRODUCTS) and catalogue.ads_manager_publishes == []
