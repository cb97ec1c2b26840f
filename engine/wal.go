package engine

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// WALFileName is the write-ahead log of a standalone database, beside FileName.
const WALFileName = "kimberlite.wal"

// walCheckpointBytes: once the log is this large, the committer syncs the database file and
// starts the log again from its beginning.
const walCheckpointBytes = 64 << 20

// walChunk is how far ahead of its end the log's file is filled with zeros. An fdatasync of
// writes inside the file's size needs no journal commit of the file system, which would also
// flush the database file's pending pages: it costs what a bare write+fdatasync costs.
const walChunk = 2 << 20

// wal is the write-ahead log of a standalone database: the durable record of every group
// commit. Each group is appended here as one record, then applied to the database file
// (written, not fsynced) while one fdatasync of this file makes the group durable. Opening the
// database applies again the records past the sequence number stored with the last group the
// file holds. A checkpoint fsyncs the database file and empties the log.
//
// A record is len(u32 BE) crc32c(u32 BE, of the payload) payload, and the payload is
// seq(u64 BE) count(uvarint) {len(uvarint) EncodeOp}*. A torn or corrupt record ends the log:
// it was never acknowledged, since a group is answered only once its record is synced. So
// does zero filling, and a record whose seq does not grow: after a checkpoint the log is
// written again from its start, over records the database file holds durably.
type wal struct {
	f         *os.File
	size      int64 // where the next record goes
	allocated int64 // bytes of the file filled (zeros past size)
	buf       []byte
}

var walTable = crc32.MakeTable(crc32.Castagnoli)

// walRecord is one group read back from the log.
type walRecord struct {
	seq uint64
	ops []Op
}

// openWAL opens (creating) the log at path and returns it with its intact records. A torn
// tail is cut off.
func openWAL(path string) (*wal, []walRecord, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("engine: opening %s: %w", path, err)
	}
	recs, end, err := readWAL(f)
	var st os.FileInfo
	if err == nil {
		st, err = f.Stat()
	}
	if err != nil {
		_ = f.Close()
		return nil, nil, fmt.Errorf("engine: reading %s: %w", path, err)
	}
	return &wal{f: f, size: end, allocated: st.Size()}, recs, nil
}

// readWAL reads records from the start of f up to the first torn or corrupt one, and returns
// the offset where the intact records end.
func readWAL(f *os.File) ([]walRecord, int64, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, 0, err
	}
	r := bufio.NewReaderSize(f, 1<<20)
	var recs []walRecord
	var end int64
	var head [8]byte
	for {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return recs, end, nil // end of the log, or a torn header
		}
		n := binary.BigEndian.Uint32(head[0:])
		sum := binary.BigEndian.Uint32(head[4:])
		if n < 9 || n > 1<<30 {
			return recs, end, nil
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			return recs, end, nil
		}
		if crc32.Checksum(payload, walTable) != sum {
			return recs, end, nil
		}
		rec, err := decodeWALPayload(payload)
		if err != nil {
			return nil, 0, err // intact but unreadable: not a torn write, refuse to guess
		}
		if len(recs) > 0 && rec.seq <= recs[len(recs)-1].seq {
			return recs, end, nil // an older record, from before the last checkpoint
		}
		recs = append(recs, rec)
		end += 8 + int64(n)
	}
}

func decodeWALPayload(p []byte) (walRecord, error) {
	rec := walRecord{seq: binary.BigEndian.Uint64(p)}
	p = p[8:]
	count, k := binary.Uvarint(p)
	if k <= 0 || count > uint64(len(p)) {
		return rec, errors.New("engine: corrupt write-ahead log record")
	}
	p = p[k:]
	rec.ops = make([]Op, 0, count)
	for range count {
		n, k := binary.Uvarint(p)
		if k <= 0 || n > uint64(len(p)-k) {
			return rec, errors.New("engine: corrupt write-ahead log record")
		}
		op, err := DecodeOp(p[k : k+int(n)])
		if err != nil {
			return rec, err
		}
		rec.ops = append(rec.ops, op)
		p = p[k+int(n):]
	}
	return rec, nil
}

// append writes one group's record (not synced).
func (w *wal) append(seq uint64, ops []Op) error {
	b := w.buf[:0]
	b = append(b, make([]byte, 8+8)...)
	binary.BigEndian.PutUint64(b[8:], seq)
	b = binary.AppendUvarint(b, uint64(len(ops)))
	for i := range ops {
		enc := EncodeOp(ops[i])
		b = binary.AppendUvarint(b, uint64(len(enc)))
		b = append(b, enc...)
	}
	payload := b[8:]
	binary.BigEndian.PutUint32(b[0:], uint32(len(payload)))
	binary.BigEndian.PutUint32(b[4:], crc32.Checksum(payload, walTable))
	if cap(b) <= 4<<20 {
		w.buf = b
	}
	if err := w.fill(w.size + int64(len(b))); err != nil {
		return err
	}
	n, err := w.f.WriteAt(b, w.size)
	w.size += int64(n)
	return err
}

// fill makes the file at least end bytes long, filling whole chunks with zeros.
func (w *wal) fill(end int64) error {
	if end <= w.allocated {
		return nil
	}
	grow := (end - w.allocated + walChunk - 1) / walChunk * walChunk
	zeros := make([]byte, 1<<20)
	for done := int64(0); done < grow; {
		k := min(int64(len(zeros)), grow-done)
		if _, err := w.f.WriteAt(zeros[:k], w.allocated+done); err != nil {
			return err
		}
		done += k
	}
	w.allocated += grow
	return nil
}

// sync makes every record written so far durable.
func (w *wal) sync() error { return fdatasync(w.f) }

// reset starts the log again from its beginning; the next records overwrite the old ones.
// The database file must be synced first: it holds every record written so far.
func (w *wal) reset() error {
	w.size = 0
	return nil
}

func (w *wal) close() error { return w.f.Close() }
