"""pipeline.resources finds sql/ and the templates in a source tree and in an installed wheel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from pipeline import resources
from tests.test_report_data import make_dataset

REPO = Path(__file__).resolve().parent.parent


def test_source_tree_fallback() -> None:
    assert resources.sql_dir() == REPO / "sql"
    assert resources.templates_dir() == REPO / "reports" / "templates"
    assert (resources.sql_dir() / "views.sql").is_file()
    assert (resources.templates_dir() / "report.html").is_file()


CHECK = textwrap.dedent(
    """
    import json, sys
    import pipeline, pipeline.resources as r
    from pipeline.report import render_report
    out = render_report(sys.argv[1], sys.argv[2])
    print(json.dumps({
        "package": pipeline.__file__,
        "sql": str(r.sql_dir()),
        "templates": str(r.templates_dir()),
        "report": out.read_text(encoding="utf-8"),
    }))
    """
)


def test_installed_wheel_carries_sql_and_templates(tmp_path: Path) -> None:
    dist, target = tmp_path / "dist", tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(REPO)],
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    (wheel,) = dist.glob("bkjob_export-*.whl")
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr[-2000:]

    data = make_dataset(tmp_path / "data", jobs=8)
    env = {**os.environ, "PYTHONPATH": str(target)}
    run = subprocess.run(
        [sys.executable, "-c", CHECK, str(data), str(tmp_path / "out.html")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout)
    assert Path(found["package"]).is_relative_to(target)
    assert Path(found["sql"]) == target / "pipeline" / "_resources" / "sql"
    assert Path(found["templates"]) == target / "pipeline" / "_resources" / "templates"
    assert 'data-metric="step_failure_rate"' in found["report"]
