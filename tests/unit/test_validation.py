"""Per-product data-quality rules: ISBN-13, territory codes, description sanitising, titles, part numbers."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.flow_names import FlowName
from functions.domain.validation import (
    classify_territory_codes,
    is_valid_isbn13,
    isbn_findings,
    parse_part_number,
    part_number_findings,
    plain_text,
    sanitise_description,
    summary_with_findings,
    territory_findings,
    title_findings,
    truncate_at_word,
)


def check_digit(first_twelve: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first_twelve))
    return str((10 - total % 10) % 10)


# ------------------------------------------------------------------------------------------- ISBN
@pytest.mark.parametrize("isbn", ["9780306406157", "978-0-306-40615-7", "978 0 306 40615 7", "9791032305690"])
def test_valid_isbn13s_pass(isbn: str) -> None:
    assert is_valid_isbn13(isbn)


@pytest.mark.parametrize(
    "isbn",
    ["9780306406158", "978030640615", "97803064061570", "0306406152", "9770306406157", "97803064O6157", ""],
    ids=["check digit", "12 digits", "14 digits", "isbn-10", "not 978/979", "letter O", "empty"],
)
def test_invalid_isbn13s_fail(isbn: str) -> None:
    assert not is_valid_isbn13(isbn)


@given(st.sampled_from(["978", "979"]), st.text(alphabet="0123456789", min_size=9, max_size=9), st.integers(1, 9))
def test_only_the_right_check_digit_validates(prefix: str, body: str, offset: int) -> None:
    twelve = prefix + body
    right = check_digit(twelve)
    wrong = str((int(right) + offset) % 10)
    assert is_valid_isbn13(twelve + right)
    assert not is_valid_isbn13(twelve + wrong)


def test_isbn_findings_block_only_a_present_invalid_isbn() -> None:
    assert isbn_findings(None, 1) == []
    assert isbn_findings("9780306406157", 1) == []
    [problem] = isbn_findings("9780306406158", 7)
    assert problem.code == "invalid_isbn" and problem.blocking
    assert problem.entity == "episode#7" and problem.flow == FlowName.CONSONANCE_POLLER == "consonance-poller"


# ------------------------------------------------------------------------------------------- territories
def test_territory_codes_are_normalised_and_unknowns_set_apart() -> None:
    codes = classify_territory_codes(["gb", "IE", "GB", " au ", "UK", "WORLD", "ECZ", "XK"])

    assert codes.countries == ("AU", "GB", "IE", "XK")
    assert codes.world is True
    assert codes.unknown == ("UK", "ECZ")


def test_the_full_iso_list_is_known() -> None:
    codes = classify_territory_codes(["US", "CA", "ZW", "AX", "SS", "BQ", "VA"])
    assert codes.unknown == () and len(codes.countries) == 7


def test_unknown_for_sale_codes_only_narrow_so_they_do_not_block() -> None:
    [problem] = territory_findings(classify_territory_codes(["GB", "UK"]), classify_territory_codes([]), 5)
    assert problem.code == "unknown_territory_code" and not problem.blocking and "UK" in problem.message


def test_unknown_not_for_sale_codes_could_widen_so_they_block() -> None:
    [problem] = territory_findings(classify_territory_codes(["GB"]), classify_territory_codes(["U.S."]), 5)
    assert problem.code == "unknown_territory_code" and problem.blocking and "U.S." in problem.message


def test_world_in_the_not_for_sale_list_is_not_guessed_at() -> None:
    [problem] = territory_findings(classify_territory_codes([]), classify_territory_codes(["WORLD"]), 5)
    assert problem.blocking and "WORLD" in problem.message


# ------------------------------------------------------------------------------------------- descriptions
def test_script_style_and_iframe_are_removed_with_their_content() -> None:
    cleaned = sanitise_description(
        "<p>Hello</p><script>alert('x')</script><style>p{color:red}</style>"
        "<iframe src='https://evil.example'>inside</iframe><p>world</p>"
    )
    assert cleaned.html == "<p>Hello</p><p>world</p>"
    assert cleaned.removed == ("<script>", "<style>", "<iframe>")


def test_event_handlers_and_javascript_urls_are_dropped() -> None:
    cleaned = sanitise_description(
        '<p onclick="steal()">Read <a href="javascript:alert(1)">this</a> and '
        '<a href=" JaVaScRiPt:alert(2)">that</a> and <a href="https://larkspurvine.example/x?a=1&b=2" target="_blank">more</a></p>'
    )
    assert cleaned.html == (
        '<p>Read <a>this</a> and <a>that</a> and <a href="https://larkspurvine.example/x?a=1&amp;b=2">more</a></p>'
    )
    assert cleaned.removed == ("onclick attribute", "javascript: URL")


def test_the_safe_subset_is_kept_and_other_tags_keep_only_their_text() -> None:
    cleaned = sanitise_description(
        "<div class='x'><h2>Title</h2><p><b>b</b> <strong>s</strong> <i>i</i> <em>e</em><br/>"
        "<ul><li>one</li></ul><ol><li>two</li></ol><span style='x'>plain</span></p></div>"
    )
    assert cleaned.html == (
        "Title<p><b>b</b> <strong>s</strong> <i>i</i> <em>e</em><br><ul><li>one</li></ul><ol><li>two</li></ol>plain</p>"
    )
    assert cleaned.removed == ()


def test_text_is_escaped_and_unclosed_tags_are_closed() -> None:
    cleaned = sanitise_description("<p>5 &lt; 6 & <em>rising")
    assert cleaned.html == "<p>5 &lt; 6 &amp; <em>rising</em></p>"


def test_self_closing_script_and_mailto_links() -> None:
    cleaned = sanitise_description('<script src="x.js"/><p><a href="mailto:hello@larkspurvine.example">write</a></p>')
    assert cleaned.html == '<p><a href="mailto:hello@larkspurvine.example">write</a></p>'
    assert cleaned.removed == ("<script>",)


@given(st.lists(st.sampled_from(["<script>", "</script>", "<p onmouseover='x()'>", "</p>", "<a href='javascript:y()'>", "</a>",
                                 "<iframe>", "</iframe>", "text", " ", "<b>", "</b>", "&lt;script&gt;", "<", ">"]), max_size=20))
def test_no_executable_markup_survives(pieces: list[str]) -> None:
    cleaned = sanitise_description("".join(pieces)).html
    assert "<script" not in cleaned.lower()
    assert "<iframe" not in cleaned.lower()
    assert not re.search(r"\son\w+\s*=", cleaned)
    assert "javascript:" not in cleaned.lower()


def test_plain_text_and_word_truncation() -> None:
    assert plain_text("<p>One</p><p>Two &amp; three</p>") == "One Two & three"
    assert truncate_at_word("The quick brown fox", 100) == "The quick brown fox"
    assert truncate_at_word("The quick brown fox", 12) == "The quick…"
    assert len(truncate_at_word("x" * 50, 10)) == 10


def test_a_description_with_script_is_a_non_blocking_finding() -> None:
    summary, findings = summary_with_findings("<p>Hi</p><script>x()</script>", 4000, 3)
    assert summary == "<p>Hi</p>"
    [problem] = findings
    assert problem.code == "unsafe_description" and not problem.blocking and "<script>" in problem.message


def test_an_over_long_description_becomes_shortened_plain_text() -> None:
    summary, findings = summary_with_findings("<p>" + "word " * 100 + "</p>", 60, 3)
    assert len(summary) <= 60 and summary.endswith("…") and "<p>" not in summary
    assert [(f.code, f.blocking) for f in findings] == [("summary_truncated", False)]


# ------------------------------------------------------------------------------------------- titles and part numbers
def test_title_rules() -> None:
    assert title_findings("A title", 1, 10) == []
    assert title_findings("x" * 10, 1, 10) == []
    [too_long] = title_findings("x" * 11, 1, 10)
    [missing] = title_findings("   ", 1, 10)
    assert too_long.code == "title_too_long" and too_long.blocking and "11" in too_long.message
    assert missing.code == "missing_title" and missing.blocking


@pytest.mark.parametrize(("raw", "number"), [("7", 7), (" 07 ", 7), ("12", 12), ("7a", None), ("two", None), ("", None), (None, None)])
def test_part_numbers_are_whole_numbers(raw: str | None, number: int | None) -> None:
    assert parse_part_number(raw) == number


def test_part_number_findings() -> None:
    assert part_number_findings("3", 1) == []
    assert [f.code for f in part_number_findings(None, 1)] == ["missing_part_number"]
    assert [f.code for f in part_number_findings(" ", 1)] == ["missing_part_number"]
    [invalid] = part_number_findings("3b", 1)
    assert invalid.code == "invalid_part_number" and invalid.blocking
