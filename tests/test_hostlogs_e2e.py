"""--with-logs against the simulator over real sockets: every failed host gets its log's
tail, in every flavour, in Parquet and CSV, and in the report's failed steps."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from pipeline.logs_fetch import tail
from pipeline.report.dataset import connect, locate
from pipeline.runner import fetch, run
from pipeline.simulator import SimData, Simulator
from pipeline.simulator.iplogs import host_log
from tests.e2e_helpers import APP_CODE, APP_SECRET, job_refs, read_table, settings_for


@pytest.fixture(scope="module")
def data() -> SimData:
    return SimData(seed=31, jobs=40, job3=True)


def expected_tail(data: SimData, row: dict[str, Any], limit: int) -> tuple[str, bool]:
    step = data.step(row["bk_biz_id"], row["job_instance_id"], row["step_instance_id"])
    assert step is not None
    i = next(
        i
        for i, h in enumerate(step.hosts)
        if (h.bk_cloud_id, h.ip) == (row["bk_cloud_id"], row["ip"])
    )
    return tail(host_log(data.seed, step, i), limit)


def test_every_failed_host_and_only_those_get_their_log_tail(
    data: SimData, sim: Simulator, tmp_path: Path
) -> None:
    before = sim.stats.count("jobv3/batch_get_job_instance_ip_log")
    result = fetch(
        settings_for(sim.base_url, tmp_path, with_logs=True, api="esb-v3"), job_refs(data)
    )
    assert result.exit_code == 0 and result.manifest.warnings == []
    hosts = read_table(tmp_path, "step_hosts").to_pylist()
    failed = {
        (h["step_instance_id"], h["bk_cloud_id"], h["ip"])
        for h in hosts
        if h["outcome"] == "failed"
    }
    logs = read_table(tmp_path, "step_host_logs").to_pylist()
    assert failed and {(r["step_instance_id"], r["bk_cloud_id"], r["ip"]) for r in logs} == failed
    assert len(logs) == len(failed) == result.manifest.counts["step_host_logs"]
    for row in logs:
        assert (row["log_tail"], row["log_truncated"]) == expected_tail(data, row, 8 * 1024)
        assert len(row["log_tail"].encode()) <= 8 * 1024 and "ERROR" in row["log_tail"]
    assert any(r["log_truncated"] for r in logs), "some logs are longer than 8 KiB"
    steps = {s for s, _, _ in failed}
    assert sim.stats.count("jobv3/batch_get_job_instance_ip_log") - before == len(steps)


def test_gateway_logs_a_smaller_tail_and_csv(data: SimData, sim: Simulator, tmp_path: Path) -> None:
    before = sim.stats.count("/api/bk-job/prod/api/v3/batch_get_job_instance_ip_log")
    settings = settings_for(sim.base_url, tmp_path, with_logs=True, api="apigw", log_tail_kib=1,
                            format="csv")  # fmt: skip
    assert fetch(settings, job_refs(data)).exit_code == 0
    assert sim.stats.count("/api/bk-job/prod/api/v3/batch_get_job_instance_ip_log") > before
    con = connect(locate(tmp_path))
    try:
        columns = "bk_biz_id, job_instance_id, step_instance_id, bk_cloud_id, ip"
        sql = f"SELECT {columns}, log_tail, log_truncated FROM step_host_logs"
        rows = con.execute(sql).fetchall()
    finally:
        con.close()
    names = ("bk_biz_id", "job_instance_id", "step_instance_id", "bk_cloud_id", "ip")
    assert rows
    for *ids, text, cut in rows:
        assert (text, cut) == expected_tail(data, dict(zip(names, ids, strict=True)), 1024)


class _Logs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.pre: list[str] = []
        self._in = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in = tag == "pre"
        if self._in:
            self.pre.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in = False if tag == "pre" else self._in

    def handle_data(self, text: str) -> None:
        if self._in:
            self.pre[-1] += text


def test_the_report_shows_log_tails_under_failed_steps(
    data: SimData, sim: Simulator, tmp_path: Path
) -> None:
    result = run(settings_for(sim.base_url, tmp_path, with_logs=True), job_refs(data))
    assert result.report is not None
    parser = _Logs()
    parser.feed(result.report.read_text(encoding="utf-8"))
    assert parser.pre and all("ERROR" in text for text in parser.pre)
    stored = {r["log_tail"][-2000:] for r in read_table(tmp_path, "step_host_logs").to_pylist()}
    assert set(parser.pre) <= stored  # unescaped by the parser: the text as stored


def test_failed_log_calls_are_warnings_not_errors(tmp_path: Path) -> None:
    data = SimData(seed=31, jobs=40)  # a 2.x platform: no jobv3, so no batch log API
    with Simulator(data, app_code=APP_CODE, app_secret=APP_SECRET) as sim:
        result = fetch(settings_for(sim.base_url, tmp_path, with_logs=True), job_refs(data))
    assert result.exit_code == 0
    (warning,) = result.manifest.warnings
    assert "batch_get_job_instance_ip_log" in warning and "1306404" in warning
    assert read_table(tmp_path, "step_host_logs").num_rows == 0
