"""Flatten + write at scale (``make bench``, or ``python -m benchmarks datasets``).

(a) A synthetic night generated in-process, no HTTP: 20,000 steps and 5,000,000 host rows,
hosts per step heavy-tailed (Pareto) up to 5,000. Each answer is a v2 get_step_instance_status
envelope as JSON bytes, decoded by each variant: our pipeline (pipeline.client.classify +
pipeline.flatten + DatasetWriter, batched like the runner), pandas (json.loads +
json_normalize + to_parquet), and the floor (orjson.loads + two Arrow tables built column by
column + pyarrow.parquet.write_table). The time to generate the bytes is left out.
Ours runs again with twice the night (40,000 steps, 10,000,000 host rows) for peak RSS.

(b) End to end over HTTP against the simulator in its own process (no latency): 2,000 steps of
500 hosts. ``bkjob-export fetch --concurrency 8``, an 8-thread requests + json_normalize +
to_parquet script, and the floor (8-thread raw fetch of the same answers, then the floor of
(a)). Each is a whole process: start-up and imports count.

Every variant runs in a subprocess; its peak RSS is that child's ``ru_maxrss`` (os.wait4).
``BKJOB_BENCH_SCALE=0.2`` shrinks every size (for a quick look). Prints figures only.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import chain
from pathlib import Path
from typing import Any

import orjson

SCALE = float(os.environ.get("BKJOB_BENCH_SCALE", "1"))
NIGHT = (int(20_000 * SCALE), int(5_000_000 * SCALE))
MAX_HOSTS = 5_000
HTTP_JOBS, HTTP_STEPS_PER_JOB, HTTP_HOSTS = int(500 * SCALE), 4, 500
POOL = 1 << 16
STEP_PATH = "/api/c/compapi/v2/job/get_step_instance_status/"
AUTH = json.dumps({"bk_app_code": "bench", "bk_app_secret": "bench", "bk_username": "admin"})


# -- the synthetic night ---------------------------------------------------------------------
def host_counts(steps: int, hosts: int, seed: int = 1) -> list[int]:
    """Hosts per step: Pareto(1.1) weights scaled to ``hosts`` in total, 1..MAX_HOSTS each."""
    rng = random.Random(seed)
    weights = [rng.paretovariate(1.1) for _ in range(steps)]
    k = hosts / sum(weights)
    for _ in range(60):
        counts = [max(1, min(MAX_HOSTS, round(w * k))) for w in weights]
        k *= hosts / sum(counts)
    order = sorted(range(steps), key=lambda i: -weights[i])
    diff, i = hosts - sum(counts), 0
    while diff:
        j = order[i % steps]
        step = 1 if diff > 0 else -1
        if 1 <= counts[j] + step <= MAX_HOSTS:
            counts[j] += step
            diff -= step
        i += 1
    return counts


def _pool(a: int, n: int, pool: list[bytes]) -> list[bytes]:
    a %= len(pool)
    return pool[a : a + n] if a + n <= len(pool) else pool[a:] + pool[: a + n - len(pool)]


def _group(result_type: int, text: str, hosts: list[bytes]) -> bytes:
    head = f'{{"result_type":{result_type},"result_type_text":"{text}","count":{len(hosts)},'
    return head.encode() + b'"ip_list":[' + b",".join(hosts) + b"]}"


def night(steps: int, hosts: int) -> Iterator[tuple[tuple[int, int, int, int], bytes]]:
    """((bk_biz_id, job_instance_id, step_instance_id, hosts), answer bytes) per step."""
    ips = [f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(1, POOL + 1)]
    frags = [f'{{"bk_cloud_id":0,"ip":"{ip}"}}'.encode() for ip in ips]
    targets = [f"0:{ip}".encode() for ip in ips]
    rng, t0 = random.Random(2), datetime(2026, 11, 28, 16, tzinfo=UTC)
    sid, job, left, biz, start = 50_000_000, 9_000_000, 0, 2, t0
    for n in host_counts(steps, hosts):
        if left == 0:
            job, left, biz = job + 1, rng.randint(1, 8), rng.choice([2, 3, 5, 1000001])
            start = t0 + timedelta(seconds=rng.randrange(2 * 86400))
        left, sid, a = left - 1, sid + 1, rng.randrange(POOL)
        failed = rng.randint(1, n) if rng.random() < 0.1 else 0
        end = start + timedelta(seconds=rng.randint(1, 600))
        detail = {
            "step_instance_id": sid, "step_id": sid % 1000, "job_instance_id": job,
            "bk_biz_id": biz, "name": f"step {sid % 97}", "type": 1, "operator": "admin",
            "status": 4 if failed else 3, "retry_count": 0, "abnormal_agent_ips": "",
            "target_ips": b",".join(_pool(a, n, targets)).decode(), "total_ip_num": n,
            "success_ip_num": n - failed, "fail_ip_num": failed, "running_ip_num": 0,
            "abnormal_agent_ip_num": 0, "total_time": (end - start).total_seconds(),
            "start_time": (start + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S"),
            "end_time": (end + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S"),
        }  # fmt: skip
        start, hl = end, _pool(a, n, frags)
        groups = [_group(9, "Execution Success", hl[: n - failed])] if n - failed else []
        groups += [_group(104, "Script Execution Failed", hl[n - failed :])] if failed else []
        body = (
            b'{"result":true,"code":0,"message":"OK","data":{"is_finished":true,'
            b'"step_instance_detail":' + orjson.dumps(detail) + b',"step_instance_analyse_result":['
            + b",".join(groups) + b']},"request_id":"0123456789abcdef0123456789abcdef"}'
        )  # fmt: skip
        yield (biz, job, sid, n), body


def timed_night(steps: int, hosts: int, spent: list[float]) -> Iterator[Any]:
    """The night, adding the wall and CPU time spent generating it to ``spent[0]``, [1]."""
    it = night(steps, hosts)
    while True:
        t, c = time.perf_counter(), time.process_time()
        item = next(it, None)
        spent[0] += time.perf_counter() - t
        spent[1] += time.process_time() - c
        if item is None:
            return
        yield item


# -- (a) the variants, each run in its own process -----------------------------------------
def ours(items: Iterator[Any], out: Path) -> int:
    """Our pipeline, batched as pipeline.runner does, then one commit."""
    from zoneinfo import ZoneInfo

    from pipeline.client import classify
    from pipeline.dataset import DatasetWriter
    from pipeline.flatten import Answer, FlattenContext, flatten, job_info
    from pipeline.ids import StepRef
    from pipeline.runner import FLUSH_ANSWERS, FLUSH_HOSTS

    ctx, keys = FlattenContext(ZoneInfo("Asia/Shanghai"), "bench"), set()
    with DatasetWriter(out, run_id="bench") as writer:
        batch: list[Any] = []
        hosts = 0
        for (biz, job, sid, n), body in chain(items, [((None, 0, 0, 0), b"")]):
            if batch and (biz is None or len(batch) >= FLUSH_ANSWERS or hosts >= FLUSH_HOSTS):
                flat = flatten(batch, ctx)
                writer.write("steps", flat.steps)
                writer.write("step_hosts", flat.step_hosts)
                writer.write_job_info(job_info(batch, ctx))
                batch, hosts = [], 0
            if biz is not None:
                data = classify("get_step_instance_status", 200, {}, body)
                batch.append(Answer(StepRef(biz, job, sid), data, datetime.now(UTC)))
                hosts, _ = hosts + n, keys.add((sid,))
        return writer.commit({"steps": keys, "step_hosts": keys})["step_hosts"]


def pandas_way(bodies: Iterator[bytes], out: Path) -> int:
    """What a user would write: collect the answers, json_normalize, to_parquet."""
    return _normalize([json.loads(body)["data"] for body in bodies], out)


def _normalize(records: list[Any], out: Path) -> int:
    import pandas as pd

    for r in records:
        r["step_instance_id"] = r["step_instance_detail"]["step_instance_id"]
    steps = pd.json_normalize([r["step_instance_detail"] for r in records])
    path, meta = ["step_instance_analyse_result", "ip_list"], ["step_instance_analyse_result"]
    hosts = pd.json_normalize(records, record_path=path,
                              meta=["step_instance_id", [*meta, "result_type"]])  # fmt: skip
    steps.to_parquet(out / "steps.parquet")
    hosts.to_parquet(out / "step_hosts.parquet")
    return len(hosts)


STEP_KEYS = ("bk_biz_id", "job_instance_id", "step_instance_id", "name", "status",
             "start_time", "end_time", "total_time", "total_ip_num")  # fmt: skip
HOST_KEYS = ("step_instance_id", "bk_cloud_id", "ip", "result_type")


def floor(bodies: Iterator[bytes], out: Path) -> int:
    """orjson.loads, the two tables' columns as lists, pyarrow.parquet.write_table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    steps: dict[str, list[Any]] = {k: [] for k in STEP_KEYS}
    hosts: dict[str, list[Any]] = {k: [] for k in HOST_KEYS}
    for body in bodies:
        data = orjson.loads(body)["data"]
        detail = data["step_instance_detail"]
        for key, values in steps.items():
            values.append(detail.get(key))
        sid = detail["step_instance_id"]
        for group in data["step_instance_analyse_result"]:
            ips = group["ip_list"]
            hosts["step_instance_id"].extend([sid] * len(ips))
            hosts["bk_cloud_id"].extend([h["bk_cloud_id"] for h in ips])
            hosts["ip"].extend([h["ip"] for h in ips])
            hosts["result_type"].extend([group["result_type"]] * len(ips))
    pq.write_table(pa.table(steps), out / "steps.parquet")
    pq.write_table(pa.table(hosts), out / "step_hosts.parquet")
    return len(hosts["ip"])


# -- (b) over HTTP ---------------------------------------------------------------------------
def serve(ids: str) -> None:
    """Child side: the simulator with the (b) world; first stdout line is its URL."""
    from pipeline.simulator import SimData, Simulator

    data = SimData(seed=7, jobs=HTTP_JOBS, steps_per_job=HTTP_STEPS_PER_JOB,
                   hosts_per_step=HTTP_HOSTS, cache_jobs=HTTP_JOBS)  # fmt: skip
    data.write_ids_csv(ids)
    with Simulator(data) as sim:
        print(sim.base_url, flush=True)
        sys.stdin.read()


def _read_ids(ids: str) -> list[dict[str, int]]:
    lines = Path(ids).read_text().splitlines()[1:]
    keys = ("bk_biz_id", "job_instance_id", "step_instance_id")
    return [dict(zip(keys, map(int, line.split(",")), strict=True)) for line in lines]


def fetch_all(url: str, ids: str, decode: Callable[[Any], Any]) -> list[Any]:
    """Every step's answer, 8 threads with one requests.Session each, in ID order."""
    import threading

    import requests

    local = threading.local()

    def one(params: dict[str, int]) -> Any:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        resp = local.session.post(url + STEP_PATH, json=params,
                                  headers={"X-Bkapi-Authorization": AUTH}, timeout=60)  # fmt: skip
        resp.raise_for_status()
        return decode(resp)

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, _read_ids(ids)))


def script(url: str, ids: str, out: Path) -> int:
    """The 8-thread requests + json_normalize + to_parquet script a user would write."""
    return _normalize([a["data"] for a in fetch_all(url, ids, lambda r: r.json())], out)


def floor_http(url: str, ids: str, out: Path) -> tuple[int, float]:
    """The raw fetch of every answer (bytes), then the floor of (a) over them."""
    t = time.perf_counter()
    bodies = fetch_all(url, ids, lambda r: r.content)
    fetched = time.perf_counter() - t
    return floor(iter(bodies), out), fetched


# -- the harness -----------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parent.parent
IN_PROCESS: dict[str, Callable[[Iterator[Any], Path], int]] = {
    "ours": ours,
    "pandas": lambda items, out: pandas_way((body for _, body in items), out),
    "floor": lambda items, out: floor((body for _, body in items), out),
}


PRELOAD = {
    "ours": ("pipeline.client", "pipeline.dataset", "pipeline.flatten", "pipeline.runner"),
    "pandas": ("pandas", "pyarrow.parquet"),
    "floor": ("pyarrow.parquet",),
}


def child(name: str, args: list[str]) -> None:
    """Child side of a measurement: run one variant, print its figures as one JSON line."""
    out = Path(args[-1])
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for module in PRELOAD.get(name, ()):  # imports are not what (a) measures
        __import__(module)
    spent, extra, t0, c0 = [0.0, 0.0], {}, time.perf_counter(), time.process_time()
    if name in IN_PROCESS:
        rows = IN_PROCESS[name](timed_night(int(args[0]), int(args[1]), spent), out)
    elif name == "script":
        rows = script(args[0], args[1], out)
    else:
        rows, fetch_s = floor_http(args[0], args[1], out)
        extra["fetch_s"] = fetch_s
    seconds = time.perf_counter() - t0 - spent[0]
    cpu = time.process_time() - c0 - spent[1]
    print(
        json.dumps({"seconds": seconds, "cpu": cpu, "rows": rows, "generate_s": spent[0], **extra})
    )


def measure(argv: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``argv`` as a child: its JSON line (if any), wall time and peak RSS (os.wait4)."""
    env = {**(env or os.environ), "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    assert proc.stdout is not None
    text = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:5])}...: exit {proc.returncode}")
    found: dict[str, Any] = json.loads(text.splitlines()[-1]) if text.strip() else {}
    cpu = usage.ru_utime + usage.ru_stime
    return {"cpu": cpu, **found, "wall": time.perf_counter() - t0, "rss": usage.ru_maxrss / 1024}


def _me(*args: object) -> list[str]:
    return [sys.executable, "-m", "benchmarks.bench_datasets", *map(str, args)]


def _row(label: str, r: dict[str, Any], base: dict[str, Any] | None, key: str) -> str:
    ratio = f"{r[key] / base[key]:.1f}x / {r['cpu'] / base['cpu']:.1f}x" if base else "-"
    cells = f"{r['rows']:,} | {r[key]:.2f} | {r['cpu']:.2f} | {r['rss']:,.0f}"
    return f"| {label} | {cells} | {ratio} |"


HEADER = (
    "| variant | host rows | seconds | CPU s | peak RSS MiB | time / ours (wall / CPU) |\n"
    "|---|---|---|---|---|---|"
)


def part_a(tmp: Path) -> None:
    steps, hosts = NIGHT
    runs = {name: measure(_me("run", name, steps, hosts, tmp / name)) for name in IN_PROCESS}
    double = measure(_me("run", "ours", 2 * steps, 2 * hosts, tmp / "ours2"))
    ours_r, pandas_r, floor_r = runs["ours"], runs["pandas"], runs["floor"]
    print(f"\n(a) in-process night: {steps:,} steps, {hosts:,} host rows (max {MAX_HOSTS:,}/step)")
    print(HEADER)
    print(_row("ours: classify + flatten + DatasetWriter", ours_r, None, "seconds"))
    print(_row("pandas: json.loads + json_normalize + to_parquet", pandas_r, ours_r, "seconds"))
    print(_row("floor: orjson + Arrow columns + write_table", floor_r, ours_r, "seconds"))
    print(_row("ours, twice the night", double, ours_r, "seconds"))
    print(f"generating the answers took {ours_r['generate_s']:.2f} s (left out)")
    _targets(
        ("faster than pandas >= 10x, wall", pandas_r["seconds"] / ours_r["seconds"], 10, True),
        ("faster than pandas >= 10x, CPU", pandas_r["cpu"] / ours_r["cpu"], 10, True),
        ("time / floor <= 2x, wall", ours_r["seconds"] / floor_r["seconds"], 2, False),
        ("time / floor <= 2x, CPU", ours_r["cpu"] / floor_r["cpu"], 2, False),
        ("peak RSS < 500 MiB", ours_r["rss"], 500, False),
        ("RSS growth, 2x hosts <= 10%", 100 * (double["rss"] / ours_r["rss"] - 1), 10, False),
    )


def _targets(*checks: tuple[str, float, float, bool]) -> None:
    for label, value, limit, at_least in checks:
        met = value >= limit if at_least else value <= limit
        print(f"- {label}: {value:.2f} ({'met' if met else 'NOT met'})")


def _server(tmp: Path) -> tuple[subprocess.Popen[str], str, str]:
    ids = str(tmp / "ids.csv")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(_me("serve", ids), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, cwd=ROOT, env=env)  # fmt: skip
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    fetch_all(url, ids, lambda r: None)  # warm the simulator's answer cache for every variant
    return proc, url, ids


def part_b(tmp: Path) -> None:
    proc, url, ids = _server(tmp)
    try:
        env = {**os.environ, "BK_APP_CODE": "bench", "BK_APP_SECRET": "bench",
               "BK_USERNAME": "admin"}  # fmt: skip
        cli = [sys.executable, "-m", "pipeline", "fetch", "--ids", ids, "--api-url", url,
               "--out", str(tmp / "cli"), "--concurrency", "8", "-q"]  # fmt: skip
        ours_r = measure(cli, env)
        manifest = json.loads((tmp / "cli" / "manifest.json").read_text())
        ours_r["rows"] = manifest["counts"]["step_hosts"]
        script_r = measure(_me("run", "script", url, ids, tmp / "script"))
        floor_r = measure(_me("run", "floor-http", url, ids, tmp / "floor-http"))
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(60)
    steps = HTTP_JOBS * HTTP_STEPS_PER_JOB
    print(f"\n(b) over HTTP, simulator in its own process: {steps:,} steps of {HTTP_HOSTS} hosts")
    print(HEADER)
    print(_row("bkjob-export fetch --concurrency 8", ours_r, None, "wall"))
    print(
        _row("script: 8 threads requests + json_normalize + to_parquet", script_r, ours_r, "wall")
    )
    print(_row("floor: 8 threads raw fetch + floor of (a)", floor_r, ours_r, "wall"))
    print(f"the floor's raw fetch alone: {floor_r['fetch_s']:.2f} s; seconds are whole processes")
    _targets(
        ("faster than the script >= 4x, wall", script_r["wall"] / ours_r["wall"], 4, True),
        ("faster than the script >= 4x, CPU", script_r["cpu"] / ours_r["cpu"], 4, True),
        ("time / floor <= 2x, wall", ours_r["wall"] / floor_r["wall"], 2, False),
        ("time / floor <= 2x, CPU", ours_r["cpu"] / floor_r["cpu"], 2, False),
        ("peak RSS < 400 MiB", ours_r["rss"], 400, False),
    )


def main() -> None:
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, scale {SCALE}")
    with tempfile.TemporaryDirectory(prefix="bkjob-bench-") as tmp:
        part_a(Path(tmp))
        part_b(Path(tmp))


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2])
    elif sys.argv[1:2] == ["run"]:
        child(sys.argv[2], sys.argv[3:])
    else:
        main()
