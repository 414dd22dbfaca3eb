package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrReadOnly is matched (errors.Is) by the error of a change refused
// because the store is read-only.
var ErrReadOnly = errors.New("the store is read-only")

// ReadOnlyError is the error of a change asked of a read-only store.
type ReadOnlyError struct {
	Root   string // the store's folder
	Reason string // why it is read-only ("read-only file system", ...)
	What   string // what could not be done ("delete an image")
}

func (e *ReadOnlyError) Error() string {
	return fmt.Sprintf("the store %s is read-only (%s): cannot %s", e.Root, e.Reason, e.What)
}

// Is makes errors.Is(err, ErrReadOnly) true.
func (e *ReadOnlyError) Is(target error) bool { return target == ErrReadOnly }

// OpenOptions configure OpenWith.
type OpenOptions struct {
	// ReadOnly opens the store for reading only, as if it could not be
	// written: for callers that only read (nothing is created, recovery
	// does not run, every change is refused with ErrReadOnly).
	ReadOnly bool
}

// ReadOnly reports whether the store cannot be changed, and why ("" when it
// can): its catalog or WdsConsole folder cannot be written (a mounted
// snapshot, a share without write rights), or it was opened read-only.
func (s *Store) ReadOnly() (bool, string) { return s.ro != "", s.ro }

// writable returns nil when the store can be changed, and otherwise the
// error saying that it cannot do what.
func (s *Store) writable(what string) error {
	if s.ro == "" {
		return nil
	}
	return &ReadOnlyError{Root: s.root, Reason: s.ro, What: what}
}

// readOnlyReason says why the existing store at root cannot be written
// ("" when it can, or when it does not exist yet): the catalog cannot be
// opened for writing, or the WdsConsole folder (lock files) cannot be
// written in.
func readOnlyReason(root string) string {
	cat := filepath.Join(root, ConsoleDir, CatalogFile)
	f, err := os.OpenFile(cat, os.O_RDWR, 0)
	switch {
	case err == nil:
		f.Close()
	case errors.Is(err, os.ErrNotExist):
		// A new store, or a folder without a catalog: writable if its
		// folder is.
		for _, d := range []string{filepath.Join(root, ConsoleDir), root} {
			if _, err := os.Stat(d); err == nil {
				return accessReason(d)
			}
		}
		return ""
	default:
		return errReason(err)
	}
	return accessReason(filepath.Join(root, ConsoleDir))
}

// accessReason says why dir cannot be written in ("" when it can).
func accessReason(dir string) string {
	if err := dirWritable(dir); err != nil {
		return errReason(err)
	}
	return ""
}

// errReason is the system's words for err without the file name.
func errReason(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// opWhat says what a journaled operation does, for ReadOnlyError.
func opWhat(op string) string {
	switch op {
	case "add-image":
		return "add an image"
	case "remove-image":
		return "delete an image"
	case "copy-image":
		return "copy an image"
	case "replace-image":
		return "replace an image"
	case "set-image":
		return "change an image"
	case "commit-image":
		return "commit a serviced image"
	case "remove-group":
		return "delete an image group"
	case "rename-group":
		return "rename an image group"
	case "regroup":
		return "regroup images"
	case "receive-blobs", "receive-image":
		return "receive images"
	}
	return op
}
