"""Source locations: the first call site of each metric key (file, line, function), skipping frames of
the runwatch package and of frameworks, sent once per key and kept in the run's summary."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import types

import runwatch
from runwatch import _source
from helpers import Collector, client_env, points_of, read_log, run_script, wait_for


def _meta_sources(store: str, run_id: str) -> dict:
    path = os.path.join(store, "runs", run_id, "meta.json")

    def read() -> dict:
        try:
            with open(path) as f:
                return json.load(f)["summary"].get("sources") or {}
        except (OSError, ValueError, KeyError):
            return {}

    return read()


def _log_line(marker: str) -> int:
    with open(__file__) as f:
        for i, line in enumerate(f, 1):
            if marker in line and "_log_line" not in line:
                return i
    raise AssertionError(marker)


def test_each_key_is_located_once_at_its_first_call(collector: Collector) -> None:
    collector.start()
    with runwatch.init(project="p", name="src", url=collector.url, token=collector.token) as run:
        for i in range(5):
            run.log({"train/loss": 1.0 / (i + 1)}, step=i)  # first-loss
            if i >= 2:
                run.log({"val/acc": i / 10, "train/loss": 0.1}, step=i)  # first-acc
    events = read_log(collector.store, run.id)
    sourced = [e for e in events if e["type"] == "metrics" and e.get("sources")]
    # One message per call that brought new keys; nothing for later calls.
    assert [sorted(e["sources"]) for e in sourced] == [["train/loss"], ["val/acc"]]
    loss = sourced[0]["sources"]["train/loss"]
    acc = sourced[1]["sources"]["val/acc"]
    assert loss == {
        "file": os.path.abspath(__file__),
        "line": _log_line("# first-loss"),
        "function": "test_each_key_is_located_once_at_its_first_call",
    }
    assert acc["line"] == _log_line("# first-acc") and acc["file"] == os.path.abspath(__file__)
    # The points are all there, as without locations.
    assert len(points_of(events, "train/loss")) == 8
    # The store's summary keeps them (meta.json is written shortly after the last change).
    sources = wait_for(lambda: len(_meta_sources(collector.store, run.id)) == 2 and _meta_sources(collector.store, run.id), "sources in meta.json")
    assert sources["train/loss"]["line"] == loss["line"] and sources["val/acc"]["line"] == acc["line"]


def test_frames_inside_frameworks_are_skipped(tmp_path) -> None:
    # A module that looks like a framework's (its __name__ is in the list) calling log for the person.
    fake = types.ModuleType("lightning.fake_logger")
    code = compile("def flush(run, data):\n    run.log(data)\n", str(tmp_path / "lightning" / "fake_logger.py"), "exec")
    exec(code, fake.__dict__)
    seen: set = set()
    captured: list = []
    # Run.log's own frame is inside the package: so is this stand-in's.
    inner = types.ModuleType("runwatch._stand_in")
    inner.__dict__.update(_source=_source, seen=seen, captured=captured)
    exec(
        compile("class FakeRun:\n    def log(self, data):\n        captured.append(_source.sources_message('r', seen, data))\n", "<stand-in>", "exec"),
        inner.__dict__,
    )
    FakeRun = inner.FakeRun

    fake.flush(FakeRun(), {"a": 1.0})  # person-line
    msg = captured[0]
    assert msg is not None and msg["type"] == "metrics" and msg["runId"] == "r"
    loc = msg["sources"]["a"]
    assert loc["file"] == os.path.abspath(__file__)
    assert loc["line"] == _log_line("# person-line")
    assert loc["function"] == "test_frames_inside_frameworks_are_skipped"
    # Known keys give nothing more.
    fake.flush(FakeRun(), {"a": 2.0})
    assert captured[1] is None


def test_odd_keys_are_skipped_and_the_key_bound_holds() -> None:
    seen: set = set()
    msg = _source.sources_message("r", seen, {"": 1, "x" * 300: 2, 7: 3, "ok": 4})
    assert msg is not None and list(msg["sources"]) == ["ok"]
    big = set(str(i) for i in range(_source.MAX_KEYS - 1))
    msg = _source.sources_message("r", big, {"last": 1, "over": 2})
    assert msg is not None and list(msg["sources"]) == ["last"] and len(big) == _source.MAX_KEYS


def test_locations_off_sends_none_and_still_logs(collector: Collector, tmp_path) -> None:
    collector.start()
    script = textwrap.dedent(
        """
        import runwatch
        with runwatch.init(project="p", name="off") as run:
            for i in range(3):
                run.log({"loss": float(i)}, step=i)
        print(run.id)
        """
    )
    env = client_env(RUNWATCH_URL=collector.url, RUNWATCH_TOKEN=collector.token, RUNWATCH_SOURCES="0")
    out = run_script(script, env, str(tmp_path))
    assert out.returncode == 0, out.stderr
    run_id = out.stdout.strip().splitlines()[-1]
    events = read_log(collector.store, run_id)
    assert not [e for e in events if e.get("sources")]
    assert len(points_of(events, "loss")) == 3


def test_a_script_run_records_its_module_level_line_and_command_line(collector: Collector, tmp_path) -> None:
    collector.start()
    script_path = tmp_path / "train.py"
    script_path.write_text(
        "import sys, runwatch\n"
        "run = runwatch.init(project='p', name='script')\n"
        "for i in range(3):\n"
        "    run.log({'loss': float(i)}, step=i)\n"
        "run.finish()\n"
        "print(run.id)\n"
    )
    env = client_env(RUNWATCH_URL=collector.url, RUNWATCH_TOKEN=collector.token)
    import subprocess

    out = subprocess.run([sys.executable, str(script_path), "--lr", "0.1"], env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    run_id = out.stdout.strip().splitlines()[-1]
    events = read_log(collector.store, run_id)
    loc = [e for e in events if e.get("sources")][0]["sources"]["loss"]
    assert loc == {"file": str(script_path), "line": 4}  # module level: no function
    ctx = events[0]["context"]
    assert ctx["argv"] == [str(script_path), "--lr", "0.1"]
    assert ctx["origArgv"][-3:] == [str(script_path), "--lr", "0.1"]
    assert ctx["cwd"] == str(tmp_path)
    assert "notebook" not in ctx
