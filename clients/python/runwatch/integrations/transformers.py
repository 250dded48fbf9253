"""A Hugging Face `TrainerCallback` that streams to Runwatch.

    from runwatch.integrations.transformers import RunwatchCallback
    trainer = Trainer(model=model, args=args, train_dataset=ds, callbacks=[RunwatchCallback()])

Params: the training arguments (`args.to_dict()`) and the model's config (under `model.`). Metrics:
every `on_log` at `state.global_step`, names rewritten as the Trainer's own TensorBoard callback does
(`loss` -> `train/loss`, `eval_loss` -> `eval/loss`, `test_x` -> `test/x`); evaluation metrics that
no `on_log` carried at that step are added from `on_evaluate`. World process zero only. The run is
made at `on_train_begin` (or the first log) and ends with the process, so `trainer.evaluate()` after
training lands in the same run; an exception that ends the script marks it failed (Ctrl+C: killed),
and `on_train_end` records `train/stopped_early` = 1 when training stopped before `max_steps`.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Set, Tuple

from transformers import TrainerCallback

from . import numbers, start_run

__all__ = ["RunwatchCallback", "rewrite_logs"]


def rewrite_logs(logs: Mapping[str, Any]) -> Dict[str, Any]:
    """The Trainer's TensorBoard naming: eval_/test_ become eval/ and test/, the rest train/."""
    out: Dict[str, Any] = {}
    for k, v in logs.items():
        if k.startswith("eval_"):
            out["eval/" + k[5:]] = v
        elif k.startswith("test_"):
            out["test/" + k[5:]] = v
        else:
            out["train/" + k] = v
    return out


class RunwatchCallback(TrainerCallback):  # type: ignore[misc]
    """Streams the Trainer's arguments, model config and logs to Runwatch."""

    def __init__(self, project: Optional[str] = None, name: Optional[str] = None,
                 tags: Optional[Mapping[str, str]] = None) -> None:
        self._project = project
        self._name = name
        self._tags = dict(tags or {})
        self._run: Any = None
        self._logged: Set[Tuple[int, str]] = set()  # (step, key) sent by on_log, so on_evaluate adds only the rest
        from ..capture import _patch

        _patch.step_aside()  # the Trainer's TensorBoardCallback would send the same values again

    @property
    def run(self) -> Any:
        return self._run

    def _ensure(self, args: Any, model: Any) -> Any:
        if self._run is None:
            params: Dict[str, Any] = {}
            try:
                params.update(args.to_dict())
            except Exception:  # noqa: BLE001 - params are a nicety; the metrics must flow
                pass
            config = getattr(model, "config", None)
            if config is not None:
                try:
                    params["model"] = config.to_dict()
                except Exception:  # noqa: BLE001
                    pass
            name = self._name or (getattr(args, "run_name", None) or None)
            self._run, _ = start_run(self._project, name, params, self._tags)
        return self._run

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            self._ensure(args, model)

    def on_log(self, args: Any, state: Any, control: Any, logs: Optional[Mapping[str, Any]] = None,
               model: Any = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero or not logs:
            return
        data = numbers(rewrite_logs(logs))
        if data:
            step = int(state.global_step)
            self._logged.update((step, k) for k in data)
            self._ensure(args, model).log(data, step=step)

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: Optional[Mapping[str, Any]] = None,
                    model: Any = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero or not metrics:
            return
        step = int(state.global_step)
        data = {k: v for k, v in numbers(rewrite_logs(metrics)).items() if (step, k) not in self._logged}
        if data:
            self._logged.update((step, k) for k in data)
            self._ensure(args, model).log(data, step=step)

    def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero or self._run is None:
            return
        max_steps = int(getattr(state, "max_steps", 0) or 0)
        if max_steps and int(state.global_step) < max_steps:
            self._run.log({"train/stopped_early": 1.0}, step=int(state.global_step))
