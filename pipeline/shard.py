"""``--shard K/N``: a stable share of the requested jobs, so N hosts can split one night.

A reference belongs to shard ``blake2b("<bk_biz_id>:<job_instance_id>") mod N`` (the first
8 bytes of the digest, big-endian). Only the business and job count, so every step of a job
lands in the same shard (the ``jobs`` table is derived per job), and the answer is the same
on every machine, Python version and run (unlike ``hash()``, which is salted per process).

K counts from 0, as Kubernetes' ``JOB_COMPLETION_INDEX`` does: ``--shard 0/4`` ...
``--shard 3/4``. The shards of one N partition any reference list: each reference is in
exactly one of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from hashlib import blake2b
from typing import Final

from pipeline.errors import UsageError
from pipeline.ids import Ref

MAX_SHARDS: Final = 1_000_000
_FORM = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (0-based) of ``count``."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_SHARDS or not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index}/{self.count}: need 0 <= K < N <= {MAX_SHARDS}")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, ref: Ref) -> bool:
        return shard_of(ref.bk_biz_id, ref.job_instance_id, self.count) == self.index


def shard_of(bk_biz_id: int, job_instance_id: int, count: int) -> int:
    """The 0-based shard of a job among ``count`` shards."""
    digest = blake2b(f"{bk_biz_id}:{job_instance_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


def parse_shard(text: str, where: str = "--shard") -> Shard:
    """``K/N`` with 0 <= K < N; :class:`UsageError` (one line) otherwise."""
    match = _FORM.match(text)
    if match is None:
        raise UsageError(f"{where} {text!r}: expected K/N, e.g. 0/4 (K counts from 0)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or count > MAX_SHARDS:
        raise UsageError(f"{where} {text!r}: N must be between 1 and {MAX_SHARDS}")
    if index >= count:
        raise UsageError(f"{where} {text!r}: K must be between 0 and {count - 1} (K counts from 0)")
    return Shard(index, count)


def select(refs: Iterable[Ref], shard: Shard | None) -> list[Ref]:
    """The references of ``shard``, in their order; all of them when ``shard`` is None."""
    if shard is None:
        return list(refs)
    return [r for r in refs if shard.holds(r)]
