"""The lazy import hook behind TensorBoard capture. Standard library only, and nothing imported at load.

`sitecustomize.py` loads this file at every interpreter start (by path, so that the `runwatch`
package itself is not imported then); `runwatch.capture.tensorboard()` imports it as a submodule.
Either way `install()` puts one finder at the front of `sys.meta_path`. The finder answers only for
the event-writer modules below: it lets the normal finders find them, and patches the writer class
right after the module has run. Every other import costs one set lookup. Nothing here raises into
the person's script: a failure warns once on stderr and capture steps aside.
"""

import os
import sys

# `typing` costs milliseconds to import at start-up: only type checkers read it here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Optional

# The modules whose EventFileWriter every SummaryWriter (torch, tensorboardX, Lightning, HF) ends in.
WATCHED: "Dict[str, str]" = {
    "tensorboard.summary.writer.event_file_writer": "tensorboard",
    "tensorboardX.event_file_writer": "tensorboardX",
    # Their SummaryWriter classes, for the add_scalar fast path (a plain number skips the event decode).
    "torch.utils.tensorboard.writer": "torch.writer",
    "tensorboardX.writer": "tensorboardX.writer",
}
OFF_VALUES = ("0", "false", "no", "off")
_MARK = "_runwatch_capture_finder"

_warned = False


def warn_once(message: str) -> None:
    global _warned
    if _warned:
        return
    _warned = True
    try:
        sys.stderr.write("runwatch: " + message + "\n")
        sys.stderr.flush()
    except Exception:  # noqa: BLE001 - a closed stderr must not break the script
        pass


def disabled_by_env() -> bool:
    """RUNWATCH_CAPTURE=0 (what VS Code sets when `runwatch.capture.enabled` is off)."""
    return os.environ.get("RUNWATCH_CAPTURE", "").strip().lower() in OFF_VALUES


def _env_int(name: str) -> "Optional[int]":
    try:
        return int(os.environ.get(name, "").strip())
    except ValueError:
        return None


def is_rank_zero() -> bool:
    """torchrun/DDP: only rank zero captures, unless RUNWATCH_CAPTURE_ALL_RANKS=1."""
    if os.environ.get("RUNWATCH_CAPTURE_ALL_RANKS", "").strip().lower() in ("1", "true", "yes"):
        return True
    rank = _env_int("RANK")
    if rank is None:
        rank = _env_int("LOCAL_RANK")
    return rank is None or rank == 0


def collector_configured() -> bool:
    """A collector to stream to: RUNWATCH_URL, or a VS Code terminal (RUNWATCH_SPOOL_DIR: its spool is
    imported later), or a .runwatch/collector.json above the working directory."""
    if os.environ.get("RUNWATCH_URL") or os.environ.get("RUNWATCH_SPOOL_DIR"):
        return True
    try:
        d = os.getcwd()
    except OSError:
        return False
    while True:
        if os.path.isfile(os.path.join(d, ".runwatch", "collector.json")):
            return True
        parent = os.path.dirname(d)
        if parent == d:
            return False
        d = parent


# Called with (family, module) once a watched module has run; set by install().
_on_loaded: "Optional[Callable[[str, Any], None]]" = None


def _patch_module(name: str, module: "Any") -> None:
    try:
        if _on_loaded is not None:
            _on_loaded(WATCHED[name], module)
    except Exception as e:  # noqa: BLE001
        warn_once(f"TensorBoard capture is off for this process ({e!r}); the event files are written as usual.")


class _Finder:
    """A meta path finder that only ever wraps the loader of a watched module."""

    _runwatch_capture_finder = True

    def __init__(self) -> None:
        self._busy = False

    def find_spec(self, fullname: str, path: "Any" = None, target: "Any" = None) -> "Any":
        if fullname not in WATCHED or self._busy:
            return None
        self._busy = True
        try:
            spec = None
            for finder in sys.meta_path:
                if finder is self or getattr(finder, _MARK, False):
                    continue
                find = getattr(finder, "find_spec", None)
                if find is None:
                    continue
                spec = find(fullname, path, target)
                if spec is not None:
                    break
            loader = getattr(spec, "loader", None)
            exec_module = getattr(loader, "exec_module", None)
            if exec_module is None:
                return spec  # found by a loader we do not know: leave it alone

            def patched_exec(module: "Any") -> None:
                exec_module(module)  # the module's own errors propagate as without us
                _patch_module(fullname, module)

            try:
                loader.exec_module = patched_exec  # type: ignore[union-attr]
            except (AttributeError, TypeError):
                return spec
            return spec
        except Exception as e:  # noqa: BLE001 - let the normal import machinery try on its own
            warn_once(f"TensorBoard capture is off for this process ({e!r}); the event files are written as usual.")
            return None
        finally:
            self._busy = False


def install(on_loaded: "Callable[[str, Any], None]") -> None:
    """Calls `on_loaded(family, module)` for each watched module: now for those already imported,
    later (from the import) for the others. Idempotent."""
    global _on_loaded
    _on_loaded = on_loaded
    if not any(getattr(f, _MARK, False) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
    for name in WATCHED:
        module = sys.modules.get(name)
        if module is not None:
            _patch_module(name, module)


def _load_capture(family: str, module: "Any") -> None:
    """The automatic path (sitecustomize): only now is the runwatch package imported."""
    if disabled_by_env() or not is_rank_zero() or not collector_configured():
        return
    from runwatch.capture import _patch

    _patch.patch(family, module, explicit=False)


def auto_install() -> None:
    """What sitecustomize calls at start-up: cheap, and never raises."""
    try:
        if disabled_by_env():
            return
        install(_load_capture)
    except Exception as e:  # noqa: BLE001
        warn_once(f"TensorBoard capture could not be set up ({e!r}); it is off for this process.")
