"""A 3-node cluster: kill -9 the leader while threads append; every acknowledged append exactly once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Dict, List, Set

from kimberlite import Client, DataClass, KimberliteError, OutcomeUnknown
from procs import Cluster, dead_address, wait_for


def test_leader_killed_during_appends(cluster: Cluster, stream_name: str) -> None:
    # A dead first address, as the guide's multi-address sample would meet in practice.
    client = Client.connect(addresses=[dead_address()] + cluster.addresses, tenant_id=1, request_timeout=30)
    try:
        sid = client.create_stream(stream_name, DataClass.NON_PHI)
        acked: Set[bytes] = set()
        unknown: Set[bytes] = set()
        failed: List[BaseException] = []
        lock = threading.Lock()
        killed = threading.Event()
        after_kill: Dict[int, int] = {}
        stop_at = time.monotonic() + 60

        def worker(w: int) -> None:
            i = 0
            while time.monotonic() < stop_at:
                if killed.is_set() and after_kill.get(w, 0) >= 30:
                    return
                payload = b"w%d-%d" % (w, i)
                i += 1
                try:
                    client.append(sid, [payload])
                except OutcomeUnknown:
                    with lock:
                        unknown.add(payload)
                    continue
                except KimberliteError as exc:
                    with lock:
                        failed.append(exc)
                    continue
                with lock:
                    acked.add(payload)
                    if killed.is_set():
                        after_kill[w] = after_kill.get(w, 0) + 1

        threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(4)]
        for t in threads:
            t.start()
        wait_for(lambda: len(acked) >= 100, 30, "appends before the kill")
        leader_id, leader_addr = cluster.leader()
        cluster.kill_node(leader_id)
        killed.set()
        for t in threads:
            t.join(90)
        assert not any(t.is_alive() for t in threads)
        assert all(after_kill.get(w, 0) >= 30 for w in range(4)), (after_kill, failed[-3:])
        stats = client.stats()
        assert stats["leader"] != leader_addr

        counts = Counter(e.data for e in client.read_all(sid))
        missing = [p for p in acked if counts[p] != 1]
        assert not missing, f"acknowledged appends not exactly once: {missing[:5]}"
        assert all(counts[p] <= 1 for p in unknown)
        assert set(counts) <= acked | unknown, "events nobody appended"
        assert sum(counts.values()) == client.stream_length(sid)
    finally:
        client.disconnect()
