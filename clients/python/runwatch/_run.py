"""The run: the user API. `log()` is one append on the training thread; the sender thread
(`_sender.py`) does everything else."""

from __future__ import annotations

import collections
import math
import operator
import os
import sys
import threading
import time
import uuid
from typing import Any, Callable, Deque, Dict, Iterable, Mapping, Optional, Set, Tuple, Union

from . import _discovery, _hooks, _source, _system
from ._protocol import MAX_REASON, PROTOCOL_VERSION, FrameEncoder
from ._sender import Sender
from ._values import ParamValue, describe_failure, flatten_params, make_slow_value, normalize_tags, r
from ._ws import WebSocket

__version__ = "0.1.0"
FINAL_STATUSES = ("finished", "failed", "killed")
# What `status` says when the run ended but data was lost (no spool folder could be written).
INCOMPLETE = "incomplete"
DEFAULT_MAX_BUFFER_MB = 64.0
# After a second Ctrl+C, how long finish() waits for the sender to write the spool.
INTERRUPT_SPOOL_S = 10.0

__all__ = ["Run", "PROTOCOL_VERSION", "FINAL_STATUSES", "flatten_params", "normalize_tags", "ParamValue"]

_time = time.time
_monotonic = time.monotonic


def _env_float(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, ""))
        return value if value >= 0 and math.isfinite(value) else default
    except ValueError:
        return default


class Run:
    """One training run. Create it with `runwatch.init(...)`.

    `log()` only appends to a deque; the sender thread validates, encodes, sends, resends
    after reconnects and refusals, and spools to disk what the collector cannot take.
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
        system_metrics: Any = None,
        context: Optional[Mapping[str, Any]] = None,
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
        # Keys whose first call site was taken (_source.py); `_known(data)` is one C-level set test per
        # call. Off (RUNWATCH_SOURCES=0) or full, it is a test that is always true.
        self._seen: Set[Any] = set()
        self._known: Callable[[Any], bool] = self._seen.issuperset if _source.enabled() else frozenset().isdisjoint
        self.status: Optional[str] = None
        self.flush_timeout = flush_timeout if flush_timeout is not None else _env_float("RUNWATCH_FLUSH_TIMEOUT", 5.0)

        params: Dict[str, ParamValue] = {}
        try:
            if config is not None:
                params = flatten_params(dict(config) if not isinstance(config, Mapping) else config)
        except Exception as e:  # noqa: BLE001
            self._warn("config", f"config={r(config)} is not a mapping ({e}); it was ignored. Pass a dict of parameters.")
        start: Dict[str, Any] = {
            "type": "run.start",
            "runId": self.id,
            "seq": 1,
            "project": self.project,
            "name": self.name,
            "time": self.start_time,
            "params": params,
            # torchrun/DDP ranks tag themselves; the person's own tags win.
            "tags": {**_system.rank_tags(), **self._safe_tags(tags)},
        }
        if parent_run_id:
            start["parentRunId"] = str(parent_run_id)
        if context:
            start["context"] = dict(context)  # merged with what _context.collect() finds (e.g. TensorBoard capture's logdir)

        target = _discovery.resolve(url, token)
        self.spool_dir: str = target.spool_dir
        max_mb = _env_float("RUNWATCH_MAX_BUFFER_MB", DEFAULT_MAX_BUFFER_MB) or DEFAULT_MAX_BUFFER_MB
        encoder = FrameEncoder(self.id, self._warn, make_slow_value(self._warn), r)
        self._sender = Sender(
            run_id=self.id,
            start_msg=start,
            queue=self._queue,
            target=target,
            flush_timeout=self.flush_timeout,
            grace_seconds=_env_float("RUNWATCH_GRACE_SECONDS", 30.0),
            max_buffer_bytes=max(1 << 16, int(max_mb * 2**20)),
            warn=self._warn,
            error=_hooks.warn,
            encoder=encoder,
            version=__version__,
        )
        self._thread = threading.Thread(target=self._sender.main, name=f"runwatch-sender-{self.id[:8]}", daemon=True)
        self._thread.start()
        self._system = _system.start_for(self, system_metrics)

    # ------------------------------------------------------------------
    # What the sender knows, for people and tests

    @property
    def url(self) -> Optional[str]:
        return self._sender.url

    @property
    def acked_seq(self) -> int:
        """The highest seq the collector has acknowledged (everything up to it is durable)."""
        return self._sender.acked_seq

    @property
    def acked_points(self) -> int:
        return self._sender.acked_points

    @property
    def spool_path(self) -> Optional[str]:
        """The spool file of this run: the final one once written, else the one being written, else None."""
        return self._sender.spool_path

    @property
    def lost_points(self) -> int:
        """Points neither acknowledged nor spooled when the run ended (0 unless no disk could take them)."""
        return self._sender.lost_points

    @property
    def grace_seconds(self) -> float:
        return self._sender.grace_seconds

    @property
    def _token(self) -> str:
        return self._sender.token

    @property
    def _follow(self) -> Optional[str]:
        return self._sender.follow

    @property
    def _ws(self) -> Optional[WebSocket]:
        return self._sender.ws

    @property
    def _on_ack(self) -> Optional[Callable[[int, int], None]]:
        """Test/debug hook: called on the sender thread with (acked seq, points acknowledged so far)."""
        return self._sender.on_ack

    @_on_ack.setter
    def _on_ack(self, hook: Optional[Callable[[int, int], None]]) -> None:
        self._sender.on_ack = hook

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
            if not self._known(data):
                self._locate(data)
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
            if not self._known(data):
                self._locate(data)
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
            self._warn("artifact", f"log_artifact({r(path)}) failed: {e}; it was skipped.")

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

        What the collector has not acknowledged by then is written to the spool. A KeyboardInterrupt
        during the wait (a second Ctrl+C) writes it to the spool at once, says where, and goes on.
        """
        if self.status is not None:
            return
        if status not in FINAL_STATUSES:
            self._warn("status", f"finish(status={r(status)}): the status is one of {', '.join(FINAL_STATUSES)}; using 'finished'.")
            status = "finished"
        self.status = status
        if self._system is not None:
            self._system.stop()  # before run.end: no sample lands after it
        self._append = self._append_after_finish
        end: Dict[str, Any] = {"type": "run.end", "runId": self.id, "status": status, "time": _time()}
        if reason:
            end["reason"] = str(reason)[:MAX_REASON]
        self._queue.extend((None, end, 0.0))
        wait = self.flush_timeout if timeout is None else max(0.0, timeout)
        sender = self._sender
        sender.finish_deadline = _monotonic() + wait
        sender.wake.set()
        _hooks.unregister(self)
        try:
            sender.done.wait(wait + 3.0)
        except KeyboardInterrupt:
            self._spool_on_interrupt()
            raise
        finally:
            if sender.lost_points:
                self.status = INCOMPLETE

    def _spool_on_interrupt(self) -> None:
        sender = self._sender
        sender.interrupted = True
        sender.wake.set()
        deadline = _monotonic() + INTERRUPT_SPOOL_S
        while not sender.done.is_set() and _monotonic() < deadline:
            try:
                sender.done.wait(max(0.0, deadline - _monotonic()))
            except KeyboardInterrupt:  # a third Ctrl+C: the spool is still being written
                _hooks.warn("runwatch: writing what the collector has not acknowledged to the spool; a moment, please.")
        if not sender.done.is_set():
            _hooks.warn(f"runwatch: ERROR: the spool was not written within {INTERRUPT_SPOOL_S:g} s; unacknowledged data of run {self.id} may be lost.")

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.finish("finished")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.finish("killed", reason="KeyboardInterrupt")
        else:
            self.finish("failed", reason=describe_failure(exc_type, exc, tb, MAX_REASON))

    def __repr__(self) -> str:
        return f"<runwatch.Run {self.id} project={self.project!r} name={self.name!r}>"

    # ------------------------------------------------------------------
    # Helpers used on both threads

    def _forked(self) -> None:
        """In a forked child: the sender thread did not survive the fork, the run stays the parent's."""
        self._append = self._append_in_child
        self.status = "forked"

    def _append_in_child(self, item: Tuple[Any, Any, float]) -> None:
        self._warn("forked", "values logged in a forked child process (e.g. a DataLoader worker) are ignored; log from the process that called runwatch.init().")

    def _append_after_finish(self, item: Tuple[Any, Any, float]) -> None:
        self._warn("after-finish", "this run has finished; values logged after finish() are ignored. Call runwatch.init() for a new run.")

    def _locate(self, data: Mapping[str, Any]) -> None:
        """The first call logging these keys: one stack walk, sent ahead of the points (never raises)."""
        msg = _source.sources_message(self.id, self._seen, data)
        if msg is not None:
            self._control(msg)
        if len(self._seen) >= _source.MAX_KEYS:
            self._known = frozenset().isdisjoint

    def _control(self, msg: Dict[str, Any]) -> None:
        self._append((None, msg, 0.0))

    def _safe_tags(self, tags: Any) -> Dict[str, str]:
        try:
            return normalize_tags(tags)
        except Exception as e:  # noqa: BLE001
            self._warn("tags", f"tags={r(tags)} is neither a dict nor a list of names ({e}); they were ignored.")
            return {}

    def _warn(self, code: str, message: str) -> None:
        if code in self._warned:
            return
        self._warned.add(code)
        _hooks.warn(message)

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


# The public API and older imports of these names from this module.
_register = _hooks.register
_warn = _hooks.warn
