"""Data on disk when the collector cannot take it: the spool file and the overflow FIFO.

Spool file: `<dir>/<runId>.<pid>.jsonl.part` while this process writes it (the importer leaves a
`.part` alone while its pid lives), renamed to `<dir>/<runId>.jsonl` when the run is over. One
protocol message per line, exactly as on the wire: the run's `run.start` first, then every message
from the first one the collector had not acknowledged, in seq order. Each batch is flushed to the
OS as it is written (a kill -9 of this process keeps it), and fsync'd at most every FSYNC_EVERY_S.

Overflow FIFO: messages past the memory bound wait in `<dir>/.<runId>.<pid>.overflow` (one
"seq points text" line each) and are read back in order as acknowledgements free memory. It
is private to this process and removed when the run ends.
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import IO, Callable, Iterable, Iterator, List, Optional

from ._protocol import Message

FSYNC_EVERY_S = 0.5
REOPEN_EVERY_S = 5.0  # when no folder could be written, they are tried again this often
TOUCH_EVERY_S = 10.0  # the file's mtime says its writer lives


def candidate_dirs(primary: str) -> List[str]:
    """Where to spool, in order: the configured folder, then ones less likely to be on the same full disk."""
    out = [primary]
    try:
        out.append(os.path.join(os.path.expanduser("~"), ".cache", "runwatch", "spool"))
    except Exception:  # noqa: BLE001
        pass
    try:
        uid = os.getuid() if hasattr(os, "getuid") else 0
        # TMPDIR as the user set it (gettempdir() would skip it silently when it is full).
        out.append(os.path.join(os.environ.get("TMPDIR") or tempfile.gettempdir(), f"runwatch-spool-{uid}"))
    except Exception:  # noqa: BLE001
        pass
    seen: List[str] = []
    for d in out:
        if d not in seen:
            seen.append(d)
    return seen


class SpoolFile:
    """One run's spool file in one folder. Methods raise OSError; the caller moves to another folder."""

    def __init__(self, folder: str, run_id: str) -> None:
        self.folder = folder
        self.run_id = run_id
        self.path = os.path.join(folder, f"{run_id}.{os.getpid()}.jsonl.part")
        self.final_path = os.path.join(folder, f"{run_id}.jsonl")
        self.last_seq = 0  # the highest seq written
        self.messages = 0
        self._last_fsync = 0.0
        os.makedirs(folder, mode=0o700, exist_ok=True)
        self._f = open(self.path, "ab")

    def append(self, items: Iterable[Message], start_text: Optional[str] = None) -> None:
        """Writes the messages above `last_seq` (with the run.start first when given); flushed to the OS."""
        lines: List[str] = []
        if start_text is not None:
            lines.append(start_text)
        top = self.last_seq
        for m in items:
            if m.seq > top and m.seq != 1:
                lines.append(m.text)
                top = m.seq
        if not lines:
            return
        self._f.write(("\n".join(lines) + "\n").encode("utf-8"))
        self._f.flush()
        self.last_seq = max(top, 1 if start_text is not None else 0)
        self.messages += len(lines)
        now = time.monotonic()
        if now - self._last_fsync >= FSYNC_EVERY_S:
            self._last_fsync = now
            os.fsync(self._f.fileno())

    def touch(self) -> None:
        try:
            os.utime(self.path)
        except OSError:
            pass

    def finish(self) -> str:
        """fsyncs, closes and renames the file so the importer takes it; returns where it is."""
        self._f.flush()
        os.fsync(self._f.fileno())
        self._f.close()
        target = self.final_path
        n = 1
        while os.path.exists(target):  # an earlier spool of the same run: keep both
            n += 1
            target = os.path.join(self.folder, f"{self.run_id}-{n}.jsonl")
        os.rename(self.path, target)
        return target

    def discard(self) -> None:
        """The collector holds everything in it: remove it."""
        _close_and_remove(self._f, self.path)


class Overflow:
    """A FIFO of messages on disk. push() appends; pop(budget) reads back the oldest, in order."""

    def __init__(self, folder: str, run_id: str) -> None:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        self.path = os.path.join(folder, f".{run_id}.{os.getpid()}.overflow")
        self._f = open(self.path, "w+b")
        self._read_at = 0
        self.count = 0
        self.bytes = 0
        self.first_seq = 0
        self.last_seq = 0

    def push(self, items: List[Message]) -> None:
        data = b"".join(f"{m.seq} {m.points} ".encode("ascii") + m.text.encode("utf-8") + b"\n" for m in items)
        self._f.seek(0, os.SEEK_END)
        self._f.write(data)
        self._f.flush()
        if self.count == 0:
            self.first_seq = items[0].seq
        self.count += len(items)
        self.bytes += len(data)
        self.last_seq = items[-1].seq

    def pop(self, budget: int) -> List[Message]:
        """The oldest messages, about `budget` bytes of them (at least one)."""
        out: List[Message] = []
        self._f.seek(self._read_at)
        used = 0
        while self.count and (used < budget or not out):
            line = self._f.readline()
            if not line.endswith(b"\n"):
                break
            self._read_at += len(line)
            used += len(line)
            self.count -= 1
            self.bytes -= len(line)
            out.append(_parse_line(line))
        if self.count == 0:
            self._f.seek(0)
            self._f.truncate()
            self._read_at = 0
            self.bytes = 0
        else:
            self.first_seq = out[-1].seq + 1 if out else self.first_seq
        return out

    def peek_all(self) -> Iterator[Message]:
        """Every message still queued, in order, without taking them."""
        self._f.flush()
        with open(self.path, "rb") as f:
            f.seek(self._read_at)
            for line in f:
                if line.endswith(b"\n"):
                    yield _parse_line(line)

    def points(self) -> int:
        return sum(m.points for m in self.peek_all())

    def close(self) -> None:
        _close_and_remove(self._f, self.path)


def _close_and_remove(f: IO[bytes], path: str) -> None:
    try:
        f.close()
    except OSError:
        pass
    try:
        os.unlink(path)
    except OSError:
        pass


def _parse_line(line: bytes) -> Message:
    seq, points, text = line.rstrip(b"\n").split(b" ", 2)
    return Message(int(seq), text.decode("utf-8"), int(points))


class SpoolKeeper:
    """A run's spool across folders: the configured one first, then the fallbacks (a full disk).

    `unacked()` gives every message the collector has not acknowledged, in seq order: a file
    opened (or reopened elsewhere) starts with the run.start, then those.
    """

    def __init__(self, run_id: str, dirs: List[str], unacked: Callable[[], Iterable[Message]], warn: Callable[[str, str], None]) -> None:
        self.run_id = run_id
        self.dirs = dirs
        self.start_text = ""
        self.file: Optional[SpoolFile] = None
        self.final_path: Optional[str] = None
        self.errors: List[str] = []
        self.retry_at = 0.0
        self._unacked = unacked
        self._warn = warn
        self._index = 0
        self._touched = 0.0

    def where(self) -> str:
        return self.file.path if self.file is not None else f"cannot be written: {'; '.join(self.errors[-3:])}"

    def catch_up(self) -> bool:
        """Opens the file if needed and writes every unacknowledged message it lacks."""
        if self.file is None:
            return self._open()
        return self.write(self._unacked())

    def write(self, items: Iterable[Message]) -> bool:
        f = self.file
        if f is None:
            return False
        try:
            f.append(items)
            return True
        except OSError as e:
            # This folder's disk is full (or gone): drop the file (all it held is in memory) and go on in the next.
            self.errors.append(f"{f.folder}: {e}")
            f.discard()
            self.file = None
            self._index += 1
            return self._open()

    def _open(self) -> bool:
        while self._index < len(self.dirs):
            d = self.dirs[self._index]
            f: Optional[SpoolFile] = None
            try:
                f = SpoolFile(d, self.run_id)
                f.append(self._unacked(), start_text=self.start_text)
            except OSError as e:
                self.errors.append(f"{d}: {e}")
                if f is not None:
                    f.discard()
                self._index += 1
                continue
            if self._index > 0:
                self._warn("spool-moved", f"runwatch: the spool folder {self.dirs[0]} cannot be written ({self.errors[-1]}); spooling to {f.path} instead.")
            self.file = f
            return True
        # Every folder failed: start over later (space may come back).
        self._index = 0
        self.retry_at = time.monotonic() + REOPEN_EVERY_S
        return False

    def touch_if_due(self, now: float) -> None:
        if self.file is not None and now - self._touched > TOUCH_EVERY_S:
            self._touched = now
            self.file.touch()

    def drop(self) -> None:
        """The collector holds everything in the file: remove it."""
        if self.file is not None:
            self.file.discard()
            self.file = None

    def finish(self) -> Optional[str]:
        """Writes what the file lacks and hands it to the importer; its path, or None (see `errors`)."""
        if self.file is None:
            self._index = 0
        if not self.catch_up() or self.file is None:
            return None
        try:
            self.final_path = self.file.finish()
        except OSError as e:
            self.errors.append(f"{self.file.folder}: {e}")
            self.file.discard()
            return None
        finally:
            self.file = None
        return self.final_path
