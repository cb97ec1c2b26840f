package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// stableStore is raft's StableStore (current term, vote): a handful of keys, written only at
// elections. Every Set rewrites one small file beside the log and renames it into place, so a
// crash leaves the old or the new contents, never a mix.
//
// File: stableMagic, then {keyLen(u32 LE) key valLen(u32 LE) val}*, then crc32c(u32 LE) of
// everything before it.
type stableStore struct {
	path string
	mu   sync.Mutex
	kv   map[string][]byte
}

const stableMagic = "kmbstab1"

// errNotFound is the error raft expects for a missing key: it compares the text.
var errNotFound = errors.New("not found")

func openStableStore(path string) (*stableStore, error) {
	s := &stableStore{path: path, kv: map[string][]byte{}}
	_ = os.Remove(path + ".tmp") // a Set that crashed before its rename
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	if err := s.decode(b); err != nil {
		return nil, fmt.Errorf("raft state %s: %w", path, err)
	}
	return s, nil
}

func (s *stableStore) decode(b []byte) error {
	if len(b) < len(stableMagic)+4 || string(b[:len(stableMagic)]) != stableMagic {
		return errors.New("not a raft state file")
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return errors.New("checksum mismatch")
	}
	rest := body[len(stableMagic):]
	next := func() ([]byte, error) {
		if len(rest) < 4 {
			return nil, errors.New("truncated")
		}
		n := binary.LittleEndian.Uint32(rest)
		if uint64(n) > uint64(len(rest)-4) {
			return nil, errors.New("truncated")
		}
		v := rest[4 : 4+n]
		rest = rest[4+n:]
		return v, nil
	}
	for len(rest) > 0 {
		k, err := next()
		if err != nil {
			return err
		}
		v, err := next()
		if err != nil {
			return err
		}
		s.kv[string(k)] = append([]byte(nil), v...)
	}
	return nil
}

func (s *stableStore) encode() []byte {
	keys := make([]string, 0, len(s.kv))
	for k := range s.kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b := []byte(stableMagic)
	for _, k := range keys {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(k)))
		b = append(b, k...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s.kv[k])))
		b = append(b, s.kv[k]...)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// Set implements raft.StableStore; the value is durable when it returns.
func (s *stableStore) Set(key, val []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, had := s.kv[string(key)]
	s.kv[string(key)] = append([]byte(nil), val...)
	if err := s.persist(); err != nil {
		if had {
			s.kv[string(key)] = old
		} else {
			delete(s.kv, string(key))
		}
		return fmt.Errorf("raft state %s: %w", s.path, err)
	}
	return nil
}

func (s *stableStore) persist() error {
	tmp := s.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(s.encode())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(s.path))
	}
	return err
}

// Get implements raft.StableStore.
func (s *stableStore) Get(key []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.kv[string(key)]
	if !ok {
		return nil, errNotFound
	}
	return append([]byte(nil), v...), nil
}

// SetUint64 implements raft.StableStore.
func (s *stableStore) SetUint64(key []byte, val uint64) error {
	return s.Set(key, binary.BigEndian.AppendUint64(nil, val))
}

// GetUint64 implements raft.StableStore.
func (s *stableStore) GetUint64(key []byte) (uint64, error) {
	v, err := s.Get(key)
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("raft state %s: %q is %d bytes, not a uint64", s.path, key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// syncDir makes a folder's entries (created, renamed, removed files) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
