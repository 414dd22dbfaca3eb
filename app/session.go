package app

import (
	"context"
	"errors"

	"github.com/wimconsole/wimconsole/engine/servicing"
	"github.com/wimconsole/wimconsole/engine/store"
)

// InSession runs fn in a servicing session of image r. When the image has
// an open session (begun by Service Image… or `service begin`), fn's change
// is staged there and waits for that session's commit: staged is true.
// Otherwise a new session is begun, fn runs in it and it is committed at
// once as an update of the image; when fn or the commit fails, the session
// is discarded and the image is left as it was. sessionID names the session
// used. A new session needs the image disabled, as servicing.Begin says.
func (s *Server) InSession(ctx context.Context, r store.ImageRef, fn func(ss *Session) error) (staged bool, sessionID string, err error) {
	st, err := s.localStore()
	if err != nil {
		return false, "", err
	}
	ss, err := servicing.ForImage(st, r)
	if err == nil {
		if err := fn(ss); err != nil {
			return false, "", err
		}
		return true, ss.ID, nil
	}
	if !errors.Is(err, servicing.ErrNoSession) {
		return false, "", err
	}
	if ss, err = servicing.Begin(ctx, st, r); err != nil {
		return false, "", err
	}
	if err := fn(ss); err != nil {
		ss.Discard()
		return false, "", err
	}
	if _, err := ss.Commit(ctx, servicing.CommitOptions{}); err != nil {
		ss.Discard()
		return false, "", err
	}
	return false, ss.ID, nil
}

// The driver types views and the command line need are re-exported here on
// purpose, so that they add drivers through app only.
type (
	// DriverOptions name a driver package in the image and say where
	// Windows Setup finds it (see servicing.DriverOptions).
	DriverOptions = servicing.DriverOptions
	// DriverResult is what staging a driver package did.
	DriverResult = servicing.DriverResult
)

// DriverOutcome is what AddDriver did: the engine's result, and where the
// change went.
type DriverOutcome struct {
	*servicing.DriverResult
	// Staged is true when the package was staged in the image's open
	// servicing session (committed with it, from Service Image…); false
	// when it was committed to the image at once.
	Staged    bool
	SessionID string
}

// AddDriver stages the driver package in folder for Windows Setup in image
// r (see servicing.Session.AddDriver): in the image's open servicing
// session, or committed at once when it has none (see InSession). A
// package that fails its checks changes nothing.
func (s *Server) AddDriver(ctx context.Context, r store.ImageRef, folder string, o DriverOptions) (*DriverOutcome, error) {
	var res *DriverResult
	staged, id, err := s.InSession(ctx, r, func(ss *Session) error {
		var err error
		res, err = ss.AddDriver(ctx, folder, o)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &DriverOutcome{DriverResult: res, Staged: staged, SessionID: id}, nil
}
