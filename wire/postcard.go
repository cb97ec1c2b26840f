package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrDecode is the category of every payload decoding failure; errors.Is(err, ErrDecode) holds for
// all of them. The concrete error says which field and why.
var ErrDecode = errors.New("wire: decode error")

// DecodeError locates a postcard decoding failure inside a payload.
type DecodeError struct {
	Offset int    // byte offset in the payload where decoding failed
	What   string // what was being decoded and why it failed
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("wire: decode error at byte %d: %s", e.Offset, e.What)
}

// Unwrap makes errors.Is(err, ErrDecode) true.
func (e *DecodeError) Unwrap() error { return ErrDecode }

// encoder appends postcard values to a byte slice. Encoders always emit minimal varints.
type encoder struct{ buf []byte }

func (e *encoder) u8(v uint8)   { e.buf = append(e.buf, v) }
func (e *encoder) u16(v uint16) { e.buf = binary.AppendUvarint(e.buf, uint64(v)) }
func (e *encoder) u32(v uint32) { e.buf = binary.AppendUvarint(e.buf, uint64(v)) }
func (e *encoder) u64(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }
func (e *encoder) boolean(v bool) {
	if v {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}
func (e *encoder) bytes(b []byte) { e.u64(uint64(len(b))); e.buf = append(e.buf, b...) }
func (e *encoder) str(s string)   { e.u64(uint64(len(s))); e.buf = append(e.buf, s...) }
func (e *encoder) optStr(s *string) {
	if s == nil {
		e.u8(0)
		return
	}
	e.u8(1)
	e.str(*s)
}
func (e *encoder) optU64(v *uint64) {
	if v == nil {
		e.u8(0)
		return
	}
	e.u8(1)
	e.u64(*v)
}
func (e *encoder) byteVecs(v [][]byte) {
	e.u64(uint64(len(v)))
	for _, b := range v {
		e.bytes(b)
	}
}
func (e *encoder) strs(v []string) {
	e.u64(uint64(len(v)))
	for _, s := range v {
		e.str(s)
	}
}

// decoder reads postcard values from a payload. The first failure sticks: later reads return zero
// values, and err reports the first failure. It never allocates more than the payload holds.
type decoder struct {
	buf       []byte
	pos       int
	err       error
	maxEvents int // bound on an append's event count; 0: none
}

// TooManyEventsError is an AppendEvents request carrying more events than the decoder allows.
// The frame itself was sound, so the request can be answered and the connection kept.
type TooManyEventsError struct {
	RequestID, TenantID uint64
	Count, Max          int
}

func (e *TooManyEventsError) Error() string {
	return fmt.Sprintf("wire: append carries %d events, the limit is %d events per append", e.Count, e.Max)
}

// events decodes an append's event vector, refusing a count beyond maxEvents before allocating.
func (d *decoder) events() [][]byte {
	start := d.pos
	n := d.length(1, "events")
	if d.err == nil && d.maxEvents > 0 && n > d.maxEvents {
		d.err = &TooManyEventsError{Count: n, Max: d.maxEvents}
		return nil
	}
	d.pos = start
	return d.byteVecs("events")
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = &DecodeError{Offset: d.pos, What: what}
	}
}

// varint reads an unsigned LEB128 value of at most maxLen bytes whose last allowed byte may carry
// at most lastMax, as postcard does for each integer width. Non-minimal encodings are accepted.
func (d *decoder) varint(maxLen int, lastMax byte, what string) uint64 {
	if d.err != nil {
		return 0
	}
	var v uint64
	for i := 0; i < maxLen; i++ {
		if d.pos >= len(d.buf) {
			d.fail(what + ": unexpected end of payload")
			return 0
		}
		b := d.buf[d.pos]
		d.pos++
		if i == maxLen-1 {
			if b&0x80 != 0 {
				d.fail(what + ": varint too long")
				return 0
			}
			if b > lastMax {
				d.fail(what + ": varint overflows its type")
				return 0
			}
		}
		v |= uint64(b&0x7f) << (7 * uint(i))
		if b&0x80 == 0 {
			return v
		}
	}
	d.fail(what + ": varint too long")
	return 0
}

func (d *decoder) u8(what string) uint8 {
	if d.err != nil {
		return 0
	}
	if d.pos >= len(d.buf) {
		d.fail(what + ": unexpected end of payload")
		return 0
	}
	b := d.buf[d.pos]
	d.pos++
	return b
}

func (d *decoder) u16(what string) uint16 { return uint16(d.varint(3, 0x03, what)) }
func (d *decoder) u32(what string) uint32 { return uint32(d.varint(5, 0x0f, what)) }
func (d *decoder) u64(what string) uint64 { return d.varint(10, 0x01, what) }

func (d *decoder) boolean(what string) bool {
	switch d.u8(what) {
	case 0:
		return false
	case 1:
		return true
	default:
		if d.err == nil {
			d.pos--
			d.fail(what + ": bool byte is neither 0 nor 1")
		}
		return false
	}
}

// length reads a collection length and checks that at least minEach bytes per element remain, so a
// lying length can never make the decoder allocate more than the payload holds.
func (d *decoder) length(minEach int, what string) int {
	n := d.u64(what + " length")
	if d.err != nil {
		return 0
	}
	remaining := uint64(len(d.buf) - d.pos)
	if minEach > 0 && n > remaining/uint64(minEach) {
		d.fail(fmt.Sprintf("%s: length %d exceeds the %d bytes left", what, n, remaining))
		return 0
	}
	return int(n)
}

func (d *decoder) bytes(what string) []byte {
	n := d.length(1, what)
	if d.err != nil {
		return nil
	}
	b := make([]byte, n)
	copy(b, d.buf[d.pos:d.pos+n])
	d.pos += n
	return b
}

func (d *decoder) str(what string) string {
	n := d.length(1, what)
	if d.err != nil {
		return ""
	}
	raw := d.buf[d.pos : d.pos+n]
	if !utf8.Valid(raw) {
		d.fail(what + ": invalid UTF-8")
		return ""
	}
	d.pos += n
	return string(raw)
}

func (d *decoder) option(what string) bool {
	switch d.u8(what) {
	case 0:
		return false
	case 1:
		return true
	default:
		if d.err == nil {
			d.pos--
			d.fail(what + ": option tag is neither 0 nor 1")
		}
		return false
	}
}

func (d *decoder) optStr(what string) *string {
	if !d.option(what) {
		return nil
	}
	s := d.str(what)
	if d.err != nil {
		return nil
	}
	return &s
}

func (d *decoder) optU64(what string) *uint64 {
	if !d.option(what) {
		return nil
	}
	v := d.u64(what)
	if d.err != nil {
		return nil
	}
	return &v
}

func (d *decoder) byteVecs(what string) [][]byte {
	n := d.length(1, what)
	if d.err != nil {
		return nil
	}
	out := make([][]byte, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.bytes(what))
	}
	if d.err != nil {
		return nil
	}
	return out
}

func (d *decoder) strs(what string) []string {
	n := d.length(1, what)
	if d.err != nil {
		return nil
	}
	out := make([]string, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.str(what))
	}
	if d.err != nil {
		return nil
	}
	return out
}

func (d *decoder) rest() []byte {
	if d.err != nil {
		return nil
	}
	b := make([]byte, len(d.buf)-d.pos)
	copy(b, d.buf[d.pos:])
	d.pos = len(d.buf)
	return b
}
