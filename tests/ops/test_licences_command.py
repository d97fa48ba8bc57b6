"""`python -m infra.ops licences`: its arguments and which licences it shows (the table itself is
checked against a sandbox run in tests/e2e/test_branded_audio.py)."""

from __future__ import annotations

import argparse
import io
from datetime import date, datetime, timezone

import pytest

from functions.licence_overview import LicenceView, StateStep
from infra.ops.__main__ import main
from infra.ops.command import EXIT_USAGE
from infra.ops.licences_command import days, selected


def view(product_id: int, licensee: str | None, state: str, until: date | None) -> LicenceView:
    return LicenceView(
        product_id=product_id, title=f"asset {product_id}", licensee=licensee, state=state, reason="", until=until,
        findings=[], expiry_alerts=[], states=[StateStep(at=datetime(2027, 1, 1, tzinfo=timezone.utc), state=state, reason="")], channels={},
    )  # fmt: skip


VIEWS = [
    view(1, "Harbourline Hotels", "live", date(2027, 2, 1)),
    view(2, "Harbourline Hotels", "expiring", date(2027, 1, 12)),
    view(3, "Copperleaf Coffee", "live", date(2027, 6, 1)),
    view(4, "Copperleaf Coffee", "withdrawn", date(2027, 1, 5)),
    view(5, None, "pending", None),
]


def test_days_are_written_with_or_without_a_d() -> None:
    assert days("30d") == 30 and days("7") == 7 and days(" 14 d ") == 14
    with pytest.raises(argparse.ArgumentTypeError):
        days("a month")


def test_a_licensee_is_matched_however_its_name_is_written() -> None:
    assert [v.product_id for v in selected(VIEWS, "harbourline  HOTELS", None, date(2027, 1, 10))] == [1, 2]


def test_expiring_within_shows_live_licences_ending_by_then() -> None:
    today = date(2027, 1, 10)
    assert [v.product_id for v in selected(VIEWS, None, 30, today)] == [1, 2]  # not the withdrawn one, not June
    assert [v.product_id for v in selected(VIEWS, "Copperleaf Coffee", 200, today)] == [3]


def test_a_malformed_duration_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["licences", "--expiring-within", "soon"], stdout=io.StringIO(), stderr=io.StringIO()) == EXIT_USAGE
    assert "not a number of days" in capsys.readouterr().err  # argparse prints its usage error itself
