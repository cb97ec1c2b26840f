"""Subscriptions against a real server: every event once, in order; timeouts; close; asyncio."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import List

import pytest

from kimberlite import (
    Busy, Client, ClientClosed, DataClass, DeadlineExceeded, ForkedProcess, InvalidArgument,
    KimberliteError, StreamNotFound, Subscription, SubscriptionEvent,
)
from procs import REPO, Server, wait_for


def append_distinct(client: Client, sid: int, prefix: str, n: int, batch: int = 7) -> List[bytes]:
    """Append n events with distinct payloads, in batches of various sizes; returns them."""
    payloads = [f"{prefix}-{i}".encode() for i in range(n)]
    for i in range(0, n, batch):
        client.append(sid, payloads[i:i + batch])
    return payloads


def test_every_event_once_in_order_then_timeout_then_close(client: Client, server: Server, stream_name: str) -> None:
    sid = client.create_stream(stream_name, DataClass.NON_PHI)
    writer = Client.connect(addresses=[server.addr], tenant_id=1)
    try:
        with client.subscribe(sid, initial_credits=16) as sub:
            assert isinstance(sub, Subscription)
            assert sub.close_reason is None and not sub.closed
            assert sub.credits <= 16
            sub.id  # the server's id; any value
            assert sub.node == server.addr
            sent: List[bytes] = []
            t = threading.Thread(target=lambda: sent.extend(append_distinct(writer, sid, "a", 500)))
            t.start()
            got: List[SubscriptionEvent] = []
            for ev in sub:
                got.append(ev)
                if len(got) == 500:
                    break
            t.join(60)
            assert [e.offset for e in got] == list(range(500))
            assert [e.data for e in got] == sent
            assert sub.next_offset == 500

            with pytest.raises(DeadlineExceeded):
                sub.next_event(timeout=0.3)
            # still usable after a timeout
            writer.append(sid, [b"after-timeout"])
            ev = sub.next_event(timeout=30)
            assert ev == SubscriptionEvent(500, b"after-timeout")
            sub.grant_credits(10)
        # the context manager unsubscribed
        assert sub.closed
        assert sub.close_reason == "ClientCancelled"
        assert sub.next_event(timeout=1) is None
        assert list(sub) == []
        sub.unsubscribe()  # idempotent
    finally:
        writer.disconnect()


def test_from_offset_and_iteration_timeout(client: Client, stream_name: str) -> None:
    sid = client.create_stream(stream_name, DataClass.NON_PHI)
    append_distinct(client, sid, "b", 10)
    sub = client.subscribe(sid, from_offset=4, initial_credits=3, low_water=1, refill=2, timeout=0.3)
    try:
        got = []
        with pytest.raises(DeadlineExceeded):
            for ev in sub:
                got.append(ev)
        assert [(e.offset, e.data) for e in got] == [(i, b"b-%d" % i) for i in range(4, 10)]
        client.append(sid, [b"more"])
        assert next(iter(sub)) == SubscriptionEvent(10, b"more")
    finally:
        sub.unsubscribe()


def test_unsubscribe_from_another_thread_ends_a_blocked_iteration(client: Client, stream_name: str) -> None:
    sid = client.create_stream(stream_name, DataClass.NON_PHI)
    sub = client.subscribe(sid)
    got: List[object] = []
    t = threading.Thread(target=lambda: got.append(list(sub)))
    t.start()
    wait_for(lambda: sub._lock.locked(), 10, "the iteration to wait")
    sub.unsubscribe()
    t.join(30)
    assert not t.is_alive() and got == [[]]


def test_disconnect_ends_the_subscription(server: Server, stream_name: str) -> None:
    c = Client.connect(addresses=[server.addr], tenant_id=1)
    sid = c.create_stream(stream_name, DataClass.NON_PHI)
    sub = c.subscribe(sid)
    errors: List[BaseException] = []

    def wait() -> None:
        try:
            sub.next_event()
        except BaseException as exc:  # noqa: BLE001 (reported to the test thread)
            errors.append(exc)

    t = threading.Thread(target=wait)
    t.start()
    wait_for(lambda: sub._lock.locked(), 10, "the iteration to wait")
    c.disconnect()
    t.join(30)
    assert not t.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], KimberliteError), errors
    with pytest.raises(ClientClosed):
        c.subscribe(sid)


def test_bad_arguments(client: Client, stream_name: str) -> None:
    sid = client.create_stream(stream_name, DataClass.NON_PHI)
    with pytest.raises(InvalidArgument, match="consumer_group"):
        client.subscribe(sid, consumer_group="g")
    with pytest.raises(TypeError):
        client.subscribe("1")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        client.subscribe(sid, initial_credits=2**32)
    with pytest.raises(InvalidArgument):
        client.subscribe(sid, timeout=-1)
    with pytest.raises(InvalidArgument, match="LowWater"):  # the library checks the relation
        client.subscribe(sid, initial_credits=4, low_water=10)
    with pytest.raises(TypeError):
        Subscription()
    with client.subscribe(sid) as sub:
        with pytest.raises(InvalidArgument):
            sub.grant_credits(0)
        with pytest.raises(TypeError):
            sub.next_event(timeout="1")


def test_asyncio_every_event_once_timeout_and_cancel(client: Client, server: Server, stream_name: str) -> None:
    sid = client.create_stream(stream_name, DataClass.NON_PHI)
    writer = Client.connect(addresses=[server.addr], tenant_id=1)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        sub = client.subscribe(sid, initial_credits=8)
        try:
            sending = loop.run_in_executor(None, append_distinct, writer, sid, "c", 300)
            got = []
            async for ev in sub:
                got.append(ev)
                if len(got) == 300:
                    break
            sent = await sending
            assert [e.offset for e in got] == list(range(300))
            assert [e.data for e in got] == sent

            with pytest.raises(DeadlineExceeded):
                await sub.next_event_async(timeout=0.2)
            # A cancelled wait loses nothing: its batch is kept for the next call.
            waiter = asyncio.ensure_future(sub.next_event_async())
            await asyncio.sleep(0)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
            await loop.run_in_executor(None, writer.append, sid, [b"after-cancel"])
            assert await sub.next_event_async(timeout=30) == SubscriptionEvent(300, b"after-cancel")
            # one receiver at a time
            waiting = asyncio.ensure_future(sub.next_event_async())
            await asyncio.sleep(0)
            with pytest.raises(Busy):
                sub.next_event(timeout=0)
            sub.unsubscribe()
            assert await asyncio.wait_for(waiting, 30) is None
        finally:
            sub.unsubscribe()
        assert sub.close_reason == "ClientCancelled"

    try:
        asyncio.run(main())
    finally:
        writer.disconnect()


def test_many_async_subscriptions_need_no_threads(client: Client, stream_name: str) -> None:
    sids = [client.create_stream(f"{stream_name}-{i}", DataClass.NON_PHI) for i in range(20)]

    async def main() -> None:
        async with client.subscribe(sids[0]) as first:
            assert not first.closed
        assert first.close_reason == "ClientCancelled"
        subs = [client.subscribe(sid) for sid in sids]
        before = threading.active_count()
        waits = [asyncio.ensure_future(s.next_event_async(timeout=30)) for s in subs]
        for _ in range(3):
            await asyncio.sleep(0)  # let every wait start its library call
        assert threading.active_count() == before  # nobody parked a Python thread per wait
        for i, sid in enumerate(sids):
            client.append(sid, [b"s%d" % i])
        got = await asyncio.gather(*waits)
        assert [e.data for e in got] == [b"s%d" % i for i in range(20)]
        for s in subs:
            s.unsubscribe()

    asyncio.run(main())


def test_ctrl_c_interrupts_a_blocking_iteration(server: Server, stream_name: str, tmp_path: Path) -> None:
    script = tmp_path / "sub.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        from kimberlite import Client, DataClass
        c = Client.connect(addresses=[{server.addr!r}], tenant_id=1)
        sid = c.create_stream({stream_name!r}, DataClass.NON_PHI)
        sub = c.subscribe(sid)
        try:
            print("waiting", flush=True)
            for ev in sub:
                pass
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sub.unsubscribe()
            c.disconnect()
            sys.exit(3)
    """))
    env = {"PYTHONPATH": str(REPO / "bindings" / "python")}
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, env={**os.environ, **env})
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"waiting"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 3, out
        assert b"interrupted" in out
    finally:
        if proc.poll() is None:
            proc.kill()


def test_another_tenants_stream_is_not_found(client: Client, server: Server, stream_name: str) -> None:
    sid = client.create_stream(stream_name, DataClass.NON_PHI)
    other = Client.connect(addresses=[server.addr], tenant_id=2)
    try:
        with pytest.raises(StreamNotFound):
            other.subscribe(sid)
    finally:
        other.disconnect()


def test_a_forked_child_cannot_use_the_parents_subscription(client: Client, stream_name: str) -> None:
    from test_fork import in_child

    sid = client.create_stream(stream_name, DataClass.NON_PHI)
    sub = client.subscribe(sid)

    def child() -> str:
        for call in (lambda: sub.next_event(timeout=1), lambda: sub.credits, lambda: sub.grant_credits(1)):
            try:
                call()
            except ForkedProcess:
                continue
            return "no ForkedProcess"
        sub.unsubscribe()  # only forgets it here
        return "ok"

    code, out = in_child(child)
    assert (code, out) == (0, "ok")
    client.append(sid, [b"parent"])  # the parent's subscription is unharmed
    assert sub.next_event(timeout=30) == SubscriptionEvent(0, b"parent")
    sub.unsubscribe()


def test_a_dropped_subscription_is_closed(client: Client, stream_name: str) -> None:
    import gc

    sid = client.create_stream(stream_name, DataClass.NON_PHI)
    before = client.stats()["subscriptions"]
    sub = client.subscribe(sid)
    assert client.stats()["subscriptions"] == before + 1
    del sub
    gc.collect()
    wait_for(lambda: client.stats()["subscriptions"] == before, 20, "the dropped subscription to close")
