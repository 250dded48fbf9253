"""A training script always gets to exit: its exit handler waits for the collector at most the flush
time limit (RUNWATCH_FLUSH_TIMEOUT), and with no collector at all at most the grace period. What the
collector did not acknowledge is in the spool, and the script is told so once.

The "collector" of the first test is a tiny fake in this file: it completes the WebSocket upgrade,
answers hello with welcome, reads everything and never acknowledges anything.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from typing import Any, Dict, List, Tuple

from helpers import client_env, frame_points
from runwatch._ws import OP_CLOSE, OP_TEXT, parse_frame

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
POINTS = 50

# The script logs, prints its run id and the monotonic time at which its own code ended, and exits
# without calling finish(): the exit handler does the rest. CLOCK_MONOTONIC is system-wide on Linux,
# so the test compares it with its own clock.
SCRIPT = f"""
import sys, time
import runwatch
run = runwatch.init(project="deadline", name="exit", config={{"lr": 0.1}})
for step in range({POINTS}):
    run.log({{"loss": 1.0 / (step + 1)}}, step=step)
print(run.id)
print(repr(time.monotonic()), flush=True)
"""


def _server_frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return struct.pack("!BB", 0x80 | opcode, n) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x80 | opcode, 126, n) + payload
    return struct.pack("!BBQ", 0x80 | opcode, 127, n) + payload


class SilentCollector:
    """Accepts connections, answers the upgrade and hello, records every message, acknowledges nothing."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"ws://127.0.0.1:{self.sock.getsockname()[1]}"
        self.messages: List[Dict[str, Any]] = []
        self.connections = 0
        self.welcomed = threading.Event()
        self._lock = threading.Lock()
        self._conns: List[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            head, _, rest = request.partition(b"\r\n\r\n")
            key = [l.split(b":", 1)[1].strip() for l in head.split(b"\r\n") if l.lower().startswith(b"sec-websocket-key:")][0]
            accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
            buf = bytearray(rest)
            while True:
                parsed = parse_frame(buf)
                if parsed is None:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                    continue
                _, opcode, payload, used = parsed
                del buf[:used]
                if opcode == OP_CLOSE:
                    return
                if opcode != OP_TEXT:
                    continue
                msg = json.loads(payload.decode("utf-8"))
                with self._lock:
                    self.messages.append(msg)
                if msg.get("type") == "hello":
                    welcome = {
                        "type": "welcome",
                        "server": "silent-test-collector",
                        "version": "0.0.0",
                        "protocol": 1,
                        "limits": {"maxFrameBytes": 8388608, "maxBatchPoints": 100000},
                        "heartbeatIntervalMs": 10000,
                    }
                    conn.sendall(_server_frame(OP_TEXT, json.dumps(welcome).encode()))
                    self.welcomed.set()
                # Never an ack.
        except OSError:
            return

    def received(self, kind: str) -> List[Dict[str, Any]]:
        with self._lock:
            return [m for m in self.messages if m.get("type") == kind]

    def close(self) -> None:
        self.sock.close()
        with self._lock:
            for c in self._conns:
                try:
                    c.close()
                except OSError:
                    pass


def _closed_port_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: every connect is refused
    return f"ws://127.0.0.1:{port}"


def _run_script(env: Dict[str, str], cwd: str) -> Tuple[str, float, str]:
    """Runs SCRIPT; returns its run id, seconds from the end of its own code to its exit, and stderr."""
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"the script did not exit within 180 s\nstdout: {out}\nstderr: {err}")
    exited = time.monotonic()
    assert proc.returncode == 0, f"exit code {proc.returncode}\nstdout: {out}\nstderr: {err}"
    lines = out.split()
    assert len(lines) == 2, f"unexpected stdout: {out!r}\nstderr: {err}"
    return lines[0], exited - float(lines[1]), err


def _spooled(spool_dir: str, run_id: str) -> List[Dict[str, Any]]:
    path = os.path.join(spool_dir, f"{run_id}.jsonl")
    assert os.path.isfile(path), f"no spool file {path}; the spool folder holds {os.listdir(spool_dir) if os.path.isdir(spool_dir) else 'nothing'}"
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert text.endswith("\n"), "the spool ends with a complete line"
    return [json.loads(line) for line in text.splitlines()]


def _assert_whole_run(msgs: List[Dict[str, Any]], run_id: str) -> None:
    assert msgs[0]["type"] == "run.start" and msgs[0]["runId"] == run_id and msgs[0]["params"] == {"lr": 0.1}
    assert msgs[-1]["type"] == "run.end" and msgs[-1]["status"] == "finished"
    points = [(p["key"], p["step"], p["value"]) for m in msgs if m["type"] == "metrics" for p in frame_points(m)]
    assert points == [("loss", s, 1.0 / (s + 1)) for s in range(POINTS)], "every point, once, in order"
    seqs = [m["seq"] for m in msgs]
    assert seqs == sorted(set(seqs)), f"no seq twice: {seqs}"


def _warnings(stderr: str) -> List[str]:
    return [line for line in stderr.splitlines() if line.startswith("runwatch")]


def test_a_collector_that_never_acknowledges_delays_exit_by_the_flush_timeout_only(tmp_path) -> None:
    flush_timeout = 2.0
    srv = SilentCollector()
    try:
        env = client_env(RUNWATCH_URL=srv.url, RUNWATCH_TOKEN="any-token", RUNWATCH_FLUSH_TIMEOUT=str(flush_timeout), RUNWATCH_GRACE_SECONDS="600")
        run_id, after_main, err = _run_script(env, str(tmp_path))
    finally:
        srv.close()

    # It really waited for acknowledgements (the data went out, none came back), then stopped waiting.
    assert srv.welcomed.is_set() and srv.connections == 1, err
    sent_points = sum(len(frame_points(m)) for m in srv.received("metrics"))
    assert srv.received("run.start") and sent_points == POINTS and srv.received("run.end"), f"the client sent everything: {srv.messages}\n{err}"
    # finish() waits flush_timeout + 3 s for the sender thread as a last resort: 2 s of margin tells them apart.
    assert flush_timeout - 0.5 <= after_main <= flush_timeout + 2.0, f"exited {after_main:.2f} s after its code ended (flush timeout {flush_timeout:g} s)\n{err}"

    msgs = _spooled(env["RUNWATCH_SPOOL_DIR"], run_id)
    _assert_whole_run(msgs, run_id)

    warnings = _warnings(err)
    assert len(warnings) == 1, f"one warning, not {len(warnings)}:\n{err}"
    assert f"had not acknowledged everything within {flush_timeout:g} s" in warnings[0] and f"{run_id}.jsonl" in warnings[0], warnings[0]


def test_with_no_collector_reachable_the_script_exits_after_the_grace_period_and_spools(tmp_path) -> None:
    grace = 1.0
    # The flush limit stays long (60 s, from client_env): only the grace period may end the wait.
    env = client_env(RUNWATCH_URL=_closed_port_url(), RUNWATCH_TOKEN="any-token", RUNWATCH_GRACE_SECONDS=str(grace))
    assert float(env["RUNWATCH_FLUSH_TIMEOUT"]) >= 60
    run_id, after_main, err = _run_script(env, str(tmp_path))

    # The grace period runs from init(); the script's own code took some of it.
    assert after_main <= grace + 2.5, f"exited {after_main:.2f} s after its code ended (grace {grace:g} s)\n{err}"

    msgs = _spooled(env["RUNWATCH_SPOOL_DIR"], run_id)
    _assert_whole_run(msgs, run_id)

    warnings = _warnings(err)
    cannot_reach = [w for w in warnings if "cannot reach the collector" in w]
    spooling = [w for w in warnings if "spooling this run to" in w]
    assert len(cannot_reach) == 1 and len(spooling) == 1 and len(warnings) == 2, f"each warning once:\n{err}"
    assert f"stayed unreachable for {grace:g} s" in spooling[0] and f"{run_id}.jsonl" in spooling[0], spooling[0]
