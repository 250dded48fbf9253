"""The bridge's wire: frames of a 4-byte big-endian length and a UTF-8 JSON object, on
stdin (requests) and on a private copy of stdout (replies). Metric values travel as JSON
numbers or the strings "NaN", "Infinity", "-Infinity", as everywhere in Runwatch.

Also the bridge's per-run state: one small JSON file per Runwatch run in the folder the
backend names, written atomically and fsynced, holding the highest record offset the
tracker's SDK has accepted and whatever ids tie the run to the tracker's run."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import struct
from typing import IO, Any, Dict, Optional

MAX_FRAME = 256 * 1024 * 1024
_HEADER = struct.Struct(">I")


class ProtocolError(Exception):
    """The other side sent something that is not a frame: the bridge cannot go on."""


def read_frame(stream: IO[bytes]) -> Optional[Dict[str, Any]]:
    """The next request, or None at a clean end of input."""
    head = _read_exact(stream, 4)
    if head is None:
        return None
    (size,) = _HEADER.unpack(head)
    if size > MAX_FRAME:
        raise ProtocolError(f"frame of {size} bytes is over the {MAX_FRAME} byte limit")
    body = _read_exact(stream, size)
    if body is None:
        raise ProtocolError("input ended inside a frame")
    msg = json.loads(body.decode("utf-8"))
    if not isinstance(msg, dict):
        raise ProtocolError("a frame must hold a JSON object")
    return msg


def write_frame(stream: IO[bytes], msg: Dict[str, Any]) -> None:
    body = json.dumps(msg, separators=(",", ":"), allow_nan=False, default=str).encode("utf-8")
    stream.write(_HEADER.pack(len(body)) + body)
    stream.flush()


def _read_exact(stream: IO[bytes], n: int) -> Optional[bytes]:
    chunks = []
    got = 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            if got == 0:
                return None
            raise ProtocolError("input ended inside a frame")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def wire_float(v: Any) -> float:
    """A metric value from the wire as a float (NaN and ±Infinity arrive as strings)."""
    if isinstance(v, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[v]
    return float(v)


def derived_id(run_id: str, length: int) -> str:
    """A stable hex id for a Runwatch run id, for trackers that want their own id shape."""
    return hashlib.sha256(run_id.encode("utf-8")).hexdigest()[:length]


class RunStates:
    """What the bridge knows per run, in `<folder>/<run id>.json`."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        self._cache: Dict[str, Dict[str, Any]] = {}

    def _file(self, run_id: str) -> str:
        return os.path.join(self.folder, re.sub(r"[^A-Za-z0-9_-]", "_", run_id) + ".json")

    def get(self, run_id: str) -> Dict[str, Any]:
        st = self._cache.get(run_id)
        if st is None:
            try:
                with open(self._file(run_id), encoding="utf-8") as f:
                    st = json.load(f)
            except (OSError, ValueError):
                st = {"offset": -1}
            self._cache[run_id] = st
        return st

    def save(self, run_id: str, st: Dict[str, Any]) -> None:
        path = self._file(run_id)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(st, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        try:
            fd = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            pass
        self._cache[run_id] = st
