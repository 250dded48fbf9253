"""Peer for bench/tflogs-read.bench.ts: tensorboard's own EventAccumulator reading a log folder,
keeping every point (size_guidance 0 for scalars and tensors), timed from construction to the
scalars in hand.

usage: python tflogs_read.py <logdir>; prints {"seconds": s, "scalars": n}.
"""
import json
import sys
import time

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

logdir = sys.argv[1]
t0 = time.perf_counter()
acc = EventAccumulator(logdir, size_guidance={"scalars": 0, "tensors": 0})
acc.Reload()
n = sum(len(acc.Scalars(tag)) for tag in acc.Tags()["scalars"])
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "scalars": n}))
