"""The explicit integrations with real frameworks against a real headless collector: Lightning's
logger (both packages), the Hugging Face callback and the Keras 3 callback (torch backend). Each
trains a tiny model a few steps beside the framework's own CSV or TensorBoard logger, and the store
must hold exactly what that logger wrote, every step once, in one run."""

from __future__ import annotations

import glob
import os
import struct
import textwrap
from typing import Dict, List, Tuple

import pytest

from framework_helpers import (  # noqa: F401 - fixtures
    Collector, clean_env, collector, csv_rows, list_runs, read_log, run_py, store_scalars, tb_scalars)
from test_frameworks_capture import HF_LOOP, LIGHTNING


def _csv_series(path: str, step_col: str, skip: Tuple[str, ...] = ()) -> Dict[str, List[Tuple[int, float]]]:
    out: Dict[str, List[Tuple[int, float]]] = {}
    for row in csv_rows(path):
        for k, v in row.items():
            if k == step_col or k in skip or v in ("", None):
                continue
            out.setdefault(k, []).append((int(row[step_col]), float(v)))
    return out


def _one_run(store: str) -> list:
    runs = list_runs(store)
    assert len(runs) == 1, f"one run, got {len(runs)}"
    return read_log(store, runs[0])


LIGHTNING_EXPLICIT = LIGHTNING.replace(
    'default_root_dir=".")',
    'default_root_dir=".", logger=[RunwatchLogger(project="tiny", name="lit"), CSVLogger("csv"), TensorBoardLogger("tb")])',
).replace(
    "from torch.utils.data import DataLoader, TensorDataset",
    "from torch.utils.data import DataLoader, TensorDataset\n"
    "from {pkg}.loggers import CSVLogger, TensorBoardLogger\n"
    "from runwatch.integrations.lightning import RunwatchLogger",
)


@pytest.mark.parametrize("pkg", ["lightning.pytorch", "pytorch_lightning"])
def test_lightning_logger_matches_csv_logger(collector: Collector, tmp_path, pkg: str) -> None:
    run_py(LIGHTNING_EXPLICIT.format(pkg=pkg), collector, str(tmp_path))
    events = _one_run(collector.store)  # the TensorBoardLogger beside it is not captured a second time
    start = events[0]
    assert (start["project"], start["name"]) == ("tiny", "lit")
    [metrics_csv] = glob.glob(str(tmp_path / "csv" / "**" / "metrics.csv"), recursive=True)
    assert store_scalars(events) == _csv_series(metrics_csv, "step")
    params = {k: v for e in events if e["type"] == "params" for k, v in e["params"].items()}
    assert params == {"lr": 0.05, "hidden": 4}
    assert events[-1]["type"] == "run.end" and events[-1]["status"] == "finished"


def test_lightning_logger_marks_a_failed_fit_failed(collector: Collector, tmp_path) -> None:
    code = LIGHTNING_EXPLICIT.format(pkg="lightning.pytorch").replace(
        "        return loss\n", "        if i == 3:\n            raise ValueError('bad batch')\n        return loss\n")
    code = "try:\n" + textwrap.indent(code, "    ") + "\nexcept ValueError:\n    print('caught')\n"
    res = run_py(code, collector, str(tmp_path))
    assert "caught" in res.stdout
    events = _one_run(collector.store)
    end = events[-1]
    assert (end["type"], end["status"], end.get("reason")) == ("run.end", "failed", "ValueError: bad batch")
    assert [s for s, _ in store_scalars(events)["train_loss"]] == [0, 1, 2]


def test_hf_callback_matches_the_tensorboard_callback(collector: Collector, tmp_path) -> None:
    code = HF_LOOP.format(extra_import="from runwatch.integrations.transformers import RunwatchCallback",
                          callbacks="TensorBoardCallback(), RunwatchCallback(project='hf')")
    run_py(code, collector, str(tmp_path))
    events = _one_run(collector.store)
    [logdir] = {os.path.dirname(f) for f in glob.glob(str(tmp_path / "out" / "**" / "events.*"), recursive=True)}
    # TensorBoard keeps float32: the callback's doubles, rounded so, are what the event file holds.
    as_f32 = {k: [(st, struct.unpack("<f", struct.pack("<f", v))[0]) for st, v in pts] for k, pts in store_scalars(events).items()}
    assert as_f32 == tb_scalars(logdir), "eval metrics once though on_log and on_evaluate both carry them"
    params = events[0]["params"]
    assert params["learning_rate"] == 0.1 and params["model.hidden_size"] == 8 and params["model.num_hidden_layers"] == 2
    assert events[-1]["status"] == "finished"


KERAS = textwrap.dedent(
    """
    import numpy as np, keras
    from runwatch.integrations.keras import RunwatchKerasCallback
    keras.utils.set_random_seed(0)
    x = np.random.rand(48, 4).astype("float32"); y = np.random.rand(48, 1).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])

    class Batches(keras.callbacks.Callback):
        def __init__(self):
            super().__init__(); self.rows = []; self.n = 0
        def on_train_batch_end(self, batch, logs=None):
            if (batch + 1) % 2 == 0:
                self.rows.append((self.n, dict(logs)))
            self.n += 1

    batches = Batches()
    model.fit(x, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0,
              callbacks=[RunwatchKerasCallback(project="k", batch_frequency=2), keras.callbacks.CSVLogger("log.csv"), batches])
    import json; print(json.dumps(batches.rows))
    """
)


def test_keras_callback_matches_csv_logger_and_batch_logs(collector: Collector, tmp_path) -> None:
    res = run_py(KERAS, collector, str(tmp_path))
    events = _one_run(collector.store)
    stored = store_scalars(events)
    epochs = {k: v for k, v in stored.items() if not k.startswith("batch/")}
    assert epochs == _csv_series(str(tmp_path / "log.csv"), "epoch")
    import json

    rows = json.loads(res.stdout.strip().splitlines()[-1])
    want: Dict[str, List[Tuple[int, float]]] = {}
    for n, logs in rows:
        for k, v in logs.items():
            want.setdefault("batch/" + k, []).append((n, float(v)))
    assert {k: v for k, v in stored.items() if k.startswith("batch/")} == want
    assert events[0]["params"]["epochs"] == 3 and events[0]["params"]["optimizer.learning_rate"] == pytest.approx(0.05)
