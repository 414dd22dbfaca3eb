// Package store is one server's image store, laid out as Windows Deployment
// Services lays out its RemoteInstall folder:
//
//	<root>/Images/<Group>/Res.rwm                    shared resources of an image group
//	<root>/Images/<Group>/<file>.wim                 metadata-only image
//	<root>/Images/<Group>/<file>/Unattend/...        per-image external data
//	<root>/Boot/<arch>/Images/<file>.wim             boot images
//	<root>/WdsConsole/catalog.db                     bbolt catalog
//
// The WIM files are the truth for content; the catalog keeps what they cannot
// hold (enabled state, order, sessions, associations, cached figures and the
// journal of multi-step operations).
package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// Folder and file names of the layout.
const (
	ImagesDir   = "Images"
	BootDir     = "Boot"
	ConsoleDir  = "WdsConsole"
	CatalogFile = "catalog.db"
	ResFile     = "Res.rwm"
)

// BootArchs are the boot image architectures a new store is created with, in
// WDS's folder names.
var BootArchs = []string{"x86", "x64", "arm64"}

// DefaultRoot returns the per-user default store: RemoteInstall inside the
// user's data folder ($XDG_DATA_HOME or ~/.local/share on Linux and the BSDs,
// ~/Library/Application Support on macOS, %LOCALAPPDATA% on Windows).
func DefaultRoot() (string, error) {
	base, err := userDataDir()
	if err != nil {
		return "", fmt.Errorf("finding the per-user data folder: %w", err)
	}
	return filepath.Join(base, "WIMConsole", "RemoteInstall"), nil
}

func userDataDir() (string, error) {
	switch runtime.GOOS {
	case "windows":
		if d := os.Getenv("LOCALAPPDATA"); d != "" {
			return d, nil
		}
		return "", errors.New("%LOCALAPPDATA% is not set")
	case "darwin", "ios":
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, "Library", "Application Support"), nil
	default:
		if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
			return d, nil
		}
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, ".local", "share"), nil
	}
}

// ResolveRoot returns root made absolute, or the default root when root is "".
func ResolveRoot(root string) (string, error) {
	if root == "" {
		return DefaultRoot()
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("store %q: %w", root, err)
	}
	return abs, nil
}

// Store is one image store on disk.
type Store struct {
	root string
	// ro says why the store cannot be changed ("" when it can).
	ro string
}

// Open opens the store at root, creating the WDS layout and an empty catalog
// when they are missing, then runs recovery (see Recover): operations that a
// dead process left half-done are finished or rolled back. Nothing else of
// the existing content is changed.
//
// A store that cannot be written (a mounted snapshot, a share without write
// rights) is opened read-only, as OpenWith does with ReadOnly.
func Open(root string) (*Store, error) { return OpenWith(root, OpenOptions{}) }

// OpenWith is Open with options. A read-only store (o.ReadOnly, or one
// that cannot be written) is only read: its catalog is opened read-only,
// recovery waits for a process that can write, and every change fails with
// a ReadOnlyError. It must have a catalog.
func OpenWith(root string, o OpenOptions) (*Store, error) {
	if root == "" {
		return nil, errors.New("store: empty root path")
	}
	if fi, err := os.Stat(root); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("store %s: not a folder", root)
	}
	ro := readOnlyReason(root)
	if ro == "" && o.ReadOnly {
		ro = "opened for reading only"
	}
	if ro != "" {
		s := &Store{root: root, ro: ro}
		if _, err := os.Stat(s.CatalogPath()); err != nil {
			return nil, fmt.Errorf("the store %s is read-only (%s) and has no catalog %s: open it once where it can be written", root, ro, s.CatalogPath())
		}
		if _, err := s.CatalogVersion(); err != nil {
			return nil, err
		}
		return s, nil
	}
	dirs := []string{filepath.Join(root, ImagesDir), filepath.Join(root, ConsoleDir)}
	for _, a := range BootArchs {
		dirs = append(dirs, filepath.Join(root, BootDir, a, ImagesDir))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("store %s: creating layout: %w", root, err)
		}
	}
	s := &Store{root: root}
	if err := s.initCatalog(); err != nil {
		return nil, err
	}
	if err := s.Recover(); err != nil {
		return nil, err
	}
	return s, nil
}

// GroupDir returns the folder of image group g.
func (s *Store) GroupDir(g string) string { return filepath.Join(s.root, ImagesDir, g) }

// BootImagesDir returns the folder of the boot images of architecture arch.
func (s *Store) BootImagesDir(arch string) string {
	return filepath.Join(s.root, BootDir, arch, ImagesDir)
}

// ImagePath returns the WIM file of image r.
func (s *Store) ImagePath(r ImageRef) string {
	return filepath.Join(s.imageDir(r), r.File+".wim")
}

func (s *Store) imageDir(r ImageRef) string {
	if r.Boot {
		return s.BootImagesDir(r.Arch)
	}
	return s.GroupDir(r.Group)
}

// ResPath returns the Res.rwm of image group g.
func (s *Store) ResPath(g string) string { return filepath.Join(s.GroupDir(g), ResFile) }

// Root returns the store's root folder.
func (s *Store) Root() string { return s.root }

// CatalogPath returns the path of the bbolt catalog.
func (s *Store) CatalogPath() string { return filepath.Join(s.root, ConsoleDir, CatalogFile) }

// Groups returns the names of the image groups (folders under Images), sorted
// case-insensitively as the WDS console shows them.
func (s *Store) Groups() ([]string, error) {
	return subdirs(filepath.Join(s.root, ImagesDir))
}

// Archs returns the boot architectures present under Boot.
func (s *Store) Archs() ([]string, error) {
	return subdirs(filepath.Join(s.root, BootDir))
}

func subdirs(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Slice(names, func(i, j int) bool { return strings.ToLower(names[i]) < strings.ToLower(names[j]) })
	return names, nil
}
