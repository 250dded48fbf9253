"""A Keras 3 callback that streams to Runwatch (any backend: torch, JAX, TensorFlow).

    from runwatch.integrations.keras import RunwatchKerasCallback
    model.fit(x, y, epochs=5, callbacks=[RunwatchKerasCallback(batch_frequency=10)])

Epoch metrics (`loss`, `val_loss`, ... as Keras names them, what its CSVLogger writes) at step =
the epoch number (0, 1, ...); with `batch_frequency=N`, every N-th training batch's logs as
`batch/<name>` at step = the batch's number counted over all epochs. Params: `fit`'s (epochs, steps)
and the optimizer's config under `optimizer.`. The run ends with the process; an exception that
ends the script marks it failed (Ctrl+C: killed). Only the process with `RANK` 0 (or none) logs.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional

import keras

from . import numbers, start_run

__all__ = ["RunwatchKerasCallback"]


def _rank_zero() -> bool:
    try:
        return int(os.environ.get("RANK", "0") or 0) == 0
    except ValueError:
        return True


class RunwatchKerasCallback(keras.callbacks.Callback):  # type: ignore[misc, name-defined]
    """Streams Keras `fit` metrics to Runwatch: every epoch, and every `batch_frequency` batches (0: none)."""

    def __init__(self, project: Optional[str] = None, name: Optional[str] = None,
                 tags: Optional[Mapping[str, str]] = None, batch_frequency: int = 0) -> None:
        super().__init__()
        if not isinstance(batch_frequency, int) or isinstance(batch_frequency, bool) or batch_frequency < 0:
            raise ValueError(f"batch_frequency={batch_frequency!r}: pass a whole number of batches, 0 for none")
        self._project = project
        self._name = name
        self._tags = dict(tags or {})
        self.batch_frequency = batch_frequency
        self._run: Any = None
        self._epoch = 0
        self._batches_before = 0  # batches of the epochs before this one
        self._seen = 0  # batches of this epoch so far
        self._active = _rank_zero()
        from ..capture import _patch

        _patch.step_aside()

    @property
    def run(self) -> Any:
        return self._run

    def _params(self) -> Dict[str, Any]:
        params: Dict[str, Any] = {}
        for k in ("epochs", "steps", "batch_size"):
            v = (self.params or {}).get(k)
            if v is not None:
                params[k] = v
        opt = getattr(self.model, "optimizer", None)
        if opt is not None:
            try:
                params["optimizer"] = {k: v for k, v in opt.get_config().items() if not isinstance(v, dict)}
            except Exception:  # noqa: BLE001
                params["optimizer"] = type(opt).__name__
        return params

    def on_train_begin(self, logs: Optional[Mapping[str, Any]] = None) -> None:
        if self._active and self._run is None:
            self._run, _ = start_run(self._project, self._name, self._params(), self._tags)

    def on_epoch_begin(self, epoch: int, logs: Optional[Mapping[str, Any]] = None) -> None:
        self._epoch = int(epoch)
        self._seen = 0

    def on_train_batch_end(self, batch: int, logs: Optional[Mapping[str, Any]] = None) -> None:
        self._seen = int(batch) + 1
        n = self.batch_frequency
        if not n or self._run is None or not logs:
            return
        if (batch + 1) % n == 0:
            data = numbers(logs, "batch/")
            if data:
                self._run.log(data, step=self._batches_before + int(batch))

    def on_epoch_end(self, epoch: int, logs: Optional[Mapping[str, Any]] = None) -> None:
        if self._run is not None and logs:
            data = numbers(logs)
            if data:
                self._run.log(data, step=int(epoch))
        self._batches_before += self._seen
