"""The TensorBoard backend read by the `tensorboard` package's own readers: a run
streamed by the real Python client through a headless Runwatch collector has every
scalar (float64, exactly), step and wall time, and is readable while still running."""

from __future__ import annotations

import glob
import math
import os
from typing import Dict, List, Tuple

import pytest

from backend_helpers import Runwatch, WAIT_TIMEOUT, points_of, read_log, same_float, wait_for

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
    rw = Runwatch(str(tmp_path), {"selected": ["runwatch.tensorboard"], "config": {"runwatch.tensorboard": {"logDir": str(logdir)}}}).start()
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
