"""A plain SummaryWriter script, streamed into Runwatch with no Runwatch call in the training code.

In a VS Code integrated terminal nothing is needed (the bundled sitecustomize captures it):
    python examples/summarywriter_example.py
Elsewhere, `--capture` calls runwatch.capture.tensorboard() first (put clients/python on PYTHONPATH,
or pip install ./clients/python). The event files under runs/summarywriter-example are written as
usual; TensorBoard reads them as before.
"""

import argparse
import math
import random
import time

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=200)
parser.add_argument("--delay", type=float, default=0.02, help="seconds per step, to watch it live")
parser.add_argument("--capture", action="store_true", help="capture explicitly (outside VS Code)")
args = parser.parse_args()

if args.capture:
    import runwatch.capture

    runwatch.capture.tensorboard()

try:
    from torch.utils.tensorboard import SummaryWriter
except ImportError:  # no torch: tensorboardX writes the same files
    from tensorboardX import SummaryWriter

writer = SummaryWriter("runs/summarywriter-example")
writer.add_text("notes", "a synthetic run: loss decays, accuracy rises", 0)
for step in range(args.steps):
    loss = 2.0 * math.exp(-step / 60) + random.random() * 0.05
    writer.add_scalar("train/loss", loss, step)
    writer.add_scalar("train/accuracy", 1 - loss / 2.2, step)
    if step % 20 == 0:
        writer.add_scalar("val/loss", loss * 1.1, step)
    time.sleep(args.delay)
writer.add_hparams({"lr": 0.01, "optimizer": "adam"}, {"hparam/final_loss": loss})
writer.close()
