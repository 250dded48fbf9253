"""The MLflow backend against a real `mlflow server` (SQLite store, served artifacts):
a run streamed by the real Python client through a headless Runwatch collector is read
back with MLflow's own client, every point, param, tag, status and artifact once, also
across an MLflow outage (between requests and in the middle of one) and a collector
restart.

MLflow's SQL store drops a metric row identical to one it holds, so reading back alone
cannot show a point sent twice: Runwatch talks to the server through a counting proxy
(backend_helpers.CountingProxy) that records every metric of every log-batch the
server accepted, and each point must be there exactly once."""

from __future__ import annotations

import collections
import math
import os
import signal
import subprocess
import tempfile
from typing import Dict, Iterator, List, Optional, Tuple

import pytest

from backend_helpers import CountingProxy, MlflowServer, Runwatch, WAIT_TIMEOUT, ms, points_of, read_log, same_float, wait_for

mlflow = pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient  # noqa: E402

MAX = 1.7976931348623157e308  # MLflow's SQL store keeps ±Infinity as ±max double


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[MlflowServer]:
    s = MlflowServer(str(tmp_path_factory.mktemp("mlflow")))
    try:
        yield s.start()
    finally:
        s.stop()


@pytest.fixture
def proxy(server: MlflowServer) -> Iterator[CountingProxy]:
    p = CountingProxy(server.port)
    try:
        yield p
    finally:
        p.close()


def mlflow_backends(uri: str, experiment: str = "") -> dict:
    return {"selected": ["runwatch.mlflow"], "config": {"runwatch.mlflow": {"trackingUri": uri, "experimentName": experiment}}}


def find_run(client: MlflowClient, experiment: str, runwatch_id: str):
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return []
    return client.search_runs([exp.experiment_id], filter_string=f"tags.`runwatch.runId` = '{runwatch_id}'")


def wait_finished(client: MlflowClient, experiment: str, runwatch_id: str, rw: Runwatch, status: str = "FINISHED"):
    def done():
        runs = find_run(client, experiment, runwatch_id)
        return runs[0] if runs and runs[0].info.status == status else None

    try:
        return wait_for(done, f"MLflow run of {runwatch_id} to be {status}")
    except AssertionError:
        raise AssertionError(f"collector log:\n{rw.stderr()[-4000:]}")


def expected_history(events, key: str) -> List[Tuple[int, int, float]]:
    out = []
    for p in points_of(events, key):
        v = p["value"]
        if math.isinf(v):
            v = MAX if v > 0 else -MAX
        out.append((p["step"], ms(p["time"]), v))
    return out


def assert_history(client: MlflowClient, mlflow_run_id: str, key: str, expected) -> None:
    got = [(m.step, m.timestamp, m.value) for m in client.get_metric_history(mlflow_run_id, key)]
    assert len(got) == len(expected), f"{key}: {len(got)} points in MLflow, {len(expected)} logged"
    norm = lambda xs: collections.Counter((s, t, "nan" if math.isnan(v) else v) for s, t, v in xs)  # noqa: E731
    assert norm(got) == norm(expected), f"{key}: points differ"


def _norm(v) -> object:
    if isinstance(v, str):  # protobuf JSON: "NaN", "Infinity", "-Infinity"
        v = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[v]
    return "nan" if math.isnan(v) else float(v)


def assert_accepted_once(proxy: CountingProxy, mlflow_run_id: str, events, keys: Optional[Dict[str, str]] = None) -> int:
    """Every metric point of the run log went through a log-batch the server accepted, exactly once.

    `keys` maps Runwatch keys to the names they have in MLflow when they differ. Returns the point count."""
    keys = keys or {}
    expected = collections.Counter((keys.get(p["key"], p["key"]), p["step"], ms(p["time"]), _norm(p["value"])) for p in points_of(events))
    got = collections.Counter((k, s, t, _norm(v)) for k, s, t, v in proxy.accepted_points(mlflow_run_id))
    repeated = {p: n for p, n in got.items() if n > 1}
    assert not repeated, f"{sum(n - 1 for n in repeated.values())} points accepted more than once, e.g. {sorted(repeated.items())[:3]}"
    assert got == expected, f"accepted {sum(got.values())} points, logged {sum(expected.values())}; missing {list((expected - got).items())[:3]}, extra {list((got - expected).items())[:3]}"
    return sum(got.values())


def read_run_id(path: str) -> str:
    return wait_for(lambda: open(path).read().strip() if os.path.exists(path) and open(path).read().endswith("\n") else None, f"{path}")


TRAIN = r'''
import math, os, sys, time
import runwatch
out = sys.argv[1] if len(sys.argv) > 1 else os.environ["OUT"]
art = os.path.join(out, "model.txt")
with open(art, "w") as f:
    f.write("weights " * 100)
parent = runwatch.init(project="rw-mlflow", name="sweep", config={"lr": 0.01, "batch": 32, "arch": "resnet", "flag": True, "long": "x" * 7000}, tags={"team": "vision"})
with open(os.path.join(out, "parent.id"), "w") as f:
    f.write(parent.id + "\n")
child = runwatch.init(project="rw-mlflow", name="trial-1", config={"seed": 7}, parent_run_id=parent.id)
with open(os.path.join(out, "child.id"), "w") as f:
    f.write(child.id + "\n")
child.set_tags({"stage": "dev"})
for step in range(1200):
    loss = 1.0 / (step + 1) + 1e-12 * step
    if step == 5: loss = float("nan")
    if step == 6: loss = float("inf")
    if step == 7: loss = float("-inf")
    child.log({"train/loss": loss, "acc": step / 1200.0, "bad:key": 0.1 * step}, step=step)
child.log_params({"epochs": 3})
child.log_artifact(art, name="ckpt/model.txt")
child.finish()
parent.log({"best": 0.25}, step=0)
parent.finish(status="failed")
'''


def test_run_streamed_through_runwatch_reads_back_exactly(server: MlflowServer, proxy: CountingProxy, tmp_path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(git + ["init", "-q"], cwd=repo, check=True)
    (repo / "train.py").write_text("print('hi')\n")
    subprocess.run(git + ["add", "train.py"], cwd=repo, check=True)
    subprocess.run(git + ["commit", "-qm", "init"], cwd=repo, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()

    rw = Runwatch(str(tmp_path), mlflow_backends(proxy.uri)).start()
    try:
        p = rw.script(TRAIN, cwd=str(repo), OUT=str(tmp_path))
        assert p.wait(timeout=WAIT_TIMEOUT) == 0, rw.script_output()
        parent_id = read_run_id(str(tmp_path / "parent.id"))
        child_id = read_run_id(str(tmp_path / "child.id"))
        client = MlflowClient(server.uri)
        child = wait_finished(client, "rw-mlflow", child_id, rw)
        parent = wait_finished(client, "rw-mlflow", parent_id, rw, status="FAILED")
        # Read again: a child that reached MLflow before its parent is linked when the parent's run is made.
        child = client.get_run(child.info.run_id)
    finally:
        rw.stop()

    # Exactly one MLflow run per Runwatch run.
    assert len(find_run(client, "rw-mlflow", child_id)) == 1
    assert len(client.search_runs([child.info.experiment_id])) == 2

    events = read_log(rw.store, child_id)
    start = next(e for e in events if e["type"] == "run.start")
    end = next(e for e in events if e["type"] == "run.end")
    assert child.info.run_name == "trial-1"
    assert child.info.start_time == ms(start["time"])
    assert child.info.end_time == ms(end["time"])
    tags = child.data.tags
    assert tags["mlflow.runName"] == "trial-1"
    assert tags["mlflow.parentRunId"] == parent.info.run_id
    assert tags["mlflow.source.git.commit"] == commit
    assert tags["mlflow.source.name"]
    assert tags["mlflow.user"]
    assert tags["stage"] == "dev"
    assert child.data.params == {"seed": "7", "epochs": "3"}

    assert_history(client, child.info.run_id, "train/loss", expected_history(events, "train/loss"))
    assert_history(client, child.info.run_id, "acc", expected_history(events, "acc"))
    # "bad:key" has a colon, which MLflow refuses on some platforms: it arrives as "bad_key".
    assert_history(client, child.info.run_id, "bad_key", expected_history(events, "bad:key"))
    assert assert_accepted_once(proxy, child.info.run_id, events, {"bad:key": "bad_key"}) == 3 * 1200
    assert assert_accepted_once(proxy, parent.info.run_id, read_log(rw.store, parent_id)) == 1
    # Keep-alive: the requests share a few connections (the agent keeps at most 4).
    assert proxy.connections <= 4 and len(proxy.requests) >= 10, f"{len(proxy.requests)} requests over {proxy.connections} connections"
    loss = {m.step: m.value for m in client.get_metric_history(child.info.run_id, "train/loss")}
    assert math.isnan(loss[5]) and loss[6] == MAX and loss[7] == -MAX
    assert loss[1200 - 1] == 1.0 / 1200 + 1e-12 * 1199  # float64 exactly

    dst = client.download_artifacts(child.info.run_id, "ckpt/model.txt", tempfile.mkdtemp(dir=tmp_path))
    with open(dst) as f:
        assert f.read() == "weights " * 100

    # The parent: params (the 7,000-character one cut to MLflow's 6,000), tags, failed status.
    pp = parent.data.params
    assert pp["lr"] == "0.01" and pp["batch"] == "32" and pp["arch"] == "resnet" and pp["flag"] == "True"
    assert pp["long"] == "x" * 6000
    assert parent.data.tags["team"] == "vision"
    assert [(m.step, m.value) for m in client.get_metric_history(parent.info.run_id, "best")] == [(0, 0.25)]
    assert "truncated" in rw.stderr()


PHASED = r'''
import os, sys, time
import runwatch
out = os.environ["OUT"]
run = runwatch.init(project="rw-outage", name="long", config={"lr": 0.5})
with open(os.path.join(out, "run.id"), "w") as f:
    f.write(run.id + "\n")
for step in range(300):
    run.log({"loss": 1.0 / (step + 1), "lr": 0.5 * 0.99 ** step}, step=step)
open(os.path.join(out, "phase1"), "w").close()
while not os.path.exists(os.path.join(out, "go")):
    time.sleep(0.05)
for step in range(300, 900):
    run.log({"loss": 1.0 / (step + 1), "lr": 0.5 * 0.99 ** step}, step=step)
run.finish()
'''


def test_mlflow_outage_and_collector_restart_end_complete_without_duplicates(server: MlflowServer, proxy: CountingProxy, tmp_path) -> None:
    client = MlflowClient(server.uri)
    rw = Runwatch(str(tmp_path), mlflow_backends(proxy.uri, experiment="rw-outage-exp")).start()
    try:
        p = rw.script(PHASED, cwd=str(tmp_path), OUT=str(tmp_path))
        run_id = read_run_id(str(tmp_path / "run.id"))
        wait_for(lambda: (tmp_path / "phase1").exists(), "phase 1 of the script")

        def phase1_in_mlflow() -> bool:
            runs = find_run(client, "rw-outage-exp", run_id)
            return bool(runs) and len(client.get_metric_history(runs[0].info.run_id, "loss")) == 300

        wait_for(phase1_in_mlflow, "phase 1 in MLflow")
        # The server goes away mid-run; training goes on and the store keeps everything.
        server.stop()
        (tmp_path / "go").touch()
        assert p.wait(timeout=WAIT_TIMEOUT) == 0, rw.script_output()
        wait_for(lambda: "runwatch.mlflow" in rw.stderr() and "failed" in rw.stderr(), "the backend to report failed writes")
        # Runwatch restarts too while MLflow is down: the MLflow run id and cursor must survive.
        rw.stop()
        server.start()
        rw.start()
        run = wait_finished(client, "rw-outage-exp", run_id, rw)
    finally:
        rw.stop()

    assert len(find_run(client, "rw-outage-exp", run_id)) == 1
    events = read_log(rw.store, run_id)
    assert len(points_of(events, "loss")) == 900
    assert_history(client, run.info.run_id, "loss", expected_history(events, "loss"))
    assert_history(client, run.info.run_id, "lr", expected_history(events, "lr"))
    assert run.data.params == {"lr": "0.5"}
    assert assert_accepted_once(proxy, run.info.run_id, events) == 2 * 900
    assert 0 in proxy.log_batches(), "no log-batch was attempted while the server was down"


STREAM = r'''
import os, time
import runwatch
out = os.environ["OUT"]
run = runwatch.init(project="rw-inflight", name="stream", config={"lr": 0.1})
with open(os.path.join(out, "run.id"), "w") as f:
    f.write(run.id + "\n")
step = 0
def log(n):
    global step
    for _ in range(n):
        run.log({"loss": 1.0 / (step + 1), "lr": 0.1 * 0.999 ** step}, step=step)
        step += 1
# A long stream: still logging when the server is killed, and on through the outage.
while not os.path.exists(os.path.join(out, "killed")) and step < 40000:
    log(50)
    time.sleep(0.05)
log(2000)
run.finish()
'''


def test_mlflow_killed_during_a_request_ends_complete_without_duplicates(server: MlflowServer, proxy: CountingProxy, tmp_path) -> None:
    """The server is killed (SIGKILL) while a log-batch is half sent to it, then started
    again on the same port and store: the request failed, nothing it carried is lost
    and nothing is accepted twice."""
    client = MlflowClient(server.uri)
    # The third log-batch with metrics goes out half-way, then the server dies.
    proxy.kill_during_log_batch(3, server.stop)
    rw = Runwatch(str(tmp_path), mlflow_backends(proxy.uri, experiment="rw-inflight-exp")).start()
    try:
        p = rw.script(STREAM, cwd=str(tmp_path), OUT=str(tmp_path))
        run_id = read_run_id(str(tmp_path / "run.id"))
        wait_for(lambda: proxy.killed_in_flight, "the server to be killed during a log-batch")
        (tmp_path / "killed").touch()
        assert p.wait(timeout=WAIT_TIMEOUT) == 0, rw.script_output()
        wait_for(lambda: "runwatch.mlflow" in rw.stderr() and "failed" in rw.stderr(), "the backend to report the failed write")
        server.start()
        run = wait_finished(client, "rw-inflight-exp", run_id, rw)
    finally:
        rw.stop()

    assert proxy.killed_in_flight[0] > 0
    assert len(find_run(client, "rw-inflight-exp", run_id)) == 1
    events = read_log(rw.store, run_id)
    n = len(points_of(events, "loss"))
    assert n >= 2000 + 50
    assert_history(client, run.info.run_id, "loss", expected_history(events, "loss"))
    assert_history(client, run.info.run_id, "lr", expected_history(events, "lr"))
    assert assert_accepted_once(proxy, run.info.run_id, events) == 2 * n
    assert run.data.params == {"lr": "0.1"}


KILLED = r'''
import os, time
import runwatch
out = os.environ["OUT"]
run = runwatch.init(project="rw-killed", name="victim")
with open(os.path.join(out, "run.id"), "w") as f:
    f.write(run.id + "\n")
for step in range(50):
    run.log({"loss": 1.0 / (step + 1)}, step=step)
open(os.path.join(out, "ready"), "w").close()
while True:
    time.sleep(0.1)
'''


def test_run_killed_by_sigterm_becomes_killed_with_end_time(server: MlflowServer, proxy: CountingProxy, tmp_path) -> None:
    client = MlflowClient(server.uri)
    rw = Runwatch(str(tmp_path), mlflow_backends(proxy.uri)).start()
    try:
        p = rw.script(KILLED, cwd=str(tmp_path), OUT=str(tmp_path))
        run_id = read_run_id(str(tmp_path / "run.id"))
        wait_for(lambda: (tmp_path / "ready").exists(), "the script to log")
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=WAIT_TIMEOUT) == -signal.SIGTERM, rw.script_output()
        run = wait_finished(client, "rw-killed", run_id, rw, status="KILLED")
    finally:
        rw.stop()

    events = read_log(rw.store, run_id)
    end = next(e for e in events if e["type"] == "run.end")
    assert end["status"] == "killed"
    assert run.info.end_time == ms(end["time"])
    assert run.data.tags["runwatch.endReason"] == "SIGTERM"
    assert "runwatch.status" not in run.data.tags  # only a crash is marked there
    assert_history(client, run.info.run_id, "loss", expected_history(events, "loss"))
    assert assert_accepted_once(proxy, run.info.run_id, events) == 50


UNTAG = r'''
import os, sys
import runwatch
out = os.environ["OUT"]
run = runwatch.init(project="rw-untag", name="untag", tags={"keep": "1", "drop": "x"})
with open(os.path.join(out, "run.id"), "w") as f:
    f.write(run.id + "\n")
run.set_tags({"later": "y", "again": "1"})
run.log({"loss": 0.5}, step=0)
# The Python client has no call that takes tags off; Tag Runs… and Unarchive in VS Code write
# this same event (protocol v1: "removed", applied after "tags"). "never-set" is not on the run.
run._control({"type": "tags", "runId": run.id, "tags": {}, "removed": ["drop", "later", "again", "never-set"]})
run.set_tags({"again": "2"})
run.finish()
'''


def test_removed_tags_are_deleted_on_the_mlflow_run(server: MlflowServer, tmp_path) -> None:
    client = MlflowClient(server.uri)
    rw = Runwatch(str(tmp_path), mlflow_backends(server.uri)).start()
    try:
        p = rw.script(UNTAG, cwd=str(tmp_path), OUT=str(tmp_path))
        assert p.wait(timeout=WAIT_TIMEOUT) == 0, rw.script_output()
        run_id = read_run_id(str(tmp_path / "run.id"))
        run = wait_finished(client, "rw-untag", run_id, rw)
    finally:
        rw.stop()

    events = read_log(rw.store, run_id)
    assert any(e["type"] == "tags" and e.get("removed") for e in events), "the removal is in the run log"
    tags = run.data.tags
    assert tags["keep"] == "1"
    assert "drop" not in tags, f"removed at the start's tag: {tags}"
    assert "later" not in tags, f"removed after set_tags: {tags}"
    assert tags["again"] == "2", "set again after the removal: the later value stays"
    assert "never-set" not in tags
    assert tags["runwatch.runId"] == run_id
    assert "refused to remove tag" not in rw.stderr(), "a tag that is not there is no error"
