"""A 3-node cluster: kill -9 the node serving a subscription while another client appends; the
subscriber still receives every committed event exactly once, in order, with no error."""

from __future__ import annotations

import threading
from typing import Dict, List, Set

from kimberlite import Client, DataClass, KimberliteError, OutcomeUnknown, SubscriptionEvent
from procs import Cluster, wait_for


def test_subscriber_survives_kill_of_the_serving_node(cluster: Cluster, stream_name: str) -> None:
    writer = Client.connect(addresses=cluster.addresses, tenant_id=1, request_timeout=30)
    reader = Client.connect(addresses=cluster.addresses, tenant_id=1, request_timeout=30)
    try:
        sid = writer.create_stream(stream_name, DataClass.NON_PHI)
        acked: Dict[int, bytes] = {}
        unknown: Set[bytes] = set()
        stop = threading.Event()

        def write() -> None:
            i = 0
            while not stop.is_set():
                payload = b"f-%d" % i
                i += 1
                try:
                    acked[writer.append(sid, [payload])] = payload
                except OutcomeUnknown:
                    unknown.add(payload)
                except KimberliteError:
                    pass  # refused for sure: not in the stream

        got: List[SubscriptionEvent] = []
        failures: List[BaseException] = []
        sub = reader.subscribe(sid, initial_credits=32, timeout=60)

        def read() -> None:
            try:
                for ev in sub:
                    got.append(ev)
            except BaseException as exc:  # noqa: BLE001 (reported to the test thread)
                failures.append(exc)

        threads = [threading.Thread(target=write, daemon=True), threading.Thread(target=read, daemon=True)]
        for t in threads:
            t.start()
        wait_for(lambda: len(got) >= 100 or failures, 60, "events before the kill")
        serving = wait_for(lambda: sub.node, 30, "the serving node")
        victim = next(i for i, (_, addr) in cluster.nodes.items() if addr == serving)
        cluster.kill_node(victim)
        before = len(acked)
        wait_for(lambda: len(acked) >= before + 200 or failures, 90, "appends after the failover")
        stop.set()
        threads[0].join(60)
        assert not threads[0].is_alive()
        length = writer.stream_length(sid)
        wait_for(lambda: len(got) >= length or failures, 60, f"all {length} events through the subscription")
        sub.unsubscribe()
        threads[1].join(30)
        assert not threads[1].is_alive()
        assert not failures, failures

        committed = list(writer.read_all(sid))
        assert len(committed) == length
        assert [e.offset for e in got] == list(range(length)), "a gap, a duplicate or a wrong order"
        assert [e.data for e in got] == [e.data for e in committed]
        for offset, payload in acked.items():
            assert got[offset].data == payload
        assert len({e.data for e in got}) == length, "an event delivered twice"
        assert reader.stats()["resubscribes"] >= 1, "the subscription never moved: the test proved nothing"
        assert sub.node is None  # closed
    finally:
        stop.set()
        reader.disconnect()
        writer.disconnect()
