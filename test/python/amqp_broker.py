"""Helpers for the AMQP tests: a real RabbitMQ broker (scripts/rabbitmq.sh: Debian's rabbitmq-server,
own node name, ports and data folder under the test's temp dir, stopped by pid), a headless collector
whose AMQP source consumes from it, and a few broker look-ups through pika."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any, Dict, List, Optional

from backend_helpers import column_lists, CLI, ROOT, _tail, wait_for

SCRIPT = os.path.join(ROOT, "scripts", "rabbitmq.sh")
SOURCE_ID = "runwatch.amqp-source"
BACKEND_ID = "runwatch.amqp"


class Broker:
    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.info: Dict[str, Any] = {}

    def start(self) -> "Broker":
        res = subprocess.run(["bash", SCRIPT, "start", self.folder], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, f"rabbitmq.sh start failed: {res.stderr[-3000:]}"
        self.info = json.loads(res.stdout.strip().splitlines()[-1])
        return self

    def stop(self) -> None:
        subprocess.run(["bash", SCRIPT, "stop", self.folder], stdin=subprocess.DEVNULL, capture_output=True, timeout=120)

    @property
    def url(self) -> str:
        return str(self.info["url"])

    def channel(self) -> Any:
        import pika

        conn = pika.BlockingConnection(pika.URLParameters(self.url))
        return conn, conn.channel()

    def queue_counts(self, queue: str) -> "tuple[int, int]":
        """(messages waiting, consumers) of a queue."""
        conn, ch = self.channel()
        try:
            q = ch.queue_declare(queue, passive=True)
            return q.method.message_count, q.method.consumer_count
        finally:
            conn.close()

    def get_all(self, queue: str) -> List[Any]:
        """Takes every message waiting in `queue`: (properties, body) pairs."""
        conn, ch = self.channel()
        out = []
        try:
            while True:
                method, props, body = ch.basic_get(queue, auto_ack=True)
                if method is None:
                    return out
                out.append((props, body))
        finally:
            conn.close()


class AmqpCollector:
    """`node dist/collector-cli.js --backends <file>` with the AMQP source (and optionally backends) set up."""

    def __init__(self, store: str, logdir: str, sources: Dict[str, Any], backends: Optional[Dict[str, Any]] = None) -> None:
        self.store = store
        self.logdir = logdir
        self.file = os.path.join(logdir, "backends.json")
        cfg: Dict[str, Any] = {"selected": [], "config": {}, "sources": {SOURCE_ID: sources}}
        if backends:
            cfg["selected"] = list(backends)
            cfg["config"] = backends
        with open(self.file, "w") as f:
            json.dump(cfg, f)
        self.proc: Optional[subprocess.Popen] = None
        self.starts = 0

    def start(self) -> "AmqpCollector":
        self.starts += 1
        out = os.path.join(self.logdir, f"collector-{self.starts}.out")
        self.err = os.path.join(self.logdir, f"collector-{self.starts}.err")
        args = ["node", CLI, "--store", self.store, "--port", "0", "--token", "t", "--backends", self.file]
        with open(out, "wb") as fo, open(self.err, "wb") as fe:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=fo, stderr=fe, cwd=self.logdir)
        wait_for(lambda: "source runwatch.amqp-source started" in _tail(self.err, 100000) or self._died(), "the AMQP source to start", 60)
        assert not self._died(), _tail(self.err)
        return self

    def _died(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        p = self.proc
        if p is None or p.poll() is not None:
            return
        p.terminate()
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=30)

    def stderr(self) -> str:
        return "\n".join(_tail(os.path.join(self.logdir, f"collector-{i}.err"), 20000) for i in range(1, self.starts + 1))


def read_log(store: str, run_id: str) -> List[Dict[str, Any]]:
    """A run's durable events from its log (u32 length, u32 CRC-32, JSON), metrics as `points` whichever
    form was stored: the object form, the columnar `cols` (stored as received), or none (`sources` only)."""
    import math
    import struct
    import zlib

    try:
        with open(os.path.join(store, "runs", run_id, "log.rwl"), "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    events: List[Dict[str, Any]] = []
    pos = 0
    special = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
    while pos + 8 <= len(data):
        length, crc = struct.unpack_from("<II", data, pos)
        end = pos + 8 + length
        if end > len(data) or zlib.crc32(data[pos + 8 : end]) & 0xFFFFFFFF != crc:
            break
        ev = json.loads(data[pos + 8 : end].decode("utf-8"))["event"]
        if ev["type"] == "metrics":
            cols = ev.get("cols")
            if cols is not None:
                ev["points"] = [{"key": cols["keys"][k], "value": v, "step": s, "time": t} for k, v, s, t in zip(*column_lists(cols))]
            ev.setdefault("points", [])
            for p in ev["points"]:
                v = p["value"]
                p["value"] = special[v] if isinstance(v, str) else float(v)
        events.append(ev)
        pos = end
    return events
