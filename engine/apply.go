package engine

import (
	"encoding/binary"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"

	"github.com/kimberlite/libkimberlite/wire"
)

// applier applies operations inside one write transaction. It is deterministic: the same
// operations on the same content give the same results, which replication relies on. A refused
// operation gets an *Error in its Result; only a storage failure is returned as an error, and it
// aborts the whole transaction.
type applier struct {
	tx         *bolt.Tx
	tenants    *bolt.Bucket
	names      *bolt.Bucket
	streams    *bolt.Bucket
	events     *bolt.Bucket
	idemKeys   *bolt.Bucket
	idemOrder  *bolt.Bucket
	newTenants uint32
}

func newApplier(tx *bolt.Tx) (*applier, error) {
	a := &applier{
		tx:        tx,
		tenants:   tx.Bucket(bucketTenants),
		names:     tx.Bucket(bucketNames),
		streams:   tx.Bucket(bucketStreams),
		events:    tx.Bucket(bucketEvents),
		idemKeys:  tx.Bucket(bucketIdemKeys),
		idemOrder: tx.Bucket(bucketIdemOrder),
	}
	if a.tenants == nil || a.names == nil || a.streams == nil || a.events == nil || a.idemKeys == nil || a.idemOrder == nil {
		return nil, fmt.Errorf("engine: database is missing a bucket")
	}
	// Each stream only ever grows at its end, so a page split should leave the left page full:
	// the default half-full split would leave half-empty pages that are never filled again.
	a.events.FillPercent = 0.95
	a.idemOrder.FillPercent = 0.95 // each stream's keys are added at its end, too
	return a, nil
}

// applyAll applies ops in order and returns one Result per op.
func (a *applier) applyAll(ops []Op) ([]Result, error) {
	results := make([]Result, len(ops))
	for i := range ops {
		r, err := a.apply(&ops[i])
		if err != nil {
			return nil, err
		}
		results[i] = r
	}
	return results, nil
}

func (a *applier) apply(op *Op) (Result, error) {
	switch op.Kind {
	case OpCreateStream:
		return a.createStream(op)
	case OpAppend:
		return a.appendEvents(op)
	default:
		return Result{Err: Errorf(wire.ErrInvalidRequest, "unknown operation kind %d", op.Kind)}, nil
	}
}

func (a *applier) createStream(op *Op) (Result, error) {
	if int(op.DataClass) >= wire.DataClassCount {
		return Result{Err: Errorf(wire.ErrInvalidRequest, "unknown data class %d", op.DataClass)}, nil
	}
	if len(op.Name) > MaxStreamNameLen {
		return Result{Err: Errorf(wire.ErrInvalidRequest, "stream name is %d bytes, longer than the maximum %d", len(op.Name), MaxStreamNameLen)}, nil
	}
	tenant := effectiveTenant(op.Tenant)
	nk := nameKey(tenant, op.Name)
	if v := a.names.Get(nk); v != nil {
		if len(v) != 8 {
			return Result{}, fmt.Errorf("engine: corrupt name entry for tenant %d", tenant)
		}
		return Result{StreamID: binary.BigEndian.Uint64(v)}, nil
	}
	tk := tenantKey(tenant)
	var highest uint32
	if v := a.tenants.Get(tk); v != nil {
		if len(v) != 4 {
			return Result{}, fmt.Errorf("engine: corrupt tenant entry %d", tenant)
		}
		highest = binary.BigEndian.Uint32(v)
	} else {
		a.newTenants++
	}
	if highest == math.MaxUint32 {
		return Result{Err: Errorf(wire.ErrInvalidRequest, "tenant %d has no stream ids left", op.Tenant)}, nil
	}
	local := highest + 1
	sid := wire.StreamID(uint64(tenant), local)
	rec := streamRecord{dataClass: op.DataClass, global: op.Placement.Global, name: op.Name}
	if err := a.tenants.Put(tk, binary.BigEndian.AppendUint32(nil, local)); err != nil {
		return Result{}, err
	}
	if err := a.names.Put(nk, u64Key(sid)); err != nil {
		return Result{}, err
	}
	if err := a.streams.Put(u64Key(sid), rec.encode()); err != nil {
		return Result{}, err
	}
	return Result{StreamID: sid}, nil
}

func appendNotFound(streamID uint64) Result {
	return Result{Err: Errorf(wire.ErrStreamNotFound, "stream with id %d not found", streamID)}
}

func (a *applier) appendEvents(op *Op) (Result, error) {
	if len(op.Events) == 0 {
		return Result{Err: Errorf(wire.ErrInvalidRequest, "append to stream %d carries no events", op.StreamID)}, nil
	}
	if uint64(len(op.Events)) > math.MaxUint32 {
		return Result{Err: Errorf(wire.ErrInvalidRequest, "append carries %d events, more than a u32 count", len(op.Events))}, nil
	}
	if wire.StreamTenant(op.StreamID) != effectiveTenant(op.Tenant) {
		return appendNotFound(op.StreamID), nil
	}
	sk := u64Key(op.StreamID)
	v := a.streams.Get(sk)
	if v == nil {
		return appendNotFound(op.StreamID), nil
	}
	rec, err := decodeStreamRecord(v)
	if err != nil {
		return Result{}, err
	}
	if op.IdemKey != "" {
		// Before the expected offset: a repeat of an applied append finds its offset taken (by
		// itself) and must get the original answer, not OffsetMismatch.
		if r, err := a.checkIdempotencyKey(op); r != nil || err != nil {
			if err != nil {
				return Result{}, err
			}
			return *r, nil
		}
	}
	if op.Expected != rec.length {
		return Result{Err: Errorf(wire.ErrOffsetMismatch, "offset mismatch for stream %d: expected %d, actual %d", op.StreamID, op.Expected, rec.length)}, nil
	}
	for i, ev := range op.Events {
		if ev == nil {
			ev = []byte{}
		}
		if err := a.events.Put(eventKey(op.StreamID, rec.length+uint64(i)), ev); err != nil {
			return Result{}, err
		}
	}
	first := rec.length
	rec.length += uint64(len(op.Events))
	if err := a.streams.Put(sk, rec.encode()); err != nil {
		return Result{}, err
	}
	if op.IdemKey != "" {
		if err := a.rememberIdempotencyKey(op, first); err != nil {
			return Result{}, err
		}
	}
	return Result{StreamID: op.StreamID, FirstOffset: first}, nil
}
