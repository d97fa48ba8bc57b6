"""Catalogue parts (`<catalogue>.d/*.json`): lists extend, objects merge, and a record part with an id the
catalogue has adds fields to that record; no part may change a value already set."""

from __future__ import annotations

import pytest

from sandbox.catalogue import merge_catalogue_part

BASE = {
    "contributors": [{"id": 501, "name": "Imogen Thale"}, {"id": 502, "name": "Tobias Wren"}],
    "timeline": [{"day": 2, "entity": "contributor", "id": 501, "changes": {"name": "I. Thale"}}],
}


def test_a_record_with_a_known_id_gains_the_parts_fields() -> None:
    part = {"contributors": [{"id": 501, "contact_tags": ["approved-for-promotion"]}, {"id": 599, "name": "New Voice"}]}
    merged = merge_catalogue_part(BASE, part, "promotion.json")
    assert merged["contributors"] == [
        {"id": 501, "name": "Imogen Thale", "contact_tags": ["approved-for-promotion"]},
        {"id": 502, "name": "Tobias Wren"},
        {"id": 599, "name": "New Voice"},
    ]


def test_a_part_may_not_change_what_a_record_already_says() -> None:
    with pytest.raises(ValueError, match="changes a value"):
        merge_catalogue_part(BASE, {"contributors": [{"id": 501, "name": "Someone Else"}]}, "promotion.json")


def test_lists_that_are_not_records_still_extend() -> None:
    edit = {"day": 3, "entity": "contributor", "id": 501, "changes": {"name": "Imogen T."}}
    merged = merge_catalogue_part(BASE, {"timeline": [edit]}, "promotion.json")
    assert merged["timeline"] == BASE["timeline"] + [edit]
