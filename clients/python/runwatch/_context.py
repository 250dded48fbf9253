"""What a run records about where it runs: host, process, Python, git, the command line (to run it
again) and the notebook when it runs in a Jupyter kernel. Never raises."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from typing import Any, Dict, Optional

_FRAMEWORKS = ("torch", "tensorflow", "jax", "numpy", "lightning", "pytorch_lightning", "transformers", "keras", "sklearn")


def _git(args: list, cwd: str) -> Optional[str]:
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            timeout=2,
            check=False,
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.decode("utf-8", "replace").strip()


def git_state(cwd: str) -> Optional[Dict[str, Any]]:
    commit = _git(["rev-parse", "HEAD"], cwd)
    if not commit:
        return None
    state: Dict[str, Any] = {"commit": commit}
    branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], cwd)
    if branch:
        state["branch"] = branch
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
    if status is not None:
        state["dirty"] = bool(status)
    remote = _git(["config", "--get", "remote.origin.url"], cwd)
    if remote:
        state["remote"] = remote
    return state


def notebook_path() -> Optional[str]:
    """The notebook a Jupyter kernel runs, or None outside one.

    Jupyter's server passes it to the kernel as JPY_SESSION_NAME (ipykernel copies it into
    `__session__`); VS Code's Jupyter extension sets `__vsc_ipynb_file__` in the kernel's namespace.
    """
    if "ipykernel" not in sys.modules:
        return None
    main = sys.modules.get("__main__")
    names = getattr(main, "__dict__", {}) if main is not None else {}
    for candidate in (names.get("__vsc_ipynb_file__"), names.get("__session__"), os.environ.get("JPY_SESSION_NAME")):
        if isinstance(candidate, str) and candidate.endswith(".ipynb"):
            return os.path.abspath(candidate)
    return None


def collect() -> Dict[str, Any]:
    ctx: Dict[str, Any] = {}
    try:
        ctx["host"] = socket.gethostname()
        ctx["pid"] = os.getpid()
        ctx["argv"] = [str(a) for a in sys.argv]
        # The interpreter's own command line (`python -m pkg ...` included) is what "Rerun" runs.
        orig = getattr(sys, "orig_argv", None)
        if isinstance(orig, list) and orig:
            ctx["origArgv"] = [str(a) for a in orig]
        cwd = os.getcwd()
        ctx["cwd"] = cwd
        ctx["python"] = platform.python_version()
        ctx["executable"] = sys.executable
        frameworks = {}
        for name in _FRAMEWORKS:
            mod = sys.modules.get(name)
            version = getattr(mod, "__version__", None) if mod is not None else None
            if isinstance(version, str):
                frameworks[name] = version
        if frameworks:
            ctx["frameworks"] = frameworks
        notebook = notebook_path()
        if notebook:
            ctx["notebook"] = notebook
        git = git_state(cwd)
        if git:
            ctx["git"] = git
    except Exception:  # noqa: BLE001 - context is a nicety; a run must start without it
        pass
    return ctx
