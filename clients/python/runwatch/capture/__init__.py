"""TensorBoard capture: every SummaryWriter of this process streams into Runwatch, unchanged.

In a VS Code terminal this is automatic (the bundled `sitecustomize.py`); elsewhere call
`runwatch.capture.tensorboard()` once, before or after importing the writer:

    import runwatch.capture
    runwatch.capture.tensorboard()
    from torch.utils.tensorboard import SummaryWriter   # or tensorboardX, Lightning, the HF Trainer

What each event becomes is described in `_patch.py` and docs/python.md.
"""

from __future__ import annotations

import sys
from typing import Any, Dict

__all__ = ["tensorboard", "captured_runs"]


def _hook_module() -> Any:
    # The copy sitecustomize loaded by path at start-up, if any: its finder is the one in sys.meta_path.
    mod = sys.modules.get("_runwatch_capture_hook")
    if mod is None:
        from . import _hook as mod
    return mod


def _explicit(family: str, module: Any) -> None:
    from . import _patch

    _patch.patch(family, module, explicit=True)


def tensorboard() -> None:
    """Captures every TensorBoard event writer of this process (torch.utils.tensorboard, tensorboardX,
    and what builds on them). Streams to the collector found as `runwatch.init()` finds it, spooling
    when there is none; rank zero only under torchrun unless RUNWATCH_CAPTURE_ALL_RANKS=1. Never raises."""
    hook = _hook_module()
    try:
        if not hook.is_rank_zero():
            return
        hook.install(_explicit)
    except Exception as e:  # noqa: BLE001
        hook.warn_once(f"TensorBoard capture could not be set up ({e!r}); it is off for this process.")


def captured_runs() -> Dict[str, Any]:
    """The runs capture started or writes to, by resolved log directory."""
    from . import _patch

    return _patch.captured_runs()
