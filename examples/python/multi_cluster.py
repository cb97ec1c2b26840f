"""The guide's multi-address setup: seed addresses of several nodes; any live one is enough.

The client finds the leader from whichever seed answers, follows it when it changes, and retries
what is safe to retry.

    KIMBERLITE_ADDRESSES=cluster1.example.com:5432,cluster2.example.com:5432,cluster3.example.com:5432 \
        python examples/python/multi_cluster.py
"""

from kimberlite import Client, DataClass

from _settings import addresses

client = Client.connect(
    addresses=addresses("cluster1.example.com:5432,cluster2.example.com:5432,cluster3.example.com:5432"),
    tenant_id=1,
)

if __name__ == "__main__":
    stream_id = client.create_stream("multi-cluster", DataClass.NON_PHI)
    offset = client.append(stream_id, [b"hello from a multi-address client"])
    stats = client.stats()
    print(f"offset {offset}; leader {stats['leader']}")
    for node in stats["nodes"]:
        print(f"  {node['address']}: role={node['role']} healthy={node['healthy']}")
    client.disconnect()
