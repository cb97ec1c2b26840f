package engine

import (
	"bytes"
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/kimberlite/libkimberlite/wire"
)

// readBudget caps the encoded size of one read's events so the response always fits in a frame:
// past it a read stops early (after at least one event), whatever max_bytes says. The margin
// covers the response's own fields.
const readBudget = wire.MaxPayloadSize - 64

// Read returns the events of streamID with offset >= from, in order. maxBytes counts event bytes
// and is checked before each event, which is then taken whole: a non-zero maxBytes yields at least
// one event when any exists and may overshoot by one event; zero yields nothing. next is
// from + count when at least one event was returned, else nil. A missing stream of the tenant
// reads as empty; a stream id of another tenant is StreamNotFound.
func (db *DB) Read(ctx context.Context, tenant, streamID, from, maxBytes uint64) (events [][]byte, next *uint64, err error) {
	events, next, wait, err := db.ReadNoWait(ctx, tenant, streamID, from, maxBytes)
	if err == nil && wait != nil {
		err = wait()
	}
	if err != nil {
		return nil, nil, err
	}
	return events, next, nil
}

// ReadNoWait is Read for a caller that must not block on the write-ahead log's sync (the
// server answers from its connection's reader with it): when what it read holds a write whose
// sync has not finished, wait is not nil, and the answer may be used only once wait returns nil.
func (db *DB) ReadNoWait(ctx context.Context, tenant, streamID, from, maxBytes uint64) (events [][]byte, next *uint64, wait func() error, err error) {
	if wire.StreamTenant(streamID) != effectiveTenant(tenant) {
		return nil, nil, nil, Errorf(wire.ErrStreamNotFound, "stream with id %d not found", streamID)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, nil, err
	}
	events = [][]byte{}
	if maxBytes == 0 {
		return events, nil, nil, nil
	}
	wait, err = db.viewNoWait(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		prefix := u64Key(streamID)
		var taken, encoded uint64
		for k, v := c.Seek(eventKey(streamID, from)); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if taken >= maxBytes {
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
	if err != nil {
		return nil, nil, nil, err
	}
	if len(events) > 0 {
		n := from + uint64(len(events))
		next = &n
	}
	return events, next, wait, nil
}

// StreamLength returns the number of events in the stream (its next offset), or StreamNotFound
// for a missing stream or a stream id of another tenant.
func (db *DB) StreamLength(ctx context.Context, tenant, streamID uint64) (uint64, error) {
	length, wait, err := db.StreamLengthNoWait(ctx, tenant, streamID)
	if err == nil && wait != nil {
		err = wait()
	}
	if err != nil {
		return 0, err
	}
	return length, nil
}

// StreamLengthNoWait is StreamLength without waiting for a sync, as ReadNoWait is Read.
func (db *DB) StreamLengthNoWait(ctx context.Context, tenant, streamID uint64) (length uint64, wait func() error, err error) {
	if wire.StreamTenant(streamID) != effectiveTenant(tenant) {
		return 0, nil, streamNotFound(streamID)
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	wait, err = db.viewNoWait(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketStreams).Get(u64Key(streamID))
		if v == nil {
			return streamNotFound(streamID)
		}
		rec, err := decodeStreamRecord(v)
		if err != nil {
			return err
		}
		length = rec.length
		return nil
	})
	return length, wait, err
}

func streamNotFound(streamID uint64) *Error {
	return Errorf(wire.ErrStreamNotFound, "stream not found: %d", streamID)
}

// Sync returns once every write submitted before it is durable. Acknowledged writes already
// are (in the write-ahead log of a standalone database); a replica's file, which its raft log
// backs, is fsynced. It also reports a closed database.
func (db *DB) Sync(ctx context.Context) error {
	wait, err := db.SyncNoWait(ctx)
	if err == nil && wait != nil {
		err = wait()
	}
	return err
}

// SyncNoWait is Sync for a caller that must not block: when a write in flight is not durable
// yet, wait is not nil, and the Sync is done once wait returns nil. A replica's Sync (an fsync
// of its file) is done before SyncNoWait returns.
func (db *DB) SyncNoWait(ctx context.Context) (wait func() error, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if db.wal != nil {
		db.rw.RLock()
		closed := db.store == nil
		db.rw.RUnlock()
		if closed {
			return nil, ErrClosed
		}
		// Every acknowledged write is durable in the log already; wait for the ones in flight.
		return db.durableWait(db.written.Load()), nil
	}
	db.rw.RLock()
	defer db.rw.RUnlock()
	if db.store == nil {
		return nil, ErrClosed
	}
	return nil, db.store.Sync()
}

// uvarintLen is the size of v as a postcard (LEB128) varint.
func uvarintLen(v uint64) uint64 {
	n := uint64(1)
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
