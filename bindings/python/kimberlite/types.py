"""Value types of the kimberlite package: data classes, read results, server information."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, NamedTuple, NewType, Tuple, TypedDict

__all__ = [
    "DataClass", "Placement", "ReadFrom", "ClusterMode", "Event", "ReadResult", "ServerInfo",
    "NodeStats", "ClientStats", "StreamId", "Offset", "TenantId",
]


class DataClass(enum.IntEnum):
    """The data class of a stream, with the official SDK's names and numbers.

    ``NON_PHI`` is the user guide's name for data that is not health information; it is stored
    as PUBLIC (a stream created with it reports PUBLIC). The numbers are this package's own
    (``DataClass(3)`` is PII), not the wire's: :attr:`wire_value` gives what is sent.
    """

    PHI = 0
    NON_PHI = 1
    DEIDENTIFIED = 2
    PII = 3
    SENSITIVE = 4
    PCI = 5
    FINANCIAL = 6
    CONFIDENTIAL = 7
    PUBLIC = 8

    __module__ = "kimberlite"

    @property
    def wire_value(self) -> int:
        """The protocol's (and the C library's KMB_DATA_CLASS_*) value of this data class."""
        return _WIRE_DATA_CLASS[self]


# DataClass -> KMB_DATA_CLASS_* (wire order: PHI, Deidentified, PII, Sensitive, PCI, Financial,
# Confidential, Public).
_WIRE_DATA_CLASS: Dict[DataClass, int] = {
    DataClass.PHI: 0, DataClass.NON_PHI: 7, DataClass.DEIDENTIFIED: 1, DataClass.PII: 2,
    DataClass.SENSITIVE: 3, DataClass.PCI: 4, DataClass.FINANCIAL: 5, DataClass.CONFIDENTIAL: 6,
    DataClass.PUBLIC: 7,
}


class Placement(enum.IntEnum):
    """Where a stream is placed (the official SDK's names and numbers).

    This server stores every stream as GLOBAL and the library sends GLOBAL, so create_stream
    accepts GLOBAL only and refuses the regional ones with InvalidArgument rather than pretend.
    """

    GLOBAL = 0
    US_EAST_1 = 1
    AP_SOUTHEAST_2 = 2
    CUSTOM = 3

    __module__ = "kimberlite"


#: A stream's id (an int; the high 32 bits are the tenant).
StreamId = NewType("StreamId", int)
#: An offset in a stream (an int; the first event is at 0).
Offset = NewType("Offset", int)
#: A tenant's id (an int).
TenantId = NewType("TenantId", int)


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


class ReadResult(List[Event]):
    """The answer to one Client.read call: a list of :class:`Event`, in offset order.

    Index it, slice it, take its len() as any list. It also carries:

    Attributes:
        next_offset: where to read next (from_offset + len(self), or from_offset when empty).
        has_more: True when at least one event came back, so more may follow at next_offset.
    """

    __slots__ = ("next_offset", "has_more")

    def __init__(self, events: Iterable[Event] = (), next_offset: int = 0, has_more: bool = False) -> None:
        super().__init__(events)
        self.next_offset: int = next_offset
        self.has_more: bool = has_more

    @property
    def events(self) -> Tuple[Event, ...]:
        """The events as a tuple (the shape of earlier versions of this package)."""
        return tuple(self)

    def __repr__(self) -> str:
        return f"ReadResult({list.__repr__(self)}, next_offset={self.next_offset}, has_more={self.has_more})"

    def __reduce__(self) -> Any:
        return (type(self), (list(self), self.next_offset, self.has_more))


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
    subscriptions: int  #: subscriptions open now
    resubscribes: int  #: times a subscription moved to another connection or node
    async_waits: int  #: kimberlite.aio calls that waited on the loop's thread (event_loop_wait_us)
    async_wait_misses: int  #: of them, those that went on in the background
    loop_calls: int  #: kimberlite.aio calls whose answer the event loop read itself
    loop_settled: int  #: of them, those answered on the loop
    loop_idle_spins: int  #: times the event loop polled briefly for an answer instead of sleeping (Node only)
