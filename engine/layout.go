package engine

import (
	"encoding/binary"
	"errors"

	"github.com/kimberlite/libkimberlite/wire"
)

// On-disk layout: one bbolt file with these buckets, and the two of the idempotency window
// (idempotency.go).
//
//	meta     "applied"        -> u64 BE    raft index of the last applied batch (clusters only)
//	tenants  tenant (u32 BE)  -> u32 BE    highest local stream id the tenant has used
//	names    tenant + name    -> sid (u64 BE)
//	streams  sid (u64 BE)     -> length (u64 BE) | data class (u8) | placement flag (u8) | name
//	events   sid + offset     -> event bytes (both u64 BE, so a stream's events are contiguous
//	                             and in offset order: a read is one cursor seek and a scan)
var (
	bucketMeta    = []byte("meta")
	bucketTenants = []byte("tenants")
	bucketNames   = []byte("names")
	bucketStreams = []byte("streams")
	bucketEvents  = []byte("events")

	allBuckets = [][]byte{bucketMeta, bucketTenants, bucketNames, bucketStreams, bucketEvents,
		bucketIdemKeys, bucketIdemOrder}

	keyApplied = []byte("applied")
	// keyWALSeq is the sequence number of the last write-ahead log group applied to the file.
	keyWALSeq = []byte("walSeq")
)

// MaxStreamNameLen is the longest stream name, in bytes, that CreateStream accepts. The name is
// part of a bbolt key, whose size bbolt caps at 32 KiB.
const MaxStreamNameLen = 32768 - 4

// effectiveTenant is the tenant as stream ids see it: stream ids keep only the low 32 bits of the
// tenant, so tenants that agree on those bits share one id space and one name space.
func effectiveTenant(tenant uint64) uint32 { return uint32(tenant) }

func tenantKey(t uint32) []byte { return binary.BigEndian.AppendUint32(nil, t) }

func nameKey(t uint32, name string) []byte {
	return append(binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(name)), t), name...)
}

func u64Key(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func eventKey(sid, offset uint64) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k[0:8], sid)
	binary.BigEndian.PutUint64(k[8:16], offset)
	return k
}

// streamRecord is a stream's row in the streams bucket.
type streamRecord struct {
	length    uint64
	dataClass wire.DataClass
	global    bool
	name      string
}

func (r streamRecord) encode() []byte {
	b := make([]byte, 10, 10+len(r.name))
	binary.BigEndian.PutUint64(b[0:8], r.length)
	b[8] = byte(r.dataClass)
	if r.global {
		b[9] = 1
	}
	return append(b, r.name...)
}

var errCorruptRecord = errors.New("engine: corrupt stream record")

func decodeStreamRecord(b []byte) (streamRecord, error) {
	if len(b) < 10 {
		return streamRecord{}, errCorruptRecord
	}
	return streamRecord{
		length:    binary.BigEndian.Uint64(b[0:8]),
		dataClass: wire.DataClass(b[8]),
		global:    b[9] == 1,
		name:      string(b[10:]),
	}, nil
}
