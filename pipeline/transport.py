"""The HTTP transport: requests' interface on urllib3 alone.

``requests.Session.request`` spends about 0.6 ms of CPU per call on layers this tool does
not use (cookie jars, hooks, redirects, settings merged per call) - as much as the rest of
a call together. On a two-core box running a night's fetch at 400 calls/s that is the
difference between 65% and 90% of what the latency allows (docs/benchmarks.md).
:class:`FastSession` keeps the requests interface (``get``/``post``, ``headers``,
``requests`` exceptions, ``Response``), so the client code and tests are unchanged, and
sends through one urllib3 pool: keep-alive, TLS with certifi's bundle (as requests), the
environment's proxy for the API host, read once. A call with an option it does not know,
or on a session where a test mounted an adapter of its own, goes through requests.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import certifi
import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)


def _pool(pool_size: int, base_url: str) -> urllib3.PoolManager:
    """One pool per host, ``pool_size`` kept-alive connections; the proxy the environment
    names for the API host (NO_PROXY honoured), and the CA bundle requests would use."""
    tls: dict[str, Any] = {
        "cert_reqs": "CERT_REQUIRED",
        "ca_certs": os.environ.get("REQUESTS_CA_BUNDLE")
        or os.environ.get("CURL_CA_BUNDLE")
        or certifi.where(),
    }
    options: dict[str, Any] = {"num_pools": 4, "maxsize": max(pool_size, 1), "block": False}
    scheme = urlsplit(base_url).scheme or "http"
    proxy = requests.utils.get_environ_proxies(base_url).get(scheme) if base_url else None
    if not proxy:
        return urllib3.PoolManager(**options, **tls)
    parts = urlsplit(proxy)
    headers = None
    if parts.username:
        auth = f"{parts.username}:{parts.password or ''}"
        headers = urllib3.make_headers(proxy_basic_auth=unquote(auth))
    return urllib3.ProxyManager(proxy, proxy_headers=headers, **options, **tls)


class FastSession(requests.Session):
    def __init__(self, pool_size: int, base_url: str = "") -> None:
        super().__init__()
        self.trust_env = False  # the environment was read once, just below
        self._pool = _pool(pool_size, base_url)

    def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        params: dict[str, str] | None = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        known = not any(v is not None for v in kwargs.values())  # post() passes json=None
        if not known or any(type(a) is not HTTPAdapter for a in self.adapters.values()):
            # an option this path does not know, or a test's own adapter: plain requests
            return super().request(method, url, params=params, data=data, headers=headers,
                                   timeout=timeout, **kwargs)  # fmt: skip
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        sent = {k: str(v) for k, v in self.headers.items()} | (headers or {})
        limit = urllib3.Timeout(connect=timeout, read=timeout)
        try:
            answer = self._pool.request(method, url, body=data, headers=sent, timeout=limit,
                                        retries=False, redirect=False)  # fmt: skip
        except (ConnectTimeoutError, ReadTimeoutError) as exc:
            raise requests.Timeout(str(exc)) from None
        except (NewConnectionError, ProtocolError, ProxyError, SSLError) as exc:
            raise requests.ConnectionError(str(exc)) from None
        except HTTPError as exc:
            raise requests.RequestException(str(exc)) from None
        return _response(answer, url)

    def close(self) -> None:
        self._pool.clear()
        super().close()


def _response(answer: urllib3.BaseHTTPResponse, url: str) -> requests.Response:
    response = requests.Response()
    response.status_code = answer.status
    response.headers = CaseInsensitiveDict(answer.headers)
    response._content = answer.data
    response.reason = answer.reason or ""
    response.url = url
    return response
