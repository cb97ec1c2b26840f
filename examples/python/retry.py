"""The guide's error recovery: retry with exponential backoff, for Python.

The client already retries what is safe inside one call (within its request timeout); an
application-level retry adds patience across longer outages. Only errors marked retryable are
retried: an OutcomeUnknown append, for one, must be checked by reading the stream first.

    KIMBERLITE_ADDRESSES=localhost:5432 python examples/python/retry.py
"""

from __future__ import annotations

import time
from typing import Callable, Optional, TypeVar

from kimberlite import Client, DataClass, KimberliteError

from _settings import addresses

T = TypeVar("T")


def with_retry(fn: Callable[[], T], max_retries: int = 3, base_delay: float = 0.1) -> T:
    last_error: Optional[KimberliteError] = None
    for i in range(max_retries):
        try:
            return fn()
        except KimberliteError as error:
            if not error.retryable:
                raise
            last_error = error
            if i + 1 < max_retries:
                time.sleep((2 ** i) * base_delay)
    assert last_error is not None
    raise last_error


if __name__ == "__main__":
    client = Client.connect(addresses=addresses(), tenant_id=1)
    stream_id = client.create_stream("retry", DataClass.NON_PHI)
    offset = with_retry(lambda: client.append(stream_id, [b"event"]))
    print(f"appended at offset {offset}")
    client.disconnect()
