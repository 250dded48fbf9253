"""The Python client's AMQP transport, without a broker (the broker tests are test_amqp.py): pika is
imported only for amqp:// URLs, the group and node tags of a distributed job's ranks, the URL's own
parameters, and the rule that nothing after a message the broker did not take is counted as held."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, List

import pytest

from backend_helpers import CLIENT_DIR

sys.path.insert(0, CLIENT_DIR)
from runwatch import _amqp  # noqa: E402


def test_the_standard_library_stays_the_default_pika_only_for_amqp(tmp_path) -> None:
    code = "import sys, runwatch; r = runwatch.init(project='p', url='ws://127.0.0.1:9/'); r.finish(); print('pika' in sys.modules)"
    env = dict(os.environ, PYTHONPATH=CLIENT_DIR, RUNWATCH_SPOOL_DIR=str(tmp_path), RUNWATCH_FLUSH_TIMEOUT="1", RUNWATCH_GRACE_SECONDS="0.5", RUNWATCH_SYSTEM_INTERVAL="0")
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert res.stdout.strip() == "False", res.stderr


def test_group_and_node_tags() -> None:
    assert _amqp.group_tags({}) == {}
    tor = _amqp.group_tags({"RANK": "3", "TORCHELASTIC_RUN_ID": "job-7", "MASTER_ADDR": "a", "MASTER_PORT": "1"})
    assert tor["group"] == "job-7" and tor["node"]
    assert _amqp.group_tags({"RANK": "0", "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29500"})["group"] == "10.0.0.1:29500"
    assert _amqp.group_tags({"RANK": "0", "RUNWATCH_GROUP": "mine", "TORCHELASTIC_RUN_ID": "x", "RUNWATCH_NODE": "n1"}) == {"group": "mine", "node": "n1"}
    assert "group" not in _amqp.group_tags({"LOCAL_RANK": "0", "TORCHELASTIC_RUN_ID": "none"})


def test_url_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNWATCH_AMQP_EXCHANGE", raising=False)
    monkeypatch.delenv("RUNWATCH_AMQP_PASSWORD", raising=False)
    assert _amqp.split_url("amqp://u:p@h:5672/v?exchange=x&heartbeat=5") == ("amqp://u:p@h:5672/v?heartbeat=5", "x")
    assert _amqp.split_url("amqp://h/")[1] == "runwatch"
    monkeypatch.setenv("RUNWATCH_AMQP_PASSWORD", "s3cr@t/")
    assert _amqp.split_url("amqp://u@h:5672/")[0] == "amqp://u:s3cr%40t%2F@h:5672/"
    assert _amqp.is_amqp("amqps://h") and not _amqp.is_amqp("ws://h") and not _amqp.is_amqp(None)
    assert _amqp.routing_key("vision.big run", "r1") == "vision_big_run.r1"


class FakeExceptions:
    class UnroutableError(Exception):
        pass

    class NackError(Exception):
        pass


class FakePika:
    exceptions = FakeExceptions

    class BasicProperties:
        def __init__(self, **kw: Any) -> None:
            self.kw = kw


class FakeChannel:
    def __init__(self) -> None:
        self.published: List[Any] = []
        self.refuse: set = set()

    def basic_publish(self, exchange: str, key: str, body: bytes, props: Any, mandatory: bool) -> None:
        seq = props.kw["headers"].get("runwatch-seq")
        if seq in self.refuse:
            self.refuse.discard(seq)
            raise FakeExceptions.UnroutableError([])
        self.published.append((exchange, key, seq, props.kw["headers"], mandatory, props.kw["delivery_mode"]))


def link_with(ch: FakeChannel) -> _amqp.AmqpLink:
    link = _amqp.AmqpLink("amqp://h/?exchange=ex", "run-1", "proj")
    link._pika = FakePika
    link._ch = ch
    link._conn = object()
    return link


def metrics(seq: int) -> str:
    return '{"type":"metrics","runId":"run-1","seq":%d,"cols":{"keys":["a"],"k":[0],"v":[1],"s":[0],"t":[1]}}' % seq


def test_a_refused_message_holds_back_the_ones_after_it_until_resent() -> None:
    ch = FakeChannel()
    link = link_with(ch)
    ch.refuse.add(3)
    for seq in (2, 3, 4, 5):
        link.queue_text(metrics(seq))
    link.queue_text('{"type":"heartbeat","time":1}')  # never published
    inbox = [json.loads(t) for t in link._inbox]
    assert [(m["type"], m["seq"]) for m in inbox] == [("ack", 2), ("error", 3)]
    assert inbox[1]["code"] == "internal" and "no queue is bound" in inbox[1]["message"]
    assert [p[2] for p in ch.published] == [2], "4 and 5 wait for 3"
    link._inbox.clear()
    for seq in (3, 4, 5):  # the sender's resend, from the refused seq
        link.queue_text(metrics(seq))
    assert [json.loads(t)["seq"] for t in link._inbox] == [3, 4, 5]
    ex, key, _, headers, mandatory, mode = ch.published[-1]
    assert (ex, key, mandatory, mode) == ("ex", "proj.run-1", True, 2)
    assert headers == {"runwatch-protocol": 1, "runwatch-run-id": "run-1", "runwatch-seq": 5}


def test_seq_of_a_control_message_is_its_own_not_a_nested_one() -> None:
    ch = FakeChannel()
    link = link_with(ch)
    link.queue_text(json.dumps({"type": "params", "runId": "run-1", "params": {"seq": 99}, "seq": 7}))
    assert ch.published[0][2] == 7


def test_without_pika_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pika", None)
    link = _amqp.AmqpLink("amqp://h/", "r", "p")
    with pytest.raises(Exception, match="pip install pika"):
        link.connect()
