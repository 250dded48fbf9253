"""Runwatch's start-up hook, on PYTHONPATH in VS Code's integrated terminals (with the bundled client).

It installs a lazy import hook for TensorBoard capture (runwatch/capture/_hook.py, loaded by path so
that nothing else of runwatch is imported at start-up: a script that never imports a TensorBoard
writer pays a few hundred microseconds), then runs the person's own `sitecustomize`, the next one on
sys.path, as Python would have without us. RUNWATCH_CAPTURE=0 turns capture off. Never raises for
our part; an error in the person's own sitecustomize is reported by Python as usual.
"""

import os
import sys


def _importlib_parts():  # type: ignore[no-untyped-def]
    # The import system's own modules, loaded already: `importlib.util` would cost ~2.5 ms (contextlib).
    try:
        import _frozen_importlib as bootstrap
        import _frozen_importlib_external as external

        return external.SourceFileLoader, bootstrap.module_from_spec, bootstrap.spec_from_loader
    except (ImportError, AttributeError):
        from importlib.machinery import SourceFileLoader
        from importlib.util import module_from_spec, spec_from_loader

        return SourceFileLoader, module_from_spec, spec_from_loader


def _path_finder():  # type: ignore[no-untyped-def]
    try:
        import _frozen_importlib_external as external

        return external.PathFinder
    except (ImportError, AttributeError):
        from importlib.machinery import PathFinder

        return PathFinder


def _runwatch_install() -> None:
    try:
        if os.environ.get("RUNWATCH_CAPTURE", "").strip().lower() in ("0", "false", "no", "off"):
            return
        SourceFileLoader, module_from_spec, spec_from_loader = _importlib_parts()

        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runwatch", "capture", "_hook.py")
        name = "_runwatch_capture_hook"
        spec = spec_from_loader(name, SourceFileLoader(name, path))
        module = module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        module.auto_install()
    except Exception as e:  # noqa: BLE001 - never break the person's interpreter
        try:
            sys.stderr.write(f"runwatch: TensorBoard capture could not be set up ({e!r}); it is off for this process.\n")
        except Exception:  # noqa: BLE001
            pass


def _runwatch_chain() -> None:
    """Runs the next `sitecustomize` on sys.path (after this file's folder) as `sitecustomize`."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        PathFinder = _path_finder()
        module_from_spec = _importlib_parts()[1]
        rest = []
        seen_here = False
        for entry in sys.path:
            try:
                same = os.path.abspath(entry or os.curdir) == here
            except (TypeError, ValueError, OSError):
                same = False
            if same:
                seen_here = True
            elif seen_here:
                rest.append(entry)
        spec = PathFinder.find_spec("sitecustomize", rest) if rest else None
    except Exception:  # noqa: BLE001
        return
    if spec is None or spec.loader is None:
        return
    theirs = module_from_spec(spec)
    sys.modules["_runwatch_sitecustomize"] = sys.modules.get(__name__)  # type: ignore[assignment]
    sys.modules["sitecustomize"] = theirs
    spec.loader.exec_module(theirs)  # their errors: Python's own "Error in sitecustomize" message


_runwatch_install()
_runwatch_chain()
