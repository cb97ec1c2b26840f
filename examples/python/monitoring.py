"""The guide's monitoring wrapper, plus the library's own counters (Client.stats()).

    KIMBERLITE_ADDRESSES=localhost:5432 python examples/python/monitoring.py
"""

from __future__ import annotations

import time
from typing import Any, Dict, Sequence

from kimberlite import Client, DataClass

from _settings import addresses


class MonitoredClient:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.operations = 0
        self.errors = 0
        self.start_time = time.time()

    def append(self, stream_id: int, events: Sequence[bytes]) -> int:
        try:
            result = self.client.append(stream_id, events)
            self.operations += 1
            return result
        except Exception:
            self.errors += 1
            raise

    def stats(self) -> Dict[str, Any]:
        elapsed = time.time() - self.start_time
        return {
            'operations': self.operations,
            'errors': self.errors,
            'ops_per_sec': self.operations / elapsed if elapsed > 0 else 0,
            'error_rate': self.errors / self.operations if self.operations > 0 else 0,
            # What the connection pool itself saw: per-node connections, retries, latencies.
            'pool': self.client.stats(),
        }


if __name__ == "__main__":
    client = MonitoredClient(Client.connect(addresses=addresses(), tenant_id=1))
    stream_id = client.client.create_stream("monitored", DataClass.NON_PHI)
    for i in range(100):
        client.append(stream_id, [b"event %d" % i])
    s = client.stats()
    print(f"operations={s['operations']} errors={s['errors']} ops/s={s['ops_per_sec']:.0f} "
          f"p99={s['pool']['latency_p99_ns'] / 1e6:.2f}ms")
    client.client.disconnect()
