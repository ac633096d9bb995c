"""A minimal Chrome DevTools Protocol client for the browser test, on the standard library.

:class:`WebSocket` is just enough of RFC 6455 for a client on loopback: the upgrade
handshake, masked text frames out, text/continuation/ping/close frames in. :func:`launch`
starts headless Chromium with ``--remote-debugging-port=0`` and reads the DevTools URL from
its stderr; :class:`Browser` sends commands and collects events (flattened sessions).

The tests at the bottom check the frame code itself.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import socket
import struct
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

TEXT, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x8, 0x9, 0xA, 0x0
TIMEOUT_S = 60.0
CHROMIUM_FLAGS = [
    "--headless",
    "--remote-debugging-port=0",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "about:blank",
]
_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


def encode_frame(payload: bytes, opcode: int = TEXT, mask: bytes | None = None) -> bytes:
    """One final frame; client frames are masked (``mask``: 4 bytes, random by default)."""
    mask = os.urandom(4) if mask is None else mask
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


def read_frame(read: Callable[[int], bytes]) -> tuple[bool, int, bytes]:
    """(final, opcode, payload) of the next frame; ``read(n)`` returns exactly n bytes."""
    first, second = read(2)
    n = second & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", read(2))
    elif n == 127:
        (n,) = struct.unpack("!Q", read(8))
    mask = read(4) if second & 0x80 else b""
    payload = read(n)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bool(first & 0x80), first & 0x0F, payload


class WebSocket:
    """A blocking websocket client connection (ws:// only)."""

    def __init__(self, url: str, timeout: float = TIMEOUT_S) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("websocket handshake: connection closed")
            response += chunk
        head, _, self.buffer = response.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(f"websocket handshake refused: {head[:80]!r}")

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(max(n - len(self.buffer), 65536))
            if not chunk:
                raise ConnectionError("websocket closed")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def send(self, text: str) -> None:
        self.sock.sendall(encode_frame(text.encode()))

    def recv(self) -> str:
        """The next text message (fragments joined; pings answered)."""
        parts: list[bytes] = []
        while True:
            final, opcode, payload = read_frame(self._read)
            if opcode == PING:
                self.sock.sendall(encode_frame(payload, PONG))
            elif opcode == CLOSE:
                raise ConnectionError("websocket closed by the browser")
            elif opcode in (TEXT, CONTINUATION):
                parts.append(payload)
                if final:
                    return b"".join(parts).decode()

    def close(self) -> None:
        self.sock.close()


@dataclass
class Browser:
    """Headless Chromium and its DevTools connection."""

    process: subprocess.Popen[bytes]
    ws: WebSocket
    #: the thread that reads the browser's stderr to its end
    drain: threading.Thread
    events: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 0

    def call(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        """Send a command and return its result; events that arrive meanwhile are kept."""
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        while True:
            answer = json.loads(self.ws.recv())
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_event(self, method: str, session: str = "", since: int = 0) -> dict[str, Any]:
        """The first event ``method`` of ``session`` from ``events[since]`` on (bounded by
        the socket's timeout)."""
        seen = since
        while True:
            for event in self.events[seen:]:
                if event.get("method") == method and event.get("sessionId", "") == session:
                    return event
            seen = len(self.events)
            self.events.append(json.loads(self.ws.recv()))

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (OSError, ConnectionError, RuntimeError):
            pass
        self.ws.close()
        try:
            self.process.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.drain.join(TIMEOUT_S)
        if self.process.stderr is not None:
            self.process.stderr.close()


def launch(binary: str, profile: Path) -> Browser:
    """Start ``binary`` headless with a fresh ``profile`` and connect to its DevTools."""
    process = subprocess.Popen(
        [binary, f"--user-data-dir={profile}", *CHROMIUM_FLAGS],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    lines: queue.Queue[str] = queue.Queue()

    def drain() -> None:  # read stderr to the end, so the browser never blocks on it
        assert process.stderr is not None
        for raw in process.stderr:
            lines.put(raw.decode(errors="replace"))
        lines.put("")

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        url = _devtools_url(lines)
        return Browser(process, WebSocket(url), reader)
    except BaseException:
        process.kill()
        process.wait()
        reader.join(TIMEOUT_S)
        assert process.stderr is not None
        process.stderr.close()
        raise


def _devtools_url(lines: queue.Queue[str]) -> str:
    seen = []
    while True:
        line = lines.get(timeout=TIMEOUT_S)
        if not line:
            raise RuntimeError("chromium exited before DevTools listened: " + "".join(seen)[-800:])
        seen.append(line)
        found = _LISTENING.search(line)
        if found:
            return found.group(1)


# --- tests of the frame code --------------------------------------------------------------


def reader(data: bytes) -> Callable[[int], bytes]:
    view = memoryview(data)
    pos = 0

    def read(n: int) -> bytes:
        nonlocal pos
        out = bytes(view[pos : pos + n])
        pos += n
        return out

    return read


def test_frames_round_trip_at_every_length_encoding() -> None:
    for size in (0, 5, 125, 126, 65535, 65536, 200_000):
        payload = os.urandom(size)
        frame = encode_frame(payload, TEXT, b"\x01\x02\x03\x04")
        assert read_frame(reader(frame)) == (True, TEXT, payload)


def test_unmasked_server_frames_and_fragments() -> None:
    first = struct.pack("!BB", TEXT, 3) + b"abc"  # not final
    last = struct.pack("!BB", 0x80 | CONTINUATION, 2) + b"de"
    read = reader(first + last)
    assert read_frame(read) == (False, TEXT, b"abc")
    assert read_frame(read) == (True, CONTINUATION, b"de")
