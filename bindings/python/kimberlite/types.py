"""Value types of the kimberlite package: data classes, read results, server information."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Dict, Iterator, List, NamedTuple, Tuple, TypedDict

__all__ = [
    "DataClass", "Placement", "ReadFrom", "ClusterMode", "Event", "ReadResult", "ServerInfo",
    "NodeStats", "ClientStats",
]


class DataClass(enum.IntEnum):
    """The data class of a stream (wire order). ``NON_PHI`` is the user guide's name for PUBLIC."""

    PHI = 0
    DEIDENTIFIED = 1
    PII = 2
    SENSITIVE = 3
    PCI = 4
    FINANCIAL = 5
    CONFIDENTIAL = 6
    PUBLIC = 7
    NON_PHI = 7  # an alias of PUBLIC

    __module__ = "kimberlite"


class Placement(enum.Enum):
    """Where a stream is placed. The server stores every stream as GLOBAL (it ignores placement),
    and the library sends GLOBAL; regional placements are therefore not offered."""

    GLOBAL = "global"

    __module__ = "kimberlite"


class ReadFrom(enum.IntEnum):
    """Where reads go (the ``read_from`` option of Client.connect)."""

    LEADER = 0  #: linearizable reads from the leader (the default)
    ANY_HEALTHY = 1  #: spread over healthy nodes; a follower may lag behind

    __module__ = "kimberlite"


class ClusterMode(enum.IntEnum):
    """ServerInfo.cluster_mode."""

    STANDALONE = 0
    CLUSTERED = 1

    __module__ = "kimberlite"


class Event(NamedTuple):
    """One event read from a stream: its offset and its bytes."""

    offset: int
    data: bytes


@dataclass(frozen=True)
class ReadResult:
    """The answer to one Client.read call.

    Attributes:
        events: the events, in offset order.
        next_offset: where to read next (from_offset + len(events), or from_offset when empty).
        has_more: True when at least one event came back, so more may follow at next_offset.
    """

    events: Tuple[Event, ...]
    next_offset: int
    has_more: bool

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)


@dataclass(frozen=True)
class ServerInfo:
    """What a server says about itself (Client.server_info)."""

    build_version: str
    protocol_version: int
    capabilities: Tuple[str, ...]
    uptime_secs: int
    cluster_mode: ClusterMode
    tenant_count: int


for _cls in (Event, ReadResult, ServerInfo):
    _cls.__module__ = "kimberlite"


class NodeStats(TypedDict):
    """One node in :class:`ClientStats`."""

    address: str
    role: str  #: "leader", "follower", "unknown", or "down" (failed its last check or dial)
    healthy: bool
    open_conns: int
    idle_conns: int
    in_flight: int
    dials: int
    dial_failures: int


class ClientStats(TypedDict):
    """What Client.stats returns: a snapshot of the client's counters. Latencies are in ns."""

    nodes: List[NodeStats]
    leader: str  #: "" while no leader is known
    leader_view: int
    operations: Dict[str, int]  #: by operation: "append", "read", ...
    errors: Dict[str, int]  #: by kind ("connection", ...) or server code ("NotLeader", ...)
    retries: int
    redirects: int
    leader_changes: int
    latency_p50_ns: int
    latency_p90_ns: int
    latency_p99_ns: int
    latency_max_ns: int
