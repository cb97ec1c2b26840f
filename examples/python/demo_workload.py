"""The guide's basic pattern under load, for `make demo`: one client for the application, reused
by every writer thread, appending until told to stop; then every acknowledged event is read back.

    KIMBERLITE_ADDRESSES=... DEMO_STATUS=/tmp/py.json DEMO_STOP=/tmp/stop python demo_workload.py

While it runs it rewrites DEMO_STATUS (JSON) four times a second from client.stats() and the
client's events: the leader, acknowledged appends and their rate, retries, failovers seen. At the
end it prints one verdict line and exits 0 only if every acknowledged append is in the stream
exactly once.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from typing import List

from kimberlite import Client, ClusterEvent, DataClass, KimberliteError

from _settings import addresses

failovers: List[str] = []


def on_event(ev: ClusterEvent) -> None:
    if ev.kind == "leader_changed" and ev.previous:
        failovers.append(f"{ev.previous} -> {ev.node}")


# Create a single client instance for your application
client = Client.connect(addresses=addresses(), tenant_id=1, on_event=on_event, health_check_period=0.5)
stream_id = client.create_stream(f"demo-python-{os.getpid()}", DataClass.NON_PHI)
acked: List[bytes] = []
errors = [0]
lock = threading.Lock()
stop_file = os.environ.get("DEMO_STOP", "")
status_file = os.environ.get("DEMO_STATUS", "")


def stopping() -> bool:
    return bool(stop_file) and os.path.exists(stop_file)


# Reuse this client across multiple operations
def handle_request(data: bytes) -> int:
    return client.append(stream_id, [data])


def writer(w: int) -> None:
    i = 0
    while not stopping():
        data = b"py-%d-%d" % (w, i)
        i += 1
        try:
            handle_request(data)
        except KimberliteError:
            with lock:
                errors[0] += 1
            continue
        with lock:
            acked.append(data)


def publish(started: float, last: List[float]) -> None:
    s = client.stats()
    now = time.monotonic()
    n = len(acked)
    rate = (n - last[1]) / (now - last[0]) if now > last[0] else 0.0
    last[0], last[1] = now, n
    doc = {"client": "python", "leader": s["leader"], "acked": n, "rate": rate, "retries": s["retries"],
           "failovers": len(failovers), "errors": errors[0], "elapsed": now - started}
    tmp = status_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f)
    os.replace(tmp, status_file)


threads = [threading.Thread(target=writer, args=(w,), daemon=True) for w in range(4)]
started = time.monotonic()
for t in threads:
    t.start()
last = [started, 0.0]
while not stopping():
    if status_file:
        publish(started, last)
    time.sleep(0.25)
for t in threads:
    t.join(60)
if status_file:
    publish(started, last)

counts = Counter(e.data for e in client.read_all(stream_id))
missing = sum(1 for a in acked if counts[a] == 0)
duplicated = sum(1 for c in counts.values() if c > 1)
ok = missing == 0 and duplicated == 0
seen = ", ".join(failovers) or "none"
print(f"python: {'PASS' if ok else 'FAIL'}: {len(acked)} acknowledged appends, {missing} lost, "
      f"{duplicated} duplicated; {errors[0]} failed calls; failovers seen: {seen}")
client.disconnect()
raise SystemExit(0 if ok else 1)
