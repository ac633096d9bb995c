"""The client in each flavour against the simulator: errors arrive classified."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipeline.client import ApiClient, Credentials
from pipeline.config import Secret
from pipeline.errors import AuthError, FatalApiError
from pipeline.flavours import make_flavour
from pipeline.simulator import SimData, Simulator
from tests.e2e_helpers import APP_CODE, APP_SECRET


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(SimData(seed=4, jobs=12, job3=True), app_code=APP_CODE,
                   app_secret=APP_SECRET, deny_biz=[3]) as server:  # fmt: skip
        yield server


def client(sim: Simulator, api: str, secret: str = APP_SECRET) -> ApiClient:
    creds = Credentials(APP_CODE, Secret(secret), "admin")
    return ApiClient(sim.base_url, creds, flavour=make_flavour(api))


@pytest.mark.parametrize("api", ["esb-v2", "esb-v3", "apigw"])
def test_rejected_credentials_are_auth_errors_without_the_secret(sim: Simulator, api: str) -> None:
    with pytest.raises(AuthError) as info:
        client(sim, api, secret="wrong-" + APP_SECRET).job_status(2, 1)
    assert info.value.credentials is True
    assert APP_SECRET not in info.value.message
    if api == "apigw":
        assert (info.value.http_status, info.value.api_code) == (401, 1640101)


@pytest.mark.parametrize("api", ["esb-v2", "esb-v3", "apigw"])
def test_denied_business_is_a_permission_error(sim: Simulator, api: str) -> None:
    with pytest.raises(AuthError) as info:
        client(sim, api).job_status(3, 1)
    assert (info.value.credentials, info.value.api_code) == (False, 9900403)


@pytest.mark.parametrize("api", ["esb-v2", "esb-v3", "apigw"])
def test_unknown_job_is_not_found(sim: Simulator, api: str) -> None:
    with pytest.raises(FatalApiError) as info:
        client(sim, api).step_status(2, 1, 1)
    assert info.value.kind == "not_found"
