"""kimberlite.aio.AsyncClient: the library's async C API, results handed to the event loop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from kimberlite import ClientClosed, DataClass, Event, OffsetMismatch, ReadResult, StreamNotFound
from kimberlite.aio import AsyncClient
from procs import Server, freeze


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


def test_lone_calls_wait_on_the_loop_and_a_frozen_server_sends_them_to_the_background(
        fresh_server: Server, stream_name: str) -> None:
    import os
    import signal

    async def main() -> None:
        async with await AsyncClient.connect([fresh_server.addr], 1, event_loop_wait_us=1000) as client:
            sid = await client.create_stream(stream_name, DataClass.NON_PHI)
            for i in range(30):
                await client.append(sid, [b"event-%d" % i])
            for i in range(30):
                assert list(await client.read(sid, i, 1)) == [Event(i, b"event-%d" % i)]
            assert await client.stream_length(sid) == 30
            await client.ping()
            st = client.client.stats()
            assert st["async_waits"] >= 16, st["async_waits"]
            assert st["async_wait_misses"] <= st["async_waits"]
            # Gathered calls do not wait for one another: at most the first waits.
            before = client.client.stats()["async_waits"]
            pages = await asyncio.gather(*(client.read(sid, i, 1) for i in range(16)))
            assert [p[0].data for p in pages] == [b"event-%d" % i for i in range(16)]
            assert client.client.stats()["async_waits"] - before <= 1
            # Appends never wait on the loop.
            before = client.client.stats()["async_waits"]
            await client.append(sid, [b"event-30"])
            assert client.client.stats()["async_waits"] == before

        # A new client (no earlier miss to make it skip the wait) against a frozen server: the
        # read leaves the loop's thread after its wait, and answers once the server runs again.
        async with await AsyncClient.connect([fresh_server.addr], 1, event_loop_wait_us=1000) as client:
            # On a loaded machine a ping can miss its wait too, and the next lone call then skips
            # it: ping until one waited and ended on the loop, so that the frozen read waits.
            for _ in range(200):
                s0 = client.client.stats()
                await client.ping()
                s1 = client.client.stats()
                if s1["async_waits"] > s0["async_waits"] and s1["async_wait_misses"] == s0["async_wait_misses"]:
                    break
            else:
                raise AssertionError("no ping ended within its wait on the loop")
            misses = client.client.stats()["async_wait_misses"]
            freeze(fresh_server.pid)
            try:
                pending = asyncio.ensure_future(client.read(sid, 30, 1))
                for _ in range(2000):  # polled with a deadline: ~20 s
                    if client.client.stats()["async_wait_misses"] > misses:
                        break
                    await asyncio.sleep(0.01)
                assert client.client.stats()["async_wait_misses"] > misses, "the read never left the loop"
            finally:
                os.kill(fresh_server.pid, signal.SIGCONT)
            assert list(await pending) == [Event(30, b"event-30")]

    asyncio.run(main())


def test_by_default_no_call_waits_on_the_loop_and_bad_values_are_refused(server: Server, stream_name: str) -> None:
    async def main() -> None:
        for i, kw in enumerate(({}, {"event_loop_wait_us": 0})):
            async with await AsyncClient.connect([server.addr], 1, **kw) as client:
                sid = await client.create_stream(f"{stream_name}-{i}", DataClass.NON_PHI)
                await client.append(sid, [b"x"])
                for _ in range(10):
                    assert len(await client.read(sid, 0, 1)) == 1
                assert client.client.stats()["async_waits"] == 0, kw
        for bad, err in ((-1, ValueError), (1001, ValueError), (True, TypeError), ("300", TypeError), (1.5, TypeError)):
            with pytest.raises(err, match="event_loop_wait_us"):
                await AsyncClient.connect([server.addr], 1, event_loop_wait_us=bad)

    asyncio.run(main())


def test_lone_calls_are_read_by_the_event_loop_and_a_frozen_server_holds_nothing(
        fresh_server: Server, stream_name: str) -> None:
    import os
    import signal

    async def main() -> None:
        async with await AsyncClient.connect([fresh_server.addr], 1) as client:
            sid = await client.create_stream(stream_name, DataClass.NON_PHI)
            for i in range(30):
                await client.append(sid, [b"event-%d" % i])
            before = client.client.stats()
            for i in range(30):
                assert list(await client.read(sid, i, 1)) == [Event(i, b"event-%d" % i)]
            assert await client.stream_length(sid) == 30
            await client.ping()
            st = client.client.stats()
            taken = st["loop_calls"] - before["loop_calls"]
            assert taken >= 24, f"only {taken} of 32 lone quick calls went through the event loop"
            assert st["loop_settled"] - before["loop_settled"] >= taken - 3
            assert st["async_waits"] == 0
            pages = await asyncio.gather(*(client.read(sid, i, 1) for i in range(16)))
            assert [p[0].data for p in pages] == [b"event-%d" % i for i in range(16)]
            before_append = client.client.stats()["loop_calls"]
            await client.append(sid, [b"event-30"])
            assert client.client.stats()["loop_calls"] == before_append

            # A frozen server: the read went through the loop and is held, and the loop goes on
            # running other tasks meanwhile.
            freeze(fresh_server.pid)
            try:
                held = client.client.stats()["loop_calls"]
                pending = asyncio.ensure_future(client.read(sid, 30, 1))
                for _ in range(3):
                    await asyncio.sleep(0)  # one turn of the loop each
                assert client.client.stats()["loop_calls"] == held + 1, "the read did not go through the loop"
                assert not pending.done(), "the read ended while the server was frozen"
            finally:
                os.kill(fresh_server.pid, signal.SIGCONT)
            assert list(await pending) == [Event(30, b"event-30")]

    asyncio.run(main())


def test_closing_the_shared_client_from_a_thread_unwatches_the_loop(server: Server, stream_name: str) -> None:
    """The library closes its descriptor at close: the loop's selector must have let it go first,
    or a socket that reuses its number could not be watched."""
    async def main() -> None:
        client = await AsyncClient.connect([server.addr], 1)
        sid = await client.create_stream(stream_name, DataClass.NON_PHI)
        await client.append(sid, [b"x"])
        assert len(await client.read(sid, 0, 1)) == 1
        fd = client._loop_fd
        assert fd >= 0
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, client.client.disconnect)
        assert client.closed
        assert not loop.remove_reader(fd), "the loop still watched the closed client's descriptor"
        with pytest.raises(ClientClosed):
            await client.read(sid, 0, 1)
        # New clients and sockets on the same loop, one of which may get the same number.
        for _ in range(3):
            async with await AsyncClient.connect([server.addr], 1) as again:
                for _ in range(5):
                    assert len(await again.read(sid, 0, 1)) == 1
                assert again.client.stats()["loop_calls"] >= 1, "the new client's descriptor is not watched"
        host, port = server.addr.rsplit(":", 1)
        _, w = await asyncio.open_connection(host, int(port))
        w.close()
        await w.wait_closed()

    asyncio.run(main())
