package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"strings"
)

// Frame constants of protocol v5.
const (
	Magic          uint32 = 0x56444220 // "VDB "
	Version        uint16 = 5
	HeaderSize            = 14
	MaxPayloadSize        = 16 * 1024 * 1024
)

// Frame errors. A frame error leaves the stream unsynchronised: the connection must be closed.
var (
	ErrBadMagic      = errors.New("wire: bad frame magic")
	ErrBadVersion    = errors.New("wire: unsupported protocol version")
	ErrFrameTooLarge = errors.New("wire: frame payload exceeds 16 MiB")
	ErrChecksum      = errors.New("wire: frame checksum mismatch")
)

// Checksum is the frame checksum: CRC-32/IEEE of the payload.
func Checksum(payload []byte) uint32 { return crc32.ChecksumIEEE(payload) }

// AppendFrame appends the encoding of m, header included, to dst. It fails only when the payload
// would exceed MaxPayloadSize; dst is then returned unchanged.
func AppendFrame(dst []byte, m Message) ([]byte, error) {
	start := len(dst)
	dst = append(dst, make([]byte, HeaderSize)...)
	dst = AppendMessage(dst, m)
	payload := dst[start+HeaderSize:]
	if len(payload) > MaxPayloadSize {
		return dst[:start], fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, len(payload))
	}
	putHeader(dst[start:start+HeaderSize], payload)
	return dst, nil
}

// AppendRawFrame appends a header and the given payload bytes to dst.
func AppendRawFrame(dst []byte, payload []byte) []byte {
	var h [HeaderSize]byte
	putHeader(h[:], payload)
	return append(append(dst, h[:]...), payload...)
}

func putHeader(h []byte, payload []byte) {
	binary.BigEndian.PutUint32(h[0:4], Magic)
	binary.BigEndian.PutUint16(h[4:6], Version)
	binary.BigEndian.PutUint32(h[6:10], uint32(len(payload)))
	binary.BigEndian.PutUint32(h[10:14], Checksum(payload))
}

// CheckHeader validates a 14-byte header and returns the payload length and checksum it announces.
// It checks magic, version and length, in that order, before any payload is read.
func CheckHeader(h []byte) (length int, checksum uint32, err error) {
	if len(h) < HeaderSize {
		return 0, 0, io.ErrUnexpectedEOF
	}
	if m := binary.BigEndian.Uint32(h[0:4]); m != Magic {
		return 0, 0, fmt.Errorf("%w: %#08x", ErrBadMagic, m)
	}
	if v := binary.BigEndian.Uint16(h[4:6]); v != Version {
		return 0, 0, fmt.Errorf("%w: %d (want %d)", ErrBadVersion, v, Version)
	}
	n := binary.BigEndian.Uint32(h[6:10])
	if n > MaxPayloadSize {
		return 0, 0, fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, n)
	}
	return int(n), binary.BigEndian.Uint32(h[10:14]), nil
}

// ReadFrame reads one frame from r and returns its verified payload. buf is reused when large
// enough, so the payload is only valid until the next call with the same buf. It never allocates
// more than the header announces, and never more than MaxPayloadSize.
func ReadFrame(r io.Reader, buf []byte) ([]byte, error) {
	var h [HeaderSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n, sum, err := CheckHeader(h[:])
	if err != nil {
		return nil, err
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	payload := buf[:n]
	if _, err := io.ReadFull(r, payload); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if got := Checksum(payload); got != sum {
		return nil, fmt.Errorf("%w: header says %#08x, payload has %#08x", ErrChecksum, sum, got)
	}
	return payload, nil
}

// DecodeFrame decodes one complete frame (header and payload) held in b.
func DecodeFrame(b []byte) (Message, error) {
	n, sum, err := CheckHeader(b)
	if err != nil {
		return nil, err
	}
	if len(b)-HeaderSize < n {
		return nil, io.ErrUnexpectedEOF
	}
	payload := b[HeaderSize : HeaderSize+n]
	if got := Checksum(payload); got != sum {
		return nil, fmt.Errorf("%w: header says %#08x, payload has %#08x", ErrChecksum, sum, got)
	}
	return DecodeMessage(payload)
}

// FormatNotLeader renders the NotLeader message text exactly as the reference server does. An
// empty hint renders as "unknown".
func FormatNotLeader(view uint64, hint string) string {
	if hint == "" {
		hint = "unknown"
	}
	return "not the leader (view: " + strconv.FormatUint(view, 10) + ", leader hint: " + hint + ")"
}

// ParseNotLeader reads the view and leader hint out of a NotLeader message. hint is "" when the
// server said "unknown". ok is false if the text is not in the reference format.
func ParseNotLeader(msg string) (view uint64, hint string, ok bool) {
	rest, found := strings.CutPrefix(msg, "not the leader (view: ")
	if !found {
		return 0, "", false
	}
	viewText, rest, found := strings.Cut(rest, ", leader hint: ")
	if !found {
		return 0, "", false
	}
	hint, found = strings.CutSuffix(rest, ")")
	if !found {
		return 0, "", false
	}
	view, err := strconv.ParseUint(viewText, 10, 64)
	if err != nil {
		return 0, "", false
	}
	if hint == "unknown" {
		hint = ""
	}
	return view, hint, true
}
