"""The ClearML bridge, through the `clearml` SDK, online or in offline mode.

Run identity: one ClearML task per Runwatch run, named after the run, in the run's project
(or `project`), tagged `runwatch:<run id>`. Online, the task id is kept in the bridge's run
state and a restarted bridge reopens it (`Task.init(continue_last_task=<id>)`). Offline,
each bridge session writes an offline session folder (ClearML cannot reopen an offline
task); the folders are listed in the run state (saved as soon as a session opens), and
`Task.import_offline_session` uploads them later, in that order.

Exactly once, offline: the SDK's reporter writes scalars to the session's metrics.jsonl in
the background, one JSON line per flush. `commit` waits until the file holds every scalar
reported in this session and fsyncs it, so a batch is acknowledged only once its scalars are
on disk. A bridge killed before that may have written some of a batch it never
acknowledged: the next session reads the earlier sessions' metrics.jsonl and does not report
a (title, series, iteration) they hold again; a last line cut short by the kill is cut off
the old file (ClearML's import would otherwise send the line before it again) and its
scalars are reported again. The reporter runs in a thread of the bridge, not ClearML's
default forked subprocess: a subprocess outlives a SIGKILLed bridge and would go on writing
the old session while the next one reads it.

ClearML allows one open task per process: a batch for another run closes the open one
(without marking it done) and opens that run's task. Scalars: `train/loss` is reported as
title `train`, series `loss`; a key without a `/` is title and series at once. Online, the
same (title, series, iteration) sent again after a crash replaces the value at that
iteration in ClearML's scalar plots."""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any, Dict, List, Optional, Set, Tuple

from .core import Refuse, SdkMissing, Tracker, log, tag_labels
from .protocol import wire_float


# `auto_connect_frameworks=False` still detects the repository: the script the SDK finds is the
# bridge's own module, which is no part of the run, and the detection (git, an import scan)
# runs in a thread beside the first batches. Only the dict form turns it off, and in it a
# framework left out is connected, so each is named.
NO_FRAMEWORKS = {
    key: False
    for key in (
        "detect_repository", "hydra", "scikit", "joblib", "matplotlib", "tensorflow", "tensorboard",
        "tfdefines", "pytorch", "megengine", "xgboost", "catboost", "fastai", "lightgbm", "gradio",
    )
}


class ClearmlTracker(Tracker):
    name = "clearml"
    display = "ClearML"
    pip = "clearml"

    def __init__(self, config: Dict[str, Any], state_dir: str) -> None:
        super().__init__(config, state_dir)
        self.current: Optional[str] = None
        self.task: Any = None
        self.seen: Set[Tuple[str, str, int]] = set()
        # Runwatch key -> ClearML (title, series).
        self.names: Dict[str, Tuple[str, str]] = {}
        # Scalars reported in the open offline session, and what its metrics.jsonl holds so far.
        self.reported = 0
        self.written: Optional["MetricsFile"] = None

    def _sdk(self) -> Any:
        try:
            import clearml  # noqa: PLC0415 - the SDK is optional: imported only in its bridge
        except ImportError as e:
            raise SdkMissing(f"the clearml package is not installed ({e}); run: python -m pip install clearml") from e
        if self.offline:
            clearml.Task.set_offline(True)
        # Reporting in a thread, not a forked subprocess that outlives a killed bridge (see above).
        clearml.Task._report_subprocess_enabled = False
        return clearml

    @property
    def offline(self) -> bool:
        return self.config.get("mode", "offline") != "online"

    def sdk_version(self) -> str:
        return str(self._sdk().__version__)

    def health(self) -> str:
        clearml = self._sdk()
        if self.offline:
            cache = os.environ.get("CLEARML_CACHE_DIR") or os.path.expanduser("~/.clearml/cache")
            return f"ClearML {clearml.__version__} offline: sessions under {os.path.join(cache, 'offline')}"
        from clearml.backend_api.session.client import APIClient  # noqa: PLC0415

        APIClient().projects.get_all(page_size=1, page=0)
        return f"ClearML {clearml.__version__} online"

    def open(self, run: Dict[str, Any], state: Dict[str, Any]) -> Any:
        clearml = self._sdk()
        rid = run["runId"]
        if self.task is not None and self.current != rid:
            self._close_task()
        if self.task is None:
            kwargs: Dict[str, Any] = dict(
                project_name=self.config.get("project") or run.get("project") or "runwatch",
                task_name=run.get("name") or rid,
                reuse_last_task_id=False,
                auto_connect_frameworks=NO_FRAMEWORKS,
                auto_resource_monitoring=False,
                auto_connect_streams=False,
                auto_connect_arg_parser=False,
            )
            if not self.offline and state.get("taskId"):
                kwargs["continue_last_task"] = state["taskId"]
            self.task = clearml.Task.init(**kwargs)
            self.current = rid
            state["taskId"] = self.task.id
            self.seen = set()
            self.reported = 0
            self.written = None
            if self.offline:
                folders: List[str] = state.setdefault("offlineSessions", [])
                # A bridge killed mid-batch may have written points it never acknowledged: the
                # earlier sessions' scalars are read back and not reported again. No other bridge
                # writes them now (the bridge's state folder lock; the reporter dies with its bridge).
                for old in folders:
                    self.seen |= written_scalars(old, repair=True)
                folder = str(self.task.get_offline_mode_folder())
                if folder not in folders:
                    folders.append(folder)
                self.written = MetricsFile(os.path.join(folder, "metrics.jsonl"))
            self.task.add_tags([f"runwatch:{rid}"] + tag_labels(run.get("tags") or {}))
            # A task reopened (or a new offline session) starts from what Runwatch holds now.
            if run.get("params"):
                self.task.set_parameters_as_dict({"General": run["params"]})
        return rid

    def apply(self, rid: Any, event: Dict[str, Any], run: Dict[str, Any], state: Dict[str, Any], refuse: Refuse) -> None:
        if self.current != rid:
            self.open(run, state)
        t = self.task
        kind = event.get("type")
        if kind in ("run.start", "params"):
            params = event.get("params") or {}
            if params:
                try:
                    t.set_parameters_as_dict({"General": params})
                except Exception:  # noqa: BLE001 - find the value at fault, keep the rest
                    for k, v in params.items():
                        try:
                            t.set_parameter(f"General/{k}", v)
                        except Exception as e:  # noqa: BLE001
                            refuse(k, f"ClearML refused hyperparameter value {v!r}: {e}")
        if kind in ("run.start", "tags"):
            tags = tag_labels(event.get("tags") or {})
            removed = event.get("removed") or []
            if removed:
                keep = [x for x in t.get_tags() if x.partition(":")[0] not in removed]
                t.set_tags(keep + tags)
            elif tags:
                t.add_tags(tags)
        elif kind == "metrics":
            # The per-point loop is the bridge's own cost on top of the SDK's: names and
            # lookups are bound once, each key is split once, and the `seen` check runs
            # only when an earlier session of this run left scalars behind.
            report = t.get_logger().report_scalar
            names = self.names
            seen = self.seen
            isfinite = math.isfinite
            reported = 0
            for p in event.get("points") or []:
                key = p["key"]
                name = names.get(key)
                if name is None:
                    title, sep, series = key.partition("/")
                    name = names[key] = (title, series if sep else title)
                value = p["value"]
                if type(value) is not float:
                    value = wire_float(value)
                if not isfinite(value):
                    # ClearML would store it as 0 (its reporting NaN/inf value): skip it and say so.
                    refuse(key, f"ClearML cannot store {value} (it would show 0); such points are skipped")
                    continue
                step = p["step"]
                if type(step) is not int:
                    step = int(step)
                if seen and (name[0], name[1], step) in seen:
                    continue
                try:
                    report(name[0], name[1], value, step)
                    reported += 1
                except Exception as e:  # noqa: BLE001
                    refuse(key, f"ClearML refused scalar {key!r}: {e}")
            self.reported += reported
        elif kind == "run.end":
            status = event.get("status", "finished")
            # Offline sessions keep no task status: the Runwatch status goes with the hyperparameters too.
            t.set_parameter("Runwatch/status", status)
            t.flush(wait_for_uploads=True)
            if status == "finished":
                t.mark_completed()
            else:
                t.mark_failed(status_reason=f"runwatch: {status}", force=True)

    def commit(self, rid: Any, state: Dict[str, Any]) -> None:
        if self.task is None or self.current != rid:
            return  # the run's task was closed (its end, or another run): close() wrote everything
        t = self.task
        t.flush(wait_for_uploads=True)
        written = self.written
        if written is None:
            # Online: ClearML's flush can return while the reporter still holds events taken just
            # before it (it drains its queue, then says "empty"); a second flush waits for those.
            t.flush(wait_for_uploads=True)
            return
        deadline = time.monotonic() + 20
        while written.scalars() < self.reported:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"ClearML wrote {written.scalars()} of {self.reported} scalars to {written.path} within 20 s"
                )
            # The reporter is usually a line or two behind: a short poll acknowledges sooner.
            time.sleep(0.002)
            t.flush(wait_for_uploads=False)
        written.sync()

    def close(self, rid: Any) -> None:
        if self.current == rid:
            self._close_task()

    def _close_task(self) -> None:
        t, self.task, self.current, self.written = self.task, None, None, None
        if t is None:
            return
        try:
            t.close()
        except Exception as e:  # noqa: BLE001
            log(f"ClearML: closing task: {e}")

    def shutdown(self) -> None:
        self._close_task()


def written_scalars(folder: str, repair: bool = False) -> Set[Tuple[str, str, int]]:
    """(title, series, iteration) of every scalar an offline session folder holds.

    With `repair`, a last line the SDK did not finish (its bridge was killed while writing it)
    is cut off the file: its scalars count as not written, and ClearML's import, which
    answers a line it cannot parse by sending the line before it again, never sees it."""
    out: Set[Tuple[str, str, int]] = set()
    path = os.path.join(folder, "metrics.jsonl")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return out
    good = 0
    for line in data.splitlines(keepends=True):
        events = _scalar_events(line) if line.endswith(b"\n") else None
        if events is None:
            break
        good += len(line)
        for ev in events:
            out.add((str(ev.get("metric")), str(ev.get("variant")), int(ev.get("iter", -1))))
    if repair and good < len(data):
        log(f"ClearML: {path}: cutting off {len(data) - good} bytes the SDK did not finish writing")
        with open(path, "r+b") as f:
            f.truncate(good)
            f.flush()
            os.fsync(f.fileno())
    return out


def _scalar_events(line: bytes) -> Optional[List[Dict[str, Any]]]:
    """The scalar events of one metrics.jsonl line, or None for a line that does not parse."""
    try:
        events = json.loads(line, parse_constant=lambda c: 0.0)
    except ValueError:
        return None
    if not isinstance(events, list):
        return None
    return [ev for ev in events if isinstance(ev, dict) and ev.get("type") == "training_stats_scalar"]


_SCALAR_TAG = b'"type": "training_stats_scalar"'


class MetricsFile:
    """The open session's metrics.jsonl, read as it grows: how many scalar events it holds."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.pos = 0
        self.count = 0

    def scalars(self) -> int:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except OSError:
            return self.count
        end = data.rfind(b"\n") + 1  # a line still being written is read next time
        # Counting the events' type tag costs a tenth of parsing each line, and it is
        # exact: inside a JSON string a quote is escaped, so the tag cannot occur in a name.
        # A line without it (another event type, or another SDK's spacing) is parsed.
        for line in data[:end].splitlines():
            n = line.count(_SCALAR_TAG)
            if n == 0:
                events = _scalar_events(line)
                if events is None:
                    raise RuntimeError(f"{self.path}: a line ClearML wrote does not parse")
                n = len(events)
            self.count += n
        self.pos += end
        return self.count

    def sync(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return  # nothing reported yet in this session
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
