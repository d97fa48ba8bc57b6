"""Indexed look-ups for the Consonance simulator, for catalogues of thousands of products.

The simulator finds a product's work, series, contributors and contracts by scanning the catalogue's
lists, and computes every product's changed date on every `products` page, so one page of a
2,000-product catalogue costs millions of comparisons (a full poll: minutes of wall time). That is
the stand-in's cost, not the product's: the answers (and so every figure) are the same with an index.
`index_lookups(simulator)` replaces those look-ups on one simulator instance with dictionaries,
rebuilt whenever a catalogue list is replaced or changes length (an "add" timeline edit).

Valid as long as records are not re-keyed in place (an id or a contract's `work_ids` edited): the
bench only edits product titles.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.simulators.consonance import ConsonanceSimulator


def index_lookups(simulator: ConsonanceSimulator) -> None:
    catalogue = simulator.catalogue
    cache: dict[str, tuple[tuple[int, int], Any]] = {}

    def indexed(name: str, items: list[Any], build: Callable[[list[Any]], Any]) -> Any:
        signature = (id(items), len(items))
        entry = cache.get(name)
        if entry is None or entry[0] != signature:
            entry = (signature, build(items))
            cache[name] = entry
        return entry[1]

    def by_id(items: list[Any]) -> dict[int, Any]:
        index: dict[int, Any] = {}
        for item in items:
            index.setdefault(item.id, item)  # the first match, as the scanning look-up returns
        return index

    def contracts_by_work(contracts: list[Any]) -> dict[int, list[Any]]:
        index: dict[int, list[Any]] = {}
        for contract in sorted(contracts, key=lambda c: c.id):
            for work_id in dict.fromkeys(contract.work_ids):
                index.setdefault(work_id, []).append(contract)
        return index

    simulator._product = lambda product_id: indexed("products", catalogue.products, by_id).get(product_id)  # type: ignore[method-assign]
    simulator._work = lambda work_id: indexed("works", catalogue.works, by_id).get(work_id)  # type: ignore[method-assign]
    simulator._series = lambda series_id: indexed("series", catalogue.series, by_id).get(series_id)  # type: ignore[method-assign]
    simulator._contributor = lambda contributor_id: indexed("contributors", catalogue.contributors, by_id).get(contributor_id)  # type: ignore[method-assign]
    simulator._contracts_of = lambda work_id: list(indexed("contracts", catalogue.contracts, contracts_by_work).get(work_id, ()))  # type: ignore[method-assign]
