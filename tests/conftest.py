"""Shared fixtures. The environment variables the tool reads are cleared for every test,
so a developer's shell cannot change results."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipeline.config import ENV_VARS
from pipeline.simulator import SimData, Simulator
from tests.e2e_helpers import APP_CODE, APP_SECRET


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
    yield


@pytest.fixture(scope="module")
def sim(data: SimData) -> Iterator[Simulator]:
    """The simulator over the requesting module's ``data``, checking the test credentials."""
    with Simulator(data, app_code=APP_CODE, app_secret=APP_SECRET) as server:
        yield server


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test credentials in the environment, as a user's shell would hold them."""
    monkeypatch.setenv("BK_APP_CODE", APP_CODE)
    monkeypatch.setenv("BK_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("BK_USERNAME", "admin")
