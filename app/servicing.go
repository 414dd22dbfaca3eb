package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/servicing"
	"github.com/wimconsole/wimconsole/engine/store"
)

// ErrRemoteServicing is returned by the servicing use cases on a server on
// the network: browsing and servicing work on the local store only.
var ErrRemoteServicing = errors.New("browsing and servicing images work on the local server only")

// ErrImageEnabled is returned when servicing is asked for an enabled image:
// as WDS requires, an image must be disabled before it is changed.
var ErrImageEnabled = errors.New("the image is enabled: disable it before servicing it, as WDS requires, so that no client installs it while it changes")

// The servicing types views and the command line need are re-exported here
// on purpose, so that they service images through app only.
type (
	// Session is a servicing session of an image (see servicing.Session).
	Session = servicing.Session
	// FileEntry is a file or folder of an image, as the browser lists it.
	FileEntry = servicing.Entry
	// FileMatch is a file or folder found in an image of a group.
	FileMatch = servicing.Match
	// StagedChange is one change staged in a servicing session.
	StagedChange = servicing.Change
	// CommitOptions say how a session is committed: as an update of the
	// image, or as a new image.
	CommitOptions = servicing.CommitOptions
	// CommitResult is what committing a session did.
	CommitResult = servicing.CommitResult
	// MountResult is what unmounting a mounted session did.
	MountResult = servicing.MountResult
	// PendingSession is a servicing session kept in a store, with the
	// reason it can no longer be committed ("" when it can be resumed).
	PendingSession = servicing.Pending
)

// ErrNoSession is returned (wrapped) when an image has no servicing
// session.
var ErrNoSession = servicing.ErrNoSession

// CheckEntryName checks that name can name a file or folder of an image
// (or a driver package's folder): not empty, no separators, no characters
// Windows refuses.
func CheckEntryName(name string) error { return servicing.CheckName(name) }

// localStore returns the store servicing works on: the server's when its
// service is over a store on this machine (see LocalStore).
func (s *Server) localStore() (*store.Store, error) {
	if st, ok := s.local(); ok {
		return st, nil
	}
	return nil, ErrRemoteServicing
}

// ListFiles lists the folder at image path p of image r (see servicing.List).
func (s *Server) ListFiles(ctx context.Context, r store.ImageRef, p string) ([]FileEntry, error) {
	st, err := s.localStore()
	if err != nil {
		return nil, err
	}
	return servicing.List(ctx, st, r, p)
}

// SearchFiles returns the entries of image r whose paths match pattern (see
// servicing.Search).
func (s *Server) SearchFiles(ctx context.Context, r store.ImageRef, pattern string) ([]FileMatch, error) {
	st, err := s.localStore()
	if err != nil {
		return nil, err
	}
	return servicing.Search(ctx, st, r, pattern)
}

// ExtractFiles extracts the image paths of image r into the folder dest.
func (s *Server) ExtractFiles(ctx context.Context, r store.ImageRef, paths []string, dest string, report progress.Func) error {
	st, err := s.localStore()
	if err != nil {
		return err
	}
	_, err = servicing.Extract(ctx, st, r, paths, dest, report)
	return err
}

// ServiceImage resumes the servicing session of image r, or begins one. The
// image must be disabled (ErrImageEnabled otherwise).
func (s *Server) ServiceImage(ctx context.Context, r store.ImageRef) (*Session, error) {
	st, err := s.localStore()
	if err != nil {
		return nil, err
	}
	ss, err := servicing.ForImage(st, r)
	if err == nil {
		return ss, nil
	}
	if !errors.Is(err, servicing.ErrNoSession) {
		return nil, err
	}
	if err := checkDisabled(ctx, st, r); err != nil {
		return nil, err
	}
	return servicing.Begin(ctx, st, r)
}

// SessionEntries lists the folder at image path p of the session's tree,
// with the staged changes applied.
func SessionEntries(ss *Session, p string) ([]FileEntry, error) {
	img, err := ss.Tree()
	if err != nil {
		return nil, err
	}
	out, err := servicing.ListTree(img, p)
	if err != nil {
		return nil, fmt.Errorf("%w in the serviced image", err)
	}
	return out, nil
}

// SessionSearch returns the entries of the session's tree, with the staged
// changes applied, whose paths match pattern (see servicing.FindInGroup).
func SessionSearch(ctx context.Context, ss *Session, pattern string) ([]FileEntry, error) {
	img, err := ss.Tree()
	if err != nil {
		return nil, err
	}
	return servicing.SearchTree(ctx, img, pattern)
}

// FindInGroup searches every install image of group g for paths matching
// pattern (see servicing.FindInGroup).
func (s *Server) FindInGroup(ctx context.Context, g, pattern string) ([]FileMatch, error) {
	st, err := s.localStore()
	if err != nil {
		return nil, err
	}
	return servicing.FindInGroup(ctx, st, g, pattern)
}

// FormatAttributes shows file attributes as Explorer's columns do: R
// (read-only), H (hidden), S (system), D (folder), A (archive), L (reparse
// point), C (compressed).
func FormatAttributes(a uint32) string {
	var b strings.Builder
	for _, f := range []struct {
		bit uint32
		c   byte
	}{{0x1, 'R'}, {0x2, 'H'}, {0x4, 'S'}, {0x10, 'D'}, {0x20, 'A'}, {0x400, 'L'}, {0x800, 'C'}} {
		if a&f.bit != 0 {
			b.WriteByte(f.c)
		}
	}
	return b.String()
}

// PendingSessions lists the servicing sessions kept in the local store, each
// with the reason it can no longer be committed ("" when it can be
// resumed), for the start-up check. A remote server has none here.
func (s *Server) PendingSessions() ([]PendingSession, error) {
	st, ok := s.local()
	if !ok {
		return nil, nil
	}
	return servicing.Stale(st)
}

// Session returns the servicing session of image r (an error wrapping
// servicing.ErrNoSession when it has none).
func (s *Server) Session(r store.ImageRef) (*Session, error) {
	st, err := s.localStore()
	if err != nil {
		return nil, err
	}
	return servicing.ForImage(st, r)
}

// MountImage extracts image r, which must be disabled, to the empty or new
// folder dir for any tool to change, in a servicing session that
// UnmountImage commits or discards.
func (s *Server) MountImage(ctx context.Context, r store.ImageRef, dir string, report progress.Func) (*Session, error) {
	st, err := s.localStore()
	if err != nil {
		return nil, err
	}
	if err := checkDisabled(ctx, st, r); err != nil {
		return nil, err
	}
	return servicing.Mount(ctx, st, r, dir, report)
}

// checkDisabled returns ErrImageEnabled when image r is enabled.
func checkDisabled(ctx context.Context, st *store.Store, r store.ImageRef) error {
	im, err := st.GetImage(ctx, r)
	if err != nil {
		return err
	}
	if im.Enabled {
		return ErrImageEnabled
	}
	return nil
}

// BeginSession begins a servicing session on image r, which must be
// disabled and have no session (servicing.Begin says why not otherwise).
// ServiceImage resumes an open session instead.
func (s *Server) BeginSession(ctx context.Context, r store.ImageRef) (*Session, error) {
	st, err := s.localStore()
	if err != nil {
		return nil, err
	}
	return servicing.Begin(ctx, st, r)
}

// MountedSession returns the servicing session mounted at the folder dir.
func (s *Server) MountedSession(dir string) (*Session, error) {
	st, err := s.localStore()
	if err != nil {
		return nil, err
	}
	return servicing.Mounted(st, dir)
}

// DiscardSession ends the session ss without changing its image; the
// folder of a mounted session is removed with every change made there.
func DiscardSession(ctx context.Context, ss *Session) error {
	if ss.Mount != "" {
		_, err := ss.Unmount(ctx, false, CommitOptions{})
		return err
	}
	return ss.Discard()
}
