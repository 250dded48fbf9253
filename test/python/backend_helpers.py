"""Helpers for the backend tests: a real MLflow server, a counting reverse proxy in
front of it, a headless Runwatch collector with backends chosen, the Python client in
a child process, reading the run store."""

from __future__ import annotations

import http.client
import http.server
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Any, Callable, Dict, List, Optional, Tuple

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CLIENT_DIR = os.path.join(ROOT, "clients", "python")
CLI = os.path.join(ROOT, "dist", "collector-cli.js")
if CLIENT_DIR not in sys.path:
    sys.path.insert(0, CLIENT_DIR)
from runwatch._protocol import column_lists  # noqa: E402 - the client, for reading stored frames
BIN = os.path.dirname(sys.executable)

# Generous: CI machines are small, shared and loaded; an MLflow server takes tens of seconds to import.
SERVER_START_TIMEOUT = 300.0
WAIT_TIMEOUT = 240.0


def wait_for(cond: Callable[[], Any], what: str, timeout: float = WAIT_TIMEOUT, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: str, n: int = 3000) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


class MlflowServer:
    """`mlflow server` with a SQLite store and served artifacts in a temp dir, on 127.0.0.1.

    Started in its own process group (it forks uvicorn workers) and stopped by that
    group's id, so nothing it started outlives the test."""

    def __init__(self, workdir: str, port: Optional[int] = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.proc: Optional[subprocess.Popen] = None
        self.starts = 0

    def start(self) -> "MlflowServer":
        self.starts += 1
        log = os.path.join(self.workdir, f"mlflow-{self.starts}.log")
        args = [
            os.path.join(BIN, "mlflow"), "server",
            "--backend-store-uri", f"sqlite:///{os.path.join(self.workdir, 'mlflow.db')}",
            "--artifacts-destination", os.path.join(self.workdir, "artifacts"),
            "--serve-artifacts",
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
        ]
        env = dict(os.environ)
        # The server's background job runner is not needed here and costs CPU on a small machine.
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
        with open(log, "wb") as f:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT, cwd=self.workdir, env=env, start_new_session=True)

        def healthy() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"mlflow server exited with {self.proc.returncode}: {_tail(log)}")
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=5) as r:
                    return r.status == 200
            except OSError:
                return False

        wait_for(healthy, "the MLflow server's /health", timeout=SERVER_START_TIMEOUT, interval=0.5)
        return self

    def stop(self) -> None:
        p = self.proc
        if p is None:
            return
        self.proc = None
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=60)

        def port_free() -> bool:
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", self.port)) != 0

        wait_for(port_free, "the MLflow port to close", timeout=60)


# Headers that belong to one hop of a connection, not to the request or response.
_HOP_HEADERS = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}


class CountingProxy:
    """A reverse proxy on 127.0.0.1 between Runwatch and the MLflow server that forwards
    every request and records what the server accepted.

    MLflow's SQL store silently drops a metric row identical (key, timestamp, step,
    value) to one it holds, so a batch sent twice never shows in `get_metric_history`.
    Here every metric of every `runs/log-batch` the server answered with 2xx is kept in
    `accepted`, so a point accepted twice is seen. The proxy keeps listening while the
    server is down; a request it cannot forward loses its connection without an answer,
    as it would talking to the server directly.

    `kill_during_log_batch(n, kill)` makes the n-th log-batch that carries metrics (from
    now on) go out to the server only in part: the headers and half the body, then
    `kill()` stops the server, so the request is in flight when the server dies."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.lock = threading.Lock()
        # (MLflow run id, key, step, timestamp, value) of each metric in an accepted log-batch.
        self.accepted: List[Tuple[str, str, int, int, Any]] = []
        # (method, path, status); status 0: the server could not be reached or went away mid-request.
        self.requests: List[Tuple[str, str, int]] = []
        self.connections = 0
        self.metric_batches = 0
        # Metrics carried by each log-batch that a kill cut off mid-request.
        self.killed_in_flight: List[int] = []
        self._kill: Optional[Tuple[int, Callable[[], None]]] = None
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Runwatch's agent uses it

            def setup(self) -> None:
                super().setup()
                with proxy.lock:
                    proxy.connections += 1

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                proxy._forward(self)

            do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.uri = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="counting-proxy", daemon=True)
        self.thread.start()

    def kill_during_log_batch(self, n: int, kill: Callable[[], None]) -> None:
        with self.lock:
            self._kill = (self.metric_batches + n, kill)

    def _forward(self, h: http.server.BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        path = h.path
        metrics: List[Dict[str, Any]] = []
        run_id = ""
        if h.command == "POST" and path.split("?")[0].endswith("/runs/log-batch"):
            try:
                parsed = json.loads(body)
                metrics, run_id = parsed.get("metrics") or [], parsed.get("run_id", "")
            except ValueError:
                pass
        kill = None
        with self.lock:
            if metrics:
                self.metric_batches += 1
                if self._kill is not None and self._kill[0] == self.metric_batches:
                    kill, self._kill = self._kill[1], None
        headers = [(k, v) for k, v in h.headers.items() if k.lower() not in _HOP_HEADERS]
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=120)
            try:
                conn.putrequest(h.command, path, skip_host=True, skip_accept_encoding=True)
                for k, v in headers:
                    conn.putheader(k, v)
                conn.endheaders()
                if kill is not None:
                    conn.send(body[: len(body) // 2])
                    kill()
                    with self.lock:
                        self.killed_in_flight.append(len(metrics))
                    conn.send(body[len(body) // 2 :])
                elif body:
                    conn.send(body)
                res = conn.getresponse()
                data = res.read()
                status, res_headers = res.status, res.getheaders()
            finally:
                conn.close()
        except (OSError, http.client.HTTPException):
            with self.lock:
                self.requests.append((h.command, path, 0))
            # No answer: the client's request fails just as it would without the proxy.
            h.close_connection = True
            return
        with self.lock:
            self.requests.append((h.command, path, status))
            if metrics and 200 <= status < 300:
                self.accepted.extend((run_id, m["key"], int(m.get("step", 0)), int(m["timestamp"]), m["value"]) for m in metrics)
        h.send_response(status)
        for k, v in res_headers:
            if k.lower() not in _HOP_HEADERS and k.lower() not in ("content-length", "server", "date"):
                h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(data)

    def accepted_points(self, mlflow_run_id: str) -> List[Tuple[str, int, int, Any]]:
        """(key, step, timestamp, value) of every metric point the server accepted for the run, repeats included."""
        with self.lock:
            return [p[1:] for p in self.accepted if p[0] == mlflow_run_id]

    def log_batches(self) -> List[int]:
        """Statuses of the log-batch requests, in order (0: no answer)."""
        with self.lock:
            return [s for m, p, s in self.requests if p.split("?")[0].endswith("/runs/log-batch")]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Runwatch:
    """The headless collector (`node dist/collector-cli.js`) with `--backends`; stopped by PID."""

    def __init__(self, workdir: str, backends: Dict[str, Any], env: Optional[Dict[str, str]] = None) -> None:
        self.workdir = workdir
        self.store = os.path.join(workdir, "store")
        self.backends_file = os.path.join(workdir, "backends.json")
        with open(self.backends_file, "w") as f:
            json.dump(backends, f)
        self.env = env or {}
        self.proc: Optional[subprocess.Popen] = None
        self.url = ""
        self.token = "backend-test-token"
        self.starts = 0

    def start(self) -> "Runwatch":
        assert os.path.isfile(CLI), f"{CLI} is missing: run `npm run build` first"
        self.starts += 1
        out = os.path.join(self.workdir, f"collector-{self.starts}.out")
        self.err = os.path.join(self.workdir, f"collector-{self.starts}.err")
        args = ["node", CLI, "--store", self.store, "--port", "0", "--token", self.token, "--backends", self.backends_file]
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUNWATCH_")}
        env.update(self.env)
        with open(out, "wb") as fo, open(self.err, "wb") as fe:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=fo, stderr=fe, cwd=self.workdir, env=env)

        def listening() -> Optional[Dict[str, Any]]:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"collector exited with {self.proc.returncode}: {_tail(self.err)}")
            with open(out) as f:
                line = f.readline()
            return json.loads(line) if line.endswith("\n") else None

        info = wait_for(listening, "the collector to listen", timeout=120)
        self.url = info["url"]
        return self

    def stderr(self) -> str:
        return "".join(_tail(os.path.join(self.workdir, f"collector-{i}.err"), 20000) for i in range(1, self.starts + 1))

    def stop(self) -> None:
        p = self.proc
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=30)

    def client_env(self, **extra: str) -> Dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUNWATCH_")}
        env["PYTHONPATH"] = CLIENT_DIR
        env["PYTHONUNBUFFERED"] = "1"
        env["RUNWATCH_URL"] = self.url
        env["RUNWATCH_TOKEN"] = self.token
        env["RUNWATCH_SPOOL_DIR"] = os.path.join(self.workdir, "spool")
        env["RUNWATCH_SYSTEM_INTERVAL"] = "0"  # no sys/* points among the ones these tests count
        env.update(extra)
        return env

    def script(self, code: str, cwd: str, **extra: str) -> subprocess.Popen:
        """Starts a training script using the real `runwatch` client; its output goes to files in workdir."""
        out = open(os.path.join(self.workdir, "script.out"), "ab")
        return subprocess.Popen([sys.executable, "-c", code], env=self.client_env(**extra), cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)

    def script_output(self) -> str:
        return _tail(os.path.join(self.workdir, "script.out"), 20000)


def read_log(store: str, run_id: str) -> List[Dict[str, Any]]:
    """A run's durable events from `<store>/runs/<id>/log.rwl` (u32 length, u32 CRC-32, JSON; src/store/runLog.ts)."""
    import struct
    import zlib

    path = os.path.join(store, "runs", run_id, "log.rwl")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    events = []
    pos = 0
    while pos + 8 <= len(data):
        length, crc = struct.unpack_from("<II", data, pos)
        end = pos + 8 + length
        if end > len(data) or zlib.crc32(data[pos + 8 : end]) & 0xFFFFFFFF != crc:
            break
        ev = json.loads(data[pos + 8 : end].decode("utf-8"))["event"]
        if ev["type"] == "metrics":
            cols = ev.get("cols")  # the columnar form the Python client sends, stored as received
            if cols is not None:
                ev["points"] = [{"key": cols["keys"][k], "value": v, "step": s, "time": t} for k, v, s, t in zip(*column_lists(cols))]
            # A message that only says where keys were first logged carries no points.
            ev.setdefault("points", [])
            for p in ev["points"]:
                v = p["value"]
                p["value"] = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[v] if isinstance(v, str) else float(v)
        events.append(ev)
        pos = end
    return events


def points_of(events: List[Dict[str, Any]], key: Optional[str] = None) -> List[Dict[str, Any]]:
    return [p for ev in events if ev["type"] == "metrics" for p in ev["points"] if key is None or p["key"] == key]


def ms(t: float) -> int:
    """Wall time in ms as the backend sends it (JavaScript's Math.round)."""
    return math.floor(t * 1000 + 0.5)


def same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b
