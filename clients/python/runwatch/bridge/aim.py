"""The Aim bridge, through the `aim` SDK, into a local repo folder or a remote `aim://` server.

Run identity: the Aim run hash is derived from the Runwatch run id (the first 24 hex digits
of its SHA-256, Aim's own hash length), so a restarted bridge reopens the same run with
`Run(run_hash=...)`; the Runwatch run id is also kept in the run as `runwatch_run_id`.

Exactly once: Aim stores a metric sequence by step, so a point sent again after a crash
lands on the step it already holds instead of adding a second point. Wall times are the
Runwatch points' own (not the time the bridge got them).

Contexts: a key whose first segment is one of `contextPrefixes` (`train/loss`) is tracked
as the metric `loss` with the context `{"subset": "train"}`."""

from __future__ import annotations

import math
import os
import time
from typing import Any, Dict, List, Optional, Tuple

from .core import Refuse, SdkMissing, Tracker, log, split_prefix, tag_labels
from .protocol import derived_id, wire_float

DEFAULT_PREFIXES = ["train", "val", "valid", "validation", "test", "eval"]


class AimTracker(Tracker):
    name = "aim"
    display = "Aim"
    pip = "aim"

    def _sdk(self) -> Any:
        try:
            import aim  # noqa: PLC0415 - the SDK is optional: imported only in its bridge
        except ImportError as e:
            raise SdkMissing(f"the aim package is not installed ({e}); run: python -m pip install aim") from e
        return aim

    def sdk_version(self) -> str:
        self._sdk()
        from aim.__version__ import __version__  # noqa: PLC0415

        return str(__version__)

    @property
    def repo(self) -> str:
        repo = self.config.get("repo") or os.path.join(self.state_dir, "aim")
        if "://" not in repo:
            os.makedirs(repo, exist_ok=True)
        return repo

    @property
    def prefixes(self) -> List[str]:
        p = self.config.get("contextPrefixes")
        return list(p) if isinstance(p, list) else DEFAULT_PREFIXES

    def _repo(self) -> Any:
        from aim import Repo  # noqa: PLC0415

        return Repo.from_path(self.repo, init="://" not in self.repo)

    def health(self) -> str:
        version = self.sdk_version()
        repo = self._repo()
        return f"Aim {version}, repo {repo.path}"

    def open(self, run: Dict[str, Any], state: Dict[str, Any]) -> Any:
        aim = self._sdk()
        from aim.sdk import base_run  # noqa: PLC0415

        repo = self._repo()
        run_hash = state.get("aimHash") or derived_id(run["runId"], 24)
        state["aimHash"] = run_hash
        experiment = self.config.get("experiment") or run.get("project") or None
        if repo.run_exists(run_hash):
            r = aim.Run(run_hash=run_hash, repo=repo, experiment=experiment, force_resume=True, system_tracking_interval=None, capture_terminal_logs=False)
        else:
            # Aim makes up a new run's hash; hand it ours so a restart finds the run again.
            made = base_run.generate_run_hash
            base_run.generate_run_hash = lambda hash_length=24: run_hash
            try:
                r = aim.Run(repo=repo, experiment=experiment, system_tracking_interval=None, capture_terminal_logs=False)
            finally:
                base_run.generate_run_hash = made
            r["runwatch_run_id"] = run["runId"]
        if run.get("name"):
            r.name = run["name"]
        return r

    def apply(self, r: Any, event: Dict[str, Any], run: Dict[str, Any], state: Dict[str, Any], refuse: Refuse) -> None:
        kind = event.get("type")
        if kind == "run.start":
            self._params(r, event.get("params") or {}, refuse)
            self._tags(r, event.get("tags") or {}, [])
        elif kind == "params":
            self._params(r, event.get("params") or {}, refuse)
        elif kind == "tags":
            self._tags(r, event.get("tags") or {}, event.get("removed") or [])
        elif kind == "metrics":
            self._points(r, event.get("points") or [], refuse)
        elif kind == "run.end":
            # Aim calls a run active until its end time is set, which `close` does a moment
            # later: set it first, so a reader never sees the end status on an active run.
            meta = getattr(r, "meta_run_tree", None)
            if meta is not None:
                meta["end_time"] = time.time()
            r["runwatch_status"] = event.get("status", "finished")
            r["runwatch_end_time"] = event.get("time")

    def _params(self, r: Any, params: Dict[str, Any], refuse: Refuse) -> None:
        for k, v in params.items():
            try:
                r.set(("hparams", k), v, strict=False)
            except Exception as e:  # noqa: BLE001 - one bad value must not hold back the run
                refuse(k, f"Aim refused param value {v!r}: {e}")

    def _tags(self, r: Any, tags: Dict[str, str], removed: List[str]) -> None:
        for label in list(r.props.tags) if removed else []:
            name = getattr(label, "name", str(label))
            if name.partition(":")[0] in removed:
                r.remove_tag(name)
        have = {getattr(t, "name", str(t)) for t in r.props.tags}
        for label in tag_labels(tags):
            if label not in have:
                r.add_tag(label)

    def _points(self, r: Any, points: List[Dict[str, Any]], refuse: Refuse) -> None:
        """A metrics event's points, a sequence (name and context) at a time.

        Aim's `track` updates the sequence's bookkeeping (last value and step, min, max) in the
        run's tree for every point, about half a point's cost. Here each point's value still
        goes in on its own, at its step, but the bookkeeping is updated once per sequence with
        what the points' one by one updates would have left. Where the SDK lacks these private
        parts, or a sequence fails, its points go one by one through `_point`."""
        tracker = getattr(r, "_tracker", None)
        if tracker is None or not all(hasattr(tracker, a) for a in _TRACKER_PARTS):
            for p in points:
                self._point(r, p, refuse)
            return
        from aim.storage.context import Context  # noqa: PLC0415

        prefixes = self.prefixes
        groups: Dict[Tuple[Optional[str], str], List[Dict[str, Any]]] = {}
        for p in points:
            groups.setdefault(split_prefix(p["key"], prefixes), []).append(p)
        for (subset, name), group in groups.items():
            try:
                with tracker.repo.atomic_track(tracker.hash):
                    track_sequence(tracker, Context({"subset": subset} if subset else {}), name, group)
            except Exception:  # noqa: BLE001 - one by one: the refusal names the point at fault
                for p in group:
                    self._point(r, p, refuse)

    def _point(self, r: Any, p: Dict[str, Any], refuse: Refuse) -> None:
        subset, name = split_prefix(p["key"], self.prefixes)
        context = {"subset": subset} if subset else {}
        value = wire_float(p["value"])
        try:
            tracker = getattr(r, "_tracker", None)
            if tracker is not None and hasattr(tracker, "_track"):
                # The private entry point takes the wall time; `track` would stamp "now".
                tracker._track(value, float(p["time"]), name, int(p["step"]), None, context=context)
            else:
                r.track(value, name=name, step=int(p["step"]), context=context)
        except Exception as e:  # noqa: BLE001
            refuse(p["key"], f"Aim refused metric {p['key']!r} value {value!r}: {e}")

    def close(self, r: Any) -> None:
        try:
            r.close()
        except Exception as e:  # noqa: BLE001
            log(f"Aim: closing run: {e}")


_TRACKER_PARTS = ("sequence_infos", "_init_sequence_info", "_update_context_data", "_update_sequence_info", "_add_value", "repo", "hash")


def track_sequence(tracker: Any, ctx: Any, name: str, group: List[Dict[str, Any]]) -> None:
    """One sequence's points through Aim's tracker internals, as `_track` does per point, with
    `_update_sequence_info` called for only the points whose update can last: the first (the
    sequence's `first` when it is new), the first to reach the highest step (`last`), and the
    lowest and highest values (`min`, `max`; NaN is never either)."""
    pts = [(int(p["step"]), wire_float(p["value"]), float(p["time"])) for p in group]
    idx = ctx.idx
    seq = tracker.sequence_infos[idx, name]
    if not seq.initialized:
        tracker._init_sequence_info(idx, name, pts[0][1])
    tracker._update_context_data(ctx)
    top = max(q[0] for q in pts)
    chosen = [pts[0], next(q for q in pts if q[0] == top)]
    numbers = [q for q in pts if not math.isnan(q[1])]
    if numbers:
        chosen += [min(numbers, key=lambda q: q[1]), max(numbers, key=lambda q: q[1])]
    done: List[Any] = []
    for q in chosen:
        if not any(q is d for d in done):
            done.append(q)
            tracker._update_sequence_info(idx, name, q[1], q[0])
    for step, value, wall in pts:
        tracker._add_value(seq, value, step, None, wall)
