"""Per-host results of one step, consistent with what the step's plan says happened."""

from __future__ import annotations

import random

from .catalog import EXIT_CODES, FAILURE_CODES, TAGS, Business
from .layout import mix64
from .model import EMPTY_HOSTS, HostTable
from .plans import StepPlan

#: results after which a host ran until the step's timeout
_TIMEOUT_CODES = frozenset({13, 102, 303})
#: GSE error codes by result (gateway doc: 0 done, 115 running, 126 force-stopped, -1 other)
_AGENT_DOWN = frozenset({1, 12, 18, 310})


def host_identities(
    b_idx: int, biz: Business, offset: int, n: int
) -> tuple[list[int], list[int], list[str]]:
    """(bk_host_id, bk_cloud_id, ip) of ``n`` consecutive hosts of the business's pool.

    The last 5% of a pool sits in cloud areas 1 and 2 on 172.x addresses; IPs are unique
    per (business, cloud area) and never shared between businesses.
    """
    pool = biz.pool_size
    cloud_from = pool - pool // 20
    ids: list[int] = []
    clouds: list[int] = []
    ips: list[str] = []
    for j in range(n):
        h = (offset + j) % pool
        ids.append(100_000 * (b_idx + 1) + h)
        if h < cloud_from:
            clouds.append(0)
            ips.append(f"10.{biz.octet}.{h // 250}.{h % 250 + 1}")
        else:
            k = h - cloud_from
            clouds.append(1 + k % 2)
            ips.append(f"172.{16 + b_idx}.{k // 250}.{k % 250 + 1}")
    return ids, clouds, ips


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


def _times(
    rng: random.Random, sp: StepPlan, codes: list[int]
) -> tuple[list[int | None], list[int | None]]:
    start = sp.start_ms or 0
    span = max(1, (sp.end_ms or start) - start)
    jitter = max(1, min(2000, span // 10))
    starts: list[int | None] = []
    ends: list[int | None] = []
    for code in codes:
        s = start + int(rng.random() * jitter)
        full = code in _TIMEOUT_CODES or code in (403, 404)
        e = start + span if full else s + int((start + span - s) * (0.3 + 0.7 * rng.random()))
        starts.append(s)
        ends.append(e)
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


def _exit_code(step_type: int, code: int, rng: random.Random) -> int | None:
    if code in (5, 7):
        return None
    if code in (3, 9):
        return 0
    if step_type == 2:
        return None
    if code == 104:
        return rng.choice(EXIT_CODES)
    return 1 if code == 101 else None


def _error_code(code: int) -> int:
    if code == 7:
        return 115
    if code in (403, 404):
        return 126
    return -1 if code in _AGENT_DOWN else 0


def build_hosts(
    seed: int, b_idx: int, biz: Business, sp: StepPlan, now_ms: int, job3: bool
) -> HostTable:
    n = sp.host_count
    if n == 0 or sp.type == 3:
        return EMPTY_HOSTS
    ids, clouds, ips = host_identities(b_idx, biz, sp.host_offset, n)
    if sp.status == 1:  # never started: every target waits
        nones: tuple[int | None, ...] = (None,) * n
        return HostTable(
            bk_host_id=tuple(ids),
            bk_cloud_id=tuple(clouds),
            ip=tuple(ips),
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
    exits = tuple(_exit_code(sp.type, c, rng) for c in codes)
    return HostTable(
        bk_host_id=tuple(ids),
        bk_cloud_id=tuple(clouds),
        ip=tuple(ips),
        result_type=tuple(codes),
        exit_code=exits,
        tag=tuple(tags),
        error_code=tuple(_error_code(c) for c in codes),
        start_ms=tuple(starts),
        end_ms=tuple(ends),
    )
