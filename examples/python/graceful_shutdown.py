"""The guide's graceful shutdown, for Python: disconnect on SIGTERM, then exit 0.

disconnect() lets calls in flight finish (up to the request timeout) and closes every socket.

    KIMBERLITE_ADDRESSES=localhost:5432 python examples/python/graceful_shutdown.py & kill -TERM $!
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Optional

from kimberlite import Client, DataClass

from _settings import addresses

client = Client.connect(addresses=addresses(), tenant_id=1)
stopping = threading.Event()


def on_sigterm(signum: int, frame: Optional[FrameType]) -> None:
    stopping.set()


signal.signal(signal.SIGTERM, on_sigterm)

if __name__ == "__main__":
    stream_id = client.create_stream("shutdown", DataClass.NON_PHI)
    count = 0
    print("ready", flush=True)
    while not stopping.is_set():
        client.append(stream_id, [b"tick %d" % count])
        count += 1
        stopping.wait(0.01)
    client.disconnect()
    print(f"disconnected after {count} appends", flush=True)
    sys.exit(0)
