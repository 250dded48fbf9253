"""Writes CSV training logs with the frameworks' own loggers, for the CSV log reader tests.

  make_csvlogs.py lightning DIR   a tiny LightningModule, a few steps, Lightning's CSVLogger
  make_csvlogs.py keras DIR       a tiny Keras 3 model (torch backend), three epochs, keras.callbacks.CSVLogger
  make_csvlogs.py hf DIR          a Hugging Face TrainerState with a log_history, saved by its own save_to_json

Each prints JSON: {"file": the log written, "points": [[key, step, value], ...]} as read back
from that file with Python's csv/json modules (non-finite values as "NaN"/"Infinity"/"-Infinity").
"""

import csv
import json
import math
import os
import sys


def wire(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def read_csv(path, step_col):
    points = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            step = int(float(row[step_col]))
            for k, v in row.items():
                if k == step_col or v == "":
                    continue
                points.append([k, step, wire(float(v))])
    return points


def lightning(out):
    import torch
    from lightning.pytorch import LightningModule, Trainer
    from lightning.pytorch.loggers import CSVLogger

    class Tiny(LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(4, 1)

        def training_step(self, batch, _):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.layer(x), y)
            self.log("train_loss", loss)
            return loss

        def validation_step(self, batch, _):
            x, y = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self.layer(x), y))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1))
    loader = torch.utils.data.DataLoader(data, batch_size=4)
    logger = CSVLogger(out, name="tiny")
    trainer = Trainer(max_epochs=2, logger=logger, log_every_n_steps=1, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
    trainer.fit(Tiny(), loader, loader)
    path = os.path.join(logger.log_dir, "metrics.csv")
    print(json.dumps({"file": path, "points": read_csv(path, "step")}))


def keras(out):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    import numpy as np

    np.random.seed(0)
    x, y = np.random.randn(32, 4).astype("float32"), np.random.randn(32, 1).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "history.csv")
    model.fit(x, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0,
              callbacks=[keras.callbacks.CSVLogger(path)])
    print(json.dumps({"file": path, "points": read_csv(path, "epoch")}))


def hf(out):
    from transformers import TrainerState

    state = TrainerState(global_step=30, max_steps=30, num_train_epochs=3, logging_steps=10)
    state.log_history = [
        {"loss": 2.5, "learning_rate": 5e-05, "epoch": 1.0, "step": 10},
        {"eval_loss": 2.25, "eval_accuracy": 0.5, "epoch": 1.0, "step": 10},
        {"loss": 1.75, "grad_norm": 3.5, "learning_rate": 2.5e-05, "epoch": 2.0, "step": 20},
        {"train_runtime": 1.5, "train_loss": 2.0, "epoch": 3.0, "step": 30},
    ]
    ckpt = os.path.join(out, "checkpoint-20")
    os.makedirs(ckpt, exist_ok=True)
    partial = TrainerState(global_step=20, max_steps=30, num_train_epochs=3, logging_steps=10)
    partial.log_history = state.log_history[:3]
    partial.save_to_json(os.path.join(ckpt, "trainer_state.json"))
    path = os.path.join(out, "trainer_state.json")
    state.save_to_json(path)
    points = []
    with open(path) as f:
        for e in json.load(f)["log_history"]:
            for k, v in e.items():
                if k != "step":
                    points.append([k, e["step"], wire(v)])
    print(json.dumps({"file": path, "points": points}))


if __name__ == "__main__":
    mode, out = sys.argv[1], sys.argv[2]
    {"lightning": lightning, "keras": keras, "hf": hf}[mode](out)
