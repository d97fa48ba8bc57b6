"""Consonance GraphQL client (POST /graphql, Bearer key).

INTERFACE DRAFT — implementation in progress.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict

from functions.connectors.http import HttpService


class ConsonanceModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class ProductRecord(ConsonanceModel):
    """An audio product as the poller's query selects it (GraphQL field names, camelCase).

    Sub-objects are kept as plain dicts here; `functions.domain.mapping` turns them into the domain model.
    """

    id: int
    typename: str | None = None
    raw: dict[str, Any]


class SpotifyLinkWrite(ConsonanceModel):
    product_id: int
    url: str
    status: str  # e.g. "live", "draft", "withdrawn", "taken down"
    existing_link_id: int | None = None


class WriteResult(ConsonanceModel):
    product_id: int
    link_id: int | None = None
    errors: list[str] = []


class ConsonanceClient:
    def __init__(self, http: HttpService, page_size: int = 50):
        self.http = http
        self.page_size = page_size

    def changed_products(self, changed_since: date, after: int | None) -> list[ProductRecord]:
        """One page of audio products changed since the date, ids greater than `after`."""
        ...

    def iter_changed_products(self, changed_since: date, after: int | None = None) -> Iterator[ProductRecord]: ...

    def product(self, product_id: int) -> ProductRecord | None: ...

    def record_spotify_links(self, writes: list[SpotifyLinkWrite]) -> list[WriteResult]:
        """Create or update the Spotify web link on each product, in one GraphQL request (aliased mutations)."""
        ...
