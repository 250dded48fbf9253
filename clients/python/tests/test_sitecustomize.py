"""The bundled sitecustomize.py: it chains to the person's own, never breaks a script (a broken
framework import stays the script's own error; a writer module we cannot patch only warns once),
and does nothing with RUNWATCH_CAPTURE=0 or without a collector to stream to."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import Dict

from helpers import CLIENT_DIR, Collector, list_runs, spool_files

HAS_HOOK = "import sys; print(any(getattr(f, '_runwatch_capture_finder', False) for f in sys.meta_path))"


def _py(code: str, env: Dict[str, str], cwd: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)


def _env(*extra_path: str, **extra: str) -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([CLIENT_DIR, *extra_path])
    env.update(extra)
    return env


def _their_sitecustomize(tmp_path, body: str) -> str:
    d = tmp_path / "theirs"
    d.mkdir()
    (d / "sitecustomize.py").write_text(textwrap.dedent(body))
    return str(d)


def test_the_persons_own_sitecustomize_still_runs(tmp_path) -> None:
    theirs = _their_sitecustomize(tmp_path, """
        import os
        MARK = "theirs"
        os.environ["THEIR_SITECUSTOMIZE_RAN"] = __name__
    """)
    code = HAS_HOOK + "; import os, sitecustomize; print(os.environ.get('THEIR_SITECUSTOMIZE_RAN'), sitecustomize.MARK)"
    res = _py(code, _env(theirs), str(tmp_path))
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert res.stdout.split() == ["True", "sitecustomize", "theirs"]


def test_an_error_in_their_sitecustomize_is_reported_as_python_reports_it(tmp_path) -> None:
    theirs = _their_sitecustomize(tmp_path, "raise RuntimeError('their bug')\n")
    with_us = _py(HAS_HOOK, _env(theirs), str(tmp_path))
    alone = _py("print(True)", dict(os.environ, PYTHONPATH=theirs), str(tmp_path))
    assert with_us.returncode == alone.returncode == 0
    assert with_us.stderr == alone.stderr and "Error in sitecustomize" in alone.stderr and "their bug" in alone.stderr
    assert with_us.stdout.strip() == "True", "our hook was installed before theirs ran"


def test_capture_off_with_runwatch_capture_0(tmp_path) -> None:
    res = _py(HAS_HOOK, _env(RUNWATCH_CAPTURE="0"), str(tmp_path))
    assert (res.returncode, res.stdout.strip(), res.stderr) == (0, "False", "")


def _fake_tensorboardx(tmp_path, writer_module: str) -> str:
    d = tmp_path / "fakepkgs" / "tensorboardX"
    d.mkdir(parents=True)
    (d / "__init__.py").write_text("from . import event_file_writer\n")
    (d / "event_file_writer.py").write_text(textwrap.dedent(writer_module))
    return str(tmp_path / "fakepkgs")


def test_a_broken_framework_import_stays_the_scripts_own_error(tmp_path) -> None:
    fake = _fake_tensorboardx(tmp_path, "import no_such_module_here\n")
    code = textwrap.dedent("""
        try:
            import tensorboardX
        except ImportError as e:
            print("script handled:", e.name)
        print("went on")
    """)
    res = _py(code, _env(fake), str(tmp_path))
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert res.stdout.split("\n")[:2] == ["script handled: no_such_module_here", "went on"]


def test_a_writer_we_cannot_patch_warns_once_and_the_script_goes_on(collector: Collector, tmp_path) -> None:
    collector.start()
    fake = _fake_tensorboardx(tmp_path, "class SomethingElse:\n    pass\n")
    code = "import tensorboardX.event_file_writer as m; import importlib; importlib.reload(m); print('went on')"
    res = _py(code, _env(fake, RUNWATCH_URL=collector.url, RUNWATCH_TOKEN=collector.token), str(tmp_path))
    assert res.returncode == 0 and res.stdout.strip() == "went on"
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("runwatch: TensorBoard capture is off for this process"), res.stderr
    assert list_runs(collector.store) == []


WRITE = textwrap.dedent("""
    from tensorboardX import SummaryWriter
    w = SummaryWriter("logs/x")
    for i in range(3):
        w.add_scalar("loss", float(i), i)
    w.close()
    print("done")
""")


def test_no_collector_configured_means_no_run_and_no_spool(tmp_path) -> None:
    env = _env()
    for k in ("RUNWATCH_URL", "RUNWATCH_SPOOL_DIR"):
        env.pop(k, None)
    env["HOME"] = str(tmp_path / "home")  # a default spool would land here
    res = _py(WRITE, env, str(tmp_path))
    assert (res.returncode, res.stdout.strip(), res.stderr) == (0, "done", "")
    assert not os.path.exists(tmp_path / "home" / ".runwatch")
    assert os.listdir(tmp_path / "logs" / "x"), "the event file is written as usual"


def test_rank_one_is_not_captured_by_default(collector: Collector, tmp_path) -> None:
    collector.start()
    base = dict(RUNWATCH_URL=collector.url, RUNWATCH_TOKEN=collector.token, WORLD_SIZE="2")
    res = _py(WRITE, _env(RANK="1", **base), str(tmp_path))
    assert res.returncode == 0 and res.stderr == ""
    assert list_runs(collector.store) == [] and spool_files(os.environ["RUNWATCH_SPOOL_DIR"]) == []
    res = _py(WRITE, _env(RANK="1", RUNWATCH_CAPTURE_ALL_RANKS="1", **base), str(tmp_path))
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert len(list_runs(collector.store)) == 1
