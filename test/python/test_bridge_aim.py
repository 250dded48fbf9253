"""The Aim bridge backend with the real `aim` SDK and a local repo: a run streamed by the
real Python client through a headless Runwatch collector is read back with Aim's own
`Repo` API (after Aim's own indexer has indexed it): every point with its step, wall time
and context (`train/`, `val/` prefixes), params, tags and the final status, once, also when
the bridge is SIGKILLed mid-run."""

from __future__ import annotations

import collections
import json
import math
import os
import subprocess
import sys

import pytest

from backend_helpers import CLIENT_DIR, wait_for
from bridge_helpers import assert_mid_run, bridge_offset, expected_points, kill_when_past, norm, sigkill_bridge_then_restart_host, start, stream_and_read_back

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


def aim_run(tmp_path):
    repo = str(tmp_path / "aimrepo")
    return start(str(tmp_path), PLUGIN, {"repo": repo}), lambda run_id, events_of: finished(repo, run_id, events_of)


def test_run_reads_back_from_local_repo(tmp_path) -> None:
    rw, read_back = aim_run(tmp_path)
    s = stream_and_read_back(rw, str(tmp_path), read_back, RW_STEPS="300", RW_STATUS="failed")
    assert sum(expected_points(s.events).values()) == 300 * 2 + 30
    check(s.got, s.events, "failed")
    # Contexts come from the key prefixes.
    assert {(m.name, m.context.to_dict().get("subset")) for m in s.got["run"].metrics()} == {("loss", "train"), ("acc", None), ("loss", "val")}


def test_bridge_sigkill_mid_run(tmp_path) -> None:
    rw, read_back = aim_run(tmp_path)

    def disrupt(run_id: str) -> int:
        kill_when_past(rw, PLUGIN, TRACKER, run_id, 20)
        return bridge_offset(rw, PLUGIN, TRACKER, run_id)

    s = stream_and_read_back(rw, str(tmp_path), read_back, disrupt, RW_STEPS="600", RW_PAUSE="0.02")
    assert_mid_run(s.at, s.events, "bridge was killed")
    check(s.got, s.events, "finished")
    assert "bridge was killed" in rw.stderr()


def test_bridge_sigkill_and_host_restart_mid_run(tmp_path) -> None:
    rw, read_back = aim_run(tmp_path)
    disrupt = lambda run_id: sigkill_bridge_then_restart_host(rw, PLUGIN, TRACKER, run_id)  # noqa: E731
    s = stream_and_read_back(rw, str(tmp_path), read_back, disrupt, RW_STEPS="600", RW_PAUSE="0.02")
    assert_mid_run(s.at, s.events, "host restarted")
    check(s.got, s.events, "finished")


def test_batched_tracking_leaves_what_point_by_point_tracking_leaves(tmp_path) -> None:
    """The bridge updates a sequence's bookkeeping once per metrics event (aim.py `_points`):
    Aim's run tree must hold the same values and the same first/last/min/max (and last step)
    as when every point goes through `_point`, also for NaN, ±Infinity, steps out of order,
    a step sent twice and a batch sent again."""
    sys.path.insert(0, CLIENT_DIR)
    from runwatch.bridge.aim import AimTracker

    events = [
        [("train/loss", 0, 1.0), ("train/loss", 1, 0.5), ("val/acc", 0, "NaN"), ("train/loss", 3, 0.7), ("acc", 2, "Infinity")],
        [("train/loss", 2, 0.2), ("train/loss", 3, 0.1), ("train/loss", 5, "-Infinity"), ("val/acc", 1, 0.3), ("val/acc", 1, 0.4)],
        [("train/loss", 2, 0.2), ("train/loss", 3, 0.1)],  # sent again
        [("acc", 7, 2.0), ("acc", 6, "NaN"), ("acc", 7, 3.0)],
    ]

    def traces(batched: bool):
        tracker = AimTracker({"repo": str(tmp_path / ("batched" if batched else "single"))}, str(tmp_path / "state"))
        r = tracker.open({"runId": f"run-{batched}", "project": "p", "name": "n"}, {})
        refused = []
        for ev in events:
            points = [{"key": k, "step": s, "value": v, "time": 100.0 + s} for k, s, v in ev]
            if batched:
                tracker._points(r, points, lambda k, m: refused.append(k))
            else:
                for p in points:
                    tracker._point(r, p, lambda k, m: refused.append(k))
        tree = {}
        for ctx_id, names in r.meta_run_tree.collect("traces").items():
            for name, info in names.items():
                tree[(ctx_id, name)] = {k: norm(v) if isinstance(v, float) else v for k, v in info.items()}
        values = {}
        for m in r.metrics():
            steps, (vals, _epochs, stamps) = m.data.items_list()
            values[(str(m.context.to_dict()), m.name)] = [(s, norm(v), t) for s, v, t in zip(steps, vals, stamps)]
        tracker.close(r)
        return tree, values, refused

    assert traces(True) == traces(False)



def test_a_run_shown_with_its_end_status_is_no_longer_active(tmp_path) -> None:
    """A reader polling Aim (in its own process, as people do) between the bridge applying
    `run.end` and closing the run must not see the end status on a run Aim calls active."""
    sys.path.insert(0, CLIENT_DIR)
    from runwatch.bridge.aim import AimTracker

    repo = str(tmp_path / "aimrepo")
    here = os.path.dirname(os.path.abspath(__file__))
    reader = f"import sys, json; sys.path[:0] = {[CLIENT_DIR, here]!r}; from test_bridge_aim import read_aim; g = read_aim({repo!r}, 'run-end'); print(json.dumps([g['status'], g['active']]))"

    def seen():
        out = subprocess.run([sys.executable, "-c", reader], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return tuple(json.loads(out.stdout))

    tracker = AimTracker({"repo": repo}, str(tmp_path / "state"))
    run = {"runId": "run-end", "project": "p", "name": "n"}
    r = tracker.open(run, {})
    try:
        tracker.apply(r, {"type": "metrics", "points": [{"key": "loss", "step": 0, "value": 1.0, "time": 100.0}]}, run, {}, lambda k, m: None)
        assert seen() == (None, True)
        tracker.apply(r, {"type": "run.end", "status": "failed", "time": 200.0}, run, {}, lambda k, m: None)
        assert seen() == ("failed", False), "the end status is visible on a run Aim still calls active"
    finally:
        tracker.close(r)
    assert seen() == ("failed", False)
