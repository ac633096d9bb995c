"""Where the SQL files and the report templates live, installed or in a source checkout.

A wheel carries them as package data: the build maps the top-level ``sql/`` and
``reports/templates/`` folders to ``pipeline/_resources/sql`` and
``pipeline/_resources/templates`` (hatchling ``force-include`` in pyproject.toml). A source
checkout or an editable install has no ``_resources``; there the top-level folders are used.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_PACKAGE = "pipeline"
_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def _find(packaged: str, source: Path) -> Path:
    """The packaged folder ``pipeline/_resources/<packaged>`` if present, else ``source``."""
    candidate = resources.files(_PACKAGE).joinpath("_resources", packaged)
    if isinstance(candidate, Path) and candidate.is_dir():
        return candidate
    if source.is_dir():
        return source
    raise FileNotFoundError(
        f"bkjob-export resources not found: neither the package data "
        f"pipeline/_resources/{packaged} nor {source} exists; reinstall bkjob-export"
    )


def sql_dir() -> Path:
    """The folder holding ``views.sql`` and ``metrics/*.sql``."""
    return _find("sql", _SOURCE_ROOT / "sql")


def templates_dir() -> Path:
    """The folder holding the report's Jinja templates (``base.html``, ``report.html``, ...)."""
    return _find("templates", _SOURCE_ROOT / "reports" / "templates")
