"""The run: a cheap `log()` on the training thread, a sender thread that does everything else."""

from __future__ import annotations

import collections
import json
import math
import operator
import os
import sys
import threading
import time
import uuid
from typing import Any, Callable, Deque, Dict, Iterable, List, Mapping, Optional, Set, Tuple, Union

from . import _context, _discovery
from ._ws import WebSocket, WebSocketClosed, WebSocketError

__version__ = "0.1.0"
PROTOCOL_VERSION = 1
FINAL_STATUSES = ("finished", "failed", "killed")

ParamValue = Union[str, int, float, bool, None]

# How often the sender thread wakes to send what was logged: short enough that a live chart lags
# training by tens of milliseconds, long enough that batches stay large and wake-ups cheap.
SEND_INTERVAL_S = 0.02
# A queue that grew by more than this many items (3 per log call) within one wake-up means a
# hot logging loop: the sender waits (at most BURST_DEFER_S) instead of competing for the GIL.
BURST_ITEMS = 3 * 4_000
BURST_DEFER_S = 0.5

_time = time.time
_monotonic = time.monotonic


def _env_float(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, ""))
        return value if value >= 0 and math.isfinite(value) else default
    except ValueError:
        return default


def _dumps(msg: Mapping[str, Any]) -> str:
    return json.dumps(msg, separators=(",", ":"), allow_nan=False, default=str)


def _param_value(v: Any) -> ParamValue:
    """Params are strings, finite numbers, booleans or null on the wire; anything else becomes a string."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else ("NaN" if v != v else ("Infinity" if v > 0 else "-Infinity"))
    try:
        return _dumps(v) if isinstance(v, (list, tuple)) else str(v)
    except (TypeError, ValueError):
        return str(v)


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> Dict[str, ParamValue]:
    """Nested dicts become dotted keys ({"opt": {"lr": 1}} -> {"opt.lr": 1}), as other trackers show them."""
    out: Dict[str, ParamValue] = {}
    for k, v in params.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.update(flatten_params(v, key + "."))
        else:
            out[key] = _param_value(v)
    return out


def normalize_tags(tags: Any) -> Dict[str, str]:
    """Tags are a str->str map; a plain list of names becomes names with empty values."""
    if tags is None:
        return {}
    if isinstance(tags, Mapping):
        return {str(k): "" if v is None else str(v) for k, v in tags.items()}
    if isinstance(tags, str):
        return {tags: ""}
    return {str(t): "" for t in tags}


def _encode_float(v: float) -> str:
    if v - v == 0:  # finite: inf - inf and nan - nan are nan
        return repr(v)
    return '"NaN"' if v != v else ('"Infinity"' if v > 0 else '"-Infinity"')


class _Unacked:
    __slots__ = ("seq", "text", "points")

    def __init__(self, seq: int, text: str, points: int) -> None:
        self.seq = seq
        self.text = text
        self.points = points


class _Columns:
    """One metrics frame being built, as JSON fragments: the keys once, then a column per field."""

    __slots__ = ("index", "by_enc", "keys", "k", "v", "s", "t")

    def __init__(self) -> None:
        self.index: Dict[Any, str] = {}  # the name as logged -> its index, as text
        self.by_enc: Dict[str, str] = {}  # the encoded name -> its index
        self.keys: List[str] = []
        self.k: List[str] = []
        self.v: List[str] = []
        self.s: List[str] = []
        self.t: List[str] = []


class Run:
    """One training run. Create it with `runwatch.init(...)`.

    `log()` only appends to a deque; the sender thread validates, encodes,
    sends, resends after reconnects and spools to disk when the collector is gone.
    Nothing here raises into training code: problems are warned about once.
    """

    def __init__(
        self,
        project: Optional[str] = None,
        name: Optional[str] = None,
        config: Optional[Mapping[str, Any]] = None,
        tags: Any = None,
        url: Optional[str] = None,
        token: Optional[str] = None,
        parent_run_id: Optional[str] = None,
        flush_timeout: Optional[float] = None,
    ) -> None:
        self.id: str = uuid.uuid4().hex
        self._warned: Set[str] = set()
        self.project: str = str(project or os.environ.get("RUNWATCH_PROJECT") or self._default_project())[:250]
        self.name: str = str(name or self._default_name())[:250]
        self.start_time: float = _time()
        # Flat triples (data, step, time): `extend` of a temporary tuple is atomic under the GIL (so
        # threads never interleave a triple) and leaves no GC-tracked object per call in the queue,
        # which keeps the cyclic GC from walking a long queue again and again.
        self._queue: Deque[Any] = collections.deque()
        # Bound once: the hot path is one attribute lookup and one call.
        self._append: Callable[[Tuple[Any, Any, float]], None] = self._queue.extend
        self._next_step = 0
        self.status: Optional[str] = None
        self._finish_deadline: Optional[float] = None
        self.flush_timeout = flush_timeout if flush_timeout is not None else _env_float("RUNWATCH_FLUSH_TIMEOUT", 5.0)
        self.grace_seconds = _env_float("RUNWATCH_GRACE_SECONDS", 30.0)

        params: Dict[str, ParamValue] = {}
        try:
            if config is not None:
                params = flatten_params(dict(config) if not isinstance(config, Mapping) else config)
        except Exception as e:  # noqa: BLE001
            self._warn("config", f"config={_r(config)} is not a mapping ({e}); it was ignored. Pass a dict of parameters.")
        self._start_msg: Dict[str, Any] = {
            "type": "run.start",
            "runId": self.id,
            "seq": 1,
            "project": self.project,
            "name": self.name,
            "time": self.start_time,
            "params": params,
            "tags": self._safe_tags(tags),
        }
        if parent_run_id:
            self._start_msg["parentRunId"] = str(parent_run_id)
        self._start_text: Optional[str] = None

        target = _discovery.resolve(url, token)
        self.url: Optional[str] = target.url
        self._token: str = target.token or ""
        self._url_source = target.source
        # A discovery file naming this collector: when it is gone, look there for where it came back.
        self._follow: Optional[str] = target.follow
        self.spool_dir: str = target.spool_dir
        self.spool_path: Optional[str] = None

        # Sender-thread state.
        self._seq = 1
        self._unacked: Deque[_Unacked] = collections.deque()
        self.acked_seq = 0
        self.acked_points = 0
        # Test/debug hook: called on the sender thread with (acked seq, points acknowledged so far).
        self._on_ack: Optional[Callable[[int, int], None]] = None
        self._ws: Optional[WebSocket] = None
        self._spool_file: Optional[Any] = None
        self._spool_failed = False
        self._disconnected_since: Optional[float] = None
        self._next_attempt = 0.0
        self._backoff = 0.1
        self._last_sent = 0.0
        self._heartbeat_every = 5.0
        self._max_points = 10000
        self._max_bytes = 1 << 20
        self._keys: Dict[Any, Optional[str]] = {}
        self._qlen_seen = 0
        self._burst_since: Optional[float] = None
        self._wake = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"runwatch-sender-{self.id[:8]}", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------
    # Training-thread API

    def log(self, data: Mapping[str, Any], step: Optional[int] = None) -> None:
        """Records metrics at `step` (the next step when omitted). Only enqueues; never raises."""
        try:
            if step is None:
                step = self._next_step
            elif step.__class__ is not int or step < 0:
                self._log_slow(data, step)
                return
            self._next_step = step + 1
            self._append((data.copy(), step, _time()))
        except Exception:  # noqa: BLE001 - odd input takes the slow path, never the caller down
            self._log_slow(data, step)

    def _log_slow(self, data: Any, step: Any) -> None:
        try:
            if not isinstance(data, Mapping):
                self._warn("log-data", f"run.log() takes a dict of metric names to numbers, got {type(data).__name__}; it was skipped.")
                return
            if step is None:
                step = self._next_step
            elif isinstance(step, bool):
                step = -1
            else:
                try:
                    step = operator.index(step)  # numpy and torch integers
                except TypeError:
                    step = -1
            if step < 0:
                self._warn("step", "step must be an integer 0 or more; values logged with another step were skipped.")
                return
            self._next_step = step + 1
            self._append((dict(data), step, _time()))
        except Exception as e:  # noqa: BLE001
            self._warn("log-internal", f"run.log() could not record a value ({e!r}); it was skipped.")

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Records (or updates) hyperparameters; nested dicts become dotted keys."""
        try:
            flat = flatten_params(params)
        except Exception as e:  # noqa: BLE001
            self._warn("params", f"log_params() takes a dict, got {type(params).__name__} ({e}); it was skipped.")
            return
        if flat:
            self._control({"type": "params", "runId": self.id, "params": flat})

    def set_tags(self, tags: Any) -> None:
        """Sets tags: a dict of str to str, or a list of names."""
        t = self._safe_tags(tags)
        if t:
            self._control({"type": "tags", "runId": self.id, "tags": t})

    def log_artifact(self, path: str, name: Optional[str] = None, kind: str = "file", metadata: Optional[Mapping[str, Any]] = None) -> None:
        """Records a file (or folder) the run produced, by absolute path; the file itself is not copied."""
        try:
            p = os.path.abspath(os.fspath(path))
            meta: Dict[str, Any] = dict(metadata or {})
            try:
                st = os.stat(p)
                meta.setdefault("size", st.st_size)
            except OSError:
                self._warn("artifact-missing", f"log_artifact(): {p} does not exist (yet); it is recorded anyway.")
            self._control(
                {
                    "type": "artifact",
                    "runId": self.id,
                    "name": str(name or os.path.basename(p.rstrip(os.sep)) or p)[:500],
                    "path": p,
                    "kind": str(kind)[:50],
                    "metadata": meta,
                }
            )
        except Exception as e:  # noqa: BLE001
            self._warn("artifact", f"log_artifact({_r(path)}) failed: {e}; it was skipped.")

    def log_output(self, lines: Union[str, Iterable[str]], stream: str = "stdout") -> None:
        """Records lines of console output (stream "stdout" or "stderr")."""
        try:
            items = lines.splitlines() if isinstance(lines, str) else [str(x) for x in lines]
            if items:
                self._control(
                    {"type": "log", "runId": self.id, "stream": "stderr" if stream == "stderr" else "stdout", "lines": items, "time": _time()}
                )
        except Exception as e:  # noqa: BLE001
            self._warn("log-output", f"log_output() failed: {e}; it was skipped.")

    def finish(self, status: str = "finished", reason: Optional[str] = None, timeout: Optional[float] = None) -> None:
        """Ends the run and waits (at most `timeout`, default RUNWATCH_FLUSH_TIMEOUT or 5 s) until the collector holds everything.

        What the collector has not acknowledged by then is written to the spool.
        """
        if self.status is not None:
            return
        if status not in FINAL_STATUSES:
            self._warn("status", f"finish(status={_r(status)}): the status is one of {', '.join(FINAL_STATUSES)}; using 'finished'.")
            status = "finished"
        self.status = status
        self._append = self._append_after_finish
        end: Dict[str, Any] = {"type": "run.end", "runId": self.id, "status": status, "time": _time()}
        if reason:
            end["reason"] = str(reason)[:10000]
        self._queue.extend((None, end, 0.0))
        wait = self.flush_timeout if timeout is None else max(0.0, timeout)
        self._finish_deadline = _monotonic() + wait
        self._wake.set()
        _unregister(self)
        self._done.wait(wait + 3.0)

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.finish("finished")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.finish("killed", reason="KeyboardInterrupt")
        else:
            self.finish("failed", reason=_describe(exc_type, exc))

    def __repr__(self) -> str:
        return f"<runwatch.Run {self.id} project={self.project!r} name={self.name!r}>"

    # ------------------------------------------------------------------
    # Helpers used on both threads

    def _append_in_child(self, item: Tuple[Any, Any, float]) -> None:
        self._warn("forked", "values logged in a forked child process (e.g. a DataLoader worker) are ignored; log from the process that called runwatch.init().")

    def _append_after_finish(self, item: Tuple[Any, Any, float]) -> None:
        self._warn("after-finish", "this run has finished; values logged after finish() are ignored. Call runwatch.init() for a new run.")

    def _control(self, msg: Dict[str, Any]) -> None:
        self._append((None, msg, 0.0))

    def _safe_tags(self, tags: Any) -> Dict[str, str]:
        try:
            return normalize_tags(tags)
        except Exception as e:  # noqa: BLE001
            self._warn("tags", f"tags={_r(tags)} is neither a dict nor a list of names ({e}); they were ignored.")
            return {}

    def _warn(self, code: str, message: str) -> None:
        if code in self._warned:
            return
        self._warned.add(code)
        _warn(message)

    @staticmethod
    def _default_project() -> str:
        try:
            return os.path.basename(os.getcwd()) or "default"
        except OSError:
            return "default"

    @staticmethod
    def _default_name() -> str:
        script = os.path.splitext(os.path.basename(sys.argv[0] if sys.argv and sys.argv[0] else "python"))[0] or "python"
        return f"{script}-{time.strftime('%Y%m%d-%H%M%S')}"

    # ------------------------------------------------------------------
    # Sender thread

    def _main(self) -> None:
        try:
            self._loop()
        except Exception as e:  # noqa: BLE001 - last resort: keep the data
            _warn(f"runwatch: internal error in the sender thread ({e!r}); writing what is left to the spool.")
            try:
                self._enter_spool("internal error")
                self._write_spool(self._encode_pending())
            except Exception:  # noqa: BLE001
                pass
        finally:
            if self._ws is not None:
                self._ws.abort()
            if self._spool_file is not None:
                try:
                    self._spool_file.close()
                except OSError:
                    pass
            self._done.set()

    def _loop(self) -> None:
        self._start_msg["context"] = _context.collect()
        self._start_text = _dumps(self._start_msg)
        self._unacked.append(_Unacked(1, self._start_text, 0))
        if not self.url:
            self._enter_spool("no Runwatch collector found (no url=, no RUNWATCH_URL, no .runwatch/collector.json)")
        else:
            self._disconnected_since = _monotonic()
            self._try_connect()
        last_touch = _monotonic()
        while True:
            # 1. Wait a little (SEND_INTERVAL_S) for acks or a wake-up, reading what the collector sends.
            ws = self._ws
            if ws is not None:
                try:
                    for text in ws.poll(SEND_INTERVAL_S):
                        self._on_message(text)
                except WebSocketClosed as e:
                    self._on_closed(e)
                except WebSocketError as e:
                    self._on_lost(str(e))
            else:
                self._wake.wait(SEND_INTERVAL_S)
                self._wake.clear()
            # 2. Encode what the training thread queued, and send or spool it; but while the training
            # thread logs in a burst, stay out of its way (the GIL) for up to BURST_DEFER_S.
            qlen = len(self._queue)
            now = _monotonic()
            if qlen - self._qlen_seen > BURST_ITEMS and self._finish_deadline is None and now - (self._burst_since or now) < BURST_DEFER_S:
                if self._burst_since is None:
                    self._burst_since = now
                self._qlen_seen = qlen
                continue
            self._burst_since = None
            fresh = self._encode_pending()
            self._qlen_seen = len(self._queue)
            if fresh:
                if self._spool_file is not None or self._spool_failed:
                    self._write_spool(fresh)
                else:
                    self._unacked.extend(fresh)
                    if self._ws is not None:
                        self._send_all(fresh)
            now = _monotonic()
            # 3. Keep the connection: reconnect with backoff, or give up and spool after the grace period.
            if self._ws is None and self._spool_file is None and not self._spool_failed:
                if self._disconnected_since is not None and now - self._disconnected_since > self.grace_seconds:
                    self._enter_spool(f"the collector at {self.url} stayed unreachable for {self.grace_seconds:g} s")
                elif now >= self._next_attempt:
                    self._try_connect()
            # 4. Heartbeats while idle, so the collector can tell a quiet run from a dead one.
            if self._ws is not None and now - self._last_sent > self._heartbeat_every:
                self._send_all_raw([_dumps({"type": "heartbeat", "time": _time()})])
            if self._spool_file is not None and now - last_touch > 10.0:
                last_touch = now
                try:
                    os.utime(self.spool_path)  # type: ignore[arg-type]
                except OSError:
                    pass
            # 5. Finishing: done when everything is acknowledged (or spooled), or at the deadline.
            if self._finish_deadline is not None and not self._queue:
                if not self._unacked or self._spool_file is not None or self._spool_failed:
                    if self._ws is not None:
                        self._ws.close(1000, "run finished")
                        self._ws = None
                    return
                if now >= self._finish_deadline:
                    why = f"the collector had not acknowledged everything within {self.flush_timeout:g} s of finish()"
                    self._enter_spool(why)
                    return

    def _encode_pending(self) -> List[_Unacked]:
        """Turns queued items into wire messages with their seqs. Bad values are warned about once and skipped.

        Metrics go out in the columnar form of protocol v1 (`cols`: the frame's distinct keys once,
        then one column each of key indexes, values, steps and times): half the bytes of one object
        per point, and far cheaper for the collector to parse.
        """
        q = self._queue
        popleft = q.popleft
        out: List[_Unacked] = []
        cols = _Columns()
        size = 0
        max_points = self._max_points
        max_bytes = self._max_bytes
        keys = self._keys
        ki_len = len(str(max_points)) + 4  # at most this long with its comma: a frame has fewer keys than points
        # Only what is queued now: a training thread that logs faster than this encodes must not
        # keep the sender here forever (nothing would be sent until the loop ends).
        for _ in range(len(q) // 3):
            data = popleft()
            step = popleft()
            t = popleft()
            if data is None:
                if cols.k:
                    out.append(self._metrics_frame(cols))
                    cols = _Columns()
                    size = 0
                self._seq += 1
                msg = step
                msg["seq"] = self._seq
                try:
                    text = _dumps(msg)
                except (TypeError, ValueError) as e:
                    self._warn("encode-" + msg["type"], f"a {msg['type']} message could not be encoded ({e}); it was skipped.")
                    self._seq -= 1
                    continue
                out.append(_Unacked(self._seq, text, 0))
                continue
            if type(step) is not int or step < 0:
                step = self._fix_step(step)
                if step is None:
                    continue
            try:
                items = data.items()
            except Exception:  # noqa: BLE001 - log() takes anything; only mappings are kept
                self._warn("log-data", f"run.log() takes a dict of metric names to numbers, got {type(data).__name__}; it was skipped.")
                continue
            # One log() call shares its step and time: they are added to their columns once per call
            # (or when a frame fills up), `pending` points at a time.
            senc = str(step)
            tenc = repr(t)
            per_point = len(senc) + len(tenc) + ki_len  # the step, the time, a key index and four commas
            index = cols.index
            kcol = cols.k
            vcol = cols.v
            pending = 0
            for k, v in items:
                ki = index.get(k)
                if ki is None:
                    kenc = keys.get(k, "")
                    if kenc == "":
                        kenc = self._key(k)
                    if kenc is None:
                        continue
                    # Two names that encode alike must share one entry: keys are distinct on the wire.
                    ki = cols.by_enc.get(kenc)
                    if ki is None:
                        ki = str(len(cols.keys))
                        cols.by_enc[kenc] = ki
                        cols.keys.append(kenc)
                        size += len(kenc) + 1
                    index[k] = ki
                tv = type(v)
                if tv is float:
                    venc = repr(v) if v - v == 0 else _encode_float(v)
                elif tv is int:
                    venc = str(v)
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
                    out.append(self._metrics_frame(cols))
                    cols = _Columns()
                    size = 0
                    index = cols.index
                    kcol = cols.k
                    vcol = cols.v
            if pending:
                cols.s.extend([senc] * pending)
                cols.t.extend([tenc] * pending)
        if cols.k:
            out.append(self._metrics_frame(cols))
        return out

    def _metrics_frame(self, cols: "_Columns") -> _Unacked:
        self._seq += 1
        text = (
            f'{{"type":"metrics","runId":"{self.id}","seq":{self._seq},"cols":{{"keys":[{",".join(cols.keys)}],'
            f'"k":[{",".join(cols.k)}],"v":[{",".join(cols.v)}],"s":[{",".join(cols.s)}],"t":[{",".join(cols.t)}]}}}}'
        )
        return _Unacked(self._seq, text, len(cols.k))

    def _key(self, k: Any) -> Optional[str]:
        enc: Optional[str] = None
        if isinstance(k, str) and 0 < len(k) <= 250:
            enc = json.dumps(k)  # ASCII escapes: a lone surrogate cannot break the UTF-8 encoding later
        else:
            self._warn("key", f"metric names are strings of 1 to 250 characters; {_r(k)} was skipped.")
        if len(self._keys) < 100000:
            self._keys[k] = enc
        return enc

    def _fix_step(self, step: Any) -> Optional[int]:
        if not isinstance(step, bool):
            try:
                s = operator.index(step)  # numpy and torch integers
                if s >= 0:
                    return s
            except TypeError:
                pass
        self._warn("step", f"step must be an integer 0 or more, got {_r(step)}; those values were skipped.")
        return None

    def _slow_value(self, k: Any, v: Any) -> Optional[str]:
        if isinstance(v, bool):
            return "1" if v else "0"
        if not isinstance(v, (str, bytes)) and v is not None:
            try:
                f = float(v)  # numpy scalars, 0-d tensors, Decimal, Fraction
                return repr(f) if f - f == 0 else _encode_float(f)
            except (TypeError, ValueError, OverflowError):
                pass
            except Exception:  # noqa: BLE001 - a user's __float__ may raise anything
                pass
        self._warn("value:" + _r(k), f"metric {_r(k)}: {type(v).__name__} value {_r(v)} is not a number; skipped (this warning is shown once per metric).")
        return None

    # -- connection

    def _try_connect(self) -> None:
        assert self.url is not None
        # While finishing, an attempt must not outlast finish()'s deadline (the spool comes after it).
        budget = 10.0 if self._finish_deadline is None else max(0.2, self._finish_deadline - _monotonic())
        ws = WebSocket(self.url, timeout=min(5.0, budget))
        try:
            ws.connect()
            ws.send_text(_dumps({"type": "hello", "client": "runwatch-python", "version": __version__, "protocol": PROTOCOL_VERSION, "token": self._token}))
            deadline = _monotonic() + budget
            welcome = None
            while welcome is None:
                if _monotonic() > deadline:
                    raise WebSocketError(f"no welcome from the collector within {budget:g} s of hello")
                for text in ws.poll(0.1):
                    msg = _parse(text)
                    if msg.get("type") == "welcome":
                        welcome = msg
                        break
                    if msg.get("type") == "error":
                        if msg.get("code") == "not_authenticated":
                            raise WebSocketClosed(1008, str(msg.get("message", "")))
                        self._on_message(text)
        except WebSocketClosed as e:
            ws.abort()
            self._on_closed(e)
            return
        except WebSocketError as e:
            ws.abort()
            self._schedule_retry(str(e))
            return
        limits = welcome.get("limits") if isinstance(welcome.get("limits"), dict) else {}
        if isinstance(limits.get("maxBatchPoints"), int) and limits["maxBatchPoints"] > 0:
            self._max_points = min(limits["maxBatchPoints"], 50000)
        if isinstance(limits.get("maxFrameBytes"), int) and limits["maxFrameBytes"] > 4096:
            self._max_bytes = min(limits["maxFrameBytes"] // 2, 4 << 20)
        hb = welcome.get("heartbeatIntervalMs")
        if isinstance(hb, (int, float)) and hb > 0:
            self._heartbeat_every = max(0.2, hb / 1000.0)
        assert ws.sock is not None
        ws.sock.settimeout(10.0)
        self._ws = ws
        if self._disconnected_since is not None and self.acked_seq > 0:
            self._warn("reconnected", f"runwatch: reconnected to the collector at {self.url}; resending {len(self._unacked)} unacknowledged messages (shown once).")
        self._disconnected_since = None
        self._backoff = 0.1
        # The run.start always goes first on a new connection, so the collector knows the run even
        # if it restarted; it drops the seqs it already holds.
        resend = [self._start_text or ""] + [u.text for u in self._unacked if u.seq != 1]
        self._send_all_raw(resend)

    def _schedule_retry(self, why: str) -> None:
        if self._disconnected_since is None:
            self._disconnected_since = _monotonic()
        if self._rediscover():
            self._next_attempt = _monotonic()
            return
        self._warn("connect", f"runwatch: cannot reach the collector at {self.url} ({why}); retrying and keeping data in memory.")
        self._next_attempt = _monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, 2.0)

    def _rediscover(self) -> bool:
        """After VS Code restarts, its collector listens on a new port with a new token and rewrites
        the discovery file: switch to it (the run goes on there; the collector drops seqs it holds)."""
        if self._follow is None:
            return False
        try:
            found = _discovery.moved(self._follow, self.url, self._token)
        except Exception:  # noqa: BLE001 - never let a bad file stop the sender
            return False
        if found is None:
            return False
        old = self.url
        self.url, self._token = found
        self._url_source = self._follow
        self._backoff = 0.1
        self._warn("moved", f"runwatch: the collector moved from {old} to {self.url} ({self._follow}); reconnecting there (shown once).")
        return True

    def _on_lost(self, why: str) -> None:
        if self._ws is not None:
            self._ws.abort()
        self._ws = None
        self._warn("lost", f"runwatch: lost the collector at {self.url} ({why}); reconnecting, nothing is dropped.")
        self._disconnected_since = _monotonic()
        self._next_attempt = _monotonic()
        self._backoff = 0.1

    def _on_closed(self, e: WebSocketClosed) -> None:
        if self._ws is not None:
            self._ws.abort()
        self._ws = None
        if e.code == 1008:
            if self._rediscover():  # a collector restarted on the same port has a new token
                if self._disconnected_since is None:
                    self._disconnected_since = _monotonic()
                self._next_attempt = _monotonic()
                return
            src = f" (found through {self._url_source})" if self._url_source else ""
            self._enter_spool(
                f"the collector at {self.url}{src} refused the token ({e.reason or 'policy violation'}): "
                "check RUNWATCH_TOKEN or .runwatch/collector.json"
            )
            return
        self._on_lost(str(e))

    def _send_all(self, items: List[_Unacked]) -> None:
        self._send_all_raw([u.text for u in items])

    def _send_all_raw(self, texts: List[str]) -> None:
        ws = self._ws
        if ws is None:
            return
        try:
            for text in texts:
                ws.send_text(text)
            self._last_sent = _monotonic()
        except WebSocketError as e:
            self._on_lost(str(e))

    def _on_message(self, text: str) -> None:
        msg = _parse(text)
        kind = msg.get("type")
        if kind == "ack":
            seq = msg.get("seq")
            if msg.get("runId") != self.id or not isinstance(seq, int):
                return
            popped = False
            while self._unacked and self._unacked[0].seq <= seq:
                self.acked_points += self._unacked.popleft().points
                popped = True
            if seq > self.acked_seq:
                self.acked_seq = seq
            hook = self._on_ack
            if popped and hook is not None:
                try:
                    hook(self.acked_seq, self.acked_points)
                except Exception:  # noqa: BLE001
                    pass
        elif kind == "error":
            code = str(msg.get("code", "unknown"))
            seq = msg.get("seq")
            where = f" (seq {seq})" if seq is not None else ""
            self._warn("server-" + code, f"runwatch: the collector reported {code}{where}: {msg.get('message', '')}")

    # -- spool

    def _enter_spool(self, why: str) -> None:
        if self._spool_file is not None or self._spool_failed:
            return
        if self._ws is not None:
            self._ws.abort()
            self._ws = None
        path = os.path.join(self.spool_dir, f"{self.id}.jsonl")
        self.spool_path = path
        try:
            os.makedirs(self.spool_dir, mode=0o700, exist_ok=True)
            self._spool_file = open(path, "ab")
        except OSError as e:
            self._spool_failed = True
            self._warn("spool", f"runwatch: {why}, and the spool {path} cannot be written ({e}); this run's data is lost. Set RUNWATCH_SPOOL_DIR to a writable folder.")
            self._unacked.clear()
            return
        self._warn("spool", f"runwatch: {why}; spooling this run to {path} (Runwatch imports it when it next runs).")
        # The run.start first, so the file stands alone even if the collector took part of the run.
        items = [u for u in self._unacked if u.seq != 1]
        self._unacked.clear()
        self._write_spool([_Unacked(1, self._start_text or "", 0)] + items)

    def _write_spool(self, items: List[_Unacked]) -> None:
        f = self._spool_file
        if f is None or not items:
            return
        try:
            f.write("".join(u.text + "\n" for u in items).encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        except OSError as e:
            self._warn("spool-write", f"runwatch: writing the spool {self.spool_path} failed ({e}); some data may be lost.")


def _r(v: Any) -> str:
    """repr() for messages: short, and safe from objects whose __repr__ raises."""
    try:
        text = repr(v)
    except Exception:  # noqa: BLE001
        return f"<{type(v).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


def _parse(text: str) -> Dict[str, Any]:
    try:
        msg = json.loads(text)
    except ValueError:
        return {}
    return msg if isinstance(msg, dict) else {}


def _describe(exc_type: Any, exc: Any) -> str:
    name = getattr(exc_type, "__name__", str(exc_type))
    return f"{name}: {exc}" if str(exc) else name


# ----------------------------------------------------------------------
# Process-wide: warnings, active runs, exit/exception/signal hooks.

_warn_lock = threading.Lock()


def _warn(message: str) -> None:
    if not message.startswith("runwatch"):
        message = "runwatch: " + message
    try:
        with _warn_lock:
            sys.stderr.write(message + "\n")
            sys.stderr.flush()
    except Exception:  # noqa: BLE001 - a closed stderr must not break training
        pass


_active: List[Run] = []
_hooks_installed = False
_prev_excepthook: Optional[Callable[..., Any]] = None
_prev_sigterm: Any = None


def _register(run: Run) -> None:
    _active.append(run)
    _install_hooks()


def _unregister(run: Run) -> None:
    try:
        _active.remove(run)
    except ValueError:
        pass


def _finish_all(status: str, reason: Optional[str]) -> None:
    for run in list(_active):
        try:
            run.finish(status, reason=reason)
        except Exception:  # noqa: BLE001
            pass


def _after_fork_in_child() -> None:
    # The sender thread did not survive the fork: the child must neither queue data nobody
    # sends nor wait for that thread at exit. The run stays the parent's.
    for run in _active:
        run._append = run._append_in_child
        run.status = "forked"
    _active.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _atexit() -> None:
    _finish_all("finished", None)


def _excepthook(exc_type: Any, exc: Any, tb: Any) -> None:
    try:
        if issubclass(exc_type, KeyboardInterrupt):
            _finish_all("killed", "KeyboardInterrupt")
        else:
            _finish_all("failed", _describe(exc_type, exc))
    finally:
        prev = _prev_excepthook or sys.__excepthook__
        prev(exc_type, exc, tb)


def _sigterm(signum: int, frame: Any) -> None:
    _finish_all("killed", "SIGTERM")
    import signal

    prev = _prev_sigterm
    if callable(prev):
        prev(signum, frame)
        return
    # The default action: die by the signal, so the parent sees the usual exit status.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _install_hooks() -> None:
    global _hooks_installed, _prev_excepthook, _prev_sigterm
    if _hooks_installed:
        return
    _hooks_installed = True
    import atexit

    atexit.register(_atexit)
    _prev_excepthook = sys.excepthook
    sys.excepthook = _excepthook
    if threading.current_thread() is threading.main_thread():
        try:
            import signal

            prev = signal.getsignal(signal.SIGTERM)
            if prev is not signal.SIG_IGN:
                _prev_sigterm = prev if callable(prev) else None
                signal.signal(signal.SIGTERM, _sigterm)
        except (ValueError, OSError, AttributeError):
            pass
