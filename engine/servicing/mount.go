package servicing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/wimconsole/wimconsole/engine/atomicfile"
	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// mountFile records, for a mounted session, what each extracted file looked
// like right after extraction.
const mountFile = "mount.json"

// mountEntry is the state of one extracted entry: size, modification time
// and identity (device and inode) of a file, modification time of a
// folder, or the target of a symbolic link. The root folder's key is ".".
type mountEntry struct {
	Size  int64  `json:"s,omitempty"`
	Mtime int64  `json:"m,omitempty"`
	Link  string `json:"l,omitempty"`
	ID    string `json:"i,omitempty"`
	Dir   bool   `json:"d,omitempty"`
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
		case fi.IsDir():
			man[rel] = mountEntry{Dir: true, Mtime: fi.ModTime().UnixNano()}
		case fi.Mode().IsRegular():
			e := mountEntry{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}
			if id, _, ok := wim.StatFileID(p, fi); ok {
				e.ID = id.String()
			}
			man[rel] = e
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
		err = atomicfile.WriteFile(filepath.Join(ss.dir, mountFile), data, 0o644)
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
	rpfix := w.Header().Flags&wim.FlagRPFix != 0
	w.Close()
	if err != nil {
		return nil, err
	}
	res := &MountResult{}
	t := &tree{blobs: map[wim.Hash]blobSource{}, rpfix: rpfix}
	root := *base.Root
	root.Children = nil
	sc := &mountScan{t: t, base: base, root: ss.Mount, man: man, res: res, byID: map[wim.FileID]*mountInode{}}
	st, err := os.Lstat(ss.Mount)
	if err != nil {
		return nil, err
	}
	if err := sc.dir(ctx, &root, base.Root, ss.Mount, "", st, 0); err != nil {
		return nil, err
	}
	if err := sc.resolve(ctx); err != nil {
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

// mountScan is the state of one CommitMount's walk of the mount folder.
type mountScan struct {
	t     *tree
	base  *wim.Image
	root  string                // the mount folder
	man   map[string]mountEntry // the folder as extracted
	res   *MountResult
	files []*diskFile // regular files, in walk order
	links []*mountInode
	byID  map[wim.FileID]*mountInode
}

// diskFile is a regular file found in the mount folder.
type diskFile struct {
	f         *wim.File
	path      string
	unchanged bool        // as extracted: f is the image's entry
	old       bool        // f started as the image's entry at this path
	inode     *mountInode // the file's names, when it has several in the folder
}

// mountInode is a file with several names (hard links) in the mount folder.
type mountInode struct{ names []*diskFile }

// dir builds the children of folder d (the image's folder b, or nil when
// it is new) from the folder p on disk (rel its slash path below the mount
// folder, fi its Lstat). A folder whose entries changed takes its times
// from disk; an unchanged one keeps the image's.
func (sc *mountScan) dir(ctx context.Context, d, b *wim.File, p, rel string, fi os.FileInfo, depth int) error {
	if err := sc.scan(ctx, d, p, rel, depth); err != nil {
		return err
	}
	if b == nil {
		return nil
	}
	key := rel
	if key == "" {
		key = "."
	}
	changed := len(d.Children) != len(b.Children)
	if m, ok := sc.man[key]; ok && m.Dir && m.Mtime != fi.ModTime().UnixNano() {
		changed = true
	}
	for i := 0; !changed && i < len(d.Children); i++ {
		changed = d.Children[i].Name != b.Children[i].Name
	}
	if changed {
		var now wim.File
		wim.CaptureTimes(&now, fi)
		d.Accessed, d.Modified = now.Accessed, now.Modified
	}
	return nil
}

// scan builds the children of folder d from the folder p on disk (rel its
// slash path below the mount folder). Files as extracted are taken from the
// image; the data of the others is found by resolve.
func (sc *mountScan) scan(ctx context.Context, d *wim.File, p, rel string, depth int) error {
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
		crel := name
		if rel != "" {
			crel = rel + "/" + name
		}
		// A name the image already holds at this path stays, whatever
		// Windows thinks of it; only new names must be ones Windows takes.
		b := sc.base.Lookup("/" + crel)
		if b == nil {
			if err := CheckName(name); err != nil {
				return fmt.Errorf("new entry %s: %w", cp, err)
			}
		}
		fi, err := os.Lstat(cp)
		if err != nil {
			return err
		}
		var f *wim.File
		m, known := sc.man[crel]
		switch {
		case fi.IsDir():
			var old *wim.File
			if b != nil && b.IsDir() {
				old = b
				c := *b
				f = &c
			} else {
				f = newDir(d, name, fi.ModTime().UTC())
			}
			f.Children = nil
			f.Parent = d
			if err := sc.dir(ctx, f, old, cp, crel, fi, depth+1); err != nil {
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
			// As capture stores it; an absolute target inside the
			// mount folder is made relative to the image root when
			// the image's links are.
			root := ""
			if sc.t.rpfix {
				root = sc.root
			}
			lf, rd, err := wim.CaptureLink(cp, fi, root)
			if err != nil {
				return fmt.Errorf("%s: %w", cp, err)
			}
			sc.t.blobs[lf.Streams[0].Hash] = blobSource{data: rd, size: int64(len(rd))}
			lf.SecurityID = d.SecurityID
			f = lf
		case fi.Mode().IsRegular():
			id, nlink, idOK := wim.StatFileID(cp, fi)
			old := b != nil && !b.IsDir() && b.Attributes&wim.AttrReparsePoint == 0
			df := &diskFile{path: cp, old: old}
			df.unchanged = old && known && !m.Dir && m.Link == "" && m.Size == fi.Size() &&
				m.Mtime == fi.ModTime().UnixNano() && (m.ID == "" || !idOK || m.ID == id.String())
			mt := fi.ModTime().UTC()
			switch {
			case df.unchanged:
				c := *b
				f = &c
				sc.res.Unchanged++
			case old:
				c := *b
				f = &c
				f.Attributes &^= wim.AttrSparseFile | wim.AttrCompressed | wim.AttrEncrypted
				f.Modified = mt
			default:
				f = &wim.File{Name: name, SecurityID: d.SecurityID, Attributes: wim.AttrArchive,
					Created: mt, Accessed: mt, Modified: mt}
			}
			df.f = f
			sc.files = append(sc.files, df)
			if idOK && nlink > 1 {
				in := sc.byID[id]
				if in == nil {
					in = &mountInode{}
					sc.byID[id] = in
					sc.links = append(sc.links, in)
				}
				in.names = append(in.names, df)
				df.inode = in
			}
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

// resolve gives the new and changed files their data, reading each file
// once whatever its number of names, and makes the hard-link groups those
// of the folder: names of one file on disk share one group (an unchanged
// name keeps its group, a new name joins it), and names of different files
// share none.
func (sc *mountScan) resolve(ctx context.Context) error {
	read := func(df *diskFile) error {
		h, size, err := sc.t.hashFile(df.path)
		if err != nil {
			return err
		}
		sc.res.FilesRead++
		sc.res.BytesRead += size
		df.f.Hash, df.f.Size = h, size
		return nil
	}
	for _, df := range sc.files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if df.inode != nil && len(df.inode.names) < 2 {
			df.inode = nil // its other names are outside the folder
		}
		if df.inode == nil && !df.unchanged {
			if err := read(df); err != nil {
				return err
			}
		}
	}
	var last uint64
	for f := range sc.base.All() {
		last = max(last, f.LinkGroup)
	}
	claimed := map[uint64]bool{}
	for _, in := range sc.links {
		if len(in.names) < 2 {
			continue
		}
		// The file's entry: an unchanged name's, else (all names
		// changed, so the data did) one read once.
		var rep *diskFile
		for _, df := range in.names {
			if df.unchanged {
				rep = df
				break
			}
		}
		if rep == nil {
			if err := read(in.names[0]); err != nil {
				return err
			}
			rep = in.names[0]
			for _, df := range in.names {
				if df.old {
					df.f.Hash, df.f.Size = rep.f.Hash, rep.f.Size
					rep = df
					break
				}
			}
		}
		// The group: the first free one an unchanged name had, else one
		// a changed name had, else a new one.
		var g uint64
		for _, pass := range []bool{true, false} {
			for _, df := range in.names {
				if g == 0 && df.old && df.unchanged == pass && df.f.LinkGroup != 0 && !claimed[df.f.LinkGroup] {
					g = df.f.LinkGroup
				}
			}
		}
		if g == 0 {
			last++
			g = last
		}
		claimed[g] = true
		for _, df := range in.names {
			if df != rep {
				shareInode(df.f, rep.f)
			}
			df.f.LinkGroup = g
		}
	}
	// A file with one name keeps the group it had when unchanged and no
	// other file holds it (its other names were deleted).
	for _, df := range sc.files {
		if df.inode != nil {
			continue
		}
		if g := df.f.LinkGroup; df.unchanged && g != 0 && !claimed[g] {
			claimed[g] = true
		} else {
			df.f.LinkGroup = 0
		}
	}
	return nil
}

// shareInode makes f another name of the file rep: data, attributes,
// security, times and tagged items belong to the file, not to the name.
func shareInode(f, rep *wim.File) {
	f.Attributes, f.SecurityID = rep.Attributes, rep.SecurityID
	f.Created, f.Accessed, f.Modified = rep.Created, rep.Accessed, rep.Modified
	f.Hash, f.Size = rep.Hash, rep.Size
	f.ReparseTag, f.ReparseReserved, f.ReparseFlags = rep.ReparseTag, rep.ReparseReserved, rep.ReparseFlags
	f.Streams = append([]wim.Stream(nil), rep.Streams...)
	f.Extra = append([]byte(nil), rep.Extra...)
}

// open returns a reader of the blob's data.
func (b blobSource) open() (io.ReadCloser, error) {
	if b.data != nil {
		return io.NopCloser(strings.NewReader(string(b.data))), nil
	}
	return os.Open(b.path)
}
