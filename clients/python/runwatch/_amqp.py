"""Protocol v1 over AMQP (RabbitMQ), for runs on machines that cannot reach the editor's collector.

`RUNWATCH_URL=amqp://user:password@rabbit:5672/vhost` (or `runwatch.init(url=...)`) makes the sender
publish every message to a topic exchange instead of a WebSocket; batching, seq numbering, memory
bound, overflow and spool stay the sender's. `AmqpLink` has the few methods the sender uses on a
WebSocket, so the sender needs no second code path:

- connect(): opens the connection and a channel in publisher-confirm mode, declares the exchange,
  and answers with a welcome (the limits a frame may use).
- queue_text(text): publishes one message (persistent, mandatory) and waits for the broker's
  confirm; then it reports `ack {seq}`, which to the sender means "held": the message is on a
  durable queue. A message no queue takes (no consumer has declared its queue yet) or that the broker
  refuses is reported as an `internal` error for its seq, so the sender keeps it and resends after a
  backoff; the messages after it wait for that resend, so acks stay in seq order.
- poll(timeout): runs the connection's I/O (AMQP heartbeats) and returns what queue_text produced.

`pika` is imported here only, when an amqp:// URL is used: the client's core needs nothing outside
the standard library. The message format and headers: docs/protocol.md, "Protocol v1 over AMQP".
"""

from __future__ import annotations

import json
import os
import re
import socket
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from ._protocol import PROTOCOL_VERSION, dumps
from ._ws import WebSocketError

SCHEMES = ("amqp", "amqps")
DEFAULT_EXCHANGE = "runwatch"
HEADER_PROTOCOL = "runwatch-protocol"
HEADER_RUN_ID = "runwatch-run-id"
HEADER_SEQ = "runwatch-seq"
# One message may carry this many points (the source's default limit is 100,000) and bytes.
MAX_BATCH_POINTS = 50_000
MAX_FRAME_BYTES = 8 << 20
_METRICS_PREFIX = '{"type":"metrics","runId":'
_SEQ = re.compile(r'"seq":(\d+)')


def is_amqp(url: Optional[str]) -> bool:
    return bool(url) and urlsplit(str(url)).scheme in SCHEMES


def routing_key(project: str, run_id: str) -> str:
    """`<project>.<run id>`, dots and spaces in the project as "_" (a topic binding can match a project)."""
    return re.sub(r"[.\s]", "_", project) + "." + run_id


def group_tags(env: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """For one rank of a distributed job: the node it runs on and a group id every rank shares.

    The group comes from RUNWATCH_GROUP, else TORCHELASTIC_RUN_ID (torchrun), else SLURM_JOB_ID,
    else MASTER_ADDR:MASTER_PORT (every rank of one job sees the same rendezvous). Empty outside one.
    """
    e = os.environ if env is None else env
    if e.get("RANK") is None and e.get("LOCAL_RANK") is None and not e.get("RUNWATCH_GROUP"):
        return {}
    group = e.get("RUNWATCH_GROUP") or e.get("TORCHELASTIC_RUN_ID") or e.get("SLURM_JOB_ID")
    if not group and e.get("MASTER_ADDR"):
        group = f"{e['MASTER_ADDR']}:{e.get('MASTER_PORT', '')}"
    tags = {"node": e.get("RUNWATCH_NODE") or socket.gethostname()}
    if group and group != "none":
        tags["group"] = group
    return tags


def split_url(url: str) -> "tuple[str, str]":
    """The broker URL pika takes, and the exchange (`?exchange=` in the URL, else RUNWATCH_AMQP_EXCHANGE).

    RUNWATCH_AMQP_PASSWORD, when set, is the password (so RUNWATCH_URL, which warnings print, holds none).
    """
    parts = urlsplit(url)
    password = os.environ.get("RUNWATCH_AMQP_PASSWORD")
    if password and parts.username is not None and parts.password is None:
        host = parts.netloc.rsplit("@", 1)[-1]
        parts = parts._replace(netloc=f"{parts.username}:{quote(password, safe='')}@{host}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    exchange = os.environ.get("RUNWATCH_AMQP_EXCHANGE") or DEFAULT_EXCHANGE
    kept = []
    for k, v in query:
        if k == "exchange":
            exchange = v
        else:
            kept.append((k, v))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), "")), exchange


def _seq_of(text: str) -> Optional[int]:
    if text.startswith(_METRICS_PREFIX):  # the encoder's own layout: seq right after the run id
        m = _SEQ.search(text, 0, 300)
        return int(m.group(1)) if m else None
    try:
        seq = json.loads(text).get("seq")
    except ValueError:
        return None
    return seq if isinstance(seq, int) else None


class AmqpLink:
    """A publisher with confirms that the sender drives like its WebSocket (see the module text)."""

    def __init__(self, url: str, run_id: str, project: str, timeout: float = 5.0) -> None:
        self.url, self.exchange = split_url(url)
        self.run_id = run_id
        self.key = routing_key(project, run_id)
        self.timeout = timeout
        self.out_bytes = 0  # publishing is synchronous: nothing waits in a buffer
        self._conn: Any = None
        self._ch: Any = None
        self._inbox: List[str] = []
        # After a seq the broker did not take, later ones are not published until it is resent.
        self._held_back: Optional[int] = None
        self._pika: Any = None

    def connect(self) -> None:
        try:
            import pika  # noqa: PLC0415 - optional: only amqp:// URLs need it
        except ImportError:
            raise WebSocketError("RUNWATCH_URL is an amqp:// URL but the pika package is not installed: pip install pika") from None
        self._pika = pika
        try:
            params = pika.URLParameters(self.url)
            params.socket_timeout = self.timeout
            params.blocked_connection_timeout = max(self.timeout, 30.0)
            if "heartbeat=" not in self.url:
                params.heartbeat = 30
            self._conn = pika.BlockingConnection(params)
            self._ch = self._conn.channel()
            self._ch.exchange_declare(self.exchange, exchange_type="topic", durable=True)
            self._ch.confirm_delivery()
        except Exception as e:  # noqa: BLE001 - every pika failure means "no broker now"
            self.abort()
            raise WebSocketError(f"cannot publish to {self._shown()}: {e!r}") from None
        limits = {"maxBatchPoints": MAX_BATCH_POINTS, "maxFrameBytes": MAX_FRAME_BYTES}
        self._inbox.append(dumps({"type": "welcome", "protocol": PROTOCOL_VERSION, "limits": limits, "heartbeatIntervalMs": 60_000}))

    def _shown(self) -> str:
        p = urlsplit(self.url)
        host = p.hostname or "?"
        return f"{p.scheme}://{host}:{p.port or 5672}{p.path or '/'} (exchange {self.exchange})"

    def send_text(self, text: str) -> None:
        """The hello: the broker authenticated the connection already; nothing to send."""

    def queue_text(self, text: str) -> None:
        if text.startswith('{"type":"heartbeat"'):
            return  # a consumer's store has no use for the client's liveness beats
        if self._ch is None:
            raise WebSocketError("not connected")
        seq = _seq_of(text)
        if seq is not None and self._held_back is not None:
            if seq > self._held_back:
                return
            self._held_back = None
        pika = self._pika
        headers: Dict[str, Any] = {HEADER_PROTOCOL: PROTOCOL_VERSION, HEADER_RUN_ID: self.run_id}
        if seq is not None:
            headers[HEADER_SEQ] = seq
        props = pika.BasicProperties(content_type="application/json", delivery_mode=2, headers=headers)
        try:
            self._ch.basic_publish(self.exchange, self.key, text.encode("utf-8"), props, mandatory=True)
        except (pika.exceptions.UnroutableError, pika.exceptions.NackError) as e:
            self._refused(seq, "no queue is bound to take it yet" if isinstance(e, pika.exceptions.UnroutableError) else "the broker refused it")
            return
        except Exception as e:  # noqa: BLE001 - a lost connection or channel
            self.abort()
            raise WebSocketError(f"publishing to {self._shown()} failed: {e!r}") from None
        if seq is not None:
            self._inbox.append(f'{{"type":"ack","runId":{json.dumps(self.run_id)},"seq":{seq}}}')

    def _refused(self, seq: Optional[int], why: str) -> None:
        if seq is None:
            return
        self._held_back = seq
        msg = {"type": "error", "code": "internal", "runId": self.run_id, "seq": seq, "message": f"{self._shown()}: {why}"}
        self._inbox.append(dumps(msg))

    def poll(self, timeout: float) -> List[str]:
        if self._conn is None:
            raise WebSocketError("not connected")
        if not self._inbox:
            try:
                self._conn.process_data_events(time_limit=timeout)
            except Exception as e:  # noqa: BLE001
                self.abort()
                raise WebSocketError(f"lost {self._shown()}: {e!r}") from None
        out, self._inbox = self._inbox, []
        return out

    def close(self, code: int = 1000, reason: str = "") -> None:
        self.abort()

    def abort(self) -> None:
        conn, self._conn, self._ch = self._conn, None, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection may fail too
                pass
