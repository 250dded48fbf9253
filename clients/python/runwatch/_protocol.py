"""Wire protocol v1, the client's half: a mirror of src/protocol/v1.ts (types, limits, the NaN codec,
the columnar metrics form) and the encoder that turns queued `log()` calls into frames.

docs/protocol.md is the reference; tests/test_golden.py checks this module against the collector's
own parser and against every example in that document.
"""

from __future__ import annotations

import json
import math
import operator
import sys
import time
from array import array as _array
from base64 import b64decode as _b64decode, b64encode as _b64encode
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

PROTOCOL_VERSION = 1
CLIENT_NAME = "runwatch-python"

MAX_KEY_CODE_POINTS = 250  # metric names: 1 to 250 characters, counted in Unicode code points (Python's len)
MAX_RUN_ID = 128
MAX_STEP = 2**53 - 1  # a step is a JavaScript safe integer
MAX_REASON = 10_000
# Frame size when the collector's welcome says nothing (and the most the client uses whatever it says).
DEFAULT_MAX_POINTS = 10_000
CLIENT_MAX_POINTS = 50_000
DEFAULT_MAX_BYTES = 1 << 20
CLIENT_MAX_BYTES = 4 << 20

RUN_TYPES = ("run.start", "metrics", "params", "tags", "artifact", "log", "run.end")
ERROR_CODES = ("bad_json", "bad_message", "unknown_type", "not_authenticated", "unknown_run", "too_many_points", "storage", "internal", "seq_gap")
# Errors that say "not held, send it again later": the message must be kept and resent.
RESEND_CODES = frozenset({"storage", "internal", "unknown_run", "seq_gap"})
_BIG_ENDIAN = sys.byteorder == "big"
NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

WireNumber = Union[int, float, str]
Point = Tuple[str, float, int, float]  # key, value, step, time


class ProtocolError(ValueError):
    """A message that does not follow protocol v1; the text says which field and why."""


def dumps(msg: Mapping[str, Any]) -> str:
    """Compact JSON; NaN and ±Infinity must have been encoded already (allow_nan=False catches any left)."""
    return json.dumps(msg, separators=(",", ":"), allow_nan=False, default=str)


def encode_number(v: float) -> WireNumber:
    if v - v == 0:  # finite: inf - inf and nan - nan are nan
        return v
    return "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")


def encode_float(v: float) -> str:
    """A float as a JSON fragment."""
    if v - v == 0:
        return repr(v)
    return '"NaN"' if v != v else ('"Infinity"' if v > 0 else '"-Infinity"')


def decode_number(v: Any) -> float:
    if isinstance(v, str):
        if v in NON_FINITE:
            return NON_FINITE[v]
        raise ProtocolError(f'a value must be a number or one of "NaN", "Infinity", "-Infinity", got {v!r}')
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ProtocolError(f"a value must be a number, got {type(v).__name__}")
    return float(v)


def hello(token: str, version: str) -> str:
    return dumps({"type": "hello", "client": CLIENT_NAME, "version": version, "protocol": PROTOCOL_VERSION, "token": token})


def heartbeat(t: float, run_ids: Sequence[str] = ()) -> str:
    # Naming the runs keeps them alive even on a connection that has sent them nothing yet.
    msg: Dict[str, Any] = {"type": "heartbeat", "time": t}
    if run_ids:
        msg["runIds"] = list(run_ids)
    return dumps(msg)


def parse_json(text: str) -> Dict[str, Any]:
    """A server message as a dict ({} for anything that is not a JSON object)."""
    try:
        msg = json.loads(text)
    except ValueError:
        return {}
    return msg if isinstance(msg, dict) else {}


class Message:
    """One run-scoped message as it goes on the wire: its seq, its text and how many points it carries."""

    __slots__ = ("seq", "text", "points")

    def __init__(self, seq: int, text: str, points: int) -> None:
        self.seq = seq
        self.text = text
        self.points = points


# ----------------------------------------------------------------------
# Decoding and checking (the golden test, and anyone reading a spool file)


def _need(cond: bool, what: str) -> None:
    if not cond:
        raise ProtocolError(what)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_time(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0


def _check_key(key: Any, where: str) -> str:
    _need(isinstance(key, str) and 1 <= len(key) <= MAX_KEY_CODE_POINTS, f"{where} must be a string of 1 to 250 characters")
    return key


def metrics_points(msg: Mapping[str, Any]) -> List[Point]:
    """The points of a `metrics` message (either form) as (key, value, step, time), values decoded."""
    cols = msg.get("cols")
    pts = msg.get("points")
    _need((cols is None) != (pts is None), "metrics: send exactly one of points and cols")
    out: List[Point] = []
    if pts is not None:
        _need(isinstance(pts, list) and len(pts) >= 1, "metrics: points must be a non-empty array")
        for i, p in enumerate(pts):
            _need(isinstance(p, dict), f"metrics: points[{i}] must be an object")
            key = _check_key(p.get("key"), f"points[{i}].key")
            step, t = p.get("step"), p.get("time")
            _need(_is_int(step) and 0 <= step <= MAX_STEP, f"points[{i}].step must be an integer 0 or more")
            _need(_is_time(t), f"points[{i}].time must be seconds since the epoch")
            out.append((key, decode_number(p.get("value")), step, float(t)))
        return out
    _need(isinstance(cols, dict), "metrics: cols must be an object {keys, k, v, s, t}")
    keys, k, v, s, t = (cols.get(f) for f in ("keys", "k", "v", "s", "t"))
    _need(isinstance(keys, list) and len(keys) >= 1, "cols.keys must be a non-empty array")
    for i, key in enumerate(keys):
        _check_key(key, f"cols.keys[{i}]")
    _need(len(set(keys)) == len(keys), "cols.keys must be distinct")
    _need(isinstance(k, list) and len(k) >= 1, "cols.k must be a non-empty array")
    assert isinstance(k, list)
    n = len(k)
    packed_v = isinstance(v, str)
    v, s, t = (unpack_column(c, n, f"cols.{name}") if isinstance(c, str) else c for name, c in (("v", v), ("s", s), ("t", t)))
    for name, col in (("v", v), ("s", s), ("t", t)):
        _need(isinstance(col, list) and len(col) >= 1, f"cols.{name} must be a non-empty array or a packed column")
    assert isinstance(v, list) and isinstance(s, list) and isinstance(t, list)
    _need(n == len(v) == len(s) == len(t), "cols.k, v, s and t must have the same length")
    for i in range(n):
        _need(_is_int(k[i]) and 0 <= k[i] < len(keys), f"cols.k[{i}] must index cols.keys")
        step = s[i]
        if isinstance(step, float) and step.is_integer():  # packed: a float64 that holds an integer
            step = int(step)
        _need(_is_int(step) and 0 <= step <= MAX_STEP, f"cols.s[{i}] must be an integer 0 or more")
        _need(_is_time(t[i]), f"cols.t[{i}] must be seconds since the epoch")
        out.append((keys[k[i]], v[i] if packed_v else decode_number(v[i]), step, float(t[i])))
    return out


def pack_column(values: Sequence[float], code: str = "d") -> str:
    """A packed column: base64 of little-endian float32 ("f") or float64 ("d") numbers."""
    a = _array(code, values)
    if _BIG_ENDIAN:
        a.byteswap()
    return _b64encode(a.tobytes()).decode("ascii")


def column_lists(cols: Mapping[str, Any]) -> Tuple[List[Any], List[Any], List[Any], List[Any]]:
    """The k, v, s and t columns of a stored or received `cols` as lists, packed ones decoded
    (steps as ints; values as on the wire otherwise: NaN and ±Infinity as strings). Unchecked."""
    k = cols["k"]
    n = len(k)
    v, s, t = (unpack_column(c, n, name) if isinstance(c, str) else c for name, c in (("v", cols["v"]), ("s", cols["s"]), ("t", cols["t"])))
    if isinstance(cols["s"], str):
        s = [int(x) for x in s]
    return k, v, s, t


def unpack_column(text: str, n: int, where: str) -> List[float]:
    """The n numbers of a packed column (float32 or float64, by its length); raises ProtocolError."""
    try:
        raw = _b64decode(text, validate=True)
    except ValueError:
        raise ProtocolError(f"{where} is packed but is not base64") from None
    _need(len(raw) in (4 * n, 8 * n), f"{where} is packed but holds {len(raw)} bytes, not {n} float32 or float64 numbers")
    a = _array("f" if len(raw) == 4 * n else "d")
    a.frombytes(raw)
    if _BIG_ENDIAN:
        a.byteswap()
    return a.tolist()


def parse_message(text: str) -> Dict[str, Any]:
    """Decodes and checks any protocol v1 message (client or server side); raises ProtocolError."""
    try:
        msg = json.loads(text)
    except ValueError as e:
        raise ProtocolError(f"not JSON: {e}") from None
    _need(isinstance(msg, dict), "a message is a JSON object")
    kind = msg.get("type")
    if kind in RUN_TYPES:
        rid = msg.get("runId")
        _need(isinstance(rid, str) and 1 <= len(rid) <= MAX_RUN_ID and rid not in (".", ".."), "runId: 1 to 128 characters")
        _need(_is_int(msg.get("seq")) and 1 <= msg["seq"] <= MAX_STEP, "seq must be an integer from 1 up")
    if kind == "metrics":
        msg["_points"] = metrics_points(msg)
    elif kind == "run.start":
        _need(isinstance(msg.get("project"), str) and 1 <= len(msg["project"]) <= 250, "run.start: project is required")
        _need(_is_time(msg.get("time")), "run.start: time is required")
    elif kind == "run.end":
        _need(msg.get("status") in ("finished", "failed", "killed"), "run.end: status is finished, failed or killed")
        _need(_is_time(msg.get("time")), "run.end: time is required")
    elif kind in ("params", "tags"):
        _need(isinstance(msg.get(kind), dict), f"{kind}: {kind} must be an object")
    elif kind == "log":
        _need(msg.get("stream") in ("stdout", "stderr") and isinstance(msg.get("lines"), list), "log: stream and lines")
        _need(_is_time(msg.get("time")), "log: time is required")
    elif kind == "artifact":
        _need(isinstance(msg.get("name"), str) and isinstance(msg.get("path"), str) and msg["path"], "artifact: name and path")
    elif kind == "hello":
        _need(msg.get("protocol") == PROTOCOL_VERSION and isinstance(msg.get("token"), str), "hello: protocol 1 and a token")
    elif kind == "ack":
        _need(isinstance(msg.get("runId"), str) and _is_int(msg.get("seq")), "ack: runId and seq")
    elif kind == "error":
        _need(isinstance(msg.get("code"), str) and isinstance(msg.get("message"), str), "error: code and message")
    elif kind not in ("welcome", "heartbeat"):
        raise ProtocolError(f"unknown message type {kind!r}")
    return msg


# ----------------------------------------------------------------------
# Encoding: queued log() calls -> columnar metrics frames


class Columns:
    """One metrics frame being built, as JSON fragments: the keys once, then a column per field."""

    __slots__ = ("index", "by_enc", "keys", "k", "v", "s", "t", "packed")

    def __init__(self) -> None:
        self.packed = False  # v, s and t each one packed column (a quoted fragment), not lists of numbers
        self.index: Dict[Any, str] = {}  # the name as logged -> its index, as text
        self.by_enc: Dict[str, str] = {}  # the encoded name -> its index
        self.keys: List[str] = []
        self.k: List[str] = []
        self.v: List[str] = []
        self.s: List[str] = []
        self.t: List[str] = []

    def key_index(self, kenc: str) -> Tuple[str, int]:
        """The index (as text) of an encoded name among this frame's keys, added when new, and the bytes it added."""
        ki = self.by_enc.get(kenc)
        if ki is not None:
            return ki, 0
        ki = str(len(self.keys))
        self.by_enc[kenc] = ki
        self.keys.append(kenc)
        return ki, len(kenc) + 1


def metrics_text(run_id: str, seq: int, c: Columns) -> str:
    head = f'{{"type":"metrics","runId":"{run_id}","seq":{seq},"cols":{{"keys":[{",".join(c.keys)}],"k":[{",".join(c.k)}],'
    if c.packed:
        return f'{head}"v":{c.v[0]},"s":{c.s[0]},"t":{c.t[0]}}}}}'
    return f'{head}"v":[{",".join(c.v)}],"s":[{",".join(c.s)}],"t":[{",".join(c.t)}]}}}}'


class Deferred:
    """A queued item that stands for triples read only on the sender thread (TensorBoard capture's
    events: the writer's thread queues the event, this thread decodes it). Queued as `(item, a, b)`;
    the encoder calls `item.expand(a, b)` and encodes the triples it returns in its place, in order."""

    __slots__ = ()

    def expand(self, a: Any, b: Any) -> List[Any]:
        """The flat triples (data, step, time) this item stands for: points dicts and (None, msg, 0.0) controls."""
        return []

    def failed(self, e: BaseException) -> None:
        """`expand` (or reading a DeferredScalar) raised: the item is skipped; the owner decides what else."""


class DeferredScalar(Deferred):
    """One metric queued as `(key, value, (step, time))`, this object being its key: the value is
    stored as float32 holds it (TensorBoard's `simple_value`), a time of 0.0 as the time it is encoded.
    Encoded inline, with no dict per point. `off` (on the class) drops them."""

    __slots__ = ("name", "kenc")
    off = False

    def __init__(self, name: str) -> None:
        self.name = name
        self.kenc: Optional[str] = json.dumps(name) if isinstance(name, str) and 0 < len(name) <= MAX_KEY_CODE_POINTS else None


_time = time.time
_fmts: Dict[int, str] = {}


def _fmt(n: int) -> str:
    """A format for n numbers with 17 significant digits, comma-separated (cached: runs repeat in length)."""
    f = _fmts.get(n)
    if f is None:
        f = ",".join(["%.17g"] * n)
        if len(_fmts) < 256:
            _fmts[n] = f
    return f


def _times_filled(walls: Sequence[float]) -> Sequence[float]:
    """An event with no wall time (0.0) gets the time it is encoded, as a log() call's is taken when made."""
    if 0.0 not in walls:
        return walls
    now = _time()
    return [w or now for w in walls]


Warn = Callable[[str, str], None]  # (once-only code, message)
SlowValue = Callable[[Any, Any], Optional[str]]  # (key, value) -> JSON fragment or None (skipped, warned)


class FrameEncoder:
    """Turns the queue's (data, step, time) triples into messages with consecutive seqs.

    Control messages travel in the queue as (None, message dict, 0.0). A value, key, step or
    message that cannot be encoded is reported once (through `warn`) and skipped: nothing here
    may raise, or the points already in the frame being built would go with it.
    """

    def __init__(self, run_id: str, warn: Warn, slow_value: SlowValue, describe: Callable[[Any], str]) -> None:
        self.run_id = run_id
        self.seq = 1  # run.start
        self.max_points = DEFAULT_MAX_POINTS
        self.max_bytes = DEFAULT_MAX_BYTES
        self._warn = warn
        self._slow_value = slow_value
        self._r = describe
        self._keys: Dict[Any, Optional[str]] = {}

    def set_limits(self, limits: Mapping[str, Any]) -> None:
        mp, mb = limits.get("maxBatchPoints"), limits.get("maxFrameBytes")
        if _is_int(mp) and mp > 0:
            self.max_points = min(mp, CLIENT_MAX_POINTS)
        if _is_int(mb) and mb > 4096:
            self.max_bytes = min(mb // 2, CLIENT_MAX_BYTES)

    def encode(self, q: Any, items: int) -> List[Message]:
        """Encodes the first `items` triples of deque `q` (popping them), and what the Deferred ones among them stand for."""
        popleft = q.popleft
        out: List[Message] = []
        cols = Columns()
        size = 0
        max_points = self.max_points
        max_bytes = self.max_bytes
        keys = self._keys
        ki_len = len(str(max_points)) + 4  # at most this long with its comma: a frame has fewer keys than points
        # DeferredScalar points not formatted yet (their values and (step, time) pairs): the last ones of `cols.k`.
        fv: List[Any] = []
        fe: List[Any] = []
        fkey: Any = None
        fast_bound = 25 + 16 + 25 + ki_len  # the longest a float, a step and a time can be, and a key index
        left = items
        while left > 0:
            left -= 1
            data = popleft()
            step = popleft()
            t = popleft()
            if data is None:
                if fv:
                    self._end_fast(cols, fv, fe, fkey)
                    fv, fe = [], []
                if cols.k:
                    out.append(self._frame(cols))
                    cols = Columns()
                    size = 0
                msg = self._control(step)
                if msg is not None:
                    out.append(msg)
                continue
            if data.__class__ is not dict:
                if isinstance(data, DeferredScalar):
                    # (key, value, (step, time)): one point and no dict. Formatted in _end_fast (or
                    # _flush_fast), a run of them at once: here only its key index, value and (step, time) are kept.
                    if data.off:
                        continue
                    ki = cols.index.get(data)
                    if ki is None:
                        kenc = data.kenc
                        if kenc is None:
                            self._warn("key", f"metric names are strings of 1 to 250 characters; {self._r(data.name)} was skipped.")
                            continue
                        ki, grown = cols.key_index(kenc)
                        size += grown
                        cols.index[data] = ki
                    cols.k.append(ki)
                    fv.append(step)
                    fe.append(t)
                    fkey = data
                    size += fast_bound
                    room = min(left, max_points - len(cols.k), (max_bytes - size) // fast_bound)
                    if room >= 8:  # what follows is mostly more of the same: taken in bulk
                        taken, grown = self._take_fast(q, room, cols, fv, fe)
                        left -= taken
                        size += taken * fast_bound + grown
                    if len(cols.k) >= max_points or size >= max_bytes:
                        self._end_fast(cols, fv, fe, fkey)
                        fv, fe = [], []
                        if cols.k:
                            out.append(self._frame(cols))
                        cols = Columns()
                        size = 0
                    continue
                if fv:
                    self._flush_fast(cols, fv, fe, fkey)
                    fv, fe = [], []
                if isinstance(data, Deferred):
                    try:
                        more = data.expand(step, t)
                    except Exception as e:  # noqa: BLE001 - the item is skipped, the frame goes on
                        data.failed(e)
                        continue
                    if more:  # encoded next, in its place
                        q.extendleft(reversed(more))
                        left += len(more) // 3
                    continue
            elif fv:
                self._flush_fast(cols, fv, fe, fkey)
                fv, fe = [], []
            if type(step) is not int or step < 0 or step > MAX_STEP:
                step = self._fix_step(step)
                if step is None:
                    continue
            # One log() call shares its step and time: added to their columns once per call
            # (or when a frame fills up), `pending` points at a time.
            senc = str(step)
            tenc = repr(t)
            per_point = len(senc) + len(tenc) + ki_len  # the step, the time, a key index and four commas
            index = cols.index
            kcol = cols.k
            vcol = cols.v
            pending = 0
            try:
                for k, v in data.items():
                    ki = index.get(k)
                    if ki is None:
                        kenc = keys.get(k, "")
                        if kenc == "":
                            kenc = self._key(k)
                        if kenc is None:
                            continue
                        # Two names that encode alike must share one entry: keys are distinct on the wire.
                        ki, grown = cols.key_index(kenc)
                        size += grown
                        index[k] = ki
                    tv = type(v)
                    if tv is float:
                        venc = repr(v) if v - v == 0 else encode_float(v)
                    elif tv is int:
                        try:
                            venc = str(v)
                        except ValueError:  # more digits than int -> str allows
                            venc = self._slow_value(k, v)
                            if venc is None:
                                continue
                    else:
                        venc = self._slow_value(k, v)
                        if venc is None:
                            continue
                    kcol.append(ki)
                    vcol.append(venc)
                    pending += 1
                    size += len(venc) + per_point
                    if len(kcol) >= max_points or size >= max_bytes:
                        cols.s.extend([senc] * pending)
                        cols.t.extend([tenc] * pending)
                        pending = 0
                        out.append(self._frame(cols))
                        cols = Columns()
                        size = 0
                        index = cols.index
                        kcol = cols.k
                        vcol = cols.v
            except Exception as e:  # noqa: BLE001 - a mapping whose items() raises: keep what it gave
                self._warn("log-data", f"run.log() got a {type(data).__name__} that could not be read ({e!r}); what could not be read was skipped.")
            if pending:
                cols.s.extend([senc] * pending)
                cols.t.extend([tenc] * pending)
        if fv:
            self._end_fast(cols, fv, fe, fkey)
        if cols.k:
            out.append(self._frame(cols))
        return out

    @staticmethod
    def _take_fast(q: Any, room: int, cols: Columns, fv: List[Any], fe: List[Any]) -> Tuple[int, int]:
        """Takes up to `room` triples off `q` in C loops while they are DeferredScalar points (the rest goes
        back): their key indexes to `cols.k`, values to `fv`, (step, time) pairs to `fe`. Returns how many
        were taken and the bytes their new keys add. A key that cannot be encoded ends the run (the loop
        item by item warns and skips it)."""
        popleft = q.popleft
        flat = [popleft() for _ in range(3 * room)]
        data = flat[0::3]
        first = data[0].__class__
        n = 0
        if issubclass(first, DeferredScalar) and not first.off:
            classes = list(map(type, data))
            n = room if classes.count(first) == room else next(i for i, c in enumerate(classes) if c is not first)
        grown = 0
        if n:
            get = cols.index.get
            kis = list(map(get, data[:n]))
            while True:  # keys new to this frame
                try:
                    i = kis.index(None)
                except ValueError:
                    break
                d = data[i]
                kenc = d.kenc
                if kenc is None:
                    n = i
                    del kis[i:]
                    break
                ki, more = cols.key_index(kenc)
                grown += more
                cols.index[d] = ki
                kis[i:] = map(get, data[i:n])
            cols.k.extend(kis)
            fv.extend(flat[1:3 * n:3])
            fe.extend(flat[2:3 * n:3])
        if n < room:
            q.extendleft(reversed(flat[3 * n:]))
        return n, grown

    def _end_fast(self, cols: Columns, fv: List[Any], fw: List[Any], key: DeferredScalar) -> None:
        """Formats the DeferredScalar points the frame ends with: packed columns when they are all its
        points (no number formatted here, none parsed by the collector), else as numbers."""
        n = len(fv)
        if not n or n != len(cols.k):
            self._flush_fast(cols, fv, fw, key)
            return
        try:
            steps, walls = zip(*fw)
            if min(steps) < 0 or max(steps) > MAX_STEP:  # skipped, warned: the text path does that
                self._flush_fast(cols, fv, fw, key)
                return
            walls = _times_filled(walls)
            cols.v.append(f'"{pack_column(fv, "f")}"')  # float32 as the event file holds it
            cols.s.append(f'"{pack_column(steps)}"')
            cols.t.append(f'"{pack_column(walls)}"')
            cols.packed = True
        except Exception as e:  # noqa: BLE001 - these points are dropped, the frame goes on
            del cols.k[len(cols.k) - n:]
            cols.v.clear()
            cols.s.clear()
            cols.t.clear()
            key.failed(e)

    def _flush_fast(self, cols: Columns, fv: List[Any], fw: List[Any], key: DeferredScalar) -> None:
        """Formats a run of DeferredScalar points (the last len(fv) of cols.k) at once, in C loops:
        values rounded to float32, steps and times, one fragment per column. A number is written with
        17 significant digits: the same double as repr() gives, for less work."""
        n = len(fv)
        if not n:
            return
        try:
            values = _array("f", fv).tolist()  # float32 as the event file holds it
            steps, walls = map(list, zip(*fw))
            if min(steps) < 0 or max(steps) > MAX_STEP:  # skipped, as a log() with such a step is
                keep = [i for i in range(n) if 0 <= steps[i] <= MAX_STEP]
                self._fix_step(next(x for x in steps if not 0 <= x <= MAX_STEP))  # warns (once)
                kept_k = cols.k[len(cols.k) - n:]
                del cols.k[len(cols.k) - n:]
                cols.k.extend(kept_k[i] for i in keep)
                values, steps, walls = [values[i] for i in keep], [steps[i] for i in keep], [walls[i] for i in keep]
                n = len(keep)
                if not n:
                    return
            walls = _times_filled(walls)
            fmt = _fmt(n)
            vtext = fmt % tuple(values)
            if "n" in vtext:  # inf or nan (never from capture's fast path): the protocol's strings
                vtext = ",".join(map(encode_float, values))
            cols.v.append(vtext)
            cols.s.append(",".join(map(str, steps)))
            cols.t.append(fmt % tuple(walls))
        except Exception as e:  # noqa: BLE001 - these points are dropped, the frame goes on
            del cols.k[len(cols.k) - n:]
            key.failed(e)

    def _frame(self, cols: Columns) -> Message:
        self.seq += 1
        return Message(self.seq, metrics_text(self.run_id, self.seq, cols), len(cols.k))

    def _control(self, msg: Dict[str, Any]) -> Optional[Message]:
        try:
            msg["seq"] = self.seq + 1
            text = dumps(msg)
        except Exception as e:  # noqa: BLE001 - default=str may meet an object whose __str__ raises
            kind = msg.get("type", "?") if isinstance(msg, dict) else "?"
            self._warn("encode-" + str(kind), f"a {kind} message could not be encoded ({e}); it was skipped.")
            return None
        self.seq += 1
        return Message(self.seq, text, 0)

    def _key(self, k: Any) -> Optional[str]:
        enc: Optional[str] = None
        if isinstance(k, str) and 0 < len(k) <= MAX_KEY_CODE_POINTS:
            enc = json.dumps(k)  # ASCII escapes: a lone surrogate cannot break the UTF-8 encoding later
        else:
            self._warn("key", f"metric names are strings of 1 to 250 characters; {self._r(k)} was skipped.")
        if len(self._keys) < 100000:
            self._keys[k] = enc
        return enc

    def _fix_step(self, step: Any) -> Optional[int]:
        if not isinstance(step, bool):
            try:
                s = operator.index(step)  # numpy and torch integers
                if 0 <= s <= MAX_STEP:
                    return s
            except TypeError:
                pass
        self._warn("step", f"step must be an integer from 0 to 2**53 - 1, got {self._r(step)}; those values were skipped.")
        return None
