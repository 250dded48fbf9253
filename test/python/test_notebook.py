"""A notebook run by a real Jupyter kernel (ipykernel, executed with `jupyter nbconvert --execute`) finds
the collector through the workspace's discovery file and its run shows the notebook as its source: the
run's context names the notebook, and each metric's first logging line points into it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from framework_helpers import CLIENT_DIR, Collector, clean_env, collector, list_runs, points_of, read_log  # noqa: F401

BIN = os.path.dirname(sys.executable)


def _cell(src: str) -> dict:
    return {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": src}


def test_a_notebook_run_has_the_notebook_as_source(collector: Collector, tmp_path) -> None:
    ws = tmp_path / "ws"
    (ws / ".runwatch").mkdir(parents=True)
    # What the extension writes for scripts and kernels started in the workspace.
    (ws / ".runwatch" / "collector.json").write_text(json.dumps({"url": collector.url, "token": collector.token}))
    nb = ws / "explore.ipynb"
    nb.write_text(
        json.dumps(
            {
                "nbformat": 4,
                "nbformat_minor": 5,
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
                "cells": [
                    _cell("import runwatch\nrun = runwatch.init(project='nb', name='from-notebook')"),
                    _cell("for i in range(5):\n    run.log({'loss': 1.0 / (i + 1)}, step=i)"),
                    _cell("run.finish()\nprint(run.id)"),
                ],
            }
        )
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = CLIENT_DIR  # the client, as a VS Code terminal or "Install Python Client…" provides
    env["JPY_SESSION_NAME"] = str(nb)  # what Jupyter's server (and VS Code's kernels) tell the kernel
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    out = subprocess.run(
        [os.path.join(BIN, "jupyter"), "nbconvert", "--to", "notebook", "--execute", "--output", "done.ipynb", str(nb)],
        cwd=str(tmp_path), env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    done = json.loads((ws / "done.ipynb").read_text())
    printed = "".join("".join(o.get("text", "")) for o in done["cells"][2]["outputs"])
    run_id = printed.strip().splitlines()[-1]
    assert run_id in list_runs(collector.store)
    events = read_log(collector.store, run_id)
    start = events[0]
    assert start["type"] == "run.start" and start["name"] == "from-notebook"
    assert start["context"]["notebook"] == str(nb)
    sources = [e["sources"] for e in events if e["type"] == "metrics" and e.get("sources")]
    assert len(sources) == 1 and list(sources[0]) == ["loss"]
    loc = sources[0]["loss"]
    assert loc["file"] == str(nb) and loc["line"] == 2 and "cell" in loc, loc
    assert [p["value"] for p in points_of(events, "loss")] == [1.0 / (i + 1) for i in range(5)]
    assert events[-1]["type"] == "run.end" and events[-1]["status"] == "finished"
