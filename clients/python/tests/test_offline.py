"""The client with no collector: bad input never raises, the spool holds exactly the valid data, discovery rules."""

from __future__ import annotations

import collections
import json
import math
import os
from decimal import Decimal
from typing import Any, Deque, Dict, List, Tuple

import pytest

import runwatch
from helpers import frame_points
from runwatch import _discovery
from runwatch._protocol import FrameEncoder
from runwatch._values import make_slow_value, r


def spool_messages(run: runwatch.Run) -> List[Dict[str, Any]]:
    assert run.spool_path is not None, "the run should have spooled"
    with open(run.spool_path, encoding="utf-8") as f:
        text = f.read()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_log_never_raises_on_bad_input_and_keeps_exactly_the_valid_points(capfd: pytest.CaptureFixture) -> None:
    run = runwatch.init(project="p", name="bad-input")

    class Boom:
        def __float__(self) -> float:
            raise RuntimeError("no")

        def __repr__(self) -> str:
            raise RuntimeError("no repr either")

    run.log({"ok": 1.5}, step=0)
    run.log({"s": "text", "n": None, "boom": Boom(), "ok": 2}, step=1)  # only ok survives
    run.log(None)  # type: ignore[arg-type]
    run.log([1, 2])  # type: ignore[arg-type]
    run.log({1: 3.0, "": 4.0, "k" * 300: 5.0, "ok": 3.0}, step=2)
    run.log({"ok": 9.0}, step=-1)
    run.log({"ok": 9.0}, step="seven")  # type: ignore[arg-type]
    run.log({"ok": 9.0}, step=1.5)  # type: ignore[arg-type]
    run.log({"ok": Decimal("4.25"), "flag": True, "nan": math.nan, "inf": math.inf, "ninf": -math.inf}, step=3)
    run.log({"ünï": 6.0, "\ud800": 7.0}, step=5)  # non-ASCII names travel escaped; a lone surrogate too
    run.log({"ok": 5.0})  # auto step: the last good step + 1 (bad steps do not move it)
    run.log({Boom(): 1.0, "ok": 5.5}, step=6)  # a key that cannot even be printed
    run.log_params("nope")  # type: ignore[arg-type]
    run.set_tags(42)
    run.finish()
    run.log({"ok": 1.0})  # after finish: warned, ignored
    run.finish()  # idempotent

    msgs = spool_messages(run)
    assert [m["seq"] for m in msgs] == list(range(1, len(msgs) + 1))
    assert msgs[0]["type"] == "run.start" and msgs[-1]["type"] == "run.end" and msgs[-1]["status"] == "finished"
    points = [(p["key"], p["value"], p["step"]) for m in msgs if m["type"] == "metrics" for p in frame_points(m)]
    assert points == [
        ("ok", 1.5, 0),
        ("ok", 2, 1),
        ("ok", 3.0, 2),
        ("ok", 4.25, 3),
        ("flag", 1, 3),
        ("nan", "NaN", 3),
        ("inf", "Infinity", 3),
        ("ninf", "-Infinity", 3),
        ("ünï", 6.0, 5),
        ("\ud800", 7.0, 5),
        ("ok", 5.0, 6),
        ("ok", 5.5, 6),
    ]
    err = capfd.readouterr().err
    for expected in ("not a number", "1 to 250 characters", "step must be an integer", "takes a dict", "after finish", "no Runwatch collector found"):
        assert expected in err, f"missing warning {expected!r} in:\n{err}"
    assert err.count("metric 's'") == 1


def test_auto_step_context_params_and_tags_in_run_start() -> None:
    with runwatch.init(project="proj", name="n1", config={"opt": {"lr": 0.1, "betas": [0.9, 0.99]}, "nan": math.nan, "obj": object}, tags=["baseline", "v2"]) as run:
        for i in range(3):
            run.log({"x": float(i)})
        run.log({"y": 1.0}, step=10)
        run.log({"y": 2.0})
        run.log_params({"batch": 32, "nested": {"a": None}})
        run.set_tags({"phase": "final"})
        path = os.path.join(os.getcwd(), "model.bin")
        with open(path, "wb") as f:
            f.write(b"12345")
        run.log_artifact(path)
        run.log_output("line one\nline two", stream="stderr")
    msgs = spool_messages(run)
    start = msgs[0]
    assert start["runId"] == run.id and len(run.id) == 32 and int(run.id, 16) >= 0
    assert start["project"] == "proj" and start["name"] == "n1"
    assert start["params"]["opt.lr"] == 0.1
    assert start["params"]["opt.betas"] == "[0.9,0.99]"
    assert start["params"]["nan"] == "NaN"
    assert isinstance(start["params"]["obj"], str)
    assert start["tags"] == {"baseline": "", "v2": ""}
    ctx = start["context"]
    assert ctx["pid"] == os.getpid() and ctx["cwd"] == os.getcwd() and ctx["python"] and ctx["host"]
    steps = [(p["key"], p["step"]) for m in msgs if m["type"] == "metrics" for p in frame_points(m)]
    assert steps == [("x", 0), ("x", 1), ("x", 2), ("y", 10), ("y", 11)]
    by_type = {m["type"]: m for m in msgs}
    assert by_type["params"]["params"] == {"batch": 32, "nested.a": None}
    assert by_type["tags"]["tags"] == {"phase": "final"}
    art = by_type["artifact"]
    assert art["path"] == path and art["name"] == "model.bin" and art["kind"] == "file" and art["metadata"]["size"] == 5
    assert by_type["log"]["lines"] == ["line one", "line two"] and by_type["log"]["stream"] == "stderr"
    assert msgs[-1]["type"] == "run.end" and msgs[-1]["status"] == "finished"


def test_context_manager_marks_failed_and_reraises() -> None:
    with pytest.raises(ZeroDivisionError):
        with runwatch.init(project="p") as run:
            run.log({"a": 1.0})
            1 / 0
    end = spool_messages(run)[-1]
    assert end["type"] == "run.end" and end["status"] == "failed" and "ZeroDivisionError" in end["reason"]


def test_module_level_shortcuts(capfd: pytest.CaptureFixture) -> None:
    runwatch._current = None
    runwatch.log({"a": 1.0})  # before init: a warning, not an exception
    assert "before runwatch.init()" in capfd.readouterr().err
    run = runwatch.init(project="p")
    assert runwatch.current_run() is run
    runwatch.log({"a": 1.0}, step=4)
    runwatch.log_params({"k": "v"})
    runwatch.set_tags(["t"])
    runwatch.finish()
    assert run.status == "finished"
    msgs = spool_messages(run)
    types = [m["type"] for m in msgs]
    # The first metrics message says where "a" was first logged (source locations, _source.py).
    assert types == ["run.start", "metrics", "metrics", "params", "tags", "run.end"]
    assert list(msgs[1]["sources"]) == ["a"] and msgs[1]["sources"]["a"]["file"] == __file__


def test_unwritable_spool_warns_and_does_not_raise(monkeypatch: pytest.MonkeyPatch, tmp_path, capfd: pytest.CaptureFixture) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    monkeypatch.setenv("RUNWATCH_SPOOL_DIR", str(blocker / "spool"))
    run = runwatch.init(project="p")
    run.log({"a": 1.0})
    run.finish()
    assert "cannot be written" in capfd.readouterr().err


def test_discovery_order(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    root = tmp_path / "ws"
    (root / ".runwatch").mkdir(parents=True)
    deep = root / "a" / "b"
    deep.mkdir(parents=True)
    info = {"url": "ws://127.0.0.1:1/", "token": "file-token", "pid": os.getpid(), "version": "0.1.0", "spoolDir": str(root / "sp")}
    (root / ".runwatch" / "collector.json").write_text(json.dumps(info))
    monkeypatch.delenv("RUNWATCH_SPOOL_DIR")

    t = _discovery.resolve(cwd=str(deep))
    assert (t.url, t.token, t.spool_dir) == ("ws://127.0.0.1:1/", "file-token", str(root / "sp"))
    assert t.source and t.source.endswith("collector.json")

    monkeypatch.setenv("RUNWATCH_URL", "ws://127.0.0.1:2/")
    monkeypatch.setenv("RUNWATCH_TOKEN", "env-token")
    t = _discovery.resolve(cwd=str(deep))
    assert (t.url, t.token, t.source) == ("ws://127.0.0.1:2/", "env-token", "environment")

    t = _discovery.resolve(url="ws://127.0.0.1:3/", token="arg-token", cwd=str(deep))
    assert (t.url, t.token, t.source) == ("ws://127.0.0.1:3/", "arg-token", "argument")

    monkeypatch.setenv("RUNWATCH_SPOOL_DIR", str(tmp_path / "envspool"))
    assert _discovery.resolve(cwd=str(deep)).spool_dir == str(tmp_path / "envspool")

    # A file left by a collector that is gone: no URL (spool at once), but its spool folder still counts.
    monkeypatch.delenv("RUNWATCH_URL")
    monkeypatch.delenv("RUNWATCH_SPOOL_DIR")
    info["pid"] = 2**22 + 12345
    (root / ".runwatch" / "collector.json").write_text(json.dumps(info))
    t = _discovery.resolve(cwd=str(deep))
    assert t.url is None and t.spool_dir == str(root / "sp")

    assert _discovery.resolve(cwd=str(tmp_path)).spool_dir == os.path.join(os.path.expanduser("~"), ".runwatch", "spool")


def _encoder() -> "Tuple[FrameEncoder, Deque[Any]]":
    """The sender's encoder, driven by hand on a queue of (data, step, time) triples."""
    warnings: List[str] = []
    warn = lambda code, message: warnings.append(message)  # noqa: E731
    return FrameEncoder("r1", warn, make_slow_value(warn), r), collections.deque()


def test_the_sender_encodes_only_what_was_queued_when_it_started() -> None:
    """A training thread that queues faster than the sender encodes must not keep it from sending."""
    enc, q = _encoder()
    produced = []

    class Producer(dict):
        # Queues one more item while being encoded, like a training thread logging meanwhile.
        def items(self):  # type: ignore[override]
            if len(produced) < 1000:
                item = Producer(x=float(len(produced)))
                produced.append(item)
                q.extend((item, len(produced), 1.0))
            return super().items()

    q.extend((Producer(x=-1.0), 0, 1.0))
    out = enc.encode(q, len(q) // 3)
    assert sum(u.points for u in out) == 1, "only the item queued before encoding started"
    assert len(q) == 3, "the item queued meanwhile waits for the next cycle"


def test_capture_points_taken_in_bulk_stop_at_what_was_queued_and_keep_the_order() -> None:
    """TensorBoard capture's points are taken off the queue in bulk: never past the items the
    encoder was given, and what follows a run of them (a control, a log() call) keeps its place."""
    from runwatch._protocol import DeferredScalar, parse_message

    enc, q = _encoder()
    loss = DeferredScalar("loss")
    for i in range(100):
        q.extend((loss, float(i), (i, 100.0 + i)))
    q.extend((None, {"type": "params", "runId": "r1", "params": {"lr": 0.1}}, 0.0))
    q.extend(({"acc": 0.5}, 100, 200.0))
    for i in range(100, 110):
        q.extend((loss, float(i), (i, 100.0 + i)))
    out = enc.encode(q, 40)
    assert [u.points for u in out] == [40] and len(q) == 3 * 72, "only the 40 items given"
    out += enc.encode(q, len(q) // 3)
    assert not q
    kinds = [parse_message(u.text)["type"] for u in out]
    assert kinds == ["metrics", "metrics", "params", "metrics"], kinds
    points = [p for u in out for p in parse_message(u.text).get("_points", [])]
    assert [(k, s) for k, _v, s, _t in points] == [("loss", i) for i in range(100)] + [("acc", 100)] + [("loss", i) for i in range(100, 110)]
    assert all(v == float(s) and t == 100.0 + s for k, v, s, t in points if k == "loss")
    texts = [u.text for u in out if u.points]
    assert ['"v":"' in t for t in texts] == [True, True, False], "packed while a frame holds only capture's points"


def test_metrics_go_out_in_the_columnar_form_split_by_the_points_and_bytes_limits() -> None:
    enc, q = _encoder()

    def frames() -> List[Dict[str, Any]]:
        out = enc.encode(q, len(q) // 3)
        msgs = [json.loads(u.text) for u in out]
        for u, m in zip(out, msgs):
            assert m["type"] == "metrics" and "points" not in m and u.points == len(m["cols"]["k"])
            assert len(set(m["cols"]["keys"])) == len(m["cols"]["keys"]), "keys are distinct"
            assert sorted(set(m["cols"]["k"])) == list(range(len(m["cols"]["keys"]))), "only the keys the frame uses"
        return msgs

    # The points limit: 12 points in frames of at most 5, in order, a call split across frames.
    enc.max_points = 5
    for step in range(3):
        q.extend(({"a": 1.0 * step, "b": step, "c": math.nan, "d": -math.inf}, step, 100.5 + step))
    msgs = frames()
    assert [len(m["cols"]["k"]) for m in msgs] == [5, 5, 2]
    assert msgs[1]["cols"] == {"keys": ["b", "c", "d", "a"], "k": [0, 1, 2, 3, 0], "v": [1, "NaN", "-Infinity", 2.0, 2], "s": [1, 1, 1, 2, 2], "t": [101.5, 101.5, 101.5, 102.5, 102.5]}
    got = [(p["key"], p["value"], p["step"], p["time"]) for m in msgs for p in frame_points(m)]
    want = [(k, v, s, 100.5 + s) for s in range(3) for k, v in (("a", 1.0 * s), ("b", s), ("c", "NaN"), ("d", "-Infinity"))]
    assert got == want

    # The bytes limit: long names and values split frames at about max_bytes each.
    enc.max_points = 10000
    enc.max_bytes = 2000
    for step in range(50):
        q.extend(({f"metric/{'x' * 100}/{i}": 1.0 / 3 + i for i in range(4)}, step, 1732252800.123456))
    out = enc.encode(q, len(q) // 3)
    assert len(out) > 3 and sum(u.points for u in out) == 200
    assert all(len(u.text) <= 2000 + 300 for u in out), [len(u.text) for u in out]

    # Names that encode alike (a surrogate pair written out, and the character itself) share one key.
    q.extend(({"\ud83d\ude00": 1.0, "\U0001f600": 2.0}, 0, 1.0))
    (m,) = frames()
    assert m["cols"]["keys"] == ["\U0001f600"] and m["cols"]["k"] == [0, 0]
