"""TensorBoard capture through tensorboardX (light enough for this tier; torch, Lightning and HF are in
test/python/test_frameworks_capture.py): what the store holds against what the event files hold,
one run per log directory, a script's own runwatch.init() run, and the explicit
runwatch.capture.tensorboard() for scripts run outside VS Code."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import Dict, List, Tuple

import pytest

from helpers import CLIENT_DIR, Collector, list_runs, points_of, read_log

pytest.importorskip("tensorboardX")
pytest.importorskip("tensorboard")

Series = Dict[str, List[Tuple[int, float]]]


def _tb(logdir: str) -> Series:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(logdir, size_guidance={"scalars": 0})
    acc.Reload()
    return {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}


def _stored(events: List[Dict], prefix: str = "") -> Series:
    out: Series = {}
    for p in points_of(events):
        if p["key"].startswith(prefix):
            out.setdefault(p["key"][len(prefix):], []).append((p["step"], p["value"]))
    return out


def _run(code: str, collector: Collector, cwd: str, pythonpath: bool = True, **extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, RUNWATCH_URL=collector.url, RUNWATCH_TOKEN=collector.token, PYTHONUNBUFFERED="1", **extra)
    if pythonpath:
        env["PYTHONPATH"] = CLIENT_DIR
    else:
        env.pop("PYTHONPATH", None)
    res = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    return res


def _by_logdir(store: str) -> Dict[str, List[Dict]]:
    out = {}
    for rid in list_runs(store):
        events = read_log(store, rid)
        out[events[0]["context"].get("tensorboard", {}).get("logdir", "")] = events
    return out


WRITER = textwrap.dedent("""
    import numpy as np
    from tensorboardX import SummaryWriter
    w = SummaryWriter("logs/a")
    for step in range(30):
        w.add_scalar("loss", 1.0 / (step + 1), step)
        if step % 10 == 0:
            w.add_scalar("lr", 0.1 * 0.5 ** (step // 10), step)
    w.add_text("status", "warming up", 2)
    w.add_image("sample", np.zeros((3, 4, 4)), 5)
    w.add_histogram("weights", np.arange(8.0), 5)
    w.add_histogram("weights", np.arange(8.0) * 2, 6)
    w.close()
    # The same folder again: the same run (a suffix, or tensorboardX would reuse the file name within one second).
    w2 = SummaryWriter("logs/a", filename_suffix=".second")
    w2.add_scalar("loss", 0.01, 30)
    w2.close()
""")


def test_tensorboardx_writer_scalars_match_the_event_files(collector: Collector, tmp_path) -> None:
    collector.start()
    res = _run(WRITER, collector, str(tmp_path))
    assert res.returncode == 0 and res.stderr == "", res.stderr
    runs = _by_logdir(collector.store)
    logdir = os.path.realpath(tmp_path / "logs" / "a")
    assert list(runs) == [logdir], "one run per log directory, however many writers"
    events = runs[logdir]
    assert _stored(events) == _tb(logdir)
    assert [p["step"] for p in points_of(events, "loss")] == list(range(31))
    start = events[0]
    assert start["context"]["tensorboard"] == {"logdir": logdir}
    assert start["tags"]["tensorboard.logdir"] == logdir and start["name"] == "logs/a"
    assert [line for e in events if e["type"] == "log" for line in e["lines"]] == ["status (step 2): warming up"]
    kept = [(a["metadata"]["tag"], a["kind"], a["metadata"]["step"]) for a in events if a["type"] == "artifact"]
    assert kept == [("sample", "tensorboard.image", 5), ("weights", "tensorboard.histo", 5)], "kept once per tag"
    assert events[-1]["type"] == "run.end" and events[-1]["status"] == "finished"


def test_event_files_are_the_same_with_and_without_capture(collector: Collector, tmp_path) -> None:
    collector.start()
    (tmp_path / "on").mkdir()
    (tmp_path / "off").mkdir()
    assert _run(WRITER, collector, str(tmp_path / "on")).returncode == 0
    assert _run(WRITER, collector, str(tmp_path / "off"), RUNWATCH_CAPTURE="0").returncode == 0
    assert len(list_runs(collector.store)) == 1
    assert _tb(str(tmp_path / "on" / "logs" / "a")) == _tb(str(tmp_path / "off" / "logs" / "a"))


def test_a_script_with_its_own_run_is_one_run(collector: Collector, tmp_path) -> None:
    collector.start()
    code = textwrap.dedent("""
        import runwatch
        from tensorboardX import SummaryWriter
        run = runwatch.init(project="mine", name="one", config={"lr": 0.1})
        w = SummaryWriter("logs/main")
        for step in range(5):
            w.add_scalar("loss", float(step), step)
            run.log({"own": step * 2.0}, step=step)
        w.add_scalars("pair", {"a": 1.0, "b": 2.0}, 3)  # tensorboardX: folders logs/main/pair/a and pair/b
        w.close()
        run.finish()
    """)
    res = _run(code, collector, str(tmp_path))
    assert res.returncode == 0 and res.stderr == "", res.stderr
    [rid] = list_runs(collector.store)
    events = read_log(collector.store, rid)
    assert events[0]["name"] == "one"
    stored = _stored(events)
    main = os.path.realpath(tmp_path / "logs" / "main")
    assert stored["loss"] == _tb(main)["loss"]
    assert stored["own"] == [(s, s * 2.0) for s in range(5)]
    assert stored["pair/a/pair"] == [(3, 1.0)] and stored["pair/b/pair"] == [(3, 2.0)], sorted(stored)
    tags = [e["tags"] for e in events if e["type"] == "tags"]
    assert tags == [{"tensorboard.logdir": main}]


def test_an_uncaught_exception_marks_the_captured_run_failed(collector: Collector, tmp_path) -> None:
    collector.start()
    code = WRITER.replace("w.close()\n", "raise RuntimeError('diverged')\n", 1)
    res = _run(code, collector, str(tmp_path))
    assert res.returncode == 1 and "RuntimeError: diverged" in res.stderr
    [events] = _by_logdir(collector.store).values()
    assert events[-1]["status"] == "failed"
    assert events[-1]["reason"].startswith("RuntimeError: diverged\nTraceback (most recent call last):")
    assert [p["step"] for p in points_of(events, "loss")] == list(range(30))


def test_explicit_capture_outside_vs_code(collector: Collector, tmp_path) -> None:
    collector.start()
    code = f"import sys; sys.path.insert(0, {CLIENT_DIR!r})\n" + textwrap.dedent("""
        import runwatch.capture
        assert "sitecustomize" not in sys.modules or not hasattr(sys.modules["sitecustomize"], "_runwatch_install")
        runwatch.capture.tensorboard()
        runwatch.capture.tensorboard()  # twice is once
        from tensorboardX import SummaryWriter
        w = SummaryWriter("logs/b")
        for step in range(4):
            w.add_scalar("loss", step / 4, step)
        w.close()
    """)
    res = _run(code, collector, str(tmp_path), pythonpath=False)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    logdir = os.path.realpath(tmp_path / "logs" / "b")
    events = _by_logdir(collector.store)[logdir]
    assert _stored(events) == _tb(logdir) == {"loss": [(s, s / 4) for s in range(4)]}
