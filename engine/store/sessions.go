package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// SessionTTL is how long an install session lives without a heartbeat: the
// session of a client that died expires after it.
var SessionTTL = 30 * time.Second

// ErrImageDisabled is returned when an install session is asked of a
// disabled image.
var ErrImageDisabled = errors.New("image is disabled: no new install sessions can start")

// Session is one client's install session on an image: a lease kept alive by
// heartbeats.
type Session struct {
	ID        string    `json:"id"`
	Image     string    `json:"image"`
	Client    string    `json:"client"`
	PID       int       `json:"pid"`
	Started   time.Time `json:"started"`
	Heartbeat time.Time `json:"heartbeat"`
}

func (se Session) live(now time.Time) bool { return now.Sub(se.Heartbeat) < SessionTTL }

// OpenSession opens an install session on image r for client, refused when
// the image is disabled or missing.
func (s *Store) OpenSession(r ImageRef, client string) (*Session, error) {
	if err := s.writable("open an install session"); err != nil {
		return nil, err
	}
	rec, err := s.record(r)
	if err != nil {
		return nil, err
	}
	var se *Session
	err = s.update(func(tx *bolt.Tx) error {
		// Read the state again inside the transaction.
		if ok, err := getJSON(tx.Bucket(bucketImages), r.key(), &rec); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("image %s does not exist", r)
		}
		if !rec.Enabled {
			return fmt.Errorf("image %s: %w", r, ErrImageDisabled)
		}
		now := time.Now().UTC()
		if err := pruneSessions(tx, now); err != nil {
			return err
		}
		se = &Session{ID: newID(), Image: r.String(), Client: client, PID: os.Getpid(), Started: now, Heartbeat: now}
		return putJSON(tx, bucketSessions, []byte(se.ID), se)
	})
	if err != nil {
		return nil, err
	}
	return se, nil
}

// Heartbeat renews session id's lease.
func (s *Store) Heartbeat(id string) error {
	return s.update(func(tx *bolt.Tx) error {
		var se Session
		ok, err := getJSON(tx.Bucket(bucketSessions), []byte(id), &se)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		if !ok || !se.live(now) {
			return fmt.Errorf("install session %s has expired or was closed", id)
		}
		se.Heartbeat = now
		return putJSON(tx, bucketSessions, []byte(id), se)
	})
}

// CloseSession ends session id.
func (s *Store) CloseSession(id string) error {
	return s.update(func(tx *bolt.Tx) error { return deleteKey(tx, bucketSessions, []byte(id)) })
}

// Sessions returns the live install sessions (of image r, or all when r is
// the zero ImageRef). It only reads: expired sessions are left out here and
// deleted by the next session that opens (pruneSessions).
func (s *Store) Sessions(r ImageRef) ([]Session, error) {
	var out []Session
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSessions)
		if b == nil {
			return nil
		}
		now := time.Now().UTC()
		return b.ForEach(func(k, v []byte) error {
			var se Session
			if json.Unmarshal(v, &se) != nil || !se.live(now) {
				return nil
			}
			if r == (ImageRef{}) || se.Image == r.String() {
				out = append(out, se)
			}
			return nil
		})
	})
	return out, err
}

// pruneSessions deletes the expired (and unreadable) sessions, in a
// transaction that writes anyway.
func pruneSessions(tx *bolt.Tx, now time.Time) error {
	b := tx.Bucket(bucketSessions)
	if b == nil {
		return nil
	}
	var dead [][]byte
	b.ForEach(func(k, v []byte) error {
		var se Session
		if json.Unmarshal(v, &se) != nil || !se.live(now) {
			dead = append(dead, append([]byte(nil), k...))
		}
		return nil
	})
	for _, k := range dead {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) activeSessions(r ImageRef) (int, error) {
	ss, err := s.Sessions(r)
	return len(ss), err
}

func (s *Store) sessionCounts() (map[string]int, error) {
	ss, err := s.Sessions(ImageRef{})
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, se := range ss {
		out[se.Image]++
	}
	return out, nil
}

// waitSessions waits until image r has no live install session, at most
// wait; it reports whether none is left.
func (s *Store) waitSessions(ctx context.Context, r ImageRef, wait time.Duration) (int, error) {
	deadline := time.Now().Add(wait)
	for {
		n, err := s.activeSessions(r)
		if err != nil || n == 0 {
			return n, err
		}
		if time.Now().After(deadline) {
			return n, nil
		}
		select {
		case <-ctx.Done():
			return n, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// InstallImage does what a deployment client does: it opens an install
// session on image r (refused for a disabled image), applies the image to
// dest (which must be empty or missing) while renewing the session's lease,
// and closes the session.
func (s *Store) InstallImage(ctx context.Context, r ImageRef, dest, client string, report progress.Func) error {
	se, err := s.OpenSession(r, client)
	if err != nil {
		return err
	}
	defer s.CloseSession(se.ID)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(SessionTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				s.Heartbeat(se.ID) // a busy catalog is retried at the next tick
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	w, err := s.openImage(r)
	if err != nil {
		return err
	}
	defer w.Close()
	step("install-applying")
	return w.Apply(ctx, 1, dest, report)
}

// openImage opens image r with the files holding its data.
func (s *Store) openImage(r ImageRef) (*wim.WIM, error) { return s.openImageOn(r, nil) }

// openImageOn is openImage for a caller that holds the group's Res.rwm
// open as res, shared by the group's images instead of opened by each
// (nil: opened here).
func (s *Store) openImageOn(r ImageRef, res *wim.WIM) (*wim.WIM, error) {
	o := &wim.OpenOptions{NoSplitSearch: true}
	switch {
	case r.Boot:
	case res != nil:
		o.Shared = []*wim.WIM{res}
	default:
		// A standalone WIM dropped into a group by hand needs no Res.rwm.
		if _, err := os.Stat(s.ResPath(r.Group)); err == nil {
			o.Refs = []string{s.ResPath(r.Group)}
		}
	}
	return wim.Open(s.ImagePath(r), o)
}
