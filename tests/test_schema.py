"""pipeline/schema.py is the one source: docs/schema.md and sql/schema.sql follow it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipeline.schema import (
    JOB_INFO,
    SQL_TYPES,
    TABLES,
    TableSpec,
    describe,
    render_ddl,
    render_markdown,
)

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = (
    "run `python -m pipeline.schema > docs/schema.md` and "
    "`python -m pipeline.schema --ddl > sql/schema.sql`"
)
#: what DuckDB's DESCRIBE says for each portable type (independent of SQL_TYPES)
DUCKDB_NAMES = {
    "int64": "BIGINT",
    "int32": "INTEGER",
    "string": "VARCHAR",
    "bool": "BOOLEAN",
    "double": "DOUBLE",
    "timestamp[us, tz=UTC]": "TIMESTAMP WITH TIME ZONE",
}


def test_docs_schema_md_is_generated_from_the_schema() -> None:
    text = (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    assert text == render_markdown(), REGENERATE


def test_sql_schema_sql_is_generated_from_the_schema() -> None:
    text = (ROOT / "sql" / "schema.sql").read_text(encoding="utf-8")
    assert text == render_ddl(), REGENERATE


def test_module_prints_both() -> None:
    for args, want in (([], render_markdown()), (["--ddl"], render_ddl())):
        done = subprocess.run(
            [sys.executable, "-m", "pipeline.schema", *args],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        assert done.stdout == want


def test_ddl_creates_every_table_with_its_columns_and_types() -> None:
    con = duckdb.connect()
    con.execute((ROOT / "sql" / "schema.sql").read_text(encoding="utf-8"))
    for name, spec in TABLES.items():
        described = [(r[0], r[1]) for r in con.execute(f"DESCRIBE {name}").fetchall()]
        assert described == [(f.name, DUCKDB_NAMES[str(f.type)]) for f in spec.schema], name


def test_ddl_uses_only_portable_types() -> None:
    code = "\n".join(ln.split("--")[0] for ln in render_ddl().splitlines())
    types = set(re.findall(r"^    \w+ +(.+?),?$", code, re.MULTILINE))
    assert types and types <= set(SQL_TYPES.values())


@pytest.mark.parametrize("spec", [*TABLES.values(), JOB_INFO], ids=lambda s: s.name)
def test_every_column_has_a_description_and_a_known_type(spec: TableSpec) -> None:
    for field in spec.schema:
        assert describe(field).strip(), field.name
        assert field.type in SQL_TYPES, field.name
    assert set(spec.key) <= set(spec.schema.names)
    assert set(spec.partition_by) <= set(spec.schema.names)


def test_published_tables() -> None:
    assert list(TABLES) == ["steps", "step_hosts", "fetch_errors", "jobs", "step_host_logs"]
    assert JOB_INFO.name not in TABLES  # staged by a run, folded into jobs at commit
    assert TABLES["jobs"].partition_by == TABLES["steps"].partition_by
