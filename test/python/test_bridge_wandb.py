"""The W&B bridge backend with the real `wandb` SDK in offline mode: a run streamed by the
real Python client through a headless Runwatch collector (its sink runner and run store)
is read back from the run's .wandb files with the SDK's own protobuf records: every point
(key, Runwatch step, value), param, tag and the final state once, also when the bridge is
SIGKILLed mid-run and when the collector itself is stopped and started again mid-run."""

from __future__ import annotations

import time

import pytest

from backend_helpers import wait_for
from bridge_helpers import TRAIN, WandbRun, assert_mid_run, bridge_offset, expected_points, kill_when_past, sigkill_bridge_then_restart_host, start, stream_and_read_back

pytest.importorskip("wandb")

PLUGIN = "runwatch.wandb"
TRACKER = "wandb"


def wandb_config(tmp) -> dict:
    return {"mode": "offline", "dir": str(tmp / "wandb"), "project": ""}


def finished(tmp, run_id: str, events_of) -> WandbRun:
    def done():
        w = WandbRun(str(tmp / "wandb"), run_id)
        events = events_of()
        # The run's end, not just an exit: a bridge killed mid-run leaves an exit of its own, and
        # the config and tags that come after the last point are written just before the end.
        ended = w.exit_codes and "runwatch/status" in w.summary
        return w if ended and w.points() == expected_points(events) else None

    return wait_for(done, f"the W&B run {run_id} to hold every point and its end", timeout=240)


def check(w: WandbRun, events, exit_code: int = 0) -> None:
    got, want = w.points(), expected_points(events)
    repeated = {p: n for p, n in got.items() if n > 1}
    assert not repeated, f"points in W&B more than once: {list(repeated.items())[:3]}"
    assert got == want
    # W&B's own step only grows within each file, whatever the Runwatch steps did.
    for f in w.files:
        steps = [s for s, _ in WandbRun.rows_of(f)]
        assert steps == sorted(set(steps)), f"{f}: W&B steps go back or repeat"
    assert w.config["lr"] == 0.01 and w.config["batch"] == 32 and w.config["arch"] == "resnet"
    assert w.config["flag"] is True and w.config["epochs"] == 3
    assert sorted(w.tags) == ["stage:dev", "team:vision"]
    assert set(w.names) == {"trial-1"} and set(w.projects) == {"rw-bridge"}
    assert w.exit_codes[-1] == exit_code
    assert w.summary["runwatch/status"] == ("finished" if exit_code == 0 else "failed")
    # The wall time of each row is the points' own.
    times = {p["step"]: p["time"] for p in read_points(events, "train/loss")}
    for row in w.uploaded_rows():
        if "train/loss" in row:
            assert abs(row["_timestamp"] - times[row["runwatch/step"]]) < 1e-6


def read_points(events, key):
    return [p for ev in events if ev["type"] == "metrics" for p in ev["points"] if p["key"] == key]


def wandb_run(tmp_path):
    rw = start(str(tmp_path), PLUGIN, wandb_config(tmp_path))
    return rw, lambda run_id, events_of: finished(tmp_path, run_id, events_of)


def test_run_reads_back_from_offline_files(tmp_path) -> None:
    rw, read_back = wandb_run(tmp_path)
    s = stream_and_read_back(rw, str(tmp_path), read_back, RW_STEPS="300", RW_STATUS="failed")
    assert sum(expected_points(s.events).values()) == 300 * 2 + 30
    check(s.got, s.events, exit_code=1)
    assert len(s.got.files) == 1


def test_bridge_sigkill_mid_run(tmp_path) -> None:
    rw, read_back = wandb_run(tmp_path)

    def disrupt(run_id: str) -> int:
        assert kill_when_past(rw, PLUGIN, TRACKER, run_id, 20)
        kill_when_past(rw, PLUGIN, TRACKER, run_id, bridge_offset(rw, PLUGIN, TRACKER, run_id) + 20)
        return bridge_offset(rw, PLUGIN, TRACKER, run_id)

    s = stream_and_read_back(rw, str(tmp_path), read_back, disrupt, RW_STEPS="600", RW_PAUSE="0.02")
    assert_mid_run(s.at, s.events, "bridge was killed")
    check(s.got, s.events)
    assert len(s.got.files) >= 2, "each bridge process wrote its own offline file"
    assert "bridge was killed" in rw.stderr() or "SIGKILL" in rw.stderr()


def test_collector_restart_mid_run_resumes_at_the_cursor(tmp_path) -> None:
    rw, read_back = wandb_run(tmp_path)

    def disrupt(run_id: str) -> None:
        time.sleep(2.5)
        rw.stop()  # the run's client spools while no collector is there
        rw.start()

    s = stream_and_read_back(rw, str(tmp_path), read_back, disrupt, RW_STEPS="300", RW_PAUSE="0.02")
    check(s.got, s.events)


def test_bridge_sigkill_and_host_restart_mid_run(tmp_path) -> None:
    rw, read_back = wandb_run(tmp_path)
    disrupt = lambda run_id: sigkill_bridge_then_restart_host(rw, PLUGIN, TRACKER, run_id)  # noqa: E731
    s = stream_and_read_back(rw, str(tmp_path), read_back, disrupt, RW_STEPS="600", RW_PAUSE="0.02")
    assert_mid_run(s.at, s.events, "host restarted")
    check(s.got, s.events)
    assert len(s.got.files) >= 3


def test_sdk_missing_names_interpreter_and_pip_line(tmp_path) -> None:
    import subprocess
    import sys

    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    bare = str(venv / "bin" / "python")
    rw = start(str(tmp_path), PLUGIN, wandb_config(tmp_path), env={"RUNWATCH_PYTHON": bare})
    try:
        p = rw.script(TRAIN, cwd=str(tmp_path), OUT_ID=str(tmp_path / "run.id"), RW_STEPS="5")
        assert p.wait(timeout=240) == 0, rw.script_output()
        wait_for(lambda: "pip install wandb" in rw.stderr(), "the missing-SDK message", timeout=120)
    finally:
        rw.stop()
    log = rw.stderr()
    assert f"{bare} -m pip install wandb" in log, log[-3000:]
