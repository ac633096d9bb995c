"""The run information of ``manifest.json``, cleaned for the report's footer.

Only known keys are shown; an API URL loses any user, password, query and fragment, so that
no secret can reach the report even if a manifest holds one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

#: manifest keys shown in the footer, in this order, with their labels
SHOWN: tuple[tuple[str, str], ...] = (
    ("run_id", "Run ID"),
    ("started_at", "Started"),
    ("finished_at", "Finished"),
    ("tool_version", "Tool version"),
    ("api_url", "API URL"),
    ("exit_code", "Exit status"),
    ("requested", "IDs requested"),
    ("exported", "Steps exported"),
    ("failed", "IDs failed"),
    ("counts", "Rows written"),
)
MAX_WARNINGS = 20


@dataclass(frozen=True)
class RunInfo:
    """What the footer says about the run that wrote the dataset."""

    items: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    warnings_total: int = 0
    #: why there is no run information ("no manifest.json", ...), else None
    problem: str | None = None


def safe_url(url: str) -> str:
    """``url`` without user info, query or fragment."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparseable URL)"
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _text(key: str, value: object) -> str:
    if key == "api_url" and isinstance(value, str):
        return safe_url(value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return "" if value is None else str(value)


def read_manifest(data_dir: Path) -> RunInfo:
    """The run information in ``data_dir/manifest.json``; never raises."""
    path = data_dir / "manifest.json"
    if not path.is_file():
        return RunInfo(problem="no manifest.json in the dataset folder")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return RunInfo(problem="manifest.json could not be read")
    if not isinstance(data, dict):
        return RunInfo(problem="manifest.json is not a JSON object")
    items = [(label, _text(key, data[key])) for key, label in SHOWN if key in data]
    warnings = data.get("warnings")
    warnings = [str(w) for w in warnings] if isinstance(warnings, list) else []
    return RunInfo(items=items, warnings=warnings[:MAX_WARNINGS], warnings_total=len(warnings))
