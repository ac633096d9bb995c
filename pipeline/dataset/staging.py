"""Staged files: rows of this run, written under OUT/_staging/ before commit publishes them.

One open file per (table, partition), rotated at max_rows_per_file; at most MAX_OPEN_FILES
open at once and at most BUFFER_BUDGET bytes held in row-group buffers, so memory does not
grow with the run. Names end in ``.tmp``, which no reader's glob matches.

A checkpoint closes every open file (fsync) and then atomically writes
``_staging/ckpt-NNNNNN.json`` naming the files finished since the previous checkpoint, the
item keys they complete and the row keys they hold. ``--resume`` keeps exactly the files
that a checkpoint names.
"""

from __future__ import annotations

import json
import os
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.dataset.formats import FileFormat, Sink
from pipeline.dataset.fsutil import os_errors, write_durably
from pipeline.dataset.keys import Key
from pipeline.dataset.partition import Partition
from pipeline.errors import OutputError
from pipeline.schema import TableSpec

MAX_OPEN_FILES = 64
BUFFER_BUDGET = 64 << 20
STAGED_SUFFIX = ".tmp"
_CKPT = re.compile(r"^ckpt-(\d{6})\.json$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class StagedFile:
    table: str
    partition: Partition
    #: the file's name once published, e.g. part-<run_id>-000001.parquet
    name: str
    rows: int

    @property
    def staged_name(self) -> str:
        return self.name + STAGED_SUFFIX


@dataclass
class _Open:
    spec: TableSpec
    partition: Partition
    name: str
    sink: Sink


class StagedWriters:
    def __init__(
        self, files_dir: Path, fmt: FileFormat, run_id: str, max_rows: int, first_seq: int
    ) -> None:
        self._dir = files_dir
        self._fmt = fmt
        self._run = _UNSAFE.sub("-", run_id)
        self._max_rows = max_rows
        self.next_seq = first_seq
        self._open: OrderedDict[tuple[str, Partition], _Open] = OrderedDict()
        #: closed since the last take_finished()
        self._finished: list[StagedFile] = []

    def write(self, spec: TableSpec, partition: Partition, batch: pa.RecordBatch) -> None:
        while batch.num_rows:
            entry = self._entry(spec, partition)
            head = batch.slice(0, self._max_rows - entry.sink.rows)
            batch = batch.slice(head.num_rows)
            with os_errors(entry.sink.path):
                entry.sink.write(head)
            if entry.sink.rows >= self._max_rows:
                self._close((spec.name, partition))
        self._keep_budget()

    def _entry(self, spec: TableSpec, partition: Partition) -> _Open:
        key = (spec.name, partition)
        entry = self._open.get(key)
        if entry is not None:
            self._open.move_to_end(key)
            return entry
        if len(self._open) >= MAX_OPEN_FILES:
            self._close(next(iter(self._open)))
        name = f"part-{self._run}-{self.next_seq:06d}{self._fmt.ext}"
        self.next_seq += 1
        path = self._dir / (name + STAGED_SUFFIX)
        with os_errors(path):
            sink = self._fmt.open_sink(path, spec.file_schema)
        entry = self._open[key] = _Open(spec, partition, name, sink)
        return entry

    def _close(self, key: tuple[str, Partition]) -> None:
        entry = self._open.pop(key)
        with os_errors(entry.sink.path):
            try:
                entry.sink.close()
            except BaseException:
                entry.sink.discard()
                raise
        self._finished.append(
            StagedFile(entry.spec.name, entry.partition, entry.name, entry.sink.rows)
        )

    def _keep_budget(self) -> None:
        held = sum(e.sink.buffered_bytes for e in self._open.values())
        if held <= BUFFER_BUDGET:
            return
        # flush the biggest buffers first (short row groups, but bounded memory)
        for entry in sorted(self._open.values(), key=lambda e: -e.sink.buffered_bytes):
            held -= entry.sink.buffered_bytes
            with os_errors(entry.sink.path):
                entry.sink.flush()
            if held <= BUFFER_BUDGET // 2:
                return

    def take_finished(self) -> list[StagedFile]:
        """Close every open file; return all files finished since the last call."""
        while self._open:
            self._close(next(iter(self._open)))
        done, self._finished = self._finished, []
        return done

    def discard(self) -> None:
        """Abandon the open files (they stay in staging as garbage, outside any checkpoint)."""
        for entry in self._open.values():
            entry.sink.discard()
        self._open.clear()


@dataclass
class Resumed:
    items: set[str] = field(default_factory=set)
    files: list[StagedFile] = field(default_factory=list)
    keys: dict[str, set[Key]] = field(default_factory=dict)
    last_checkpoint: int = 0
    next_seq: int = 1


def checkpoint_record(
    fmt: str, items: list[str], files: list[StagedFile], keys: dict[str, set[Key]], next_seq: int
) -> bytes:
    record = {
        "format": fmt,
        "next_seq": next_seq,
        "items": items,
        "files": [[f.table, list(f.partition), f.name, f.rows] for f in files],
        "keys": {t: [list(k) for k in ks] for t, ks in keys.items() if ks},
    }
    return json.dumps(record, separators=(",", ":")).encode()


def save_checkpoint(staging: Path, seq: int, record: bytes) -> None:
    write_durably(staging / f"ckpt-{seq:06d}.json", record)


def _apply_record(out: Resumed, record: Any) -> None:
    out.items.update(str(i) for i in record["items"])
    for table, part, name, rows in record["files"]:
        out.files.append(StagedFile(str(table), tuple(map(str, part)), str(name), int(rows)))
    for table, keys in record["keys"].items():
        out.keys.setdefault(str(table), set()).update(tuple(k) for k in keys)
    out.next_seq = max(out.next_seq, int(record["next_seq"]))


def load_checkpoints(staging: Path, fmt: str) -> Resumed:
    """Everything the checkpoints of an interrupted run recorded, in order."""
    out = Resumed()
    names = sorted(os.listdir(staging)) if staging.is_dir() else []
    for name in names:
        match = _CKPT.match(name)
        if not match:
            continue
        path = staging / name
        with os_errors(path):
            data = path.read_bytes()
        try:
            record = json.loads(data)
            if record["format"] != fmt:
                raise OutputError(
                    f"{path}: the interrupted run wrote {record['format']}, not {fmt}; "
                    f"resume with --format {record['format']}"
                )
            _apply_record(out, record)
        except (ValueError, KeyError, TypeError) as exc:
            raise OutputError(f"{path}: damaged checkpoint; run again without --resume") from exc
        out.last_checkpoint = int(match.group(1))
    return out
