package app

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/wimconsole/wimconsole/engine/store"
)

// FolderKind says what a folder chosen as a store holds.
type FolderKind int

const (
	// FolderStore holds a store: its catalog.
	FolderStore FolderKind = iota
	// FolderNew is missing or empty: opening it makes a new store.
	FolderNew
	// FolderOther holds other things and no store: a store is made in
	// it only when the administrator agrees.
	FolderOther
)

// InspectStoreFolder says what root holds before it is opened as a store,
// so that a folder of other files is not turned into a store without
// asking. A file, or a folder that cannot be read, is an error.
func InspectStoreFolder(root string) (FolderKind, error) {
	fi, err := os.Stat(root)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return FolderNew, nil
	case err != nil:
		return 0, err
	case !fi.IsDir():
		return 0, fmt.Errorf("store %s: not a folder", root)
	}
	if _, err := os.Stat(filepath.Join(root, store.ConsoleDir, store.CatalogFile)); err == nil {
		return FolderStore, nil
	}
	d, err := os.Open(root)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	if _, err := d.Readdirnames(1); errors.Is(err, io.EOF) {
		return FolderNew, nil
	} else if err != nil {
		return 0, err
	}
	return FolderOther, nil
}

// SetLocalServer puts s in the place of the model's local server (the
// first server with a store; s is added first when there is none) and
// reloads the tree. It returns the server it replaced (nil when none).
// Remote servers stay.
func (m *Model) SetLocalServer(s *Server) (old *Server) {
	m.mu.Lock()
	replaced := false
	for i, o := range m.servers {
		if _, ok := o.local(); ok {
			old, m.servers[i], replaced = o, s, true
			break
		}
	}
	if !replaced {
		m.servers = append([]*Server{s}, m.servers...)
	}
	m.mu.Unlock()
	m.Refresh()
	return old
}
