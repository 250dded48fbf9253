"""A Lightning `Logger` that streams to Runwatch, for `lightning.pytorch` and `pytorch_lightning` alike.

    from runwatch.integrations.lightning import RunwatchLogger
    trainer = Trainer(logger=RunwatchLogger(project="mnist"))

`RunwatchLogger` subclasses the `Logger` of whichever Lightning package is imported already
(`lightning.pytorch` first), else of the one that imports; `logger_class("pytorch_lightning")`
names one. Hyperparameters become params, metrics are logged at Lightning's step, only on global
rank zero. A fit that fails ends the run at once (failed, or killed for Ctrl+C, from the exception
the trainer is handling); a fit that succeeds leaves it open so that `trainer.test()` lands in the
same run, and the run ends with the process (or `logger.finish()`).
"""

from __future__ import annotations

import sys
from argparse import Namespace
from typing import Any, Dict, Mapping, Optional, Union

from . import numbers, start_run, status_of_exception

__all__ = ["RunwatchLogger", "logger_class"]

_PACKAGES = ("lightning.pytorch", "pytorch_lightning")
_classes: Dict[str, type] = {}


def _params(params: Union[Mapping[str, Any], Namespace, Any]) -> Dict[str, Any]:
    if isinstance(params, Namespace):
        return dict(vars(params))
    if isinstance(params, Mapping):
        return dict(params)
    return dict(vars(params)) if hasattr(params, "__dict__") else {"hparams": str(params)}


def logger_class(package: Optional[str] = None) -> type:
    """The Runwatch logger class for one Lightning package ("lightning.pytorch" or "pytorch_lightning")."""
    if package is None:
        package = next((p for p in _PACKAGES if p in sys.modules), None)
        if package is None:
            try:
                import lightning.pytorch  # noqa: F401

                package = "lightning.pytorch"
            except ImportError:
                package = "pytorch_lightning"
    if package not in _PACKAGES:
        raise ValueError(f"logger_class({package!r}): the package is one of {', '.join(_PACKAGES)}")
    cls = _classes.get(package)
    if cls is None:
        cls = _classes[package] = _build(package)
    return cls


def _build(package: str) -> type:
    import importlib

    loggers = importlib.import_module(package + ".loggers")
    rank_zero = importlib.import_module(package + ".utilities.rank_zero")
    base: type = loggers.Logger
    rank_zero_only = rank_zero.rank_zero_only
    # Other ranks get Lightning's dummy experiment: no run is made there.
    rank_zero_experiment = importlib.import_module(package + ".loggers.logger").rank_zero_experiment

    class RunwatchLogger(base):  # type: ignore[misc, valid-type]
        """Streams Lightning's hyperparameters and metrics to Runwatch (rank zero only)."""

        def __init__(self, project: Optional[str] = None, name: Optional[str] = None,
                     tags: Optional[Mapping[str, str]] = None, prefix: str = "") -> None:
            super().__init__()
            self._project = project
            self._name = name
            self._tags = dict(tags or {})
            self._prefix = prefix
            self._run: Any = None
            self._owned = False
            from ..capture import _patch

            _patch.step_aside()  # the TensorBoardLogger beside us would send the same values again

        # The run is made on first use, on rank zero only.
        @property
        @rank_zero_experiment
        def experiment(self) -> Any:
            return self._ensure()

        def _ensure(self) -> Any:
            if self._run is None:
                self._run, self._owned = start_run(self._project, self._name, None, self._tags)
            return self._run

        @property
        def name(self) -> Optional[str]:
            return self._run.project if self._run is not None else self._project

        @property
        def version(self) -> Optional[Union[int, str]]:
            return self._run.id if self._run is not None else None

        @rank_zero_only
        def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
            self._ensure().log_params(_params(params))

        @rank_zero_only
        def log_metrics(self, metrics: Mapping[str, Any], step: Optional[int] = None) -> None:
            data = numbers(metrics, self._prefix)
            if data:
                self._ensure().log(data, step=step)

        @rank_zero_only
        def finalize(self, status: str) -> None:
            if self._run is None or not self._owned:
                return
            if status in ("failed", "killed", "interrupted"):
                # Lightning calls this from inside its except block: the exception says how the fit ended.
                exc = sys.exc_info()[1]
                end, reason = status_of_exception(exc if exc is not None else RuntimeError(f"Lightning: {status}"))
                self._run.finish(end, reason=reason)

        @rank_zero_only
        def finish(self, status: str = "finished") -> None:
            """Ends the run now (else it ends with the process)."""
            if self._run is not None and self._owned:
                self._run.finish(status)

    RunwatchLogger.__module__ = __name__
    RunwatchLogger.__qualname__ = "RunwatchLogger"
    return RunwatchLogger


def __getattr__(name: str) -> Any:
    if name == "RunwatchLogger":
        return logger_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
