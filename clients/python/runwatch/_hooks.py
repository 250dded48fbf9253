"""Process-wide: warnings on stderr, the runs that are active, and the exit, uncaught-exception,
SIGTERM and fork hooks that end them."""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Callable, List, Optional, Protocol

from ._protocol import MAX_REASON
from ._values import describe_failure


class _Finishable(Protocol):
    def finish(self, status: str = ..., reason: Optional[str] = ..., timeout: Optional[float] = ...) -> None: ...

    def _forked(self) -> None: ...


_warn_lock = threading.Lock()


def warn(message: str) -> None:
    """One line on stderr, prefixed `runwatch:`; a closed stderr must not break training."""
    if not message.startswith("runwatch"):
        message = "runwatch: " + message
    try:
        with _warn_lock:
            sys.stderr.write(message + "\n")
            sys.stderr.flush()
    except Exception:  # noqa: BLE001
        pass


_active: List[_Finishable] = []
_installed = False
_prev_excepthook: Optional[Callable[..., Any]] = None
_prev_sigterm: Any = None


def register(run: _Finishable) -> None:
    _active.append(run)
    _install()


def unregister(run: _Finishable) -> None:
    try:
        _active.remove(run)
    except ValueError:
        pass


def finish_all(status: str, reason: Optional[str]) -> None:
    for run in list(_active):
        try:
            run.finish(status, reason=reason)
        except (Exception, KeyboardInterrupt):  # noqa: BLE001 - a second Ctrl+C: finish() spooled already
            pass


def _after_fork_in_child() -> None:
    # The sender thread did not survive the fork: the child must neither queue data nobody
    # sends nor wait for that thread at exit. The run stays the parent's.
    for run in _active:
        run._forked()
    _active.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _atexit() -> None:
    finish_all("finished", None)


def _excepthook(exc_type: Any, exc: Any, tb: Any) -> None:
    try:
        if issubclass(exc_type, KeyboardInterrupt):
            finish_all("killed", "KeyboardInterrupt")
        else:
            finish_all("failed", describe_failure(exc_type, exc, tb, MAX_REASON))
    finally:
        prev = _prev_excepthook or sys.__excepthook__
        prev(exc_type, exc, tb)


def _sigterm(signum: int, frame: Any) -> None:
    finish_all("killed", "SIGTERM")
    import signal

    prev = _prev_sigterm
    if callable(prev):
        prev(signum, frame)
        return
    # The default action: die by the signal, so the parent sees the usual exit status.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _install() -> None:
    global _installed, _prev_excepthook, _prev_sigterm
    if _installed:
        return
    _installed = True
    import atexit

    atexit.register(_atexit)
    _prev_excepthook = sys.excepthook
    sys.excepthook = _excepthook
    if threading.current_thread() is threading.main_thread():
        try:
            import signal

            prev = signal.getsignal(signal.SIGTERM)
            if prev is not signal.SIG_IGN:
                _prev_sigterm = prev if callable(prev) else None
                signal.signal(signal.SIGTERM, _sigterm)
        except (ValueError, OSError, AttributeError):
            pass
