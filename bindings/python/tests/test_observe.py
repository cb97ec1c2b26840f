"""Logs, events and metrics: a leader kill seen through logging and on_event; Prometheus text."""

from __future__ import annotations

import logging
import threading
from typing import List

from prometheus_client.parser import text_string_to_metric_families

from kimberlite import Client, ClusterEvent, DataClass, KimberliteError
from procs import Cluster, Server, wait_for


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: List[logging.LogRecord] = []
        self.records_lock = threading.Lock()  # Handler.lock is the handler's own

    def emit(self, record: logging.LogRecord) -> None:
        with self.records_lock:
            self.records.append(record)

    def messages(self) -> List[str]:
        with self.records_lock:
            return [r.getMessage() for r in self.records]


def test_leader_kill_logs_and_events(cluster: Cluster, stream_name: str) -> None:
    log = logging.getLogger("kimberlite")
    capture = _Capture()
    log.addHandler(capture)
    old_level = log.level
    log.setLevel(logging.DEBUG)
    events: List[ClusterEvent] = []
    client = Client.connect(addresses=cluster.addresses, tenant_id=1, request_timeout=30,
                            health_check_period=0.5, on_event=events.append)
    try:
        sid = client.create_stream(stream_name, DataClass.NON_PHI)
        acked = [0]
        stop = threading.Event()

        def writer() -> None:
            i = 0
            while not stop.is_set():
                try:
                    client.append(sid, [b"obs-%d" % i])
                    acked[0] += 1
                except KimberliteError:
                    pass
                i += 1

        t = threading.Thread(target=writer, daemon=True)
        t.start()
        wait_for(lambda: acked[0] >= 50, 30, "appends before the kill")
        leader_id, leader_addr = cluster.leader()
        cluster.kill_node(leader_id)
        ev = wait_for(
            lambda: next((e for e in list(events) if e.kind == "leader_changed" and e.node != leader_addr), None),
            60, "a leader_changed event naming a new leader",
        )
        assert ev.node in cluster.addresses and ev.view > 0
        want = f"kimberlite: leader changed leader={ev.node}"
        wait_for(lambda: any(m.startswith(want) for m in capture.messages()), 10, "the leader-changed record")
        rec = next(r for r in capture.records if r.getMessage().startswith(want))
        assert rec.levelno == logging.INFO and rec.name == "kimberlite"
        # The dead leader is reported down, in Stats and as an event.
        wait_for(lambda: any(n["address"] == leader_addr and n["role"] == "down" for n in client.stats()["nodes"]),
                 1.0, "the dead leader shown as down within two health-check periods")
        wait_for(lambda: any(e.kind == "node_down" and e.node == leader_addr for e in list(events)), 10,
                 "a node_down event")
        before = acked[0]
        wait_for(lambda: acked[0] >= before + 50, 60, "appends on the new leader")
        stop.set()
        t.join(30)
    finally:
        client.disconnect()
        log.removeHandler(capture)
        log.setLevel(old_level)


def test_metrics_text_parses(server: Server, stream_name: str) -> None:
    with Client.connect(addresses=[server.addr], tenant_id=1) as client:
        sid = client.create_stream(stream_name, DataClass.NON_PHI)
        for i in range(5):
            client.append(sid, [b"m-%d" % i])
        text = client.metrics_text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    hist = families["kimberlite_client_operation_duration_seconds"]
    assert hist.type == "histogram"
    counts = [s.value for s in hist.samples if s.name.endswith("_count") and s.labels.get("op") == "append"]
    assert counts == [5.0]
    ops = families["kimberlite_client_operations"]  # the parser drops the _total suffix
    assert any(s.labels.get("op") == "append" and s.value == 5.0 for s in ops.samples)
    assert "kimberlite_client_node_up" in families


def test_on_event_must_be_callable(server: Server) -> None:
    import pytest

    with pytest.raises(TypeError, match="on_event"):
        Client.connect(addresses=[server.addr], tenant_id=1, on_event=42)  # type: ignore[arg-type]
