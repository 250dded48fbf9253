"""A minimal RFC 6455 WebSocket client: enough for the Runwatch collector.

Standard library only. Text frames out (masked, as the RFC requires of
clients), text/ping/pong/close in. The socket is used by one thread only (the
run's sender thread), so there is no locking here.
"""

from __future__ import annotations

import base64
import hashlib
import os
import select
import socket
import struct
import time
from collections import deque
from typing import Deque, List, Optional, Tuple
from urllib.parse import urlsplit

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA


class WebSocketError(Exception):
    """The connection failed or broke; the message says how."""


class WebSocketClosed(WebSocketError):
    """The server closed the connection (code and reason as it sent them)."""

    def __init__(self, code: Optional[int], reason: str) -> None:
        super().__init__(f"closed by the server (code {code}{': ' + reason if reason else ''})")
        self.code = code
        self.reason = reason


# XOR tables, one per key byte value: `bytes.translate` applies one in C.
_XOR_TABLES = [bytes(b ^ k for b in range(256)) for k in range(256)]


def _mask(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    if n == 0:
        return payload
    if n < 256:
        # One big-integer XOR runs in C: much faster than a Python loop per byte.
        repeated = (key * (n // 4 + 1))[:n]
        return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")
    # Large frames: every 4th byte shares a key byte, so mask the four strided slices with a table each.
    out = bytearray(n)
    for i in range(4):
        out[i::4] = payload[i::4].translate(_XOR_TABLES[key[i]])
    return bytes(out)


def encode_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """A client frame: always masked with a fresh random key."""
    n = len(payload)
    b0 = (0x80 if fin else 0) | opcode
    if n < 126:
        header = struct.pack("!BB", b0, 0x80 | n)
    elif n < 65536:
        header = struct.pack("!BBH", b0, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", b0, 0x80 | 127, n)
    key = os.urandom(4)
    return header + key + _mask(payload, key)


def parse_frame(buf: bytearray) -> Optional[Tuple[bool, int, bytes, int]]:
    """Parses one frame at the start of buf: (fin, opcode, payload, length used), or None if incomplete."""
    if len(buf) < 2:
        return None
    b0, b1 = buf[0], buf[1]
    fin = bool(b0 & 0x80)
    opcode = b0 & 0x0F
    masked = bool(b1 & 0x80)
    n = b1 & 0x7F
    pos = 2
    if n == 126:
        if len(buf) < 4:
            return None
        (n,) = struct.unpack_from("!H", buf, 2)
        pos = 4
    elif n == 127:
        if len(buf) < 10:
            return None
        (n,) = struct.unpack_from("!Q", buf, 2)
        pos = 10
    key = b""
    if masked:
        if len(buf) < pos + 4:
            return None
        key = bytes(buf[pos : pos + 4])
        pos += 4
    if len(buf) < pos + n:
        return None
    payload = bytes(buf[pos : pos + n])
    if masked:
        payload = _mask(payload, key)
    return fin, opcode, payload, pos + n


class WebSocket:
    """One client connection. `connect()` does the HTTP upgrade; then `send_text`, `poll`."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("ws", ""):
            raise WebSocketError(f"unsupported URL scheme {parts.scheme!r} in {url!r}: the collector speaks ws://")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.path = (parts.path or "/") + (("?" + parts.query) if parts.query else "")
        self.timeout = timeout
        self.sock: Optional[socket.socket] = None
        self._buf = bytearray()
        self._fragments: List[bytes] = []
        # A close that arrived behind data messages: raised by the next poll().
        self._pending_close: Optional[WebSocketClosed] = None
        # Frames queued but not yet taken by the socket (queue_text): sending never blocks the sender
        # thread, so a stalled collector cannot stop it from draining what the training thread logs.
        self._out: Deque[memoryview] = deque()
        self.out_bytes = 0

    def connect(self) -> None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as e:
            raise WebSocketError(f"cannot connect to {self.host}:{self.port}: {e}") from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            key = base64.b64encode(os.urandom(16)).decode("ascii")
            host_header = self.host if self.port == 80 else f"{self.host}:{self.port}"
            request = (
                f"GET {self.path} HTTP/1.1\r\n"
                f"Host: {host_header}\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n"
                "User-Agent: runwatch-python\r\n"
                "\r\n"
            )
            sock.sendall(request.encode("ascii"))
            response = bytearray()
            while b"\r\n\r\n" not in response:
                chunk = sock.recv(4096)
                if not chunk:
                    raise WebSocketError("the server closed the connection during the WebSocket handshake")
                response += chunk
                if len(response) > 65536:
                    raise WebSocketError("the handshake response is too large")
            head, _, rest = bytes(response).partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = lines[0].split(" ", 2)
            if len(status) < 2 or status[1] != "101":
                raise WebSocketError(f"the server refused the WebSocket upgrade: {lines[0]!r}")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            expected = base64.b64encode(hashlib.sha1(key.encode("ascii") + _GUID).digest()).decode("ascii")
            if headers.get("sec-websocket-accept") != expected:
                raise WebSocketError("the server's Sec-WebSocket-Accept does not match the key sent")
            self._buf = bytearray(rest)
            sock.setblocking(False)
        except (OSError, WebSocketError) as e:
            sock.close()
            if isinstance(e, WebSocketError):
                raise
            raise WebSocketError(f"WebSocket handshake with {self.host}:{self.port} failed: {e}") from None
        self.sock = sock

    def send_text(self, text: str) -> None:
        """Sends a text frame, waiting (up to the timeout) until the socket took it and everything queued before it."""
        self._send(OP_TEXT, text.encode("utf-8"))

    def queue_text(self, text: str) -> None:
        """Queues a text frame without waiting; poll() and pump() hand it to the socket as it drains."""
        self._queue(encode_frame(OP_TEXT, text.encode("utf-8")))
        self.pump()

    def _queue(self, frame: bytes) -> None:
        if self.sock is None:
            raise WebSocketError("not connected")
        self._out.append(memoryview(frame))
        self.out_bytes += len(frame)

    def pump(self) -> None:
        """Writes what the socket takes now, without blocking."""
        sock = self.sock
        if sock is None:
            if self._out:
                raise WebSocketError("not connected")
            return
        out = self._out
        while out:
            head = out[0]
            try:
                n = sock.send(head)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                self.abort()
                raise WebSocketError(f"send failed: {e}") from None
            self.out_bytes -= n
            if n == len(head):
                out.popleft()
            else:
                out[0] = head[n:]
                return

    def _send(self, opcode: int, payload: bytes) -> None:
        self._queue(encode_frame(opcode, payload))
        deadline = None
        while self._out:
            self.pump()
            if not self._out or self.sock is None:
                break
            now = time.monotonic()
            deadline = deadline or now + self.timeout
            if now > deadline:
                self.abort()
                raise WebSocketError(f"send timed out after {self.timeout:g} s")
            try:
                select.select([], [self.sock], [], min(0.1, deadline - now))
            except (OSError, ValueError) as e:
                self.abort()
                raise WebSocketError(f"select failed: {e}") from None
        if self._out:
            raise WebSocketError("not connected")

    def poll(self, timeout: float) -> List[str]:
        """Waits up to `timeout` seconds for data; returns the text messages received (maybe none).

        Answers pings; raises WebSocketClosed when the server closes, WebSocketError when the connection breaks.
        """
        if self._pending_close is not None:
            raise self._pending_close
        if self.sock is None:
            raise WebSocketError("not connected")
        messages: List[str] = []
        if not self._buf:
            try:
                wr = [self.sock] if self._out else []
                readable, writable, _ = select.select([self.sock], wr, [], max(0.0, timeout))
            except (OSError, ValueError) as e:
                self.abort()
                raise WebSocketError(f"select failed: {e}") from None
            if writable:
                self.pump()
            if readable and self.sock is not None:
                self._recv_some()
        else:
            # Frames may already be buffered; also take whatever else is ready now.
            readable, _, _ = select.select([self.sock], [], [], 0)
            if readable:
                self._recv_some()
        while True:
            frame = parse_frame(self._buf)
            if frame is None:
                break
            fin, opcode, payload, used = frame
            del self._buf[:used]
            if opcode == OP_PING:
                self._queue(encode_frame(OP_PONG, payload))
                self.pump()
            elif opcode == OP_PONG:
                pass
            elif opcode == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                reason = payload[2:].decode("utf-8", "replace")
                try:
                    self._queue(encode_frame(OP_CLOSE, payload[:2]))
                    self.pump()
                except WebSocketError:
                    pass
                self.abort()
                if messages:
                    # Deliver what came before the close first; the close surfaces on the next poll.
                    self._pending_close = WebSocketClosed(code, reason)
                    return messages
                raise WebSocketClosed(code, reason)
            elif opcode in (OP_TEXT, OP_BINARY, OP_CONT):
                self._fragments.append(payload)
                if fin:
                    data = b"".join(self._fragments)
                    self._fragments = []
                    messages.append(data.decode("utf-8", "replace"))
        return messages

    def _recv_some(self) -> None:
        assert self.sock is not None
        try:
            chunk = self.sock.recv(1 << 16)
        except (BlockingIOError, InterruptedError):
            return
        except socket.timeout:
            return
        except OSError as e:
            self.abort()
            raise WebSocketError(f"receive failed: {e}") from None
        if not chunk:
            self.abort()
            raise WebSocketError("the server closed the connection")
        self._buf += chunk

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Sends a close frame (best effort) and closes the socket."""
        if self.sock is None:
            return
        try:
            self.sock.settimeout(1.0)
            for head in self._out:  # what was queued goes first, or the close frame would land mid-frame
                self.sock.sendall(head)
            self._out.clear()
            self.sock.sendall(encode_frame(OP_CLOSE, struct.pack("!H", code) + reason.encode("utf-8")[:120]))
        except OSError:
            pass
        self.abort()

    def abort(self) -> None:
        self._out.clear()
        self.out_bytes = 0
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None
