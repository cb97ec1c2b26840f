package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/kimberlite/libkimberlite/wire"
)

// Op encoding: a raft log command (every entry written by a cluster node is one Op) and a
// record of the write-ahead log. The format:
//
//	version(1) kind(1) tenant(uvarint) then
//	  create: name(len uvarint + bytes) dataclass(1) placement: global(1) [kind(1) [custom(len+bytes)]]
//	  append: stream(uvarint) expected(uvarint) count(uvarint) {len(uvarint) bytes}*
//	          and, from version 2: key(len uvarint + bytes) at(uvarint) window ms(uvarint) window keys(uvarint)
//
// The encoding is deterministic, so every node decodes the same Op from the same entry. Entries
// of version 1 (written before idempotent appends) still decode, as appends without a key.
const (
	opFormatVersion   = 2
	opFormatVersionV1 = 1
)

// ErrBadOp is the error of DecodeOp for bytes that are not an encoded Op.
var ErrBadOp = errors.New("engine: malformed encoded operation")

// EncodeOp returns the encoding of op.
func EncodeOp(op Op) []byte {
	size := 48 + len(op.Name) + len(op.IdemKey)
	for _, e := range op.Events {
		size += len(e) + binary.MaxVarintLen64
	}
	b := make([]byte, 0, size)
	b = append(b, opFormatVersion, byte(op.Kind))
	b = binary.AppendUvarint(b, op.Tenant)
	switch op.Kind {
	case OpCreateStream:
		b = binary.AppendUvarint(b, uint64(len(op.Name)))
		b = append(b, op.Name...)
		b = append(b, byte(op.DataClass))
		if op.Placement.Global {
			b = append(b, 1)
		} else {
			b = append(b, 0, byte(op.Placement.Region.Kind))
			if op.Placement.Region.Kind == wire.RegionCustom {
				b = binary.AppendUvarint(b, uint64(len(op.Placement.Region.Custom)))
				b = append(b, op.Placement.Region.Custom...)
			}
		}
	case OpAppend:
		b = binary.AppendUvarint(b, op.StreamID)
		b = binary.AppendUvarint(b, op.Expected)
		b = binary.AppendUvarint(b, uint64(len(op.Events)))
		for _, e := range op.Events {
			b = binary.AppendUvarint(b, uint64(len(e)))
			b = append(b, e...)
		}
		b = binary.AppendUvarint(b, uint64(len(op.IdemKey)))
		b = append(b, op.IdemKey...)
		b = binary.AppendUvarint(b, uint64(op.At))
		b = binary.AppendUvarint(b, op.WindowMillis)
		b = binary.AppendUvarint(b, uint64(op.WindowKeys))
	}
	return b
}

type opReader struct {
	b   []byte
	err error
}

func (r *opReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrBadOp, what)
	}
}

func (r *opReader) byte(what string) byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.fail("truncated " + what)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *opReader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad varint in " + what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *opReader) bytes(what string) []byte {
	n := r.uvarint(what)
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail("truncated " + what)
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// DecodeOp parses an encoding written by EncodeOp. Event slices alias data.
func DecodeOp(data []byte) (Op, error) {
	r := &opReader{b: data}
	version := r.byte("version")
	if r.err == nil && version != opFormatVersion && version != opFormatVersionV1 {
		return Op{}, fmt.Errorf("%w: unknown format version %d", ErrBadOp, version)
	}
	op := Op{Kind: OpKind(r.byte("kind"))}
	op.Tenant = r.uvarint("tenant")
	switch op.Kind {
	case OpCreateStream:
		op.Name = string(r.bytes("name"))
		op.DataClass = wire.DataClass(r.byte("data class"))
		if int(op.DataClass) >= wire.DataClassCount {
			r.fail("data class out of range")
		}
		switch r.byte("placement") {
		case 1:
			op.Placement = wire.PlacementGlobal
		case 0:
			op.Placement.Region.Kind = wire.RegionKind(r.byte("region"))
			switch op.Placement.Region.Kind {
			case wire.RegionUSEast1, wire.RegionAPSoutheast2:
			case wire.RegionCustom:
				op.Placement.Region.Custom = string(r.bytes("custom region"))
			default:
				r.fail("region out of range")
			}
		default:
			r.fail("placement out of range")
		}
	case OpAppend:
		op.StreamID = r.uvarint("stream id")
		op.Expected = r.uvarint("expected offset")
		n := r.uvarint("event count")
		// Each event takes at least one byte (its length), which bounds the allocation.
		if r.err == nil && n > uint64(len(r.b)) {
			r.fail("event count exceeds command size")
		}
		if r.err == nil {
			op.Events = make([][]byte, 0, n)
			for i := uint64(0); i < n && r.err == nil; i++ {
				op.Events = append(op.Events, r.bytes("event"))
			}
		}
		if version >= 2 {
			op.IdemKey = string(r.bytes("idempotency key"))
			op.At = int64(r.uvarint("time"))
			op.WindowMillis = r.uvarint("window age")
			if k := r.uvarint("window keys"); k <= math.MaxUint32 {
				op.WindowKeys = uint32(k)
			} else {
				r.fail("window keys out of range")
			}
		}
	default:
		if r.err == nil {
			r.fail(fmt.Sprintf("unknown op kind %d", op.Kind))
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail(fmt.Sprintf("%d trailing bytes", len(r.b)))
	}
	if r.err != nil {
		return Op{}, r.err
	}
	return op, nil
}
