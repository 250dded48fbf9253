"""TensorBoard capture's add_scalar fast path (a plain float or int skips the event decode), against a
real headless collector: the store holds exactly what the event files hold, every step once and in
file order, for values float32 cannot hold exactly, for what must take the event path (numpy
numbers, tensors, options, values too big for float32, NaN), and for an add_scalar that reopens a
closed writer (its purge events come first). Counters inside the script show each add_scalar was
taken once: fast-pathed or decoded from its event, never both."""

from __future__ import annotations

import json
import textwrap

import pytest

from framework_helpers import (  # noqa: F401 - fixtures
    Collector, clean_env, collector, read_log, run_of_logdir, run_py, store_scalars, tb_scalars)

COUNT = """
from runwatch import _protocol
from runwatch.capture import _patch
counts = {"fast": 0, "events": 0}
_encode = _protocol.FrameEncoder.encode
def encode(self, q, items):  # what the sender is about to encode: fast-pathed points and queued events
    for i in range(0, 3 * items, 3):
        if isinstance(q[i], _patch._Key):
            counts["fast"] += 1
        elif isinstance(q[i], _patch._Tap) and q[i + 1].summary.value:
            counts["events"] += 1
    return _encode(self, q, items)
_protocol.FrameEncoder.encode = encode
def drain():  # the runs end: their senders encode everything queued
    for run in _patch.captured_runs().values():
        run.finish()
"""

SCRIPT = """
import json, math, time
import numpy as np
{imp}
w = SummaryWriter("logs/fast"{ctor})
fast = slow = 0
for step in range(200):
    w.add_scalar("loss", 1.0 / (step + 3), step)          # not exact in float32
    w.add_scalar("ints", step * 7919, global_step=step)    # int, step by keyword
    w.add_scalar("mixed", (step * 0.1) if step % 2 else np.float32(step * 0.1), step)  # fast / event path
    w.add_scalar("bad name!", step / 3, step)                # tensorboardX cleans the tag
    fast += 3 + (step % 2)
    slow += 1 - (step % 2)
w.add_scalar("big", 1e39, 1); slow += 1                     # float32 overflows: the event path
w.add_scalar("big", 3.0e38, 2); fast += 1
w.add_scalar("nan", float("nan"), 1); slow += 1
w.add_scalar("torchish", np.float64(0.25), 1); slow += 1    # a float subclass: the event path
w.add_scalar("walltime", 2.5, 9, walltime=1700000000.5); fast += 1
w.add_scalar("opts", 0.5, 3, **{opt}); slow += 1
w.close()
time.sleep(1.1)  # a new event file name (tensorboardX names files by the second)
w.add_scalar("after", 4.0, 5); fast += 1                # reopens the writer: purge events first
w.close()
drain()
print("COUNTS " + json.dumps(dict(counts, want_fast=fast, want_events=slow)))
"""

LIBS = {
    "tensorboardX": ("from tensorboardX import SummaryWriter", ", purge_step=1000", "{'display_name': 'O'}"),
    "torch": ("from torch.utils.tensorboard import SummaryWriter", "", "{'new_style': True}"),
}


@pytest.mark.parametrize("lib", sorted(LIBS))
def test_fast_path_values_equal_the_event_files_exactly_once(lib: str, collector: Collector, tmp_path) -> None:
    pytest.importorskip(lib)
    imp, ctor, opt = LIBS[lib]
    if lib == "torch":  # torch does not reopen a closed writer
        body = SCRIPT.replace('time.sleep(1.1)', 'pass').replace('w.add_scalar("after", 4.0, 5); fast += 1', 'pass')
    else:
        body = SCRIPT
    code = "import runwatch.capture\nrunwatch.capture.tensorboard()\n" + COUNT + \
        textwrap.dedent(body).format(imp=imp, ctor=ctor, opt=opt)
    res = run_py(code, collector, str(tmp_path), RUNWATCH_CAPTURE="0")  # only the explicit capture above
    counts = json.loads([x for x in res.stdout.splitlines() if x.startswith("COUNTS ")][-1][7:])
    assert counts["fast"] == counts["want_fast"] and counts["events"] == counts["want_events"], counts
    logdir = str(tmp_path / "logs" / "fast")
    rid = run_of_logdir(collector.store, logdir)
    assert rid is not None
    events = read_log(collector.store, rid)
    written = tb_scalars(logdir)
    stored = store_scalars(events)
    nan = {k: v for k, v in written.items() if k == "nan"}
    assert nan and all(v != v for _, v in nan["nan"]) and all(v != v for _, v in stored.pop("nan"))
    written.pop("nan")
    assert stored == written, "the store holds exactly what the event files hold, every step once, in file order"
    assert len(written["loss"]) == 200 and written["loss"][1] == (1, pytest.approx(0.25, abs=1e-6))
    if lib == "tensorboardX":
        assert "bad_name_" in stored and "after" in stored
    assert events[-1]["type"] == "run.end" and events[-1]["status"] == "finished"


SOURCED = """
import numpy as np
{imp}

def train(w):
    for step in range(20):
        w.add_scalar("train/loss", 1.0 / (step + 1), step)  # LOSS_LINE (fast path)
        w.add_scalar("train/acc", np.float32(step / 20), step)  # ACC_LINE (event path)

w = SummaryWriter("logs/src")
train(w)
w.add_scalar("final", 0.5, 0)  # FINAL_LINE
w.close()
"""


@pytest.mark.parametrize("lib", sorted(LIBS))
def test_captured_scalars_record_the_line_that_logged_them(lib: str, collector: Collector, tmp_path) -> None:
    """Go to Source for a captured run: each key's first add_scalar, the person's line, on either path."""
    pytest.importorskip(lib)
    script = tmp_path / "train.py"
    text = textwrap.dedent(SOURCED).format(imp=LIBS[lib][0])
    script.write_text(text)
    line = {m: i + 1 for i, l in enumerate(text.splitlines()) for m in ("LOSS_LINE", "ACC_LINE", "FINAL_LINE") if m in l}
    run_py(f"import runpy; runpy.run_path({str(script)!r}, run_name='__main__')", collector, str(tmp_path))
    rid = run_of_logdir(collector.store, str(tmp_path / "logs" / "src"))
    assert rid is not None
    sources = {}
    for ev in read_log(collector.store, rid):
        sources.update(ev.get("sources") or {})
    path = str(script.resolve())
    assert sources.get("train/loss") == {"file": path, "line": line["LOSS_LINE"], "function": "train"}, sources
    assert sources.get("train/acc") == {"file": path, "line": line["ACC_LINE"], "function": "train"}, sources
    assert sources.get("final") == {"file": path, "line": line["FINAL_LINE"]}, sources


BROKEN = """
import numpy as np
from runwatch.capture import _patch
{imp}

def broken(self, event, event_file):
    raise RuntimeError("cannot read this event")

_patch._Sink.take = broken  # the sender thread's decoding fails on the first event-path value
w = SummaryWriter("logs/broken")
for step in range(50):
    w.add_scalar("loss", 1.0 / (step + 1), step)          # fast path: kept until the failure is met
    w.add_scalar("acc", np.float32(step / 50), step)      # event path: its decoding raises
w.close()
print("SCRIPT DONE")
"""


@pytest.mark.parametrize("lib", sorted(LIBS))
def test_a_failure_on_the_sender_thread_warns_once_and_capture_steps_aside(lib: str, collector: Collector,
                                                                          tmp_path) -> None:
    """Decoding runs on the run's sender thread: an error there must not break the script or the sender,
    the event files are written as usual, one warning says capture stopped, and the run still ends."""
    pytest.importorskip(lib)
    code = "import runwatch.capture\nrunwatch.capture.tensorboard()\n" + \
        textwrap.dedent(BROKEN).format(imp=LIBS[lib][0])
    res = run_py(code, collector, str(tmp_path), RUNWATCH_CAPTURE="0")
    assert "SCRIPT DONE" in res.stdout
    assert res.stderr.count("TensorBoard capture stopped") == 1, res.stderr
    assert "internal error in the sender thread" not in res.stderr, res.stderr
    logdir = str(tmp_path / "logs" / "broken")
    written = tb_scalars(logdir)
    assert len(written["loss"]) == 50 and len(written["acc"]) == 50, "the event files are written as usual"
    rid = run_of_logdir(collector.store, logdir)
    assert rid is not None
    events = read_log(collector.store, rid)
    stored = store_scalars(events)
    assert "acc" not in stored and stored.get("loss", [])[:1] == written["loss"][:1]
    assert events[-1]["type"] == "run.end"
