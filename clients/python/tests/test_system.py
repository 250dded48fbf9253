"""System metrics (`runwatch/_system.py`): the /proc readers against known changes, the NVML ctypes
binding against a fake libnvidia-ml built here from C, the nvidia-smi fallback, silence without a
GPU, ranks, and the sys/* points in the real collector's store."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import textwrap
import time
from typing import Dict, List

import pytest

from helpers import Collector, client_env, list_runs, points_of, read_log, run_script
from runwatch import _system

MIB = 1 << 20

FAKE_NVML_C = r"""
typedef int nvmlReturn_t;
typedef struct { int index; } dev_t;
typedef dev_t *nvmlDevice_t;
typedef struct { unsigned int gpu; unsigned int memory; } nvmlUtilization_t;
typedef struct { unsigned long long total; unsigned long long free; unsigned long long used; } nvmlMemory_t;
static dev_t devs[2] = {{0}, {1}};
static int inited = 0;
nvmlReturn_t nvmlInit_v2(void) { inited = 1; return 0; }
nvmlReturn_t nvmlShutdown(void) { inited = 0; return 0; }
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *n) { if (!inited) return 1; *n = 2; return 0; }
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *d) {
  if (!inited || i > 1) return 2; *d = &devs[i]; return 0; }
nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t *u) {
  u->gpu = d->index ? 81 : 37; u->memory = d->index ? 64 : 12; return 0; }
nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t *m) {
  m->total = d->index ? 85899345920ULL : 42949672960ULL;  /* 80 GiB, 40 GiB */
  m->used = d->index ? 3221225472ULL : 1610612736ULL;     /* 3 GiB, 1.5 GiB */
  m->free = m->total - m->used; return 0; }
nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t d, int sensor, unsigned int *t) {
  if (sensor != 0) return 2; *t = d->index ? 61 : 55; return 0; }
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned int *mw) {
  if (d->index) return 3; /* NVML_ERROR_NOT_SUPPORTED: the key is left out */
  *mw = 123456; return 0; }
"""

EXPECTED_GPU = {
    "sys/gpu0/util_percent": 37.0,
    "sys/gpu0/mem_util_percent": 12.0,
    "sys/gpu0/mem_used_mb": 1536.0,
    "sys/gpu0/mem_total_mb": 40960.0,
    "sys/gpu0/temp_c": 55.0,
    "sys/gpu0/power_w": 123.456,
    "sys/gpu1/util_percent": 81.0,
    "sys/gpu1/mem_util_percent": 64.0,
    "sys/gpu1/mem_used_mb": 3072.0,
    "sys/gpu1/mem_total_mb": 81920.0,
    "sys/gpu1/temp_c": 61.0,
}

# A script that logs training steps while the sampler runs, then prints its run id.
TRAIN = textwrap.dedent(
    """
    import time, runwatch
    run = runwatch.init(project="sys", name="sampled")
    for i in range(12):
        run.log({"train/loss": 1.0 / (i + 1)})
        time.sleep(0.08)
    run.finish()
    print(run.id)
    """
)


@pytest.fixture
def fake_nvml(tmp_path) -> str:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed: the fake libnvidia-ml.so.1 cannot be built")
    src = tmp_path / "fake_nvml.c"
    src.write_text(FAKE_NVML_C)
    lib = tmp_path / "nvml" / "libnvidia-ml.so.1"
    lib.parent.mkdir()
    subprocess.run([gcc, "-shared", "-fPIC", "-O0", "-o", str(lib), str(src)], check=True, capture_output=True)
    return str(lib)


def _no_gpu_path(tmp_path) -> str:
    """A PATH without nvidia-smi on it."""
    d = tmp_path / "empty-bin"
    d.mkdir(exist_ok=True)
    return str(d)


def _sampled_run(collector: Collector, tmp_path, **env: str) -> List[Dict]:
    extra = {"RUNWATCH_URL": collector.url, "RUNWATCH_TOKEN": collector.token, "RUNWATCH_SYSTEM_INTERVAL": "0.1"}
    extra.update(env)
    res = run_script(TRAIN, client_env(**extra), str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert res.stderr == "", res.stderr
    run_id = res.stdout.split()[-1]
    return read_log(collector.store, run_id)


def _sys_keys(events: List[Dict]) -> set:
    return {p["key"] for p in points_of(events) if p["key"].startswith("sys/")}


# ----------------------------------------------------------------------
# The readers, against known changes


def test_process_rss_grows_by_an_allocation_of_50_mb(tmp_path) -> None:
    # In a fresh interpreter: this test process, after the tests before it, may hold freed memory
    # that is still resident, which a new allocation reuses without RSS growing.
    code = textwrap.dedent(f"""
        import json
        from runwatch import _system
        reader = _system.ProcessReader()
        before = reader.sample()["sys/proc/rss_mb"]
        block = bytearray(b"x") * {50 * MIB}  # written, so its pages are resident
        after = reader.sample()["sys/proc/rss_mb"]
        print(json.dumps([before, after, reader.sample()["sys/proc/rss_peak_mb"]]))
    """)
    res = run_script(code, client_env(), str(tmp_path))
    assert res.returncode == 0, res.stderr
    before, after, peak = json.loads(res.stdout.strip().splitlines()[-1])
    assert after - before >= 45, (before, after)
    assert peak >= after


def test_cpu_percent_of_process_and_machine_while_spinning() -> None:
    proc, machine = _system.ProcessReader(), _system.MachineReader()
    first_p, first_m = proc.sample(), machine.sample()
    assert "sys/proc/cpu_percent" not in first_p and "sys/cpu_percent" not in first_m, "a percentage needs an interval"
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        pass
    p, m = proc.sample(), machine.sample()
    # One spinning thread is about 100 (one core); a shared CI machine may lend less of it.
    assert 5 < p["sys/proc/cpu_percent"] <= 100 * (os.cpu_count() or 1) + 5, p
    assert 0 < m["sys/cpu_percent"] <= 100, m
    assert 0 < m["sys/mem_used_mb"] < m["sys/mem_total_mb"] and 0 < m["sys/mem_percent"] < 100
    assert m["sys/load1"] == pytest.approx(os.getloadavg()[0], abs=2.0)


def test_machine_memory_matches_proc_meminfo() -> None:
    with open("/proc/meminfo") as f:
        total_kib = next(int(line.split()[1]) for line in f if line.startswith("MemTotal:"))
    assert _system.MachineReader().sample()["sys/mem_total_mb"] == total_kib / 1024


def test_a_failing_reader_is_warned_about_once_and_the_others_go_on() -> None:
    warnings: List[str] = []
    got: List[Dict[str, float]] = []

    class Broken:
        def sample(self) -> Dict[str, float]:
            raise OSError("no /proc here")

    s = _system.Sampler(0.05, lambda data, n, t: got.append(dict(data, n=n)), lambda code, msg: warnings.append(msg))
    original = _system.MachineReader
    _system.MachineReader = Broken  # type: ignore[misc, assignment]
    try:
        s.start()
        time.sleep(0.4)
        s.stop()
    finally:
        _system.MachineReader = original  # type: ignore[misc]
    assert len(warnings) == 1 and "machine" in warnings[0], warnings
    assert len(got) >= 3 and all("sys/proc/rss_mb" in g and "sys/mem_used_mb" not in g for g in got)
    assert [g["n"] for g in got] == list(range(len(got))), "steps are the sample numbers"
    n = len(got)
    time.sleep(0.2)
    assert len(got) == n, "nothing is emitted after stop()"


def test_interval_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    warned: List[str] = []

    def w(code: str, msg: str) -> None:
        warned.append(code)

    monkeypatch.delenv("RUNWATCH_SYSTEM_INTERVAL", raising=False)
    assert _system.interval_setting(None, w) == 10.0
    assert _system.interval_setting(False, w) == 0.0
    assert _system.interval_setting(2.5, w) == 2.5
    assert _system.interval_setting(0, w) == 0.0
    monkeypatch.setenv("RUNWATCH_SYSTEM_INTERVAL", "0")
    assert _system.interval_setting(None, w) == 0.0
    assert _system.interval_setting(True, w) == 10.0
    monkeypatch.setenv("RUNWATCH_SYSTEM_INTERVAL", "3")
    assert _system.interval_setting(None, w) == 3.0
    assert _system.interval_setting(1, w) == 1.0, "the init() argument wins"
    assert not warned
    monkeypatch.setenv("RUNWATCH_SYSTEM_INTERVAL", "soon")
    assert _system.interval_setting(None, w) == 10.0
    assert _system.interval_setting("x", w) == 10.0
    assert warned == ["system-env", "system-arg", "system-env"]


# ----------------------------------------------------------------------
# GPUs


def test_nvml_binding_reads_the_exact_values_of_two_fake_devices(fake_nvml: str) -> None:
    nvml = _system.Nvml(fake_nvml)
    try:
        assert [i for i, _ in nvml.handles] == [0, 1]
        got = nvml.sample()
    finally:
        nvml.close()
    assert got == pytest.approx(EXPECTED_GPU), got
    assert "sys/gpu1/power_w" not in got, "an unsupported query leaves its key out"


def test_nvml_values_reach_the_store_as_sys_gpu_points(collector: Collector, tmp_path, fake_nvml: str) -> None:
    collector.start()
    events = _sampled_run(collector, tmp_path, RUNWATCH_NVML_LIB=fake_nvml, PATH=_no_gpu_path(tmp_path))
    for key, value in EXPECTED_GPU.items():
        pts = points_of(events, key)
        assert pts, f"no {key} in the store"
        assert all(p["value"] == pytest.approx(value) for p in pts), (key, pts)
    assert not points_of(events, "sys/gpu1/power_w")


def test_nvidia_smi_is_the_fallback_without_nvml(collector: Collector, tmp_path) -> None:
    bindir = tmp_path / "smi-bin"
    bindir.mkdir()
    smi = bindir / "nvidia-smi"
    smi.write_text("#!/bin/sh\nprintf '0, 37, 1536, 40960, 55, 123.45\\n1, 81, 3072, 81920, 61, [N/A]\\n'\n")
    smi.chmod(smi.stat().st_mode | stat.S_IEXEC)
    collector.start()
    events = _sampled_run(collector, tmp_path, RUNWATCH_NVML_LIB=str(tmp_path / "missing.so"), PATH=str(bindir))
    want = {
        "sys/gpu0/util_percent": 37.0,
        "sys/gpu0/mem_used_mb": 1536.0,
        "sys/gpu0/mem_total_mb": 40960.0,
        "sys/gpu0/temp_c": 55.0,
        "sys/gpu0/power_w": 123.45,
        "sys/gpu1/util_percent": 81.0,
        "sys/gpu1/temp_c": 61.0,
    }
    for key, value in want.items():
        pts = points_of(events, key)
        assert pts and all(p["value"] == value for p in pts), (key, pts)
    assert not points_of(events, "sys/gpu1/power_w"), "[N/A] is left out"


def test_no_nvml_and_no_nvidia_smi_logs_no_gpu_key_and_prints_nothing(collector: Collector, tmp_path) -> None:
    collector.start()
    # _sampled_run asserts the script's stderr is empty.
    missing = str(tmp_path / "missing.so")
    events = _sampled_run(collector, tmp_path, RUNWATCH_NVML_LIB=missing, PATH=_no_gpu_path(tmp_path))
    keys = _sys_keys(events)
    assert "sys/proc/rss_mb" in keys, keys
    assert not [k for k in keys if k.startswith("sys/gpu")], keys


# ----------------------------------------------------------------------
# A run with the sampler, in the real collector's store


def test_a_run_with_a_short_interval_stores_sys_points(collector: Collector, tmp_path) -> None:
    collector.start()
    events = _sampled_run(collector, tmp_path, PATH=_no_gpu_path(tmp_path))
    start, end = events[0], events[-1]
    assert start["type"] == "run.start" and end["type"] == "run.end" and end["status"] == "finished"
    keys = _sys_keys(events)
    for key in ("sys/cpu_percent", "sys/mem_used_mb", "sys/mem_total_mb", "sys/load1",
                "sys/proc/cpu_percent", "sys/proc/rss_mb", "sys/proc/threads"):
        assert key in keys, (key, keys)
    rss = points_of(events, "sys/proc/rss_mb")
    assert len(rss) >= 3, rss
    steps = [p["step"] for p in rss]
    assert steps == list(range(len(steps))), "sys/* steps are the sample numbers 0, 1, 2, ..."
    assert all(start["time"] <= p["time"] <= end["time"] for p in rss), "wall time within the run"
    assert all(5 < p["value"] < 10_000 for p in rss)
    # The sampler leaves the training steps alone: log() without step still counts 0..11.
    assert [p["step"] for p in points_of(events, "train/loss")] == list(range(12))


def test_by_default_a_run_shorter_than_the_interval_has_no_sys_points(collector: Collector, tmp_path) -> None:
    collector.start()
    events = _sampled_run(collector, tmp_path, RUNWATCH_SYSTEM_INTERVAL="")  # unset: the 10 s default
    assert len(points_of(events, "train/loss")) == 12 and not _sys_keys(events)


def test_system_metrics_off_by_argument_and_by_interval_zero(collector: Collector, tmp_path) -> None:
    collector.start()
    events = _sampled_run(collector, tmp_path, RUNWATCH_SYSTEM_INTERVAL="0")
    assert not _sys_keys(events)
    code = TRAIN.replace('name="sampled")', 'name="off", system_metrics=False)')
    env = client_env(RUNWATCH_URL=collector.url, RUNWATCH_TOKEN=collector.token, RUNWATCH_SYSTEM_INTERVAL="0.1")
    res = run_script(code, env, str(tmp_path))
    assert res.returncode == 0, res.stderr
    events = read_log(collector.store, res.stdout.split()[-1])
    assert len(points_of(events, "train/loss")) == 12 and not _sys_keys(events)


def test_rank_one_does_not_sample_and_both_ranks_are_tagged(collector: Collector, tmp_path) -> None:
    collector.start()
    path = _no_gpu_path(tmp_path)
    node = socket.gethostname()
    torchrun = dict(WORLD_SIZE="4", LOCAL_WORLD_SIZE="2", GROUP_RANK="1", PATH=path)
    r1 = _sampled_run(collector, tmp_path, RANK="3", LOCAL_RANK="1", **torchrun)
    assert not _sys_keys(r1), "only rank zero samples"
    assert r1[0]["tags"] == {"rank": "3", "local_rank": "1", "world_size": "4", "local_world_size": "2",
                             "node_rank": "1", "node": node}
    r0 = _sampled_run(collector, tmp_path, RANK="0", LOCAL_RANK="0", WORLD_SIZE="2", NODE_RANK="0", PATH=path)
    assert "sys/proc/rss_mb" in _sys_keys(r0)
    assert r0[0]["tags"] == {"rank": "0", "local_rank": "0", "world_size": "2", "node_rank": "0", "node": node}
    all_ranks = _sampled_run(collector, tmp_path, RANK="1", WORLD_SIZE="2", RUNWATCH_SYSTEM_ALL_RANKS="1", PATH=path)
    assert "sys/proc/rss_mb" in _sys_keys(all_ranks), "RUNWATCH_SYSTEM_ALL_RANKS=1: every rank samples"
    single = _sampled_run(collector, tmp_path, PATH=path)
    assert single[0]["tags"] == {}, "a single-process run has no rank tags"
    assert len(list_runs(collector.store)) == 4
