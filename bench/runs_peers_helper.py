"""Writes the runs of bench/runsTable.bench.ts for the peers in bench/runs-peers.bench.ts.

  runs_peers_helper.py tb OUT RUNS POINTS      event files (tensorboardX), one folder per run
  runs_peers_helper.py mlflow URI RUNS POINTS  the same runs in an MLflow store (client log_batch),
                                               in an experiment named runs-RUNS

Both print one JSON line: what was written and how long it took.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Dict, Iterator, List, Tuple, Union

T0 = 1_700_000_000.0
KEYS = ("train/loss", "train/acc", "val/loss", "val/acc", "lr")
Param = Union[int, float, str, bool]


def params_of(r: int) -> Dict[str, Param]:
    """The same ten params as the Runwatch side, so the peers hold the same runs."""
    return {
        "lr": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2][r % 5],
        "seed": r % 10,
        "batch_size": [32, 64, 128][r % 3],
        "layers": 2 + (r % 7),
        "hidden": [128, 256, 512, 1024][r % 4],
        "dropout": (r % 5) / 10,
        "optimizer": "adamw" if r % 2 else "sgd",
        "warmup": (r % 4) * 100,
        "weight_decay": [0, 1e-4, 1e-2][r % 3],
        "amp": r % 3 == 0,
    }


def points_of(r: int, points: int) -> Iterator[Tuple[int, float, Dict[str, float]]]:
    """(step, wall time, value per key), every `1000 // points`-th step of the 1,000."""
    stride = max(1, 1000 // points)
    lr = float(params_of(r)["lr"])
    for s in range(0, stride * points, stride):
        decay = math.exp(-s / (100 + (r % 50)))
        yield s, T0 + r * 10 + s * 0.01, {
            "train/loss": round(2 * decay + 0.1 + (r % 13) / 100, 4),
            "train/acc": round(1 - decay, 4),
            "val/loss": round(2.1 * decay + 0.12, 4),
            "val/acc": round(0.95 - decay, 4),
            "lr": lr,
        }


def run_name(r: int) -> str:
    return f"run-{r:05d}"


def write_tb_runs(args: Tuple[str, List[int], int]) -> int:
    from tensorboardX import SummaryWriter  # lazily: only this command needs it

    out, runs, points = args
    for r in runs:
        w = SummaryWriter(os.path.join(out, run_name(r)), flush_secs=600, max_queue=100_000)
        for step, wall, values in points_of(r, points):
            for k in KEYS:
                w.add_scalar(k, values[k], step, walltime=wall)
        w.close()
    return len(runs)


def write_tb(out: str, runs: int, points: int) -> int:
    jobs = max(1, min(os.cpu_count() or 1, 4))
    with ProcessPoolExecutor(jobs) as pool:
        return sum(pool.map(write_tb_runs, [(out, list(range(j, runs, jobs)), points) for j in range(jobs)]))


def write_mlflow(uri: str, runs: int, points: int) -> str:
    from mlflow.entities import Metric, Param as MlParam  # lazily: only this command needs it
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment(f"runs-{runs}")
    for r in range(runs):
        run = client.create_run(exp, run_name=run_name(r), start_time=int((T0 + r * 10) * 1000))
        rid = run.info.run_id
        metrics = [
            Metric(k, values[k], int(wall * 1000), step)
            for step, wall, values in points_of(r, points)
            for k in KEYS
        ]
        params = [MlParam(k, str(v)) for k, v in params_of(r).items()]
        for i in range(0, max(1, len(metrics)), 1000):  # MLflow takes at most 1,000 metrics a batch
            client.log_batch(rid, metrics=metrics[i : i + 1000], params=params if i == 0 else [])
        client.set_terminated(rid, "FINISHED", end_time=int((T0 + r * 10 + 10) * 1000))
    return exp


def main(argv: List[str]) -> int:
    if len(argv) != 5 or argv[1] not in ("tb", "mlflow"):
        print(__doc__, file=sys.stderr)
        return 2
    cmd, target, runs, points = argv[1], argv[2], int(argv[3]), int(argv[4])
    t0 = time.perf_counter()
    if cmd == "tb":
        written = write_tb(target, runs, points)
        print(json.dumps({"runs": written, "seconds": time.perf_counter() - t0}))
    else:
        exp = write_mlflow(target, runs, points)
        print(json.dumps({"experiment": exp, "seconds": time.perf_counter() - t0}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
