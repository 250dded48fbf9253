"""`python -m runwatch.bridge <wandb|aim|clearml> <state folder>`: one bridge process.

Requests come as frames on stdin; replies go as frames on the process's original stdout,
which is moved to a private descriptor first so that whatever the SDKs print lands on
stderr (the extension copies stderr into its log) and never corrupts a frame. The tracker's
configuration comes in the first request (`hello`); secrets come only in the environment."""

from __future__ import annotations

import gc
import importlib
import os
import sys
import time
from typing import Any, Dict

from .core import Bridge, SdkMissing, log
from .protocol import ProtocolError, read_frame, write_frame

TRACKERS = {"wandb": "WandbTracker", "aim": "AimTracker", "clearml": "ClearmlTracker"}


LOCK_WAIT_S = 120.0


def lock_state_dir(state_dir: str) -> bool:
    """Takes `<state folder>/bridge.lock` for the life of the process (the OS lets go when it
    ends, however it ends); False when another bridge still holds it after LOCK_WAIT_S."""
    os.makedirs(state_dir, exist_ok=True)
    f = open(os.path.join(state_dir, "bridge.lock"), "a+b")  # noqa: SIM115 - held until exit
    if os.name == "nt":
        import msvcrt  # noqa: PLC0415

        def take() -> bool:
            try:
                f.seek(0)
                msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
                return True
            except OSError:
                return False

    else:
        import fcntl  # noqa: PLC0415

        def take() -> bool:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except OSError:
                return False

    deadline = time.monotonic() + LOCK_WAIT_S
    if not take():
        log("waiting for the previous bridge on this state folder to end")
        while not take():
            if time.monotonic() > deadline:
                f.close()
                return False
            time.sleep(0.05)
    _held.append(f)
    return True


_held: list = []


def idle_priority() -> None:
    """Linux: the bridge, the threads it starts and their children run only on CPU time nothing
    else wants (SCHED_IDLE, below nice 19), so an SDK never takes a core from a training script
    and the collector's ingest; the extension has already set nice 19, which is what other
    systems keep."""
    setter = getattr(os, "sched_setscheduler", None)
    policy = getattr(os, "SCHED_IDLE", None)
    if setter is None or policy is None:
        return
    try:
        setter(0, policy, os.sched_param(0))
    except OSError:
        pass  # not permitted here: nice 19 stays


def main(argv: list) -> int:
    if len(argv) < 2 or argv[0] not in TRACKERS:
        sys.stderr.write(f"usage: python -m runwatch.bridge <{'|'.join(TRACKERS)}> <state folder>\n")
        return 2
    name, state_dir = argv[0], argv[1]
    idle_priority()  # before the SDK is imported: its threads and helper processes inherit it
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    inp = sys.stdin.buffer
    module = importlib.import_module(f"runwatch.bridge.{name}")
    hello = read_frame(inp)
    if hello is None:
        return 0
    config: Dict[str, Any] = hello.get("config") or {}
    # One bridge at a time per state folder: a bridge whose host went away (VS Code's extension
    # host restarted) may still be closing its runs while the next one starts on the same runs.
    if not lock_state_dir(state_dir):
        write_frame(out, {"ok": False, "error": f"another bridge on {state_dir} is still running after {LOCK_WAIT_S:g} s"})
        return 5
    tracker = getattr(module, TRACKERS[name])(config, state_dir)
    try:
        version = tracker.sdk_version()
    except SdkMissing as e:
        write_frame(out, {"ok": False, "code": "sdk-missing", "error": str(e), "python": sys.executable})
        return 3
    # The SDK's modules are imported now and live as long as the bridge: frozen out of the
    # collector's reach, a full collection (ClearML reports allocate enough to start a few per
    # batch) no longer walks them every time.
    gc.freeze()
    # A write decodes tens of thousands of objects and the SDK makes more for each point (ClearML's
    # in reference cycles): a young-generation collection every 700 allocations runs hundreds of
    # times a batch, mostly walking objects still in use. Every 50,000 costs a few MB of garbage.
    gc.set_threshold(50_000, 10, 10)
    write_frame(out, {"ok": True, "sdk": version, "python": sys.executable})
    bridge = Bridge(tracker)
    try:
        while True:
            msg = read_frame(inp)
            if msg is None:
                break
            reply = bridge.handle(msg)
            if "id" in msg:
                reply["id"] = msg["id"]
            write_frame(out, reply)
            if msg.get("op") == "close":
                return 0
    except ProtocolError as e:
        log(f"stopping: {e}")
        return 4
    finally:
        try:
            bridge.stop()
        except Exception as e:  # noqa: BLE001
            log(f"stopping: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
