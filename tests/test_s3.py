"""--out s3://bucket/prefix against a real S3-compatible server on loopback (moto's server,
started here; no mocked client): Delta tables in the bucket, re-runs and concurrent writers
without duplicates, the manifest uploaded, credentials never shown."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import pytest
from deltalake import DeltaTable

from pipeline.cli import main
from pipeline.config import load_settings
from pipeline.delta.tables import DeltaStore
from pipeline.delta.writer import DeltaWriter
from pipeline.errors import UsageError
from pipeline.objectstore import delta_options, is_uri, public_uri, work_dir
from pipeline.simulator import SimData, Simulator
from tests.e2e_helpers import APP_CODE, APP_SECRET, step_refs
from tests.test_delta_helpers import hosts, steps

SECRET = "moto-s3cret-KEY-value"

# moto's server (werkzeug, botocore) may warn about its own dependencies' deprecations;
# only DeprecationWarnings raised from those packages are let through here
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:botocore.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:moto.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:werkzeug.*"),
]


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A fresh bucket; the AWS variables point at the loopback server."""
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": SECRET,
           "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint,
           "XDG_CACHE_HOME": str(tmp_path / "cache")}  # fmt: skip
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    name = f"night-{tmp_path.name.lower().replace('_', '-')[-40:]}"
    fs = pafs.S3FileSystem(endpoint_override=endpoint.removeprefix("http://"), scheme="http",
                           region="us-east-1", allow_bucket_creation=True)  # fmt: skip
    fs.create_dir(name)
    return name


def delta(uri: str) -> Any:
    return DeltaTable(uri, storage_options=delta_options()).to_pyarrow_table()


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
    code = info.value.code
    return (code if isinstance(code, int) else 0), capsys.readouterr().err


@pytest.fixture(scope="module")
def sim() -> Iterator[tuple[SimData, Simulator]]:
    data = SimData(seed=13, jobs=10)
    with Simulator(data, app_code=APP_CODE, app_secret=APP_SECRET) as server:
        yield data, server


def test_fetch_to_s3_twice_never_duplicates(
    bucket: str,
    sim: tuple[SimData, Simulator],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data, server = sim
    for k, v in {"BK_APP_CODE": APP_CODE, "BK_APP_SECRET": APP_SECRET, "BK_USERNAME": "a"}.items():
        monkeypatch.setenv(k, v)
    refs = step_refs(data)
    uri = f"s3://{bucket}/bkjob"
    argv = ["fetch", "--api-url", server.base_url, "--out", uri, "--format", "delta", "-v"]
    argv += [f"--step={r.bk_biz_id}:{r.job_instance_id}:{r.step_instance_id}" for r in refs]
    first, log1 = cli(argv, capsys)
    second, log2 = cli(argv[: len(argv) - len(refs) // 2], capsys)
    assert (first, second) == (0, 0), log1 + log2
    ids = delta(f"{uri}/steps").column("step_instance_id").to_pylist()
    assert sorted(ids) == sorted({r.step_instance_id for r in refs})  # type: ignore[union-attr]
    assert delta(f"{uri}/step_hosts").num_rows == sum(
        s.host_count for j in data.jobs() for s in j.steps if s.type != 3
    )
    fs = pafs.S3FileSystem(endpoint_override=server_netloc(), scheme="http", region="us-east-1")
    manifest = json.loads(fs.open_input_stream(f"{bucket}/bkjob/manifest.json").read())
    assert manifest["format"] == "delta" and manifest["exit_code"] == 0
    assert SECRET not in log1 + log2 + json.dumps(manifest)


def server_netloc() -> str:
    import os

    return os.environ["AWS_ENDPOINT_URL"].removeprefix("http://")


def test_two_writers_merge_into_the_same_bucket(bucket: str, tmp_path: Path) -> None:
    store = DeltaStore(f"s3://{bucket}/t", storage_options=delta_options(), sleep=lambda s: None)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(name: str, first: int) -> None:
        try:
            with DeltaWriter(store, run_id=name, staging=tmp_path / name) as w:
                ids = list(range(first, first + 60))
                w.write("steps", steps(ids, name))
                w.write("step_hosts", hosts(ids, 2, name))
                barrier.wait()
                w.commit({})
        except BaseException as exc:  # reported in the test's thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=write, args=a) for a in (("a", 0), ("b", 30))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    ids = delta(f"s3://{bucket}/t/steps").column("step_instance_id").to_pylist()
    assert sorted(ids) == list(range(90))
    assert delta(f"s3://{bucket}/t/step_hosts").num_rows == 180


def test_object_storage_needs_delta(bucket: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = cli(["fetch", "--out", f"s3://{bucket}/x", "--job", "2:1",
                     "--api-url", "http://127.0.0.1:9"], capsys)  # fmt: skip
    assert code == 2
    assert err.splitlines() == [
        f"bkjob-export: error: --out s3://{bucket}/x: object storage needs --format delta "
        "(S3 has no rename or lock for the Parquet/CSV writer; see docs/scale.md)"
    ]


def test_uris_are_shown_without_credentials(tmp_path: Path) -> None:
    assert public_uri("s3://AKIA:secret@bkt/a/b/?x=1#f") == "s3://bkt/a/b"
    assert is_uri("s3://bkt/p") and not is_uri("out") and not is_uri("/data/s3:/x")
    with pytest.raises(UsageError, match="object storage needs --format delta"):
        load_settings({"out": "s3://bkt/p/"}, {}, None)
    settings = load_settings({"out": "s3://bkt/p/", "format": "delta"}, {}, None)
    assert settings.out_uri == "s3://bkt/p/"
    assert settings.out == work_dir("s3://bkt/p")
    assert work_dir("s3://k:s@bkt/p", {"XDG_CACHE_HOME": str(tmp_path)}).parent == (
        tmp_path / "bkjob-export" / "out"
    )
