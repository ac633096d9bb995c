"""The HTTP server: stdlib ThreadingHTTPServer, HTTP/1.1 keep-alive, loopback by default.

A thread per connection; clients pool connections, so a benchmark's few connections
carry thousands of requests. Shutdown is quick: hanging requests wait on an Event, and
open keep-alive connections are shut down instead of waited for.
"""

from __future__ import annotations

import io
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from .app import App, Request
from .auth import Credentials
from .data import SimData
from .faults import FaultConfig
from .replies import Reply
from .stats import SimStats

MAX_BODY = 16 * 1024 * 1024


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], app: App) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (reset, timeout, shutdown) is no server error."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._conns_lock:
            (self._conns.add if add else self._conns.discard)(conn)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked reading it
            except OSError:
                pass


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "bkjob-sim/1"
    #: an idle keep-alive connection is dropped after this many seconds
    timeout = 120
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: object) -> None:
        pass  # the stats say what happened; access logs would flood test output

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")  # ESB routes GET and POST only: the app answers 1306404

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes | None:
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()  # trailer end
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()
            if sum(map(len, parts)) > MAX_BODY:
                return None

    def _serve(self, method: str) -> None:
        try:
            body = self._read_body()
        except ValueError:
            body = None
        if body is None:
            self.send_error(400, "Bad request body")
            self.close_connection = True
            return
        url = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.server.app.handle(Request(method, url.path, url.query, body, headers))
        if reply.reset:
            self._reset()
        else:
            self._write(reply)

    def _write(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def _reset(self) -> None:
        """Drop the connection with a TCP RST: linger 0, then close every reference."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.rfile.close()
        self.wfile.close()
        self.connection.close()
        # harmless stand-ins for the base class's final flush and close
        self.rfile, self.wfile = io.BytesIO(), io.BytesIO()


class Simulator:
    """The bk-job ESB API on a real socket. Use as a context manager, or start()/stop()."""

    def __init__(
        self,
        data: SimData,
        host: str = "127.0.0.1",
        port: int = 0,
        app_code: str | None = None,
        app_secret: str | None = None,
        faults: FaultConfig | None = None,
        *,
        jobv3: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        deny_biz: Iterable[int] = (),
        finish_after_polls: int | None = None,
        gateway_stage: str | None = "prod",
    ) -> None:
        """``jobv3``: serve the jobv3 endpoints (default: in Job 3.x mode only; a 2.x
        platform has none); the API gateway v3 paths (``/api/bk-job/<stage>/api/v3/``)
        are served with them (``gateway_stage=None``: never).
        ``clock``: the rps limiter's clock, for tests.
        ``deny_biz``: businesses answered with 9900403 (no IAM permission).
        ``finish_after_polls``: an unfinished step reads as finished (Success) from its
        N+1-th get_step_instance_status answer on (for ``--wait-finished``)."""
        if finish_after_polls is not None and finish_after_polls < 0:
            raise ValueError("finish_after_polls must be >= 0")
        self.data = data
        self.faults = faults or FaultConfig()
        self._stop = threading.Event()
        self.app = App(
            data,
            Credentials(app_code, app_secret),
            self.faults,
            self._stop,
            jobv3=data.job3 if jobv3 is None else jobv3,
            clock=clock,
            deny_biz=frozenset(deny_biz),
            finish_after_polls=finish_after_polls,
            gateway_stage=gateway_stage if (data.job3 if jobv3 is None else jobv3) else None,
        )
        self._address = (host, port)
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def stats(self) -> SimStats:
        return self.app.stats

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the simulator is not running")
        return int(self._httpd.server_address[1])

    @property
    def host(self) -> str:
        return self._address[0]

    @property
    def base_url(self) -> str:
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"

    def attempts(self, identity: str) -> int:
        """How often a request identity was asked for (see ``app.request_identity``)."""
        return self.app.attempts.get(identity)

    def wait_hanging(self, n: int = 1, timeout: float = 10.0) -> bool:
        """Wait until ``n`` requests are held by a timeout fault; False on timeout."""
        return self.app.wait_hanging(n, timeout)

    def start(self) -> Simulator:
        if self._httpd is not None:
            return self
        self._stop.clear()
        server_class = _Server6 if ":" in self._address[0] else _Server
        self._httpd = server_class(self._address, self.app)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.name = f"bkjob-sim:{self.port}"
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stop.set()  # wakes requests sleeping in latency / timeout faults
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
