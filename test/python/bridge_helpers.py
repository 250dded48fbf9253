"""Helpers for the bridge backend tests: a training script streamed through a headless
Runwatch collector with a bridge backend chosen, the bridge's process found (to SIGKILL
it mid-run), and W&B's offline run files read back with the SDK's own protobuf records."""

from __future__ import annotations

import collections
import glob
import math
import os
import signal
import struct
import sys
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Tuple

from backend_helpers import column_lists, Runwatch, points_of, wait_for


def read_log(store: str, run_id: str) -> List[Dict[str, Any]]:
    """A run's durable events (src/store/runLog.ts framing); metrics in either stored form, or none
    (a metrics event may carry only the keys' source locations)."""
    import json
    import zlib

    try:
        with open(os.path.join(store, "runs", run_id, "log.rwl"), "rb") as f:
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
            cols = ev.get("cols")
            if cols is not None:
                ev["points"] = [{"key": cols["keys"][k], "value": v, "step": s, "time": t} for k, v, s, t in zip(*column_lists(cols))]
            ev.setdefault("points", [])
        events.append(ev)
        pos = end
    return events

# The run the tests stream: two prefixed keys plus one plain key, a `val/` key whose steps
# lag behind `train/` (W&B's own step must still only grow), NaN and ±Infinity, params,
# tags, a final status. RW_STEPS points per key, RW_PAUSE between steps.
TRAIN = r'''
import os, sys, time
import runwatch
steps = int(os.environ.get("RW_STEPS", "200"))
pause = float(os.environ.get("RW_PAUSE", "0"))
run = runwatch.init(project="rw-bridge", name="trial-1", config={"lr": 0.01, "batch": 32, "arch": "resnet", "flag": True}, tags={"team": "vision"})
with open(os.environ["OUT_ID"], "w") as f:
    f.write(run.id + "\n")
for step in range(steps):
    loss = 1.0 / (step + 1)
    if step == 5: loss = float("nan")
    if step == 6: loss = float("inf")
    if step == 7: loss = float("-inf")
    run.log({"train/loss": loss, "acc": step / steps}, step=step)
    if step % 10 == 9:
        run.log({"val/loss": 2.0 / (step + 1)}, step=step - 5)
    if pause:
        time.sleep(pause)
run.log_params({"epochs": 3})
run.set_tags({"stage": "dev"})
run.finish(status=os.environ.get("RW_STATUS", "finished"))
'''


def bridge_backends(plugin: str, config: Dict[str, Any]) -> Dict[str, Any]:
    return {"selected": [plugin], "config": {plugin: config}}


def start(tmp: str, plugin: str, config: Dict[str, Any], env: Optional[Dict[str, str]] = None) -> Runwatch:
    e = {"RUNWATCH_PYTHON": sys.executable}
    e.update(env or {})
    return Runwatch(tmp, bridge_backends(plugin, config), env=e).start()


def read_id(path: str) -> str:
    return wait_for(lambda: open(path).read().strip() if os.path.exists(path) and open(path).read().endswith("\n") else None, path)


def children(pid: int) -> List[int]:
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            out.append(int(d))
    return out


def bridge_pid(rw: Runwatch, tracker: str) -> Optional[int]:
    assert rw.proc is not None
    for pid in children(rw.proc.pid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if b"runwatch.bridge" in args and tracker.encode() in args:
            return pid
    return None


def kill_bridge(rw: Runwatch, tracker: str) -> int:
    pid = wait_for(lambda: bridge_pid(rw, tracker), f"the {tracker} bridge process")
    os.kill(pid, signal.SIGKILL)
    return pid


def bridge_offset(rw: Runwatch, plugin: str, tracker: str, run_id: str) -> int:
    """How far the bridge says the tracker holds the run (its saved state), -1 before anything."""
    import json

    path = os.path.join(rw.store, "backends", "plugins", plugin, f"bridge-{tracker}", "runs", f"{run_id}.json")
    try:
        with open(path) as f:
            return int(json.load(f)["offset"])
    except (OSError, ValueError, KeyError):
        return -1


def kill_when_past(rw: Runwatch, plugin: str, tracker: str, run_id: str, offset: int) -> int:
    """SIGKILLs the bridge once it has acknowledged records past `offset` (so it dies mid-run)."""
    wait_for(lambda: bridge_offset(rw, plugin, tracker, run_id) > offset, f"the {tracker} bridge to pass offset {offset}")
    return kill_bridge(rw, tracker)


def kill_collector(rw: Runwatch) -> None:
    """SIGKILLs the collector (the process hosting the backend runner, as VS Code's extension
    host does): its bridge is left without its host, sees its input end and closes its runs."""
    assert rw.proc is not None
    rw.proc.kill()
    rw.proc.wait(timeout=60)


def sigkill_bridge_then_restart_host(rw: Runwatch, plugin: str, tracker: str, run_id: str) -> int:
    """Mid-run: SIGKILL the bridge once it has acknowledged some records, then, once the next
    bridge has acknowledged more, SIGKILL the collector hosting it and start a new one (while
    the old bridge may still be closing). Returns the bridge offset at the host's kill."""
    kill_when_past(rw, plugin, tracker, run_id, 20)
    wait_for(lambda: bridge_offset(rw, plugin, tracker, run_id) > 0 and bridge_pid(rw, tracker), f"a new {tracker} bridge")
    at = bridge_offset(rw, plugin, tracker, run_id)
    wait_for(lambda: bridge_offset(rw, plugin, tracker, run_id) > at + 20, f"the new {tracker} bridge to pass offset {at + 20}")
    at = bridge_offset(rw, plugin, tracker, run_id)
    kill_collector(rw)
    rw.start()
    return at


class Streamed(NamedTuple):
    run_id: str
    got: Any
    """What the tracker holds, as `read_back` returned it."""
    events: List[Dict[str, Any]]
    """The run's durable events, read after the collector stopped."""
    at: Any
    """What `disrupt` returned (a bridge offset at a kill), None without one."""


def stream_and_read_back(
    rw: Runwatch, tmp: str, read_back: Callable[[str, Callable[[], List[Dict[str, Any]]]], Any], disrupt: Optional[Callable[[str], Any]] = None, **env: str
) -> Streamed:
    """The steps every bridge test shares: TRAIN streamed through `rw` (env: RW_STEPS, RW_PAUSE,
    RW_STATUS), `disrupt(run_id)` while it runs, the script's clean exit, then
    `read_back(run_id, events_of)` (waits until the tracker holds the run); `rw` is stopped
    whatever happens, and the run's events are read once more for the checks."""
    out_id = os.path.join(tmp, "run.id")
    try:
        p = rw.script(TRAIN, cwd=tmp, OUT_ID=out_id, **env)
        run_id = read_id(out_id)
        at = disrupt(run_id) if disrupt else None
        assert p.wait(timeout=240) == 0, rw.script_output()
        got = read_back(run_id, lambda: read_log(rw.store, run_id))
    finally:
        rw.stop()
    return Streamed(run_id, got, read_log(rw.store, run_id), at)


def assert_mid_run(at: int, events: List[Dict[str, Any]], what: str) -> None:
    """The disruption came before the bridge had delivered the run's last record."""
    assert at < len(events) - 1, f"the {what} before the run was delivered"


def expected_points(events) -> collections.Counter:
    return collections.Counter((p["key"], p["step"], norm(p["value"])) for p in points_of(events))


def norm(v: Any) -> Any:
    if isinstance(v, str):
        v = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[v]
    v = float(v)
    return "nan" if math.isnan(v) else v


# ---------------------------------------------------------------------------
# W&B: the .wandb file is a LevelDB-style log (7-byte header ":W&B" + magic + version,
# 32 KiB blocks of records with a 7-byte header: CRC, length, type FULL/FIRST/MIDDLE/LAST)
# of the SDK's `wandb_internal_pb2.Record` messages. The SDK 0.31 reads it only in its Go
# core, so the framing is read here and each record is parsed with the SDK's own protobuf.


def wandb_records(path: str) -> Iterator[Any]:
    from wandb.proto import wandb_internal_pb2 as pb

    with open(path, "rb") as f:
        data = f.read()
    assert data[:4] == b":W&B", f"{path} is not a W&B run file"
    block = 32768
    pos = 7
    buf = b""
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:
            pos += left
            continue
        _crc, n, kind = struct.unpack("<IHB", data[pos : pos + 7])
        if kind == 0 and n == 0:
            pos += left
            continue
        chunk = data[pos + 7 : pos + 7 + n]
        pos += 7 + n
        if kind == 1:
            yield pb.Record.FromString(chunk)
        elif kind == 2:
            buf = chunk
        elif kind == 3:
            buf += chunk
        elif kind == 4:
            yield pb.Record.FromString(buf + chunk)
            buf = b""


class WandbRun:
    """What the offline files of one W&B run id hold, in the order `wandb sync` uploads them."""

    def __init__(self, wandb_dir: str, run_id: str) -> None:
        import json

        self.files = sorted(glob.glob(os.path.join(wandb_dir, "wandb", f"offline-run-*-{run_id}", f"run-{run_id}.wandb")))
        self.rows: List[Tuple[int, Dict[str, Any]]] = []
        self.config: Dict[str, Any] = {}
        self.tags: List[str] = []
        self.summary: Dict[str, Any] = {}
        self.exit_codes: List[int] = []
        self.names: List[str] = []
        self.projects: List[str] = []
        for path in self.files:
            for r in wandb_records(path):
                kind = r.WhichOneof("record_type")
                if kind == "history":
                    row = {}
                    for item in r.history.item:
                        key = item.key or "/".join(item.nested_key)
                        row[key] = json.loads(item.value_json, parse_constant=lambda c: {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[c])
                    self.rows.append((r.history.step.num, row))
                elif kind == "config":
                    for u in r.config.update:
                        self.config[u.key or "/".join(u.nested_key)] = json.loads(u.value_json)
                elif kind == "run":
                    self.tags = list(r.run.tags)
                    self.names.append(r.run.display_name)
                    self.projects.append(r.run.project)
                    for u in r.run.config.update:
                        self.config[u.key or "/".join(u.nested_key)] = json.loads(u.value_json)
                elif kind == "summary":
                    for u in r.summary.update:
                        self.summary[u.key or "/".join(u.nested_key)] = json.loads(u.value_json, parse_constant=lambda c: c)
                elif kind == "exit":
                    self.exit_codes.append(r.exit.exit_code)

    @staticmethod
    def rows_of(path: str) -> List[Tuple[int, Any]]:
        return [(r.history.step.num, r) for r in wandb_records(path) if r.WhichOneof("record_type") == "history"]

    def uploaded_rows(self) -> List[Dict[str, Any]]:
        """Rows as W&B keeps them: a row whose step is not past the run's current one is ignored."""
        out = []
        last = -1
        for step, row in self.rows:
            if step > last:
                out.append(row)
                last = step
        return out

    def points(self) -> collections.Counter:
        got: collections.Counter = collections.Counter()
        for row in self.uploaded_rows():
            for k, v in row.items():
                if k.startswith("_") or k == "runwatch/step":
                    continue
                got[(k, row["runwatch/step"], norm(v))] += 1
        return got
