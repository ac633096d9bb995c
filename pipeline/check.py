"""``bkjob-export check``: a first-contact diagnosis, one line per question, each failure
with a hint. Exit 0 when every line is ok, 4 otherwise (see docs/api-flavours.md).

1. URL: DNS, TCP, TLS (https), HTTP - stops at the first that fails.
2. Which flavours answer, one call each: ESB v2 (``get_job_instance_status`` with the ID only
   inside ``params``: Job 3.x ignores it and says 1241007, a 2.x-era platform reads it),
   ESB jobv3 and the API gateway (``get_job_instance_list`` over the last hour).
3. Credentials: rejected by any probe, or accepted by a bk-job answer.
4. The Job generation and its quirks.
5. Per ``--biz``: permission, with ``get_job_instance_list`` over the last day (jobv3 or
   gateway), else the v2 probe in that business (9900403 = no permission).
Nothing is written anywhere; no call is retried.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final
from urllib.parse import urlsplit

import requests

from pipeline.client import ApiClient, Credentials
from pipeline.config import Settings, require_api
from pipeline.errors import AuthError
from pipeline.flavours import Apigw, EsbV3, Flavour, make_flavour
from pipeline.flavours.base import ApiRequest
from pipeline.flavours.esb_v2 import esb_v2_request
from pipeline.flavours.probe import Probe, list_probe_request, made_by_bkjob, probe

DAY_MS: Final = 86_400_000
#: Job 3.x's answer to an ID given only inside ``params`` (API reference 3.1)
IDS_IGNORED: Final = 1241007
CREDENTIAL_HINT: Final = (
    "check BK_APP_CODE / BK_APP_SECRET; with BK_USERNAME the app must be on the "
    "'skip user auth' whitelist of ESB (or the gateway's exemption list), else use BK_TOKEN"
)


@dataclass(frozen=True)
class Line:
    ok: bool
    topic: str
    detail: str
    hint: str = ""

    def __str__(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        hint = f" -> {self.hint}" if self.hint and not self.ok else ""
        return f"{mark} {self.topic}: {self.detail}{hint}"


@dataclass
class CheckReport:
    lines: list[Line] = field(default_factory=list)
    #: what ``--api auto`` would use (None: nothing answered)
    flavour: str | None = None

    @property
    def exit_code(self) -> int:
        return 0 if self.lines and all(line.ok for line in self.lines) else 4

    def text(self) -> str:
        return "\n".join(str(line) for line in self.lines)


def check_url(url: str, timeout: float) -> Line:
    """DNS, TCP, TLS and one plain HTTP GET; the first failure names its stage."""
    parts = urlsplit(url)
    host, https = parts.hostname or "", parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    try:
        addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][4]
    except (OSError, UnicodeError) as exc:
        return Line(False, "URL", f"DNS: cannot resolve {host!r} ({exc})",
                    "check the host name in --api-url (typo, VPN, /etc/hosts?)")  # fmt: skip
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            if https:
                ssl.create_default_context().wrap_socket(sock, server_hostname=host).close()
    except ssl.SSLError as exc:
        return Line(False, "URL", f"TLS with {host}:{port} failed ({exc.reason or exc})",
                    "an internal CA? set REQUESTS_CA_BUNDLE to its bundle")  # fmt: skip
    except OSError as exc:
        return Line(False, "URL", f"TCP to {addr[0]}:{port} failed ({exc.strerror or exc})",
                    "check the port, a firewall or a proxy (HTTPS_PROXY)")  # fmt: skip
    try:
        status = requests.get(url, timeout=timeout, allow_redirects=False).status_code
    except requests.RequestException as exc:
        return Line(False, "URL", f"HTTP to {host}:{port} failed ({type(exc).__name__})",
                    "is it an HTTP server? http:// vs https://")  # fmt: skip
    tls = ", TLS" if https else ""
    return Line(True, "URL", f"{host}:{port} answers (DNS {addr[0]}, TCP{tls}, HTTP {status})")


@dataclass(frozen=True)
class Probes:
    v2: Probe
    jobv3: Probe
    gateway: Probe

    def all(self) -> list[tuple[str, Probe]]:
        return [("esb-v2", self.v2), ("esb-v3", self.jobv3), ("apigw", self.gateway)]

    def rejected(self) -> AuthError | None:
        """The first probe answer that rejected the credentials."""
        for _, found in self.all():
            if isinstance(found.error, AuthError) and found.error.credentials:
                return found.error
        return None


def run_probes(client: ApiClient, biz: int, stage: str) -> Probes:
    params_only = esb_v2_request("get_job_instance_status", biz, {})
    params_only = ApiRequest(params_only.api, "POST", params_only.path,
                             {"bk_biz_id": biz, "params": {"job_instance_id": 1}})  # fmt: skip
    return Probes(
        v2=probe(client.send, params_only),
        jobv3=probe(client.send, list_probe_request(EsbV3(), biz)),
        gateway=probe(client.send, list_probe_request(Apigw(stage=stage), biz)),
    )


def credentials_line(probes: Probes, settings: Settings) -> Line:
    rejected = probes.rejected()
    if rejected is not None:
        return Line(False, "credentials", f"rejected ({rejected.message})", CREDENTIAL_HINT)
    user = settings.username or "(bk_token)"
    if any(p.answered for _, p in probes.all()):
        return Line(True, "credentials", f"accepted (app {settings.app_code}, user {user})")
    return Line(False, "credentials", "not tested: no bk-job API answered", "see the API line")


ROOT_HINT: Final = (
    "--api-url must be the ESB (paas) or API gateway root, e.g. https://paas.example.com, "
    "without /api/c/compapi"
)


def flavour_line(probes: Probes, api: str) -> tuple[Line, str | None]:
    """Which flavours answer, and the one to use: ``--api``'s, or what auto would pick."""
    answering = [name for name, p in probes.all() if p.answered]
    said = "; ".join(f"{n} {'answers' if p.answered else _why(p)}" for n, p in probes.all())
    if not answering and probes.rejected() is not None:
        return Line(False, "API", f"{said}: cannot tell", "fix the credentials first"), None
    auto = next((n for n in ("esb-v3", "apigw", "esb-v2") if n in answering), None)
    if api != "auto":
        if api in answering:
            return Line(True, "API", f"--api {api}: {said}"), api
        hint = f"use --api {auto}" if auto else ROOT_HINT
        return Line(False, "API", f"--api {api} does not answer: {said}", hint), None
    if auto is None:
        return Line(False, "API", said, ROOT_HINT), None
    return Line(True, "API", f"{said} -> --api auto uses {auto}"), auto


def _why(found: Probe) -> str:
    if found.error is None:
        return "no"
    code = f"code {found.error.api_code}" if found.error.api_code else found.error.kind
    return f"no ({code})"


def generation_line(probes: Probes) -> Line:
    err = probes.v2.error
    if probes.v2.answered and err is not None and err.api_code == IDS_IGNORED:
        quirks = "IDs inside params ignored (1241007), execute_count not retry_count, null counters"
        return Line(True, "Job generation", f"3.x ({quirks}); v2 step answers list hosts only "
                    "for the first result group: prefer --api esb-v3")  # fmt: skip
    if probes.jobv3.answered or probes.gateway.answered:
        return Line(True, "Job generation", "3.x (jobv3 / gateway v3 answer)")
    if probes.v2.answered:
        return Line(
            True, "Job generation", "2.x-era (IDs inside params read, retry_count, counters)"
        )
    hint = "fix the credentials first" if probes.rejected() else "see the API line"
    return Line(False, "Job generation", "unknown: no bk-job API answered", hint)


def business_line(client: ApiClient, flavour: Flavour, biz: int, now_ms: int) -> Line:
    topic = f"business {biz}"
    if flavour.name == "esb-v2":
        req = esb_v2_request("get_job_instance_status", biz, {"job_instance_id": 1})
    else:
        req = flavour.list_request(biz, (now_ms - DAY_MS, now_ms), 0, 1)
    found = probe(client.send, req)
    if found.error is None:
        total = found.data.get("total") if isinstance(found.data, dict) else None
        return Line(True, topic, f"readable ({total} jobs created in the last day)")
    err = found.error
    if err.api_code in (9900403, 1238001) or (isinstance(err, AuthError) and not err.credentials):
        return Line(False, topic, f"no permission ({err.message})",
                    f"ask for IAM 'view_history' (查看执行历史) on business {biz} "
                    "for the app's user")  # fmt: skip
    if err.api_code in (1244006, 1244007):  # the v2 probe's job 1 does not exist: readable
        return Line(True, topic, "readable (a job lookup reached bk-job)")
    if err.api_code in (1243049, 1243051):
        return Line(False, topic, f"unknown or archived ({err.message})", "check the ID in CMDB")
    hint = "see the API line" if not made_by_bkjob(err) else "see the message"
    return Line(False, topic, err.message, hint)


def run_check(
    settings: Settings,
    *,
    session: requests.Session | None = None,
    now: datetime | None = None,
) -> CheckReport:
    """Diagnose ``settings.api_url`` with the credentials and ``settings.biz``."""
    require_api(settings)
    assert settings.api_url and settings.app_code and settings.app_secret
    report = CheckReport()
    url = check_url(settings.api_url, settings.timeout)
    report.lines.append(url)
    if not url.ok:
        return report
    creds = Credentials(settings.app_code, settings.app_secret, settings.username, settings.token)
    client = ApiClient(settings.api_url, creds, session=session, timeout=settings.timeout)
    businesses: Sequence[int] = settings.biz or ()
    probes = run_probes(client, businesses[0] if businesses else 1, settings.apigw_stage)
    report.lines.append(credentials_line(probes, settings))
    line, report.flavour = flavour_line(probes, settings.api)
    report.lines += [line, generation_line(probes)]
    if report.flavour is not None and report.lines[1].ok:
        flavour = make_flavour(report.flavour, settings.apigw_stage)
        now_ms = int((now or datetime.now(UTC)).timestamp() * 1000)
        report.lines += [business_line(client, flavour, b, now_ms) for b in businesses]
    return report
