"""The tracker-independent half of a bridge: requests in, SDK calls out, replies back.

A `write` request carries one run's records in log order from the backend's cursor. The
bridge skips records at or below the run's saved offset (already in the tracker), hands
the rest to the tracker, waits until the SDK holds them (`commit`), saves the new offset,
and only then answers `ok`: the extension moves its cursor on that answer alone. A value
the tracker refuses is skipped and named in the answer (`refused`), once per key."""

from __future__ import annotations

import sys
import traceback
from typing import Any, Callable, Dict, List, Optional, Tuple

from .protocol import RunStates

Refuse = Callable[[str, str], None]


class SdkMissing(Exception):
    """The tracker's SDK cannot be imported in this interpreter."""


class Tracker:
    """One tracker's SDK behind the bridge. Subclasses import their SDK lazily."""

    name = ""
    display = ""
    pip = ""

    def __init__(self, config: Dict[str, Any], state_dir: str) -> None:
        self.config = config
        self.state_dir = state_dir

    def sdk_version(self) -> str:
        raise NotImplementedError

    def health(self) -> str:
        """What the tracker set-up is, for the health check; raises when it cannot work."""
        return f"{self.display} {self.sdk_version()}"

    def open(self, run: Dict[str, Any], state: Dict[str, Any]) -> Any:
        raise NotImplementedError

    def apply(self, handle: Any, event: Dict[str, Any], run: Dict[str, Any], state: Dict[str, Any], refuse: Refuse) -> None:
        raise NotImplementedError

    def commit(self, handle: Any, state: Dict[str, Any]) -> None:
        """Returns once the SDK holds everything applied so far."""

    def close(self, handle: Any) -> None:
        """Lets go of a run (after its end, or when the bridge stops)."""

    def shutdown(self) -> None:
        """The bridge is stopping: flush what the SDK still buffers."""


def log(message: str) -> None:
    sys.stderr.write(f"[runwatch.bridge] {message}\n")
    sys.stderr.flush()


class Bridge:
    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self.states = RunStates(tracker.state_dir + "/runs")
        self.handles: Dict[str, Any] = {}
        self.refused_keys: set = set()

    def handle(self, msg: Dict[str, Any]) -> Dict[str, Any]:
        op = msg.get("op")
        try:
            if op == "write":
                return self.write(msg["run"], msg["records"])
            if op == "health":
                return {"ok": True, "details": self.tracker.health()}
            if op == "close":
                self.stop()
                return {"ok": True}
            return {"ok": False, "error": f"unknown request {op!r}"}
        except SdkMissing as e:
            return {"ok": False, "error": str(e), "code": "sdk-missing"}
        except Exception as e:  # noqa: BLE001 - every failure goes back to the extension, which retries
            log(traceback.format_exc())
            return {"ok": False, "error": f"{type(e).__name__}: {e}"}

    def write(self, run: Dict[str, Any], records: List[Dict[str, Any]]) -> Dict[str, Any]:
        run_id = run["runId"]
        st = self.states.get(run_id)
        fresh = [r for r in records if r["offset"] > st["offset"]]
        refused: List[Dict[str, str]] = []
        if not fresh:
            return {"ok": True, "offset": st["offset"], "refused": refused}

        def refuse(key: str, message: str) -> None:
            if (run_id, key) in self.refused_keys:
                return
            self.refused_keys.add((run_id, key))
            refused.append({"key": key, "message": message})

        handle = self.handles.get(run_id)
        if handle is None:
            handle = self.tracker.open(run, st)
            self.handles[run_id] = handle
            # What ties the run to the tracker (ids, offline sessions) is kept before any record
            # goes in: a bridge killed mid-batch leaves a next one that knows what it wrote to.
            self.states.save(run_id, st)
        ended = False
        try:
            for rec in fresh:
                self.tracker.apply(handle, rec["event"], run, st, refuse)
                if rec["event"].get("type") == "run.end":
                    ended = True
            self.tracker.commit(handle, st)
        except Exception:
            # What was applied may be half in the SDK: start the run afresh from the saved state.
            self._drop(run_id)
            raise
        st["offset"] = fresh[-1]["offset"]
        self.states.save(run_id, st)
        if ended:
            self._drop(run_id)
        return {"ok": True, "offset": st["offset"], "refused": refused}

    def _drop(self, run_id: str) -> None:
        handle = self.handles.pop(run_id, None)
        self.states._cache.pop(run_id, None)
        if handle is not None:
            try:
                self.tracker.close(handle)
            except Exception:  # noqa: BLE001
                log(traceback.format_exc())

    def stop(self) -> None:
        for run_id in list(self.handles):
            self._drop(run_id)
        self.tracker.shutdown()


def split_prefix(key: str, prefixes: List[str]) -> Tuple[Optional[str], str]:
    """`train/loss` -> ("train", "loss") when "train" is one of the context prefixes."""
    head, sep, rest = key.partition("/")
    if sep and rest and head in prefixes:
        return head, rest
    return None, key


def tag_labels(tags: Dict[str, str]) -> List[str]:
    """Runwatch tags are name -> value; trackers with plain labels get `name` or `name:value`."""
    out = []
    for k, v in tags.items():
        out.append(k if v in ("", "true") else f"{k}:{v}")
    return out
