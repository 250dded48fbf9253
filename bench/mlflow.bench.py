"""Peer for bench/mlflow.bench.ts: MLflow's own Python client logging the same points.

usage: python mlflow.bench.py <tracking uri> <mode> <points>; mode is one of
log_metric (a loop of mlflow.log_metric), log_batch (MlflowClient.log_batch, 1,000 a call),
async (mlflow.log_metric(..., synchronous=False), timed until the queue is flushed).
Prints {"seconds": s}. Import and run creation are outside the timing.
"""
import json
import sys
import time

import mlflow
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

uri, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
mlflow.set_tracking_uri(uri)
mlflow.set_experiment("bench-python")
base = int(time.time() * 1000)
with mlflow.start_run() as run:
    run_id = run.info.run_id
    client = MlflowClient(uri)
    t0 = time.perf_counter()
    if mode == "log_metric":
        for i in range(n):
            mlflow.log_metric("loss", 1.0 / (i + 1), step=i, timestamp=base + i)
    elif mode == "log_batch":
        for s in range(0, n, 1000):
            client.log_batch(run_id, metrics=[Metric("loss", 1.0 / (i + 1), base + i, i) for i in range(s, min(n, s + 1000))])
    elif mode == "async":
        for i in range(n):
            mlflow.log_metric("loss", 1.0 / (i + 1), step=i, timestamp=base + i, synchronous=False)
        mlflow.flush_async_logging()
    else:
        raise SystemExit(f"unknown mode {mode}")
    seconds = time.perf_counter() - t0
    got = len(client.get_metric_history(run_id, "loss"))
    assert got == n, f"{mode}: {got} of {n} points arrived"
print(json.dumps({"seconds": seconds}))
