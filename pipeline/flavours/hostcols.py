"""The v3 per-host columns of ``step_hosts`` from a normalised host list, checked by type
sets instead of host by host: the fast path of ``flatten`` (epoch-ms times become
microsecond integers, which ``pa.array`` takes for ``timestamp[us]`` as datetimes would be).
A list it cannot take as is (a string where a number belongs, a time that is not a
plausible epoch in ms) raises :class:`NotFast`, and flatten converts host by host."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

#: below this an epoch number is seconds, not milliseconds (flatten.parse_time's rule)
MIN_EPOCH_MS: Final = 100_000_000_000
_INT: Final[frozenset[type]] = frozenset({int, type(None)})
_STR: Final[frozenset[type]] = frozenset({str, type(None)})
_NUM: Final[frozenset[type]] = frozenset({int, float, type(None)})


class NotFast(ValueError):
    """The host list needs the host-by-host conversion."""


def _values(hosts: Sequence[Mapping[str, Any]], key: str, types: frozenset[type]) -> list[Any]:
    values = [h.get(key) for h in hosts]
    if not types.issuperset(map(type, values)):
        raise NotFast(key)
    return values


def _text(hosts: Sequence[Mapping[str, Any]], key: str) -> list[str | None]:
    return [v or None for v in _values(hosts, key, _STR)]  # "" (no tag, no IPv6) is null


def _micros(hosts: Sequence[Mapping[str, Any]], key: str) -> list[int | None]:
    values = _values(hosts, key, _INT)
    if any(v is not None and v < MIN_EPOCH_MS for v in values):
        raise NotFast(key)
    return [None if v is None else v * 1000 for v in values]


def v3_host_lists(hosts: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """ipv6, bk_agent_id, exit_code, error_code, tag, start/end time, total_time_s."""
    try:
        return {
            "ipv6": _text(hosts, "ipv6"),
            "bk_agent_id": _text(hosts, "bk_agent_id"),
            "exit_code": _values(hosts, "exit_code", _INT),
            "error_code": _values(hosts, "error_code", _INT),
            "tag": _text(hosts, "tag"),
            "start_time": _micros(hosts, "start_time"),
            "end_time": _micros(hosts, "end_time"),
            "total_time_s": _values(hosts, "total_time", _NUM),
        }
    except AttributeError:
        raise NotFast("not a mapping") from None
