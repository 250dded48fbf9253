"""The ClearML bridge backend with the real `clearml` SDK in offline mode: a run streamed
by the real Python client through a headless Runwatch collector is read back from the
offline session folders the SDK wrote (task.json, metrics.jsonl): every scalar (title and
series from the key's prefix, iteration, value) and hyperparameter once, the tags, the
task's name and final status, also when the bridge is SIGKILLed mid-run."""

from __future__ import annotations

import collections
import glob
import json
import math
import os

import pytest

from backend_helpers import wait_for
from bridge_helpers import assert_mid_run, bridge_offset, expected_points, kill_when_past, norm, sigkill_bridge_then_restart_host, start, stream_and_read_back

pytest.importorskip("clearml")

PLUGIN = "runwatch.clearml"
TRACKER = "clearml"


def bridge_sessions(store: str, run_id: str):
    """The offline session folders the bridge lists for the run, in the order it wrote them."""
    path = os.path.join(store, "backends", "plugins", PLUGIN, f"bridge-{TRACKER}", "runs", f"{run_id}.json")
    try:
        with open(path) as f:
            return list(json.load(f).get("offlineSessions") or [])
    except (OSError, ValueError):
        return []


def sessions(cache: str, run_id: str, store: str):
    """(folder, task.json) of every offline session tagged with the run, in the bridge's order
    (a folder the bridge does not list comes first, and fails `check`)."""
    out = []
    for task_json in glob.glob(os.path.join(cache, "offline", "*", "task.json")):
        try:
            with open(task_json) as f:
                task = json.load(f)
        except ValueError:  # being written now
            continue
        if f"runwatch:{run_id}" in (task.get("tags") or []):
            out.append((os.path.dirname(task_json), task))
    order = bridge_sessions(store, run_id)
    return sorted(out, key=lambda s: order.index(s[0]) if s[0] in order else -1)


def scalars(folder: str) -> collections.Counter:
    got: collections.Counter = collections.Counter()
    path = os.path.join(folder, "metrics.jsonl")
    if not os.path.exists(path):
        return got
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                evs = json.loads(line, parse_constant=lambda c: float(c.replace("Infinity", "inf")))
            except ValueError:  # a line being written now
                continue
            for ev in evs:
                if ev.get("type") == "training_stats_scalar":
                    title, series = ev["metric"], ev["variant"]
                    key = title if title == series else f"{title}/{series}"
                    got[(key, ev["iter"], norm(ev["value"]))] += 1
    return got


def expected(events) -> collections.Counter:
    """ClearML cannot store NaN or ±Infinity: the bridge skips those points (and says so once per key)."""
    return collections.Counter({p: n for p, n in expected_points(events).items() if isinstance(p[2], float) and math.isfinite(p[2])})


def finished(cache: str, run_id: str, store: str, events_of):
    """Waits until the sessions hold every scalar (at least once) and the last one the final
    status; `check` then says whether any is there twice."""

    def done():
        ss = sessions(cache, run_id, store)
        if not ss:
            return None
        got = sum((scalars(d) for d, _ in ss), collections.Counter())
        last = ss[-1][1]
        ended = "status" in (last.get("hyperparams") or {}).get("Runwatch", {})
        return (ss, got) if ended and not expected(events_of()) - got else None

    return wait_for(done, f"the ClearML session(s) of {run_id} to hold every scalar and the final status", timeout=240)


def check(ss, got, events, status: str, store: str, run_id: str) -> None:
    twice = {p: n for p, n in got.items() if n > 1}
    assert not twice, f"{len(twice)} scalars in the sessions more than once, e.g. {sorted(twice.items())[:3]}"
    assert got == expected(events)
    assert [d for d, _ in ss] == bridge_sessions(store, run_id), "every session is one the bridge lists, in its order"
    for d, _ in ss:
        with open(os.path.join(d, "metrics.jsonl"), "rb") as f:
            data = f.read()
        assert not data or data.endswith(b"\n"), f"{d}: metrics.jsonl ends inside a line (ClearML's import would resend the line before)"
    task = ss[-1][1]
    general = task["hyperparams"]["General"]
    assert {k: v["value"] for k, v in general.items()} == {"lr": "0.01", "batch": "32", "arch": "resnet", "flag": "True", "epochs": "3"}
    assert task["hyperparams"]["Runwatch"]["status"]["value"] == status
    assert set(task["tags"]) >= {"team:vision", "stage:dev"}
    assert task["name"] == "trial-1" and task["project_name"] == "rw-bridge"
    for _, t in ss:
        script = t.get("script") or {}
        found = {k: script[k] for k in ("entry_point", "repository", "diff", "requirements") if script.get(k)}
        assert not found, f"the task's script is the bridge's own process, no part of the run: {str(found)[:300]}"


def clearml_run(tmp_path):
    cache = str(tmp_path / "clearml-cache")
    rw = start(str(tmp_path), PLUGIN, {"mode": "offline"}, env={"CLEARML_CACHE_DIR": cache})
    return rw, lambda run_id, events_of: finished(cache, run_id, rw.store, events_of)


def test_run_reads_back_from_offline_session(tmp_path) -> None:
    rw, read_back = clearml_run(tmp_path)
    s = stream_and_read_back(rw, str(tmp_path), read_back, RW_STEPS="300", RW_STATUS="failed")
    ss, got = s.got
    assert sum(expected(s.events).values()) == 300 * 2 + 30 - 3  # NaN, Infinity, -Infinity skipped
    check(ss, got, s.events, "failed", rw.store, s.run_id)
    assert len(ss) == 1
    log = rw.stderr()
    assert log.count('"train/loss" skipped: ClearML cannot store') == 1, "the refused key is reported once"


def test_bridge_sigkill_mid_run(tmp_path) -> None:
    rw, read_back = clearml_run(tmp_path)

    def disrupt(run_id: str) -> int:
        kill_when_past(rw, PLUGIN, TRACKER, run_id, 20)
        return bridge_offset(rw, PLUGIN, TRACKER, run_id)

    s = stream_and_read_back(rw, str(tmp_path), read_back, disrupt, RW_STEPS="600", RW_PAUSE="0.02")
    ss, got = s.got
    assert_mid_run(s.at, s.events, "bridge was killed")
    check(ss, got, s.events, "finished", rw.store, s.run_id)
    assert len(ss) >= 2, "the killed bridge's session and the next one's"
    assert "bridge was killed" in rw.stderr()


def test_bridge_sigkill_and_host_restart_mid_run(tmp_path) -> None:
    rw, read_back = clearml_run(tmp_path)
    disrupt = lambda run_id: sigkill_bridge_then_restart_host(rw, PLUGIN, TRACKER, run_id)  # noqa: E731
    s = stream_and_read_back(rw, str(tmp_path), read_back, disrupt, RW_STEPS="600", RW_PAUSE="0.02")
    ss, got = s.got
    assert_mid_run(s.at, s.events, "host restarted")
    check(ss, got, s.events, "finished", rw.store, s.run_id)
    assert len(ss) >= 3


def test_torn_last_line_is_cut_off_and_not_counted(tmp_path, monkeypatch) -> None:
    from backend_helpers import CLIENT_DIR

    monkeypatch.syspath_prepend(CLIENT_DIR)
    from runwatch.bridge.clearml import written_scalars

    folder = tmp_path / "offline-x"
    folder.mkdir()
    ev = lambda i: {"type": "training_stats_scalar", "metric": "train", "variant": "loss", "iter": i, "value": 1.0}  # noqa: E731
    whole = (json.dumps([ev(0), ev(1)]) + "\n").encode()
    torn = json.dumps([ev(2), ev(3)]).encode()[:-7]
    (folder / "metrics.jsonl").write_bytes(whole + torn)
    assert written_scalars(str(folder)) == {("train", "loss", 0), ("train", "loss", 1)}
    assert (folder / "metrics.jsonl").read_bytes() == whole + torn, "read only unless repairing"
    assert written_scalars(str(folder), repair=True) == {("train", "loss", 0), ("train", "loss", 1)}
    assert (folder / "metrics.jsonl").read_bytes() == whole
