#!/usr/bin/env python3
"""A synthetic training run for trying Runwatch: no ML framework, only the standard library.

    python examples/train_demo.py                  # 300 steps, ~20 steps a second
    python examples/train_demo.py --steps 2000 --delay 0.005 --name fast

In a VS Code terminal `import runwatch` works as is (the extension puts the client on
PYTHONPATH and tells it where the collector is); elsewhere this script falls back to the
copy in clients/python next to it, and finds the collector through .runwatch/collector.json.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time

try:
    import runwatch
except ImportError:  # not in a Runwatch terminal: use the client from this repository
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "python"))
    import runwatch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=300, help="training steps (default 300)")
    ap.add_argument("--delay", type=float, default=0.05, help="seconds per step (default 0.05)")
    ap.add_argument("--project", default="demo")
    ap.add_argument("--name", default=None, help="run name (default: demo-<time>)")
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-every", type=int, default=25, help="steps between validation points")
    ap.add_argument("--fail-at", type=int, default=None, help="raise an error at this step (to see a failed run)")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    config = {
        "lr": args.lr,
        "seed": args.seed,
        "steps": args.steps,
        "optimizer": {"name": "adamw", "betas": [0.9, 0.999], "weight_decay": 0.01},
        "model": {"layers": 12, "hidden": 768},
        "batch_size": 64,
    }
    spike_at = max(1, int(args.steps * 0.6))  # a loss spike, as from a bad batch
    nan_at = max(1, int(args.steps * 0.8))  # one NaN, as from an overflow

    with runwatch.init(project=args.project, name=args.name or f"demo-{time.strftime('%H%M%S')}", config=config, tags=["demo", "synthetic"]) as run:
        print(f"runwatch run {run.id} ({'collector ' + run.url if run.url else 'no collector: spooling'})", flush=True)
        for step in range(args.steps):
            if args.fail_at is not None and step == args.fail_at:
                raise RuntimeError(f"synthetic failure at step {step}")
            progress = step / max(1, args.steps - 1)
            loss = 2.5 * math.exp(-4.0 * progress) + 0.15 + rng.gauss(0, 0.04)
            if step == spike_at:
                loss *= 3.0
            acc = 0.98 - 0.88 * math.exp(-5.0 * progress) + rng.gauss(0, 0.01)
            lr = args.lr * min(1.0, (step + 1) / 20) * 0.5 * (1 + math.cos(math.pi * progress))
            metrics = {"train/loss": loss if step != nan_at else float("nan"), "train/acc": acc, "train/lr": lr}
            if step % args.eval_every == 0 or step == args.steps - 1:
                metrics["val/loss"] = loss * 1.1 + 0.05 + rng.gauss(0, 0.02)
                metrics["val/acc"] = acc - 0.03 + rng.gauss(0, 0.01)
            run.log(metrics, step=step)
            if step % 50 == 0:
                print(f"step {step:5d}  loss {loss:.4f}  acc {acc:.4f}", flush=True)
            time.sleep(args.delay)
        run.set_tags({"best_val_acc": f"{acc:.4f}"})
    print("done", flush=True)


if __name__ == "__main__":
    main()
