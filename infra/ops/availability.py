"""Where an episode is live and why it stopped: the availability table, plus the episode's ledger status.

Both are read through the flows' own repositories: `functions.state.availability.AvailabilityStore`
(one record per episode, channel and territory; its `by-isbn` index finds an episode by ISBN) and
`functions.state.ledger.SyncLedger` (the `episode#<id>` / `megaphone` entry: what this integration
last did with it — status, reason, findings, history — and the `consonance` entry for the title).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from functions.state.availability import AvailabilityRecord, AvailabilityStore
from functions.state.keys import EntityKind, episode_key, parse_entity_key
from functions.state.ledger import LedgerEntry, SyncLedger
from functions.state.targets import EPISODE_SOURCE, MEGAPHONE, MegaphoneState
from infra.flows import Table
from infra.naming import ResourceNames

ISBN13_PATTERN = re.compile(r"^97[89]\d{10}$")
RECENT_HISTORY = 5


@dataclass
class EpisodeAvailability:
    product_id: int
    title: str | None
    records: list[AvailabilityRecord]
    ledger: LedgerEntry[MegaphoneState] | None
    looked_up_by: str  # "product id" | "ISBN <isbn>"

    @property
    def found(self) -> bool:
        return bool(self.records) or self.ledger is not None or self.title is not None

    def as_dict(self) -> dict[str, Any]:
        ledger = None
        if self.ledger is not None:
            ledger = {
                "status": self.ledger.status,
                "status_reason": self.ledger.status_reason,
                "target_ids": self.ledger.state.ids,
                "findings": [finding.model_dump(mode="json") for finding in self.ledger.findings],
                "history": [entry.model_dump(mode="json") for entry in self.ledger.history[-RECENT_HISTORY:]],
                "updated_at": self.ledger.updated_at.isoformat() if self.ledger.updated_at else None,
            }
        return {
            "product_id": self.product_id,
            "title": self.title,
            "looked_up_by": self.looked_up_by,
            "live_in": [f"{r.channel}:{r.territory}" for r in self.records if r.live],
            "availability": [record.model_dump(mode="json") for record in self.records],
            "ledger": ledger,
        }


@dataclass(frozen=True)
class Lookup:
    """What the operator typed, understood: a product id or an ISBN-13."""

    product_id: int | None = None
    isbn13: str | None = None

    @classmethod
    def parse(cls, text: str) -> Lookup:
        compact = text.replace("-", "").replace(" ", "")
        if ISBN13_PATTERN.match(compact):
            return cls(isbn13=compact)
        if compact.isdigit():
            return cls(product_id=int(compact))
        raise ValueError(f"{text!r} is neither a product id (digits) nor an ISBN-13 (978/979 + 10 digits)")


@dataclass
class AvailabilityReader:
    names: ResourceNames
    ledger: SyncLedger = field(init=False)
    store: AvailabilityStore = field(init=False)

    def __post_init__(self) -> None:
        self.ledger = SyncLedger(self.names.table(Table.LEDGER))
        self.store = AvailabilityStore(self.names.table(Table.AVAILABILITY))

    def product_ids_for_isbn(self, isbn13: str) -> list[int]:
        keys = [parse_entity_key(record.entity) for record in self.store.by_isbn(isbn13)]
        return sorted({key.number for key in keys if key.kind is EntityKind.EPISODE})

    def episode(self, product_id: int, looked_up_by: str) -> EpisodeAvailability:
        key = episode_key(product_id)
        source = self.ledger.get(key, EPISODE_SOURCE)
        snapshot = source.state.episode if source is not None else None
        return EpisodeAvailability(
            product_id=product_id,
            title=snapshot.title if snapshot is not None else None,
            records=self.store.get_for(str(key)),
            ledger=self.ledger.get(key, MEGAPHONE),
            looked_up_by=looked_up_by,
        )
