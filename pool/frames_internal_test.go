package pool

import (
	"bytes"
	"errors"
	"testing"

	"github.com/kimberlite/libkimberlite/wire"
)

// The frame reader cuts a stream that arrives a few bytes at a time, interrupted by errors (a
// holder giving up), into the frames that were sent, small and larger than its buffer.
func TestFrameReaderSurvivesInterruptedFills(t *testing.T) {
	payloads := [][]byte{[]byte("a"), bytes.Repeat([]byte("b"), frameBufSize+123), []byte("c"), bytes.Repeat([]byte("d"), frameBufSize-wire.HeaderSize)}
	var stream []byte
	for _, p := range payloads {
		stream = wire.AppendRawFrame(stream, p)
	}
	errPause := errors.New("pause")
	for _, step := range []int{1, 7, 4096, 1 << 20} {
		pos, calls := 0, 0
		fill := func(p []byte) (int, error) {
			calls++
			if calls%3 == 0 {
				return 0, errPause
			}
			n := copy(p, stream[pos:min(len(stream), pos+step)])
			pos += n
			return n, nil
		}
		fr := newFrameReader()
		for i, want := range payloads {
			var got []byte
			for {
				p, err := fr.next(fill)
				if errors.Is(err, errPause) {
					continue
				}
				if err != nil {
					t.Fatalf("step %d, frame %d: %v", step, i, err)
				}
				got = p
				break
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("step %d, frame %d: %d bytes, want %d", step, i, len(got), len(want))
			}
		}
	}
}

// A corrupted payload is a checksum error, and a bad header is refused before its payload.
func TestFrameReaderRefusesBadFrames(t *testing.T) {
	frame := wire.AppendRawFrame(nil, []byte("hello"))
	frame[len(frame)-1] ^= 1
	src := bytes.NewReader(frame)
	fr := newFrameReader()
	if _, err := fr.next(src.Read); !errors.Is(err, wire.ErrChecksum) {
		t.Fatalf("corrupted payload: %v, want a checksum error", err)
	}
	bad := wire.AppendRawFrame(nil, []byte("hello"))
	bad[0] = 'X'
	fr = newFrameReader()
	if _, err := fr.next(bytes.NewReader(bad).Read); !errors.Is(err, wire.ErrBadMagic) {
		t.Fatalf("bad magic: %v", err)
	}
}
