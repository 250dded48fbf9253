"""System metrics while a run is live: CPU and memory of this process and of the machine, and per GPU
utilisation, memory, temperature and power (NVML through ctypes, `nvidia-smi` as fallback).

Standard library only. A daemon thread samples every `RUNWATCH_SYSTEM_INTERVAL` seconds and appends
one (dict, sample number, wall time) triple to the run's queue, the same path `run.log()` takes,
without touching the run's step counter. Nothing here raises into training code: a reader that
fails is warned about once and dropped, the others go on.
"""

from __future__ import annotations

import ctypes
import math
import os
import shutil
import subprocess
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

DEFAULT_INTERVAL = 10.0
MIN_INTERVAL = 0.05
_MIB = float(1 << 20)
Sample = Dict[str, float]
Warn = Callable[[str, str], None]


# ----------------------------------------------------------------------
# Settings: interval and rank


def interval_setting(system_metrics: Any, warn: Warn) -> float:
    """Seconds between samples, 0 for off: `init(system_metrics=)` (False, True or seconds) wins over
    RUNWATCH_SYSTEM_INTERVAL, else DEFAULT_INTERVAL."""
    if system_metrics is False:
        return 0.0
    if system_metrics is not None and system_metrics is not True:
        try:
            value = float(system_metrics)
        except (TypeError, ValueError):
            value = -1.0
        if value >= 0 and math.isfinite(value):
            return 0.0 if value == 0 else max(MIN_INTERVAL, value)
        warn("system-arg", f"init(system_metrics={system_metrics!r}): pass True, False or seconds (0 turns it off); "
             "using the default.")
    raw = os.environ.get("RUNWATCH_SYSTEM_INTERVAL", "").strip()
    if raw:
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if value >= 0 and math.isfinite(value):
            if system_metrics is True and value == 0:
                return DEFAULT_INTERVAL
            return 0.0 if value == 0 else max(MIN_INTERVAL, value)
        warn("system-env", f"RUNWATCH_SYSTEM_INTERVAL={raw!r} is not a number of seconds (0 turns it off); "
             f"using {DEFAULT_INTERVAL:g}.")
    return DEFAULT_INTERVAL


def _env_int(name: str) -> Optional[int]:
    try:
        return int(os.environ.get(name, "").strip())
    except ValueError:
        return None


def rank() -> Optional[int]:
    """This process's rank under torchrun/DDP (RANK, else LOCAL_RANK), None when not distributed."""
    r = _env_int("RANK")
    return r if r is not None else _env_int("LOCAL_RANK")


# torchrun sets GROUP_RANK for the node's index; Lightning and SLURM launches set NODE_RANK.
_RANK_ENV = (("rank", ("RANK",)), ("local_rank", ("LOCAL_RANK",)), ("world_size", ("WORLD_SIZE",)),
             ("local_world_size", ("LOCAL_WORLD_SIZE",)), ("node_rank", ("GROUP_RANK", "NODE_RANK")))


def rank_tags() -> Dict[str, str]:
    """Tags for a multi-process run: rank, local_rank, world_size, local_world_size and node_rank, those
    that are set, and `node` (the host name) so ranks of a multi-node run can be told apart by machine."""
    tags: Dict[str, str] = {}
    for tag, names in _RANK_ENV:
        for env in names:
            v = _env_int(env)
            if v is not None:
                tags[tag] = str(v)
                break
    if tags:
        try:
            import socket

            tags["node"] = socket.gethostname()
        except OSError:
            pass
    return tags


def samples_here() -> bool:
    """Only rank zero samples (the machine is shared by its ranks); RUNWATCH_SYSTEM_ALL_RANKS=1 for every rank."""
    if os.environ.get("RUNWATCH_SYSTEM_ALL_RANKS", "").strip().lower() in ("1", "true", "yes"):
        return True
    r = rank()
    return r is None or r == 0


# ----------------------------------------------------------------------
# /proc readers


def _read(path: str) -> str:
    with open(path, "rb") as f:
        return f.read().decode("ascii", "replace")


def _kib_fields(text: str, names: Tuple[str, ...]) -> Dict[str, int]:
    """`Name:   123 kB` lines of /proc/self/status or /proc/meminfo, in KiB."""
    out: Dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name in names:
            parts = rest.split()
            if parts:
                out[name] = int(parts[0])
    return out


class ProcessReader:
    """CPU and memory of this process: /proc/self/stat and /proc/self/status, else `resource`."""

    def __init__(self) -> None:
        self._tick = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0
        self._last: Optional[Tuple[float, float]] = None  # (cpu seconds, monotonic)

    def _cpu_seconds(self) -> float:
        try:
            stat = _read("/proc/self/stat")
            fields = stat[stat.rindex(")") + 2 :].split()  # the name may hold spaces and parentheses
            return (int(fields[11]) + int(fields[12])) / self._tick  # utime, stime
        except (OSError, ValueError, IndexError):
            import resource

            ru = resource.getrusage(resource.RUSAGE_SELF)
            return ru.ru_utime + ru.ru_stime

    def sample(self) -> Sample:
        out: Sample = {}
        now, cpu = time.monotonic(), self._cpu_seconds()
        if self._last is not None and now > self._last[1]:
            # 100 is one core busy: a process with busy threads on four cores shows 400.
            out["sys/proc/cpu_percent"] = max(0.0, 100.0 * (cpu - self._last[0]) / (now - self._last[1]))
        self._last = (cpu, now)
        try:
            f = _kib_fields(_read("/proc/self/status"), ("VmRSS", "VmHWM", "Threads"))
            if "VmRSS" in f:
                out["sys/proc/rss_mb"] = f["VmRSS"] / 1024.0
            if "VmHWM" in f:
                out["sys/proc/rss_peak_mb"] = f["VmHWM"] / 1024.0
            if "Threads" in f:
                out["sys/proc/threads"] = float(f["Threads"])
        except OSError:
            import resource
            import sys

            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
            out["sys/proc/rss_peak_mb"] = peak / (_MIB if sys.platform == "darwin" else 1024.0)
        return out


class MachineReader:
    """CPU, memory and load of the machine: /proc/stat, /proc/meminfo, os.getloadavg()."""

    def __init__(self) -> None:
        self._last: Optional[Tuple[int, int]] = None  # (busy, total) jiffies
        self._proc = os.path.exists("/proc/stat")

    def sample(self) -> Sample:
        out: Sample = {}
        if self._proc:
            first = _read("/proc/stat").split("\n", 1)[0].split()
            ticks = [int(x) for x in first[1:9]]  # user nice system idle iowait irq softirq steal
            total, idle = sum(ticks), ticks[3] + ticks[4]
            if self._last is not None and total > self._last[1]:
                busy = (total - idle) - self._last[0]
                out["sys/cpu_percent"] = max(0.0, min(100.0, 100.0 * busy / (total - self._last[1])))
            self._last = (total - idle, total)
            m = _kib_fields(_read("/proc/meminfo"), ("MemTotal", "MemAvailable"))
            if "MemTotal" in m and "MemAvailable" in m and m["MemTotal"] > 0:
                used = m["MemTotal"] - m["MemAvailable"]
                out["sys/mem_used_mb"] = used / 1024.0
                out["sys/mem_total_mb"] = m["MemTotal"] / 1024.0
                out["sys/mem_percent"] = 100.0 * used / m["MemTotal"]
        if hasattr(os, "getloadavg"):
            out["sys/load1"] = os.getloadavg()[0]
        return out


# ----------------------------------------------------------------------
# GPUs: NVML through ctypes


class _Utilization(ctypes.Structure):
    _fields_ = [("gpu", ctypes.c_uint), ("memory", ctypes.c_uint)]


class _Memory(ctypes.Structure):
    _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong), ("used", ctypes.c_ulonglong)]


_NVML_TEMPERATURE_GPU = 0
_NvmlDevice = ctypes.c_void_p  # nvmlDevice_t: a pointer to an opaque struct


class Nvml:
    """The NVML calls we use, with their real signatures; every one returns nvmlReturn_t (0 = success)."""

    def __init__(self, path: str) -> None:
        lib = ctypes.CDLL(path)
        ret = ctypes.c_int
        lib.nvmlInit_v2.argtypes, lib.nvmlInit_v2.restype = [], ret
        lib.nvmlShutdown.argtypes, lib.nvmlShutdown.restype = [], ret
        lib.nvmlDeviceGetCount_v2.argtypes, lib.nvmlDeviceGetCount_v2.restype = [ctypes.POINTER(ctypes.c_uint)], ret
        lib.nvmlDeviceGetHandleByIndex_v2.argtypes = [ctypes.c_uint, ctypes.POINTER(_NvmlDevice)]
        lib.nvmlDeviceGetHandleByIndex_v2.restype = ret
        lib.nvmlDeviceGetUtilizationRates.argtypes = [_NvmlDevice, ctypes.POINTER(_Utilization)]
        lib.nvmlDeviceGetUtilizationRates.restype = ret
        lib.nvmlDeviceGetMemoryInfo.argtypes = [_NvmlDevice, ctypes.POINTER(_Memory)]
        lib.nvmlDeviceGetMemoryInfo.restype = ret
        lib.nvmlDeviceGetTemperature.argtypes = [_NvmlDevice, ctypes.c_int, ctypes.POINTER(ctypes.c_uint)]
        lib.nvmlDeviceGetTemperature.restype = ret
        lib.nvmlDeviceGetPowerUsage.argtypes = [_NvmlDevice, ctypes.POINTER(ctypes.c_uint)]
        lib.nvmlDeviceGetPowerUsage.restype = ret
        self._lib = lib
        code = lib.nvmlInit_v2()
        if code != 0:
            raise OSError(f"nvmlInit_v2 returned {code}")
        count = ctypes.c_uint(0)
        if lib.nvmlDeviceGetCount_v2(ctypes.byref(count)) != 0:
            lib.nvmlShutdown()
            raise OSError("nvmlDeviceGetCount_v2 failed")
        self.handles: List[Any] = []
        for i in range(count.value):
            h = _NvmlDevice()
            if lib.nvmlDeviceGetHandleByIndex_v2(i, ctypes.byref(h)) == 0:
                self.handles.append((i, h))

    def sample(self) -> Sample:
        lib, out = self._lib, {}
        for i, h in self.handles:
            p = f"sys/gpu{i}/"
            u, m, v = _Utilization(), _Memory(), ctypes.c_uint(0)
            # A query a device does not support (power on some boards) leaves its key out.
            if lib.nvmlDeviceGetUtilizationRates(h, ctypes.byref(u)) == 0:
                out[p + "util_percent"] = float(u.gpu)
                out[p + "mem_util_percent"] = float(u.memory)
            if lib.nvmlDeviceGetMemoryInfo(h, ctypes.byref(m)) == 0:
                out[p + "mem_used_mb"] = m.used / _MIB
                out[p + "mem_total_mb"] = m.total / _MIB
            if lib.nvmlDeviceGetTemperature(h, _NVML_TEMPERATURE_GPU, ctypes.byref(v)) == 0:
                out[p + "temp_c"] = float(v.value)
            if lib.nvmlDeviceGetPowerUsage(h, ctypes.byref(v)) == 0:
                out[p + "power_w"] = v.value / 1000.0  # milliwatts
        return out

    def close(self) -> None:
        self._lib.nvmlShutdown()


_SMI_FIELDS = ("util_percent", "mem_used_mb", "mem_total_mb", "temp_c", "power_w")
_SMI_QUERY = "index,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw"


class NvidiaSmi:
    """`nvidia-smi --query-gpu=... --format=csv,noheader,nounits`, when NVML cannot be loaded."""

    def __init__(self, exe: str) -> None:
        self._cmd = [exe, f"--query-gpu={_SMI_QUERY}", "--format=csv,noheader,nounits"]
        if not self.sample():
            raise OSError("nvidia-smi lists no GPU")

    def sample(self) -> Sample:
        res = subprocess.run(self._cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             timeout=10, check=True)
        out: Sample = {}
        for line in res.stdout.decode("utf-8", "replace").splitlines():
            cells = [c.strip() for c in line.split(",")]
            if len(cells) != 1 + len(_SMI_FIELDS) or not cells[0].isdigit():
                continue
            for name, cell in zip(_SMI_FIELDS, cells[1:]):
                try:
                    out[f"sys/gpu{cells[0]}/{name}"] = float(cell)  # MiB, °C, W already; "[N/A]" is left out
                except ValueError:
                    pass
        return out

    def close(self) -> None:
        pass


def open_gpus() -> Optional[Any]:
    """NVML (RUNWATCH_NVML_LIB, else libnvidia-ml.so.1), else nvidia-smi on PATH, else None: no GPU, no noise."""
    try:
        return Nvml(os.environ.get("RUNWATCH_NVML_LIB") or "libnvidia-ml.so.1")
    except (OSError, AttributeError):
        pass
    exe = shutil.which("nvidia-smi")
    if exe:
        try:
            return NvidiaSmi(exe)
        except (OSError, subprocess.SubprocessError, ValueError):
            pass
    return None


# ----------------------------------------------------------------------
# The sampler thread


class Sampler:
    """Samples every `interval` seconds on a daemon thread and hands each sample to `emit(data, n, time)`.

    `n` is the sample number (0, 1, 2, ...): the step of every `sys/` point, independent of the
    training steps; align the two by wall time. The first sample comes one interval after the start
    (a script shorter than that pays nothing), measured against a baseline read at the start.
    """

    def __init__(self, interval: float, emit: Callable[[Sample, int, float], None], warn: Warn) -> None:
        self.interval = interval
        self._emit = emit
        self._warn = warn
        self._stop = threading.Event()
        self._lock = threading.Lock()  # stop() waits out an emit in progress: nothing lands after it
        self._stopped = False
        self.samples = 0
        self._thread = threading.Thread(target=self._main, name="runwatch-system", daemon=True)

    def start(self) -> "Sampler":
        self._thread.start()
        return self

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        with self._lock:
            self._stopped = True
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _read(self, readers: List[Tuple[str, Any]]) -> Sample:
        data: Sample = {}
        for name, reader in list(readers):
            try:
                data.update(reader.sample())
            except Exception as e:  # noqa: BLE001 - one broken reader must not stop the others
                readers.remove((name, reader))
                why = f"system metrics: reading {name} metrics failed ({e!r}); they are no longer sampled."
                self._warn(f"system-{name}", why)
        return data

    def _main(self) -> None:
        readers: List[Tuple[str, Any]] = []
        try:
            readers = [("process", ProcessReader()), ("machine", MachineReader())]
            gpus = open_gpus()
            if gpus is not None:
                readers.append(("gpu", gpus))
            self._read(readers)  # the baseline CPU percentages are measured against
            while not self._stop.wait(self.interval):
                data = self._read(readers)
                with self._lock:
                    if self._stopped:
                        break
                    if data:
                        self._emit(data, self.samples, time.time())
                        self.samples += 1
        except Exception as e:  # noqa: BLE001
            self._warn("system", f"system metrics stopped ({e!r}); training goes on without them.")
        finally:
            for _, reader in readers:
                close = getattr(reader, "close", None)
                if close is not None:
                    try:
                        close()
                    except Exception:  # noqa: BLE001
                        pass


def start_for(run: Any, system_metrics: Any) -> Optional[Sampler]:
    """Starts a sampler for `run` if the settings and the rank say so. Never raises."""
    try:
        interval = interval_setting(system_metrics, run._warn)
        if interval <= 0 or not samples_here():
            return None

        def emit(data: Sample, n: int, t: float) -> None:
            run._queue.extend((data, n, t))  # what run.log() appends, minus its step counter

        return Sampler(interval, emit, run._warn).start()
    except Exception as e:  # noqa: BLE001
        run._warn("system", f"system metrics could not start ({e!r}); training goes on without them.")
        return None
