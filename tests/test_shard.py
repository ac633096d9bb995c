"""--shard K/N: every reference in exactly one shard, the same shard on every machine, the
steps of one job together, shards of about equal size, and one clear line for bad values."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.cli import main
from pipeline.config import load_settings
from pipeline.errors import UsageError
from pipeline.ids import JobRef, Ref, StepRef
from pipeline.runner import fetch
from pipeline.shard import Shard, parse_shard, select, shard_of
from pipeline.simulator import SimData, Simulator
from tests.e2e_helpers import APP_CODE, APP_SECRET, job_refs, read_table, settings_for

ids = st.integers(min_value=1, max_value=2**63 - 1)
refs = st.lists(
    st.one_of(st.builds(JobRef, ids, ids), st.builds(StepRef, ids, ids, ids)), max_size=60
)


@given(refs=refs, count=st.integers(min_value=1, max_value=64))
def test_every_ref_is_in_exactly_one_shard(refs: list[Ref], count: int) -> None:
    shards = [select(refs, Shard(k, count)) for k in range(count)]
    assert Counter(r for s in shards for r in s) == Counter(refs)
    for k, share in enumerate(shards):
        assert all(shard_of(r.bk_biz_id, r.job_instance_id, count) == k for r in share)
        assert share == [r for r in refs if r in share]  # order kept


@given(biz=ids, job=ids, steps=st.lists(ids, min_size=1, max_size=5), count=st.integers(1, 99))
def test_the_steps_of_a_job_share_its_shard(
    biz: int, job: int, steps: list[int], count: int
) -> None:
    expected = shard_of(biz, job, count)
    assert Shard(expected, count).holds(JobRef(biz, job))
    assert all(Shard(expected, count).holds(StepRef(biz, job, s)) for s in steps)


def test_shards_are_stable_across_runs_and_machines() -> None:
    # pinned values: blake2b is the same everywhere; a change here re-deals every night's work
    assert [shard_of(2, 490000 + i, 4) for i in range(12)] == [3, 1, 1, 3, 0, 1, 2, 1, 0, 3, 3, 3]
    assert shard_of(7, 123456789, 1000) == 869
    assert shard_of(2, 490001, 1) == 0


def test_pinned_values_are_blake2b_of_biz_colon_job() -> None:
    from hashlib import blake2b

    digest = blake2b(b"2:490003", digest_size=8).digest()
    assert shard_of(2, 490003, 7) == int.from_bytes(digest, "big") % 7


@pytest.mark.parametrize("count", [2, 3, 8, 16])
def test_shards_are_roughly_balanced(count: int) -> None:
    # 20,000 jobs of consecutive IDs (the usual shape of a night) over 5 businesses
    sizes = Counter(shard_of(biz, job, count) for biz in range(1, 6) for job in range(4000))
    expected = 20_000 / count
    assert set(sizes) == set(range(count))
    # a uniform hash stays within 5 standard deviations (sqrt(n p (1-p)) < sqrt(expected))
    assert all(abs(n - expected) < 5 * expected**0.5 for n in sizes.values())


@pytest.mark.parametrize(
    ("text", "shard"), [("0/1", Shard(0, 1)), ("3/4", Shard(3, 4)), (" 2 / 10 ", Shard(2, 10))]
)
def test_parse(text: str, shard: Shard) -> None:
    assert parse_shard(text) == shard
    assert str(parse_shard(text)) == f"{shard.index}/{shard.count}"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("4/4", "K must be between 0 and 3"),
        ("1/0", "N must be between 1"),
        ("-1/4", "expected K/N"),
        ("a/b", "expected K/N"),
        ("3", "expected K/N"),
        ("1/2/3", "expected K/N"),
        ("", "expected K/N"),
    ],
)
def test_bad_values_are_one_usage_line(text: str, why: str) -> None:
    with pytest.raises(UsageError, match=why):
        parse_shard(text)


def test_settings_key_from_config_file(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('shard = "1/3"\n', encoding="utf-8")
    assert load_settings({}, {}, config).shard == Shard(1, 3)
    assert load_settings({"shard": "2/3"}, {}, config).shard == Shard(2, 3)
    config.write_text("shard = 3\n", encoding="utf-8")
    with pytest.raises(UsageError, match="shard must be a non-empty string"):
        load_settings({}, {}, config)


@pytest.mark.parametrize("command", ["run", "fetch"])
def test_cli_bad_shard_exits_2_with_one_line(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as info:
        main(
            [command, "--shard", "5/4", "--job", "2:1", "--api-url", "http://x", "--out", str(out)]
        )
    assert info.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "bkjob-export: error: --shard '5/4': K must be between 0 and 3 (K counts from 0)"
    ]
    assert not out.exists()


def test_shards_split_a_night_between_hosts(tmp_path: Path) -> None:
    """N sharded runs over the simulator export every step exactly once between them."""
    data = SimData(seed=5, jobs=24)
    refs = job_refs(data)
    with Simulator(data, app_code=APP_CODE, app_secret=APP_SECRET) as sim:
        results = [
            fetch(settings_for(sim.base_url, tmp_path / f"s{k}", shard=Shard(k, 3)), refs)
            for k in range(3)
        ]
    assert [r.exit_code for r in results] == [0, 0, 0]
    assert sum(r.manifest.requested for r in results) == len(refs)
    steps = [read_table(tmp_path / f"s{k}", "steps") for k in range(3)]
    ids = [i for t in steps for i in t.column("step_instance_id").to_pylist()]
    assert sorted(ids) == sorted(s.step_instance_id for j in data.jobs() for s in j.steps)
    jobs = [set(t.column("job_instance_id").to_pylist()) for t in steps]
    assert all(a.isdisjoint(b) for i, a in enumerate(jobs) for b in jobs[i + 1 :])
    assert all(jobs)  # 24 jobs over 3 shards: none is empty with these IDs
