package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// locksDir holds one lock file per image group (and per boot architecture).
const locksDir = "locks"

// groupLock is an exclusive lock on one or more groups, held by this process
// for the length of an operation that changes their files. It is an
// operating-system file lock (taken through bbolt, which locks its file on
// every platform), so it is released when the process dies: a killed
// operation never leaves a group locked.
type groupLock struct {
	dbs []*bolt.DB
}

// lockNames locks the named lock keys ("g:<group>", "b:<arch>") in a fixed
// order, waiting at most wait for each, and fails with ErrBusy.
func (s *Store) lockNames(wait time.Duration, keys ...string) (*groupLock, error) {
	keys = slices.Clone(keys)
	for i, k := range keys {
		keys[i] = strings.ToLower(k)
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	dir := filepath.Join(s.root, ConsoleDir, locksDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store %s: %w", s.root, err)
	}
	l := &groupLock{}
	for _, k := range keys {
		name := filepath.Join(dir, lockFileName(k))
		db, err := bolt.Open(name, 0o644, &bolt.Options{Timeout: wait, NoSync: true})
		if err != nil {
			l.unlock()
			if errors.Is(err, berrors.ErrTimeout) {
				return nil, fmt.Errorf("%s %q: %w", lockWhat(k), k[2:], ErrGroupBusy)
			}
			return nil, fmt.Errorf("locking %s: %w", name, err)
		}
		l.dbs = append(l.dbs, db)
	}
	return l, nil
}

// ErrGroupBusy is returned when another operation holds an image group (or
// boot architecture) for longer than BusyTimeout.
var ErrGroupBusy = errors.New("busy: another operation is changing it; try again")

func lockWhat(k string) string {
	switch {
	case strings.HasPrefix(k, "b:"):
		return "boot architecture"
	case strings.HasPrefix(k, "s:"):
		return "servicing of image"
	}
	return "image group"
}

// lockFileName maps a lock key to a file name that is safe on every system
// (group names may hold characters a name cannot repeat case-sensitively).
func lockFileName(k string) string {
	var b strings.Builder
	for _, r := range k {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, "%%%x", r)
		}
	}
	return b.String() + ".lock"
}

func (l *groupLock) unlock() {
	if l == nil {
		return
	}
	for _, db := range l.dbs {
		db.Close()
	}
	l.dbs = nil
}

// LockServicing takes the servicing lock of image r, waiting at most wait,
// and returns its release (ErrGroupBusy when another holder keeps it). Image
// servicing (engine/servicing) holds it while it reads and changes the state
// of the image's session, so that two processes never act on one session at
// once. It is independent of the group lock, which CommitImage takes inside
// it: take it before any group lock, never while holding one.
func (s *Store) LockServicing(r ImageRef, wait time.Duration) (unlock func(), err error) {
	l, err := s.lockNames(wait, servicingKey(r))
	if err != nil {
		return nil, err
	}
	return l.unlock, nil
}

func groupKey(g string) string { return "g:" + g }
func archKey(a string) string  { return "b:" + a }

// servicingKey is the lock key of image r's servicing.
func servicingKey(r ImageRef) string { return "s:" + r.String() }

// lockFor returns the lock key of the group or architecture of r.
func (r ImageRef) lockKey() string {
	if r.Boot {
		return archKey(r.Arch)
	}
	return groupKey(r.Group)
}
