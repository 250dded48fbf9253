"""Helpers for the client tests: a headless collector process, reading the run store, waiting."""

from __future__ import annotations

import json
import math
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
# RUNWATCH_TEST_CLIENT_DIR runs the tests against another copy of the client (an older commit's,
# to see a new test fail before its fix).
CLIENT_DIR = os.environ.get("RUNWATCH_TEST_CLIENT_DIR") or os.path.join(ROOT, "clients", "python")
CLI = os.path.join(ROOT, "dist", "collector-cli.js")
TSX = os.path.join(ROOT, "node_modules", ".bin", "tsx")
if CLIENT_DIR not in sys.path:
    sys.path.insert(0, CLIENT_DIR)
from runwatch._protocol import column_lists  # noqa: E402 - the client under test, for reading stored frames

# Generous: CI machines are small and shared.
START_TIMEOUT = 60.0
WAIT_TIMEOUT = 90.0


def wait_for(cond: Callable[[], Any], what: str, timeout: float = WAIT_TIMEOUT, interval: float = 0.05) -> Any:
    """Polls `cond` until it returns something truthy (returned), or fails naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


@dataclass
class Collector:
    """`node dist/collector-cli.js` in a child process; stop() by PID."""

    store: str
    logdir: str
    token: str = "test-token"
    heartbeat_timeout: float = 30.0
    port: int = 0
    proc: Optional[subprocess.Popen] = None
    url: str = ""
    starts: int = field(default=0)

    def start(self) -> "Collector":
        assert os.path.isfile(CLI), f"{CLI} is missing: run `npm run build` first"
        self.starts += 1
        out = os.path.join(self.logdir, f"collector-{self.starts}.out")
        err = os.path.join(self.logdir, f"collector-{self.starts}.err")
        args = ["node", CLI, "--store", self.store, "--port", str(self.port), "--token", self.token, "--heartbeat-timeout", str(self.heartbeat_timeout)]
        with open(out, "wb") as fo, open(err, "wb") as fe:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=fo, stderr=fe, cwd=self.logdir)

        def listening() -> Optional[Dict[str, Any]]:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"collector exited with {self.proc.returncode}: {open(err).read()[-2000:]}")
            with open(out) as f:
                first = f.readline()
            if first.endswith("\n"):
                return json.loads(first)
            return None

        info = wait_for(listening, "the collector to listen", timeout=START_TIMEOUT)
        assert info["event"] == "listening", info
        self.port = int(info["port"])
        self.url = info["url"]
        assert info["token"] == self.token
        return self

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM (it finishes what it accepted), SIGKILL if it does not exit."""
        p = self.proc
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=30)

    def stderr(self) -> str:
        parts = []
        for i in range(1, self.starts + 1):
            try:
                with open(os.path.join(self.logdir, f"collector-{i}.err")) as f:
                    parts.append(f.read())
            except OSError:
                pass
        return "\n".join(parts)


def _decode_value(v: Any) -> float:
    if isinstance(v, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[v]
    return float(v)


def read_log(store: str, run_id: str) -> List[Dict[str, Any]]:
    """The durable events of a run, read straight from `<store>/runs/<id>/log.rwl` (format: src/store/runLog.ts).

    Read-only, so it is safe while the collector runs; stops at a torn or partial tail record.
    """
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
        if end > len(data):
            break
        payload = data[pos + 8 : end]
        if zlib.crc32(payload) & 0xFFFFFFFF != crc:
            break
        rec = json.loads(payload.decode("utf-8"))
        ev = rec["event"]
        if ev["type"] == "metrics":
            ev["points"] = frame_points(ev)
            for p in ev["points"]:
                p["value"] = _decode_value(p["value"])
        events.append(ev)
        pos = end
    return events


def frame_points(msg: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The points of a metrics message as {key, value, step, time} (values as on the wire), either form:
    `points`, or the columnar `cols` the client sends (keys once; columns k, v, s, t)."""
    cols = msg.get("cols")
    if cols is None:
        return list(msg.get("points", []))  # a message may carry only `sources`
    keys = cols["keys"]
    k, v, s, t = column_lists(cols)  # packed columns decoded
    assert len(k) == len(v) == len(s) == len(t), f"columns of one length: {cols}"
    return [{"key": keys[k], "value": v, "step": s, "time": t} for k, v, s, t in zip(k, v, s, t)]


def points_of(events: List[Dict[str, Any]], key: Optional[str] = None) -> List[Dict[str, Any]]:
    return [p for ev in events if ev["type"] == "metrics" for p in ev["points"] if key is None or p["key"] == key]


def final_status(events: List[Dict[str, Any]]) -> Optional[str]:
    ends = [ev for ev in events if ev["type"] == "run.end"]
    return ends[-1]["status"] if ends else None


def list_runs(store: str) -> List[str]:
    try:
        return sorted(os.listdir(os.path.join(store, "runs")))
    except FileNotFoundError:
        return []


def client_env(**extra: str) -> Dict[str, str]:
    """A child environment with this client importable.

    The autouse fixture has already removed outside RUNWATCH_* settings and pointed
    RUNWATCH_SPOOL_DIR at the test's temp dir; children inherit that, so nothing lands in ~/.runwatch.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = CLIENT_DIR + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONUNBUFFERED"] = "1"
    env["RUNWATCH_FLUSH_TIMEOUT"] = "60"  # loaded CI machines: do not spool for slowness
    env.update(extra)
    return env


def run_script(code: str, env: Dict[str, str], cwd: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)


def import_spool(store: str, spool_dir: str, files: List[str], part_quiet_ms: int = 15_000) -> List[Dict[str, Any]]:
    """Imports spool files into a store with the extension's importer (src/sources/spoolImporter.ts)."""
    assert os.path.exists(TSX), f"{TSX} is missing: run npm ci"
    script = os.path.join(os.path.dirname(__file__), "import_spool.ts")
    env = dict(os.environ, RUNWATCH_PART_QUIET_MS=str(part_quiet_ms))
    res = subprocess.run([TSX, script, store, spool_dir, *files], cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    return [json.loads(line) for line in res.stdout.splitlines()]


def spool_files(spool_dir: str) -> List[str]:
    """The spool files in a folder (finished ones and ones still being written), by full path."""
    try:
        names = sorted(os.listdir(spool_dir))
    except FileNotFoundError:
        return []
    return [os.path.join(spool_dir, n) for n in names if n.endswith(".jsonl") or n.endswith(".jsonl.part")]


def rss_kib(pid: int, field: str = "VmHWM") -> int:
    """A process's peak (VmHWM) or current (VmRSS) resident memory, in KiB, from /proc."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def step_counts(events: List[Dict[str, Any]], key: str) -> Dict[int, int]:
    counts: Dict[int, int] = {}
    for p in points_of(events, key):
        counts[p["step"]] = counts.get(p["step"], 0) + 1
    return counts


def assert_steps_exactly_once(events: List[Dict[str, Any]], key: str, steps: range) -> None:
    counts = step_counts(events, key)
    twice = [s for s, c in counts.items() if c > 1]
    assert not twice, f"{len(twice)} steps of {key} arrived more than once, e.g. {twice[:5]}"
    missing = [s for s in steps if s not in counts]
    assert not missing, f"{len(missing)} of {len(steps)} steps of {key} are missing, e.g. {missing[:5]}"
