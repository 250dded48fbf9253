"""Where the collector is, and where to spool when it is not there."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

DISCOVERY_RELPATH = os.path.join(".runwatch", "collector.json")


@dataclass
class Target:
    url: Optional[str]
    token: Optional[str]
    spool_dir: str
    # How the URL was found, for messages a person reads: "argument", "environment", a file path, or None.
    source: Optional[str]
    # The discovery file that names this same collector (its URL was found there, or the environment's
    # URL matched it), so a client can follow the collector when it restarts elsewhere; else None.
    follow: Optional[str] = None


def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return True  # no usable pid: do not second-guess the file
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists but belongs to someone else
    return True


def find_discovery_file(start: Optional[str] = None) -> Optional[str]:
    """The nearest `.runwatch/collector.json`, walking up from `start` (the cwd by default)."""
    try:
        d = os.path.abspath(start or os.getcwd())
    except OSError:
        return None
    while True:
        candidate = os.path.join(d, DISCOVERY_RELPATH)
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def read_discovery_file(path: str) -> Optional[Dict[str, Any]]:
    try:
        with open(path, "r", encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def default_spool_dir() -> str:
    return os.path.join(os.path.expanduser("~"), ".runwatch", "spool")


def resolve(url: Optional[str] = None, token: Optional[str] = None, cwd: Optional[str] = None) -> Target:
    """Arguments win, then RUNWATCH_URL/RUNWATCH_TOKEN, then the discovery file found from the cwd."""
    env_spool = os.environ.get("RUNWATCH_SPOOL_DIR") or None
    source: Optional[str] = "argument" if url else None
    if not url and os.environ.get("RUNWATCH_URL"):
        url = os.environ["RUNWATCH_URL"]
        source = "environment"
    if token is None and os.environ.get("RUNWATCH_TOKEN") is not None and source != "argument":
        token = os.environ["RUNWATCH_TOKEN"]
    file_spool: Optional[str] = None
    path = find_discovery_file(cwd)
    info = read_discovery_file(path) if path else None
    follow: Optional[str] = None
    if info is not None:
        if isinstance(info.get("spoolDir"), str) and info["spoolDir"]:
            file_spool = info["spoolDir"]
        # A file left behind by a collector that is gone must not make us wait for it.
        if not url and isinstance(info.get("url"), str) and _pid_alive(info.get("pid")):
            url = info["url"]
            source = path
            if token is None and isinstance(info.get("token"), str):
                token = info["token"]
    if path is not None and source != "argument":
        # Re-read on every reconnect attempt: a terminal opened before VS Code reloaded keeps the old
        # RUNWATCH_URL/TOKEN, while the file names the collector that came back (new port, new token).
        follow = path
    if token is None and source == "argument" and os.environ.get("RUNWATCH_TOKEN") is not None:
        token = os.environ["RUNWATCH_TOKEN"]
    spool_dir = env_spool or file_spool or default_spool_dir()
    return Target(url=url, token=token, spool_dir=spool_dir, source=source, follow=follow)


def moved(path: str, url: Optional[str], token: Optional[str]) -> Optional[Tuple[str, str]]:
    """The (url, token) that the discovery file at `path` names now, if its collector is alive and
    differs from `url`/`token` (VS Code restarted: a new port and a new token); else None."""
    info = read_discovery_file(path)
    if info is None or not isinstance(info.get("url"), str) or not info["url"]:
        return None
    if not _pid_alive(info.get("pid")):
        return None
    new_token = info["token"] if isinstance(info.get("token"), str) else ""
    if info["url"] == url and new_token == (token or ""):
        return None
    return info["url"], new_token
