"""``manifest.json``: what the last run did, for people, cron wrappers and the report.

Written atomically (temp file, fsync, rename). Each run's manifest is also kept under
``OUT/_runs/<run_id>.json`` as the run history. Holds no secret: the API URL is stored
without user info, query or fragment.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pipeline import __version__

MANIFEST_NAME = "manifest.json"
RUNS_DIR = "_runs"


def public_url(url: str | None) -> str | None:
    """The URL without credentials, query or fragment."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@dataclass
class Manifest:
    run_id: str
    started_at: datetime
    finished_at: datetime
    api_url: str | None
    exit_code: int
    requested: int
    exported: int
    failed: int
    counts: dict[str, int]
    warnings: list[str] = field(default_factory=list)
    command: str = "run"
    format: str = "parquet"
    resumed: int = 0
    retries: int = 0
    tool_version: str = __version__

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["finished_at"] = self.finished_at.isoformat()
        data["api_url"] = public_url(self.api_url)
        return data


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the manifest is for everyone who reads OUT
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_manifest(out: Path, manifest: Manifest) -> Path:
    data = manifest.to_json()
    write_json_atomic(out / RUNS_DIR / f"{manifest.run_id}.json", data)
    path = out / MANIFEST_NAME
    write_json_atomic(path, data)
    return path


def read_manifest(out: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
