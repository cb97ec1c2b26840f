package pool

import (
	"fmt"
	"io"

	"github.com/kimberlite/libkimberlite/wire"
)

// frameReader cuts the byte stream of a connection into frames. It belongs to whoever holds the
// connection's read side (see readside.go), and keeps its state across a change of holder: a
// frame half read by one is finished by the next. A frame that fits in the buffer is handed out
// in place, without a copy (the decoder copies what it keeps).
type frameReader struct {
	buf  []byte
	r, w int    // unread bytes are buf[r:w]
	n    int    // payload length of the frame whose header was taken; -1: none
	sum  uint32 // its checksum
	big  []byte // a payload larger than buf, being filled
	bigN int
}

const frameBufSize = 64 << 10

func newFrameReader() frameReader { return frameReader{buf: make([]byte, frameBufSize), n: -1} }

// complete reports whether a whole frame is buffered, so next needs no read.
func (f *frameReader) complete() bool {
	if f.n < 0 {
		if f.w-f.r < wire.HeaderSize {
			return false
		}
		n, _, err := wire.CheckHeader(f.buf[f.r:f.w])
		return err != nil || f.w-f.r-wire.HeaderSize >= n
	}
	return f.n <= len(f.buf) && f.w-f.r >= f.n
}

// next returns the next frame's verified payload, valid until the next call. fill reads more
// bytes into p; an error from it leaves the state as it was, so a later call goes on.
func (f *frameReader) next(fill func(p []byte) (int, error)) ([]byte, error) {
	if f.n < 0 {
		if err := f.need(wire.HeaderSize, fill); err != nil {
			return nil, err
		}
		n, sum, err := wire.CheckHeader(f.buf[f.r:f.w])
		if err != nil {
			return nil, err
		}
		f.r += wire.HeaderSize
		f.n, f.sum = n, sum
	}
	var p []byte
	if f.n <= len(f.buf) {
		if err := f.need(f.n, fill); err != nil {
			return nil, err
		}
		p = f.buf[f.r : f.r+f.n]
		f.r += f.n
	} else {
		if f.big == nil {
			f.big = make([]byte, f.n)
			f.bigN = copy(f.big, f.buf[f.r:f.w])
			f.r += f.bigN
		}
		for f.bigN < f.n {
			k, err := fill(f.big[f.bigN:])
			f.bigN += k
			if err != nil && f.bigN < f.n {
				return nil, unexpectedEOF(err)
			}
		}
		p, f.big = f.big, nil
	}
	f.n = -1
	if got := wire.Checksum(p); got != f.sum {
		return nil, fmt.Errorf("%w: header says %#08x, payload has %#08x", wire.ErrChecksum, f.sum, got)
	}
	return p, nil
}

// need reads until k bytes are buffered.
func (f *frameReader) need(k int, fill func(p []byte) (int, error)) error {
	if f.w-f.r >= k {
		return nil
	}
	if f.r+k > len(f.buf) || f.r == f.w {
		f.w = copy(f.buf, f.buf[f.r:f.w])
		f.r = 0
	}
	for f.w-f.r < k {
		n, err := fill(f.buf[f.w:])
		f.w += n
		if err != nil && f.w-f.r < k {
			if f.w > f.r || f.n >= 0 {
				return unexpectedEOF(err)
			}
			return err
		}
	}
	return nil
}

// unexpectedEOF turns an EOF inside a frame into io.ErrUnexpectedEOF.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
