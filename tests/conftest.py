"""Shared fixtures. The environment variables the tool reads are cleared for every test,
so a developer's shell cannot change results."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipeline.config import ENV_VARS


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
    yield
