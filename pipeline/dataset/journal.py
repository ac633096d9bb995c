"""The commit journal: a list of idempotent file actions, made durable before any is applied.

    ["rename", SRC, DST]   move a finished file (staged, or a rewrite) over/into DST;
                           already done when SRC is gone
    ["unlink", PATH]       delete PATH (every row of it was replaced); done when it is gone

Paths are relative to OUT. ``OUT/_journal.json`` exists only between "every new file is
written and fsynced" and "every action is applied and fsynced"; whoever opens OUT next finds
a leftover journal and applies it again, which finishes the interrupted commit.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.dataset.fsutil import fsync_dir, os_errors, remove_tree, write_durably
from pipeline.errors import OutputError

JOURNAL = "_journal.json"
Action = list[str]
Hook = Callable[[str], None]


def _no_hook(phase: str) -> None:
    pass


def write_journal(out: Path, run_id: str, actions: list[Action]) -> None:
    body = {"version": 1, "run_id": run_id, "actions": actions}
    write_durably(out / JOURNAL, json.dumps(body, indent=0).encode())


def _ancestors(path: Path, out: Path) -> list[Path]:
    """``path`` and its parents up to and including OUT."""
    chain = [path]
    while chain[-1] != out and chain[-1].parent != chain[-1]:
        chain.append(chain[-1].parent)
    return chain


def _rename(out: Path, src: Path, dst: Path, touched: set[Path]) -> None:
    if not os.path.lexists(src):
        return  # applied before an interruption
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.replace(src, dst)
    touched.update(_ancestors(dst.parent, out))
    touched.add(src.parent)


def _unlink(out: Path, path: Path, touched: set[Path]) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    # drop partition folders left empty; stop at the table folder
    folder = path.parent
    touched.add(folder)
    table_root = out / path.relative_to(out).parts[0]
    while folder != table_root and folder.is_relative_to(table_root) and not any(folder.iterdir()):
        folder.rmdir()
        touched.discard(folder)
        folder = folder.parent
        touched.add(folder)


def apply(out: Path, actions: list[Action], hook: Hook = _no_hook) -> None:
    touched: set[Path] = set()
    for i, action in enumerate(actions):
        op, *paths = action
        with os_errors(out / paths[-1]):
            if op == "rename":
                _rename(out, out / paths[0], out / paths[1], touched)
            elif op == "unlink":
                _unlink(out, out / paths[0], touched)
            else:
                raise OutputError(f"{out / JOURNAL}: unknown action {op!r}")
        hook(f"action {i}")
    # renames are durable only once their folders are; deepest first is not required
    for folder in sorted(touched):
        if folder.is_dir():
            with os_errors(folder):
                fsync_dir(folder)


def finish(out: Path, staging: Path, hook: Hook = _no_hook) -> None:
    """After apply: drop the run's staging, then the journal; OUT is settled from here on."""
    remove_tree(staging)
    hook("staging removed")
    with os_errors(out / JOURNAL):
        os.unlink(out / JOURNAL)
        fsync_dir(out)


def read_journal(out: Path) -> list[Action] | None:
    path = out / JOURNAL
    if not path.exists():
        return None
    with os_errors(path):
        data = path.read_bytes()
    try:
        body: Any = json.loads(data)
        actions = [[str(p) for p in a] for a in body["actions"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise OutputError(f"{path}: damaged commit journal ({exc})") from exc
    return actions


def roll_forward(out: Path, staging: Path, hook: Hook = _no_hook) -> bool:
    """Finish a commit that was interrupted after its journal was written."""
    actions = read_journal(out)
    if actions is None:
        return False
    apply(out, actions, hook)
    finish(out, staging, hook)
    return True
