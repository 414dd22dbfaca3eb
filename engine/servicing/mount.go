package servicing

import (
	"context"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// mountFile records, for a mounted session, what each extracted file looked
// like right after extraction.
const mountFile = "mount.json"

// mountEntry is the state of one extracted entry: size and modification
// time of a file, or the target of a symbolic link.
type mountEntry struct {
	Size  int64  `json:"s,omitempty"`
	Mtime int64  `json:"m,omitempty"`
	Link  string `json:"l,omitempty"`
}

// MountResult says what committing a mounted folder found and did.
type MountResult struct {
	CommitResult
	Unchanged int   `json:"unchanged"`  // files taken from the image as they were
	FilesRead int   `json:"files_read"` // files read and hashed (new or changed)
	BytesRead int64 `json:"bytes_read"`
}

// Mount begins a servicing session on image r and extracts the image to
// dir (which must be empty or missing), so that any tool can change the
// files there; Unmount commits the changes found or discards them.
func Mount(ctx context.Context, s *store.Store, r store.ImageRef, dir string, report progress.Func) (*Session, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if ents, err := os.ReadDir(abs); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("%s is not empty", abs)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if ss, err := Mounted(s, abs); err == nil {
		return nil, fmt.Errorf("%s is already the mount folder of session %s", abs, ss.ID)
	}
	ss, err := begin(ctx, s, r, abs)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Session, error) {
		ss.Discard()
		return nil, err
	}
	w, err := ss.openBase()
	if err != nil {
		return fail(err)
	}
	defer w.Close()
	img, err := w.Image(1)
	if err != nil {
		return fail(err)
	}
	if _, err := w.ApplyImage(ctx, img, abs, report); err != nil {
		return fail(err)
	}
	man := map[string]mountEntry{}
	err = filepath.Walk(abs, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(abs, p)
		rel = filepath.ToSlash(rel)
		switch {
		case fi.Mode().IsRegular():
			man[rel] = mountEntry{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}
		case fi.Mode()&os.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			man[rel] = mountEntry{Link: l}
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	data, err := json.Marshal(man)
	if err == nil {
		err = writeAtomic(filepath.Join(ss.dir, mountFile), data)
	}
	if err != nil {
		return fail(err)
	}
	ss.Mount = abs
	if err := ss.save(); err != nil {
		return fail(err)
	}
	return ss, nil
}

// Mounted returns the session whose mount folder is dir.
func Mounted(s *store.Store, dir string) (*Session, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	all, err := Sessions(s)
	if err != nil {
		return nil, err
	}
	for _, ss := range all {
		if ss.Mount == abs {
			return ss, nil
		}
	}
	return nil, fmt.Errorf("%s is not a mounted image folder: %w", abs, ErrNoSession)
}

// Unmount ends a mounted session. With commit, the folder is compared with
// the image as extracted and the differences committed (see CommitMount);
// without, the session is discarded. The folder is removed in both cases
// once the session has ended.
func (ss *Session) Unmount(ctx context.Context, commit bool, o CommitOptions) (*MountResult, error) {
	if ss.Mount == "" {
		return nil, fmt.Errorf("servicing session %s is not mounted", ss.ID)
	}
	dir := ss.Mount
	var res *MountResult
	if commit {
		var err error
		if res, err = ss.CommitMount(ctx, o); err != nil {
			return nil, err
		}
	} else if err := ss.Discard(); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return res, fmt.Errorf("session ended, but removing %s: %w", dir, err)
	}
	return res, nil
}

// CommitMount commits the changes made in the session's mount folder:
// files whose size and modification time are as extracted are taken from
// the image unchanged, without being read; only new and changed files are
// read, hashed and (when their data is new) compressed into the group.
func (ss *Session) CommitMount(ctx context.Context, o CommitOptions) (*MountResult, error) {
	unlock, err := ss.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if ss.Mount == "" {
		return nil, fmt.Errorf("servicing session %s is not mounted", ss.ID)
	}
	if err := ss.checkCommit(); err != nil {
		return nil, err
	}
	var man map[string]mountEntry
	data, err := os.ReadFile(filepath.Join(ss.dir, mountFile))
	if err == nil {
		err = json.Unmarshal(data, &man)
	}
	if err != nil {
		return nil, fmt.Errorf("servicing session %s: reading %s: %w", ss.ID, mountFile, err)
	}
	w, err := ss.openBase()
	if err != nil {
		return nil, err
	}
	base, err := w.Image(1)
	w.Close()
	if err != nil {
		return nil, err
	}
	res := &MountResult{}
	t := &tree{blobs: map[wim.Hash]blobSource{}}
	root := *base.Root
	root.Children = nil
	if err := t.scan(ctx, &root, base, ss.Mount, "", man, res, 0); err != nil {
		return nil, err
	}
	t.img = &wim.Image{Index: base.Index, Root: &root, Security: base.Security}
	var unattend []byte
	if ss.Unattend {
		if unattend, err = os.ReadFile(filepath.Join(ss.dir, unattendTmp)); err != nil {
			return nil, err
		}
	}
	cr, err := ss.commitTree(ctx, t, unattend, o)
	if err != nil {
		return nil, err
	}
	res.CommitResult = *cr
	return res, nil
}

// scan builds the children of folder d from the folder p on disk (rel its
// slash path below the mount folder).
func (t *tree) scan(ctx context.Context, d *wim.File, base *wim.Image, p, rel string, man map[string]mountEntry, res *MountResult, depth int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if depth > wim.MaxDepth {
		return fmt.Errorf("%s: folders nested too deep", p)
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		cp := filepath.Join(p, name)
		if err := CheckName(name); err != nil {
			return fmt.Errorf("%s: %w", cp, err)
		}
		crel := name
		if rel != "" {
			crel = rel + "/" + name
		}
		b := base.Lookup("/" + crel)
		fi, err := os.Lstat(cp)
		if err != nil {
			return err
		}
		var f *wim.File
		m, known := man[crel]
		switch {
		case fi.IsDir():
			if b != nil && b.IsDir() {
				c := *b
				f = &c
			} else {
				f = newDir(d, name, fi.ModTime().UTC())
			}
			f.Children = nil
			f.Parent = d
			if err := t.scan(ctx, f, base, cp, crel, man, res, depth+1); err != nil {
				return err
			}
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(cp)
			if err != nil {
				return err
			}
			if b != nil && b.IsSymlink() && known && m.Link == target {
				c := *b
				f = &c
				break
			}
			rd, err := wim.SymlinkReparseData(target)
			if err != nil {
				return fmt.Errorf("%s: %w", cp, err)
			}
			h := wim.Hash(sha1.Sum(rd))
			t.blobs[h] = blobSource{data: rd, size: int64(len(rd))}
			mt := fi.ModTime().UTC()
			f = &wim.File{Name: name, SecurityID: d.SecurityID, Attributes: wim.AttrReparsePoint,
				ReparseTag: wim.ReparseTagSymlink, Created: mt, Accessed: mt, Modified: mt,
				Streams: []wim.Stream{{Hash: h, Size: int64(len(rd))}}}
		case fi.Mode().IsRegular():
			if b != nil && !b.IsDir() && b.Attributes&wim.AttrReparsePoint == 0 && known &&
				m.Link == "" && m.Size == fi.Size() && m.Mtime == fi.ModTime().UnixNano() {
				c := *b
				f = &c
				res.Unchanged++
				break
			}
			h, size, err := t.hashFile(cp)
			if err != nil {
				return err
			}
			res.FilesRead++
			res.BytesRead += size
			mt := fi.ModTime().UTC()
			if b != nil && !b.IsDir() && b.Attributes&wim.AttrReparsePoint == 0 {
				c := *b
				f = &c
				f.LinkGroup = 0
				f.Attributes &^= wim.AttrSparseFile | wim.AttrCompressed | wim.AttrEncrypted
				f.Modified = mt
			} else {
				f = &wim.File{Name: name, SecurityID: d.SecurityID, Attributes: wim.AttrArchive,
					Created: mt, Accessed: mt, Modified: mt}
			}
			f.Hash, f.Size = h, size
		default:
			continue // sockets, devices: not image content
		}
		f.Name = name
		f.Parent = d
		d.Children = append(d.Children, f)
	}
	sortChildren(d)
	return nil
}

// open returns a reader of the blob's data.
func (b blobSource) open() (io.ReadCloser, error) {
	if b.data != nil {
		return io.NopCloser(strings.NewReader(string(b.data))), nil
	}
	return os.Open(b.path)
}
