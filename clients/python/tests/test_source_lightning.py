"""Source locations through a real framework: Lightning's own code calls the runwatch logger (from deep
inside Trainer.fit, long after `self.log` returned), so the first frame that is the person's is the
`trainer.fit(...)` line of their script, and that is what each key records (not a Lightning or torch
file). Skipped where Lightning is not installed (the test environment has it)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from helpers import Collector, client_env, list_runs, read_log

pytest.importorskip("lightning")

SCRIPT = textwrap.dedent(
    """
    import torch
    import lightning.pytorch as pl
    from torch.utils.data import DataLoader, TensorDataset
    from runwatch.integrations.lightning import RunwatchLogger

    class Tiny(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Linear(3, 1)
        def training_step(self, batch, i):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            self.log("train_loss", loss)
            return loss
        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.05)

    ds = TensorDataset(torch.randn(16, 3), torch.randn(16, 1))
    trainer = pl.Trainer(max_epochs=1, log_every_n_steps=1, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu", default_root_dir=".", logger=RunwatchLogger(project="p", name="lit"))
    trainer.fit(Tiny(), DataLoader(ds, batch_size=4))  # fit-line
    """
)


def test_lightning_keys_point_at_the_persons_fit_call(collector: Collector, tmp_path) -> None:
    collector.start()
    script = tmp_path / "train_lit.py"
    script.write_text(SCRIPT)
    fit_line = next(i for i, line in enumerate(SCRIPT.splitlines(), 1) if "# fit-line" in line)
    env = client_env(RUNWATCH_URL=collector.url, RUNWATCH_TOKEN=collector.token, CUDA_VISIBLE_DEVICES="")
    res = subprocess.run([sys.executable, str(script)], env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-4000:]
    [run_id] = list_runs(collector.store)
    events = read_log(collector.store, run_id)
    sources = {k: v for e in events if e["type"] == "metrics" for k, v in (e.get("sources") or {}).items()}
    assert "train_loss" in sources, sources
    for key, loc in sources.items():
        assert loc["file"] == str(script) and loc["line"] == fit_line, (key, loc)
