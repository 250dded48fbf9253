"""VS Code restarted: its collector comes back on another port with another token and rewrites
the workspace's discovery file. A run that found the collector there follows it, and every point
arrives exactly once."""

from __future__ import annotations

import json
import os
import socket

import pytest

import runwatch
from runwatch import _discovery
from helpers import Collector, assert_steps_exactly_once, final_status, points_of, read_log, wait_for


@pytest.fixture
def workspace(tmp_path, monkeypatch: pytest.MonkeyPatch):
    ws = tmp_path / "workspace"
    (ws / "sub").mkdir(parents=True)
    monkeypatch.chdir(ws / "sub")  # found walking up from the cwd
    monkeypatch.setenv("RUNWATCH_GRACE_SECONDS", "600")  # never give up and spool in these tests
    return ws


def _collector(ws, tmp_path, token: str) -> Collector:
    logdir = tmp_path / "collector-logs"
    logdir.mkdir(exist_ok=True)
    # The CLI writes <store>/collector.json with its own pid, as the extension host does.
    return Collector(store=str(ws / ".runwatch"), logdir=str(logdir), token=token)


def _assert_exactly_once(events: list, n: int) -> None:
    assert_steps_exactly_once(events, "x", range(n))
    assert sorted((p["step"], p["value"]) for p in points_of(events, "x")) == [(i, i * 0.5) for i in range(n)]
    assert sum(1 for e in events if e["type"] == "run.start") == 1


def _restart_test(ws, tmp_path, same_port: bool) -> None:
    c = _collector(ws, tmp_path, token="token-one")
    try:
        c.start()
        first_url = c.url
        run = runwatch.init(project="p", name="follows", flush_timeout=120)
        assert run.url == first_url and run._follow == str(ws / ".runwatch" / "collector.json")
        for i in range(200):
            run.log({"x": i * 0.5}, step=i)
        wait_for(lambda: run.acked_points >= 200, "the first points to be acknowledged")
        c.kill9()  # like SIGKILL of the extension host: the discovery file stays, its pid is dead
        for i in range(200, 400):
            run.log({"x": i * 0.5}, step=i)
        wait_for(lambda: run._ws is None, "the client to notice the collector is gone")
        blocker = None
        if not same_port:
            # The collector keeps its port when it can: take the old one meanwhile to force another.
            blocker = socket.socket()
            blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past the old connections' TIME_WAIT
            blocker.bind(("127.0.0.1", c.port))
            blocker.listen(1)
            c.port = 0
        c.token = "token-two"  # a new session, a new token
        try:
            c.start()
        finally:
            if blocker is not None:
                blocker.close()
        for i in range(400, 600):
            run.log({"x": i * 0.5}, step=i)
        run.finish()
        assert run.status == "finished"
        assert run.spool_path is None, "the run should have followed the collector, not spooled"
        assert run.url == c.url and run._token == "token-two"
        if not same_port:
            assert run.url != first_url
    finally:
        c.stop()
    events = read_log(c.store, run.id)
    _assert_exactly_once(events, 600)
    assert final_status(events) == "finished"


def test_collector_back_on_another_port_with_another_token_is_followed(workspace, tmp_path) -> None:
    _restart_test(workspace, tmp_path, same_port=False)


def test_collector_back_on_the_same_port_with_another_token_is_followed(workspace, tmp_path) -> None:
    _restart_test(workspace, tmp_path, same_port=True)


def _write_file(ws, url: str, token: str, pid: int) -> str:
    d = ws / ".runwatch"
    d.mkdir(exist_ok=True)
    path = d / "collector.json"
    path.write_text(json.dumps({"url": url, "token": token, "pid": pid, "version": "0", "spoolDir": str(d / "spool")}))
    return str(path)


def test_what_is_followed(workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write_file(workspace, "ws://127.0.0.1:1", "t1", os.getpid())
    assert _discovery.resolve().follow == path
    # A VS Code terminal's variables naming the same collector as the file: followed.
    monkeypatch.setenv("RUNWATCH_URL", "ws://127.0.0.1:1")
    monkeypatch.setenv("RUNWATCH_TOKEN", "t1")
    assert _discovery.resolve().follow == path
    # ...naming another collector (a terminal opened before VS Code reloaded): still followed; the
    # environment's collector is tried first, the file's when that one cannot be reached.
    monkeypatch.setenv("RUNWATCH_URL", "ws://127.0.0.1:2")
    target = _discovery.resolve()
    assert target.follow == path and target.url == "ws://127.0.0.1:2"
    monkeypatch.delenv("RUNWATCH_URL")
    monkeypatch.delenv("RUNWATCH_TOKEN")
    # An explicit url= is the caller's choice: never replaced.
    assert _discovery.resolve(url="ws://127.0.0.1:1", token="t1").follow is None


def test_moved_ignores_a_dead_collector_and_an_unchanged_file(workspace) -> None:
    path = _write_file(workspace, "ws://127.0.0.1:1", "t1", os.getpid())
    assert _discovery.moved(path, "ws://127.0.0.1:1", "t1") is None
    assert _discovery.moved(path, "ws://127.0.0.1:9", "t0") == ("ws://127.0.0.1:1", "t1")
    dead = 2**22 + 12345  # above the default pid_max: no such process
    _write_file(workspace, "ws://127.0.0.1:3", "t3", dead)
    assert _discovery.moved(path, "ws://127.0.0.1:1", "t1") is None
    (workspace / ".runwatch" / "collector.json").write_text("{not json")
    assert _discovery.moved(path, "ws://127.0.0.1:1", "t1") is None
