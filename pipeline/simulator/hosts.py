"""Per-host results of one step, consistent with what the step's plan says happened."""

from __future__ import annotations

import functools
import itertools
import random

from .catalog import BUSINESSES, EXIT_CODES, FAILURE_CODES, TAGS
from .layout import mix64
from .model import EMPTY_HOSTS, HostTable
from .plans import StepPlan

#: results after which a host ran until the step ended (timeouts, force-stops)
_RUN_TO_END = frozenset({13, 102, 303, 403, 404})
_FRACTIONS = 97
#: GSE error codes by result (gateway doc: 0 done, 115 running, 126 force-stopped, -1 other)
_AGENT_DOWN = frozenset({1, 12, 18, 310})


@functools.cache
def _pool(b_idx: int) -> tuple[tuple[int, ...], tuple[int, ...], tuple[str, ...]]:
    """Every host a business owns, built once: steps slice it instead of formatting IPs."""
    biz = BUSINESSES[b_idx]
    size = biz.pool_size
    cloud_from = size - size // 20
    ids = tuple(100_000 * (b_idx + 1) + h for h in range(size))
    clouds = tuple(0 if h < cloud_from else 1 + (h - cloud_from) % 2 for h in range(size))
    ips = tuple(
        f"10.{biz.octet}.{h // 250}.{h % 250 + 1}"
        if h < cloud_from
        else f"172.{16 + b_idx}.{(h - cloud_from) // 250}.{(h - cloud_from) % 250 + 1}"
        for h in range(size)
    )
    return ids, clouds, ips


def host_identities(
    b_idx: int, offset: int, n: int
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[str, ...]]:
    """(bk_host_id, bk_cloud_id, ip) of ``n`` consecutive hosts of the business's pool.

    The last 5% of a pool sits in cloud areas 1 and 2 on 172.x addresses; IPs are unique
    per (business, cloud area) and never shared between businesses.
    """
    pool = _pool(b_idx)
    size = len(pool[0])
    if n > size:
        raise ValueError(f"a step of business {BUSINESSES[b_idx].bk_biz_id} has {n} hosts")
    offset %= size
    wrap = max(0, offset + n - size)
    ids, clouds, ips = pool
    return (
        ids[offset : offset + n] + ids[:wrap],
        clouds[offset : offset + n] + clouds[:wrap],
        ips[offset : offset + n] + ips[:wrap],
    )


def _failing(rng: random.Random, n: int) -> list[int]:
    r = rng.random()
    if r < 0.6:
        k = rng.randint(1, min(3, n))
    elif r < 0.9:
        k = max(1, int(n * rng.uniform(0.1, 0.4)))
    else:
        k = n  # a broken package or config fails everywhere
    return rng.sample(range(n), k)


def _failure_codes(
    rng: random.Random, step_type: int, failing: list[int], codes: list[int]
) -> None:
    table = FAILURE_CODES[step_type]
    pick = [c for c, _ in table]
    weights = [w for _, w in table]
    main = rng.choices(pick, weights=weights)[0]
    other = rng.choices(pick, weights=weights)[0] if rng.random() < 0.25 else main
    for j in failing:
        codes[j] = other if rng.random() < 0.3 else main


def final_codes(rng: random.Random, sp: StepPlan, n: int, job3: bool) -> list[int]:
    """Each host's result as if the step ran to its planned end."""
    # 2.x: after a retry, hosts that had succeeded before show 3 "Successful Last Time"
    ok = 3 if (sp.execute_count > 0 and not job3) else 9
    codes = [ok] * n
    if sp.kind in ("success", "confirm"):
        return codes
    if sp.kind == "stop":
        done = rng.randint(0, n - 1)
        for j in range(done, n):
            codes[j] = 404 if rng.random() < 0.05 else 403
        return codes
    failing = _failing(rng, n)
    if sp.kind == "retry_ok":
        for j in failing:
            codes[j] = 9  # failed first, fixed by the retry
    elif sp.kind == "abnormal":
        for j in failing:
            codes[j] = 0 if rng.random() < 0.7 else 500
    else:
        _failure_codes(rng, sp.type, failing, codes)
    return codes


def _cycle(pattern: list[int], n: int) -> list[int]:
    return (pattern * (n // len(pattern) + 1))[:n]


def _times(
    rng: random.Random, sp: StepPlan, codes: list[int]
) -> tuple[list[int | None], list[int | None]]:
    """Per-host start/end inside the step; hosts that hit a timeout run to its end.

    Built from a short random pattern repeated over the hosts: list repetition runs at C
    speed, which keeps a 5,000-host step cheap.
    """
    start = sp.start_ms or 0
    stop = start + max(1, (sp.end_ms or start) - start)
    jitter = max(1, min(2000, (stop - start) // 10))
    table = [rng.random() for _ in range(_FRACTIONS)]
    begin = [start + int(t * jitter) for t in table]
    finish = [
        b + int((stop - b) * (0.3 + 0.7 * table[(7 * k + 3) % _FRACTIONS]))
        for k, b in enumerate(begin)
    ]
    n = len(codes)
    starts: list[int | None] = list(_cycle(begin, n))
    ends: list[int | None] = list(_cycle(finish, n))
    if not _RUN_TO_END.isdisjoint(codes):
        for j, code in enumerate(codes):
            if code in _RUN_TO_END:
                ends[j] = stop
    return starts, ends


def _tags(rng: random.Random, sp: StepPlan, codes: list[int]) -> list[str]:
    """Script steps sometimes tag hosts (job_success/job_fail text): 3.x groups by it."""
    if sp.type != 1 or rng.random() >= 0.12:
        return [""] * len(codes)
    ok_tag, fail_tag = rng.choice(TAGS[:2]), rng.choice(TAGS[2:])
    return [
        (ok_tag if code in (3, 9) else fail_tag) if rng.random() < 0.3 else "" for code in codes
    ]


def _running(
    now_ms: int, codes: list[int], starts: list[int | None], ends: list[int | None]
) -> None:
    """At ``now`` a running step's hosts are done, running (7) or not yet started (5)."""
    for j, (s, e) in enumerate(zip(starts, ends, strict=True)):
        if e is not None and e <= now_ms:
            continue
        ends[j] = None
        if s is not None and s <= now_ms:
            codes[j] = 7
        else:
            codes[j], starts[j] = 5, None


_EXIT_BY_CODE: dict[int, int | None] = {3: 0, 9: 0, 101: 1}
_ERROR_BY_CODE: dict[int, int] = {7: 115, 403: 126, 404: 126} | dict.fromkeys(_AGENT_DOWN, -1)


def _exit_codes(step_type: int, codes: list[int]) -> tuple[int | None, ...]:
    """0 on success; a script's non-zero code for 104; None when there is none to report."""
    exits = list(map(_EXIT_BY_CODE.get, codes))
    if step_type == 2:
        return tuple(0 if e == 0 else None for e in exits)
    if 104 in codes:
        for j, code in enumerate(codes):
            if code == 104:
                exits[j] = EXIT_CODES[j % len(EXIT_CODES)]
    return tuple(exits)


def build_hosts(seed: int, b_idx: int, sp: StepPlan, now_ms: int, job3: bool) -> HostTable:
    n = sp.host_count
    if n == 0 or sp.type == 3:
        return EMPTY_HOSTS
    ids, clouds, ips = host_identities(b_idx, sp.host_offset, n)
    if sp.status == 1:  # never started: every target waits
        nones: tuple[int | None, ...] = (None,) * n
        return HostTable(
            bk_host_id=ids,
            bk_cloud_id=clouds,
            ip=ips,
            result_type=(5,) * n,
            exit_code=nones,
            tag=("",) * n,
            error_code=(0,) * n,
            start_ms=nones,
            end_ms=nones,
        )
    rng = random.Random(mix64(seed, sp.step_instance_id, 2))
    codes = final_codes(rng, sp, n, job3)
    starts, ends = _times(rng, sp, codes)
    tags = _tags(rng, sp, codes)
    if sp.status in (2, 7):
        _running(now_ms, codes, starts, ends)
    return HostTable(
        bk_host_id=ids,
        bk_cloud_id=clouds,
        ip=ips,
        result_type=tuple(codes),
        exit_code=_exit_codes(sp.type, codes),
        tag=tuple(tags),
        error_code=tuple(map(_ERROR_BY_CODE.get, codes, itertools.repeat(0))),
        start_ms=tuple(starts),
        end_ms=tuple(ends),
    )
