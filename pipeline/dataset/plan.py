"""Planning a commit: check every file already in each table folder, work out which hold
replaced keys, write their rewritten copies under staging, and list the journal actions.

Nothing under the table folders changes here; any problem raises OutputError and leaves
OUT as it was.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.dataset.formats import EMPTY_STEM, FileFormat
from pipeline.dataset.fsutil import fsync_dir, os_errors
from pipeline.dataset.journal import Action
from pipeline.dataset.keys import Key, KeyMatcher
from pipeline.dataset.staging import StagedFile
from pipeline.errors import OutputError
from pipeline.schema import TableSpec

_OTHER_EXT = (".parquet", ".csv")


@dataclass(frozen=True)
class Existing:
    path: Path
    partition: tuple[str, ...]
    placeholder: bool


@dataclass
class CommitPlan:
    out: Path
    staged_dir: Path
    work_dir: Path
    fmt: FileFormat
    actions: list[Action] = field(default_factory=list)
    _seq: Iterator[int] = field(default_factory=count)

    def rel(self, path: Path) -> str:
        return path.relative_to(self.out).as_posix()

    def temp(self) -> Path:
        return self.work_dir / f"{next(self._seq):06d}{self.fmt.ext}.tmp"


def _classify(root: Path, rel: tuple[str, ...], name: str, spec: TableSpec) -> Existing:
    path = root.joinpath(*rel, name)
    if not rel and name.startswith(EMPTY_STEM + "."):
        return Existing(path, (), placeholder=True)
    cols = spec.partition_by
    ok = len(rel) == len(cols) and all(
        s.startswith(c + "=") for s, c in zip(rel, cols, strict=True)
    )
    if not ok:
        where = "/".join(f"{c}=..." for c in cols) or "the table folder itself"
        raise OutputError(f"{path}: a data file outside {where}; move it out of {root}")
    return Existing(path, rel, placeholder=False)


def scan_table(root: Path, spec: TableSpec, fmt: FileFormat) -> list[Existing]:
    """The data files a reader's glob sees in one table folder, with their layout checked."""
    if not root.exists():
        return []
    if not root.is_dir():
        raise OutputError(f"{root}: not a folder (the {spec.name} table belongs there)")
    found: list[Existing] = []
    with os_errors(root):
        for dirpath, dirnames, filenames in os.walk(root, onerror=_raise):
            dirnames.sort()
            rel = Path(dirpath).relative_to(root).parts
            for name in sorted(filenames):
                ext = next((e for e in _OTHER_EXT if name.endswith(e)), None)
                if ext is None:
                    continue
                if ext != fmt.ext:
                    raise OutputError(
                        f"{Path(dirpath) / name}: a {ext[1:]} file in a {fmt.name} dataset; "
                        f"write with --format {ext[1:]} or to another --out"
                    )
                found.append(_classify(root, rel, name, spec))
    return found


def _raise(exc: OSError) -> None:
    raise exc


def _read_keys(fmt: FileFormat, spec: TableSpec, ef: Existing) -> pa.Table:
    in_file = [c for c in spec.key if c not in spec.partition_by]
    table = fmt.read_columns(ef.path, spec.file_schema, in_file)
    for seg in ef.partition:
        col, _, text = seg.partition("=")
        if col in spec.key:  # a key column that lives in the folder name
            try:
                arr = pa.array([text] * table.num_rows).cast(spec.schema.field(col).type)
            except pa.ArrowInvalid as exc:
                raise OutputError(f"{ef.path.parent}: bad partition value {text!r}") from exc
            table = table.append_column(col, arr)
    return table.select(list(spec.key))


def _drop_replaced(plan: CommitPlan, spec: TableSpec, ef: Existing, matcher: KeyMatcher) -> bool:
    """Plan what replacing keys does to one existing file; True when rows remain in it."""
    facts = plan.fmt.inspect(ef.path, spec.file_schema, matcher.prune_col)
    if not matcher.may_match(facts):
        return facts.rows != 0
    hit = matcher.match(_read_keys(plan.fmt, spec, ef))
    hits = pc.sum(hit).as_py() or 0
    if hits == 0:
        return True
    if hits == len(hit):
        plan.actions.append(["unlink", plan.rel(ef.path)])
        return False
    tmp = plan.temp()
    plan.fmt.rewrite(ef.path, tmp, spec.file_schema, pc.invert(hit))
    plan.actions.append(["rename", plan.rel(tmp), plan.rel(ef.path)])
    return True


def _publish(plan: CommitPlan, root: Path, staged: list[StagedFile], taken: set[Path]) -> None:
    for sf in staged:
        dst = root.joinpath(*sf.partition, sf.name)
        n = 0
        while dst in taken:  # a run_id used twice: never overwrite a published file
            n += 1
            dst = dst.with_name(f"{sf.name.removesuffix(plan.fmt.ext)}-{n}{plan.fmt.ext}")
        taken.add(dst)
        src = plan.staged_dir / sf.staged_name
        if not src.is_file():
            raise OutputError(f"{src}: staged file is missing; run again without --resume")
        plan.actions.append(["rename", plan.rel(src), plan.rel(dst)])


def _placeholder(plan: CommitPlan, spec: TableSpec, holders: list[Existing], rows: bool) -> None:
    """Keep a zero-row file in a table without data; none beside real data."""
    if rows:
        plan.actions.extend(["unlink", plan.rel(ef.path)] for ef in holders)
        return
    if holders:
        return
    tmp = plan.temp()
    with os_errors(tmp):
        plan.fmt.open_sink(tmp, spec.schema).close()
    dst = plan.out / spec.name / f"{EMPTY_STEM}{plan.fmt.ext}"
    plan.actions.append(["rename", plan.rel(tmp), plan.rel(dst)])


def plan_table(
    plan: CommitPlan, spec: TableSpec, staged: list[StagedFile], keys: Collection[Key]
) -> None:
    root = plan.out / spec.name
    existing = scan_table(root, spec, plan.fmt)
    matcher = KeyMatcher(spec, keys)
    holders = [ef for ef in existing if ef.placeholder]
    for ef in holders:
        plan.fmt.inspect(ef.path, spec.schema, None)
    has_rows = bool(staged)
    for ef in existing:
        if not ef.placeholder:
            has_rows = _drop_replaced(plan, spec, ef, matcher) or has_rows
    _publish(plan, root, staged, {ef.path for ef in existing})
    _placeholder(plan, spec, holders, has_rows)


def finish_prepared(plan: CommitPlan) -> None:
    """Make the rewritten copies durable before the journal refers to them."""
    if plan.work_dir.is_dir():
        with os_errors(plan.work_dir):
            fsync_dir(plan.work_dir)
