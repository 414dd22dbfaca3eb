package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/wimconsole/wimconsole/engine/wim"
)

// GroupInfo describes an image group.
type GroupInfo struct {
	Name        string `json:"name"`
	Path        string `json:"path"`
	Images      int    `json:"images"`
	ResBytes    int64  `json:"res_bytes"` // size of Res.rwm (0 before the first image)
	Compression string `json:"compression,omitempty"`
}

// findGroup returns the name of the existing group that equals name case
// insensitively (as on Windows), or "".
func (s *Store) findGroup(name string) (string, error) {
	groups, err := s.Groups()
	if err != nil {
		return "", err
	}
	for _, g := range groups {
		if strings.EqualFold(g, name) {
			return g, nil
		}
	}
	return "", nil
}

// AddGroup creates the empty image group name.
func (s *Store) AddGroup(name string) error {
	if err := CheckGroupName(name); err != nil {
		return err
	}
	if err := s.writable("add an image group"); err != nil {
		return err
	}
	l, err := s.lockSettled(groupKey(name))
	if err != nil {
		return err
	}
	defer l.unlock()
	if g, err := s.findGroup(name); err != nil {
		return err
	} else if g != "" {
		return fmt.Errorf("image group %q already exists", g)
	}
	if err := os.Mkdir(s.GroupDir(name), 0o755); err != nil {
		return fmt.Errorf("creating image group %q: %w", name, err)
	}
	return nil
}

// ensureGroup creates group name when missing (the caller holds its lock).
func (s *Store) ensureGroup(name string) error {
	if g, err := s.findGroup(name); err != nil {
		return err
	} else if g != "" && g != name {
		return fmt.Errorf("image group %q exists as %q", name, g)
	}
	if err := os.Mkdir(s.GroupDir(name), 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("creating image group %q: %w", name, err)
	}
	return nil
}

// needGroup checks that group name exists.
func (s *Store) needGroup(name string) error {
	if err := CheckGroupName(name); err != nil {
		return err
	}
	fi, err := os.Stat(s.GroupDir(name))
	if err != nil || !fi.IsDir() {
		return fmt.Errorf("image group %q does not exist", name)
	}
	return nil
}

// RemoveGroup removes image group name with everything in it. A group that
// holds images is removed only with force, and never while one of its
// images has an install session.
func (s *Store) RemoveGroup(name string, force bool) error {
	if err := s.needGroup(name); err != nil {
		return err
	}
	o, err := s.begin(journalEntry{Op: "remove-group", Locks: []string{groupKey(name)}, Group: name})
	if err != nil {
		return err
	}
	files, err := s.groupFiles(name)
	if err != nil {
		o.done()
		return err
	}
	if len(files) > 0 && !force {
		o.done()
		return fmt.Errorf("image group %q holds %d image%s; remove them first or use --force", name, len(files), plural(len(files)))
	}
	for _, f := range files {
		if n, err := s.activeSessions(ImageRef{Group: name, File: f}); err != nil {
			o.done()
			return err
		} else if n > 0 {
			o.done()
			return fmt.Errorf("image %s/%s has %d active install session%s", name, f, n, plural(n))
		}
	}
	old := filepath.Join(ImagesDir, tempTag+o.e.ID+"-removed-"+name)
	o.e.Old = old
	if err := o.setState("removing"); err != nil {
		o.done()
		return err
	}
	if err := os.Rename(s.GroupDir(name), filepath.Join(s.root, old)); err != nil {
		o.done()
		return fmt.Errorf("removing image group %q: %w", name, err)
	}
	step("remove-group-renamed")
	if err := s.settle(o.e); err != nil {
		o.abandon()
		return err
	}
	return o.done()
}

// RenameGroup renames image group from to to. Its images keep their
// catalog state.
func (s *Store) RenameGroup(from, to string) error {
	if err := s.needGroup(from); err != nil {
		return err
	}
	if err := CheckGroupName(to); err != nil {
		return err
	}
	o, err := s.begin(journalEntry{Op: "rename-group", Locks: []string{groupKey(from), groupKey(to)}, Group: from, Into: to})
	if err != nil {
		return err
	}
	if g, err := s.findGroup(to); err != nil {
		o.done()
		return err
	} else if g != "" && !(strings.EqualFold(from, to) && g == from) {
		o.done()
		return fmt.Errorf("image group %q already exists", g)
	}
	if err := os.Rename(s.GroupDir(from), s.GroupDir(to)); err != nil {
		o.done()
		return fmt.Errorf("renaming image group %q: %w", from, err)
	}
	step("rename-group-renamed")
	if err := s.moveRecords(from, to); err != nil {
		o.abandon()
		return err
	}
	return o.done()
}

// GroupInfos describes every image group.
func (s *Store) GroupInfos() ([]GroupInfo, error) {
	groups, err := s.Groups()
	if err != nil {
		return nil, err
	}
	out := make([]GroupInfo, 0, len(groups))
	for _, g := range groups {
		gi := GroupInfo{Name: g, Path: s.GroupDir(g)}
		files, err := s.groupFiles(g)
		if err != nil {
			return nil, err
		}
		gi.Images = len(files)
		if st, err := os.Stat(s.ResPath(g)); err == nil {
			gi.ResBytes = st.Size()
			if w, err := wim.Open(s.ResPath(g), &wim.OpenOptions{NoSplitSearch: true}); err == nil {
				gi.Compression = w.Header().Compression().String()
				w.Close()
			}
		}
		out = append(out, gi)
	}
	return out, nil
}

// groupFiles lists the image files of group g (names without ".wim"),
// sorted.
func (s *Store) groupFiles(g string) ([]string, error) {
	return wimFiles(s.GroupDir(g))
}

func wimFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(n, ".") || !strings.EqualFold(filepath.Ext(n), ".wim") || len(n) <= 4 {
			continue
		}
		base := n[:len(n)-4]
		if n[len(n)-4:] != ".wim" || CheckFileName(base) != nil {
			continue
		}
		out = append(out, base)
	}
	return out, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
