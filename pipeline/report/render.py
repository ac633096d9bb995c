"""``render_report``: dataset -> DuckDB views -> metric queries -> context -> HTML file.

Without ``since`` it renders the nightly report of the whole dataset (``report.html``); with
``since`` the incident view of one window (``incident.html``).
"""

from __future__ import annotations

import os
from contextlib import suppress
from dataclasses import fields
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pipeline.errors import OutputError
from pipeline.report.dataset import locate
from pipeline.report.formatting import FILTERS
from pipeline.report.incident import incident_context
from pipeline.report.nightly import DEFAULT_TITLE, nightly_context
from pipeline.report.window import Ids, When, Window, make_window
from pipeline.resources import templates_dir

REPORT_NAME = "report.html"

__all__ = ["DEFAULT_TITLE", "REPORT_NAME", "environment", "render_page", "render_report"]


@cache
def environment(folder: Path) -> Environment:
    """The one Jinja environment for the templates in ``folder`` (built once per folder)."""
    env = Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env


def render_report(
    data_dir: str | Path,
    html: str | Path | None = None,
    *,
    title: str | None = None,
    since: When | None = None,
    until: When | None = None,
    biz: Ids | None = None,
    job: Ids | None = None,
    api_timezone: str | None = None,
) -> Path:
    """Render the HTML report of the dataset in ``data_dir``; return the file written.

    Without ``since``: the nightly report of the whole dataset, written to
    ``data_dir/report.html`` unless ``html`` names another file. With ``since``: the incident
    view of the window [since, until) (``until`` defaults to now), optionally only for the
    businesses ``biz`` and job instances ``job`` (an ID, a list, or ``"2,3"``), written to
    ``html`` or ``data_dir/incident-<since>-<until>.html``. Times are ISO-8601 (without an
    offset: in ``api_timezone``, default Asia/Shanghai) or a span before now (``6h``); the
    incident page shows times in ``api_timezone``.

    The file is written under a temporary name and renamed into place. Raises
    :class:`~pipeline.errors.UsageError` for bad options or when ``data_dir`` is missing or
    holds no dataset, :class:`~pipeline.errors.OutputError` when the files cannot be read or
    the report cannot be written. An empty dataset or window gives a "no data" page.
    """
    window = make_window(since, until, biz=biz, job=job, api_timezone=api_timezone)
    dataset = locate(data_dir)
    if window is None:
        target = Path(html) if html is not None else dataset.root / REPORT_NAME
        page = render_page("report.html", nightly_context(dataset, title))
    else:
        target = Path(html) if html is not None else dataset.root / incident_name(window)
        page = render_page("incident.html", incident_context(dataset, window, title))
    write_atomic(target, page)
    return target


def incident_name(window: Window) -> str:
    """``incident-20261129T0900-20261129T1130.html``: the window in the API time zone."""
    since, until = window.local(window.since), window.local(window.until)
    return f"incident-{since:%Y%m%dT%H%M}-{until:%Y%m%dT%H%M}.html"


def render_page(template: str, context: Any) -> str:
    """``template`` rendered with the fields of the dataclass ``context``."""
    page = environment(templates_dir()).get_template(template)
    return page.render({f.name: getattr(context, f.name) for f in fields(context)})


def write_atomic(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` through a temporary file in the same folder and a rename."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        with suppress(OSError):
            tmp.unlink()
        raise OutputError(f"{target}: cannot write the report: {exc.strerror or exc}") from exc
