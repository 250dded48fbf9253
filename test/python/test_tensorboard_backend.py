"""The TensorBoard backend read by the `tensorboard` package: a run streamed by the real
Python client through a headless Runwatch collector has every scalar, step and wall
time, read by TensorBoard's Python readers (float64 exactly, when asked) and, by
default, by the real `tensorboard` server in its default (fast, Rust data server) mode
over its HTTP API, as a person's browser would."""

from __future__ import annotations

import glob
import json
import math
import os
import signal
import struct
import subprocess
import sys
import urllib.parse
import urllib.request
from typing import Dict, List, Tuple

import pytest

from backend_helpers import Runwatch, WAIT_TIMEOUT, free_port, points_of, read_log, same_float, wait_for

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing import event_file_loader, plugin_event_accumulator  # noqa: E402
from tensorboard.util import tensor_util  # noqa: E402

SCRIPT = r'''
import os, time
import runwatch
out = os.environ["OUT"]
run = runwatch.init(project="tb proj", name="run/a", config={"lr": 0.1})
with open(os.path.join(out, "run.id"), "w") as f:
    f.write(run.id + "\n")
for step in range(200):
    v = 0.1 + step * 1e-10  # not representable as float32
    if step == 3: v = float("nan")
    if step == 4: v = float("inf")
    if step == 5: v = float("-inf")
    run.log({"train/loss": v, "lr": 0.1 * 0.5 ** step}, step=step)
open(os.path.join(out, "phase1"), "w").close()
while not os.path.exists(os.path.join(out, "go")):
    time.sleep(0.05)
for step in range(200, 700):
    run.log({"train/loss": 1.0 / (step + 1)}, step=step)
run.finish()
'''


def read_events(path: str) -> Dict[str, List[Tuple[int, float, float]]]:
    """Scalars per tag from one event file, through TensorBoard's own loader."""
    out: Dict[str, List[Tuple[int, float, float]]] = {}
    first = True
    for ev in event_file_loader.EventFileLoader(path).Load():
        if first:
            assert ev.file_version == "brain.Event:2"
            first = False
            continue
        for v in ev.summary.value:
            assert v.metadata.plugin_data.plugin_name == "scalars"
            value = float(tensor_util.make_ndarray(v.tensor).item())
            out.setdefault(v.tag, []).append((ev.step, ev.wall_time, value))
    return out


def test_event_files_read_back_exactly_and_live(tmp_path) -> None:
    logdir = tmp_path / "tb"
    # float64: exact values, which TensorBoard's Python loader (--load_fast=false) reads.
    config = {"runwatch.tensorboard": {"logDir": str(logdir), "float64": True}}
    rw = Runwatch(str(tmp_path), {"selected": ["runwatch.tensorboard"], "config": config}).start()
    try:
        p = rw.script(SCRIPT, cwd=str(tmp_path), OUT=str(tmp_path))
        run_id = wait_for(lambda: (tmp_path / "run.id").exists() and (tmp_path / "run.id").read_text().strip(), "the run id")
        wait_for(lambda: (tmp_path / "phase1").exists(), "phase 1 of the script")
        folder = logdir / "tb proj" / f"run_a-{run_id.replace('-', '')[:8]}"

        def live() -> bool:
            files = glob.glob(str(folder / "events.out.tfevents.*"))
            return len(files) == 1 and len(read_events(files[0]).get("train/loss", [])) == 200

        # The run is still going (the script waits): TensorBoard's reader already sees phase 1.
        wait_for(live, "phase 1 in the event file while the run is live")
        assert p.poll() is None
        (tmp_path / "go").touch()
        assert p.wait(timeout=WAIT_TIMEOUT) == 0, rw.script_output()

        def complete() -> bool:
            ev = read_log(rw.store, run_id)
            if not any(e["type"] == "run.end" for e in ev):
                return False
            files = glob.glob(str(folder / "events.out.tfevents.*"))
            return len(files) == 1 and len(read_events(files[0]).get("train/loss", [])) == 700

        try:
            wait_for(complete, "every point in the event file")
        except AssertionError:
            raise AssertionError(rw.stderr()[-4000:])
    finally:
        rw.stop()

    events = read_log(rw.store, run_id)
    [path] = glob.glob(str(folder / "events.out.tfevents.*"))
    got = read_events(path)
    for key in ("train/loss", "lr"):
        want = [(p["step"], p["time"], p["value"]) for p in points_of(events, key)]
        have = got[key]
        assert len(have) == len(want), key
        for (ws, wt, wv), (hs, ht, hv) in zip(want, have):
            assert hs == ws and ht == wt and same_float(hv, wv), (key, ws, wv, hs, hv)
    loss = {s: v for s, _, v in got["train/loss"]}
    assert loss[1] == 0.1 + 1e-10  # float64: float32 would read 0.10000000149...
    assert math.isnan(loss[3]) and loss[4] == math.inf and loss[5] == -math.inf

    # TensorBoard's scalar plumbing (the accumulator its data provider uses) lists them as scalar tensors.
    acc = plugin_event_accumulator.EventAccumulator(str(folder), size_guidance={plugin_event_accumulator.TENSORS: 0})
    acc.Reload()
    assert set(acc.Tags()["tensors"]) == {"train/loss", "lr"}
    assert acc.SummaryMetadata("lr").plugin_data.plugin_name == "scalars"
    tensors = acc.Tensors("lr")
    assert [t.step for t in tensors] == list(range(200))
    assert [tensor_util.make_ndarray(t.tensor_proto).item() for t in tensors] == [0.1 * 0.5**s for s in range(200)]


# -- TensorBoard's own server, in its default (fast, Rust data server) mode ------------

TB_SCRIPT = r'''
import os
import runwatch
out = os.environ["OUT"]
run = runwatch.init(project="fast", name="loader")
for step in range(0, 300, 3):
    v = 1.0 / (step + 1)
    if step == 30: v = float("nan")
    if step == 60: v = float("inf")
    if step == 90: v = float("-inf")
    run.log({"train/loss": v, "lr": 0.01 * (step + 1)}, step=step)
run.finish()
with open(os.path.join(out, "run.id"), "w") as f:
    f.write(run.id + "\n")
'''


class TensorBoardServer:
    """`tensorboard --logdir` from the test venv, default loader, on 127.0.0.1; stopped by pid."""

    def __init__(self, logdir: str, workdir: str) -> None:
        self.port = free_port()
        self.log = os.path.join(workdir, "tensorboard.log")
        exe = os.path.join(os.path.dirname(sys.executable), "tensorboard")
        with open(self.log, "wb") as f:
            self.proc = subprocess.Popen(
                [exe, "--logdir", logdir, "--host", "127.0.0.1", "--port", str(self.port), "--reload_interval", "1"],
                stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def get(self, path: str):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
            return json.loads(r.read().decode("utf-8"))

    def scalars(self, run: str, tag: str) -> List[Tuple[float, int, float]]:
        """[wall time, step, value] rows; TensorBoard sends NaN and ±Infinity as strings."""
        rows = self.get(f"/data/plugin/scalars/scalars?{urllib.parse.urlencode({'run': run, 'tag': tag})}")
        nonfinite = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
        return [(w, s, nonfinite[v] if isinstance(v, str) else v) for w, s, v in rows]

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=60)


def test_default_tensorboard_server_shows_every_scalar(tmp_path) -> None:
    logdir = tmp_path / "tb"
    # No float64: the default encoding, which the default loader must read.
    backends = {"selected": ["runwatch.tensorboard"], "config": {"runwatch.tensorboard": {"logDir": str(logdir)}}}
    rw = Runwatch(str(tmp_path), backends).start()
    try:
        p = rw.script(TB_SCRIPT, cwd=str(tmp_path), OUT=str(tmp_path))
        assert p.wait(timeout=WAIT_TIMEOUT) == 0, rw.script_output()
        run_id = (tmp_path / "run.id").read_text().strip()
        wait_for(lambda: any(e["type"] == "run.end" for e in read_log(rw.store, run_id)), "run.end in the store")
        folder = logdir / "fast" / f"loader-{run_id.replace('-', '')[:8]}"

        def written() -> bool:
            files = glob.glob(str(folder / "events.out.tfevents.*"))
            return len(files) == 1 and len(read_events(files[0]).get("lr", [])) == 100

        wait_for(written, "every point in the event file")
    finally:
        rw.stop()
    events = read_log(rw.store, run_id)
    run_name = f"fast/loader-{run_id.replace('-', '')[:8]}"

    tb = TensorBoardServer(str(logdir), str(tmp_path))
    try:
        def tags():
            if tb.proc.poll() is not None:
                raise AssertionError(open(tb.log).read()[-3000:])
            try:
                runs = tb.get("/data/runs")
                t = tb.get("/data/plugin/scalars/tags")
            except OSError:
                return None
            return t if run_name in runs and t.get(run_name) else None

        try:
            got = wait_for(tags, "TensorBoard (default loader) to list the run's scalar tags", timeout=120)
        except AssertionError as e:
            raise AssertionError(f"{e}; /data/plugin/scalars/tags = {tb.get('/data/plugin/scalars/tags')}")
        assert set(got[run_name]) == {"train/loss", "lr"}, got
        for key in ("train/loss", "lr"):
            series = tb.scalars(run_name, key)
            want = points_of(events, key)
            assert [s for _, s, _ in series] == [p["step"] for p in want], key
            for (wall, step, have), p in zip(series, want):
                # TensorBoard's loaders keep scalars as float32, as its own writers do.
                f32 = struct.unpack("<f", struct.pack("<f", p["value"]))[0]
                assert same_float(have, f32), (key, step, have, p["value"])
                assert abs(wall - p["time"]) < 1e-3, (key, step, wall, p["time"])
        loss = {s: v for _, s, v in tb.scalars(run_name, "train/loss")}
        assert math.isnan(loss[30]) and loss[60] == math.inf and loss[90] == -math.inf
    finally:
        tb.stop()
