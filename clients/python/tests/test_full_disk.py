"""A full disk: the collector's store on a small tmpfs that this test mounts (we run as root) and
fills. Refused messages are kept and resent, and every point ends up in the store exactly once
once space comes back; a spool folder on the full disk falls back to another folder; with no
folder at all the client says exactly how many points were lost and does not claim success."""

from __future__ import annotations

import os
import subprocess
import textwrap
from typing import Iterator

import pytest

import runwatch
from helpers import Collector, assert_steps_exactly_once, client_env, final_status, read_log, run_script, spool_files, wait_for


def _fill(folder: str) -> str:
    """Writes a file until the disk is full; returns its path."""
    path = os.path.join(folder, "filler")
    with open(path, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    try:  # the last few bytes too
        with open(path, "ab") as f:
            while True:
                f.write(b"\0" * 512)
                f.flush()
    except OSError:
        pass
    return path


@pytest.fixture
def small_disk(tmp_path) -> Iterator[str]:
    mnt = tmp_path / "small-disk"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m,mode=0700", "tmpfs", str(mnt)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (mount said: {res.stdout.strip()}); this test needs root and mount rights")
    try:
        yield str(mnt)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_refused_writes_are_resent_when_space_returns_every_point_once(small_disk: str, tmp_path, capfd: pytest.CaptureFixture) -> None:
    logdir = tmp_path / "logs"
    logdir.mkdir()
    c = Collector(store=os.path.join(small_disk, "store"), logdir=str(logdir))
    try:
        c.start()
        run = runwatch.init(project="p", name="full-disk", url=c.url, token=c.token, flush_timeout=120)
        run.log({"x": 0.0}, step=0)
        wait_for(lambda: run.acked_points >= 1, "the first point to be acknowledged")
        filler = _fill(small_disk)
        n = 60_000
        for i in range(1, n):
            run.log({"x": i * 0.5, "y": -float(i)}, step=i)
        wait_for(lambda: "refused data" in capfd.readouterr().err, "the client to say the disk refused data", timeout=60)
        assert run.acked_points < 2 * n - 1, "the full disk took everything: nothing was refused"
        os.unlink(filler)  # space comes back
        run.finish()
        err = capfd.readouterr().err
        assert run.status == "finished", err
        assert run.spool_path is None, "everything should have reached the collector once space came back"
    finally:
        c.stop()
    events = read_log(c.store, run.id)
    assert_steps_exactly_once(events, "x", range(n))
    assert_steps_exactly_once(events, "y", range(1, n))
    assert final_status(events) == "finished"


SCRIPT = """
import runwatch
run = runwatch.init(project="p", name="spool-on-full-disk")
for i in range(3000):
    run.log({"x": i * 0.5}, step=i)
run.finish()
print(run.id, run.status, run.spool_path, run.lost_points)
"""


def test_a_spool_folder_on_the_full_disk_falls_back_to_another_folder(small_disk: str, tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    _fill(small_disk)
    env = client_env(RUNWATCH_SPOOL_DIR=os.path.join(small_disk, "spool"), HOME=str(home))
    res = run_script(textwrap.dedent(SCRIPT), env, str(tmp_path))
    assert res.returncode == 0, res.stderr
    run_id, status, path, lost = res.stdout.split()
    fallback = str(home / ".cache" / "runwatch" / "spool")
    assert path == os.path.join(fallback, f"{run_id}.jsonl") and status == "finished" and lost == "0", res.stdout + res.stderr
    assert f"spooling to {fallback}" in res.stderr, res.stderr
    lines = open(path).read().splitlines()
    assert len(lines) >= 3 and spool_files(os.path.join(small_disk, "spool")) == []


def test_with_no_folder_writable_the_lost_points_are_counted_and_the_run_is_not_called_finished(small_disk: str, tmp_path) -> None:
    _fill(small_disk)
    env = client_env(RUNWATCH_SPOOL_DIR=os.path.join(small_disk, "spool"), HOME=os.path.join(small_disk, "home"), TMPDIR=small_disk)
    res = run_script(textwrap.dedent(SCRIPT), env, str(tmp_path))
    run_id, status, path, lost = res.stdout.split()
    assert status == "incomplete" and path == "None" and lost == "3000", res.stdout + res.stderr
    assert "3000 points" in res.stderr and "LOST" in res.stderr and run_id in res.stderr, res.stderr
