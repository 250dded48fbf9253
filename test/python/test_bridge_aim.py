"""The Aim bridge backend with the real `aim` SDK and a local repo: a run streamed by the
real Python client through a headless Runwatch collector is read back with Aim's own
`Repo` API (after Aim's own indexer has indexed it): every point with its step, wall time
and context (`train/`, `val/` prefixes), params, tags and the final status, once, also when
the bridge is SIGKILLed mid-run."""

from __future__ import annotations

import collections
import math
import os

import pytest

from backend_helpers import wait_for
from bridge_helpers import TRAIN, bridge_offset, expected_points, kill_when_past, norm, read_id, read_log, sigkill_bridge_then_restart_host, start

pytest.importorskip("aim")

PLUGIN = "runwatch.aim"
TRACKER = "aim"


def read_aim(repo_path: str, run_hash_of: str):
    from aim import Repo
    from aim.sdk.index_manager import RepoIndexManager

    if not os.path.isdir(os.path.join(repo_path, ".aim", "meta", "index")):
        return None
    repo = Repo.from_path(repo_path)
    im = RepoIndexManager.get_index_manager(repo)
    for h in repo.list_all_runs():
        im.index(h)
    runs = [r for r in repo.iter_runs() if r.get("runwatch_run_id") == run_hash_of]
    assert len(runs) <= 1, "one Aim run per Runwatch run"
    if not runs:
        return None
    r = runs[0]
    points = collections.Counter()
    times = {}
    for m in r.metrics():
        ctx = m.context.to_dict()
        key = f"{ctx['subset']}/{m.name}" if ctx.get("subset") else m.name
        steps, (values, _epochs, stamps) = m.data.items_list()
        for s, v, t in zip(steps, values, stamps):
            points[(key, s, norm(v))] += 1
            times[(key, s)] = t
    return {
        "run": r,
        "points": points,
        "times": times,
        "params": r.get("hparams") or {},
        "tags": sorted(getattr(t, "name", t) for t in r.props.tags),
        "status": r.get("runwatch_status"),
        "experiment": r.experiment,
        "name": r.name,
        "active": r.active,
    }


def finished(repo: str, run_id: str, events_of):
    def done():
        got = read_aim(repo, run_id)
        return got if got and got["status"] and got["points"] == expected_points(events_of()) else None

    return wait_for(done, f"the Aim run of {run_id} to hold every point and its status", timeout=240)


def check(got, events, status: str) -> None:
    assert got["points"] == expected_points(events)
    for ev in events:
        for p in ev.get("points", []) if ev["type"] == "metrics" else []:
            assert math.isclose(got["times"][(p["key"], p["step"])], p["time"], abs_tol=1e-6), "wall time is the point's own"
    assert got["params"] == {"lr": 0.01, "batch": 32, "arch": "resnet", "flag": True, "epochs": 3}
    assert got["tags"] == ["stage:dev", "team:vision"]
    assert got["status"] == status
    assert got["experiment"] == "rw-bridge" and got["name"] == "trial-1"
    assert got["active"] is False


def test_run_reads_back_from_local_repo(tmp_path) -> None:
    repo = str(tmp_path / "aimrepo")
    rw = start(str(tmp_path), PLUGIN, {"repo": repo})
    try:
        p = rw.script(TRAIN, cwd=str(tmp_path), OUT_ID=str(tmp_path / "run.id"), RW_STEPS="300", RW_STATUS="failed")
        assert p.wait(timeout=240) == 0, rw.script_output()
        run_id = read_id(str(tmp_path / "run.id"))
        got = finished(repo, run_id, lambda: read_log(rw.store, run_id))
    finally:
        rw.stop()
    events = read_log(rw.store, run_id)
    assert sum(expected_points(events).values()) == 300 * 2 + 30
    check(got, events, "failed")
    # Contexts come from the key prefixes.
    assert {(m.name, m.context.to_dict().get("subset")) for m in got["run"].metrics()} == {("loss", "train"), ("acc", None), ("loss", "val")}


def test_bridge_sigkill_mid_run(tmp_path) -> None:
    repo = str(tmp_path / "aimrepo")
    rw = start(str(tmp_path), PLUGIN, {"repo": repo})
    try:
        p = rw.script(TRAIN, cwd=str(tmp_path), OUT_ID=str(tmp_path / "run.id"), RW_STEPS="600", RW_PAUSE="0.02")
        run_id = read_id(str(tmp_path / "run.id"))
        kill_when_past(rw, PLUGIN, "aim", run_id, 20)
        at_kill = bridge_offset(rw, PLUGIN, TRACKER, run_id)
        assert p.wait(timeout=240) == 0, rw.script_output()
        got = finished(repo, run_id, lambda: read_log(rw.store, run_id))
    finally:
        rw.stop()
    assert at_kill < len(read_log(rw.store, run_id)) - 1, "the bridge was killed before it had delivered the run"
    check(got, read_log(rw.store, run_id), "finished")
    assert "bridge was killed" in rw.stderr()


def test_bridge_sigkill_and_host_restart_mid_run(tmp_path) -> None:
    repo = str(tmp_path / "aimrepo")
    rw = start(str(tmp_path), PLUGIN, {"repo": repo})
    try:
        p = rw.script(TRAIN, cwd=str(tmp_path), OUT_ID=str(tmp_path / "run.id"), RW_STEPS="600", RW_PAUSE="0.02")
        run_id = read_id(str(tmp_path / "run.id"))
        at_restart = sigkill_bridge_then_restart_host(rw, PLUGIN, TRACKER, run_id)
        assert p.wait(timeout=240) == 0, rw.script_output()
        got = finished(repo, run_id, lambda: read_log(rw.store, run_id))
    finally:
        rw.stop()
    assert at_restart < len(read_log(rw.store, run_id)) - 1, "the host restarted before the run was delivered"
    check(got, read_log(rw.store, run_id), "finished")
