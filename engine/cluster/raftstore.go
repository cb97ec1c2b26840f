package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// Raft's state in DataDir/raft: the log and the stable store in raft/log (logStore, stableStore),
// snapshots in raft/snapshots. Earlier versions kept the log and the stable store in one bbolt
// file, raft/raft.db; openRaftState migrates it once.
const (
	raftLogDir     = "log"
	raftStableFile = "stable"
	oldBoltFile    = "raft.db"
)

// openRaftState opens the log and the stable store under raftDir, migrating an older node's
// raft.db first.
func openRaftState(raftDir string, segBytes int64, log *slog.Logger, onFail func(error)) (*logStore, *stableStore, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir := filepath.Join(raftDir, raftLogDir)
	old := filepath.Join(raftDir, oldBoltFile)
	_, err := os.Stat(dir)
	switch {
	case err == nil:
		// A migration that finished but crashed before removing the old file.
		if err := os.Remove(old); err == nil {
			log.Info("removed the raft log of the earlier format, already migrated", "file", old)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, nil, err
	default:
		if _, err := os.Stat(old); err == nil {
			if err := migrateBolt(old, dir, segBytes, log); err != nil {
				return nil, nil, fmt.Errorf("migrating the raft log %s to %s: %w (the old file is unchanged; "+
					"to start the node without it, move %s away: it then catches up from the leader)", old, dir, err, raftDir)
			}
		}
	}
	ls, err := openLogStore(dir, segBytes, log, onFail)
	if err != nil {
		return nil, nil, err
	}
	ss, err := openStableStore(filepath.Join(dir, raftStableFile))
	if err != nil {
		_ = ls.Close()
		return nil, nil, err
	}
	return ls, ss, nil
}

// stableKeys are the keys hashicorp/raft keeps in its StableStore.
var stableKeys = []string{"CurrentTerm", "LastVoteTerm", "LastVoteCand"}

// migrateBolt copies a raft-boltdb log and stable store into a new log folder at dir: written
// in a temporary folder, synced, renamed into place, then the old file removed. A crash at any
// point leaves either the old file alone (migrated again at the next start) or the new folder.
func migrateBolt(old, dir string, segBytes int64, log *slog.Logger) error {
	tmp := dir + ".migrating"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	bs, err := raftboltdb.New(raftboltdb.Options{Path: old})
	if err != nil {
		return err
	}
	defer bs.Close()
	ls, err := openLogStore(tmp, segBytes, log, nil)
	if err != nil {
		return err
	}
	defer ls.Close()
	ss, err := openStableStore(filepath.Join(tmp, raftStableFile))
	if err != nil {
		return err
	}
	for _, k := range stableKeys {
		v, err := bs.Get([]byte(k))
		if err != nil && err.Error() == errNotFound.Error() {
			continue
		}
		if err != nil {
			return err
		}
		if err := ss.Set([]byte(k), v); err != nil {
			return err
		}
	}
	first, err := bs.FirstIndex()
	if err != nil {
		return err
	}
	last, err := bs.LastIndex()
	if err != nil {
		return err
	}
	var batch []*raft.Log
	size := 0
	flush := func() error {
		err := ls.StoreLogs(batch)
		batch, size = batch[:0], 0
		return err
	}
	copied := 0
	for i := first; i != 0 && i <= last; i++ {
		l := new(raft.Log)
		if err := bs.GetLog(i, l); errors.Is(err, raft.ErrLogNotFound) {
			// A gap (after a snapshot install): what comes before it is covered by the
			// snapshot, and the new store drops it at the gap anyway.
			if err := flush(); err != nil {
				return err
			}
			continue
		} else if err != nil {
			return err
		}
		batch = append(batch, l)
		size += len(l.Data)
		copied++
		if len(batch) >= 256 || size >= 16<<20 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := ls.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(dir)); err != nil {
		return err
	}
	_ = bs.Close()
	if err := os.Remove(old); err != nil {
		return err
	}
	log.Info("migrated the raft log to its new format", "from", old, "to", dir, "entries", copied, "first", first, "last", last)
	return syncDir(filepath.Dir(dir))
}
