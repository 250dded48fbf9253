from __future__ import annotations

import os
import sys
from typing import Iterator

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from helpers import CLIENT_DIR, Collector  # noqa: E402

if CLIENT_DIR not in sys.path:
    sys.path.insert(0, CLIENT_DIR)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    # VS Code's terminals set these; tests say exactly where to connect.
    for k in list(os.environ):
        if k.startswith("RUNWATCH_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("RUNWATCH_SPOOL_DIR", str(tmp_path / "spool"))
    # A loaded CI machine may take more than the default 5 s to acknowledge at exit.
    monkeypatch.setenv("RUNWATCH_FLUSH_TIMEOUT", "60")
    # System metrics add sys/* points at times of their own; tests that count points turn them on themselves.
    monkeypatch.setenv("RUNWATCH_SYSTEM_INTERVAL", "0")
    # No discovery file above a temp dir.
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def collector(tmp_path) -> Iterator[Collector]:
    logdir = tmp_path / "collector-logs"
    logdir.mkdir()
    c = Collector(store=str(tmp_path / "store"), logdir=str(logdir))
    try:
        yield c
    finally:
        c.stop()
