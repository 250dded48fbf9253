"""Nothing lost on a bad day, against the real collector: a value that cannot be encoded, a client
left with an old address after a reload, a kill -9 with no collector, a stalled collector, a
second Ctrl+C while finish() waits."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from typing import List

import pytest

import runwatch
from helpers import (
    Collector,
    assert_steps_exactly_once,
    client_env,
    final_status,
    import_spool,
    points_of,
    read_log,
    spool_files,
    step_counts,
    wait_for,
)


def _popen(code: str, env: dict, cwd: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=30)


def test_a_value_that_cannot_be_encoded_is_reported_once_with_its_key_and_the_sender_goes_on(collector: Collector, capfd: pytest.CaptureFixture) -> None:
    collector.start()
    run = runwatch.init(project="p", name="huge-int", url=collector.url, token=collector.token)
    for i in range(1_000):
        run.log({"x": i * 0.5, "big": 10**5000 if i % 10 == 0 else i}, step=i)
    run.finish()
    err = capfd.readouterr().err
    assert run.status == "finished", err
    events = read_log(collector.store, run.id)
    assert final_status(events) == "finished", err
    assert_steps_exactly_once(events, "x", range(1_000))
    assert sorted(step_counts(events, "big")) == [i for i in range(1_000) if i % 10], "the other values of the key are kept"
    lines = [line for line in err.splitlines() if "'big'" in line]
    assert len(lines) == 1 and "too large to encode" in lines[0], err
    assert "internal error" not in err, err


def test_a_client_with_an_old_address_follows_the_discovery_file_to_the_collector_that_came_back(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path / "workspace"
    (ws / "sub").mkdir(parents=True)
    logdir = tmp_path / "logs"
    logdir.mkdir()
    # The CLI writes <store>/collector.json: the workspace's discovery file, as VS Code does.
    c = Collector(store=str(ws / ".runwatch"), logdir=str(logdir), token="before-reload")
    try:
        c.start()
        old_url, old_token = c.url, c.token
        c.kill9()  # the window reloads...
        blocker = socket.socket()  # the old port is taken meanwhile (the collector would reuse it)
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past the old connections' TIME_WAIT
        blocker.bind(("127.0.0.1", c.port))
        blocker.listen(1)
        c.port, c.token = 0, "after-reload"
        try:
            c.start()  # ...and its collector comes back on another port with another token
        finally:
            blocker.close()
        assert c.url != old_url
        # A terminal opened before the reload still has the old variables.
        monkeypatch.setenv("RUNWATCH_URL", old_url)
        monkeypatch.setenv("RUNWATCH_TOKEN", old_token)
        monkeypatch.setenv("RUNWATCH_GRACE_SECONDS", "600")
        monkeypatch.chdir(ws / "sub")
        run = runwatch.init(project="p", name="after-reload", flush_timeout=120)
        for i in range(500):
            run.log({"x": i * 0.5}, step=i)
        run.finish()
        assert run.url == c.url and run._token == "after-reload"
        assert run.spool_path is None, "the run should have reached the new collector, not stayed in the spool"
    finally:
        c.stop()
    events = read_log(c.store, run.id)
    assert_steps_exactly_once(events, "x", range(500))
    assert final_status(events) == "finished"


def test_with_no_collector_a_kill_9_loses_only_the_last_moments(tmp_path) -> None:
    spool = str(tmp_path / "spool")
    code = """
        import runwatch, sys, time
        run = runwatch.init(project="p", name="no-collector")
        print("RUN", run.id, flush=True)
        i = 0
        while True:
            run.log({"x": i * 0.5}, step=i)
            i += 1
            if i % 100 == 0:
                print("STEP", i, time.monotonic(), flush=True)
                time.sleep(0.002)
        """
    # A collector that is known but gone: the client keeps trying, and spools as it goes.
    env = client_env(RUNWATCH_URL="ws://127.0.0.1:9", RUNWATCH_TOKEN="t", RUNWATCH_SPOOL_DIR=spool, RUNWATCH_GRACE_SECONDS="600")
    proc = _popen(code, env, str(tmp_path))
    run_id = ""
    logged: List[tuple] = []  # (steps logged, monotonic time)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            parts = line.split()
            if parts[0] == "RUN":
                run_id = parts[1]
            elif parts[0] == "STEP":
                logged.append((int(parts[1]), float(parts[2])))
                if logged[-1][0] >= 20_000:
                    break
        killed_at = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        _stop(proc)
    # Everything logged more than 0.25 s before the kill must be in the spool (the sender wakes every 20 ms).
    safe = max(n for n, t in logged if t <= killed_at - 0.25)
    [part] = spool_files(spool)
    assert part.endswith(f"{run_id}.{proc.pid}.jsonl.part"), part
    store = str(tmp_path / "store")
    [res] = import_spool(store, spool, [part], part_quiet_ms=0)
    assert res["moved"] is True and res["badLines"] == 0, res
    events = read_log(store, run_id)
    counts = step_counts(events, "x")
    assert_steps_exactly_once(events, "x", range(safe))
    assert final_status(events) == "crashed"
    lost = logged[-1][0] - max(counts)
    print(f"kill -9 with no collector: {len(counts)} of about {logged[-1][0]} steps kept; {safe} logged 0.25 s before the kill")
    assert lost < 20_000


def test_a_stalled_collector_bounds_client_memory_and_every_point_arrives_once(collector: Collector, tmp_path) -> None:
    collector.start()
    code = """
        import runwatch, time
        def rss(field):
            with open("/proc/self/status") as f:
                return next(int(l.split()[1]) for l in f if l.startswith(field + ":"))
        run = runwatch.init(project="p", name="stalled")
        print("RUN", run.id, flush=True)
        for i in range(20_000):
            run.log({"x": i * 0.5, "y": -float(i)}, step=i)
        while run.acked_points < 40_000:
            time.sleep(0.01)
        print("BASE", rss("VmRSS"), flush=True)
        input()  # the test stops the collector
        i, t0 = 20_000, time.monotonic()
        while time.monotonic() - t0 < 4.0:
            run.log({"x": i * 0.5, "y": -float(i)}, step=i)
            i += 1
            if i % 200 == 0:
                time.sleep(0.001)
        time.sleep(0.5)
        print("PEAK", rss("VmHWM"), i, flush=True)
        input()  # the test resumes the collector
        run.finish()
        print("STATUS", run.status, run.spool_path, flush=True)
        """
    env = client_env(RUNWATCH_URL=collector.url, RUNWATCH_TOKEN=collector.token, RUNWATCH_MAX_BUFFER_MB="8")
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=str(tmp_path), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert collector.proc is not None
    try:
        assert proc.stdout is not None and proc.stdin is not None
        run_id = proc.stdout.readline().split()[1]
        base = int(proc.stdout.readline().split()[1])
        collector.proc.send_signal(signal.SIGSTOP)
        proc.stdin.write("\n")
        proc.stdin.flush()
        _, peak, n = proc.stdout.readline().split()
        collector.proc.send_signal(signal.SIGCONT)
        proc.stdin.write("\n")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=300)
    finally:
        collector.proc.send_signal(signal.SIGCONT)
        _stop(proc)
    assert proc.returncode == 0, err
    grew_mib = (int(peak) - base) / 1024
    print(f"stalled collector: {int(n) - 20_000} calls in 4 s, RSS grew {grew_mib:.1f} MiB (bound 8 MiB)\n{err}")
    assert int(n) > 200_000, "the client logged fast"
    assert grew_mib < 8 + 40, f"client memory grew {grew_mib:.1f} MiB with an 8 MiB bound\n{err}"
    assert "STATUS finished None" in out, out + err
    assert err.count("further data waits in") == 1, err
    events = read_log(collector.store, run_id)
    assert_steps_exactly_once(events, "x", range(int(n)))
    assert_steps_exactly_once(events, "y", range(int(n)))
    assert final_status(events) == "finished"


def test_a_second_ctrl_c_while_finish_waits_spools_everything_unacknowledged(collector: Collector, tmp_path) -> None:
    collector.start()
    spool = str(tmp_path / "spool")
    code = """
        import runwatch, time
        i = 0
        try:
            with runwatch.init(project="p", name="ctrl-c") as run:
                print("RUN", run.id, flush=True)
                while True:
                    run.log({"x": i * 0.5}, step=i)
                    i += 1
                    if i == 5_000:
                        print("READY", flush=True)
                    if i % 100 == 0:
                        time.sleep(0.001)
        finally:
            print("LOGGED", i, run.status, flush=True)
        """
    env = client_env(RUNWATCH_URL=collector.url, RUNWATCH_TOKEN=collector.token, RUNWATCH_SPOOL_DIR=spool)
    proc = _popen(code, env, str(tmp_path))
    assert collector.proc is not None
    try:
        assert proc.stdout is not None
        run_id = proc.stdout.readline().split()[1]
        assert proc.stdout.readline().strip() == "READY"
        collector.proc.send_signal(signal.SIGSTOP)  # the collector stalls: finish() will wait
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)  # the first Ctrl+C ends the loop; finish("killed") waits
        time.sleep(1.5)
        assert proc.poll() is None, "finish() should be waiting for the stalled collector"
        proc.send_signal(signal.SIGINT)  # the second one
        out, err = proc.communicate(timeout=60)
    finally:
        collector.proc.send_signal(signal.SIGCONT)
        _stop(proc)
    n = int(out.split("LOGGED")[1].split()[0])
    assert "KeyboardInterrupt" in err, err
    files = spool_files(spool)
    assert len(files) == 1 and files[0].endswith(f"{run_id}.jsonl"), (files, err)
    assert f"spooling this run to {files[0]}" in err, err
    collector.stop()  # what it held when it stalled is durable; the rest comes from the spool
    import_spool(collector.store, spool, files)
    events = read_log(collector.store, run_id)
    assert_steps_exactly_once(events, "x", range(n))
    assert final_status(events) == "killed"
