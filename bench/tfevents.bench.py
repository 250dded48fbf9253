"""Peer for bench/tfevents.bench.ts: tensorboardX writing the same scalars.

usage: python tfevents.bench.py <logdir> <steps> <keys>; prints {"seconds": s, "bytes": n}.
"""
import glob
import json
import os
import sys
import time

from tensorboardX import SummaryWriter

logdir, steps, keys = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
names = [f"metric{k}" for k in range(keys)]
base = 1_700_000_000.0
t0 = time.perf_counter()
w = SummaryWriter(logdir, flush_secs=3600)
for s in range(steps):
    wall = base + s * 0.01
    for k, name in enumerate(names):
        w.add_scalar(name, 1.0 / (s + k + 1), global_step=s, walltime=wall)
w.close()  # flushes everything to disk
seconds = time.perf_counter() - t0
size = sum(os.path.getsize(f) for f in glob.glob(os.path.join(logdir, "events.out.tfevents.*")))
print(json.dumps({"seconds": seconds, "bytes": size}))
