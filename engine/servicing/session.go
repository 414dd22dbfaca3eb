package servicing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wimconsole/wimconsole/engine/atomicfile"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// SessionsDir is the folder, under the store's WdsConsole folder, that holds
// one folder per servicing session.
const SessionsDir = "servicing"

// sessionFile is the session's description inside its folder; staged data
// lives in its data folder.
const (
	sessionFile = "session.json"
	dataDir     = "data"
	workDir     = "work"
	unattendTmp = "ImageUnattend.xml"
)

// Session states.
const (
	StateOpen       = "open"       // changes may be staged
	StateCommitting = "committing" // a commit was started
)

// ErrNoSession is returned when an image has no servicing session.
var ErrNoSession = errors.New("no servicing session")

// Session is a servicing session on one image of a store: the changes staged
// so far, persisted in the store's WdsConsole/servicing/<id> folder so that it
// survives restarts. A Session is used by one goroutine at a time; two
// processes must not change the same session at once.
type Session struct {
	ID      string    `json:"id"`
	Image   string    `json:"image"` // store.ImageRef in its string form
	Started time.Time `json:"started"`
	State   string    `json:"state"`
	// Base identifies the image file the session began on (size,
	// modification time and metadata hash, see store.ImageVersion): when it
	// changes, the session is stale, and a commit is refused.
	BaseSize  int64    `json:"base_size"`
	BaseMtime int64    `json:"base_mtime"`
	BaseMeta  string   `json:"base_meta,omitempty"`
	Changes   []Change `json:"changes"`
	// Unattend is true when the session holds a new ImageUnattend.xml
	// for the image (staged by AddDriver or SetUnattend).
	Unattend bool `json:"unattend,omitempty"`
	// Mount is the working folder the image was extracted to, if any.
	Mount string `json:"mount,omitempty"`
	// Target is the new image file a commit as a new image creates.
	Target string `json:"target,omitempty"`
	// NextData numbers the staged data folders.
	NextData int `json:"next_data"`

	s   *store.Store
	ref store.ImageRef
	dir string
}

// Pending describes a session found in the store, for start-up: Stale says
// why it can no longer be committed ("" when it can be resumed).
type Pending struct {
	*Session
	Stale string
}

func sessionsRoot(s *store.Store) string {
	return filepath.Join(s.Root(), store.ConsoleDir, SessionsDir)
}

func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Begin starts a servicing session on image r, which must exist and be
// disabled (as WDS requires before an image is replaced). An image has at
// most one session, mounted or not (as DISM mounts an image once): a second
// is refused, naming the first and its mount folder.
func Begin(ctx context.Context, s *store.Store, r store.ImageRef) (*Session, error) {
	return begin(ctx, s, r, "")
}

// begin is Begin for a session mounted at the folder mount ("": none), which
// is recorded from the start so that no change can be staged in the session
// while the image is being extracted.
func begin(ctx context.Context, s *store.Store, r store.ImageRef, mount string) (*Session, error) {
	im, err := s.GetImage(ctx, r)
	if err != nil {
		return nil, err
	}
	if im.Enabled {
		return nil, fmt.Errorf("image %s is enabled: disable it before servicing it", r)
	}
	// The check for another session and the new session's creation are
	// one step for every process: the image's servicing lock.
	unlock, err := lockImage(s, r)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if old, err := ForImage(s, r); err == nil {
		if old.Mount != "" {
			return nil, fmt.Errorf("image %s is already mounted at %s (servicing session %s): unmount it first (unmount %s --commit or --discard)", r, old.Mount, old.ID, old.Mount)
		}
		return nil, fmt.Errorf("image %s already has servicing session %s (commit or discard it first)", r, old.ID)
	} else if !errors.Is(err, ErrNoSession) {
		return nil, err
	}
	v, err := s.ImageVersion(r)
	if err != nil {
		return nil, err
	}
	ss := &Session{ID: newID(), Image: r.String(), Started: time.Now().UTC(), State: StateOpen,
		BaseSize: v.Size, BaseMtime: v.Mtime, BaseMeta: v.Meta, Mount: mount, s: s, ref: r}
	ss.dir = filepath.Join(sessionsRoot(s), ss.ID)
	if err := os.MkdirAll(filepath.Join(ss.dir, dataDir), 0o755); err != nil {
		return nil, err
	}
	if err := ss.save(); err != nil {
		os.RemoveAll(ss.dir)
		return nil, err
	}
	return ss, nil
}

// Load returns session id of store s.
func Load(s *store.Store, id string) (*Session, error) {
	if id == "" || strings.ContainsAny(id, `/\.`) {
		return nil, fmt.Errorf("invalid session id %q", id)
	}
	dir := filepath.Join(sessionsRoot(s), id)
	data, err := os.ReadFile(filepath.Join(dir, sessionFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("servicing session %s: %w", id, ErrNoSession)
		}
		return nil, err
	}
	ss := &Session{}
	if err := json.Unmarshal(data, ss); err != nil {
		return nil, fmt.Errorf("servicing session %s: %s is corrupt: %w", id, sessionFile, err)
	}
	if ss.ID != id {
		return nil, fmt.Errorf("servicing session %s: %s names session %q", id, sessionFile, ss.ID)
	}
	r, err := store.ParseImageRef(ss.Image)
	if err != nil {
		return nil, fmt.Errorf("servicing session %s: %w", id, err)
	}
	ss.s, ss.ref, ss.dir = s, r, dir
	return ss, nil
}

// Sessions returns the sessions of store s, oldest first. Folders that are not
// sessions (a session dir whose description is missing or corrupt) are
// skipped; Cleanup removes them.
func Sessions(s *store.Store) ([]*Session, error) {
	ents, err := os.ReadDir(sessionsRoot(s))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []*Session
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		if ss, err := Load(s, e.Name()); err == nil {
			out = append(out, ss)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.Before(out[j].Started) })
	return out, nil
}

// ForImage returns the session of image r, or an error wrapping ErrNoSession.
func ForImage(s *store.Store, r store.ImageRef) (*Session, error) {
	all, err := Sessions(s)
	if err != nil {
		return nil, err
	}
	for _, ss := range all {
		if strings.EqualFold(ss.Image, r.String()) {
			return ss, nil
		}
	}
	return nil, fmt.Errorf("image %s: %w", r, ErrNoSession)
}

// Stale lists every session of s with the reason it is stale, for the
// start-up check: a session whose image is gone or was changed since it
// began, or whose commit was interrupted, can only be discarded; the others
// can be resumed.
func Stale(s *store.Store) ([]Pending, error) {
	all, err := Sessions(s)
	if err != nil {
		return nil, err
	}
	out := make([]Pending, len(all))
	for i, ss := range all {
		out[i] = Pending{Session: ss, Stale: ss.staleReason()}
	}
	return out, nil
}

func (ss *Session) staleReason() string {
	cur, err := ss.s.ImageVersion(ss.ref)
	changed := err == nil && !cur.Same(ss.base())
	if err != nil {
		if _, serr := os.Stat(ss.s.ImagePath(ss.ref)); serr == nil {
			return "image " + ss.Image + " cannot be read: " + err.Error()
		}
	}
	if ss.State == StateCommitting {
		if ss.Target != "" {
			t := ss.ref
			t.File = ss.Target
			if _, err := os.Stat(ss.s.ImagePath(t)); err == nil {
				return "committed as image " + t.String() + "; the session can be removed"
			}
		} else if changed {
			return "committed; the session can be removed"
		}
		return "its commit was interrupted before it took effect; discard it or commit again"
	}
	if err != nil {
		return "image " + ss.Image + " no longer exists"
	}
	if changed {
		return "image " + ss.Image + " was changed since the session began"
	}
	return ""
}

// newData names a new data folder or file of the session, relative to its
// folder. The name is unique even among handles of the session that another
// process holds (its data is written before the change is staged under the
// lock).
func (ss *Session) newData() string {
	ss.NextData++
	return dataDir + "/" + strconv.Itoa(ss.NextData) + "-" + newID()[:8]
}

// base is the version of the image the session began on.
func (ss *Session) base() store.ImageVersion {
	return store.ImageVersion{Size: ss.BaseSize, Mtime: ss.BaseMtime, Meta: ss.BaseMeta}
}

// lockImage takes the servicing lock of image r (see store.LockServicing):
// every read-and-change of a session's state holds it, so that two
// processes (the console and the command line, or two commands) never work
// from one session's state at once.
func lockImage(s *store.Store, r store.ImageRef) (func(), error) {
	unlock, err := s.LockServicing(r, store.BusyTimeout)
	if err != nil {
		if errors.Is(err, store.ErrGroupBusy) {
			return nil, fmt.Errorf("image %s: another operation is working on its servicing session (a commit, an unmount or a change); try again when it has finished: %w", r, store.ErrGroupBusy)
		}
		return nil, err
	}
	return unlock, nil
}

// lock takes the servicing lock of the session's image and reads the
// session's state again from its folder, which another process may have
// changed (or ended) since it was loaded: what is then checked and changed
// is the current state. The caller releases the lock.
func (ss *Session) lock() (func(), error) {
	unlock, err := lockImage(ss.s, ss.ref)
	if err != nil {
		return nil, err
	}
	cur, err := Load(ss.s, ss.ID)
	if err != nil {
		unlock()
		if errors.Is(err, ErrNoSession) {
			return nil, fmt.Errorf("servicing session %s of image %s has ended (committed or discarded by another operation): %w", ss.ID, ss.Image, ErrNoSession)
		}
		return nil, err
	}
	// Data folders numbered here but not yet staged keep their numbers.
	cur.NextData = max(cur.NextData, ss.NextData)
	*ss = *cur
	return unlock, nil
}

// Ref returns the image the session works on.
func (ss *Session) Ref() store.ImageRef { return ss.ref }

// Dir returns the session's folder.
func (ss *Session) Dir() string { return ss.dir }

// Discard ends the session without changing the image: its staged data
// goes. A mounted working folder is left to its owner.
func (ss *Session) Discard() error {
	unlock, err := lockImage(ss.s, ss.ref)
	if err != nil {
		return err
	}
	defer unlock()
	return ss.discard()
}

// discard is Discard for a caller that holds the image's servicing lock.
func (ss *Session) discard() error {
	if err := os.RemoveAll(ss.dir); err != nil {
		return fmt.Errorf("discarding servicing session %s: %w", ss.ID, err)
	}
	return nil
}

// save writes the session's description (temporary file, synced, renamed).
func (ss *Session) save() error {
	data, err := json.MarshalIndent(ss, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(ss.dir, sessionFile), data, 0o644)
}

// checkBase refuses to work on an image changed since the session began.
func (ss *Session) checkBase() error {
	if why := ss.staleReason(); why != "" {
		return fmt.Errorf("servicing session %s is stale: %s", ss.ID, why)
	}
	return nil
}

// openBase opens the image's WIM file with its group's Res.rwm.
func (ss *Session) openBase() (*wim.WIM, error) {
	o := &wim.OpenOptions{NoSplitSearch: true}
	if !ss.ref.Boot {
		if _, err := os.Stat(ss.s.ResPath(ss.ref.Group)); err == nil {
			o.Refs = []string{ss.s.ResPath(ss.ref.Group)}
		}
	}
	return wim.Open(ss.s.ImagePath(ss.ref), o)
}
