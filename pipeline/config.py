"""Run settings, from three sources with per-key precedence: CLI > environment > TOML file.

Credentials are read only from the environment or the config file, never from arguments,
and are held in :class:`Secret` so that no repr, log line or error can print them.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from pathlib import Path
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.errors import UsageError
from pipeline.objectstore import NEEDS_DELTA, is_uri, public_uri, work_dir
from pipeline.shard import Shard, parse_shard

DEFAULT_CONCURRENCY: Final = 8
DEFAULT_TIMEOUT_S: Final = 30.0  # ESB's own upstream timeout is 30 s
DEFAULT_MAX_RETRIES: Final = 5
DEFAULT_API_TIMEZONE: Final = "Asia/Shanghai"

ENV_VARS: Final[dict[str, str]] = {
    "api_url": "BKJOB_API_URL",
    "app_code": "BK_APP_CODE",
    "app_secret": "BK_APP_SECRET",
    "username": "BK_USERNAME",
    "token": "BK_TOKEN",
}
SECRET_KEYS: Final = frozenset({"app_secret", "token"})


class Secret:
    """A string that never shows itself by accident."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    api_url: str | None = None
    app_code: str | None = None
    app_secret: Secret | None = None
    username: str | None = None
    token: Secret | None = None
    out: Path = Path("out")
    format: Literal["parquet", "csv", "delta"] = "parquet"
    concurrency: int = DEFAULT_CONCURRENCY
    rps: float | None = None
    timeout: float = DEFAULT_TIMEOUT_S
    max_retries: int = DEFAULT_MAX_RETRIES
    api_timezone: str = DEFAULT_API_TIMEZONE
    #: --api: the API flavour (pipeline.flavours); auto probes at run start
    api: str = "auto"
    apigw_stage: str = "prod"
    #: discovery (pipeline.discovery): a create-time window and the businesses to list
    since: str | None = None
    until: str | None = None
    biz: tuple[int, ...] | None = None
    refresh_unfinished: bool = False
    #: --with-logs: log tails of failed hosts (pipeline.logs_fetch), this many KiB each
    with_logs: bool = False
    log_tail_kib: int = 8
    resume: bool = False
    retry_failed: Path | None = None
    wait_finished: float | None = None
    metrics_file: Path | None = None
    csv_bom: bool = False
    csv_raw: bool = False
    quiet: bool = False
    verbose: bool = False
    log_format: Literal["text", "json"] = "text"
    html: Path | None = None
    ids: str | None = None
    #: --shard K/N: fetch only this share of the requested jobs (pipeline/shard.py)
    shard: Shard | None = None
    #: --out s3://...: the tables' URI; ``out`` is then a local working folder (objectstore.py)
    out_uri: str | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.api_timezone)

    def secrets(self) -> list[str]:
        """Secret values, for redaction filters."""
        return [s.reveal() for s in (self.app_secret, self.token) if s and s.reveal()]


_FIELD_TYPES: Final = {f.name: f.type for f in fields(Settings)}
_PATH_KEYS: Final = frozenset({"out", "retry_failed", "metrics_file", "html"})
_FLOAT_KEYS: Final = frozenset({"rps", "timeout", "wait_finished"})
_INT_KEYS: Final = frozenset({"concurrency", "max_retries", "log_tail_kib"})
_BOOL_KEYS: Final = frozenset(
    {"resume", "csv_bom", "csv_raw", "quiet", "verbose", "with_logs", "refresh_unfinished"}
)
_CHOICES: Final = {
    "format": ("parquet", "csv", "delta"),
    "log_format": ("text", "json"),
    "api": ("auto", "esb-v2", "esb-v3", "apigw"),
}


def _businesses(value: Any, where: str) -> tuple[int, ...]:
    """``--biz 2,3`` or ``biz = [2, 3]`` (or ``"2,3"``) in the config file."""
    items = value.split(",") if isinstance(value, str) else value
    items = [items] if isinstance(items, int) else items
    out: list[int] = []
    for item in items if isinstance(items, list) else [None]:
        text = str(item).strip()
        if isinstance(item, bool) or not text.isdigit() or int(text) < 1:
            raise UsageError(f"{where}: expected business IDs like 2,3, got {value!r}")
        out.append(int(text))
    return tuple(dict.fromkeys(out))


def _coerce(key: str, value: Any, where: str) -> Any:
    """Check and convert one value; ``where`` names its source in error messages."""
    if key == "biz":
        return _businesses(value, where)
    if key in ("since", "until") and isinstance(value, date):
        value = value.isoformat()  # a TOML date-time literal
    if key in _BOOL_KEYS:
        if not isinstance(value, bool):
            raise UsageError(f"{where}: {key} must be true or false")
        return value
    if key in _INT_KEYS:
        if isinstance(value, bool) or not isinstance(value, int) or value < (key != "max_retries"):
            raise UsageError(f"{where}: {key} must be a positive integer")
        return value
    if key in _FLOAT_KEYS:
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise UsageError(f"{where}: {key} must be a positive number")
        return float(value)
    if not isinstance(value, str) or value == "":
        raise UsageError(f"{where}: {key} must be a non-empty string")
    if key in _CHOICES and value not in _CHOICES[key]:
        raise UsageError(f"{where}: {key} must be one of {', '.join(_CHOICES[key])}")
    if key == "out" and is_uri(value):
        return value  # object storage: load_settings() splits it
    if key in _PATH_KEYS:
        return Path(value)
    if key == "shard":
        return parse_shard(value, where)
    if key in SECRET_KEYS:
        return Secret(value)
    if key == "api_timezone":
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise UsageError(f"{where}: unknown time zone {value!r}") from None
    return value


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read config file ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML ({exc})") from None
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name not in _FIELD_TYPES:
            raise UsageError(f"{path}: unknown key {key!r}")
        values[name] = _coerce(name, value, f"{path}: {key}")
    return values


def load_settings(
    cli: Mapping[str, Any],
    env: Mapping[str, str],
    config_file: Path | None = None,
) -> Settings:
    """Merge the three sources per key. ``cli`` holds only options the user gave."""
    merged: dict[str, Any] = read_config_file(config_file) if config_file else {}
    for key, var in ENV_VARS.items():
        if env.get(var):
            merged[key] = _coerce(key, env[var], f"environment variable {var}")
    for key, value in cli.items():
        if value is None:
            continue
        if key in SECRET_KEYS:
            raise UsageError(f"--{key.replace('_', '-')}: credentials come from env or --config")
        merged[key] = _coerce(key, value, "--" + key.replace("_", "-"))
    if isinstance(merged.get("out"), str):  # --out s3://bucket/prefix
        merged["out_uri"], merged["out"] = merged["out"], work_dir(merged["out"])
        if merged.get("format") != "delta":
            raise UsageError(f"--out {public_uri(merged['out_uri'])}: {NEEDS_DELTA}")
    return replace(Settings(), **merged)


def require_api(settings: Settings) -> None:
    """The checks a run needs before it may call the API."""
    if not settings.api_url:
        raise UsageError("missing --api-url (or BKJOB_API_URL, or api_url in --config)")
    if not settings.api_url.startswith(("http://", "https://")):
        raise UsageError(f"--api-url {settings.api_url!r}: must start with http:// or https://")
    if not settings.app_code or not settings.app_secret:
        raise UsageError("missing credentials: set BK_APP_CODE and BK_APP_SECRET (or --config)")
    if not settings.username and not settings.token:
        raise UsageError("missing user: set BK_USERNAME or BK_TOKEN (or --config)")
