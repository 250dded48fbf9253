"""Where a metric comes from: the file, line and function of the first call that logged each key.

`Run.log()` calls `locate()` only for keys it has not seen (a set test per call on the hot path), so
the stack is walked once per key per run. Frames inside this package, inside the frameworks whose
integrations call us (Lightning, Transformers, Keras, tensorboardX, ...) and inside the standard
library are skipped, so an integration reports the person's own frame, not the framework's.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from typing import Any, Dict, Optional, Tuple

# Top-level modules whose frames are never "the person's line": the frameworks and tracker SDKs
# that call runwatch (directly or through a capture/integration) on the person's behalf.
FRAMEWORKS = frozenset(
    (
        "runwatch",
        "torch",
        "lightning",
        "lightning_fabric",
        "lightning_utilities",
        "torchmetrics",
        "torchvision",
        "torch_xla",
        "pytorch_lightning",
        "transformers",
        "accelerate",
        "keras",
        "tf_keras",
        "tensorflow",
        "tensorboardX",
        "tensorboard",
        "jax",
        "flax",
        "optax",
        "ignite",
        "fastai",
        "sklearn",
        "xgboost",
        "lightgbm",
        "catboost",
        "deepspeed",
        "wandb",
        "mlflow",
        "aim",
        "clearml",
        "numpy",
        "tqdm",
        "importlib",
    )
)
# How far up the stack to look: deep framework call chains are a few dozen frames.
MAX_DEPTH = 200
# At most this many keys per run get a location (the wire and the store keep them all in one map).
MAX_KEYS = 10000

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _stdlib_dirs() -> Tuple[str, ...]:
    dirs = set()
    for name in ("stdlib", "platstdlib"):
        try:
            d = sysconfig.get_paths().get(name)
        except Exception:  # noqa: BLE001 - an odd installation: then nothing counts as stdlib
            d = None
        if d:
            dirs.add(os.path.abspath(d) + os.sep)
    # site-packages lives below the stdlib folder on most installs: it must not count as stdlib.
    return tuple(sorted(dirs))


_STDLIB = _stdlib_dirs()
_SITE_MARKERS = (os.sep + "site-packages" + os.sep, os.sep + "dist-packages" + os.sep)
_skip_cache: Dict[Tuple[str, str], bool] = {}


def _skipped(filename: str, module: str) -> bool:
    key = (filename, module)
    hit = _skip_cache.get(key)
    if hit is not None:
        return hit
    top = module.partition(".")[0]
    skip = (
        top in FRAMEWORKS
        or filename.startswith(_PACKAGE_DIR)
        or filename.startswith("<frozen ")
        or (filename.startswith(_STDLIB) and not any(m in filename for m in _SITE_MARKERS))
    )
    if len(_skip_cache) < 4096:
        _skip_cache[key] = skip
    return skip


def locate(depth: int = 2, notebook: Optional[str] = None) -> Optional[Dict[str, Any]]:
    """The person's frame calling us: {"file", "line", "function"}, or None when there is no frame.

    `depth` frames are dropped first (locate itself and its caller inside the package). When every
    frame is skipped (a script that lives inside a framework's folder), the first frame outside this
    package is used. `notebook`: the notebook's path, reported instead of a Jupyter cell's temp file.
    """
    try:
        frame: Any = sys._getframe(depth)
    except (ValueError, AttributeError):
        return None
    fallback: Any = None
    chosen: Any = None
    n = 0
    while frame is not None and n < MAX_DEPTH:
        code = frame.f_code
        filename = code.co_filename
        module = frame.f_globals.get("__name__", "") or ""
        if not isinstance(module, str):
            module = ""
        if not _skipped(filename, module):
            chosen = frame
            break
        if fallback is None and not filename.startswith(_PACKAGE_DIR) and module.partition(".")[0] != "runwatch":
            fallback = frame
        frame = frame.f_back
        n += 1
    chosen = chosen or fallback
    if chosen is None:
        return None
    filename = chosen.f_code.co_filename
    loc: Dict[str, Any] = {"file": _path(filename), "line": max(1, int(chosen.f_lineno or 1))}
    fn = chosen.f_code.co_name
    if fn and fn != "<module>":
        loc["function"] = str(getattr(chosen.f_code, "co_qualname", fn))[:250]
    if notebook and _is_cell(filename):
        loc["file"] = notebook
        loc["cell"] = filename
    return loc


def _path(filename: str) -> str:
    if filename.startswith("<"):
        return filename
    try:
        return os.path.abspath(filename)
    except (OSError, ValueError):
        return filename


def _is_cell(filename: str) -> bool:
    """A Jupyter cell's code: ipykernel names it after a hash in a temp folder (or `<ipython-input-…>`)."""
    return filename.startswith("<ipython-input-") or (os.sep + "ipykernel_") in filename


def enabled() -> bool:
    """RUNWATCH_SOURCES=0 turns source locations off (for benchmarks, or code that must not be walked)."""
    return os.environ.get("RUNWATCH_SOURCES", "1").strip().lower() not in ("0", "false", "no", "off")


_notebook: Optional[str] = None
_notebook_known = False


def _notebook_path() -> Optional[str]:
    global _notebook, _notebook_known
    if not _notebook_known or _notebook is None:
        from . import _context

        _notebook = _context.notebook_path()
        _notebook_known = "ipykernel" not in sys.modules or _notebook is not None
    return _notebook


def sources_message(run_id: str, seen: Any, data: Any) -> Optional[Dict[str, Any]]:
    """A `metrics` message that carries only `sources` for the keys of `data` not in `seen` (adding
    them), or None when there is nothing to say. The keys of one call share its one location."""
    try:
        new = [k for k in data if k not in seen]
        room = MAX_KEYS - len(seen)
        seen.update(new[: max(0, room)])
        keys = [k for k in new[: max(0, room)] if isinstance(k, str) and 0 < len(k) <= 250]
        if not keys:
            return None
        loc = locate(2, _notebook_path())
        if loc is None:
            return None
        return {"type": "metrics", "runId": run_id, "sources": {k: loc for k in keys}}
    except Exception:  # noqa: BLE001 - a location is a nicety; logging goes on without it
        return None
