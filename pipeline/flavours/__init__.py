"""API flavours: how to call bk-job (``--api``) and how to read its answers.

    esb-v2   ESB v2 ``job`` endpoints (the seed): get_step_instance_status and
             get_job_instance_status; host lists partial on Job 3.x
    esb-v3   ESB ``jobv3/get_job_instance_status`` with return_ip_result: one call per
             job, every step and host with host ID, exit code, tag and times
    apigw    the bk-job API gateway v3 resources (header-only auth, scope pair, GET)
    auto     probe once at run start (``pipeline.flavours.probe``): esb-v3 where jobv3
             answers, else apigw where the gateway answers, else esb-v2

Each flavour builds requests and normalises answers into the v2 shape that
:mod:`pipeline.flatten` reads (see :mod:`pipeline.flavours.base`).
"""

from __future__ import annotations

from typing import Final

from pipeline.flavours.apigw import Apigw
from pipeline.flavours.base import DEFAULT_APIGW_STAGE, ApiRequest, Flavour, LogHost
from pipeline.flavours.esb_v2 import EsbV2
from pipeline.flavours.esb_v3 import EsbV3

API_CHOICES: Final = ("auto", "esb-v2", "esb-v3", "apigw")
DEFAULT_API: Final = "auto"


def make_flavour(name: str, stage: str = DEFAULT_APIGW_STAGE) -> Flavour:
    """The flavour called ``name`` (not ``auto``: that is resolved by probing)."""
    if name == "esb-v2":
        return EsbV2()
    if name == "esb-v3":
        return EsbV3()
    if name == "apigw":
        return Apigw(stage=stage)
    raise ValueError(f"unknown API flavour {name!r}")


__all__ = [
    "API_CHOICES",
    "DEFAULT_API",
    "ApiRequest",
    "Apigw",
    "EsbV2",
    "EsbV3",
    "Flavour",
    "LogHost",
    "make_flavour",
]
