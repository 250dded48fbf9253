"""Helpers for the framework tests (TensorBoard capture and the integrations): a headless collector,
a training script run as a child process with the bundled client on PYTHONPATH (so its
sitecustomize loads, as in a VS Code terminal), the run store read back, and what the framework
wrote to its own TensorBoard or CSV files, read with tensorboard's own EventAccumulator."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "clients", "python", "tests"))
from helpers import CLIENT_DIR, Collector, list_runs, points_of, read_log  # noqa: E402

__all__ = ["Collector", "CLIENT_DIR", "list_runs", "points_of", "read_log", "collector", "clean_env", "run_py",
           "tb_scalars", "store_scalars", "run_of_logdir", "csv_rows", "starts"]

Series = Dict[str, List[Tuple[int, float]]]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for k in list(os.environ):
        if k.startswith("RUNWATCH_") or k in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "PYTHONPATH"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("RUNWATCH_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("RUNWATCH_FLUSH_TIMEOUT", "60")
    monkeypatch.setenv("RUNWATCH_SYSTEM_INTERVAL", "0")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def collector(tmp_path) -> Iterator[Collector]:
    logdir = tmp_path / "collector-logs"
    logdir.mkdir()
    c = Collector(store=str(tmp_path / "store"), logdir=str(logdir)).start()
    try:
        yield c
    finally:
        c.stop()


def run_py(code: str, collector: Collector, cwd: str, timeout: float = 300.0, **env: str) -> subprocess.CompletedProcess:
    """A training script as a person runs it in a VS Code terminal: the client's folder on PYTHONPATH."""
    e = dict(os.environ)
    e["PYTHONPATH"] = CLIENT_DIR
    e.update({"RUNWATCH_URL": collector.url, "RUNWATCH_TOKEN": collector.token, "PYTHONUNBUFFERED": "1",
              "KERAS_BACKEND": "torch", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1",
              "TRANSFORMERS_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": ""})
    e.update(env)
    res = subprocess.run([sys.executable, "-c", code], env=e, cwd=cwd, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    assert res.returncode == 0, res.stderr[-4000:]
    return res


def tb_scalars(logdir: str) -> Series:
    """Every scalar the event files of one log directory hold, by tag, as (step, value), in file order."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(logdir, size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    out: Series = {}
    for tag in acc.Tags()["scalars"]:
        out[tag] = [(e.step, e.value) for e in acc.Scalars(tag)]
    for tag in acc.Tags()["tensors"]:  # tensor scalars (new-style add_scalar)
        evs = acc.Tensors(tag)
        if evs and evs[0].tensor_proto.dtype in (1, 2) and not evs[0].tensor_proto.tensor_shape.dim:
            from tensorboard.util import tensor_util

            out[tag] = [(e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in evs]
    return out


def store_scalars(events: List[Dict[str, Any]], prefix: str = "") -> Series:
    out: Series = {}
    for p in points_of(events):
        if p["key"].startswith("sys/") or not p["key"].startswith(prefix):
            continue
        out.setdefault(p["key"][len(prefix):], []).append((p["step"], p["value"]))
    return out


def starts(store: str) -> Dict[str, Dict[str, Any]]:
    """Each run's run.start, by run id."""
    out = {}
    for rid in list_runs(store):
        ev = read_log(store, rid)
        if ev and ev[0]["type"] == "run.start":
            out[rid] = ev[0]
    return out


def run_of_logdir(store: str, logdir: str) -> Optional[str]:
    want = os.path.realpath(logdir)
    for rid, start in starts(store).items():
        if start.get("context", {}).get("tensorboard", {}).get("logdir") == want:
            return rid
    return None


def csv_rows(path: str) -> List[Dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
