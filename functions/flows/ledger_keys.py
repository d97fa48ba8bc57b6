"""Ledger coordinates shared by the flows: which item holds what.

`episode#<product id>` / `consonance` holds the normalised source snapshot the poller saw (and its
mapping findings); `episode#<product id>` / `megaphone` holds what was pushed to Megaphone (ids, hash,
status, the gate's findings). Keeping writers apart means the poller and the publisher never contend
for one item.
"""

from __future__ import annotations

SOURCE = "consonance"
TARGET = "megaphone"


def episode_key(product_id: int) -> str:
    return f"episode#{product_id}"


def series_key(series_id: int) -> str:
    return f"series#{series_id}"


def product_id_of(entity: str) -> int:
    return int(entity.split("#", 1)[1])
