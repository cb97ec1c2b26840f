package engine

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kimberlite/libkimberlite/wire"
)

// Idempotent appends. An AppendEvents that carries an idempotency key (wire
// AuditMetadata.idempotency_key) is remembered, with its result, in a window of recent keys kept
// per stream. A later append with the same key gets the original result and appends nothing,
// whatever its expected offset: a client that re-sends a request whose answer it lost learns the
// outcome instead of writing the events twice. The window lives in the database (so in raft
// snapshots too) and is changed only by applying operations, so every replica holds the same
// window: expiry compares times carried in the operations, never a replica's own clock.
//
// Layout (two buckets):
//
//	idemKeys  tenant (u32 BE) + key       -> stream (u64) | seq (u64) | first (u64) | count (u32) | at (i64)
//	idemOrder stream (u64 BE) + seq (u64) -> at (i64) | key
//
// idemOrder holds each stream's keys oldest first, so eviction is a cursor walk from the front
// and the next sequence number is one past the last entry's (0 when the window is empty: no
// row of idemKeys can then point at the stream).

// Defaults of the idempotency window (the server's --idempotency-window and
// --idempotency-keys flags).
const (
	DefaultIdempotencyWindow = 10 * time.Minute
	DefaultIdempotencyKeys   = 100_000
	// MaxIdempotencyKeyLen is the longest key accepted, in bytes.
	MaxIdempotencyKeyLen = 256
)

// IdempotencyWindow says how long, and how many per stream, idempotency keys are remembered.
// A key is forgotten once it is older than Age, or once Keys newer keys of its stream exist,
// whichever comes first.
type IdempotencyWindow struct {
	Age  time.Duration
	Keys uint32
}

// DefaultWindow is the window used when none is configured.
var DefaultWindow = IdempotencyWindow{Age: DefaultIdempotencyWindow, Keys: DefaultIdempotencyKeys}

// Stamp prepares an append for idempotent application: it records key, the window and the
// proposal time in op. The time and window travel with the operation (in a cluster, inside the
// log entry), which is what makes expiry the same on every replica.
func (w IdempotencyWindow) Stamp(op *Op, key string, now time.Time) {
	op.IdemKey = key
	op.At = now.UnixMilli()
	op.WindowMillis = uint64(w.Age / time.Millisecond)
	op.WindowKeys = w.Keys
}

var (
	bucketIdemKeys  = []byte("idemKeys")
	bucketIdemOrder = []byte("idemOrder")
)

// idemEntry is a remembered key's row in idemKeys.
type idemEntry struct {
	stream, seq, first uint64
	count              uint32
	at                 int64
}

const idemEntryLen = 8 + 8 + 8 + 4 + 8

func (e idemEntry) encode() []byte {
	b := make([]byte, idemEntryLen)
	binary.BigEndian.PutUint64(b[0:], e.stream)
	binary.BigEndian.PutUint64(b[8:], e.seq)
	binary.BigEndian.PutUint64(b[16:], e.first)
	binary.BigEndian.PutUint32(b[24:], e.count)
	binary.BigEndian.PutUint64(b[28:], uint64(e.at))
	return b
}

func decodeIdemEntry(b []byte) (idemEntry, error) {
	if len(b) != idemEntryLen {
		return idemEntry{}, fmt.Errorf("engine: corrupt idempotency entry (%d bytes)", len(b))
	}
	return idemEntry{
		stream: binary.BigEndian.Uint64(b[0:]),
		seq:    binary.BigEndian.Uint64(b[8:]),
		first:  binary.BigEndian.Uint64(b[16:]),
		count:  binary.BigEndian.Uint32(b[24:]),
		at:     int64(binary.BigEndian.Uint64(b[28:])),
	}, nil
}

func idemKeyKey(tenant uint32, key string) []byte {
	return append(binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(key)), tenant), key...)
}

func idemOrderKey(stream, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(u64Key(stream), seq)
}

// expired reports whether an entry stamped at is outside op's window by age.
func expired(at int64, op *Op) bool {
	return op.WindowMillis > 0 && op.At-at >= int64(op.WindowMillis)
}

// checkIdempotencyKey looks op's key up. It returns the original result for a repeat, a refusal
// for a key used for another append, or nil when the append should go ahead.
func (a *applier) checkIdempotencyKey(op *Op) (*Result, error) {
	if len(op.IdemKey) > MaxIdempotencyKeyLen {
		return &Result{Err: Errorf(wire.ErrInvalidRequest, "idempotency key is %d bytes, longer than the maximum %d",
			len(op.IdemKey), MaxIdempotencyKeyLen)}, nil
	}
	v := a.idemKeys.Get(idemKeyKey(effectiveTenant(op.Tenant), op.IdemKey))
	if v == nil {
		return nil, nil
	}
	e, err := decodeIdemEntry(v)
	if err != nil {
		return nil, err
	}
	if expired(e.at, op) {
		return nil, nil // forgotten; its row goes when its stream next evicts
	}
	if e.stream != op.StreamID || e.count != uint32(len(op.Events)) {
		return &Result{Err: Errorf(wire.ErrInvalidRequest,
			"idempotency key %q was already used for an append of %d events to stream %d; this append has %d events for stream %d",
			op.IdemKey, e.count, e.stream, len(op.Events), op.StreamID)}, nil
	}
	return &Result{StreamID: op.StreamID, FirstOffset: e.first}, nil
}

// rememberIdempotencyKey records op's key with the offset its events got, after evicting what
// the window no longer holds.
func (a *applier) rememberIdempotencyKey(op *Op, first uint64) error {
	tenant := effectiveTenant(op.Tenant)
	next := a.nextIdempotencySeq(op.StreamID)
	if err := a.evictIdempotencyKeys(op, tenant, next); err != nil {
		return err
	}
	kk := idemKeyKey(tenant, op.IdemKey)
	if old := a.idemKeys.Get(kk); old != nil {
		// An expired entry of the same key: drop its place in its stream's order.
		if e, err := decodeIdemEntry(old); err == nil {
			if err := a.idemOrder.Delete(idemOrderKey(e.stream, e.seq)); err != nil {
				return err
			}
		}
	}
	e := idemEntry{stream: op.StreamID, seq: next, first: first, count: uint32(len(op.Events)), at: op.At}
	if err := a.idemKeys.Put(kk, e.encode()); err != nil {
		return err
	}
	ov := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(op.IdemKey)), uint64(op.At))
	return a.idemOrder.Put(idemOrderKey(op.StreamID, next), append(ov, op.IdemKey...))
}

// nextIdempotencySeq is one past the stream's newest entry in idemOrder, or 0.
func (a *applier) nextIdempotencySeq(stream uint64) uint64 {
	cur := a.idemOrder.Cursor()
	var k []byte
	if stream < math.MaxUint64 {
		k, _ = cur.Seek(idemOrderKey(stream+1, 0))
	}
	if k == nil {
		k, _ = cur.Last()
	} else {
		k, _ = cur.Prev()
	}
	if len(k) == 16 && binary.BigEndian.Uint64(k[:8]) == stream {
		return binary.BigEndian.Uint64(k[8:]) + 1
	}
	return 0
}

// evictIdempotencyKeys forgets the stream's oldest keys while the window is full (room is made
// for one more) or they are older than its age.
func (a *applier) evictIdempotencyKeys(op *Op, tenant uint32, next uint64) error {
	prefix := u64Key(op.StreamID)
	cur := a.idemOrder.Cursor()
	k, v := cur.Seek(prefix)
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Seek(prefix) {
		if len(v) < 8 {
			return fmt.Errorf("engine: corrupt idempotency order entry")
		}
		seq := binary.BigEndian.Uint64(k[8:])
		at := int64(binary.BigEndian.Uint64(v[:8]))
		full := op.WindowKeys > 0 && next-seq >= uint64(op.WindowKeys)
		if !full && !expired(at, op) {
			return nil
		}
		kk := idemKeyKey(tenant, string(v[8:]))
		// The key may since have been taken again by a newer entry (after expiring): only the
		// row that points back at this place is ours to delete.
		if cv := a.idemKeys.Get(kk); cv != nil {
			if e, err := decodeIdemEntry(cv); err == nil && e.stream == op.StreamID && e.seq == seq {
				if err := a.idemKeys.Delete(kk); err != nil {
					return err
				}
			}
		}
		if err := cur.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// WindowUsage is what the idempotency window holds: the keys remembered, across all streams,
// and the bytes their rows take in the database pages (keys, values and bbolt's per-row
// headers; the pages are memory-mapped, not on the Go heap).
type WindowUsage struct {
	Keys  int
	Bytes int
}

// IdempotencyWindowUsage reports the size of the idempotency window.
func (db *DB) IdempotencyWindowUsage() (WindowUsage, error) {
	var u WindowUsage
	err := db.view(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketIdemKeys, bucketIdemOrder} {
			s := tx.Bucket(name).Stats()
			u.Bytes += s.LeafInuse + s.BranchInuse + s.InlineBucketInuse
			if string(name) == string(bucketIdemKeys) {
				u.Keys = s.KeyN
			}
		}
		return nil
	})
	return u, err
}
