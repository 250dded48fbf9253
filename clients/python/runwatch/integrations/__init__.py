"""Explicit integrations: a Lightning logger, a Hugging Face TrainerCallback, a Keras 3 callback.

Each lives in its own module and imports its framework only when that module is imported:
`import runwatch` never imports Lightning, Transformers or Keras.

    from runwatch.integrations.lightning import RunwatchLogger      # lightning.pytorch or pytorch_lightning
    from runwatch.integrations.transformers import RunwatchCallback
    from runwatch.integrations.keras import RunwatchKerasCallback

They share what is below: one run per integration, or the person's own (a run started with
`runwatch.init()` and still going is used, and left for its owner to finish); TensorBoard capture
steps aside once an integration is in use, so the values the framework hands both arrive once.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Tuple

from .._run import Run

__all__ = ["start_run", "numbers", "status_of_exception"]


def start_run(project: Optional[str], name: Optional[str], config: Optional[Mapping[str, Any]],
              tags: Optional[Mapping[str, str]]) -> Tuple[Run, bool]:
    """The run an integration logs to, and whether the integration owns it (then it ends it)."""
    import runwatch
    from ..capture import _patch

    _patch.step_aside()
    current = runwatch.current_run()
    if current is not None and current.status is None:
        if config:
            current.log_params(config)
        if tags:
            current.set_tags(dict(tags))
        return current, False
    run = runwatch.init(project=project, name=name, config=config, tags=dict(tags or {}))
    return run, True


def numbers(values: Mapping[str, Any], prefix: str = "") -> Dict[str, float]:
    """The numeric entries of a framework's logs (tensors and numpy scalars included), as floats."""
    out: Dict[str, float] = {}
    for k, v in values.items():
        if isinstance(v, bool):
            out[prefix + str(k)] = float(v)
            continue
        if isinstance(v, (int, float)):
            out[prefix + str(k)] = float(v)
            continue
        if isinstance(v, (str, bytes)) or v is None:
            continue
        try:
            f = float(v)  # 0-d tensors, numpy scalars
        except (TypeError, ValueError):
            continue
        out[prefix + str(k)] = f  # NaN and infinities too: the wire carries them
    return out


def status_of_exception(exc: Optional[BaseException]) -> Tuple[str, Optional[str]]:
    """run.end status and reason for how a fit ended: killed for Ctrl+C, failed for anything else."""
    from .._values import describe_exception

    if exc is None:
        return "finished", None
    if isinstance(exc, KeyboardInterrupt):
        return "killed", "KeyboardInterrupt"
    return "failed", describe_exception(type(exc), exc)
