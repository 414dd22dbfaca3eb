package servicing

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/wimconsole/wimconsole/engine/servicing/hive"
	"github.com/wimconsole/wimconsole/engine/servicing/regfile"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// HiveInfo locates a registry hive inside an image.
type HiveInfo struct {
	Path     string // image path of the hive file
	Root     string // where the hive is mounted in a running system, as .reg files name it
	ReadOnly bool   // SAM and SECURITY are opened read-only
}

// LookupHive maps a hive name to its file in the image: SYSTEM, SOFTWARE,
// DEFAULT, SAM and SECURITY (in Windows\System32\config), or the image path
// of a user's NTUSER.DAT.
func LookupHive(name string) (HiveInfo, error) {
	cfg := "/Windows/System32/config/"
	switch strings.ToUpper(name) {
	case "SYSTEM":
		return HiveInfo{Path: cfg + "SYSTEM", Root: `HKEY_LOCAL_MACHINE\SYSTEM`}, nil
	case "SOFTWARE":
		return HiveInfo{Path: cfg + "SOFTWARE", Root: `HKEY_LOCAL_MACHINE\SOFTWARE`}, nil
	case "DEFAULT":
		return HiveInfo{Path: cfg + "DEFAULT", Root: `HKEY_USERS\.DEFAULT`}, nil
	case "SAM":
		return HiveInfo{Path: cfg + "SAM", Root: `HKEY_LOCAL_MACHINE\SAM`, ReadOnly: true}, nil
	case "SECURITY":
		return HiveInfo{Path: cfg + "SECURITY", Root: `HKEY_LOCAL_MACHINE\SECURITY`, ReadOnly: true}, nil
	}
	p, err := CleanPath(name)
	if err != nil {
		return HiveInfo{}, err
	}
	if !strings.EqualFold(p[strings.LastIndex(p, "/")+1:], "NTUSER.DAT") {
		return HiveInfo{}, fmt.Errorf("unknown hive %q: use SYSTEM, SOFTWARE, DEFAULT, SAM, SECURITY or the path of a user's NTUSER.DAT", name)
	}
	return HiveInfo{Path: p, Root: `HKEY_CURRENT_USER`}, nil
}

// extract writes the data of the image file at p (as the session's tree
// has it) to a new file in the session's work folder and returns its name.
func (ss *Session) extract(t *tree, p string) (string, error) {
	f := Find(t.img, p)
	if f == nil {
		return "", fmt.Errorf("%s: no such file in image %s", p, ss.Image)
	}
	if f.IsDir() || f.Attributes&wim.AttrReparsePoint != 0 {
		return "", fmt.Errorf("%s is not a regular file", p)
	}
	if err := os.MkdirAll(filepath.Join(ss.dir, workDir), 0o755); err != nil {
		return "", err
	}
	out, err := os.CreateTemp(filepath.Join(ss.dir, workDir), "hive-")
	if err != nil {
		return "", err
	}
	defer out.Close()
	var r io.ReadCloser
	if src, ok := t.blobs[f.Hash]; ok {
		r, err = src.open()
	} else if !f.Hash.IsZero() {
		w, werr := ss.openBase()
		if werr != nil {
			os.Remove(out.Name())
			return "", werr
		}
		defer w.Close()
		r, err = w.OpenBlob(f.Hash)
	} else {
		r = io.NopCloser(strings.NewReader(""))
	}
	if err == nil {
		_, err = io.Copy(out, r)
		r.Close()
	}
	if err != nil {
		os.Remove(out.Name())
		return "", fmt.Errorf("reading %s from the image: %w", p, err)
	}
	return out.Name(), nil
}

// ReadHive opens the hive name (see LookupHive) of the image, with the
// session's staged changes, read-only, and calls fn with it.
func (ss *Session) ReadHive(ctx context.Context, name string, fn func(h hive.Hive) error) error {
	hi, err := LookupHive(name)
	if err != nil {
		return err
	}
	t, err := ss.build()
	if err != nil {
		return err
	}
	tmp, err := ss.extract(t, hi.Path)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	h, err := hive.Open(tmp, hive.Options{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("hive %s of image %s: %w", hi.Path, ss.Image, err)
	}
	defer h.Close()
	return fn(h)
}

// EditHive opens the hive name (see LookupHive) of the image for writing,
// calls fn with it and, when fn succeeds, stages the changed hive file in
// the session as a replaced file. When fn fails nothing is staged. SAM and
// SECURITY cannot be edited.
func (ss *Session) EditHive(ctx context.Context, name string, fn func(h hive.Hive) error) error {
	hi, err := LookupHive(name)
	if err != nil {
		return err
	}
	if hi.ReadOnly {
		return fmt.Errorf("hive %s: %w (SAM and SECURITY are read-only here)", hi.Path, hive.ErrReadOnly)
	}
	if ss.Mount != "" {
		return fmt.Errorf("servicing session %s is mounted at %s: edit the hive file there", ss.ID, ss.Mount)
	}
	t, err := ss.build()
	if err != nil {
		return err
	}
	tmp, err := ss.extract(t, hi.Path)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	h, err := hive.Open(tmp, hive.Options{})
	if err != nil {
		return fmt.Errorf("hive %s of image %s: %w", hi.Path, ss.Image, err)
	}
	defer h.Close()
	if err := fn(h); err != nil {
		return err
	}
	out := tmp + ".new"
	if err := h.Commit(out); err != nil {
		return err
	}
	defer os.Remove(out)
	return ss.Replace(hi.Path, out)
}

// ImportReg applies the .reg file data (UTF-16 or UTF-8) to the hive name
// of the image, staging the changed hive. A .reg file that does not parse,
// or fails to apply, stages nothing. Operations on keys of other hives are
// skipped and reported in the result.
func (ss *Session) ImportReg(ctx context.Context, name, file string, data []byte) (regfile.Result, error) {
	rf, err := regfile.Parse(file, data)
	if err != nil {
		return regfile.Result{}, err
	}
	hi, err := LookupHive(name)
	if err != nil {
		return regfile.Result{}, err
	}
	var res regfile.Result
	err = ss.EditHive(ctx, name, func(h hive.Hive) error {
		var err error
		res, err = rf.Apply(h, hi.Root)
		return err
	})
	return res, err
}

// ReadImageHive opens the hive name (see LookupHive) of image r of s
// read-only, without a servicing session, and calls fn with it.
func ReadImageHive(ctx context.Context, s *store.Store, r store.ImageRef, name string, fn func(h hive.Hive) error) error {
	tmp, err := os.MkdirTemp("", "wimconsole-hive-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	ss := &Session{ID: "read", Image: r.String(), s: s, ref: r, dir: tmp}
	return ss.ReadHive(ctx, name, fn)
}
