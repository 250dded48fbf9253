#!/usr/bin/env python3
"""A small synthetic sweep for trying Runwatch's runs table, groups, bands and parallel coordinates.

    python examples/demo_sweep.py               # six runs, one after another, about a minute and a half
    python examples/demo_sweep.py --delay 0     # as fast as possible

Six runs over learning rate (1e-3, 3e-3, 1e-2) and seed (0, 1), each its own process as a real sweep
would start them: the lr=1e-2, seed=1 run diverges (its loss grows to Infinity, then NaN), the
lr=3e-3, seed=1 run fails with a traceback half way. Seed-0 runs are tagged "baseline". Standard
library only; finds the client and the collector like examples/train_demo.py.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import subprocess
import sys
import time

LRS = [1e-3, 3e-3, 1e-2]
SEEDS = [0, 1]
DIVERGES = (1e-2, 1)
FAILS = (3e-3, 1)


def _client():
    try:
        import runwatch
    except ImportError:  # not in a Runwatch terminal: use the client from this repository
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "python"))
        import runwatch
    return runwatch


def one_run(lr: float, seed: int, steps: int, delay: float, project: str) -> None:
    runwatch = _client()
    rng = random.Random(seed * 1000 + int(lr * 1e6))
    tags = ["sweep"] + (["baseline"] if seed == 0 else [])
    config = {"lr": lr, "seed": seed, "batch_size": 64, "optimizer": "adamw", "steps": steps}
    with runwatch.init(project=project, name=f"lr{lr:g}-seed{seed}", config=config, tags=tags) as run:
        # A larger lr learns faster, down to a floor that rises with it; the seed shifts the floor.
        speed = 2.0 + 3.0 * math.log10(lr / 1e-3)
        floor = 0.12 + 0.05 * math.log10(lr / 1e-3) + 0.03 * seed
        for step in range(steps):
            if (lr, seed) == FAILS and step == steps // 2:
                raise RuntimeError(f"CUDA error: an illegal memory access was encountered (synthetic, step {step})")
            progress = step / max(1, steps - 1)
            loss = 2.3 * math.exp(-speed * progress) + floor + rng.gauss(0, 0.02)
            if (lr, seed) == DIVERGES and step > steps * 0.4:
                grow = math.exp((step - steps * 0.4) / 12.0)
                loss = math.inf if grow > 1e300 else loss * grow
                if step > steps * 0.4 + 40:
                    loss = math.nan
            point = {"train/loss": loss, "train/lr": lr * min(1.0, (step + 1) / 50)}
            if step % 20 == 0 or step == steps - 1:
                val = loss * 1.08 + rng.gauss(0, 0.01) if math.isfinite(loss) else loss
                point["val/loss"] = val
                point["val/acc"] = max(0.0, min(1.0, 1.0 - val / 2.6)) if math.isfinite(val) else math.nan
            run.log(point, step=step)
            if delay:
                time.sleep(delay)
        if (lr, seed) == DIVERGES:
            print(f"run {run.id} diverged (loss is NaN)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=300, help="steps per run (default 300)")
    ap.add_argument("--delay", type=float, default=0.04, help="seconds per step (default 0.04)")
    ap.add_argument("--project", default="demo-sweep")
    ap.add_argument("--one", nargs=2, metavar=("LR", "SEED"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        one_run(float(args.one[0]), int(args.one[1]), args.steps, args.delay, args.project)
        return
    failed = 0
    for lr in LRS:
        for seed in SEEDS:
            print(f"sweep: lr={lr:g} seed={seed}", flush=True)
            cmd = [sys.executable, os.path.abspath(__file__), "--one", repr(lr), str(seed)]
            cmd += ["--steps", str(args.steps), "--delay", str(args.delay), "--project", args.project]
            if subprocess.call(cmd) != 0:
                failed += 1
                print(f"sweep: lr={lr:g} seed={seed} failed (its traceback is above)", flush=True)
    print(f"sweep: done, {len(LRS) * len(SEEDS)} runs, {failed} failed", flush=True)


if __name__ == "__main__":
    main()
