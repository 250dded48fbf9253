"""The Weights & Biases bridge, through the `wandb` SDK (online, or offline for `wandb sync`).

Run identity: the W&B run id is the Runwatch run id (or a hash of it when it has characters
W&B does not allow), opened with `resume="allow"`, so every (re)start of the bridge writes
into the same W&B run.

Order and exactly once: W&B's own step (`_step`) must only grow, but a Runwatch run's
points carry per-key steps that may go back across keys (a `val/` key at epoch ends after
`train/` keys further on). So each history row gets a derived step: a counter the bridge
keeps in its run state and saves with the offset after the SDK holds the rows. The
Runwatch step is logged in each row as `runwatch/step` and declared the x axis of every
metric (`define_metric`), so charts show the person's steps. A row sent again after a
crash carries the same derived step, and W&B ignores rows whose step is not past the run's
current one (online on resume, and when `wandb sync` uploads a later offline file)."""

from __future__ import annotations

import os
import re
from typing import Any, Dict, List

from .core import Refuse, SdkMissing, Tracker, log, tag_labels
from .protocol import derived_id, wire_float

STEP_KEY = "runwatch/step"


class WandbTracker(Tracker):
    name = "wandb"
    display = "Weights & Biases"
    pip = "wandb"

    def _sdk(self) -> Any:
        try:
            import wandb  # noqa: PLC0415 - the SDK is optional: imported only in its bridge
        except ImportError as e:
            raise SdkMissing(f"the wandb package is not installed ({e}); run: python -m pip install wandb") from e
        return wandb

    def sdk_version(self) -> str:
        return self._sdk().__version__

    @property
    def mode(self) -> str:
        return "online" if self.config.get("mode") == "online" else "offline"

    @property
    def dir(self) -> str:
        d = self.config.get("dir") or os.path.join(self.state_dir, "files")
        os.makedirs(d, exist_ok=True)
        return d

    def health(self) -> str:
        wandb = self._sdk()
        if self.mode == "offline":
            return (
                f"W&B {wandb.__version__} offline: runs are written under {self.dir}/wandb; "
                f"upload them with `wandb sync {self.dir}/wandb/offline-run-*`"
            )
        if not os.environ.get("WANDB_API_KEY"):
            raise RuntimeError('no W&B API key: set "apiKey" with "Runwatch: Configure Backend…"')
        api = wandb.Api(timeout=20)
        viewer = api.viewer
        who = getattr(viewer, "username", None) or getattr(viewer, "entity", None) or "?"
        return f"W&B {wandb.__version__} online at {api.settings.get('base_url')} as {who}"

    def open(self, run: Dict[str, Any], state: Dict[str, Any]) -> Any:
        wandb = self._sdk()
        rid = run["runId"]
        wid = state.get("wandbId") or (rid if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", rid) else derived_id(rid, 32))
        state["wandbId"] = wid
        state.setdefault("step", 0)
        state.setdefault("tags", [])
        settings = wandb.Settings(console="off", x_disable_stats=True, x_disable_meta=True, silent=True)
        w = wandb.init(
            project=self.config.get("project") or run.get("project") or "runwatch",
            entity=self.config.get("entity") or None,
            name=run.get("name") or None,
            id=wid,
            resume="allow",
            dir=self.dir,
            mode=self.mode,
            reinit="create_new",
            settings=settings,
        )
        w.define_metric(STEP_KEY)
        w.define_metric("*", step_metric=STEP_KEY)
        return w

    def apply(self, w: Any, event: Dict[str, Any], run: Dict[str, Any], state: Dict[str, Any], refuse: Refuse) -> None:
        kind = event.get("type")
        if kind == "run.start":
            self._config(w, event.get("params") or {}, refuse)
            self._tags(w, state, event.get("tags") or {}, [])
        elif kind == "params":
            self._config(w, event.get("params") or {}, refuse)
        elif kind == "tags":
            self._tags(w, state, event.get("tags") or {}, event.get("removed") or [])
        elif kind == "metrics":
            self._metrics(w, event.get("points") or [], state, refuse)
        elif kind == "run.end":
            status = event.get("status", "finished")
            w.summary["runwatch/status"] = status
            w.finish(exit_code=0 if status == "finished" else 1)

    def _config(self, w: Any, params: Dict[str, Any], refuse: Refuse) -> None:
        try:
            w.config.update(params, allow_val_change=True)
        except Exception as e:  # noqa: BLE001 - one bad value must not hold back the run
            for k, v in params.items():
                try:
                    w.config.update({k: v}, allow_val_change=True)
                except Exception:  # noqa: BLE001
                    refuse(k, f"W&B refused config value {v!r}: {e}")

    def _tags(self, w: Any, state: Dict[str, Any], tags: Dict[str, str], removed: List[str]) -> None:
        labels = [t for t in state.get("tags", []) if t.partition(":")[0] not in removed and t.partition(":")[0] not in tags]
        labels += [t[:64] for t in tag_labels(tags)]
        state["tags"] = labels
        w.tags = tuple(labels)

    def _metrics(self, w: Any, points: List[Dict[str, Any]], state: Dict[str, Any], refuse: Refuse) -> None:
        row: Dict[str, Any] = {}
        row_step = None
        for p in points:
            key, step = p["key"], p["step"]
            if key == STEP_KEY or key.startswith("_"):
                refuse(key, f'W&B reserves the metric name "{key}"; its points are skipped')
                continue
            if row and (step != row_step or key in row):
                self._log(w, row, row_step, state)
                row = {}
            row_step = step
            row[key] = wire_float(p["value"])
            row["_timestamp"] = p["time"]
        if row:
            self._log(w, row, row_step, state)

    def _log(self, w: Any, row: Dict[str, Any], step: Any, state: Dict[str, Any]) -> None:
        row[STEP_KEY] = step
        # commit=True: the row goes to the service now, not when the next step begins.
        w.log(row, step=state["step"], commit=True)
        state["step"] += 1

    def commit(self, w: Any, state: Dict[str, Any]) -> None:
        # A round trip through the W&B service: it has taken every record sent before it.
        backend = getattr(w, "_backend", None)
        iface = getattr(backend, "interface", None)
        if iface is not None and hasattr(iface, "deliver_history_step"):
            iface.deliver_history_step().wait_or(timeout=60)

    def close(self, w: Any) -> None:
        try:
            if not getattr(w, "_is_finished", False):
                # Not ended: let go without marking the run done (the next bridge resumes it).
                w.finish(exit_code=0, quiet=True)
        except Exception as e:  # noqa: BLE001
            log(f"W&B: closing run: {e}")
