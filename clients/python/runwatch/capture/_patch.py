"""TensorBoard capture: the event-writer patch and what each event becomes.

`EventFileWriter.add_event` of `tensorboard.summary.writer.event_file_writer` (behind
`torch.utils.tensorboard`, Lightning's `TensorBoardLogger`, the HF Trainer's `TensorBoardCallback`)
and of `tensorboardX.event_file_writer` is wrapped once: the original runs first and unchanged (the
event file is written exactly as before), then the event is read on the caller's thread:

- scalars (`simple_value`, and tensor scalars of the `scalars` plugin: float, double, half, ints)
  become metrics at the event's step and wall time;
- hparams (the `hparams` plugin's session start info) become params;
- text (the `text` plugin) becomes log lines, `<tag> (step N): <line>`;
- everything else (images, histograms, audio, PR curves, meshes, graphs, ...) is kept as one
  `artifact` per log directory and tag, naming the event file, the tag, the plugin and the first
  step, so a later view can read every step of it from the file.

One run per log directory (its run.start context says `"tensorboard": {"logdir": <absolute>}`); a
log directory inside another one this process captures (`add_scalars`' writers) is a child run of
it. While a run started by `runwatch.init()` is active, everything goes to that run instead, keys
of a second log directory prefixed by its path relative to the first. Once an explicit integration
(`runwatch.integrations.*`) is in use, capture steps aside: that integration records the values.
Any failure warns once and turns capture off; the writer goes on as without it.

The caller's thread only appends to the run's own queue (one tuple, in log order with everything
else of the run); the run's sender thread decodes it when it encodes a batch (`_protocol.Deferred`):
no thread of capture's own, no wake-up per point, and run.end always comes after what was queued.

Fast path: `SummaryWriter.add_scalar` of torch and tensorboardX is wrapped too. For a plain Python
float or int and no extra options, the event it writes is not decoded again: the event-level wrapper
hands the event back to the add_scalar wrapper instead of queueing it, which reads the event's step
and wall time and queues (key, value, (step, wall time)); the sender stores the value rounded to
float32 as `simple_value` holds it (so the store equals the file). Each event is queued once, either way. The
first add_scalar of each tag also takes its calling line (the person's frame; `_source.py`) on the
caller's thread, for "Go to Source", and makes the tag's key object, used from then on.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from typing import Any, Dict, List, Optional, Set

from .. import _hooks, _source
from .._protocol import Deferred, DeferredScalar
from .._run import Run
from .._values import flatten_params

_OFF: Any = object()  # a writer that is not captured
_SOURCES = _source.enabled()  # RUNWATCH_SOURCES=0: no calling lines
_lock = threading.Lock()
_sinks: Dict[str, "_Sink"] = {}  # by resolved log directory
_state = {"off": False, "aside": False, "warned": False}

_F32_MAX = 3.4e38  # below float32's largest: anything bigger, NaN or inf takes the event path
_INT_MAX = 2**53

# DataType values of tensorflow/core/framework/types.proto.
_DT_FLOAT, _DT_DOUBLE, _DT_INT32, _DT_INT64, _DT_HALF, _DT_BFLOAT16 = 1, 2, 3, 9, 19, 14


def _warn_once(message: str) -> None:
    if not _state["warned"]:
        _state["warned"] = True
        _hooks.warn("runwatch: " + message)


def step_aside() -> None:
    """An explicit integration is in use: captured writers record nothing from now on."""
    _state["aside"] = True
    _Key.off = True


def _fail(e: BaseException) -> None:
    _state["off"] = True
    _Key.off = True
    _warn_once(f"TensorBoard capture stopped ({e!r}); the event files are written as usual, and the rest of this "
               "process is not captured.")


# ----------------------------------------------------------------------
# Where a writer's events go


def _logdir_of(writer: Any) -> str:
    get = getattr(writer, "get_logdir", None)
    d = get() if get is not None else getattr(writer, "_logdir")
    return os.path.realpath(os.path.abspath(os.fspath(d)))


def _event_file_of(writer: Any, logdir: str) -> str:
    name = getattr(writer, "_file_name", None)  # tensorboard's writer
    if name is None:
        name = getattr(getattr(writer, "_ev_writer", None), "_file_name", None)  # tensorboardX's
    return os.path.abspath(name) if isinstance(name, str) else logdir


def _display_name(logdir: str) -> str:
    try:
        rel = os.path.relpath(logdir, os.getcwd())
    except (OSError, ValueError):
        rel = logdir
    return (logdir if rel.startswith("..") else rel)[:250]


def _active_user_run() -> Optional[Run]:
    import runwatch

    run = runwatch.current_run()
    if run is None or run.status is not None:
        return None
    return run


class _Sink:
    """Where one log directory's events go: a run, and a key prefix."""

    def __init__(self, run: Run, logdir: str, prefix: str, owned: bool) -> None:
        self.run = run
        self.logdir = logdir
        self.prefix = prefix
        self.owned = owned
        self.kept: Set[str] = set()  # tags kept as artifacts already

    # Runs on the run's sender thread, as it encodes: the flat triples one event stands for, in order
    # (its points, and params, log lines and artifacts as control messages of this run).
    def take(self, event: Any, event_file: str) -> List[Any]:
        out: List[Any] = []
        if _state["aside"] or _state["off"]:
            return out
        values = event.summary.value
        if not values:
            if event.graph_def:
                self._keep("graph", "graph", event.step, event_file, out)
            return out
        data: Optional[Dict[str, float]] = None
        step = event.step
        prefix = self.prefix
        for v in values:
            if v.HasField("simple_value"):  # half the cost of WhichOneof
                if data is None:
                    data = {}
                data[prefix + v.tag] = v.simple_value
            else:
                scalar = self._other(v, step, event_file, out)
                if scalar is not None:
                    if data is None:
                        data = {}
                    data[prefix + v.tag] = scalar
        if data:
            out += (data, step, event.wall_time or time.time())
        return out

    def _control(self, out: List[Any], msg: Dict[str, Any]) -> None:
        msg["runId"] = self.run.id
        out += (None, msg, 0.0)

    def _other(self, v: Any, step: int, event_file: str, out: List[Any]) -> Optional[float]:
        kind = v.WhichOneof("value")
        plugin = v.metadata.plugin_data.plugin_name
        if plugin == "hparams":  # tensorboardX sends these with no value at all
            params = _hparams(v.metadata.plugin_data.content)
            if params:
                flat = flatten_params({self.prefix + k: p for k, p in params.items()})
                if flat:
                    self._control(out, {"type": "params", "params": flat})
                parent = _parent_sink(self.logdir)
                if parent is not None and parent.run is not self.run:
                    # torch's add_hparams writes into a new folder below the writer's: its parent run has them too
                    parent.run.log_params({_rel(self.logdir, parent.logdir) + "/" + k: p for k, p in params.items()})
            return None
        if kind == "tensor":
            if plugin == "scalars" or (not plugin and _is_scalar_tensor(v.tensor)):
                value = _tensor_scalar(v.tensor)
                if value is not None:
                    return value
            elif plugin == "text":
                lines = _text_lines(v.tensor)
                if lines:
                    tag = self.prefix + v.tag
                    if tag.endswith("/text_summary"):  # what torch and tensorboardX append to the tag given
                        tag = tag[: -len("/text_summary")]
                    self._control(out, {"type": "log", "stream": "stdout",
                                        "lines": [f"{tag} (step {step}): {line}" for line in lines], "time": time.time()})
                return None
        self._keep(v.tag, plugin or kind or "unknown", step, event_file, out)
        return None

    def _keep(self, tag: str, plugin: str, step: int, event_file: str, out: List[Any]) -> None:
        key = self.prefix + tag
        if key in self.kept or len(self.kept) >= 10_000:
            return
        self.kept.add(key)
        meta: Dict[str, Any] = {"source": "tensorboard", "file": event_file, "tag": tag, "plugin": plugin,
                                "step": int(step), "logdir": self.logdir}
        path = os.path.abspath(event_file)
        try:
            meta["size"] = os.stat(path).st_size
        except OSError:
            pass
        # What run.log_artifact() sends, as a control of this batch (so it keeps its place in the run).
        self._control(out, {"type": "artifact", "name": f"tensorboard/{key}"[:500], "path": path,
                            "kind": f"tensorboard.{plugin}"[:50], "metadata": meta})


def _rel(path: str, root: str) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def _parent_sink(logdir: str) -> Optional[_Sink]:
    """The nearest captured log directory above `logdir`."""
    d = os.path.dirname(logdir)
    while True:
        sink = _sinks.get(d)
        if sink is not None:
            return sink
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


class _Tap(Deferred):
    """One writer's way in: its log directory's sink and its event file. Queued as (tap, event, 0.0)
    in the run's queue; the sender thread expands it into what the event holds."""

    __slots__ = ("sink", "run", "file", "located", "keys")

    def __init__(self, sink: _Sink, file: str) -> None:
        self.sink = sink
        self.run = sink.run
        self.file = file
        self.located: Set[str] = set()  # add_scalar tags whose calling line was taken
        self.keys: Dict[str, _Key] = {}  # fast-pathed add_scalar tags: their key objects

    def expand(self, a: Any, b: Any) -> List[Any]:
        return self.sink.take(a, self.file)

    def failed(self, e: BaseException) -> None:
        _fail(e)


class _Key(DeferredScalar):
    """A fast-pathed add_scalar tag of one writer: the metric's name (prefixed, cleaned as the library
    writes it) and its run. Queued as (key, value, (step, wall time)) in the run's queue."""

    __slots__ = ("run",)

    def __init__(self, name: str, run: Run) -> None:
        super().__init__(name)
        self.run = run

    def failed(self, e: BaseException) -> None:
        _fail(e)


def _locate(tap: _Tap, tag: str, taker: "_ScalarTaker") -> None:
    """The first add_scalar of a tag through this writer, on the caller's thread: where the person's
    code made it (frames of runwatch and the frameworks are skipped), sent once per key (never raises)."""
    located = tap.located
    if len(located) >= _source.MAX_KEYS:
        return
    located.add(tag)
    try:
        run = tap.sink.run
        if run.status is not None or not _SOURCES:
            return
        key = tap.sink.prefix + taker.key(tag)
        msg = _source.sources_message(run.id, run._seen, (key,))
        if msg is not None:
            run._control(msg)
    except Exception:  # noqa: BLE001 - a location is a nicety; capture goes on without it
        pass


def _new_key(tap: _Tap, tag: str, taker: "_ScalarTaker") -> _Key:
    """The first fast-pathed add_scalar of a tag through this writer: its key object, kept on the tap."""
    key = _Key(tap.sink.prefix + taker.key(tag), tap.run)
    if tag not in tap.located:
        _locate(tap, tag, taker)
    if len(tap.keys) < 10_000:
        tap.keys[tag] = key
    return key


class _ScalarTaker:
    """The add_scalar fast path's tag cleaning, for one writer library."""

    __slots__ = ("clean", "tags")

    def __init__(self, clean: Any) -> None:
        self.clean = clean  # the library's own tag cleaning (tensorboardX), or None
        self.tags: Dict[str, str] = {}

    def key(self, tag: str) -> str:
        """The tag as the library writes it (cleaned once per tag: tensorboardX warns when it changes one)."""
        if self.clean is None:
            return tag
        key = self.tags.get(tag)
        if key is None:
            key = self.clean(tag)
            if len(self.tags) < 10_000:
                self.tags[tag] = key
        return key


def _tap_for(writer: Any) -> Any:
    """The tap of a writer met for the first time (cached on the writer), or _OFF."""
    if _state["off"] or _state["aside"]:
        return _OFF
    logdir = _logdir_of(writer)
    with _lock:
        sink = _sinks.get(logdir)
        if sink is None:
            sink = _new_sink(logdir)
            _sinks[logdir] = sink
    return _Tap(sink, _event_file_of(writer, logdir))


def _new_sink(logdir: str) -> _Sink:
    user = _active_user_run()
    if user is not None:
        # The person's own run: the first log directory is its root, any other one a key prefix.
        roots = [s for s in _sinks.values() if s.run is user and not s.prefix]
        if not roots:
            user.set_tags({"tensorboard.logdir": logdir})
            return _Sink(user, logdir, "", owned=False)
        root = roots[0].logdir
        inside = logdir.startswith(root.rstrip(os.sep) + os.sep)
        prefix = (_rel(logdir, root) if inside else os.path.basename(logdir) or "tensorboard") + "/"
        return _Sink(user, logdir, prefix, owned=False)
    parent = _parent_sink(logdir)
    run = Run(
        name=_display_name(logdir),
        tags={"tensorboard.logdir": logdir, "runwatch.capture": "tensorboard"},
        parent_run_id=parent.run.id if parent is not None else None,
        context={"tensorboard": {"logdir": logdir}},
        system_metrics=False if parent is not None else None,  # the machine is sampled once, by the top run
    )
    _hooks.register(run)  # ended when the process ends: finished, failed or killed, as it ends
    if parent is not None and parent.owned:
        _end_child_first(parent.run, run)
    return _Sink(run, logdir, "", owned=True)


def _end_child_first(parent: Run, child: Run) -> None:
    """The parent run ends after its child runs: a child's events are decoded by its own sender, and
    what they give the parent (torch's add_hparams: the parent's params) must reach it before its run.end."""
    children = getattr(parent, "_runwatch_children", None)
    if children is None:
        children = parent._runwatch_children = []  # type: ignore[attr-defined]
        finish = parent.finish

        def finish_children_first(*args: Any, **kwargs: Any) -> None:
            try:
                for c in list(children):
                    c.finish(*args, **kwargs)
            finally:
                finish(*args, **kwargs)

        parent.finish = finish_children_first  # type: ignore[method-assign]
    children.append(child)


# ----------------------------------------------------------------------
# Decoding what is not a simple_value


def _is_scalar_tensor(t: Any) -> bool:
    dims = t.tensor_shape.dim
    return all(d.size == 1 for d in dims) and t.dtype in (_DT_FLOAT, _DT_DOUBLE, _DT_HALF, _DT_BFLOAT16)


def _tensor_scalar(t: Any) -> Optional[float]:
    """The one number of a scalar TensorProto, from its typed field or its packed content."""
    dt = t.dtype
    if dt == _DT_FLOAT:
        if len(t.float_val) == 1:
            return float(t.float_val[0])
        fmt = "<f"
    elif dt == _DT_DOUBLE:
        if len(t.double_val) == 1:
            return float(t.double_val[0])
        fmt = "<d"
    elif dt == _DT_HALF:
        if len(t.half_val) == 1:
            return float(struct.unpack("<e", struct.pack("<H", t.half_val[0] & 0xFFFF))[0])
        fmt = "<e"
    elif dt == _DT_BFLOAT16:
        bits = t.half_val[0] if len(t.half_val) == 1 else struct.unpack("<H", t.tensor_content[:2])[0]
        return float(struct.unpack("<f", struct.pack("<I", (bits & 0xFFFF) << 16))[0])
    elif dt == _DT_INT32:
        if len(t.int_val) == 1:
            return float(t.int_val[0])
        fmt = "<i"
    elif dt == _DT_INT64:
        if len(t.int64_val) == 1:
            return float(t.int64_val[0])
        fmt = "<q"
    else:
        return None
    content = t.tensor_content
    if len(content) == struct.calcsize(fmt):
        return float(struct.unpack(fmt, content)[0])
    return None


def _text_lines(t: Any) -> List[str]:
    out: List[str] = []
    for b in t.string_val:
        out.extend((b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)).splitlines())
    return out


def _hparams_message() -> Any:
    try:
        from tensorboard.plugins.hparams import plugin_data_pb2

        return plugin_data_pb2.HParamsPluginData
    except ImportError:
        from tensorboardX.proto import plugin_hparams_pb2

        return plugin_hparams_pb2.HParamsPluginData


def _hparams(content: bytes) -> Dict[str, Any]:
    """The hyperparameters of the hparams plugin's session start info ({} for its other summaries)."""
    data = _hparams_message()()
    data.ParseFromString(content)
    if data.WhichOneof("data") != "session_start_info":
        return {}
    out: Dict[str, Any] = {}
    for name, value in data.session_start_info.hparams.items():
        kind = value.WhichOneof("kind")
        if kind == "number_value":
            n = value.number_value
            out[name] = int(n) if n.is_integer() and abs(n) < 2**53 else n
        elif kind == "string_value":
            out[name] = value.string_value
        elif kind == "bool_value":
            out[name] = value.bool_value
        else:
            out[name] = None
    return out


# ----------------------------------------------------------------------
# The patch


def _wrap(cls: Any, closed_attr: Optional[str]) -> None:
    original = cls.add_event
    if getattr(original, "_runwatch_original", None) is not None:
        return  # patched already (the hook may meet a module twice)
    local = _local

    def take(self: Any, event: Any) -> None:
        # After the original ran: queue the event in its run (or hand it to the add_scalar wrapper).
        d = self.__dict__
        tap = d.get("_runwatch_tap")
        if tap is None:
            try:
                if not (event.summary.value or event.graph_def):
                    return  # the file_version event: a run starts with the first value
                tap = d["_runwatch_tap"] = _tap_for(self)
            except Exception as e:  # noqa: BLE001 - never break the person's writer
                _fail(e)
                tap = d["_runwatch_tap"] = _OFF
        if tap is not _OFF and not (closed_attr and d.get(closed_attr)):  # tensorboardX drops a closed writer's events
            slot = local.slot
            if slot is None:
                run = tap.run
                if run.status is None:
                    run._append((tap, event, 0.0))  # decoded by the run's sender thread
                local.tap = tap  # for an add_scalar on the event path: where its tag was logged
            else:  # inside a fast-pathed add_scalar: its wrapper queues it (the last event is the scalar's)
                slot[0] = tap
                slot[1] = event

    code = getattr(original, "__code__", None)
    if code is not None and code.co_argcount == 2 and not code.co_flags & 0x0C:  # (self, event): no *args, **kwargs

        def add_event(self: Any, event: Any) -> Any:
            result = original(self, event)
            # take() inlined for the fast path (a call costs as much as the rest): a slot to fill, or a tap
            slot = local.slot
            if slot is not None:
                tap = self.__dict__.get("_runwatch_tap")
                if tap is not None and tap is not _OFF and not (closed_attr and self.__dict__.get(closed_attr)):
                    slot[0] = tap
                    slot[1] = event
                    return result
            take(self, event)
            return result
    else:

        def add_event(self: Any, event: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
            result = original(self, event, *args, **kwargs)
            take(self, event)
            return result

    add_event._runwatch_original = original  # type: ignore[attr-defined]
    add_event.__doc__ = original.__doc__
    add_event.__name__ = "add_event"
    cls.add_event = add_event


class _Local(threading.local):
    slot: Optional[List[Any]] = None  # [tap, event] while this thread is in a fast-pathed add_scalar
    tap: Any = None  # the tap of the last event this thread queued on the event path


_local = _Local()


def _wrap_add_scalar(cls: Any, clean: Any) -> None:
    original = cls.add_scalar
    if getattr(original, "_runwatch_original", None) is not None:
        return
    local = _local
    taker = _ScalarTaker(clean)
    fmax, imax = _F32_MAX, _INT_MAX

    def add_scalar(self: Any, tag: Any, scalar_value: Any, global_step: Any = None, walltime: Any = None,
                   *args: Any, **kwargs: Any) -> Any:
        c = scalar_value.__class__
        # Fast only for a plain number, a str tag and the options at their defaults (all falsy in both
        # libraries: display_name/summary_description, new_style/double_precision); else the event path.
        # (An add_scalar inside another one needs no check: the inner one takes the slot and clears it,
        # and the outer's event, if it comes after, is queued by the event path.)
        if (not ((c is float and -fmax < scalar_value < fmax) or (c is int and -imax < scalar_value < imax))
                or tag.__class__ is not str or (args and any(args)) or (kwargs and any(kwargs.values()))):
            if tag.__class__ is not str:
                return original(self, tag, scalar_value, global_step, walltime, *args, **kwargs)
            local.tap = None
            result = original(self, tag, scalar_value, global_step, walltime, *args, **kwargs)
            tap = local.tap
            if tap is not None and tag not in tap.located:
                _locate(tap, tag, taker)
            return result
        slot: List[Any] = [None, None]
        local.slot = slot
        try:
            if args or kwargs:
                result = original(self, tag, scalar_value, global_step, walltime, *args, **kwargs)
            else:
                result = original(self, tag, scalar_value, global_step, walltime)
        finally:
            local.slot = None
        tap = slot[0]
        if tap is not None:
            try:
                key = tap.keys.get(tag)
                if key is None:
                    key = _new_key(tap, tag, taker)
                run = key.run
                if run.status is None:
                    # The step and time as the event holds them, read here: the event is not kept (it is
                    # freed on this thread, as without capture, not later and colder on the sender's).
                    event = slot[1]
                    run._append((key, scalar_value, (event.step, event.wall_time)))
            except Exception as e:  # noqa: BLE001 - never break the person's writer
                _fail(e)
        return result

    add_scalar._runwatch_original = original  # type: ignore[attr-defined]
    add_scalar.__doc__ = original.__doc__
    add_scalar.__name__ = "add_scalar"
    add_scalar.__wrapped__ = original  # type: ignore[attr-defined] # inspect.signature shows the original's
    cls.add_scalar = add_scalar


def patch(family: str, module: Any, explicit: bool) -> None:
    """Patches a watched module: the EventFileWriter (`family` "tensorboard" or "tensorboardX") or the
    SummaryWriter ("torch.writer", "tensorboardX.writer") for the add_scalar fast path."""
    if family == "torch.writer":
        _wrap_add_scalar(getattr(module, "SummaryWriter"), None)
    elif family == "tensorboardX.writer":
        from tensorboardX import summary

        _wrap_add_scalar(getattr(module, "SummaryWriter"), getattr(summary, "_clean_tag"))
    else:
        _wrap(getattr(module, "EventFileWriter"), "_closed" if family == "tensorboardX" else None)


def unpatch_all() -> None:
    """Tests: restores the original writers (runs already started keep going)."""
    import sys

    for name, cls_name, method in (("tensorboard.summary.writer.event_file_writer", "EventFileWriter", "add_event"),
                                   ("tensorboardX.event_file_writer", "EventFileWriter", "add_event"),
                                   ("torch.utils.tensorboard.writer", "SummaryWriter", "add_scalar"),
                                   ("tensorboardX.writer", "SummaryWriter", "add_scalar")):
        module = sys.modules.get(name)
        cls = getattr(module, cls_name, None) if module is not None else None
        original = getattr(getattr(cls, method, None), "_runwatch_original", None)
        if original is not None:
            setattr(cls, method, original)


def captured_runs() -> Dict[str, Run]:
    """Tests and tools: the runs by log directory."""
    with _lock:
        return {d: s.run for d, s in _sinks.items()}
