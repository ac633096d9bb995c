"""What a run is asked to export: step and job references from ID files and options.

An ID file is CSV with a header row naming ``bk_biz_id,job_instance_id,step_instance_id``
(the last column may be absent, or empty on a row, meaning every step of that job).
Lines count from 1 and the header is line 1, so an error names the line an editor shows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pipeline.errors import IdFileError, UsageError

REQUIRED_COLUMNS = ("bk_biz_id", "job_instance_id")
STEP_COLUMN = "step_instance_id"


@dataclass(frozen=True, order=True)
class JobRef:
    """Every step of one job instance."""

    bk_biz_id: int
    job_instance_id: int

    @property
    def key(self) -> str:
        return f"j:{self.bk_biz_id}:{self.job_instance_id}"

    def __str__(self) -> str:
        return f"job {self.bk_biz_id}:{self.job_instance_id}"


@dataclass(frozen=True, order=True)
class StepRef:
    """One step instance of one job instance."""

    bk_biz_id: int
    job_instance_id: int
    step_instance_id: int

    @property
    def key(self) -> str:
        return f"s:{self.bk_biz_id}:{self.job_instance_id}:{self.step_instance_id}"

    def __str__(self) -> str:
        return f"step {self.bk_biz_id}:{self.job_instance_id}:{self.step_instance_id}"


Ref = JobRef | StepRef


def _positive_int(text: str) -> int | None:
    text = text.strip()
    if not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value >= 1 else None


def _decode(raw: bytes, source: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise IdFileError(source, line, "not valid UTF-8 text") from None


def parse_id_csv(text: str, source: str) -> list[Ref]:
    """Parse the text of an ID file; raise IdFileError naming the first bad line."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or not any(cell.strip() for cell in header):
        raise IdFileError(
            source,
            1,
            "empty file: expected a header row " + ",".join((*REQUIRED_COLUMNS, STEP_COLUMN)),
        )
    names = [cell.strip().lower() for cell in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise IdFileError(source, 1, f"header lacks column(s) {', '.join(missing)}")
    index = {name: names.index(name) for name in (*REQUIRED_COLUMNS, STEP_COLUMN) if name in names}
    refs: list[Ref] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        refs.append(_row_ref(row, index, source, reader.line_num))
    return refs


def _row_ref(row: list[str], index: dict[str, int], source: str, line: int) -> Ref:
    values: dict[str, int | None] = {}
    for name, pos in index.items():
        cell = row[pos].strip() if pos < len(row) else ""
        if name == STEP_COLUMN and cell == "":
            values[name] = None
            continue
        value = _positive_int(cell)
        if value is None:
            shown = cell if len(cell) <= 30 else cell[:30] + "..."
            raise IdFileError(source, line, f"{name} must be a positive integer, got {shown!r}")
        values[name] = value
    biz, job = values["bk_biz_id"], values["job_instance_id"]
    assert biz is not None and job is not None
    step = values.get(STEP_COLUMN)
    return JobRef(biz, job) if step is None else StepRef(biz, job, step)


def read_id_file(path: str, stdin: IO[bytes] | None = None) -> list[Ref]:
    """Read an ID file, or standard input for ``-``."""
    if path == "-":
        if stdin is None:
            raise UsageError("--ids -: no standard input")
        return parse_id_csv(_decode(stdin.read(), "<stdin>"), "<stdin>")
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ID file ({exc.strerror or exc})") from None
    return parse_id_csv(_decode(raw, path), path)


def parse_ref_option(spec: str, option: str) -> Ref:
    """``--step BIZ:JOB:STEP`` or ``--job BIZ:JOB``."""
    parts = spec.split(":")
    want = 3 if option == "--step" else 2
    numbers = [_positive_int(p) for p in parts]
    if len(parts) != want or any(n is None for n in numbers):
        form = "BIZ:JOB:STEP" if want == 3 else "BIZ:JOB"
        raise UsageError(f"{option} {spec!r}: expected {form} with positive integers")
    ints = [n for n in numbers if n is not None]
    return StepRef(*ints) if want == 3 else JobRef(*ints)


def dedupe(refs: Iterable[Ref]) -> list[Ref]:
    """Repeated references once, in first-seen order; steps of a requested job are folded
    into the job (it fetches them all)."""
    seen: dict[Ref, None] = dict.fromkeys(refs)
    jobs = {(r.bk_biz_id, r.job_instance_id) for r in seen if isinstance(r, JobRef)}
    return [
        r for r in seen if isinstance(r, JobRef) or (r.bk_biz_id, r.job_instance_id) not in jobs
    ]


def write_id_csv(refs: Iterable[Ref], out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((*REQUIRED_COLUMNS, STEP_COLUMN))
    for r in refs:
        step = r.step_instance_id if isinstance(r, StepRef) else ""
        writer.writerow((r.bk_biz_id, r.job_instance_id, step))
