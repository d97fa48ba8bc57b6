"""Every promo brief written, as operators and reports list them (from the ledger, not the bucket)."""

from __future__ import annotations

from typing import Any

from functions.state.ledger import SyncLedger
from functions.state.targets import CONTRIBUTOR_SOURCE, PROMO_BRIEFS


def contributor_names(ledger: SyncLedger) -> dict[int, str]:
    return {e.key.number: e.state.contributor.name for e in ledger.scan(CONTRIBUTOR_SOURCE) if e.state.contributor is not None}


def brief_listing(ledger: SyncLedger, contributor_id: int | None = None) -> list[dict[str, Any]]:
    """One row per brief: contributor, campaign, dates, document key and link; by contributor, then start."""
    names = contributor_names(ledger)
    rows = [
        {
            "contributor_id": entry.key.number,
            "contributor": names.get(entry.key.number),
            "campaign": record.campaign.label,
            "starts_on": record.campaign.starts_on.isoformat(),
            "ends_on": record.campaign.ends_on.isoformat(),
            "document": record.document_key,
            "link": record.link,
        }
        for entry in ledger.scan(PROMO_BRIEFS)
        if contributor_id is None or entry.key.number == contributor_id
        for record in entry.state.briefs.values()
    ]
    return sorted(rows, key=lambda r: (r["contributor_id"], r["starts_on"], r["document"]))
