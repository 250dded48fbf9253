"""TensorBoard capture with real frameworks and no code change: a script that never imports runwatch,
run with the bundled client on PYTHONPATH (its sitecustomize loads, as in a VS Code terminal),
against a real headless collector. The store must hold exactly the scalars the framework wrote to
its own event files (read back with tensorboard's EventAccumulator), every step once."""

from __future__ import annotations

import glob
import os
import textwrap

import pytest

from framework_helpers import (  # noqa: F401 - fixtures
    Collector, clean_env, collector, list_runs, read_log, run_of_logdir, run_py, starts, store_scalars, tb_scalars)


def _only_logdir(root: str) -> str:
    dirs = sorted({os.path.dirname(f) for f in glob.glob(os.path.join(root, "**", "events.out.tfevents.*"), recursive=True)})
    assert len(dirs) == 1, dirs
    return dirs[0]


def _assert_same(store: Collector, logdir: str) -> list:
    rid = run_of_logdir(store.store, logdir)
    assert rid is not None, f"no run names {logdir} in its run.start context: {starts(store.store)}"
    events = read_log(store.store, rid)
    written = tb_scalars(logdir)
    assert written, "the framework wrote no scalars"
    assert store_scalars(events) == written, "the store holds exactly what the event files hold, every step once"
    assert events[-1]["type"] == "run.end" and events[-1]["status"] == "finished"
    return events


TORCH = textwrap.dedent(
    """
    from torch.utils.tensorboard import SummaryWriter
    w = SummaryWriter("runs/exp1")
    for step in range(20):
        w.add_scalar("train/loss", 1.0 / (step + 1), step)
        w.add_scalar("train/acc", step / 20.0, step, new_style=True)
        if step % 5 == 0:
            w.add_scalars("compare", {"a": step * 1.0, "b": -step * 1.0}, step)
    w.add_text("notes", "first line\\nsecond line", 3)
    w.add_histogram("weights", __import__("torch").arange(10.0), 7)
    w.add_hparams({"lr": 0.01, "optimizer": "adam", "layers": 3}, {"hparam/best": 0.5})
    w.close()
    """
)


def test_torch_summary_writer_scalars_text_hparams_and_kept_histograms(collector: Collector, tmp_path) -> None:
    run_py(TORCH, collector, str(tmp_path))
    logdir = str(tmp_path / "runs" / "exp1")
    events = _assert_same(collector, logdir)
    start = events[0]
    run_id = run_of_logdir(collector.store, logdir)
    assert start["context"]["tensorboard"] == {"logdir": os.path.realpath(logdir)}
    assert start["name"] == "runs/exp1"
    logs = [line for e in events if e["type"] == "log" for line in e["lines"]]
    assert logs == ["notes (step 3): first line", "notes (step 3): second line"]
    kept = [e for e in events if e["type"] == "artifact"]
    assert [(a["metadata"]["tag"], a["metadata"]["plugin"], a["metadata"]["step"]) for a in kept] == [("weights", "histo", 7)]
    assert os.path.dirname(kept[0]["path"]) == os.path.realpath(logdir) and "tfevents" in kept[0]["path"]
    # add_scalars and add_hparams write into folders of their own: child runs of this one.
    by_id = starts(collector.store)
    children = {s["context"]["tensorboard"]["logdir"]: rid for rid, s in by_id.items() if s.get("parentRunId") == run_id}
    assert len(children) == 3, children  # compare_a, compare_b, the hparams folder
    for child_dir in children:
        assert store_scalars(read_log(collector.store, children[child_dir])) == tb_scalars(child_dir)
    hp_dir = [d for d in children if not os.path.basename(d).startswith("compare")][0]
    params = [e["params"] for e in read_log(collector.store, children[hp_dir]) if e["type"] == "params"]
    assert params == [{"lr": 0.01, "optimizer": "adam", "layers": 3}]
    rel = os.path.basename(hp_dir)
    parent_params = [e["params"] for e in events if e["type"] == "params"]
    assert parent_params == [{f"{rel}/lr": 0.01, f"{rel}/optimizer": "adam", f"{rel}/layers": 3}]


LIGHTNING = textwrap.dedent(
    """
    import torch
    import {pkg} as pl
    from torch.utils.data import DataLoader, TensorDataset

    class Tiny(pl.LightningModule):
        def __init__(self, lr=0.05, hidden=4):
            super().__init__()
            self.save_hyperparameters()
            self.net = torch.nn.Sequential(torch.nn.Linear(3, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))
        def training_step(self, batch, i):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            self.log("train_loss", loss)
            return loss
        def validation_step(self, batch, i):
            x, y = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))
        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

    torch.manual_seed(0)
    ds = TensorDataset(torch.randn(32, 3), torch.randn(32, 1))
    trainer = pl.Trainer(max_epochs=2, log_every_n_steps=1, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu", default_root_dir=".")
    trainer.fit(Tiny(), DataLoader(ds, batch_size=4), DataLoader(ds, batch_size=8))
    """
)


def test_lightning_default_logger_without_importing_runwatch(collector: Collector, tmp_path) -> None:
    code = LIGHTNING.format(pkg="lightning.pytorch")
    assert "runwatch" not in code
    run_py(code, collector, str(tmp_path))
    logdir = _only_logdir(str(tmp_path / "lightning_logs"))
    events = _assert_same(collector, logdir)
    assert len(list_runs(collector.store)) == 1
    params = {k: v for e in events if e["type"] == "params" for k, v in e["params"].items()}
    assert params == {"lr": 0.05, "hidden": 4}
    assert {"train_loss", "val_loss", "epoch"} <= set(store_scalars(events))
    assert events[0]["name"] == "lightning_logs/version_0"


# The Trainer needs `accelerate`; without it (the test environment lacks it today) the Trainer's own
# TensorBoardCallback is driven by transformers' CallbackHandler around a real training loop.
HF_LOOP = textwrap.dedent(
    """
    import json, torch
    from types import SimpleNamespace
    from transformers import BertConfig, BertForSequenceClassification, TrainerControl, TrainerState
    from transformers.integrations import TensorBoardCallback
    from transformers.trainer_callback import CallbackHandler
    {extra_import}
    torch.manual_seed(0)
    config = BertConfig(vocab_size=40, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=16, num_labels=2)
    model = BertForSequenceClassification(config)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    args = SimpleNamespace(output_dir="out", run_name=None, learning_rate=0.1, max_steps=6,
                           to_json_string=lambda: json.dumps({{"learning_rate": 0.1, "max_steps": 6}}),
                           to_dict=lambda: {{"learning_rate": 0.1, "max_steps": 6}})
    handler = CallbackHandler([{callbacks}], model, None, opt, None)
    state, control = TrainerState(max_steps=6), TrainerControl()
    g = torch.Generator().manual_seed(1)
    x, y = torch.randint(0, 40, (24, 8), generator=g), torch.randint(0, 2, (24,), generator=g)
    handler.on_train_begin(args, state, control)
    for step in range(6):
        out = model(input_ids=x[step * 4:(step + 1) * 4], labels=y[step * 4:(step + 1) * 4])
        out.loss.backward(); opt.step(); opt.zero_grad()
        state.global_step = step + 1
        handler.on_log(args, state, control, {{"loss": out.loss.item(), "learning_rate": 0.1, "epoch": step / 6}})
        if step % 3 == 2:
            with torch.no_grad():
                metrics = {{"eval_loss": model(input_ids=x[:8], labels=y[:8]).loss.item()}}
            handler.on_log(args, state, control, metrics)
            handler.on_evaluate(args, state, control, metrics)
    handler.on_train_end(args, state, control)
    """
)


def test_hf_tensorboard_callback_is_captured(collector: Collector, tmp_path) -> None:
    run_py(HF_LOOP.format(extra_import="", callbacks="TensorBoardCallback()"), collector, str(tmp_path))
    logdir = _only_logdir(str(tmp_path / "out"))
    events = _assert_same(collector, logdir)
    keys = set(store_scalars(events))
    assert {"train/loss", "eval/loss", "train/learning_rate", "train/epoch"} <= keys, keys
    logs = [line for e in events if e["type"] == "log" for line in e["lines"]]
    assert any(line.startswith("args (step 0): ") for line in logs), logs[:3]
    assert any(line.startswith("model_config (step 0): ") for line in logs)
    assert len(list_runs(collector.store)) == 1


HF = textwrap.dedent(
    """
    import torch
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

    torch.manual_seed(0)
    config = BertConfig(vocab_size=40, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=16, num_labels=2)
    model = BertForSequenceClassification(config)

    class Tokens(torch.utils.data.Dataset):
        def __init__(self, n):
            g = torch.Generator().manual_seed(n)
            self.x = torch.randint(0, 40, (n, 8), generator=g)
            self.y = torch.randint(0, 2, (n,), generator=g)
        def __len__(self):
            return len(self.x)
        def __getitem__(self, i):
            return {"input_ids": self.x[i], "labels": self.y[i]}

    args = TrainingArguments(output_dir="out", max_steps=6, per_device_train_batch_size=4, logging_steps=2,
                             eval_strategy="steps", eval_steps=3, report_to=["tensorboard"], save_strategy="no",
                             use_cpu=True, disable_tqdm=True, dataloader_num_workers=0)
    trainer = Trainer(model=model, args=args, train_dataset=Tokens(24), eval_dataset=Tokens(8))
    trainer.train()
    trainer.evaluate()
    """
)


def test_hf_trainer_with_tensorboard_reporting(collector: Collector, tmp_path) -> None:
    pytest.importorskip("accelerate", reason="transformers' Trainer needs accelerate, not in the test environment")
    run_py(HF, collector, str(tmp_path))
    logdir = _only_logdir(str(tmp_path / "out"))
    events = _assert_same(collector, logdir)
    keys = set(store_scalars(events))
    assert {"train/loss", "eval/loss", "train/learning_rate"} <= keys, keys
    logs = [line for e in events if e["type"] == "log" for line in e["lines"]]
    assert any(line.startswith("args (step 0): ") for line in logs)
    assert any(line.startswith("model_config (step 0): ") for line in logs)
    assert len(list_runs(collector.store)) == 1, "the writer reopened for evaluate() is the same log directory: one run"
