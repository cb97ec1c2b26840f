package engine

import (
	"bytes"
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/kimberlite/libkimberlite/wire"
)

// ReadCommitted returns up to maxEvents events of streamID from offset from, about maxBytes of
// event data at most (at least one event when any exists), as committed in this database. It is
// what subscriptions push: everything here is durable, and in a cluster only committed entries
// are ever applied, so no fence with the leader is needed. A stream id of another tenant is
// StreamNotFound; a missing stream of the tenant reads as empty.
func (db *DB) ReadCommitted(ctx context.Context, tenant, streamID, from, maxBytes uint64, maxEvents int) ([][]byte, error) {
	if wire.StreamTenant(streamID) != effectiveTenant(tenant) {
		return nil, Errorf(wire.ErrStreamNotFound, "stream with id %d not found", streamID)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var events [][]byte
	if maxBytes == 0 || maxEvents <= 0 {
		return events, nil
	}
	err := db.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		prefix := u64Key(streamID)
		var taken, encoded uint64
		for k, v := c.Seek(eventKey(streamID, from)); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if taken >= maxBytes || len(events) >= maxEvents {
				break
			}
			size := uint64(len(v)) + uvarintLen(uint64(len(v)))
			if len(events) > 0 && encoded+size > readBudget {
				break
			}
			events = append(events, bytes.Clone(v))
			taken += uint64(len(v))
			encoded += size
		}
		return nil
	})
	return events, err
}
