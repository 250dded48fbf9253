"""RFC 6455 framing and the client handshake, against a small stdlib server (no collector needed)."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import struct
import threading
from typing import List

import pytest

from runwatch._ws import OP_PING, OP_TEXT, WebSocket, WebSocketClosed, WebSocketError, encode_frame, parse_frame

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 200_000])
def test_frames_round_trip_masked_with_every_length_encoding(size: int) -> None:
    payload = os.urandom(size)
    frame = encode_frame(OP_TEXT, payload)
    assert frame[1] & 0x80, "client frames must be masked"
    if size:
        assert frame[-size:] != payload or size < 4, "the payload must not travel in clear"
    parsed = parse_frame(bytearray(frame))
    assert parsed is not None
    fin, opcode, got, used = parsed
    assert (fin, opcode, got, used) == (True, OP_TEXT, payload, len(frame))
    # Any prefix is incomplete, never misparsed.
    for cut in {1, 2, 3, len(frame) // 2, len(frame) - 1}:
        if 0 < cut < len(frame):
            assert parse_frame(bytearray(frame[:cut])) is None


@pytest.mark.parametrize("size", [1, 3, 4, 5, 255, 256, 257, 1000, 4099])
def test_masking_matches_the_rfc_definition(size: int) -> None:
    from runwatch._ws import _mask

    payload = os.urandom(size)
    key = os.urandom(4)
    assert _mask(payload, key) == bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def _server_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    n = len(payload)
    b0 = (0x80 if fin else 0) | opcode
    if n < 126:
        return struct.pack("!BB", b0, n) + payload
    if n < 65536:
        return struct.pack("!BBH", b0, 126, n) + payload
    return struct.pack("!BBQ", b0, 127, n) + payload


class FakeServer:
    """Accepts one connection, checks the upgrade, then plays a script of frames."""

    def __init__(self, accept_override: bytes = b"") -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.accept_override = accept_override
        self.request = b""
        self.received: List[bytes] = []
        self.conn: socket.socket
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        conn, _ = self.sock.accept()
        self.conn = conn
        while b"\r\n\r\n" not in self.request:
            self.request += conn.recv(4096)
        key = [l.split(b":", 1)[1].strip() for l in self.request.split(b"\r\n") if l.lower().startswith(b"sec-websocket-key:")][0]
        accept = self.accept_override or base64.b64encode(hashlib.sha1(key + GUID).digest())
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        self.ready.set()

    def read_frame(self) -> tuple:
        buf = bytearray()
        while True:
            parsed = parse_frame(buf)
            if parsed is not None:
                return parsed
            chunk = self.conn.recv(65536)
            assert chunk, "client closed"
            buf += chunk

    def close(self) -> None:
        self.sock.close()
        try:
            self.conn.close()
        except AttributeError:
            pass


def test_handshake_text_fragments_ping_and_close() -> None:
    srv = FakeServer()
    ws = WebSocket(f"ws://127.0.0.1:{srv.port}/path?x=1", timeout=30)
    try:
        ws.connect()
        assert srv.ready.wait(30)
        assert srv.request.startswith(b"GET /path?x=1 HTTP/1.1\r\n")
        assert b"Sec-WebSocket-Version: 13" in srv.request
        ws.send_text('{"type":"hello"}')
        fin, opcode, payload, _ = srv.read_frame()
        assert (fin, opcode, payload) == (True, OP_TEXT, b'{"type":"hello"}')
        # A fragmented text message, a ping in between, then a close with a reason.
        srv.conn.sendall(_server_frame(OP_TEXT, b'{"a":', fin=False) + _server_frame(OP_PING, b"pp") + _server_frame(0x0, b"1}") + _server_frame(0x8, struct.pack("!H", 1008) + b"bad token"))
        messages: List[str] = []
        with pytest.raises(WebSocketClosed) as closed:
            for _ in range(100):
                messages += ws.poll(5.0)
        assert messages == ['{"a":1}']
        assert closed.value.code == 1008 and closed.value.reason == "bad token"
        fin, opcode, payload, _ = srv.read_frame()
        assert (opcode, payload) == (0xA, b"pp"), "a ping is answered with a pong carrying its payload"
    finally:
        ws.abort()
        srv.close()


def test_handshake_refuses_a_wrong_accept_key() -> None:
    srv = FakeServer(accept_override=b"d3Jvbmc=")
    ws = WebSocket(f"ws://127.0.0.1:{srv.port}", timeout=30)
    try:
        with pytest.raises(WebSocketError, match="Sec-WebSocket-Accept"):
            ws.connect()
    finally:
        ws.abort()
        srv.close()


def test_connect_to_a_closed_port_fails_clearly() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(WebSocketError, match="cannot connect"):
        WebSocket(f"ws://127.0.0.1:{port}", timeout=10).connect()
