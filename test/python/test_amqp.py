"""Runs through RabbitMQ, with a real broker (Debian's rabbitmq-server, started by the test on
127.0.0.1 with its own node name, ports and data folder, stopped by pid): four ranks of a job in
separate processes publish with the real Python client over amqp://, the headless collector's AMQP
source stores them; every point lands exactly once through a kill -9 of the collector and a stop and
start of the broker, and the queue drains; bad messages go to the dead-letter queue with the reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Dict, Iterator, List

import pytest

from amqp_broker import AmqpCollector, Broker, read_log
from backend_helpers import CLIENT_DIR, wait_for

pytest.importorskip("pika")

RANKS = 4
POINTS = 100_000  # per rank: two keys, 50,000 steps

RANK_SCRIPT = r"""
import os, time
import runwatch
rank = int(os.environ["RANK"])
run = runwatch.init(project="ddp job", name=f"rank{rank}", config={"lr": 0.1})
with open(os.path.join(os.environ["OUT"], f"rank{rank}.id"), "w") as f:
    f.write(run.id)
pause = float(os.environ["PAUSE"])
for step in range(int(os.environ["STEPS"])):
    x = rank * 1e6 + step
    run.log({"a": x, "b": -x / 7}, step=step)
    if step % 1000 == 999:
        time.sleep(pause)
run.finish()
"""


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    b = Broker(str(tmp_path_factory.mktemp("rabbitmq"))).start()
    try:
        yield b
    finally:
        b.stop()


def start_ranks(broker: Broker, out: str, spool: str, pause: float) -> List[subprocess.Popen]:
    procs = []
    for rank in range(RANKS):
        env = dict(os.environ)
        for k in [k for k in env if k.startswith("RUNWATCH_")]:
            del env[k]
        env.update(
            PYTHONPATH=CLIENT_DIR,
            PYTHONUNBUFFERED="1",
            RUNWATCH_URL=broker.url + "?exchange=runwatch",
            RUNWATCH_SPOOL_DIR=spool,
            RUNWATCH_SYSTEM_INTERVAL="0",
            RUNWATCH_FLUSH_TIMEOUT="180",
            RUNWATCH_GRACE_SECONDS="180",
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE=str(RANKS),
            MASTER_ADDR="10.1.2.3",
            MASTER_PORT="29500",
            OUT=out,
            STEPS=str(POINTS // 2),
            PAUSE=str(pause),
        )
        err = open(os.path.join(out, f"rank{rank}.err"), "wb")
        procs.append(subprocess.Popen([sys.executable, "-c", RANK_SCRIPT], env=env, cwd=out, stdin=subprocess.DEVNULL, stdout=err, stderr=err))
    return procs


def wait_ranks(procs: List[subprocess.Popen], out: str) -> None:
    for rank, p in enumerate(procs):
        rc = p.wait(timeout=300)
        with open(os.path.join(out, f"rank{rank}.err"), errors="replace") as f:
            text = f.read()
        assert rc == 0, f"rank {rank} exited {rc}: {text[-3000:]}"


def stored_points(store: str, run_id: str) -> int:
    return sum(len(e["points"]) for e in read_log(store, run_id) if e["type"] == "metrics")


def check_every_point_once(store: str, out: str) -> None:
    groups = set()
    for rank in range(RANKS):
        with open(os.path.join(out, f"rank{rank}.id")) as f:
            run_id = f.read().strip()
        events = read_log(store, run_id)
        starts = [e for e in events if e["type"] == "run.start"]
        assert len(starts) == 1, f"rank {rank}: {len(starts)} run.start records"
        tags = starts[0]["tags"]
        assert tags["rank"] == str(rank) and tags["world_size"] == str(RANKS) and tags["node"], tags
        groups.add(tags["group"])
        assert [e["status"] for e in events if e["type"] == "run.end"] == ["finished"]
        got: Dict[str, Dict[int, float]] = {"a": {}, "b": {}}
        n = 0
        for e in events:
            if e["type"] != "metrics":
                continue
            for p in e["points"]:
                n += 1
                assert p["step"] not in got[p["key"]], f"rank {rank}: {p['key']}@{p['step']} stored twice"
                got[p["key"]][p["step"]] = p["value"]
        assert n == POINTS, f"rank {rank}: {n} points stored, expected {POINTS}"
        for step in range(POINTS // 2):
            x = rank * 1e6 + step
            assert got["a"][step] == x and got["b"][step] == -x / 7, f"rank {rank} step {step}"
    assert groups == {"10.1.2.3:29500"}, groups


def all_stored(store: str, out: str) -> bool:
    try:
        ids = [open(os.path.join(out, f"rank{r}.id")).read().strip() for r in range(RANKS)]
    except OSError:
        return False
    return all(stored_points(store, i) == POINTS and any(e["type"] == "run.end" for e in read_log(store, i)) for i in ids)


def some_stored(store: str) -> bool:
    runs = os.path.join(store, "runs")
    return os.path.isdir(runs) and any(stored_points(store, r) > 0 for r in os.listdir(runs))


def test_four_ranks_every_point_once_through_a_kill9_of_the_collector(broker: Broker, tmp_path) -> None:
    out, store = str(tmp_path / "out"), str(tmp_path / "store")
    os.makedirs(out)
    os.makedirs(tmp_path / "logs")
    collector = AmqpCollector(store, str(tmp_path / "logs"), {"url": broker.url, "queue": "ranks-kill9"}).start()
    try:
        procs = start_ranks(broker, out, str(tmp_path / "spool"), pause=0.05)
        wait_for(lambda: some_stored(store), "the first points in the store", 120)
        assert all(p.poll() is None for p in procs), "the ranks finished before the kill: make them slower"
        collector.kill9()
        time.sleep(0.5)
        collector.start()
        wait_ranks(procs, out)
        wait_for(lambda: all_stored(store, out), "every rank's points in the store", 240)
        check_every_point_once(store, out)
        wait_for(lambda: broker.queue_counts("ranks-kill9") == (0, 1), "the queue to drain", 60)
        assert broker.queue_counts("ranks-kill9.dead") == (0, 0)
    except BaseException:
        print(collector.stderr()[-5000:])
        raise
    finally:
        collector.stop()


def test_every_point_once_through_a_stop_and_start_of_the_broker(broker: Broker, tmp_path) -> None:
    out, store = str(tmp_path / "out"), str(tmp_path / "store")
    os.makedirs(out)
    os.makedirs(tmp_path / "logs")
    collector = AmqpCollector(store, str(tmp_path / "logs"), {"url": broker.url, "queue": "ranks-restart"}).start()
    try:
        procs = start_ranks(broker, out, str(tmp_path / "spool"), pause=0.15)
        wait_for(lambda: some_stored(store), "the first points in the store", 120)
        broker.stop()
        assert all(p.poll() is None for p in procs), "the ranks finished before the broker went away: make them slower"
        time.sleep(1.0)
        broker.start()
        wait_ranks(procs, out)
        wait_for(lambda: all_stored(store, out), "every rank's points in the store", 240)
        check_every_point_once(store, out)
        wait_for(lambda: broker.queue_counts("ranks-restart") == (0, 1), "the queue to drain", 60)
        assert "reconnecting" in collector.stderr()
    except BaseException:
        print(collector.stderr()[-5000:])
        raise
    finally:
        collector.stop()


def test_bad_messages_go_to_the_dead_letter_queue_with_the_reason(broker: Broker, tmp_path) -> None:
    import pika

    store = str(tmp_path / "store")
    os.makedirs(tmp_path / "logs")
    collector = AmqpCollector(store, str(tmp_path / "logs"), {"url": broker.url, "queue": "bad-input", "exchange": "bad-x"}).start()
    conn, ch = broker.channel()
    try:
        ch.confirm_delivery()

        def publish(body: bytes, **headers: object) -> None:
            props = pika.BasicProperties(delivery_mode=2, headers=headers or None)
            ch.basic_publish("bad-x", "p.good", body, props, mandatory=True)

        def msg(**m: object) -> bytes:
            return json.dumps(m).encode()

        publish(msg(type="run.start", runId="good", seq=1, project="p", time=1.0))
        publish(b"{not json")
        publish(msg(type="metrics", runId="good", seq=2, points=[{"key": "x", "value": 9, "step": 0, "time": 1.0}]), **{"runwatch-protocol": 2})
        publish(msg(type="metrics", seq=2, points=[{"key": "x", "value": 9, "step": 0, "time": 1.0}]))
        publish(msg(type="metrics", runId="good", seq=2, points=[{"key": "x", "value": 1.5, "step": 3, "time": 2.0}]))
        publish(msg(type="run.end", runId="good", seq=3, status="finished", time=3.0))

        wait_for(lambda: any(e["type"] == "run.end" for e in read_log(store, "good")), "the good run to end", 60)
        events = read_log(store, "good")
        assert [e["type"] for e in events] == ["run.start", "metrics", "run.end"]
        assert events[1]["points"] == [{"key": "x", "value": 1.5, "step": 3, "time": 2.0}]
        wait_for(lambda: broker.queue_counts("bad-input.dead")[0] == 3, "three dead letters", 30)
        dead = broker.get_all("bad-input.dead")
        reasons = [props.headers["runwatch-reason"] for props, _ in dead]
        if isinstance(reasons[0], bytes):
            reasons = [r.decode() for r in reasons]
        assert "not valid JSON" in reasons[0], reasons
        assert "runwatch-protocol" in reasons[1] and '"2"' in reasons[1], reasons
        assert 'no "runId"' in reasons[2], reasons
        assert dead[0][1] == b"{not json"  # the message as it came, to look at or replay
        assert broker.queue_counts("bad-input") == (0, 1)
    except BaseException:
        print(collector.stderr()[-5000:])
        raise
    finally:
        conn.close()
        collector.stop()


def test_the_backend_publishes_every_event_once_in_seq_order_per_run(broker: Broker, tmp_path) -> None:
    out, store = str(tmp_path / "out"), str(tmp_path / "store")
    os.makedirs(out)
    os.makedirs(tmp_path / "logs")
    backends = {"runwatch.amqp": {"url": broker.url, "exchange": "runwatch-out", "queue": "published"}}
    sources = {"url": broker.url, "queue": "backend-in"}
    collector = AmqpCollector(store, str(tmp_path / "logs"), sources, backends).start()
    try:
        procs = start_ranks(broker, out, str(tmp_path / "spool"), pause=0.0)
        wait_ranks(procs, out)
        wait_for(lambda: all_stored(store, out), "every rank's points in the store", 240)
        ids = [open(os.path.join(out, f"rank{r}.id")).read().strip() for r in range(RANKS)]
        stored = {i: read_log(store, i) for i in ids}
        total = sum(len(v) for v in stored.values())
        wait_for(lambda: broker.queue_counts("published")[0] >= total, f"{total} published messages", 240)
        time.sleep(1.0)  # anything more (a duplicate) would arrive now
        got: Dict[str, List[Dict]] = {}
        for props, body in broker.get_all("published"):
            h = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in props.headers.items()}
            msg = json.loads(body)
            assert h["runwatch-protocol"] == 1 and h["runwatch-run-id"] == msg["runId"] and h["runwatch-seq"] == msg["seq"], h
            got.setdefault(msg["runId"], []).append(msg)
        assert sorted(got) == sorted(ids)
        for run_id, msgs in got.items():
            assert [m["seq"] for m in msgs] == list(range(1, len(stored[run_id]) + 1)), f"{run_id}: every seq once, in order"
            assert [m["type"] for m in msgs] == [e["type"] for e in stored[run_id]]
            pts = [p for m in msgs if m["type"] == "metrics" for p in m["points"]]
            assert len(pts) == POINTS
            assert pts == [p for e in stored[run_id] if e["type"] == "metrics" for p in e["points"]]
    except BaseException:
        print(collector.stderr()[-5000:])
        raise
    finally:
        collector.stop()


def test_messages_published_before_any_queue_is_bound_are_kept_and_resent(broker: Broker, tmp_path) -> None:
    """The exchange exists but no source has bound its queue yet: the broker returns the messages
    (mandatory); the client keeps them and resends once the source comes, so none is lost."""
    out, store = str(tmp_path / "out"), str(tmp_path / "store")
    os.makedirs(out)
    os.makedirs(tmp_path / "logs")
    env = dict(os.environ, PYTHONPATH=CLIENT_DIR, RUNWATCH_URL=broker.url + "?exchange=early-x", RUNWATCH_SPOOL_DIR=str(tmp_path / "spool"),
               RUNWATCH_SYSTEM_INTERVAL="0", RUNWATCH_FLUSH_TIMEOUT="120", OUT=out)
    script = r"""
import os, runwatch
run = runwatch.init(project="early", name="e")
open(os.path.join(os.environ["OUT"], "id"), "w").write(run.id)
for step in range(5000):
    run.log({"v": step * 0.25}, step=step)
run.finish()
"""
    p = subprocess.Popen([sys.executable, "-c", script], env=env, cwd=out, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: os.path.exists(os.path.join(out, "id")), "the run to start", 60)
    time.sleep(1.5)
    assert p.poll() is None, "finish() must wait: nothing was confirmed as held"
    collector = AmqpCollector(store, str(tmp_path / "logs"), {"url": broker.url, "queue": "early-q", "exchange": "early-x"}).start()
    try:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
        assert "no queue is bound" in err, err  # the client said why it waits
        run_id = open(os.path.join(out, "id")).read().strip()
        wait_for(lambda: any(e["type"] == "run.end" for e in read_log(store, run_id)), "the run in the store", 120)
        pts = [pt for e in read_log(store, run_id) if e["type"] == "metrics" for pt in e["points"]]
        assert [(pt["step"], pt["value"]) for pt in pts] == [(s, s * 0.25) for s in range(5000)]
        assert not os.listdir(tmp_path / "spool") if os.path.isdir(tmp_path / "spool") else True
    finally:
        collector.stop()


def test_the_cli_flag_amqp_alone_turns_the_source_on(broker: Broker, tmp_path) -> None:
    """`node dist/collector-cli.js --store <dir> --amqp <url>`: the default exchange and queue (runwatch)."""
    from backend_helpers import CLI

    store, out = str(tmp_path / "store"), str(tmp_path / "out")
    os.makedirs(out)
    err_path = str(tmp_path / "collector.err")
    with open(err_path, "wb") as fe:
        proc = subprocess.Popen(["node", CLI, "--store", store, "--port", "0", "--amqp", broker.url], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=fe)
    try:
        wait_for(lambda: "consuming runwatch (exchange runwatch" in open(err_path).read() or proc.poll() is not None, "the source to consume", 60)
        assert proc.poll() is None, open(err_path).read()
        env = dict(os.environ, PYTHONPATH=CLIENT_DIR, RUNWATCH_URL=broker.url, RUNWATCH_SPOOL_DIR=str(tmp_path / "spool"), RUNWATCH_SYSTEM_INTERVAL="0", OUT=out)
        code = "import os, runwatch; r = runwatch.init(project='cli'); open(os.path.join(os.environ['OUT'], 'id'), 'w').write(r.id); r.log({'x': 2.5}, step=7); r.finish()"
        res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stderr
        run_id = open(os.path.join(out, "id")).read()
        wait_for(lambda: any(e["type"] == "run.end" for e in read_log(store, run_id)), "the run in the store", 60)
        assert [p["value"] for e in read_log(store, run_id) if e["type"] == "metrics" for p in e["points"]] == [2.5]
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        conn, ch = broker.channel()
        ch.queue_delete("runwatch")  # the default queue: later tests publish to the same exchange
        ch.queue_delete("runwatch.dead")
        conn.close()


def test_the_backend_after_a_kill9_resends_from_its_cursor_nothing_missing(broker: Broker, tmp_path) -> None:
    """The backend's cursor moves only on the broker's confirms: killed mid-stream, the collector
    publishes again from the cursor, so a consumer may see a seq twice (it skips it) but never misses one."""
    out, store = str(tmp_path / "out"), str(tmp_path / "store")
    os.makedirs(out)
    os.makedirs(tmp_path / "logs")
    backends = {"runwatch.amqp": {"url": broker.url, "exchange": "runwatch-out2", "queue": "published2"}}
    collector = AmqpCollector(store, str(tmp_path / "logs"), {"url": broker.url, "queue": "backend-in2"}, backends).start()
    try:
        procs = start_ranks(broker, out, str(tmp_path / "spool"), pause=0.05)
        def published() -> int:
            try:
                return broker.queue_counts("published2")[0]
            except Exception:  # noqa: BLE001 - the backend declares its queue on its first write
                return 0

        wait_for(lambda: published() > 20, "the backend to publish", 120)
        assert all(p.poll() is None for p in procs), "the ranks finished before the kill: make them slower"
        collector.kill9()
        collector.start()
        wait_ranks(procs, out)
        wait_for(lambda: all_stored(store, out), "every rank's points in the store", 240)
        ids = [open(os.path.join(out, f"rank{r}.id")).read().strip() for r in range(RANKS)]
        counts = {i: len(read_log(store, i)) for i in ids}
        seen: Dict[str, List[int]] = {i: [] for i in ids}

        def drained() -> bool:
            for props, body in broker.get_all("published2"):
                seen[json.loads(body)["runId"]].append(props.headers["runwatch-seq"])
            return all(set(seen[i]) == set(range(1, counts[i] + 1)) for i in ids)

        wait_for(drained, "every record of every run published", 240)
        for i in ids:
            print(f"{i}: {len(seen[i]) - counts[i]} published twice")
            first = list(dict.fromkeys(seen[i]))  # what a consumer keeps, skipping seqs it holds
            assert first == list(range(1, counts[i] + 1)), f"{i}: in seq order, none missing"
    except BaseException:
        print(collector.stderr()[-5000:])
        raise
    finally:
        collector.stop()
