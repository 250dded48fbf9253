"""Golden tests across languages: frames the Python client encodes are accepted by the collector's
own parser (`parseFrame` in src/collector/frames.ts) with the same points, NaN and ±Infinity
included; and every JSON example in docs/protocol.md parses on both sides."""

from __future__ import annotations

import collections
import json
import math
import os
import re
import subprocess
from typing import Any, Dict, List

from helpers import ROOT, TSX
from runwatch import _protocol
from runwatch._protocol import FrameEncoder, ProtocolError, parse_message
from runwatch._values import make_slow_value, r

PROTOCOL_MD = os.path.join(ROOT, "docs", "protocol.md")
CLIENT_TYPES = ("hello", "heartbeat") + _protocol.RUN_TYPES


def ts_parse(frames: List[str]) -> List[Dict[str, Any]]:
    assert os.path.exists(TSX), f"{TSX} is missing: run npm ci"
    script = os.path.join(os.path.dirname(__file__), "parse_frames.ts")
    res = subprocess.run([TSX, script], cwd=ROOT, input="\n".join(frames) + "\n", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    out = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(out) == len(frames), res.stdout
    return out


def wire(v: float) -> Any:
    return _protocol.encode_number(v)


def test_frames_the_client_encodes_parse_in_the_collector_with_the_same_points() -> None:
    warnings: List[str] = []
    warn = lambda code, message: warnings.append(message)  # noqa: E731
    enc = FrameEncoder("golden-run", warn, make_slow_value(warn), r)
    enc.max_points = 7  # split calls across frames too
    q: collections.deque = collections.deque()
    values = [0.5, -1.25, math.nan, math.inf, -math.inf, 1e-300, 1.7976931348623157e308, 5e-324, 0.0, -0.0, 3, -(2**53), True, 1 / 3]
    logged = []
    for step, v in enumerate(values):
        data = {"loss": v, "ünï/ключ": step * 0.5, "\U0001f600": float(step), 'quote"back\\slash': -step}
        q.extend((data, step, 1732252800.5 + step))
        logged += [(k, float(x), step, 1732252800.5 + step) for k, x in data.items()]
    q.extend((None, {"type": "params", "runId": "golden-run", "params": {"lr": 0.1, "opt.name": "adam", "n": None}}, 0.0))
    q.extend((None, {"type": "run.end", "runId": "golden-run", "status": "finished", "time": 1732253000.0}, 0.0))
    msgs = enc.encode(q, len(q) // 3)
    assert not warnings, warnings
    assert len(msgs) > 3
    parsed = ts_parse([m.text for m in msgs])
    assert [p["kind"] for p in parsed] == ["run"] * len(msgs), parsed
    assert [p["seq"] for p in parsed] == [m.seq for m in msgs] == list(range(2, 2 + len(msgs)))
    ts_points = [tuple(p) for x in parsed if x["type"] == "metrics" for p in x["points"]]
    assert ts_points == [(k, wire(v), s, t) for k, v, s, t in logged]
    # The Python decoder reads the same frames the same way.
    py_points = [pt for m in msgs for pt in parse_message(m.text).get("_points", [])]
    assert [(k, wire(v), s, t) for k, v, s, t in py_points] == ts_points
    assert [x["type"] for x in parsed][-2:] == ["params", "run.end"]


def test_capture_points_go_packed_and_parse_in_the_collector_with_the_same_points() -> None:
    """TensorBoard capture's points (DeferredScalar) travel in packed columns when a frame holds only
    them, and as numbers when it also holds log() points; both parse alike on both sides."""
    from array import array

    warnings: List[str] = []
    warn = lambda code, message: warnings.append(code)  # noqa: E731
    enc = FrameEncoder("golden-run", warn, make_slow_value(warn), r)
    enc.max_points = 50  # frames fill up in the middle of a bulk take
    loss, acc, lr, bad = (_protocol.DeferredScalar(n) for n in ("loss", "ünï/acc", "lr", ""))
    q: collections.deque = collections.deque()
    want = []

    def fast(key: Any, v: float, step: int, t: float) -> None:
        q.extend((key, v, (step, t)))
        if key is not bad and 0 <= step <= _protocol.MAX_STEP:
            want.append((key.name, array("f", [v])[0], step, t or None))

    for i in range(120):  # 2 keys, then a third from step 60 (a key new to a frame, mid-take)
        fast(loss, 1 / (i + 3), i, 1732252800.25 + i)
        fast(acc, -i * 1e-3, i, 1732252800.25 + i)
        if i >= 60:
            fast(lr, 3e38 if i == 61 else 0.1, 2**53 - 1 if i == 62 else i, 1732252800.25 + i)
    fast(bad, 1.0, 200, 1.0)  # a name the protocol refuses: skipped, warned once
    fast(loss, 0.5, -1, 1.0)  # a step the protocol refuses: skipped, warned once
    fast(loss, 0.25, 201, 0.0)  # no wall time: the time it is encoded
    for i in range(30):  # capture's points and log() points alternating: frames of numbers
        fast(loss, 0.5 + i, 300 + i, 1732252900.5)
        q.extend(({"x": float(i)}, 300 + i, 1732252900.5))
        want.append(("x", float(i), 300 + i, 1732252900.5))
    for i in range(20):  # a run of capture's points after a control message: packed again
        if i == 0:
            q.extend((None, {"type": "params", "runId": "golden-run", "params": {"lr": 0.1}}, 0.0))
        fast(acc, float(i), 400 + i, 1732252950.5)
    msgs = enc.encode(q, len(q) // 3)
    assert sorted(set(warnings)) == ["key", "step"], warnings
    metrics = [m for m in msgs if m.points]
    packed = [isinstance(json.loads(m.text)["cols"]["v"], str) for m in metrics]
    assert packed[0] and packed[-1] and not all(packed), packed
    parsed = ts_parse([m.text for m in msgs])
    assert [p["kind"] for p in parsed] == ["run"] * len(msgs), parsed
    ts_points = [tuple(p) for x in parsed if x["type"] == "metrics" for p in x["points"]]
    py_points = [pt for m in msgs for pt in parse_message(m.text).get("_points", [])]
    assert [tuple(p) for p in py_points] == ts_points
    assert len(ts_points) == len(want)
    for got, (k, v, step, t) in zip(ts_points, want):
        assert got[:3] == (k, v, step) and (got[3] == t if t is not None else got[3] > 1.7e9), (got, (k, v, step, t))


def test_a_point_the_collector_refuses_is_refused_by_the_python_decoder_too() -> None:
    bad = [
        '{"type":"metrics","runId":"r","seq":2,"cols":{"keys":["a","a"],"k":[0],"v":[1],"s":[0],"t":[1]}}',
        '{"type":"metrics","runId":"r","seq":2,"cols":{"keys":["a"],"k":[1],"v":[1],"s":[0],"t":[1]}}',
        '{"type":"metrics","runId":"r","seq":2,"cols":{"keys":["a"],"k":[0],"v":["nan"],"s":[0],"t":[1]}}',
        '{"type":"metrics","runId":"r","seq":2,"points":[{"key":"a","value":1,"step":9007199254740992,"time":1}]}',
        '{"type":"metrics","runId":"r","seq":2,"points":[{"key":"' + "k" * 251 + '","value":1,"step":0,"time":1}]}',
        '{"type":"metrics","runId":"r","seq":2,"points":[{"key":"' + "\U0001f600" * 251 + '","value":1,"step":0,"time":1}]}',
    ]
    # Key lengths are counted in code points on both sides: 250 emoji (500 UTF-16 units) are fine.
    ok = '{"type":"metrics","runId":"r","seq":2,"points":[{"key":"' + "\U0001f600" * 250 + '","value":1,"step":0,"time":1}]}'
    assert ts_parse([ok])[0]["kind"] == "run" and len(parse_message(ok)["_points"]) == 1
    for text, res in zip(bad, ts_parse(bad)):
        assert res["kind"] == "error", (text, res)
        try:
            parse_message(text)
        except ProtocolError:
            continue
        raise AssertionError(f"the Python decoder accepted what the collector refuses ({res['message']}): {text[:120]}")


def _doc_examples() -> List[str]:
    """Every JSON value in a ```json block of docs/protocol.md: a block is one value, or one per line."""
    with open(PROTOCOL_MD, encoding="utf-8") as f:
        text = f.read()
    out: List[str] = []
    for block in re.findall(r"```json\n(.*?)```", text, flags=re.S):
        try:
            out.append(json.dumps(json.loads(block)))
        except ValueError:
            out += [json.dumps(json.loads(line)) for line in block.splitlines() if line.strip()]
    return out


def test_every_json_example_in_the_protocol_document_parses_on_both_sides() -> None:
    examples = _doc_examples()
    assert len(examples) >= 10, "docs/protocol.md should show its messages as ```json blocks"
    messages = [e for e in examples if isinstance(json.loads(e).get("type"), str)]
    # A run-scoped message without runId is a record of the run log (the collector's `crashed` end), not a frame.
    frames = [e for e in messages if not (json.loads(e)["type"] in _protocol.RUN_TYPES and "runId" not in json.loads(e))]
    for e in frames:
        parse_message(e)  # raises with the reason
    client = [e for e in frames if json.loads(e)["type"] in CLIENT_TYPES]
    assert {json.loads(e)["type"] for e in client} >= set(CLIENT_TYPES), "an example of every client message"
    for e, res in zip(client, ts_parse(client)):
        assert res["kind"] != "error", f"the collector refuses the documented example {e}: {res}"
        msg = json.loads(e)
        if msg["type"] == "metrics":
            py = [(k, wire(v), s, t) for k, v, s, t in parse_message(e)["_points"]]
            assert [tuple(p) for p in res["points"]] == py
