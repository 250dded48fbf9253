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
current one (online on resume, and when `wandb sync` uploads a later offline file).

Accepted means on disk: the SDK's service writes rows to the run's `.wandb` transaction
log in the background, and a bridge killed before a flush would lose rows it had said were
taken. So `commit` reads the log file itself (its record framing, each record parsed with
the SDK's protobuf) until the batch's last row is there; the flush interval is set short
(`x_transaction_log_flush_interval`) so that takes a fraction of a second. Config, tags and
summary are set again harmlessly when a batch is sent again; rows are what must not repeat."""

from __future__ import annotations

import contextlib
import os
import re
import struct
import time
from typing import Any, Dict, Iterator, List

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
        settings = wandb.Settings(
            console="off", x_disable_stats=True, x_disable_meta=True, silent=True, x_transaction_log_flush_interval=0.05
        )
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
        try:
            w.define_metric(STEP_KEY)
            w.define_metric("*", step_metric=STEP_KEY)
            # A reopened run (a later offline file, or a resume) starts from what Runwatch holds now:
            # `wandb sync` takes the last file's tags, and config updates are idempotent.
            if run.get("params"):
                w.config.update(run["params"], allow_val_change=True)
            if run.get("tags"):
                state["tags"] = [t[:64] for t in tag_labels(run["tags"])]
                w.tags = tuple(state["tags"])
            return Handle(w, TxLog(w.settings.sync_file))
        except BaseException:
            w.finish(exit_code=1)
            raise

    def apply(self, h: Any, event: Dict[str, Any], run: Dict[str, Any], state: Dict[str, Any], refuse: Refuse) -> None:
        w = h.run
        kind = event.get("type")
        if kind == "run.start":
            self._config(w, event.get("params") or {}, refuse)
            self._tags(w, state, event.get("tags") or {}, [])
        elif kind == "params":
            self._config(w, event.get("params") or {}, refuse)
        elif kind == "tags":
            self._tags(w, state, event.get("tags") or {}, event.get("removed") or [])
        elif kind == "metrics":
            with held_publishes(w):
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

    def commit(self, h: Any, state: Dict[str, Any]) -> None:
        w = h.run
        if getattr(w, "_is_finished", False):
            return  # finish() returns once the service has written everything
        # A round trip through the W&B service: it has taken every record sent before it.
        iface = interface_of(w)
        if iface is not None and hasattr(iface, "deliver_history_step"):
            iface.deliver_history_step().wait_or(timeout=60)
        txlog: TxLog = h.txlog
        last = state["step"] - 1
        if last < 0:
            return
        deadline = time.monotonic() + 20
        while txlog.last_step() < last:
            if time.monotonic() > deadline:
                raise RuntimeError(f"W&B did not write row {last} to {txlog.path} within 20 s")
            time.sleep(0.02)

    def close(self, h: Any) -> None:
        w = h.run
        try:
            if not getattr(w, "_is_finished", False):
                # Not ended: let go without marking the run done (the next bridge resumes it).
                w.finish(exit_code=0)
        except Exception as e:  # noqa: BLE001
            log(f"W&B: closing run: {e}")


def interface_of(w: Any) -> Any:
    """The run's interface to the W&B service (`_interface` in SDK 0.2x-0.3x, `_backend.interface` before)."""
    return getattr(w, "_interface", None) or getattr(getattr(w, "_backend", None), "interface", None)


@contextlib.contextmanager
def held_publishes(w: Any) -> Iterator[None]:
    """Within it, what `w.log` publishes is held and then sent to the W&B service in one hop.

    Each `log` otherwise hands its record to the SDK's asyncio thread and waits for that thread
    to send it: a thread round trip per row, most of a row's cost. Held records keep their
    order and go out before anything after the block (the next event, the commit's round
    trip). Where the SDK's interface lacks these private parts, rows go one by one as before."""
    iface = interface_of(w)
    asyncer = getattr(iface, "_asyncer", None)
    client = getattr(iface, "_client", None)
    if asyncer is None or client is None or not hasattr(iface, "_assign") or not hasattr(client, "publish"):
        yield
        return
    from wandb.proto import wandb_server_pb2 as spb  # noqa: PLC0415

    held: List[Any] = []

    def publish(record: Any, *, nowait: bool = False) -> None:
        iface._assign(record)
        request = spb.ServerRequest()
        request.record_publish.CopyFrom(record)
        held.append(request)

    iface._publish = publish
    try:
        yield
    finally:
        del iface._publish  # the class's own again
        if held:

            async def send() -> None:
                for request in held:
                    await client.publish(request)

            asyncer.run(send)


class Handle:
    def __init__(self, run: Any, txlog: "TxLog") -> None:
        self.run = run
        self.txlog = txlog


class TxLog:
    """Reads a run's `.wandb` transaction log as it grows: the highest history step on disk.

    The file is a LevelDB-style log: a 7-byte header (":W&B", magic, version), then 32 KiB
    blocks of chunks, each with a 7-byte header (CRC-32, length, type: full, first, middle,
    last) holding the SDK's protobuf `Record` messages."""

    BLOCK = 32768

    def __init__(self, path: str) -> None:
        self.path = path
        self.pos = 7
        self.pending = b""
        self.step = -1

    def last_step(self) -> int:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except OSError:
            return self.step
        from wandb.proto import wandb_internal_pb2 as pb  # noqa: PLC0415

        i = 0
        while True:
            left = self.BLOCK - (self.pos + i) % self.BLOCK
            if left < 7:
                if i + left > len(data):
                    break
                i += left
                continue
            if i + 7 > len(data):
                break
            _crc, n, kind = struct.unpack("<IHB", data[i : i + 7])
            if kind == 0 and n == 0:
                if i + left > len(data):
                    break
                i += left
                continue
            if i + 7 + n > len(data):
                break
            chunk = data[i + 7 : i + 7 + n]
            i += 7 + n
            if kind in (1, 2):
                self.pending = chunk
            else:
                self.pending += chunk
            if kind in (1, 4):
                rec = pb.Record.FromString(self.pending)
                self.pending = b""
                if rec.WhichOneof("record_type") == "history":
                    self.step = max(self.step, rec.history.step.num)
        self.pos += i
        return self.step
