"""An embedded BlueKing JOB (bk-job) ESB API simulator on a real loopback socket.

    from pipeline.simulator import SimData, Simulator, FaultConfig

    data = SimData(seed=7, jobs=200)               # deterministic, lazily generated
    with Simulator(data) as sim:                   # port 0: any free port
        requests.post(sim.base_url + STEP_STATUS_PATH, json={...})
        sim.stats.count("get_step_instance_status", "ok")

``data.step(biz, job, step)`` is the truth an exporter's output can be compared with.
Endpoints, modes, error codes and faults: ``pipeline/simulator/README.md``.
"""

from __future__ import annotations

from .app import ESB_JOBV3, ESB_V2
from .data import DEFAULT_NOW, SimData
from .faults import FAULT_KINDS, FaultConfig, FaultKind
from .model import HostTable, ResultGroup, SimHost, SimJob, SimStep
from .serve import serve_fake_api
from .server import Simulator
from .stats import SimStats

STEP_STATUS_PATH = ESB_V2 + "get_step_instance_status/"
JOB_STATUS_PATH = ESB_V2 + "get_job_instance_status/"
JOBV3_JOB_STATUS_PATH = ESB_JOBV3 + "get_job_instance_status/"
JOBV3_JOB_LIST_PATH = ESB_JOBV3 + "get_job_instance_list/"

__all__ = [
    "DEFAULT_NOW",
    "FAULT_KINDS",
    "JOBV3_JOB_LIST_PATH",
    "JOBV3_JOB_STATUS_PATH",
    "JOB_STATUS_PATH",
    "STEP_STATUS_PATH",
    "FaultConfig",
    "FaultKind",
    "HostTable",
    "ResultGroup",
    "SimData",
    "SimHost",
    "SimJob",
    "SimStats",
    "SimStep",
    "Simulator",
    "serve_fake_api",
]
