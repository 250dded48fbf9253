"""Nothing is lost and nothing is doubled: collector killed and restarted, script killed, no collector at all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter

import pytest

import runwatch
from helpers import Collector, assert_steps_exactly_once, client_env, import_spool, final_status, points_of, read_log, run_script, wait_for


def _assert_exactly_once(events: list, n: int) -> None:
    assert_steps_exactly_once(events, "x", range(n))
    assert sorted((p["step"], p["value"]) for p in points_of(events, "x")) == [(i, i * 0.5) for i in range(n)]
    assert sorted((p["step"], p["value"]) for p in points_of(events, "y")) == [(i, -float(i)) for i in range(n)]


def test_collector_killed_mid_stream_and_restarted_every_point_exactly_once(collector: Collector, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWATCH_GRACE_SECONDS", "600")  # never give up on it in this test
    collector.start()
    n = 30_000
    run = runwatch.init(project="p", name="survives", url=collector.url, token=collector.token, flush_timeout=120)
    i = 0

    def log_until(limit: int) -> None:
        nonlocal i
        while i < limit:
            run.log({"x": i * 0.5, "y": -float(i)}, step=i)
            i += 1
            if i % 500 == 0:
                time.sleep(0.005)

    log_until(5_000)
    wait_for(lambda: run.acked_points >= 4_000, "the first points to be acknowledged")
    log_until(8_000)  # some of these are in flight when the collector dies
    collector.kill9()
    log_until(20_000)  # logged while there is no collector
    wait_for(lambda: run._ws is None, "the client to notice the collector is gone")
    collector.start()  # same port and token
    log_until(n)
    run.finish()
    assert run.status == "finished"
    assert run.spool_path is None, "the run should have gone to the restarted collector, not the spool"
    collector.stop()
    events = read_log(collector.store, run.id)
    _assert_exactly_once(events, n)
    assert final_status(events) == "finished"
    assert sum(1 for e in events if e["type"] == "run.start") == 1


def test_training_script_killed_run_becomes_crashed_with_every_acknowledged_point(collector: Collector, tmp_path) -> None:
    collector.heartbeat_timeout = 2.0
    collector.start()
    code = textwrap.dedent(
        """
        import runwatch, time
        run = runwatch.init(project="p", name="doomed")
        run._on_ack = lambda seq, n: print("ACK", seq, n, flush=True)
        print("RUN", run.id, flush=True)
        i = 0
        while True:
            run.log({"x": i * 0.5}, step=i)
            i += 1
            if i % 200 == 0:
                time.sleep(0.002)
        """
    )
    env = client_env(RUNWATCH_URL=collector.url, RUNWATCH_TOKEN=collector.token)
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=str(tmp_path), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    acked = 0
    run_id = ""
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            parts = line.split()
            if parts[0] == "RUN":
                run_id = parts[1]
            elif parts[0] == "ACK":
                acked = max(acked, int(parts[2]))
                if acked >= 5_000:
                    break
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate(timeout=60)
        for line in rest.splitlines():
            parts = line.split()
            if parts and parts[0] == "ACK":
                acked = max(acked, int(parts[2]))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert run_id and acked >= 5_000
    events = wait_for(lambda: (lambda ev: ev if final_status(ev) else None)(read_log(collector.store, run_id)), "the run to be marked crashed")
    assert final_status(events) == "crashed"
    xs = points_of(events, "x")
    steps = Counter(p["step"] for p in xs)
    assert all(c == 1 for c in steps.values()), "no point twice"
    missing = [s for s in range(acked) if s not in steps]
    assert not missing, f"{len(missing)} acknowledged points are missing, e.g. {missing[:5]}"
    assert all(p["value"] == p["step"] * 0.5 for p in xs)


def test_no_collector_spools_and_the_import_yields_the_run(tmp_path) -> None:
    spool = tmp_path / "spool"
    code = textwrap.dedent(
        """
        import math, runwatch
        with runwatch.init(project="offline", name="spooled", config={"lr": 0.1}) as run:
            print(run.id, flush=True)
            for i in range(2000):
                run.log({"x": i * 0.5, "y": -float(i)}, step=i)
            run.log({"z": math.nan}, step=2000)
        """
    )
    res = run_script(code, client_env(RUNWATCH_SPOOL_DIR=str(spool)), str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert res.stderr.count("spooling this run") == 1, res.stderr
    run_id = res.stdout.strip()
    spool_file = spool / f"{run_id}.jsonl"
    assert spool_file.is_file()
    store = str(tmp_path / "store")
    [result] = import_spool(store, str(spool), [str(spool_file)])
    assert result["moved"] is True and result["badLines"] == 0
    assert (spool / "imported" / f"{run_id}.jsonl").is_file() and not spool_file.exists()
    events = read_log(store, run_id)
    _assert_exactly_once(events, 2000)
    [z] = points_of(events, "z")
    assert z["value"] != z["value"]
    assert events[0]["params"] == {"lr": 0.1}
    assert final_status(events) == "finished"


def test_collector_lost_for_good_the_rest_is_spooled_and_the_import_completes_the_run(collector: Collector, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("RUNWATCH_GRACE_SECONDS", "1")
    collector.start()
    n = 6_000
    run = runwatch.init(project="p", name="half-and-half", url=collector.url, token=collector.token)
    for i in range(3_000):
        run.log({"x": i * 0.5, "y": -float(i)}, step=i)
    wait_for(lambda: run.acked_points >= 2 * 1_000, "some points to be acknowledged")
    collector.kill9()
    for i in range(3_000, n):
        run.log({"x": i * 0.5, "y": -float(i)}, step=i)
    wait_for(lambda: run.spool_path is not None, "the client to give up on the collector and spool")
    run.finish()
    assert run.spool_path is not None
    [result] = import_spool(collector.store, os.environ["RUNWATCH_SPOOL_DIR"], [run.spool_path])
    assert result["moved"] is True
    events = read_log(collector.store, run.id)
    _assert_exactly_once(events, n)
    assert final_status(events) == "finished"
