"""Checks that a SELECT stays inside the subset of SQL that DuckDB and Trino (Athena engine v3) read
with the same meaning. Athena cannot run here, so this is what is checked, and what is not:

Checked
- DuckDB parses it (`json_serialize_sql`), and the resulting syntax tree uses only allow-listed nodes:
  every expression class, operator, function, cast target, join kind, set operation, modifier and
  table reference is named below with why it means the same on Trino. Anything else fails (closed).
- Casts are written `CAST(x AS T)` (DuckDB's `x::T` parses to the same node, so its text is checked).
- ORDER BY always says its direction and NULLS FIRST/LAST (the engines' defaults are not relied on).
- No identifier is a Trino reserved keyword; the partition column `date` is always written `"date"`
  (DATE is reserved in Athena's DDL and is a type name).
- The raw text (comments and string literals removed) holds none of the DuckDB-only tokens below.
- Tables read are only the registered ones (`facts`, `dim_*`) and the query's own CTEs: no table
  functions, no file paths, no catalog or schema names.

Not checked (by construction or by the DuckDB runner instead)
- Semantics the tree cannot show: integer division (the DuckDB runner sets `integer_division = true`,
  Trino's behaviour), NULL handling of aggregates (the same in both), implicit casts between DATE and
  VARCHAR (the SQL casts explicitly).
- That Athena accepts the query: only a run on Athena proves that.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb

# name -> why it means the same on both engines
FUNCTIONS: dict[str, str] = {
    "sum": "aggregate; NULL when no rows, on both",
    "count": "aggregate (also COUNT(DISTINCT x))",
    "count_star": "COUNT(*)",
    "min": "aggregate",
    "max": "aggregate",
    "avg": "aggregate",
    "nullif": "standard SQL",
    "least": "returns NULL if any argument is NULL on both",
    "greatest": "returns NULL if any argument is NULL on both",
    "date_diff": "date_diff(unit, a, b) = b - a in whole units on both (Trino: date_diff; DuckDB: date_diff)",
    "round": "round(x, n)",
    "abs": "abs(x)",
    "+": "arithmetic",
    "-": "arithmetic",
    "*": "arithmetic",
    "/": "division (integer division made Trino-like in the DuckDB runner)",
}
WINDOW_FUNCTIONS = frozenset({"row_number"})
EXPRESSION_TYPES = frozenset(
    {
        "COLUMN_REF",
        "VALUE_CONSTANT",
        "VALUE_PARAMETER",
        "OPERATOR_CAST",
        "CASE_EXPR",
        "COMPARE_EQUAL",
        "COMPARE_NOTEQUAL",
        "COMPARE_LESSTHAN",
        "COMPARE_GREATERTHAN",
        "COMPARE_LESSTHANOREQUALTO",
        "COMPARE_GREATERTHANOREQUALTO",
        "COMPARE_BETWEEN",
        "COMPARE_IN",
        "COMPARE_NOT_IN",
        "CONJUNCTION_AND",
        "CONJUNCTION_OR",
        "OPERATOR_NOT",
        "OPERATOR_IS_NULL",
        "OPERATOR_IS_NOT_NULL",
        "OPERATOR_COALESCE",
        "FUNCTION",
        "WINDOW_ROW_NUMBER",
        "TYPE",
        "STAR",
    }
)
CAST_TYPES = frozenset({"DATE", "INTEGER", "BIGINT", "DOUBLE", "VARCHAR", "BOOLEAN"})
CONSTANT_KINDS = frozenset({"INTEGER", "BIGINT", "DECIMAL", "DOUBLE", "STRING", "NULL_LITERAL", "BOOLEAN"})
TABLE_REF_TYPES = frozenset({"BASE_TABLE", "SUBQUERY", "JOIN", "EMPTY", "EXPRESSION_LIST"})  # EXPRESSION_LIST: (VALUES …) AS t (c)
JOIN_KINDS = frozenset({("REGULAR", "INNER"), ("REGULAR", "LEFT"), ("CROSS", "INNER")})
SET_OPERATIONS = frozenset({"UNION", "EXCEPT", "INTERSECT"})
MODIFIERS = frozenset({"ORDER_MODIFIER", "DISTINCT_MODIFIER", "LIMIT_MODIFIER"})

# Trino's reserved keywords (docs: "Reserved keywords" of the SQL language page); an identifier may not be one.
TRINO_RESERVED = frozenset(
    """ALTER AND AS BETWEEN BY CASE CAST CONSTRAINT CREATE CROSS CUBE CURRENT_CATALOG CURRENT_DATE CURRENT_PATH
    CURRENT_ROLE CURRENT_SCHEMA CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER DEALLOCATE DELETE DESCRIBE DISTINCT DROP
    ELSE END ESCAPE EXCEPT EXECUTE EXISTS EXTRACT FALSE FOR FROM FULL FUNCTION GROUP GROUPING HAVING IN INNER INSERT
    INTERSECT INTO IS JOIN JSON_ARRAY JSON_EXISTS JSON_OBJECT JSON_QUERY JSON_TABLE JSON_VALUE LEFT LIKE LISTAGG
    LOCALTIME LOCALTIMESTAMP NATURAL NORMALIZE NOT NULL ON OR ORDER OUTER PREPARE RECURSIVE RIGHT ROLLUP SELECT SKIP
    TABLE THEN TRIM TRUE UESCAPE UNION UNNEST USING VALUES WHEN WHERE WITH""".split()
)
# DuckDB-only syntax, searched in the text without comments and string literals.
FORBIDDEN_TOKENS: dict[str, str] = {
    "::": "DuckDB cast shorthand",
    "`": "backtick quoting (Hive DDL only)",
    "[": "list literal or subscript",
    "{": "struct literal",
    ";": "more than one statement",
    "->": "lambda or JSON arrow",
    "**": "power operator",
    "//": "integer division operator",
    "$": "positional parameter",
    "!=": "use <>",
    "==": "use =",
}
FORBIDDEN_WORDS: dict[str, str] = {
    "QUALIFY": "DuckDB's QUALIFY",
    "EXCLUDE": "SELECT * EXCLUDE",
    "REPLACE": "SELECT * REPLACE",
    "ILIKE": "DuckDB's ILIKE",
    "GLOB": "DuckDB's GLOB",
    "PIVOT": "PIVOT",
    "UNPIVOT": "UNPIVOT",
    "ASOF": "ASOF join",
    "POSITIONAL": "POSITIONAL join",
    "SEMI": "SEMI join",
    "ANTI": "ANTI join",
    "SAMPLE": "USING SAMPLE",
    "COLUMNS": "COLUMNS(*) expression",
    "LAMBDA": "lambda",
    "MATERIALIZED": "CTE materialisation hint",
    "FILTER": "aggregate FILTER clause (valid on Trino too, but kept to CASE for one style)",
}


class DialectViolation(AssertionError):
    pass


@dataclass
class Report:
    """What a query uses (for the test's messages) and what it must not."""

    functions: set[str] = field(default_factory=set)
    tables: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def strip_comments_and_strings(sql: str) -> str:
    """The SQL with `-- …` comments and '…' literals blanked (same length, so offsets still match)."""
    out = []
    i = 0
    while i < len(sql):
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            end = len(sql) if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif sql[i] == "'":
            end = i + 1
            while end < len(sql):
                if sql[end] == "'" and sql.startswith("''", end):
                    end += 2
                    continue
                if sql[end] == "'":
                    break
                end += 1
            out.append("'" + " " * (end - i - 1) + "'")
            i = end + 1
        else:
            out.append(sql[i])
            i += 1
    return "".join(out)


def check(sql: str, tables: frozenset[str]) -> Report:
    """Raise `DialectViolation` listing every construct outside the common subset."""
    report = Report()
    code = strip_comments_and_strings(sql)
    for token, why in FORBIDDEN_TOKENS.items():
        if token in code:
            report.problems.append(f"token {token!r}: {why}")
    for word, why in FORBIDDEN_WORDS.items():
        if re.search(rf"\b{word}\b", code, re.IGNORECASE):
            report.problems.append(f"keyword {word}: {why}")
    for match in re.finditer(r'"([^"]*)"', code):
        if match.group(1) != "date":
            report.problems.append(f'quoted identifier "{match.group(1)}": only "date" needs quoting')
    for match in re.finditer(r"\bdate\b", code, re.IGNORECASE):
        quoted = code[max(0, match.start() - 1) : match.start()] == '"'
        as_type = re.search(r"\bAS\s+$", code[max(0, match.start() - 10) : match.start()], re.IGNORECASE)
        if not quoted and not as_type:
            report.problems.append(f"bare 'date' at offset {match.start()}: write \"date\" for the column")

    parsed = json.loads(duckdb.connect().execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])
    if parsed.get("error"):
        raise DialectViolation(f"DuckDB cannot parse it: {parsed.get('error_message')}")
    if len(parsed["statements"]) != 1:
        report.problems.append("exactly one SELECT statement expected")
    ctes = set(_cte_names(parsed))
    for problem in _walk(parsed["statements"][0]["node"], sql, tables | ctes, report):
        report.problems.append(problem)
    for name in ctes:
        if name.upper() in TRINO_RESERVED:
            report.problems.append(f"CTE name {name!r} is a Trino reserved keyword")
    if report.problems:
        raise DialectViolation("\n".join(sorted(set(report.problems))))
    return report


def _cte_names(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for entry in node.get("cte_map", {}).get("map", []) if isinstance(node.get("cte_map"), dict) else []:
            yield entry["key"]
        for value in node.values():
            yield from _cte_names(value)
    elif isinstance(node, list):
        for value in node:
            yield from _cte_names(value)


def _walk(node: Any, sql: str, readable: frozenset[str] | set[str], report: Report) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, sql, readable, report)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if "class" in node:
        yield from _expression(node, sql, report)
    elif kind in ("SELECT_NODE", "SET_OPERATION_NODE", "CTE_NODE"):
        yield from _query_node(node)
    elif kind in MODIFIERS:
        yield from _modifier(node)
    elif kind in TABLE_REF_TYPES:
        yield from _table_ref(node, readable, report)
    elif kind is not None and kind not in ("EMPTY",) and "expression" not in node and "query_node" not in node:
        yield f"syntax node {kind!r} is not on the allow-list"
    alias = node.get("alias")
    if isinstance(alias, str) and alias.upper() in TRINO_RESERVED:
        yield f"alias {alias!r} is a Trino reserved keyword"
    for key, value in node.items():
        if key in ("type_expr",):
            continue
        yield from _walk(value, sql, readable, report)


def _expression(node: dict[str, Any], sql: str, report: Report) -> Iterator[str]:
    kind = node["type"]
    if kind not in EXPRESSION_TYPES:
        yield f"expression {node['class']}/{kind} is not on the allow-list"
        return
    if kind == "COLUMN_REF":
        for part in node["column_names"]:
            if part.upper() in TRINO_RESERVED:
                yield f"column {part!r} is a Trino reserved keyword"
    elif kind == "VALUE_CONSTANT":
        literal_kind = node["literal"]["kind"] if isinstance(node.get("literal"), dict) else "?"
        if literal_kind not in CONSTANT_KINDS:
            yield f"constant of kind {literal_kind} is not on the allow-list"
    elif kind == "OPERATOR_CAST":
        target = node["type_expr"]["type_name"].upper()
        if target not in CAST_TYPES:
            yield f"cast to {target} is not on the allow-list"
        if node.get("try_cast"):
            yield "TRY_CAST: Trino has try_cast(), but its failures differ; not allowed"
        if not sql[node["query_location"] : node["query_location"] + 4].upper() == "CAST":
            yield f"cast at offset {node['query_location']} is not written CAST(x AS T)"
    elif kind == "FUNCTION":
        name = node["function_name"]
        report.functions.add(name)
        if name not in FUNCTIONS:
            yield f"function {name}() is not on the allow-list"
        if node.get("distinct") and name != "count":
            yield f"{name}(DISTINCT …) is not on the allow-list"
        if node.get("filter") or node.get("order_bys", {}).get("orders") or node.get("export_state"):
            yield f"{name}() with FILTER, ORDER BY or EXPORT_STATE is not on the allow-list"
        if node.get("schema") or node.get("catalog"):
            yield f"{name}() is qualified with a schema"
    elif kind == "STAR":
        if node.get("exclude_list") or node.get("replace_list") or node.get("rename_list") or node.get("qualified_exclude_list") or node.get("columns") or node.get("expr"):
            yield "SELECT * with EXCLUDE/REPLACE/RENAME or COLUMNS(): DuckDB only"
    elif kind == "WINDOW_ROW_NUMBER":
        report.functions.add("row_number")
        if node.get("filter_expr") is not None or node.get("ignore_nulls"):
            yield "window with FILTER or IGNORE NULLS is not on the allow-list"
        for order in node.get("orders", []):
            yield from _order(order)


def _query_node(node: dict[str, Any]) -> Iterator[str]:
    if node["type"] == "SELECT_NODE":
        if node.get("aggregate_handling") != "STANDARD_HANDLING":
            yield "GROUP BY ALL is not on the allow-list"
        if node.get("qualify") is not None:
            yield "QUALIFY is not on the allow-list"
        if node.get("sample") is not None:
            yield "USING SAMPLE is not on the allow-list"
    if node["type"] == "SET_OPERATION_NODE" and node.get("setop_type") not in SET_OPERATIONS:
        yield f"set operation {node.get('setop_type')} is not on the allow-list"
    for entry in node.get("cte_map", {}).get("map", []):
        value = entry["value"]
        if value.get("materialized") != "CTE_MATERIALIZE_DEFAULT":
            yield f"CTE {entry['key']} carries a materialisation hint"
        if value.get("key_targets"):
            yield f"CTE {entry['key']} uses USING KEY (recursive)"


def _modifier(node: dict[str, Any]) -> Iterator[str]:
    if node["type"] == "ORDER_MODIFIER":
        for order in node["orders"]:
            yield from _order(order)
    if node["type"] == "DISTINCT_MODIFIER" and node.get("distinct_on_targets"):
        yield "DISTINCT ON is not on the allow-list"


def _order(order: dict[str, Any]) -> Iterator[str]:
    if order["type"] not in ("ASCENDING", "DESCENDING"):
        yield "ORDER BY without ASC/DESC: say the direction"
    if order["null_order"] not in ("NULLS LAST", "NULLS FIRST"):
        yield "ORDER BY without NULLS FIRST/LAST: the engines' defaults are not relied on"


def _table_ref(node: dict[str, Any], readable: frozenset[str] | set[str], report: Report) -> Iterator[str]:
    kind = node["type"]
    if kind == "BASE_TABLE":
        name = node["table_name"]
        report.tables.add(name)
        if node.get("schema_name") or node.get("catalog_name"):
            yield f"table {name} is qualified with a schema or catalog (the runner sets the database)"
        if name not in readable:
            yield f"table {name!r} is neither a registered table nor a CTE"
        if node.get("sample") is not None:
            yield "TABLESAMPLE is not on the allow-list"
    if kind == "JOIN":
        combination = (node.get("ref_type"), node.get("join_type"))
        if combination not in JOIN_KINDS:
            yield f"join {combination} is not on the allow-list"
        if node.get("using_columns"):
            yield "JOIN … USING is not on the allow-list (write ON)"
