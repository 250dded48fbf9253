"""A client that reconnects with nothing new to send (every point already acknowledged) keeps
its run alive with heartbeats alone: the collector must not mark it crashed while it idles."""

from __future__ import annotations

import time

import runwatch
from helpers import Collector, final_status, read_log, wait_for


def test_reconnected_idle_client_keeps_its_run_running(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RUNWATCH_GRACE_SECONDS", "600")
    logdir = tmp_path / "logs"
    logdir.mkdir()
    store = tmp_path / "store"
    c = Collector(store=str(store), logdir=str(logdir), token="hb-token", heartbeat_timeout=2.0)
    c.start()
    run = runwatch.init(project="p", name="idle", url=c.url, token=c.token, flush_timeout=60)
    try:
        for i in range(50):
            run.log({"x": float(i)}, step=i)
        wait_for(lambda: run.acked_points >= 50, "the points to be acknowledged")
        c.kill9()
        wait_for(lambda: run._ws is None, "the client to notice the collector is gone")
        c.start()  # same port and token: the client reconnects with nothing left to resend
        wait_for(lambda: run._ws is not None, "the client to reconnect")
        # Three heartbeat timeouts of nothing but heartbeats.
        time.sleep(6.5)
        events = read_log(str(store), run.id)
        assert final_status(events) is None, f"the idle run was ended: {final_status(events)}"
    finally:
        run.finish()
        c.stop()
    assert final_status(read_log(str(store), run.id)) == "finished"


def test_heartbeat_names_its_run() -> None:
    import json

    from runwatch._protocol import heartbeat

    assert json.loads(heartbeat(1.5, ("run-a",))) == {"type": "heartbeat", "time": 1.5, "runIds": ["run-a"]}
    assert json.loads(heartbeat(1.5)) == {"type": "heartbeat", "time": 1.5}
