"""The ClearML bridge, through the `clearml` SDK, online or in offline mode.

Run identity: one ClearML task per Runwatch run, named after the run, in the run's project
(or `project`), tagged `runwatch:<run id>`. Online, the task id is kept in the bridge's run
state and a restarted bridge reopens it (`Task.init(continue_last_task=<id>)`), else finds
it by that tag. Offline, each bridge session writes an offline session folder (ClearML
cannot reopen an offline task); the folders are listed in the run state, and
`Task.import_offline_session` uploads them later. A new session skips the scalars the
run's earlier sessions hold (read back from their metrics.jsonl), so a batch replayed
after a SIGKILL adds nothing twice.

ClearML allows one open task per process: a batch for another run closes the open one
(without marking it done) and opens that run's task. Scalars: `train/loss` is reported as
title `train`, series `loss`; a key without a `/` is title and series at once. The same
(title, series, iteration) sent again after a crash replaces the value at that iteration
in ClearML's scalar plots."""

from __future__ import annotations

import json
import math
import os
from typing import Any, Dict, List, Optional, Set, Tuple

from .core import Refuse, SdkMissing, Tracker, log, tag_labels
from .protocol import wire_float


class ClearmlTracker(Tracker):
    name = "clearml"
    display = "ClearML"
    pip = "clearml"

    def __init__(self, config: Dict[str, Any], state_dir: str) -> None:
        super().__init__(config, state_dir)
        self.current: Optional[str] = None
        self.task: Any = None
        self.seen: Set[Tuple[str, str, int]] = set()

    def _sdk(self) -> Any:
        try:
            import clearml  # noqa: PLC0415 - the SDK is optional: imported only in its bridge
        except ImportError as e:
            raise SdkMissing(f"the clearml package is not installed ({e}); run: python -m pip install clearml") from e
        if self.offline:
            clearml.Task.set_offline(True)
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
                auto_connect_frameworks=False,
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
            if self.offline:
                folders: List[str] = state.setdefault("offlineSessions", [])
                # A bridge killed mid-batch may have written points it never acknowledged: the
                # earlier sessions' scalars are read back and not reported again.
                for old in folders:
                    self.seen |= written_scalars(old)
                folder = str(self.task.get_offline_mode_folder())
                if folder not in folders:
                    folders.append(folder)
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
            logger = t.get_logger()
            for p in event.get("points") or []:
                title, sep, series = p["key"].partition("/")
                if not sep:
                    series = title
                value = wire_float(p["value"])
                if not math.isfinite(value):
                    # ClearML would store it as 0 (its reporting NaN/inf value): skip it and say so.
                    refuse(p["key"], f"ClearML cannot store {value} (it would show 0); such points are skipped")
                    continue
                if (title, series, int(p["step"])) in self.seen:
                    continue
                try:
                    logger.report_scalar(title, series, value, iteration=int(p["step"]))
                except Exception as e:  # noqa: BLE001
                    refuse(p["key"], f"ClearML refused scalar {p['key']!r}: {e}")
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
        if self.task is not None and self.current == rid:
            self.task.flush(wait_for_uploads=True)

    def close(self, rid: Any) -> None:
        if self.current == rid:
            self._close_task()

    def _close_task(self) -> None:
        t, self.task, self.current = self.task, None, None
        if t is None:
            return
        try:
            t.close()
        except Exception as e:  # noqa: BLE001
            log(f"ClearML: closing task: {e}")

    def shutdown(self) -> None:
        self._close_task()


def written_scalars(folder: str) -> Set[Tuple[str, str, int]]:
    """(title, series, iteration) of every scalar an offline session folder holds."""
    out: Set[Tuple[str, str, int]] = set()
    try:
        with open(os.path.join(folder, "metrics.jsonl"), encoding="utf-8") as f:
            lines = f.readlines()
    except OSError:
        return out
    for line in lines:
        try:
            events = json.loads(line, parse_constant=lambda c: 0.0)
        except ValueError:
            continue  # the last line of a killed session may be cut short
        for ev in events if isinstance(events, list) else []:
            if isinstance(ev, dict) and ev.get("type") == "training_stats_scalar":
                out.add((str(ev.get("metric")), str(ev.get("variant")), int(ev.get("iter", -1))))
    return out
