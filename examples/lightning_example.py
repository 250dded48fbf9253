"""Lightning, two ways: its default TensorBoard logger captured with no code change (run it in a VS
Code terminal), or Runwatch's own logger with `--runwatch-logger` (anywhere). A tiny model on
random data, CPU only, a few seconds.

    python examples/lightning_example.py                   # default logger, captured in VS Code
    python examples/lightning_example.py --runwatch-logger # runwatch.integrations.lightning
"""

import argparse

import torch
from torch.utils.data import DataLoader, TensorDataset

try:
    import lightning.pytorch as pl
except ImportError:
    import pytorch_lightning as pl  # type: ignore[no-redef]

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--runwatch-logger", action="store_true")
args = parser.parse_args()


class Regressor(pl.LightningModule):
    def __init__(self, lr: float = 0.05, hidden: int = 16) -> None:
        super().__init__()
        self.save_hyperparameters()  # -> Runwatch params (either way)
        self.net = torch.nn.Sequential(torch.nn.Linear(8, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


torch.manual_seed(0)
x = torch.randn(512, 8)
y = x.sum(dim=1, keepdim=True) + 0.1 * torch.randn(512, 1)
train, val = DataLoader(TensorDataset(x[:448], y[:448]), batch_size=32), DataLoader(TensorDataset(x[448:], y[448:]), batch_size=64)

logger = True  # Lightning's default: a TensorBoardLogger under lightning_logs/
if args.runwatch_logger:
    from runwatch.integrations.lightning import RunwatchLogger

    logger = RunwatchLogger(project="examples", name="lightning")
trainer = pl.Trainer(max_epochs=args.epochs, logger=logger, log_every_n_steps=5, accelerator="cpu",
                     enable_checkpointing=False)
trainer.fit(Regressor(), train, val)
