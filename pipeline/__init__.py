"""bkjob-export: BlueKing JOB step and host results as Parquet/CSV datasets and an HTML report.

From Python::

    from pipeline import Settings, StepRef, run
    result = run(Settings(api_url=..., app_code=..., ...), [StepRef(2, 490001, 790001)])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["JobRef", "Settings", "StepRef", "__version__", "fetch", "render_report", "run"]

if TYPE_CHECKING:
    from pipeline.config import Settings
    from pipeline.ids import JobRef, StepRef
    from pipeline.report import render_report
    from pipeline.runner import fetch, run

_LAZY = {
    "Settings": "pipeline.config",
    "JobRef": "pipeline.ids",
    "StepRef": "pipeline.ids",
    "render_report": "pipeline.report",
    "fetch": "pipeline.runner",
    "run": "pipeline.runner",
}


def __getattr__(name: str) -> Any:
    # Lazy, so `import pipeline` stays cheap and the CLI starts fast.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
