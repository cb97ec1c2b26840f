package pool

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/kimberlite/libkimberlite/wire"
)

// A request is encoded once, without its id, into a "body": the frame payload after the message
// tag and the request id (tenant, audit, payload). Each send (a retry, a redirect) only writes a
// fresh header and id in front of the same body, so a retried append never re-encodes its events.

// encodeBody returns the body of a request for tenant carrying p.
func encodeBody(tenant uint64, p wire.RequestPayload) []byte {
	b := wire.AppendMessage(make([]byte, 0, 64), &wire.Request{TenantID: tenant, Payload: p})
	// b = [message tag 0][request id 0][tenant ...]: both leading zeros are one byte each.
	return b[2:]
}

// maxIDPrefix is the largest "message tag + request id" prefix: 1 + a 10-byte varint.
const maxIDPrefix = 1 + binary.MaxVarintLen64

// bodyFits reports whether a body still fits in one frame with the largest possible id.
func bodyFits(bodyLen int) bool { return bodyLen+maxIDPrefix <= wire.MaxPayloadSize }

// appendFrameHead appends the frame header, message tag and request id for body to dst. The
// caller then writes body itself; the header's length and checksum already cover it.
func appendFrameHead(dst []byte, id uint64, body []byte) []byte {
	// Built in dst itself: the checksum code would make local arrays escape, one allocation each.
	start := len(dst)
	dst = append(dst, make([]byte, wire.HeaderSize)...)
	dst = binary.AppendUvarint(append(dst, 0), id)
	prefix := dst[start+wire.HeaderSize:]
	sum := crc32.Update(crc32.Update(0, crc32.IEEETable, prefix), crc32.IEEETable, body)
	h := dst[start : start+wire.HeaderSize]
	binary.BigEndian.PutUint32(h[0:4], wire.Magic)
	binary.BigEndian.PutUint16(h[4:6], wire.Version)
	binary.BigEndian.PutUint32(h[6:10], uint32(len(prefix)+len(body)))
	binary.BigEndian.PutUint32(h[10:14], sum)
	return dst
}

// uvarintLen is the length of v as an unsigned LEB128 varint.
func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// encodeAppendBase returns the body of an AppendEvents request carrying key as its idempotency
// key, without its last field, expected_offset, which each send appends.
func encodeAppendBase(tenant uint64, key string, streamID uint64, events [][]byte) []byte {
	b := wire.AppendMessage(make([]byte, 0, appendBodyLen(tenant, streamID, events)+2), &wire.Request{
		TenantID: tenant,
		Audit:    &wire.AuditMetadata{IdempotencyKey: &key},
		Payload:  wire.AppendEventsRequest{StreamID: streamID, Events: events},
	})
	// Drop the message tag and request id (one zero byte each) in front, and expected_offset
	// (0 encodes as one byte) at the end.
	return b[2 : len(b)-1]
}

// appendAuditLen is the size of the audit metadata an append carries: Some, three Nones and the
// idempotency key (see Client.nextIdempotencyKey).
const appendAuditLen = 1 + 3 + 1 + 1 + maxIdempotencyKeyLen

// appendBodyLen bounds the body length of an AppendEvents request (exact but for the key's
// length), computed without encoding, so an oversized append is refused before anything is
// built or sent.
func appendBodyLen(tenant, streamID uint64, events [][]byte) int {
	n := uvarintLen(tenant) + appendAuditLen + 1 /* variant 2 */ + uvarintLen(streamID)
	n += uvarintLen(uint64(len(events)))
	for _, e := range events {
		n += uvarintLen(uint64(len(e))) + len(e)
	}
	return n + binary.MaxVarintLen64 // expected_offset, at its largest
}
