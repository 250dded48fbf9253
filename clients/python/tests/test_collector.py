"""The client against the real collector (`node dist/collector-cli.js`), read back from the run store."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap

import pytest

import runwatch
from helpers import Collector, client_env, final_status, frame_points, list_runs, points_of, read_log, run_script, wait_for


def test_round_trip_exact_points_params_tags_nan_and_status(collector: Collector) -> None:
    collector.start()
    values = [0.5, -1.25, math.nan, math.inf, -math.inf, 1e-300, 12345678.9, 0.0]
    with runwatch.init(project="proj", name="round-trip", config={"lr": 0.01, "opt": {"name": "adam"}}, tags={"team": "a"}, url=collector.url, token=collector.token) as run:
        for i, v in enumerate(values):
            run.log({"train/loss": v, "train/acc": i / 10}, step=i)
        for i in range(1000):
            run.log({"many": float(i)})
        run.log_params({"batch": 64})
        run.set_tags({"phase": "done"})
        run.log_artifact(__file__, kind="source")
    assert run.status == "finished"
    assert run.spool_path is None, "nothing should be spooled with a healthy collector"

    events = read_log(collector.store, run.id)
    assert events[0]["type"] == "run.start"
    start = events[0]
    assert start["project"] == "proj" and start["name"] == "round-trip"
    assert start["params"] == {"lr": 0.01, "opt.name": "adam"} and start["tags"] == {"team": "a"}
    assert start["context"]["pid"] == os.getpid()
    loss = points_of(events, "train/loss")
    assert [p["step"] for p in loss] == list(range(len(values)))
    for p, v in zip(loss, values):
        assert (math.isnan(p["value"]) and math.isnan(v)) or p["value"] == v, (p, v)
    assert [p["value"] for p in points_of(events, "train/acc")] == [i / 10 for i in range(len(values))]
    many = points_of(events, "many")
    assert [(p["step"], p["value"]) for p in many] == [(len(values) + i, float(i)) for i in range(1000)]
    by_type = {e["type"]: e for e in events}
    assert by_type["params"]["params"] == {"batch": 64}
    assert by_type["tags"]["tags"] == {"phase": "done"}
    assert by_type["artifact"]["path"] == os.path.abspath(__file__) and by_type["artifact"]["kind"] == "source"
    assert final_status(events) == "finished"
    assert events[-1]["type"] == "run.end"


def test_context_manager_exception_marks_failed(collector: Collector) -> None:
    collector.start()
    with pytest.raises(ValueError):
        with runwatch.init(project="p", url=collector.url, token=collector.token) as run:
            run.log({"x": 1.0})
            raise ValueError("diverged")
    events = read_log(collector.store, run.id)
    assert final_status(events) == "failed"
    reason = events[-1]["reason"]
    assert reason.startswith("ValueError: diverged\n"), "the first line says what failed"
    assert "Traceback (most recent call last):" in reason and 'raise ValueError("diverged")' in reason
    assert len(points_of(events, "x")) == 1


def _start_script(collector: Collector, body: str, tmp_path) -> str:
    return "import runwatch, sys, time, os\n" + textwrap.dedent(body)


def test_uncaught_exception_in_a_script_marks_failed_and_keeps_the_traceback(collector: Collector, tmp_path) -> None:
    collector.start()
    code = textwrap.dedent(
        """
        import runwatch
        run = runwatch.init(project="p", name="crashy")
        print(run.id, flush=True)
        for i in range(100):
            run.log({"x": float(i)})
        raise RuntimeError("boom at step 100")
        """
    )
    env = client_env(RUNWATCH_URL=collector.url, RUNWATCH_TOKEN=collector.token)
    res = run_script(code, env, str(tmp_path))
    assert res.returncode == 1, res.stderr
    assert "RuntimeError: boom at step 100" in res.stderr, "the usual traceback must still be printed"
    run_id = res.stdout.split()[0]
    events = read_log(collector.store, run_id)
    assert final_status(events) == "failed"
    reason = events[-1]["reason"]
    assert reason.startswith("RuntimeError: boom at step 100\n")
    assert "Traceback (most recent call last):" in reason and "line 7, in <module>" in reason
    assert [p["value"] for p in points_of(events, "x")] == [float(i) for i in range(100)]


def test_sigterm_marks_killed_and_the_process_still_dies_by_the_signal(collector: Collector, tmp_path) -> None:
    collector.start()
    code = textwrap.dedent(
        """
        import runwatch, time
        run = runwatch.init(project="p", name="terminated")
        print(run.id, flush=True)
        i = 0
        while True:
            run.log({"x": float(i)})
            i += 1
            if i == 50:
                print("READY", flush=True)
            time.sleep(0.001)
        """
    )
    env = client_env(RUNWATCH_URL=collector.url, RUNWATCH_TOKEN=collector.token)
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=str(tmp_path), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        run_id = proc.stdout.readline().strip()
        assert proc.stdout.readline().strip() == "READY"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGTERM, f"exit {proc.returncode}: {err}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    events = read_log(collector.store, run_id)
    assert final_status(events) == "killed"
    xs = [p["value"] for p in points_of(events, "x")]
    assert len(xs) >= 50 and xs == [float(i) for i in range(len(xs))]


def test_a_chained_sigterm_handler_still_runs(collector: Collector, tmp_path) -> None:
    collector.start()
    code = textwrap.dedent(
        """
        import signal, sys, time
        def mine(signum, frame):
            print("MINE", flush=True)
            sys.exit(3)
        signal.signal(signal.SIGTERM, mine)
        import runwatch
        run = runwatch.init(project="p")
        print(run.id, flush=True)
        run.log({"x": 1.0})
        print("READY", flush=True)
        while True:
            time.sleep(0.01)
        """
    )
    env = client_env(RUNWATCH_URL=collector.url, RUNWATCH_TOKEN=collector.token)
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=str(tmp_path), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        run_id = proc.stdout.readline().strip()
        assert proc.stdout.readline().strip() == "READY"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert "MINE" in out and proc.returncode == 3, (out, err)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert final_status(read_log(collector.store, run_id)) == "killed"


def test_wrong_token_warns_does_not_raise_and_spools(collector: Collector, tmp_path, capfd: pytest.CaptureFixture) -> None:
    collector.start()
    run = runwatch.init(project="p", url=collector.url, token="not-the-token")
    for i in range(10):
        run.log({"x": float(i)})
    run.finish()
    err = capfd.readouterr().err
    assert "refused the token" in err and "RUNWATCH_TOKEN" in err, err
    assert err.count("refused the token") == 1
    assert list_runs(collector.store) == []
    assert run.spool_path and os.path.isfile(run.spool_path)
    with open(run.spool_path) as f:
        msgs = [json.loads(line) for line in f]
    assert [p["value"] for m in msgs if m["type"] == "metrics" for p in frame_points(m)] == [float(i) for i in range(10)]


def test_finds_the_collector_through_the_discovery_file(collector: Collector, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    collector.start()
    ws = tmp_path / "workspace"
    (ws / ".runwatch").mkdir(parents=True)
    (ws / "src").mkdir()
    (ws / ".runwatch" / "collector.json").write_text(json.dumps({"url": collector.url, "token": collector.token, "pid": collector.proc.pid if collector.proc else 0, "version": "0.1.0", "spoolDir": str(tmp_path / "sp")}))
    monkeypatch.chdir(ws / "src")
    monkeypatch.delenv("RUNWATCH_SPOOL_DIR")
    with runwatch.init(project="p") as run:
        run.log({"x": 2.0})
    assert run.url == collector.url and run.spool_path is None
    assert [p["value"] for p in points_of(read_log(collector.store, run.id), "x")] == [2.0]


def test_the_demo_script_streams_a_complete_run(collector: Collector, tmp_path) -> None:
    collector.start()
    demo = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples", "train_demo.py")
    env = client_env(RUNWATCH_URL=collector.url, RUNWATCH_TOKEN=collector.token)
    env.pop("PYTHONPATH")  # the demo must find the client by itself
    res = subprocess.run([sys.executable, demo, "--steps", "60", "--delay", "0", "--eval-every", "10"], env=env, cwd=str(tmp_path), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    run_id = res.stdout.split()[2]
    events = read_log(collector.store, run_id)
    loss = points_of(events, "train/loss")
    assert [p["step"] for p in loss] == list(range(60))
    assert sum(1 for p in loss if p["value"] != p["value"]) == 1
    assert [p["step"] for p in points_of(events, "val/acc")] == [0, 10, 20, 30, 40, 50, 59]
    assert events[0]["params"]["optimizer.name"] == "adamw"
    assert final_status(events) == "finished"


def test_an_idle_run_stays_alive_through_heartbeats(collector: Collector) -> None:
    collector.heartbeat_timeout = 1.0
    collector.start()
    run = runwatch.init(project="p", url=collector.url, token=collector.token)
    run.log({"x": 1.0}, step=0)
    wait_for(lambda: run.acked_points >= 1, "the first point to be acknowledged")
    # Idle for several heartbeat timeouts: only heartbeats keep the run from being marked crashed.
    import time

    time.sleep(4.0)
    run.log({"x": 2.0}, step=1)
    run.finish()
    events = read_log(collector.store, run.id)
    assert [e.get("status") for e in events if e["type"] == "run.end"] == ["finished"], events
    assert [p["value"] for p in points_of(events, "x")] == [1.0, 2.0]


def test_a_forked_child_neither_logs_nor_ends_the_parents_run(collector: Collector, tmp_path) -> None:
    collector.start()
    code = textwrap.dedent(
        """
        import os, sys, runwatch
        run = runwatch.init(project="p")
        print(run.id, flush=True)
        run.log({"x": 1.0}, step=0)
        pid = os.fork()
        if pid == 0:
            run.log({"x": 99.0}, step=1)  # ignored, warned
            runwatch.finish()  # a no-op in the child
            print("child status", run.status, flush=True)
            sys.exit(0)  # runs atexit in the child: it must not end the parent's run
        _, status = os.waitpid(pid, 0)
        print("child exit", os.waitstatus_to_exitcode(status), flush=True)
        run.log({"x": 2.0}, step=1)
        """
    )
    env = client_env(RUNWATCH_URL=collector.url, RUNWATCH_TOKEN=collector.token)
    res = run_script(code, env, str(tmp_path))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    run_id = lines[0]
    assert "child status forked" in lines and "child exit 0" in lines, res.stdout
    assert "forked child process" in res.stderr
    events = read_log(collector.store, run_id)
    assert [(p["step"], p["value"]) for p in points_of(events, "x")] == [(0, 1.0), (1, 2.0)]
    assert [e["status"] for e in events if e["type"] == "run.end"] == ["finished"]


def test_collector_errors_are_warned_once_per_code_and_the_run_goes_on(collector: Collector, capfd: pytest.CaptureFixture) -> None:
    collector.start()
    run = runwatch.init(project="p", url=collector.url, token=collector.token)
    run.log({"x": 1.0}, step=0)
    # Messages the collector rejects (a list is not a param value); the client never builds these itself.
    run._control({"type": "params", "runId": run.id, "params": {"bad": [1, 2]}})
    run._control({"type": "params", "runId": run.id, "params": {"bad": [3]}})
    run.log({"x": 2.0}, step=1)
    run.finish()
    err = capfd.readouterr().err
    assert err.count("the collector reported bad_message") == 1, err
    events = read_log(collector.store, run.id)
    assert [p["value"] for p in points_of(events, "x")] == [1.0, 2.0]
    assert final_status(events) == "finished"
    assert run.spool_path is None
