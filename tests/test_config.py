from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import Secret, Settings, load_settings, require_api
from pipeline.errors import UsageError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bkjob.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_precedence_is_per_key_cli_then_env_then_file(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        'api_url = "http://file"\napp_code = "file-app"\napp_secret = "file-secret"\n'
        'concurrency = 3\napi_timezone = "UTC"\nusername = "file-user"\n',
    )
    env = {"BKJOB_API_URL": "http://env", "BK_APP_CODE": "env-app"}
    settings = load_settings({"api_url": "http://cli"}, env, config)
    assert settings.api_url == "http://cli"
    assert settings.app_code == "env-app"
    assert settings.app_secret == Secret("file-secret")
    assert settings.concurrency == 3
    assert settings.api_timezone == "UTC"
    assert settings.username == "file-user"


def test_defaults() -> None:
    s = load_settings({}, {}, None)
    assert (s.concurrency, s.max_retries, s.timeout, s.api_timezone, s.format) == (
        8, 5, 30.0, "Asia/Shanghai", "parquet")  # fmt: skip
    assert s.out == Path("out")


def test_option_names_in_snake_case_and_dashes(tmp_path: Path) -> None:
    config = write(tmp_path, 'max-retries = 2\nrps = 12.5\nformat = "csv"\nresume = true\n')
    s = load_settings({}, {}, config)
    assert (s.max_retries, s.rps, s.format, s.resume) == (2, 12.5, "csv", True)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("bogus = 1\n", "unknown key 'bogus'"),
        ("concurrency = 'x'\n", "concurrency must be a positive integer"),
        ("concurrency = 0\n", "concurrency must be a positive integer"),
        ("format = 'xlsx'\n", "format must be one of parquet, csv"),
        ("api_timezone = 'Mars/Base'\n", "unknown time zone"),
        ("this is not toml\n", "not valid TOML"),
    ],
)
def test_bad_config_files_get_one_line(tmp_path: Path, text: str, fragment: str) -> None:
    config = write(tmp_path, text)
    with pytest.raises(UsageError) as info:
        load_settings({}, {}, config)
    assert fragment in str(info.value)
    assert str(config) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read config file"):
        load_settings({}, {}, tmp_path / "nope.toml")


def test_secrets_never_show() -> None:
    s = load_settings({}, {"BK_APP_SECRET": "hunter2", "BK_TOKEN": "tok-abc"}, None)
    assert "hunter2" not in repr(s) and "tok-abc" not in repr(s)
    assert sorted(s.secrets()) == ["hunter2", "tok-abc"]
    with pytest.raises(UsageError, match="credentials come from env"):
        load_settings({"app_secret": "x"}, {}, None)


def test_require_api() -> None:
    with pytest.raises(UsageError, match="missing --api-url"):
        require_api(Settings())
    with pytest.raises(UsageError, match="http:// or https://"):
        require_api(Settings(api_url="ftp://x"))
    with pytest.raises(UsageError, match="BK_APP_CODE"):
        require_api(Settings(api_url="http://x"))
    with pytest.raises(UsageError, match="BK_USERNAME or BK_TOKEN"):
        require_api(Settings(api_url="http://x", app_code="a", app_secret=Secret("s")))
    require_api(Settings(api_url="http://x", app_code="a", app_secret=Secret("s"), username="u"))
