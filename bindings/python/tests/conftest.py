"""Fixtures: real kimberlite servers, and the library from $BUILD (or the repo's build/)."""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from procs import REPO, BlackHole, Cluster, Server, build_dir  # noqa: E402

if not os.environ.get("KIMBERLITE_LIB"):
    os.environ["KIMBERLITE_LIB"] = str(build_dir() / "libkimberlite.so")

from kimberlite import Client  # noqa: E402

_names = itertools.count()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One standalone server shared by the session (tests use their own streams)."""
    srv = Server(tmp_path_factory.mktemp("server"))
    yield srv
    srv.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    """A server of this test's own, free to kill and restart."""
    srv = Server(tmp_path / "data")
    yield srv
    srv.stop()


@pytest.fixture
def client(server: Server) -> Iterator[Client]:
    c = Client.connect(addresses=[server.addr], tenant_id=1, request_timeout=20)
    yield c
    c.disconnect()


@pytest.fixture
def stream_name(request: pytest.FixtureRequest) -> str:
    return f"{request.node.name}-{os.getpid()}-{next(_names)}"


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    bh = BlackHole()
    yield bh
    bh.close()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path / "cluster")
    yield c
    c.stop()


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    return REPO / "examples" / "python"
