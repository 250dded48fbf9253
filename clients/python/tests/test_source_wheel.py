"""The client builds as a wheel (what "Runwatch: Install Python Client…" installs with pip): every module
of the package and its subpackages, py.typed, no sitecustomize; installed from the wheel, it imports and
takes source locations."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile

from helpers import CLIENT_DIR


def test_the_client_builds_as_a_wheel_and_installs(tmp_path) -> None:
    src = tmp_path / "client"
    shutil.copytree(CLIENT_DIR, src, ignore=shutil.ignore_patterns("tests", "__pycache__", "*.egg-info", "build"))
    out = tmp_path / "dist"
    res = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=300,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    wheels = list(out.glob("runwatch-*.whl"))
    assert len(wheels) == 1, wheels
    names = set(zipfile.ZipFile(wheels[0]).namelist())
    expected = set()
    for root, dirs, files in os.walk(os.path.join(CLIENT_DIR, "runwatch")):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for f in files:
            if f.endswith(".py") or f == "py.typed":
                expected.add(os.path.relpath(os.path.join(root, f), CLIENT_DIR).replace(os.sep, "/"))
    assert "runwatch/_source.py" in expected and expected <= names, sorted(expected - names)
    assert not any(n.endswith("sitecustomize.py") for n in names)

    site = tmp_path / "site"
    res = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(site), str(wheels[0])], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    code = "import runwatch, runwatch._source as s; print(runwatch.__file__); print(s.locate(1)['line'])"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=60)
    assert res.returncode == 0, res.stderr
    file, line = res.stdout.split()
    assert file.startswith(str(site)) and line == "1"
