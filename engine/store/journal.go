package store

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// journalEntry records a multi-step operation in progress, so that start-up
// recovery can finish or roll it back if the process dies half-way.
type journalEntry struct {
	ID      string    `json:"id"`
	Op      string    `json:"op"`
	Locks   []string  `json:"locks"`
	Group   string    `json:"group,omitempty"`
	Arch    string    `json:"arch,omitempty"`
	File    string    `json:"file,omitempty"`
	Files   []string  `json:"files,omitempty"` // image files (no .wim) the operation creates
	Into    string    `json:"into,omitempty"`
	State   string    `json:"state,omitempty"`
	Build   string    `json:"build,omitempty"` // folder being built, relative to the root
	Old     string    `json:"old,omitempty"`   // folder set aside, relative to the root
	By      string    `json:"by,omitempty"`    // who commits (commit-image), see CommitOptions.By
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`

	// add-image: Res.rwm's size and header before the operation grew it
	// (no header: it did not exist), which a rollback restores.
	ResSize   int64  `json:"res_size,omitempty"`
	ResHeader []byte `json:"res_header,omitempty"`
}

// op is a running journaled operation: it holds its locks and its journal
// entry until done.
type op struct {
	s    *Store
	lock *groupLock
	e    journalEntry
	// saved: the entry is in the journal (see lockOp).
	saved bool
}

func newID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// begin takes the locks of e.Locks, settles what dead operations left
// under them (see lockSettled) and records e in the journal.
func (s *Store) begin(e journalEntry) (*op, error) {
	o, err := s.lockOp(e)
	if err != nil {
		return nil, err
	}
	if err := o.save(); err != nil {
		o.lock.unlock()
		return nil, err
	}
	return o, nil
}

// lockOp is begin without recording the entry: for an operation that
// only reads until its first save, which must come before it changes
// anything on disk (recovery knows only what the journal holds). Each
// catalog transaction costs two flushes of the catalog: an operation that
// would save twice before writing anything saves once.
func (s *Store) lockOp(e journalEntry) (*op, error) {
	if err := s.writable(opWhat(e.Op)); err != nil {
		return nil, err
	}
	lock, err := s.lockSettled(e.Locks...)
	if err != nil {
		return nil, err
	}
	e.ID = newID()
	e.PID = os.Getpid()
	e.Started = time.Now().UTC()
	return &op{s: s, lock: lock, e: e}, nil
}

func (o *op) save() error {
	err := o.s.update(func(tx *bolt.Tx) error {
		return putJSON(tx, bucketJournal, []byte(o.e.ID), o.e)
	})
	if err == nil {
		o.saved = true
	}
	return err
}

// setState records the operation's progress in the journal.
func (o *op) setState(state string) error {
	o.e.State = state
	return o.save()
}

// done removes the journal entry and releases the locks. When removing the
// entry fails, the locks are released anyway and recovery finds an entry
// whose work is complete, which it treats as such.
func (o *op) done() error {
	var err error
	if o.saved {
		err = o.s.update(func(tx *bolt.Tx) error { return deleteKey(tx, bucketJournal, []byte(o.e.ID)) })
	}
	o.lock.unlock()
	return err
}

// abandon releases the locks and leaves the journal entry for recovery,
// which runs at once: used when an operation fails half-way.
func (o *op) abandon() {
	o.lock.unlock()
	if err := o.s.recoverEntry(o.e, 0); err != nil {
		// Recovery is retried when the store is next opened.
		_ = err
	}
}

// lockSettled takes the locks keys, then settles the journal entries that
// hold any of them: while this process holds a lock no live operation
// does, so such an entry is what a dead process left, and the work about
// to start must not meet its half-done files (a rollback would cut back
// what the new work appends to Res.rwm). Entries that also hold locks
// someone else has now are left for later.
func (s *Store) lockSettled(keys ...string) (*groupLock, error) {
	lock, err := s.lockNames(BusyTimeout, keys...)
	if err != nil {
		return nil, err
	}
	held := map[string]bool{}
	for _, k := range keys {
		held[strings.ToLower(k)] = true
	}
	var entries []journalEntry
	if err := s.view(func(tx *bolt.Tx) error {
		var err error
		entries, err = journalEntries(tx)
		return err
	}); err != nil {
		lock.unlock()
		return nil, err
	}
	for _, e := range entries {
		var others []string
		mine := false
		for _, k := range e.Locks {
			if held[strings.ToLower(k)] {
				mine = true
			} else {
				others = append(others, k)
			}
		}
		if !mine {
			continue
		}
		more, err := s.lockNames(recoverWait, others...)
		if errors.Is(err, ErrGroupBusy) {
			continue
		}
		if err == nil {
			err = s.settleEntry(e)
			more.unlock()
		}
		if err != nil {
			lock.unlock()
			return nil, err
		}
	}
	return lock, nil
}

// testHook, when set (by tests), is called at the named steps of
// operations, so that a test can kill the process there.
var testHook func(step string)

// testFail, when set (by tests), is called at the named steps of
// operations that can fail there: an error it returns is the step's.
var testFail func(step string) error

func step(name string) {
	if testHook != nil {
		testHook(name)
	}
}

// stepErr is step at a point where the operation can fail.
func stepErr(name string) error {
	step(name)
	if testFail != nil {
		return testFail(name)
	}
	return nil
}

func journalEntries(tx *bolt.Tx) ([]journalEntry, error) {
	var out []journalEntry
	b := tx.Bucket(bucketJournal)
	if b == nil {
		return nil, nil
	}
	err := b.ForEach(func(k, v []byte) error {
		var e journalEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("catalog: journal entry %q is corrupt: %w", k, err)
		}
		out = append(out, e)
		return nil
	})
	return out, err
}
