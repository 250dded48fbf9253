"""Runwatch: stream training metrics into VS Code. Standard library only.

    import runwatch
    with runwatch.init(project="mnist", config={"lr": 1e-3}) as run:
        for step in range(1000):
            run.log({"train/loss": loss}, step=step)

See docs/python.md in the Runwatch repository.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional, Union

from ._run import FINAL_STATUSES, PROTOCOL_VERSION, Run, __version__, _register, _warn

__all__ = ["Run", "init", "log", "log_params", "set_tags", "log_artifact", "finish", "current_run", "__version__", "PROTOCOL_VERSION", "FINAL_STATUSES"]

_current: Optional[Run] = None
_warned_no_run = False


def init(
    project: Optional[str] = None,
    name: Optional[str] = None,
    config: Optional[Mapping[str, Any]] = None,
    tags: Union[Mapping[str, str], Iterable[str], None] = None,
    *,
    url: Optional[str] = None,
    token: Optional[str] = None,
    parent_run_id: Optional[str] = None,
    flush_timeout: Optional[float] = None,
    system_metrics: Union[bool, float, None] = None,
) -> Run:
    """Starts a run and makes it the current one for the module-level shortcuts.

    The collector is found from `url`/`token`, else RUNWATCH_URL/RUNWATCH_TOKEN, else the
    nearest .runwatch/collector.json; with none reachable the run is spooled to disk.
    `system_metrics`: False turns the `sys/*` sampler off, a number sets its interval in seconds
    (default RUNWATCH_SYSTEM_INTERVAL, else 10).
    """
    global _current
    run = Run(project=project, name=name, config=config, tags=tags, url=url, token=token, parent_run_id=parent_run_id, flush_timeout=flush_timeout,
              system_metrics=system_metrics)
    _register(run)
    _current = run
    return run


def current_run() -> Optional[Run]:
    return _current


def _need_run(what: str) -> Optional[Run]:
    global _warned_no_run
    if _current is None and not _warned_no_run:
        _warned_no_run = True
        _warn(f"runwatch.{what}() was called before runwatch.init(); call runwatch.init() first. The values were skipped.")
    return _current


def log(data: Mapping[str, Any], step: Optional[int] = None) -> None:
    run = _current
    if run is None:
        _need_run("log")
        return
    run.log(data, step)


def log_params(params: Mapping[str, Any]) -> None:
    run = _need_run("log_params")
    if run is not None:
        run.log_params(params)


def set_tags(tags: Union[Mapping[str, str], Iterable[str]]) -> None:
    run = _need_run("set_tags")
    if run is not None:
        run.set_tags(tags)


def log_artifact(path: str, name: Optional[str] = None, kind: str = "file") -> None:
    run = _need_run("log_artifact")
    if run is not None:
        run.log_artifact(path, name=name, kind=kind)


def finish(status: str = "finished") -> None:
    run = _need_run("finish")
    if run is not None:
        run.finish(status)
