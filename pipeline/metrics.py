"""The run's figures in the Prometheus text format, for node_exporter's textfile
collector: alert on a failed night (exit code) or a missed one (last run timestamp)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pipeline.manifest import Manifest

PREFIX = "bkjob_export"


def render(manifest: Manifest) -> str:
    duration = (manifest.finished_at - manifest.started_at).total_seconds()
    rows: list[tuple[str, str, str, float]] = [
        ("requested", "gauge", "Items asked for in the last run.", manifest.requested),
        ("exported_steps", "gauge", "Steps written by the last run.", manifest.exported),
        ("failed", "gauge", "Rows the last run wrote to fetch_errors.", manifest.failed),
        ("resumed", "gauge", "Items a resumed run took from its checkpoints.", manifest.resumed),
        ("retries", "gauge", "Retried API calls in the last run.", manifest.retries),
        ("warnings", "gauge", "Warnings of the last run.", len(manifest.warnings)),
        ("exit_code", "gauge", "Exit status of the last run.", manifest.exit_code),
        ("duration_seconds", "gauge", "Wall time of the last run.", duration),
        (
            "last_run_timestamp_seconds",
            "gauge",
            "When the last run finished (Unix time).",
            manifest.finished_at.timestamp(),
        ),
    ]
    lines: list[str] = []
    for name, kind, help_text, value in rows:
        lines += [f"# HELP {PREFIX}_{name} {help_text}", f"# TYPE {PREFIX}_{name} {kind}"]
        # repr keeps every digit: ':g' would round a Unix time to the nearest ~1000 s
        lines.append(f"{PREFIX}_{name} {value!r}")
    metric = f"{PREFIX}_rows_written"
    lines += [f"# HELP {metric} Rows written per table by the last run.", f"# TYPE {metric} gauge"]
    for table, count in sorted(manifest.counts.items()):
        lines.append(f'{metric}{{table="{table}"}} {count}')
    return "\n".join(lines) + "\n"


def write_metrics(path: Path, manifest: Manifest) -> None:
    """Atomic, so the collector never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(render(manifest))
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
