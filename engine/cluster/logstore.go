package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// logStore is raft's log: append-only segment files in one folder, each named after the index
// of its first entry (%020d.seg). Every StoreLogs is one write and one fdatasync of the
// segment being filled; a bbolt commit costs two syncs and page writes.
//
// A segment starts with a header (segMagic, base index, CRC), then records:
//
//	len(u32 LE) crc32c(u32 LE, of the body) body
//	body: index(u64) term(u64) type(u8) appendedAt(i64 unix ns) dataLen(u32) data extensions
//
// Segments are preallocated, and every byte past the last record is zero: a torn tail is cut
// off on open (and the file truncated there, so nothing stale can follow later records), a
// tail truncation truncates the file, and preallocation only adds zeros. A record ends the log
// when its length is zero, it is torn or corrupt, or its index is not the next one.
//
// The index of every record (its file offset) is kept in memory: the log holds at most the
// entries between two snapshots plus the trailing ones, so this is a few bytes per entry.
//
// Index gaps: raft appends past a gap after installing a snapshot newer than its log; the
// entries before the gap are all covered by that snapshot (some may even be stale ones of an
// older term), so a gap append starts a new segment and drops every older one. Open applies the
// same rule to segments that a crash left on both sides of a gap.
//
// A failed write or sync makes the store refuse every later write (a failed fdatasync must not
// be retried: the kernel may have dropped the pages) and calls onFail, so that the node stops;
// a restart reopens the store from what is on disk.
type logStore struct {
	dir      string
	segBytes int64 // a segment holding this much is sealed and a new one started
	log      *slog.Logger
	onFail   func(error)

	wmu sync.Mutex // serializes writers: StoreLogs, DeleteRange, Close
	buf []byte     // encoding buffer, used under wmu

	mu     sync.RWMutex // guards segs, failed, closed
	segs   []*segment   // ordered and contiguous: segs[i+1].base == segs[i].next()
	failed error
	closed bool
}

// segment is one file of the log.
type segment struct {
	base      uint64 // index of its first record
	first     uint64 // first live index: head compaction inside a segment moves it (in memory)
	f         *os.File
	path      string
	offs      []int64 // offs[k]: where the record of index base+k starts
	size      int64   // where the next record goes
	allocated int64   // file bytes allocated (zeros past size)
}

func (s *segment) next() uint64 { return s.base + uint64(len(s.offs)) }
func (s *segment) last() uint64 { return s.next() - 1 }

// end returns where the record of index i ends.
func (s *segment) end(i uint64) int64 {
	if k := i - s.base + 1; k < uint64(len(s.offs)) {
		return s.offs[k]
	}
	return s.size
}

const (
	segMagic      = "kmbraft1"
	segHeaderLen  = 24 // magic(8) base(8) crc32c(4) reserved(4)
	recHeaderLen  = 8  // len(4) crc(4)
	recFixedLen   = 8 + 8 + 1 + 8 + 4
	maxRecordBody = 1 << 30
	// preallocBytes: how far past its last record a segment's file is allocated (a few
	// allocations per segment, and little space held by a small node or a test).
	preallocBytes = 4 << 20
	// defaultSegmentBytes: large enough that starting a segment (a file create and three
	// syncs) is rare, small enough that compaction frees space soon after a snapshot.
	defaultSegmentBytes = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errLogStoreClosed is returned by every call after Close.
var errLogStoreClosed = errors.New("raft log: closed")

func segName(base uint64) string { return fmt.Sprintf("%020d.seg", base) }

// openLogStore opens (creating) the log in dir. segBytes <= 0 means defaultSegmentBytes.
func openLogStore(dir string, segBytes int64, log *slog.Logger, onFail func(error)) (*logStore, error) {
	if segBytes <= 0 {
		segBytes = defaultSegmentBytes
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s := &logStore{dir: dir, segBytes: segBytes, log: log, onFail: onFail}
	if err := s.load(); err != nil {
		s.closeFiles()
		return nil, err
	}
	return s, nil
}

// load reads every segment, cuts a torn tail off the last one, drops empty segments and those
// before a gap, and refuses a log that is corrupt anywhere else.
func (s *logStore) load() error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	var bases []uint64
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".seg") {
			continue
		}
		b, err := strconv.ParseUint(strings.TrimSuffix(name, ".seg"), 10, 64)
		if err != nil || segName(b) != name {
			return fmt.Errorf("raft log %s: unexpected file %s", s.dir, name)
		}
		bases = append(bases, b)
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	changed := false
	for i, b := range bases {
		isLast := i == len(bases)-1
		seg, torn, err := openSegment(filepath.Join(s.dir, segName(b)), b)
		if err != nil {
			return err
		}
		if torn != nil && !isLast {
			_ = seg.f.Close()
			return fmt.Errorf("raft log: segment %s is corrupt at offset %d (%v), and later segments exist: "+
				"acknowledged entries may be lost. Move this node's %s folder away and restart it: it then "+
				"catches up from the leader (a majority of the cluster must be running)", seg.path, seg.size, torn, filepath.Dir(s.dir))
		}
		if torn != nil {
			// Never acknowledged: a StoreLogs returns only after its sync.
			s.log.Warn("raft log: cutting off a torn tail", "segment", seg.path, "offset", seg.size, "entries", len(seg.offs), "reason", torn)
			if err := seg.f.Truncate(seg.size); err != nil {
				_ = seg.f.Close()
				return err
			}
			if err := fdatasync(seg.f); err != nil {
				_ = seg.f.Close()
				return err
			}
			seg.allocated = seg.size
		}
		if len(seg.offs) == 0 {
			// A segment started but no batch synced into it: nothing acknowledged.
			_ = seg.f.Close()
			if err := os.Remove(seg.path); err != nil {
				return err
			}
			changed = true
			continue
		}
		if n := len(s.segs); n > 0 {
			prev := s.segs[n-1]
			switch {
			case seg.base > prev.next():
				// A gap append was synced but the older segments not yet removed.
				for _, old := range s.segs {
					_ = old.f.Close()
					if err := os.Remove(old.path); err != nil {
						_ = seg.f.Close()
						return err
					}
				}
				s.segs = nil
				changed = true
			case seg.base < prev.next():
				_ = seg.f.Close()
				return fmt.Errorf("raft log: segment %s starts at index %d, inside %s (which ends at %d)",
					seg.path, seg.base, prev.path, prev.last())
			}
		}
		s.segs = append(s.segs, seg)
	}
	if changed {
		return syncDir(s.dir)
	}
	return nil
}

// openSegment opens a segment and indexes its records. torn is why the records end before the
// file does (nil at a clean end: zeros or the end of the file); seg.size is then where the
// intact records end.
func openSegment(path string, base uint64) (seg *segment, torn error, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, nil, err
	}
	seg = &segment{base: base, first: base, f: f, path: path, size: segHeaderLen, allocated: st.Size()}
	var hdr [segHeaderLen]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil || !validSegHeader(hdr[:], base) {
		// Created, but its header never made it to disk: no record can have been synced.
		seg.size = 0
		return seg, fmt.Errorf("no valid segment header"), nil
	}
	r := &offsetReader{f: f, off: segHeaderLen, buf: make([]byte, 0, 1<<20)}
	for {
		if seg.size == st.Size() {
			return seg, nil, nil
		}
		h, err := r.peek(recHeaderLen)
		if err != nil {
			return seg, fmt.Errorf("record header: %w", err), nil
		}
		n := int64(binary.LittleEndian.Uint32(h))
		sum := binary.LittleEndian.Uint32(h[4:])
		if n == 0 && sum == 0 {
			return seg, nil, nil // zeros: the end of what was written
		}
		if n < recFixedLen || n > maxRecordBody || seg.size+recHeaderLen+n > st.Size() {
			return seg, fmt.Errorf("record length %d", n), nil
		}
		body, err := r.peek(recHeaderLen + int(n))
		if err != nil {
			return seg, fmt.Errorf("record body: %w", err), nil
		}
		body = body[recHeaderLen:]
		if crc32.Checksum(body, castagnoli) != sum {
			return seg, fmt.Errorf("checksum mismatch"), nil
		}
		if idx := binary.LittleEndian.Uint64(body); idx != seg.next() {
			return seg, fmt.Errorf("index %d where %d was due", idx, seg.next()), nil
		}
		seg.offs = append(seg.offs, seg.size)
		seg.size += recHeaderLen + n
		r.advance(recHeaderLen + int(n))
	}
}

func segHeader(base uint64) []byte {
	h := make([]byte, segHeaderLen)
	copy(h, segMagic)
	binary.LittleEndian.PutUint64(h[8:], base)
	binary.LittleEndian.PutUint32(h[16:], crc32.Checksum(h[:16], castagnoli))
	return h
}

func validSegHeader(h []byte, base uint64) bool {
	return string(h[:8]) == segMagic && binary.LittleEndian.Uint64(h[8:]) == base &&
		binary.LittleEndian.Uint32(h[16:]) == crc32.Checksum(h[:16], castagnoli)
}

// offsetReader reads a file sequentially through a buffer, handing out views of it.
type offsetReader struct {
	f   *os.File
	off int64 // file offset of buf[0]
	buf []byte
}

// peek returns the next n bytes without consuming them.
func (r *offsetReader) peek(n int) ([]byte, error) {
	if len(r.buf) >= n {
		return r.buf[:n], nil
	}
	if cap(r.buf) < n {
		nb := make([]byte, len(r.buf), n)
		copy(nb, r.buf)
		r.buf = nb
	}
	have := len(r.buf)
	r.buf = r.buf[:cap(r.buf)]
	got, err := r.f.ReadAt(r.buf[have:], r.off+int64(have))
	r.buf = r.buf[:have+got]
	if len(r.buf) >= n {
		return r.buf[:n], nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return nil, err
}

func (r *offsetReader) advance(n int) {
	r.off += int64(n)
	r.buf = append(r.buf[:0], r.buf[n:]...)
}

// FirstIndex implements raft.LogStore.
func (s *logStore) FirstIndex() (uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, errLogStoreClosed
	}
	if len(s.segs) == 0 {
		return 0, nil
	}
	return s.segs[0].first, nil
}

// LastIndex implements raft.LogStore.
func (s *logStore) LastIndex() (uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, errLogStoreClosed
	}
	if len(s.segs) == 0 {
		return 0, nil
	}
	return s.segs[len(s.segs)-1].last(), nil
}

// GetLog implements raft.LogStore.
func (s *logStore) GetLog(index uint64, l *raft.Log) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errLogStoreClosed
	}
	k := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].next() > index })
	if k == len(s.segs) || index < s.segs[k].first {
		return raft.ErrLogNotFound
	}
	seg := s.segs[k]
	off := seg.offs[index-seg.base]
	rec := make([]byte, seg.end(index)-off)
	if _, err := seg.f.ReadAt(rec, off); err != nil {
		return fmt.Errorf("raft log: reading index %d from %s: %w", index, seg.path, err)
	}
	if err := decodeRecord(rec, l); err != nil {
		return fmt.Errorf("raft log: index %d in %s at offset %d: %w", index, seg.path, off, err)
	}
	if l.Index != index {
		return fmt.Errorf("raft log: %s at offset %d holds index %d, want %d", seg.path, off, l.Index, index)
	}
	return nil
}

// StoreLog implements raft.LogStore.
func (s *logStore) StoreLog(l *raft.Log) error { return s.StoreLogs([]*raft.Log{l}) }

// StoreLogs implements raft.LogStore: the entries are durable when it returns. They must have
// consecutive indexes. Entries at or below the log's last index replace the log from there on;
// entries past a gap replace the whole log (see logStore).
func (s *logStore) StoreLogs(logs []*raft.Log) error {
	if len(logs) == 0 {
		return nil
	}
	for i, l := range logs {
		if l.Index != logs[0].Index+uint64(i) {
			return fmt.Errorf("raft log: entries to store are not consecutive (%d after %d)", l.Index, logs[0].Index+uint64(i)-1)
		}
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	first := logs[0].Index
	var seg *segment
	dropOld := false
	if n := len(s.segs); n > 0 {
		seg = s.segs[n-1]
		switch next := seg.next(); {
		case first < next:
			if err := s.truncateTail(first); err != nil {
				return s.fail(err)
			}
			seg = nil
			if n := len(s.segs); n > 0 {
				seg = s.segs[n-1]
			}
		case first > next:
			seg, dropOld = nil, true
		}
	}
	if seg != nil && seg.size >= s.segBytes {
		// Sealed: give back the preallocated tail (zeros; losing this truncation to a crash
		// costs nothing).
		_ = seg.f.Truncate(seg.size)
		seg = nil
	}
	if seg == nil {
		var err error
		if seg, err = s.newSegment(first); err != nil {
			return s.fail(err)
		}
	}
	offs, size, err := s.write(seg, logs)
	if err != nil {
		return s.fail(err)
	}
	s.mu.Lock()
	if len(s.segs) == 0 || s.segs[len(s.segs)-1] != seg {
		if dropOld {
			s.closeSegs(s.segs)
			s.segs = nil
		}
		s.segs = append(s.segs, seg)
	}
	seg.offs = append(seg.offs, offs...)
	seg.size = size
	s.mu.Unlock()
	if dropOld {
		// The new segment is durable; the old ones are only garbage now.
		if err := s.removeSegFiles(s.dir); err != nil {
			return s.fail(err)
		}
	}
	return nil
}

// write appends the records to seg's file and syncs it, returning their offsets and the new
// end. Nothing becomes visible to readers here.
func (s *logStore) write(seg *segment, logs []*raft.Log) ([]int64, int64, error) {
	offs := make([]int64, 0, len(logs))
	pos := seg.size
	start := pos
	buf := s.buf[:0]
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		if _, err := seg.f.WriteAt(buf, start); err != nil {
			return err
		}
		start += int64(len(buf))
		buf = buf[:0]
		return nil
	}
	for _, l := range logs {
		n := recFixedLen + len(l.Data) + len(l.Extensions)
		if n > maxRecordBody {
			return nil, 0, fmt.Errorf("raft log: entry %d is %d bytes, more than %d", l.Index, n, maxRecordBody)
		}
		offs = append(offs, pos)
		buf = appendRecord(buf, l)
		pos += int64(recHeaderLen + n)
		if len(buf) >= 1<<20 {
			if err := flush(); err != nil {
				return nil, 0, err
			}
		}
	}
	if pos > seg.allocated {
		// Ahead of the writes, so that most fdatasyncs are of writes inside the file's size and
		// do not wait for a size change to be journaled.
		want := pos + preallocBytes
		if err := fallocate(seg.f, seg.allocated, want-seg.allocated); err == nil {
			seg.allocated = want
		}
	}
	if err := flush(); err != nil {
		return nil, 0, err
	}
	if cap(buf) <= 4<<20 {
		s.buf = buf
	}
	if err := fdatasync(seg.f); err != nil {
		return nil, 0, err
	}
	seg.allocated = max(seg.allocated, pos)
	return offs, pos, nil
}

func appendRecord(buf []byte, l *raft.Log) []byte {
	n := recFixedLen + len(l.Data) + len(l.Extensions)
	h := len(buf)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(n))
	buf = binary.LittleEndian.AppendUint32(buf, 0) // the CRC, below
	b := len(buf)
	buf = binary.LittleEndian.AppendUint64(buf, l.Index)
	buf = binary.LittleEndian.AppendUint64(buf, l.Term)
	buf = append(buf, byte(l.Type))
	var at int64
	if !l.AppendedAt.IsZero() {
		at = l.AppendedAt.UnixNano()
	}
	buf = binary.LittleEndian.AppendUint64(buf, uint64(at))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(l.Data)))
	buf = append(buf, l.Data...)
	buf = append(buf, l.Extensions...)
	binary.LittleEndian.PutUint32(buf[h+4:], crc32.Checksum(buf[b:], castagnoli))
	return buf
}

// decodeRecord decodes one whole record; l's byte slices point into rec.
func decodeRecord(rec []byte, l *raft.Log) error {
	if len(rec) < recHeaderLen+recFixedLen {
		return fmt.Errorf("short record (%d bytes)", len(rec))
	}
	n := binary.LittleEndian.Uint32(rec)
	body := rec[recHeaderLen:]
	if int(n) != len(body) {
		return fmt.Errorf("record length %d, %d bytes in place", n, len(body))
	}
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(rec[4:]) {
		return fmt.Errorf("checksum mismatch")
	}
	dataLen := binary.LittleEndian.Uint32(body[25:])
	if int(dataLen) > len(body)-recFixedLen {
		return fmt.Errorf("data length %d in a %d-byte record", dataLen, len(body))
	}
	*l = raft.Log{
		Index: binary.LittleEndian.Uint64(body),
		Term:  binary.LittleEndian.Uint64(body[8:]),
		Type:  raft.LogType(body[16]),
	}
	if at := int64(binary.LittleEndian.Uint64(body[17:])); at != 0 {
		l.AppendedAt = time.Unix(0, at)
	}
	rest := body[recFixedLen:]
	if dataLen > 0 {
		l.Data = rest[:dataLen:dataLen]
	}
	if ext := rest[dataLen:]; len(ext) > 0 {
		l.Extensions = ext
	}
	return nil
}

// newSegment creates the segment whose first record is base; it and its folder entry are
// durable before any record is written to it.
func (s *logStore) newSegment(base uint64) (*segment, error) {
	path := filepath.Join(s.dir, segName(base))
	// A leftover of the same name holds nothing live: every live segment is in s.segs, and
	// their bases are below base.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	seg := &segment{base: base, first: base, f: f, path: path, size: segHeaderLen}
	if err := fallocate(f, 0, preallocBytes); err == nil {
		seg.allocated = preallocBytes
	}
	if _, err := f.WriteAt(segHeader(base), 0); err != nil {
		_ = f.Close()
		return nil, err
	}
	seg.allocated = max(seg.allocated, segHeaderLen)
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return nil, err
	}
	if err := syncDir(s.dir); err != nil {
		_ = f.Close()
		return nil, err
	}
	return seg, nil
}

// truncateTail removes every entry from index from on. Called under wmu.
func (s *logStore) truncateTail(from uint64) error {
	s.mu.Lock()
	var gone []*segment
	for len(s.segs) > 0 && s.segs[len(s.segs)-1].base >= from {
		gone = append(gone, s.segs[len(s.segs)-1])
		s.segs = s.segs[:len(s.segs)-1]
	}
	var cut *segment
	if n := len(s.segs); n > 0 && s.segs[n-1].next() > from {
		cut = s.segs[n-1]
		if from <= cut.first {
			// No live entry of it is left.
			gone = append(gone, cut)
			s.segs = s.segs[:n-1]
			cut = nil
		}
	}
	var cutAt int64
	if cut != nil {
		cutAt = cut.offs[from-cut.base]
		cut.offs = cut.offs[:from-cut.base]
		cut.size = cutAt
	}
	s.mu.Unlock()
	// Newest first, so that a crash part way leaves a prefix of the old log.
	for _, g := range gone {
		_ = g.f.Close()
		if err := os.Remove(g.path); err != nil {
			return err
		}
	}
	if len(gone) > 0 {
		if err := syncDir(s.dir); err != nil {
			return err
		}
	}
	if cut != nil {
		// Physically: bytes past the last record must be zeros (see logStore).
		if err := cut.f.Truncate(cutAt); err != nil {
			return err
		}
		if err := fdatasync(cut.f); err != nil {
			return err
		}
		cut.allocated = cutAt
		if len(cut.offs) == 0 {
			s.mu.Lock()
			s.segs = s.segs[:len(s.segs)-1]
			s.mu.Unlock()
			_ = cut.f.Close()
			if err := os.Remove(cut.path); err != nil {
				return err
			}
			return syncDir(s.dir)
		}
	}
	return nil
}

// DeleteRange implements raft.LogStore. Raft deletes either a prefix (compaction after a
// snapshot) or a suffix (a follower's entries that conflict with the leader's).
func (s *logStore) DeleteRange(lo, hi uint64) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	if len(s.segs) == 0 || lo > hi {
		return nil
	}
	first, last := s.segs[0].first, s.segs[len(s.segs)-1].last()
	switch {
	case hi < first || lo > last:
		return nil
	case lo > first && hi >= last:
		if err := s.truncateTail(lo); err != nil {
			return s.fail(err)
		}
		return nil
	case lo > first:
		return fmt.Errorf("raft log: cannot delete %d-%d from the middle of %d-%d", lo, hi, first, last)
	}
	// A prefix: whole segments go; inside a segment only the first live index moves (after
	// a restart those entries reappear, all committed and covered by the snapshot).
	s.mu.Lock()
	var gone []*segment
	for len(s.segs) > 0 && s.segs[0].last() <= hi {
		gone = append(gone, s.segs[0])
		s.segs = s.segs[1:]
	}
	if len(s.segs) > 0 && s.segs[0].first <= hi {
		s.segs[0].first = hi + 1
	}
	s.mu.Unlock()
	if len(gone) == 0 {
		return nil
	}
	for _, g := range gone {
		_ = g.f.Close()
		// Oldest first: a crash part way leaves a suffix of the log, still contiguous.
		if err := os.Remove(g.path); err != nil {
			return s.fail(err)
		}
	}
	if err := syncDir(s.dir); err != nil {
		return s.fail(err)
	}
	return nil
}

// removeSegFiles removes the segment files of dir that are not live. Called under wmu.
func (s *logStore) removeSegFiles(dir string) error {
	live := map[string]bool{}
	s.mu.RLock()
	for _, seg := range s.segs {
		live[filepath.Base(seg.path)] = true
	}
	s.mu.RUnlock()
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	removed := false
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".seg") && !live[e.Name()] {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
			removed = true
		}
	}
	if removed {
		return syncDir(dir)
	}
	return nil
}

func (s *logStore) closeSegs(segs []*segment) {
	for _, seg := range segs {
		_ = seg.f.Close()
	}
}

func (s *logStore) writable() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errLogStoreClosed
	}
	return s.failed
}

// fail records a write failure: no later write is tried, and the node is told to stop.
func (s *logStore) fail(err error) error {
	err = fmt.Errorf("raft log %s: %w", s.dir, err)
	s.mu.Lock()
	first := s.failed == nil
	if first {
		s.failed = err
	}
	s.mu.Unlock()
	if first {
		s.log.Error("raft log write failed; the node stops", "err", err)
		if s.onFail != nil {
			go s.onFail(err)
		}
	}
	return err
}

// Close closes the files. Later calls fail with errLogStoreClosed.
func (s *logStore) Close() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.closeFiles()
	return nil
}

func (s *logStore) closeFiles() {
	for _, seg := range s.segs {
		_ = seg.f.Close()
	}
	s.segs = nil
}
