"""The guide's basic pattern: one client for the whole application, reused by every request.

    KIMBERLITE_ADDRESSES=localhost:5432,localhost:5433 python examples/python/basic.py
"""

from kimberlite import Client, DataClass

from _settings import addresses, auth_token

# Create a single client instance for your application
client = Client.connect(
    addresses=addresses("localhost:5432,localhost:5433"),
    tenant_id=1,
    auth_token=auth_token("token"),
)


# Reuse this client across multiple operations
def handle_request(data: bytes) -> int:
    stream_id = client.create_stream("events", DataClass.NON_PHI)
    return client.append(stream_id, [data])


if __name__ == "__main__":
    # Best practice 1: one client, many operations (never connect per request).
    for i in range(1000):
        offset = handle_request(b"event %d" % i)
    print(f"appended 1000 events; last offset {offset}")
    client.disconnect()
