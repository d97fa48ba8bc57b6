"""The bench's synthetic backfill catalogue, and the simulator's indexed look-ups answering as its scans do."""

from __future__ import annotations

from datetime import datetime, timezone

from bench.catalogue import START_DATE, backfill_catalogue, isbn13, product_id
from bench.simulator_indexes import index_lookups
from functions.domain.validation import is_valid_isbn13
from sandbox.catalogue import ApiKey
from sandbox.clock import VirtualClock
from sandbox.simulators.consonance import ConsonanceSimulator


def test_isbn13_check_digits() -> None:
    assert isbn13(0) == "9780000000002"
    assert all(is_valid_isbn13(isbn13(n)) for n in (1, 42, 39_050, 999_999_999))


def test_catalogue_shape() -> None:
    catalogue = backfill_catalogue(series=3, parts=4)
    assert len(catalogue.products) == 12 and len(catalogue.works) == 12 and len(catalogue.series) == 3
    assert len(catalogue.megaphone.podcasts) == 3 and len(catalogue.contracts) == 6
    assert {p.id for p in catalogue.products} == {product_id(s, part) for s in range(3) for part in range(1, 5)}
    assert len({p.isbn13 for p in catalogue.products}) == 12
    for product in catalogue.products:
        assert product.publishing_status == "04" and product.allow_onix_exports and product.for_sale_worldwide
        assert product.publication_date is not None and product.publication_date < START_DATE
        assert [c.role for c in product.contributions] == ["A01", "E07"]
        (master,) = product.production_files
        assert (master.variant, master.approval_status, master.allow_distribution) == ("master_audio", "approved", "allowed")
    rights = {c.licensed_rights[0].right_type for c in catalogue.contracts}
    assert rights == {"audio_adaptation", "narration"}
    dates = [p.publication_date for p in sorted(catalogue.products, key=lambda p: p.id) if p.id < product_id(1, 0)]
    assert dates == sorted(dates)  # parts released in part order


def test_indexed_lookups_answer_as_the_scans_do() -> None:
    catalogue = backfill_catalogue(series=3, parts=5)
    clock = VirtualClock(datetime(2027, 3, 1, tzinfo=timezone.utc))
    keys = [ApiKey(key="bench-test-key", access="read")]
    scanning = ConsonanceSimulator(clock, catalogue, api_keys=keys)
    indexed = ConsonanceSimulator(clock, catalogue, api_keys=keys)
    index_lookups(indexed)
    for product in catalogue.products:
        assert indexed.changed_on(indexed._product(product.id)) == scanning.changed_on(scanning._product(product.id))
        assert indexed._work(product.work_id) == scanning._work(product.work_id)
        assert [c.id for c in indexed._contracts_of(product.work_id)] == [c.id for c in scanning._contracts_of(product.work_id)]
    assert indexed._work(-1) is None and indexed._contracts_of(-1) == [] and indexed._product(-1) is None
    query = '{ products(productSearch: {changedSince: "2000-01-01"}) { id title } }'
    answer = indexed.execute(query, {}, None, keys[0])
    assert answer == scanning.execute(query, {}, None, keys[0]) and len(answer["data"]["products"]) == 15


def test_indexes_follow_records_added_later() -> None:
    catalogue = backfill_catalogue(series=1, parts=2)
    simulator = ConsonanceSimulator(VirtualClock(datetime(2027, 3, 1, tzinfo=timezone.utc)), catalogue)
    index_lookups(simulator)
    assert simulator._work(999) is None
    extra = simulator.catalogue.works[0].model_copy(update={"id": 999})
    simulator.catalogue.works.append(extra)
    assert simulator._work(999) is extra
