"""The guide's Python basic pattern as a user's own script, run from the installed wheel
(python basic.py HOST:PORT); it reads back what it wrote and says where the library came from."""

import sys

import kimberlite
from kimberlite import Client, ClientStats, DataClass

# Create a single client instance for your application
client = Client.connect(addresses=[sys.argv[1]], tenant_id=1, auth_token="token")


# Reuse this client across multiple operations
def handle_request(data: bytes) -> int:
    stream_id = client.create_stream("events", DataClass.NON_PHI)
    return client.append(stream_id, [data])


payloads = [b"event %d" % i for i in range(20)]
offsets = [handle_request(p) for p in payloads]
stream_id = client.create_stream("events", DataClass.NON_PHI)
read = [e.data for e in client.read_all(stream_id)]
assert read == payloads, read
assert offsets == list(range(20)), offsets
stats: ClientStats = client.stats()
assert stats["nodes"][0]["address"] == sys.argv[1], stats
print(f"libkimberlite loaded from {kimberlite.library_path()}")
print(f"read accelerator loaded from {kimberlite.speedups_path()}")
client.disconnect()
