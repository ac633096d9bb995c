"""The ledger of a run: every requested ID ends in exactly one place, its rows in the data
or one row in ``fetch_errors``. It also decides when a run must stop early, and which old
rows this run's rows replace."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pyarrow.dataset as ds

from pipeline.errors import ApiError, AuthError, OutputError, UsageError
from pipeline.ids import JobRef, Ref, StepRef

#: kinds that, when they are all a run has seen, mean the API cannot be used at all
_UNUSABLE_KINDS = frozenset({"auth", "connection", "timeout"})

StepKey = tuple[int, int, int]


def step_item_key(key: StepKey) -> str:
    return StepRef(*key).key


def parse_step_item_key(text: str) -> StepKey | None:
    parts = text.split(":")
    if len(parts) != 4 or parts[0] != "s":
        return None
    try:
        return int(parts[1]), int(parts[2]), int(parts[3])
    except ValueError:
        return None


def stops_at_once(err: ApiError) -> bool:
    """Rejected credentials: no call of this run can succeed."""
    return isinstance(err, AuthError) and err.credentials


@dataclass
class Ledger:
    concurrency: int
    requested: list[Ref] = field(default_factory=list)
    exported: set[StepKey] = field(default_factory=set)
    failures: list[tuple[Ref, ApiError]] = field(default_factory=list)
    answered: int = 0
    stop_reason: ApiError | None = None
    #: businesses that answered "no permission" (IAM is granted per business)
    denied_biz: set[int] = field(default_factory=set)
    #: failures that do not say "the API is unusable" (not found, bad answers, ...)
    other_failures: int = 0
    unattempted: list[Ref] = field(default_factory=list)

    @cached_property
    def businesses(self) -> frozenset[int]:
        return frozenset(r.bk_biz_id for r in self.requested)

    def adopt_resumed(self, item_keys: Iterable[str]) -> None:
        """Steps a killed run had already written (its checkpoints)."""
        for text in item_keys:
            key = parse_step_item_key(text)
            if key is not None:
                self.exported.add(key)

    def record_success(self, keys: Iterable[StepKey]) -> None:
        self.answered += 1
        self.exported.update(keys)

    def record_failure(self, ref: Ref, err: ApiError) -> None:
        """Record a failure; returns nothing, but may set ``stop_reason``."""
        self.answered += 1
        self.failures.append((ref, err))
        if isinstance(err, AuthError) and not err.credentials:
            self.denied_biz.add(ref.bk_biz_id)
        if err.kind not in _UNUSABLE_KINDS:
            self.other_failures += 1
        if self.stop_reason is not None:
            return
        if stops_at_once(err):
            self.stop_reason = err
        elif not self.exported and self.answered >= self.concurrency and self._unusable():
            self.stop_reason = err  # the first answers all say the API is unusable

    def _unusable(self) -> bool:
        if self.other_failures:
            return False
        # no permission on some businesses says nothing about the others
        return not self.denied_biz or self.denied_biz >= self.businesses

    def record_unattempted(self, ref: Ref) -> None:
        """An ID the run stopped before asking for; see :meth:`settle`."""
        self.unattempted.append(ref)

    def settle(self) -> None:
        """Turn unattempted IDs into failures. Called once every answer is in: a worker
        can stop the run before the answer that made it stop reaches the ledger."""
        reason = self.stop_reason
        kind = reason.kind if reason else "connection"
        message = f"not attempted: the run stopped ({reason.message if reason else 'interrupted'})"
        for ref in self.unattempted:
            err = ApiError(kind, message, http_status=None, api_code=None)
            err.attempts = 0
            self.failures.append((ref, err))
        self.unattempted = []

    def exit_code(self) -> int:
        if not self.failures:
            return 0
        if not self.exported and (
            self.stop_reason is not None or all(e.kind in _UNUSABLE_KINDS for _, e in self.failures)
        ):
            return 4
        return 3

    def replace_keys(self) -> dict[str, set[tuple[object, ...]]]:
        """Old rows this run supersedes: every exported step's rows, and old fetch_errors
        rows of everything this run asked for or exported."""
        steps: set[tuple[object, ...]] = {(sid,) for _, _, sid in self.exported}
        errors: set[tuple[object, ...]] = set(self.exported)
        for ref in self.requested:
            sid = ref.step_instance_id if isinstance(ref, StepRef) else None
            errors.add((ref.bk_biz_id, ref.job_instance_id, sid))
        return {"steps": steps, "step_hosts": set(steps), "fetch_errors": errors}


def failed_refs(out: Path) -> list[Ref]:
    """The IDs in ``OUT/fetch_errors``, for ``--retry-failed OUT``."""
    folder = out / "fetch_errors"
    if not folder.is_dir():
        raise UsageError(f"--retry-failed {out}: no fetch_errors dataset there")
    try:
        table = ds.dataset(folder, format=_format_of(folder)).to_table(
            columns=["bk_biz_id", "job_instance_id", "step_instance_id"]
        )
    except (OSError, ValueError) as exc:
        raise OutputError(f"{folder}: cannot read fetch_errors ({exc})") from None
    refs: list[Ref] = []
    for biz, job, step in zip(*(table.column(i).to_pylist() for i in range(3)), strict=True):
        if job is None:
            continue  # a business discovery could not list: run the discovery again
        refs.append(JobRef(biz, job) if step is None else StepRef(biz, job, step))
    return refs


def _format_of(folder: Path) -> str:
    return "csv" if next(folder.rglob("*.csv"), None) is not None else "parquet"
