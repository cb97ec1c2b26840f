"""The guide's periodic health check, on a daemon thread.

The client reconnects by itself (pooled connections are re-dialed, the leader re-discovered), so
"reconnect logic" is only needed once the client was closed. A threading.Event stops the loop
(``stop.set()``) and doubles as the sleep between checks.

    KIMBERLITE_ADDRESSES=localhost:5432 python examples/python/health_check.py
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from kimberlite import Client, DataClass

from _settings import addresses

logger = logging.getLogger("kimberlite.health")


def start_health_check(
    get_client: Callable[[], Client],
    health_stream_id: int,
    interval: float = 30.0,
    reconnect: Callable[[], None] = lambda: None,
) -> threading.Event:
    """Check every interval seconds; returns the Event that stops the thread."""
    stop = threading.Event()

    def health_check() -> None:
        while not stop.is_set():
            try:
                # Ping operation
                get_client().read(health_stream_id, from_offset=0, max_bytes=1)
                logger.info("Health check ok")
            except Exception as e:
                logger.error(f"Health check failed: {e}")
                if get_client().closed:
                    reconnect()
            stop.wait(interval)

    threading.Thread(target=health_check, daemon=True, name="kimberlite-health").start()
    return stop


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    client = Client.connect(addresses=addresses(), tenant_id=1)
    health_stream_id = client.create_stream("health", DataClass.NON_PHI)
    client.append(health_stream_id, [b"ok"])
    stop = start_health_check(lambda: client, health_stream_id, interval=1.0)
    stop.wait(2)
    stop.set()
    client.disconnect()
