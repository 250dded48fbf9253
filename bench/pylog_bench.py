"""Per-call cost of logging one scalar: runwatch's run.log against other trackers, same machine, same run.

Driver:  python bench/pylog_bench.py --url URL --token T        (prints a Markdown section)
One peer: python bench/pylog_bench.py --peer NAME --n N --repeats R  (prints JSON samples)

Each peer runs in its own process (their background threads and services must not
slow the others). Every repeat times a loop of n calls and reports ns per call,
loop overhead included; the table shows the median of the repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# (peer, label, calls per repeat, repeats): fewer calls for the slow ones so the bench takes minutes.
PEERS: List[Tuple[str, str, int, int]] = [
    ("empty", "empty loop (reference: `for i in range(n): pass` with the value computed)", 200_000, 7),
    ("runwatch", "runwatch `run.log({\"loss\": x}, step=i)` (connected)", 200_000, 7),
    ("runwatch_nosrc", "runwatch `run.log` with source locations off (RUNWATCH_SOURCES=0; on, a location is taken once per key)", 200_000, 7),
    ("tensorboardX", "tensorboardX `add_scalar`", 20_000, 5),
    ("torch_tb", "torch.utils.tensorboard `add_scalar`", 20_000, 5),
    ("mlflow_async", "mlflow `log_metric(..., synchronous=False)` (file store)", 2_000, 3),
    ("mlflow_sync", "mlflow `log_metric` (synchronous, file store)", 300, 3),
    ("wandb", "wandb `log` (offline)", 5_000, 3),
]


CPU: List[float] = []  # per repeat: the calling thread's CPU ns/call (time.thread_time)


def _time_loop(call: Callable[[float, int], None], n: int, record: bool = True) -> float:
    c0 = time.thread_time()
    t0 = time.perf_counter()
    for i in range(n):
        call(i * 0.001, i)
    wall = (time.perf_counter() - t0) / n * 1e9
    if record:
        CPU.append((time.thread_time() - c0) / n * 1e9)
    return wall


def run_peer(name: str, n: int, repeats: int, url: str, token: str) -> Dict[str, object]:
    tmp = tempfile.mkdtemp(prefix=f"pylog-{name}-")
    samples: List[float] = []
    extra: Dict[str, object] = {}
    if name == "empty":
        for _ in range(repeats):
            c0 = time.thread_time()
            t0 = time.perf_counter()
            for i in range(n):
                x = i * 0.001  # noqa: F841
            samples.append((time.perf_counter() - t0) / n * 1e9)
            CPU.append((time.thread_time() - c0) / n * 1e9)
    elif name in ("runwatch", "runwatch_nosrc"):
        if name == "runwatch_nosrc":
            os.environ["RUNWATCH_SOURCES"] = "0"
        sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
        import runwatch

        run = runwatch.init(project="bench", name="pylog", url=url, token=token, flush_timeout=120)
        log = run.log
        # Warm-up, like the peers get: the run is started, connected and its first batch acknowledged.
        warm = 20_000
        for i in range(warm):
            log({"loss": i * 0.001}, step=i)
        while run.acked_points < warm:
            time.sleep(0.005)
        logged = warm
        drain: List[float] = []
        for _ in range(repeats):
            c0 = time.thread_time()
            t0 = time.perf_counter()
            for i in range(logged, logged + n):
                log({"loss": i * 0.001}, step=i)
            t1 = time.perf_counter()
            CPU.append((time.thread_time() - c0) / n * 1e9)
            samples.append((t1 - t0) / n * 1e9)
            logged += n
            # Each repeat starts with nothing in flight: wait until the collector holds every point.
            while run.acked_points < logged:
                time.sleep(0.005)
            drain.append(n / (time.perf_counter() - t0))
        run.finish()
        extra["end_to_end_points_per_s"] = statistics.median(drain)
        extra["spooled"] = run.spool_path is not None
    elif name in ("tensorboardX", "torch_tb"):
        if name == "tensorboardX":
            from tensorboardX import SummaryWriter
        else:
            from torch.utils.tensorboard import SummaryWriter
        w = SummaryWriter(tmp)
        add = w.add_scalar
        _time_loop(lambda x, i: add("loss", x, i), min(n, 1000), record=False)  # warm-up
        for r in range(repeats):
            samples.append(_time_loop(lambda x, i: add("loss", x, i), n))
        w.close()
    elif name.startswith("mlflow"):
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # MLflow 3 keeps the file store in maintenance mode
        import mlflow

        mlflow.set_tracking_uri("file://" + tmp)
        mlflow.set_experiment("bench")
        mlflow.start_run()
        sync = name == "mlflow_sync"
        lm = mlflow.log_metric
        _time_loop(lambda x, i: lm("loss", x, step=i, synchronous=sync), min(n, 50), record=False)
        for r in range(repeats):
            samples.append(_time_loop(lambda x, i: lm("loss", x, step=i, synchronous=sync), n))
        mlflow.end_run()
    elif name == "wandb":
        os.environ["WANDB_MODE"] = "offline"
        os.environ["WANDB_SILENT"] = "true"
        import wandb

        wrun = wandb.init(project="bench", dir=tmp, mode="offline")
        wl = wrun.log
        step = 0
        _time_loop(lambda x, i: wl({"loss": x}, step=i), min(n, 200), record=False)
        step = min(n, 200)
        for r in range(repeats):
            base = step
            samples.append(_time_loop(lambda x, i: wl({"loss": x}, step=base + i), n))
            step += n
        wrun.finish()
    else:
        raise SystemExit(f"unknown peer {name}")
    return {"peer": name, "n": n, "samples_ns": samples, "cpu_ns": CPU, **extra}


def versions() -> Dict[str, str]:
    out: Dict[str, str] = {}
    for mod in ("tensorboardX", "torch", "mlflow", "wandb"):
        try:
            from importlib.metadata import version

            out[mod] = version("mlflow-skinny" if mod == "mlflow" else mod)
        except Exception:  # noqa: BLE001
            out[mod] = "?"
    return out


def drive(url: str, token: str) -> None:
    results: Dict[str, Dict[str, object]] = {}
    load_before = os.getloadavg()[0]
    for name, _, n, repeats in PEERS:
        t0 = time.monotonic()
        proc = subprocess.run(
            [sys.executable, __file__, "--peer", name, "--n", str(n), "--repeats", str(repeats), "--url", url, "--token", token],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            timeout=900,
        )
        if proc.returncode != 0:
            sys.stderr.write(f"peer {name} failed:\n{proc.stderr[-3000:]}\n")
            continue
        results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        sys.stderr.write(f"  {name}: {statistics.median(results[name]['samples_ns']):.0f} ns/call ({time.monotonic() - t0:.0f} s)\n")  # type: ignore[arg-type]

    med = {k: statistics.median(v["samples_ns"]) for k, v in results.items()}  # type: ignore[arg-type]
    ref = med.get("runwatch")
    v = versions()
    print("## Python client: per-call cost of logging one scalar")
    print()
    print("Rerun: `npm run bench -- pylog` (or `bash bench/pylog.bench.sh`).")
    print()
    print(
        "Each tracker runs in its own process on this machine, in the same bench run; a repeat times a loop of n calls "
        "(loop overhead included, see the empty loop), timed by the wall clock and by the calling thread's CPU time "
        "(which leaves out time the OS gave to other processes on a loaded machine, and background threads' work). "
        "runwatch is connected to a headless collector (durability on); "
        "between repeats it waits until the collector has acknowledged every point. "
        f"Versions: tensorboardX {v['tensorboardX']}, torch {v['torch']}, mlflow {v['mlflow']}, wandb {v['wandb']}. "
        f"Load average (1 min) {load_before:.1f} before and {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores."
    )
    print()
    cpu = {k: statistics.median(v["cpu_ns"]) for k, v in results.items()}  # type: ignore[arg-type]
    print("| call | calls × repeats | median ns/call (wall) | min–max ns/call | × run.log | median CPU ns/call (calling thread) | × run.log (CPU) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, label, _, _ in PEERS:
        if name not in results:
            print(f"| {label} | – | failed | – | – | – | – |")
            continue
        s = results[name]["samples_ns"]  # type: ignore[index]
        ratio = f"{med[name] / ref:.1f}×" if ref else "–"
        cref = cpu.get("runwatch")
        cratio = f"{cpu[name] / cref:.1f}×" if cref else "–"
        print(f"| {label} | {results[name]['n']:,} × {len(s)} | {med[name]:,.0f} | {min(s):,.0f}–{max(s):,.0f} | {ratio} | {cpu[name]:,.0f} | {cratio} |")  # type: ignore[arg-type]
    print()
    if ref is not None:
        rw = results["runwatch"]
        print(f"runwatch end to end (log → durable in the collector → acknowledged): median {float(rw['end_to_end_points_per_s']):,.0f} points/s per repeat.")  # type: ignore[arg-type]
        cref = cpu["runwatch"]
        t1 = f"wall {ref:,.0f} ns ({'met' if ref <= 1000 else 'NOT met'}), calling-thread CPU {cref:,.0f} ns ({'met' if cref <= 1000 else 'NOT met'})"
        tbx = med.get("tensorboardX")
        t2 = ("met" if tbx / ref >= 10 else "NOT met") + f" ({tbx / ref:.1f}× wall, {cpu['tensorboardX'] / cref:.1f}× CPU)" if tbx else "not measured"
        print()
        print(f"Targets: run.log median ≤ 1 µs: {t1}; ≥ 10× cheaper than tensorboardX add_scalar: {t2}.")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--url", default="")
    ap.add_argument("--token", default="")
    a = ap.parse_args()
    if a.peer:
        print(json.dumps(run_peer(a.peer, a.n, a.repeats, a.url, a.token)))
    else:
        drive(a.url, a.token)


if __name__ == "__main__":
    main()
