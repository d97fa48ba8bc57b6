"""Every rollup, as sent to the engines (views included), parses on DuckDB and stays inside the subset
of SQL that Trino/Athena reads the same way (see sql_dialect.py for what is and is not checked). The
checker itself is shown to reject the DuckDB-only constructs it exists to keep out."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from functions.analytics.duckdb_runner import DuckDBRunner
from functions.analytics.rollups import TABLES, VIEWS, load_rollup, rollup_names, view_text
from tests.analytics.sql_dialect import DialectViolation, check

READABLE = frozenset(TABLES)
SAMPLE_ARGUMENTS = {"DATE": date(2025, 3, 14), "INTEGER": 28, "VARCHAR": "title"}


def test_there_are_rollups_for_every_measure_the_issue_names() -> None:
    assert set(rollup_names()) >= {"engagement", "growth", "launch_comparison", "launch_curve", "campaign_windows"}


@pytest.mark.parametrize("name", rollup_names())
def test_rollup_is_in_the_common_dialect(name: str) -> None:
    query = load_rollup(name)
    report = check(query.composed(), READABLE)
    assert report.functions and report.tables & READABLE, "the walk saw the functions and tables it checked"
    assert query.composed().count("?") == len(query.parameters), "each parameter is read exactly once, in its declared order"


@pytest.mark.parametrize("name", VIEWS)
def test_view_is_in_the_common_dialect(name: str) -> None:
    earlier = VIEWS[: VIEWS.index(name)]
    check(view_text(name), READABLE | set(earlier))


@pytest.mark.parametrize("name", rollup_names())
def test_rollup_binds_and_runs_on_duckdb_over_an_empty_store(name: str, tmp_path: Path) -> None:
    query = load_rollup(name)
    arguments = {p.name: SAMPLE_ARGUMENTS[p.type] for p in query.parameters}
    assert DuckDBRunner(tmp_path).run(query, arguments) == []


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("SELECT x::DATE AS d FROM facts", "not written CAST"),
        ("SELECT entity_id FROM facts QUALIFY ROW_NUMBER() OVER (ORDER BY value ASC NULLS LAST) = 1", "QUALIFY"),
        ("SELECT metric, SUM(value) AS v FROM facts GROUP BY ALL", "GROUP BY ALL"),
        ("SELECT * EXCLUDE (value) FROM facts", "EXCLUDE"),
        ("SELECT [1, 2] AS l FROM facts", "list literal"),
        ("SELECT entity_id FROM read_parquet('x.parquet')", "not on the allow-list"),
        ("SELECT entity_id FROM other_table", "neither a registered table"),
        ("SELECT date_add(CAST(? AS DATE), INTERVAL 1 DAY) AS d FROM facts", r"date_add\(\) is not on the allow-list"),
        ("SELECT entity_id FROM facts ORDER BY entity_id", "NULLS FIRST/LAST"),
        ("SELECT entity_id FROM facts WHERE date > CAST(? AS DATE)", "bare 'date'"),
        ("SELECT entity_id AS grouping FROM facts", "reserved keyword"),
        ("SELECT entity_id FROM facts WHERE metric ILIKE 'a%'", "ILIKE"),
        ("SELECT list_sum(x) AS s FROM facts", r"list_sum\(\) is not on the allow-list"),
        ("SELECT TRY_CAST(value AS DOUBLE) AS v FROM facts", "TRY_CAST"),
        ("SELECT a.entity_id FROM facts a ASOF JOIN facts b ON a.value >= b.value", "ASOF"),
        ("SELECT a.entity_id FROM facts a JOIN facts b USING (entity_id)", "USING"),
        ("SELECT DISTINCT ON (metric) metric FROM facts", "DISTINCT ON"),
        ("SELECT COLUMNS('val.*') FROM facts", "COLUMNS"),
    ],
)
def test_the_checker_rejects_duckdb_only_constructs(sql: str, reason: str) -> None:
    with pytest.raises(DialectViolation, match=reason):
        check(sql, READABLE)
