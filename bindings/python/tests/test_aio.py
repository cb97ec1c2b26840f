"""kimberlite.aio.AsyncClient: the library's async C API, results handed to the event loop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from kimberlite import ClientClosed, DataClass, Event, OffsetMismatch, ReadResult, StreamNotFound
from kimberlite.aio import AsyncClient
from procs import Server


def os_threads() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Threads:"))


def test_thousand_concurrent_awaits_need_no_thousand_threads(server: Server, stream_name: str) -> None:
    async def main() -> None:
        async with await AsyncClient.connect([server.addr], 1) as client:
            assert client.tenant_id == 1 and client.last_request_id is None
            sid = await client.create_stream(stream_name, DataClass.NON_PHI)
            py_before = threading.active_count()
            offsets = await asyncio.gather(*(client.append(sid, [b"e%d" % i]) for i in range(1000)))
            pages = await asyncio.gather(*(client.read(sid, i, 1) for i in range(1000)))
            # No Python thread per call, and far fewer OS threads than calls (the library's own).
            assert threading.active_count() <= py_before
            assert os_threads() < 500, os_threads()
            assert sorted(offsets) == list(range(1000))
            by_offset = {o: b"e%d" % i for i, o in enumerate(offsets)}
            for i, page in enumerate(pages):
                assert isinstance(page, ReadResult) and page[0] == Event(i, by_offset[i])
            assert await client.stream_length(sid) == 1000
            assert [e.data async for e in client.read_all(sid, 995)] == [by_offset[i] for i in range(995, 1000)]
        assert client.closed

    asyncio.run(main())


def test_errors_and_cancellation(server: Server, stream_name: str) -> None:
    async def main() -> None:
        client = await AsyncClient.connect([server.addr], 1, request_timeout=20)
        sid = await client.create_stream(stream_name, DataClass.PII)
        assert await client.append(sid, [b"a"], 0) == 0
        with pytest.raises(OffsetMismatch) as ei:
            await client.append(sid, [b"b"], 0)
        assert ei.value.server_code == 16 and ei.value.request_id is not None
        with pytest.raises(StreamNotFound):
            await client.read(987654321)
        with pytest.raises(ValueError):
            await client.append(sid, [])
        # A cancelled await leaves the call to finish; its result is dropped, nothing leaks.
        task = asyncio.ensure_future(client.append(sid, [b"c"]))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await client.ping()
        await client.sync()
        await client.disconnect()
        await client.disconnect()  # idempotent
        with pytest.raises(ClientClosed):
            await client.read(sid)

    asyncio.run(main())
