"""A program written in the official SDK's style runs here, through a leader kill, and type-checks."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from procs import Cluster, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parent / "compat"))
import program  # noqa: E402

HERE = Path(__file__).resolve().parent


def test_program_runs_through_a_leader_kill(cluster: Cluster, stream_name: str) -> None:
    addresses = cluster.addresses
    sid = program.first_steps(addresses, 1, stream_name)
    killed = []

    def kill_leader() -> None:
        leader_id, _ = cluster.leader()
        cluster.kill_node(leader_id)
        killed.append(leader_id)

    acked, unknown = program.appends_through_failover(addresses, 1, sid, 60, kill_leader)
    assert killed, "the leader was never killed"
    assert len(acked) >= 50, (len(acked), unknown)
    data = wait_for(lambda: program.read_everything(addresses, 1, sid), 30, "reading the stream back")
    counts = Counter(data)
    assert data[:2] == [b"order-0", b"order-1"]
    assert all(counts[p] == 1 for p in acked), "an acknowledged append is missing or doubled"
    assert all(counts[p] <= 1 for p in unknown), "an append was written twice"
    assert set(counts) <= set(acked) | set(unknown) | {b"order-0", b"order-1"}


def test_program_type_checks_strictly() -> None:
    pytest.importorskip("mypy")
    res = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(HERE / "compat" / "program.py")],
        cwd=HERE.parent, capture_output=True, text=True, timeout=180,
    )
    assert res.returncode == 0, res.stdout + res.stderr
