"""The sender thread: encodes what `log()` queued, sends it, keeps every message until an ack
covers it, resends after reconnects and refusals, and writes to disk what the collector cannot take.

What an ack means to this client: `ack {seq: N}` says every seq up to N of the run is durable in
the collector's store (or was refused for its content, with an error already sent). Only then is
a message dropped from memory. A `storage`, `internal`, `unknown_run` or `seq_gap` error means "not
held": the client backs off (RETRY_FIRST_S doubling to RETRY_MAX_S) and resends from that seq, in
order. Memory is bounded (RUNWATCH_MAX_BUFFER_MB); past the bound, messages wait in the overflow
FIFO on disk. While no collector is reachable every message also goes to the spool file as it is
made, so a kill -9 loses at most what was logged in the last wake-up.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from typing import Any, Callable, Deque, Dict, Iterator, List, Optional

from . import _amqp, _context, _discovery
from ._protocol import RESEND_CODES, FrameEncoder, Message, dumps, heartbeat, hello, parse_json
from ._spool import Overflow, SpoolKeeper, candidate_dirs
from ._ws import WebSocket, WebSocketClosed, WebSocketError

# How often the sender wakes to send what was logged: short enough that a live chart lags training
# by tens of milliseconds (and a kill -9 without a collector loses no more), long enough that
# batches stay large and wake-ups cheap.
SEND_INTERVAL_S = 0.02
# A queue that grew by more than this many items (3 per log call) within one wake-up means a hot
# logging loop: the sender waits (at most BURST_DEFER_S) instead of competing for the GIL.
BURST_ITEMS = 3 * 4_000
BURST_DEFER_S = 0.5
# Frames handed to the socket but not yet taken by it: above this, new ones wait in memory.
OUT_LIMIT = 1 << 20
RETRY_FIRST_S = 0.5  # after a refusal (storage, seq_gap, ...): back off, doubling to RETRY_MAX_S
RETRY_MAX_S = 5.0
REOPEN_EVERY_S = 5.0  # an overflow folder that could not be written is tried again this often

_time = time.time
_monotonic = time.monotonic

Warn = Callable[[str, str], None]


class Sender:
    def __init__(
        self,
        run_id: str,
        start_msg: Dict[str, Any],
        queue: Deque[Any],
        target: "_discovery.Target",
        flush_timeout: float,
        grace_seconds: float,
        max_buffer_bytes: int,
        warn: Warn,
        error: Callable[[str], None],
        encoder: FrameEncoder,
        version: str,
    ) -> None:
        self.run_id = run_id
        self._start_msg = start_msg
        self._start_text = ""
        self._queue = queue
        self.url: Optional[str] = target.url
        self.token: str = target.token or ""
        self.url_source = target.source
        # The discovery file to re-read on every reconnect attempt (None: an explicit url=, or none found yet).
        self.follow: Optional[str] = target.follow
        # A broker URL names where runs go on purpose: never swapped for a local collector's discovery file.
        self._may_follow = target.source != "argument" and not _amqp.is_amqp(target.url)
        self._cwd = os.getcwd() if self._may_follow else None
        self.spool_dirs = candidate_dirs(target.spool_dir)
        self.flush_timeout = flush_timeout
        self.grace_seconds = grace_seconds
        self.max_bytes = max_buffer_bytes
        self._warn = warn
        self._error = error
        self._enc = encoder
        self._version = version

        self._mem: Deque[Message] = collections.deque()  # unacknowledged, in seq order
        self._mem_bytes = 0
        self._overflow: Optional[Overflow] = None
        self._overflow_retry_at = 0.0
        self._next_send = 1  # the next seq to hand to the socket
        self._send_after = 0.0  # a refusal's backoff
        self._retry_backoff = RETRY_FIRST_S
        self.acked_seq = 0
        self.acked_points = 0
        self.on_ack: Optional[Callable[[int, int], None]] = None

        self.ws: Optional[WebSocket] = None
        self._refused = False  # the token was refused: only a changed discovery file is tried
        self._disconnected_since: Optional[float] = None
        self._next_attempt = 0.0
        self._backoff = 0.1
        self._last_sent = 0.0
        self._heartbeat_every = 5.0

        self._spool = SpoolKeeper(run_id, self.spool_dirs, self._all_unacked, warn)
        self._spooling = False  # every new message goes to the spool file too
        self.lost_points = 0

        self.finish_deadline: Optional[float] = None
        self.interrupted = False
        self.done = threading.Event()
        self.wake = threading.Event()
        self._qlen_seen = 0
        self._burst_since: Optional[float] = None
        self._next_batch = 0.0  # when the queue is encoded next (every SEND_INTERVAL_S)

    # ------------------------------------------------------------------ loop

    def main(self) -> None:
        failures = 0
        try:
            self._begin()
            while True:
                try:
                    if self._step():
                        return
                    failures = 0
                except Exception as e:  # noqa: BLE001 - the sender must never die: nothing is dropped
                    failures += 1
                    self._warn("internal", f"runwatch: internal error in the sender thread ({e!r}); it goes on, no data is dropped.")
                    if failures > 50 and self.finish_deadline is not None:
                        self._final_spool(f"the sender thread kept failing ({e!r})")
                        return
                    time.sleep(SEND_INTERVAL_S)
        finally:
            if self.ws is not None:
                self.ws.abort()
            if self._overflow is not None:
                self._overflow.close()
            self.done.set()

    def _begin(self) -> None:
        self._start_msg["context"] = {**_context.collect(), **self._start_msg.get("context", {})}
        group = _amqp.group_tags()  # ranks of one distributed job: node and a shared group id
        if group:
            self._start_msg["tags"] = {**group, **self._start_msg.get("tags", {})}
        self._start_text = dumps(self._start_msg)
        self._spool.start_text = self._start_text
        self._add([Message(1, self._start_text, 0)])
        if self.url:
            self._disconnected_since = _monotonic()
            self._try_connect()
        else:
            self._rediscover()
            if self.url:
                self._try_connect()
            else:
                self._go_offline(None)
                self._warn("connect", "runwatch: no Runwatch collector found (no url=, no RUNWATCH_URL, no .runwatch/collector.json); "
                           f"writing this run to the spool as it goes ({self._spool.where()}), and looking for a collector.")
                self._schedule_retry()

    def _step(self) -> bool:
        # 1. Wait a little for acks or a wake-up, reading what the collector sends.
        ws = self.ws
        if ws is not None:
            try:
                # Until the next batch is due: an ack wakes this early, and encoding then would send a
                # small frame per ack (a ping-pong of tiny frames, each a wake-up and a syscall or two).
                wait = self._next_batch - _monotonic()
                if wait > 0 and self._queue and self.finish_deadline is None and not self.interrupted:
                    # Points keep coming: acks are read with the next batch, not as each lands (a
                    # wake-up takes the GIL from the training thread, and a thread switch costs it more).
                    self.wake.wait(min(SEND_INTERVAL_S, wait))
                    self.wake.clear()
                    wait = 0.0
                for text in ws.poll(min(SEND_INTERVAL_S, max(0.0, wait))):
                    self._on_message(text)
            except WebSocketClosed as e:
                self._on_closed(e)
            except WebSocketError as e:
                self._on_lost(str(e))
        else:
            self.wake.wait(SEND_INTERVAL_S)
            self.wake.clear()
        # 2. Encode what the training thread queued; while it logs in a burst, stay out of its way
        # (the GIL) for up to BURST_DEFER_S.
        qlen = len(self._queue)
        now = _monotonic()
        if now < self._next_batch and self.finish_deadline is None and not self.interrupted:
            pass  # woken early (an ack): the batch waits for its time
        elif qlen - self._qlen_seen > BURST_ITEMS and self.finish_deadline is None and not self.interrupted and now - (self._burst_since or now) < BURST_DEFER_S:
            if self._burst_since is None:
                self._burst_since = now
            self._qlen_seen = qlen
            self._next_batch = now + SEND_INTERVAL_S
        else:
            self._burst_since = None
            self._next_batch = now + SEND_INTERVAL_S
            fresh = self._enc.encode(self._queue, len(self._queue) // 3)
            self._qlen_seen = len(self._queue)
            if fresh:
                self._add(fresh)
        self._refill()
        now = _monotonic()
        # 3. Send, keep the connection (reconnect with backoff, re-reading the discovery file).
        if self.ws is not None:
            self._send_pending(now)
        elif now >= self._next_attempt:
            self._attempt()
        if self._spooling and self._spool.file is None and now >= self._spool.retry_at:
            self._spool.catch_up()
        # 4. Heartbeats while idle; the spool file's mtime says its writer lives.
        if self.ws is not None and now - self._last_sent > self._heartbeat_every:
            self._queue_raw(heartbeat(_time(), (self.run_id,)))
        self._spool.touch_if_due(now)
        # 5. Finishing: done when everything is acknowledged, or written to the spool.
        return self.finish_deadline is not None and not self._queue and self._finished(now)

    def _finished(self, now: float) -> bool:
        assert self.finish_deadline is not None
        if self.interrupted:
            self._final_spool("interrupted (Ctrl+C) while waiting for the collector")
            return True
        if not self._mem and not (self._overflow and self._overflow.count):
            if self.ws is not None:
                self.ws.close(1000, "run finished")
                self.ws = None
            self._spool.drop()
            return True
        if self.ws is None:
            if not self.url:
                self._final_spool("no Runwatch collector found")
                return True
            if self._refused:
                self._final_spool(f"the collector at {self.url} did not accept the token")
                return True
            if self._disconnected_since is not None and now - self._disconnected_since > self.grace_seconds:
                self._final_spool(f"the collector at {self.url} stayed unreachable for {self.grace_seconds:g} s")
                return True
        if now >= self.finish_deadline:
            self._final_spool(f"the collector had not acknowledged everything within {self.flush_timeout:g} s of finish()")
            return True
        return False

    # ------------------------------------------------------------------ memory, overflow

    def _add(self, fresh: List[Message]) -> None:
        if self._spooling:
            self._spool.write(fresh)
        ov = self._overflow
        if (ov is None or not ov.count) and self._mem_bytes < self.max_bytes:
            for m in fresh:
                self._mem.append(m)
                self._mem_bytes += len(m.text)
            return
        if ov is None and _monotonic() >= self._overflow_retry_at:
            ov = self._open_overflow()
        if ov is None:  # no disk for it either: memory above the bound beats losing data
            for m in fresh:
                self._mem.append(m)
                self._mem_bytes += len(m.text)
            return
        try:
            ov.push(fresh)
        except OSError as e:
            self._warn("overflow-write", f"runwatch: writing the overflow file {ov.path} failed ({e}); keeping data in memory above the bound.")
            for m in fresh:
                self._mem.append(m)
                self._mem_bytes += len(m.text)

    def _open_overflow(self) -> Optional[Overflow]:
        errors = []
        for d in self.spool_dirs:
            try:
                self._overflow = Overflow(d, self.run_id)
                self._warn(
                    "overflow",
                    f"runwatch: the collector is behind and {self.max_bytes / 2**20:g} MiB of data wait in memory "
                    f"(RUNWATCH_MAX_BUFFER_MB); further data waits in {self._overflow.path} until it catches up (shown once).",
                )
                return self._overflow
            except OSError as e:
                errors.append(f"{d}: {e}")
        self._overflow_retry_at = _monotonic() + REOPEN_EVERY_S
        self._warn("overflow-open", f"runwatch: no folder for the overflow file could be written ({'; '.join(errors)}); keeping data in memory above the bound.")
        return None

    def _refill(self) -> None:
        ov = self._overflow
        while ov is not None and ov.count and self._mem_bytes < self.max_bytes * 3 // 4:
            for m in ov.pop(max(1 << 16, self.max_bytes // 4)):
                self._mem.append(m)
                self._mem_bytes += len(m.text)

    def _all_unacked(self) -> Iterator[Message]:
        yield from list(self._mem)
        if self._overflow is not None and self._overflow.count:
            yield from self._overflow.peek_all()

    def _unacked_counts(self) -> "tuple[int, int]":
        msgs = points = 0
        for m in self._all_unacked():
            msgs += 1
            points += m.points
        return msgs, points

    # ------------------------------------------------------------------ sending, acks, errors

    def _send_pending(self, now: float) -> None:
        ws = self.ws
        mem = self._mem
        if ws is None or now < self._send_after or not mem:
            return
        first = mem[0].seq
        if self._next_send < first:
            self._next_send = first
        i = self._next_send - first
        try:
            while i < len(mem) and ws.out_bytes < OUT_LIMIT:
                ws.queue_text(mem[i].text)
                i += 1
                self._last_sent = now
        except WebSocketError as e:
            self._on_lost(str(e))
        self._next_send = first + i

    def _queue_raw(self, text: str) -> None:
        if self.ws is None:
            return
        try:
            self.ws.queue_text(text)
            self._last_sent = _monotonic()
        except WebSocketError as e:
            self._on_lost(str(e))

    def _on_message(self, text: str) -> None:
        msg = parse_json(text)
        kind = msg.get("type")
        if kind == "ack":
            seq = msg.get("seq")
            if msg.get("runId") != self.run_id or not isinstance(seq, int):
                return
            popped = False
            mem = self._mem
            while mem and mem[0].seq <= seq:
                m = mem.popleft()
                self._mem_bytes -= len(m.text)
                self.acked_points += m.points
                popped = True
            if seq > self.acked_seq:
                self.acked_seq = seq
                self._retry_backoff = RETRY_FIRST_S
            self._refill()
            f = self._spool.file
            if f is not None and not self._spooling and self.acked_seq >= f.last_seq:
                self._spool.drop()  # the collector holds everything the spool file has
            hook = self.on_ack
            if popped and hook is not None:
                try:
                    hook(self.acked_seq, self.acked_points)
                except Exception:  # noqa: BLE001
                    pass
        elif kind == "error":
            code = str(msg.get("code", "unknown"))
            seq = msg.get("seq")
            if code in RESEND_CODES and isinstance(seq, int) and msg.get("runId") in (None, self.run_id):
                self._refusal(code, seq, msg)
                return
            where = f" (seq {seq})" if seq is not None else ""
            self._warn("server-" + code, f"runwatch: the collector reported {code}{where}: {msg.get('message', '')}")

    def _refusal(self, code: str, seq: int, msg: Dict[str, Any]) -> None:
        """The collector did not hold `seq`: send it (and what follows) again after a backoff."""
        expected = msg.get("expected")
        start = expected if code == "seq_gap" and isinstance(expected, int) else seq
        if start <= self.acked_seq:
            return
        now = _monotonic()
        self._next_send = min(self._next_send, start)
        if now >= self._send_after:  # one backoff step per round of refusals
            self._send_after = now + self._retry_backoff
            self._retry_backoff = min(self._retry_backoff * 2, RETRY_MAX_S)
        if code == "unknown_run":
            self._queue_raw(self._start_text)
        what = "the collector's disk refused data" if code in ("storage", "seq_gap") else f"the collector did not store seq {seq} ({code})"
        self._warn(
            "refused",
            f"runwatch: {what} ({code} at seq {seq}: {msg.get('message', '')}); it is kept in memory "
            "(and spooled at exit if still refused) and will be resent (shown once).",
        )

    # ------------------------------------------------------------------ connection

    def _attempt(self) -> None:
        self._rediscover()
        if self.url and not self._refused:
            self._try_connect()
        else:
            self._schedule_retry()

    def _try_connect(self) -> None:
        assert self.url is not None
        # While finishing, an attempt must not outlast finish()'s deadline (the spool comes after it).
        budget = 10.0 if self.finish_deadline is None else max(0.2, self.finish_deadline - _monotonic())
        ws: Any = (
            _amqp.AmqpLink(self.url, self.run_id, str(self._start_msg.get("project", "")), timeout=min(5.0, budget))
            if _amqp.is_amqp(self.url)
            else WebSocket(self.url, timeout=min(5.0, budget))
        )
        try:
            ws.connect()
            ws.send_text(hello(self.token, self._version))
            deadline = _monotonic() + budget
            welcome = None
            while welcome is None:
                if _monotonic() > deadline:
                    raise WebSocketError(f"no welcome from the collector within {budget:g} s of hello")
                for text in ws.poll(0.1):
                    msg = parse_json(text)
                    if msg.get("type") == "welcome":
                        welcome = msg
                        break
                    if msg.get("type") == "error" and msg.get("code") == "not_authenticated":
                        raise WebSocketClosed(1008, str(msg.get("message", "")))
        except WebSocketClosed as e:
            ws.abort()
            self._on_closed(e)
            return
        except WebSocketError as e:
            ws.abort()
            self._go_offline(f"cannot reach the collector at {self.url} ({e})")
            self._schedule_retry()
            return
        limits = welcome.get("limits")
        self._enc.set_limits(limits if isinstance(limits, dict) else {})
        hb = welcome.get("heartbeatIntervalMs")
        if isinstance(hb, (int, float)) and hb > 0:
            self._heartbeat_every = max(0.2, hb / 1000.0)
        self.ws = ws
        if self._disconnected_since is not None and self.acked_seq > 0:
            n, _ = self._unacked_counts()
            self._warn("reconnected", f"runwatch: reconnected to the collector at {self.url}; resending {n} unacknowledged messages (shown once).")
        self._disconnected_since = None
        self._backoff = 0.1
        self._spooling = False  # the spool file stays until the collector acknowledges what it holds
        self._refill()
        # The run.start always goes first on a new connection, so the collector knows the run even
        # if it restarted; it drops the seqs it already holds.
        if not self._mem or self._mem[0].seq != 1:
            self._queue_raw(self._start_text)
        self._next_send = self._mem[0].seq if self._mem else self._enc.seq + 1
        self._send_after = 0.0
        self._send_pending(_monotonic())

    def _schedule_retry(self) -> None:
        if self._disconnected_since is None:
            self._disconnected_since = _monotonic()
        self._next_attempt = _monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, 2.0)

    def _rediscover(self) -> bool:
        """Reads the discovery file again: VS Code restarted (a reload) and its collector listens on a
        new port with a new token. Switches to it; the run goes on there (the collector drops seqs it holds)."""
        if not self._may_follow:
            return False
        try:
            if self.follow is None:
                self.follow = _discovery.find_discovery_file(self._cwd)
                if self.follow is None:
                    return False
            found = _discovery.moved(self.follow, self.url, self.token)
        except Exception:  # noqa: BLE001 - never let a bad file stop the sender
            return False
        if found is None:
            return False
        old = self.url
        self.url, self.token = found
        self.url_source = self.follow
        self._refused = False
        self._backoff = 0.1
        self._next_attempt = _monotonic()
        self._warn("moved", f"runwatch: the collector moved from {old} to {self.url} ({self.follow}); connecting there (shown once).")
        return True

    def _go_offline(self, why: Optional[str]) -> None:
        """No collector takes data now: from here on every message also goes to the spool file."""
        if self._disconnected_since is None:
            self._disconnected_since = _monotonic()
        if not self._spooling:
            self._spooling = True
            self._spool.catch_up()
        if why is not None:
            self._warn("connect", f"runwatch: {why}; retrying, and writing this run to the spool as it goes ({self._spool.where()}).")

    def _on_lost(self, why: str) -> None:
        if self.ws is not None:
            self.ws.abort()
        self.ws = None
        self._warn("lost", f"runwatch: lost the collector at {self.url} ({why}); reconnecting, nothing is dropped.")
        self._disconnected_since = _monotonic()
        self._go_offline(None)
        self._next_attempt = _monotonic()
        self._backoff = 0.1

    def _on_closed(self, e: WebSocketClosed) -> None:
        if self.ws is not None:
            self.ws.abort()
        self.ws = None
        if e.code != 1008:
            self._on_lost(str(e))
            return
        if self._rediscover():  # a collector restarted on the same port has a new token
            self._go_offline(None)
            return
        self._refused = True
        src = f" (found through {self.url_source})" if self.url_source else ""
        self._go_offline(
            f"the collector at {self.url}{src} refused the token ({e.reason or 'policy violation'}): check RUNWATCH_TOKEN or .runwatch/collector.json"
        )
        self._schedule_retry()

    # ------------------------------------------------------------------ spool

    @property
    def spool_path(self) -> Optional[str]:
        """The final spool file once written, else the one being written, else None."""
        f = self._spool.file
        return self._spool.final_path or (f.path if f is not None else None)

    def _final_spool(self, why: str) -> None:
        """The run is over and the collector did not take everything: the spool file gets the rest."""
        if self.ws is not None:
            self.ws.abort()
            self.ws = None
        msgs, points = self._unacked_counts()
        path = self._spool.finish()
        if path is not None:
            self._warn("spool", f"runwatch: {why}; spooling this run to {path} ({msgs} messages not acknowledged, {points} points; Runwatch imports it when it next runs).")
            return
        self.lost_points = points
        tried = "; ".join(self._spool.errors[-len(self.spool_dirs):]) or "no folder"
        self._error(
            f"runwatch: ERROR: {why}, and no spool folder could be written ({tried}). "
            f"{points} points ({msgs} messages) of run {self.run_id} were LOST; the run is not complete. "
            "Free some disk space or set RUNWATCH_SPOOL_DIR to a writable folder."
        )
