package servicing

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/wimconsole/wimconsole/engine/atomicfile"
	"github.com/wimconsole/wimconsole/engine/filetree"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// Op is the kind of a staged change.
type Op string

// Kinds of change.
const (
	OpAdd     Op = "add"     // add a file or folder (with its content) at Path
	OpMkdir   Op = "mkdir"   // add an empty folder at Path
	OpDelete  Op = "delete"  // delete Path and everything below it
	OpRename  Op = "rename"  // move Path to To
	OpReplace Op = "replace" // replace the data of the file at Path
)

// Change is one staged change. Paths are image paths ("/Windows/x.txt");
// Data is the staged content, relative to the session folder.
type Change struct {
	Op   Op     `json:"op"`
	Path string `json:"path"`
	To   string `json:"to,omitempty"`
	Data string `json:"data,omitempty"`
	// Links holds the symbolic links of the added file or folder as
	// capture found them when they were copied into the session (the
	// copies cannot tell: their targets resolve elsewhere), by slash path
	// below the added folder.
	Links map[string]StagedLink `json:"links,omitempty"`
	// Hashes holds the SHA-1 digest (hexadecimal) of each staged regular
	// file of an add or replace, by slash path below the added folder ("."
	// for the staged file itself), as found when the change was staged:
	// building the tree again (for the next change, or the commit) takes
	// them instead of reading the files again. The commit checks the data
	// against them as it writes it. Sessions staged without them hash
	// their files at each build.
	Hashes map[string]string `json:"hashes,omitempty"`
}

// StagedLink is a symbolic link of an added folder, as capture stores it:
// an absolute target inside the added folder is stored relative to it
// (Flags without wim.ReparseNotFixed), any other target as it is.
type StagedLink struct {
	Attributes uint32    `json:"attributes"`
	Tag        uint32    `json:"tag"`
	Reserved   uint16    `json:"reserved,omitempty"`
	Flags      uint16    `json:"flags,omitempty"`
	Data       []byte    `json:"data"` // reparse data
	Created    time.Time `json:"created"`
	Accessed   time.Time `json:"accessed"`
	Modified   time.Time `json:"modified"`
}

// String describes the change as the change list shows it.
func (c Change) String() string {
	if c.Op == OpRename {
		return fmt.Sprintf("%s %s -> %s", c.Op, c.Path, c.To)
	}
	return fmt.Sprintf("%s %s", c.Op, c.Path)
}

// CheckName reports whether name can name a file in an image that Windows
// will apply: wim.CheckName, and none of the characters Windows refuses in
// file names (< > : " | ? * \ and control characters).
func CheckName(name string) error {
	if err := wim.CheckName(name); err != nil {
		return err
	}
	for _, r := range name {
		if r < 0x20 || strings.ContainsRune(`<>:"|?*\`, r) {
			return fmt.Errorf("name %q contains %q, which Windows does not allow in a file name (the image would not apply on Windows)", name, r)
		}
	}
	return nil
}

// CleanPath turns a user's image path (`\Windows\System32`, `/a/b`, `a/b`)
// into the form the tree uses ("/a/b"), refusing names an image cannot hold
// (see wim.CheckName): "..", NUL and the like. Names Windows refuses (see
// CheckName) pass, so that entries an image captured elsewhere already
// holds can be named; changes check the names they make.
func CleanPath(p string) (string, error) {
	p = strings.ReplaceAll(p, `\`, "/")
	parts := strings.Split(p, "/")
	var out []string
	for _, s := range parts {
		if s == "" {
			continue
		}
		if err := wim.CheckName(s); err != nil {
			return "", fmt.Errorf("image path %q: %w", p, err)
		}
		out = append(out, s)
	}
	return "/" + strings.Join(out, "/"), nil
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// child returns the child of dir named name: the exact match, else the
// only case-insensitive one (Windows looks names up without case).
func child(dir *wim.File, name string) *wim.File {
	var ci *wim.File
	for _, c := range dir.Children {
		if c.Name == name {
			return c
		}
		if ci == nil && strings.EqualFold(c.Name, name) {
			ci = c
		}
	}
	return ci
}

// Find returns the entry at path p of img (components compared as Windows
// does, without case), or nil.
func Find(img *wim.Image, p string) *wim.File {
	f := img.Root
	for _, name := range splitPath(p) {
		if !f.IsDir() {
			return nil
		}
		if f = child(f, name); f == nil {
			return nil
		}
	}
	return f
}

func sortChildren(d *wim.File) {
	sort.SliceStable(d.Children, func(i, j int) bool {
		a, b := strings.ToUpper(d.Children[i].Name), strings.ToUpper(d.Children[j].Name)
		if a != b {
			return a < b
		}
		return d.Children[i].Name < d.Children[j].Name
	})
}

func attach(parent, f *wim.File) {
	f.Parent = parent
	parent.Children = append(parent.Children, f)
	sortChildren(parent)
}

func detach(f *wim.File) {
	p := f.Parent
	for i, c := range p.Children {
		if c == f {
			p.Children = append(p.Children[:i:i], p.Children[i+1:]...)
			break
		}
	}
	f.Parent = nil
}

// blobSource is where commit reads a new blob from.
type blobSource struct {
	path string // a file holding the data, or
	data []byte // the data itself
	size int64
}

// tree is an image tree with the session's changes applied, and the staged
// files that hold its new data.
type tree struct {
	img   *wim.Image
	blobs map[wim.Hash]blobSource
	rpfix bool   // the image's absolute link targets inside it are fixed (FlagRPFix)
	group uint64 // the highest hard-link group given out; 0 until newGroup
	// unsized: the sizes of the data the image had are not filled in
	// (see buildTree); fillSizes fills them from the group's Res.rwm.
	unsized bool
}

// fillSizes sets the size of every file and stream of an unsized tree
// whose data the session did not stage, from w, the group's Res.rwm open
// for the commit's append. Data that Res.rwm does not hold is an error:
// the commit would make an image that cannot be applied.
func (t *tree) fillSizes(w *wim.Writer, image, res string) error {
	if !t.unsized {
		return nil
	}
	size := func(f *wim.File, h wim.Hash, n *int64) error {
		if h.IsZero() || *n != 0 {
			return nil
		}
		if b, ok := t.blobs[h]; ok {
			*n = b.size
			return nil
		}
		sz, ok := w.BlobSize(h)
		if !ok {
			return fmt.Errorf("the data of %s in image %s (blob %s) is not in %s: the image group is damaged; run verify-store, and restore the group from a backup", f.Path(), image, h, res)
		}
		*n = sz
		return nil
	}
	for f := range t.img.All() {
		if err := size(f, f.Hash, &f.Size); err != nil {
			return err
		}
		for i := range f.Streams {
			if err := size(f, f.Streams[i].Hash, &f.Streams[i].Size); err != nil {
				return err
			}
		}
	}
	t.unsized = false
	return nil
}

// newGroup returns a hard-link group id no entry of the tree holds.
func (t *tree) newGroup() uint64 {
	if t.group == 0 {
		for f := range t.img.All() {
			t.group = max(t.group, f.LinkGroup)
		}
	}
	t.group++
	return t.group
}

// parentDir returns the folder that is to hold path p, creating missing
// folders on the way when mk is true.
func (t *tree) parentDir(p string, mk bool, now time.Time) (*wim.File, string, error) {
	parts := splitPath(p)
	if len(parts) == 0 {
		return nil, "", errors.New("the root folder cannot be changed")
	}
	d := t.img.Root
	for i, name := range parts[:len(parts)-1] {
		c := child(d, name)
		if c == nil {
			if !mk {
				return nil, "", fmt.Errorf("%s: folder does not exist", "/"+strings.Join(parts[:i+1], "/"))
			}
			if err := CheckName(name); err != nil {
				return nil, "", fmt.Errorf("new folder %s: %w", "/"+strings.Join(parts[:i+1], "/"), err)
			}
			c = newDir(d, name, now)
			attach(d, c)
		}
		if !c.IsDir() {
			return nil, "", fmt.Errorf("%s is not a folder", c.Path())
		}
		d = c
	}
	return d, parts[len(parts)-1], nil
}

func newDir(parent *wim.File, name string, t time.Time) *wim.File {
	return &wim.File{Name: name, Attributes: wim.AttrDirectory, SecurityID: parent.SecurityID,
		Created: t, Accessed: t, Modified: t}
}

// apply applies change c, whose data lives under the session folder dir,
// recording in c.Hashes the digests of the staged files it had to read.
func (t *tree) apply(c *Change, dir string) error {
	now := time.Now().UTC()
	switch c.Op {
	case OpAdd, OpMkdir:
		parent, name, err := t.parentDir(c.Path, true, now)
		if err != nil {
			return err
		}
		if ex := child(parent, name); ex != nil {
			return fmt.Errorf("%s already exists (delete or replace it)", ex.Path())
		}
		if err := CheckName(name); err != nil {
			return fmt.Errorf("new entry %s: %w", c.Path, err)
		}
		if c.Op == OpMkdir {
			attach(parent, newDir(parent, name, now))
			return nil
		}
		a := &adder{t: t, c: *c, rec: c, byID: map[wim.FileID]*wim.File{}}
		f, err := a.fromDisk(parent, name, filepath.Join(dir, filepath.FromSlash(c.Data)), ".", 0)
		if err != nil {
			return err
		}
		attach(parent, f)
	case OpDelete:
		f := Find(t.img, c.Path)
		if f == nil || f == t.img.Root {
			return fmt.Errorf("%s: no such file or folder in the image", c.Path)
		}
		detach(f)
	case OpRename:
		f := Find(t.img, c.Path)
		if f == nil || f == t.img.Root {
			return fmt.Errorf("%s: no such file or folder in the image", c.Path)
		}
		parent, name, err := t.parentDir(c.To, false, now)
		if err != nil {
			return err
		}
		if ex := child(parent, name); ex != nil && ex != f {
			return fmt.Errorf("%s already exists", ex.Path())
		}
		if name != f.Name {
			if err := CheckName(name); err != nil {
				return fmt.Errorf("new name %s: %w", c.To, err)
			}
		}
		for a := parent; a != nil; a = a.Parent {
			if a == f {
				return fmt.Errorf("cannot move %s into itself", c.Path)
			}
		}
		detach(f)
		f.Name = name
		f.ShortName = ""
		attach(parent, f)
	case OpReplace:
		f := Find(t.img, c.Path)
		if f == nil {
			return fmt.Errorf("%s: no such file in the image", c.Path)
		}
		if f.IsDir() || f.Attributes&(wim.AttrDirectory|wim.AttrReparsePoint) != 0 {
			return fmt.Errorf("%s is not a regular file; only files can be replaced", c.Path)
		}
		src := filepath.Join(dir, filepath.FromSlash(c.Data))
		st, err := os.Stat(src)
		if err != nil {
			return err
		}
		h, size, err := t.stagedFile(c, ".", src, st)
		if err != nil {
			return err
		}
		f.Hash, f.Size = h, size
		f.Modified = st.ModTime().UTC()
		f.LinkGroup = 0
		f.Attributes &^= wim.AttrSparseFile | wim.AttrCompressed | wim.AttrEncrypted
	default:
		return fmt.Errorf("unknown change %q", c.Op)
	}
	return nil
}

// hashFile hashes a staged file and records it as the source of its blob.
func (t *tree) hashFile(p string) (wim.Hash, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return wim.Hash{}, 0, err
	}
	defer f.Close()
	h := sha1.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return wim.Hash{}, 0, fmt.Errorf("reading %s: %w", p, err)
	}
	var sum wim.Hash
	if n == 0 {
		return sum, 0, nil
	}
	copy(sum[:], h.Sum(nil))
	t.blobs[sum] = blobSource{path: p, size: n}
	return sum, n, nil
}

// stagedFile returns the digest and size of the staged regular file p
// (st its Stat), rel its key in c.Hashes: the digest recorded there when
// the file's size agrees with it, otherwise the file's, read and recorded.
// Its data is registered as the source of the blob.
func (t *tree) stagedFile(c *Change, rel, p string, st os.FileInfo) (wim.Hash, int64, error) {
	if s, ok := c.Hashes[rel]; ok {
		if h, err := wim.ParseHash(s); err == nil && h.IsZero() == (st.Size() == 0) {
			if !h.IsZero() {
				t.blobs[h] = blobSource{path: p, size: st.Size()}
			}
			return h, st.Size(), nil
		}
	}
	h, n, err := t.hashFile(p)
	if err != nil {
		return h, n, err
	}
	if c.Hashes == nil {
		c.Hashes = map[string]string{}
	}
	c.Hashes[rel] = h.String()
	return h, n, nil
}

// adder builds the entries of one staged add.
type adder struct {
	t    *tree
	c    Change
	rec  *Change                  // the change whose Hashes record the digests of its files
	byID map[wim.FileID]*wim.File // the first name of each file with several
}

// fromDisk builds the entry for the staged file or folder p (rel its slash
// path below the added folder, "." for the folder itself). Names of one
// file (hard links) become one group with one blob, as capture makes them.
func (a *adder) fromDisk(parent *wim.File, name, p, rel string, depth int) (*wim.File, error) {
	t := a.t
	if depth > wim.MaxDepth {
		return nil, fmt.Errorf("%s: folders nested too deep", p)
	}
	st, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	mt := st.ModTime().UTC()
	f := &wim.File{Name: name, SecurityID: parent.SecurityID, Created: mt, Accessed: mt, Modified: mt, Parent: parent}
	switch {
	case st.IsDir():
		f.Attributes = wim.AttrDirectory
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if err := CheckName(e.Name()); err != nil {
				return nil, fmt.Errorf("%s: %w", filepath.Join(p, e.Name()), err)
			}
			crel := e.Name()
			if rel != "." {
				crel = rel + "/" + crel
			}
			c, err := a.fromDisk(f, e.Name(), filepath.Join(p, e.Name()), crel, depth+1)
			if err != nil {
				return nil, err
			}
			f.Children = append(f.Children, c)
		}
		sortChildren(f)
	case st.Mode().IsRegular():
		f.Attributes = wim.AttrArchive
		id, nlink, ok := wim.StatFileID(p, st)
		if first := a.byID[id]; ok && nlink > 1 && first != nil {
			if first.LinkGroup == 0 {
				first.LinkGroup = t.newGroup()
			}
			shareInode(f, first)
			f.LinkGroup = first.LinkGroup
			break
		}
		if f.Hash, f.Size, err = t.stagedFile(a.rec, rel, p, st); err != nil {
			return nil, err
		}
		if ok && nlink > 1 {
			a.byID[id] = f
		}
	case st.Mode()&os.ModeSymlink != 0:
		if err := a.link(f, p, rel, st); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%s: only files, folders and symbolic links can be added", p)
	}
	return f, nil
}

// link makes f the symbolic link staged at p, as capture stored it when it
// was copied in. A target that was inside the added folder points into the
// image at the added path when the image's links are fixed (FlagRPFix);
// otherwise it stays as it was, not fixed.
func (a *adder) link(f *wim.File, p, rel string, st os.FileInfo) error {
	sl, ok := a.c.Links[rel]
	if !ok {
		lf, data, err := wim.CaptureLink(p, st, "")
		if err != nil {
			return err
		}
		sl = StagedLink{Attributes: lf.Attributes, Tag: lf.ReparseTag, Reserved: lf.ReparseReserved,
			Flags: lf.ReparseFlags, Data: data, Created: lf.Created, Accessed: lf.Accessed, Modified: lf.Modified}
	}
	f.Attributes, f.ReparseTag, f.ReparseReserved, f.ReparseFlags = sl.Attributes, sl.Tag, sl.Reserved, sl.Flags
	f.Created, f.Accessed, f.Modified = sl.Created, sl.Accessed, sl.Modified
	data := sl.Data
	if sl.Flags&wim.ReparseNotFixed == 0 && sl.Tag == wim.ReparseTagSymlink {
		below, err := wim.LinkTarget(f, data) // "/" and the path below the added folder
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		target := a.c.Path + strings.TrimSuffix(below, "/")
		if !a.t.rpfix {
			if target, err = os.Readlink(p); err != nil {
				return err
			}
			f.ReparseFlags |= wim.ReparseNotFixed
		}
		if data, err = wim.SymlinkReparseData(target); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	h := wim.Hash(sha1.Sum(data))
	a.t.blobs[h] = blobSource{data: data, size: int64(len(data))}
	f.Streams = []wim.Stream{{Hash: h, Size: int64(len(data))}}
	return nil
}

// build loads the image's tree and applies the staged changes.
func (ss *Session) build() (*tree, error) { return ss.buildTree(false) }

// buildTree is build; forCommit builds the tree a commit writes: an install
// image's file is then opened alone, without the group's Res.rwm, whose
// blob table (one entry per blob of the group) the commit's append reads
// anyway, and the files the session did not change are left without their
// sizes (t.unsized) for commitTree to take from that table.
func (ss *Session) buildTree(forCommit bool) (*tree, error) {
	var w *wim.WIM
	var err error
	unsized := forCommit && !ss.ref.Boot
	if unsized {
		w, err = wim.Open(ss.s.ImagePath(ss.ref), &wim.OpenOptions{NoSplitSearch: true})
	} else {
		w, err = ss.openBase()
	}
	if err != nil {
		return nil, err
	}
	defer w.Close()
	var img *wim.Image
	if unsized {
		img, err = w.ImageTree(1)
	} else {
		img, err = w.Image(1)
	}
	if err != nil {
		return nil, err
	}
	t := &tree{img: img, blobs: map[wim.Hash]blobSource{}, rpfix: w.Header().Flags&wim.FlagRPFix != 0, unsized: unsized}
	for i := range ss.Changes {
		c := &ss.Changes[i]
		if err := t.apply(c, ss.dir); err != nil {
			return nil, fmt.Errorf("change %d (%s): %w", i+1, c, err)
		}
	}
	return t, nil
}

// Tree returns the image's tree as it will be committed: the image with the
// staged changes applied.
func (ss *Session) Tree() (*wim.Image, error) {
	t, err := ss.build()
	if err != nil {
		return nil, err
	}
	return t.img, nil
}

// stage checks c against the tree with the changes staged so far and, when
// it applies, records it. On error nothing is staged and the data staged
// for c (if any) is removed.
func (ss *Session) stage(c Change) error {
	fail := func(err error) error {
		if c.Data != "" {
			os.RemoveAll(filepath.Join(ss.dir, filepath.FromSlash(c.Data)))
		}
		return err
	}
	unlock, err := ss.lock()
	if err != nil {
		return fail(err)
	}
	defer unlock()
	if ss.State != StateOpen {
		return fail(fmt.Errorf("servicing session %s is %s", ss.ID, ss.State))
	}
	if ss.Mount != "" {
		return fail(fmt.Errorf("servicing session %s is mounted at %s: change the files there", ss.ID, ss.Mount))
	}
	if err := ss.checkBase(); err != nil {
		return fail(err)
	}
	t, err := ss.build()
	if err != nil {
		return fail(err)
	}
	if err := t.apply(&c, ss.dir); err != nil {
		return fail(err)
	}
	// Replacing the file the previous change replaced (a hive edited
	// twice, say) keeps only the newer data: the result is the same and
	// the session does not pile up copies.
	if n := len(ss.Changes); n > 0 && c.Op == OpReplace && ss.Changes[n-1].Op == OpReplace && strings.EqualFold(ss.Changes[n-1].Path, c.Path) {
		prev := ss.Changes[n-1]
		ss.Changes[n-1] = c
		if err := ss.save(); err != nil {
			ss.Changes[n-1] = prev
			return fail(err)
		}
		os.RemoveAll(filepath.Join(ss.dir, filepath.FromSlash(prev.Data)))
		return nil
	}
	ss.Changes = append(ss.Changes, c)
	if err := ss.save(); err != nil {
		ss.Changes = ss.Changes[:len(ss.Changes)-1]
		return fail(err)
	}
	return nil
}

// copyIn copies the file or folder src into the session's data folder and
// returns its path relative to the session folder, and the symbolic links
// in src as capture stores them (see copyTree).
func (ss *Session) copyIn(src string) (string, map[string]StagedLink, error) {
	st, err := os.Lstat(src)
	if err != nil {
		return "", nil, err
	}
	if !st.IsDir() && !st.Mode().IsRegular() {
		return "", nil, fmt.Errorf("%s: only files and folders can be added (a symbolic link only inside an added folder)", src)
	}
	rel := ss.newData()
	dst := filepath.Join(ss.dir, filepath.FromSlash(rel))
	links, err := copyTree(src, dst)
	if err != nil {
		os.RemoveAll(dst)
		return "", nil, err
	}
	return rel, links, nil
}

// Add stages adding the file or folder src (copied into the session now) at
// the image path dest, creating missing parent folders. dest must not exist.
func (ss *Session) Add(src, dest string) error {
	p, err := CleanPath(dest)
	if err != nil {
		return err
	}
	rel, links, err := ss.copyIn(src)
	if err != nil {
		return err
	}
	return ss.stage(Change{Op: OpAdd, Path: p, Data: rel, Links: links})
}

// AddData stages adding a file holding data at the image path dest.
func (ss *Session) AddData(dest string, data []byte) error {
	return ss.putData(OpAdd, dest, data)
}

// ReplaceData stages replacing the data of the file at path with data.
func (ss *Session) ReplaceData(path string, data []byte) error {
	return ss.putData(OpReplace, path, data)
}

func (ss *Session) putData(op Op, dest string, data []byte) error {
	p, err := CleanPath(dest)
	if err != nil {
		return err
	}
	rel := ss.newData()
	if err := atomicfile.WriteFile(filepath.Join(ss.dir, filepath.FromSlash(rel)), data, 0o644); err != nil {
		return err
	}
	return ss.stage(Change{Op: op, Path: p, Data: rel})
}

// Mkdir stages a new empty folder at path.
func (ss *Session) Mkdir(path string) error {
	p, err := CleanPath(path)
	if err != nil {
		return err
	}
	return ss.stage(Change{Op: OpMkdir, Path: p})
}

// Delete stages deleting the file or folder at path.
func (ss *Session) Delete(path string) error {
	p, err := CleanPath(path)
	if err != nil {
		return err
	}
	return ss.stage(Change{Op: OpDelete, Path: p})
}

// Rename stages moving the file or folder at path to the image path to
// (a bare name renames it within its folder).
func (ss *Session) Rename(path, to string) error {
	p, err := CleanPath(path)
	if err != nil {
		return err
	}
	if !strings.ContainsAny(to, `/\`) {
		to = p[:strings.LastIndex(p, "/")+1] + to
	}
	q, err := CleanPath(to)
	if err != nil {
		return err
	}
	return ss.stage(Change{Op: OpRename, Path: p, To: q})
}

// Replace stages replacing the data of the file at path with that of the
// file src (copied into the session now).
func (ss *Session) Replace(path, src string) error {
	p, err := CleanPath(path)
	if err != nil {
		return err
	}
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", src)
	}
	rel, _, err := ss.copyIn(src)
	if err != nil {
		return err
	}
	return ss.stage(Change{Op: OpReplace, Path: p, Data: rel})
}

// copyTree copies the file or folder src to dst (which must not exist),
// names of one file (hard links) inside src staying names of one file in
// the copy. Symbolic links are copied as links, and returned as capture of
// src stores them (by slash path below src), since the copies' targets
// resolve elsewhere: an absolute target inside src is made relative to it.
// Special files are refused.
func copyTree(src, dst string) (map[string]StagedLink, error) {
	links := map[string]StagedLink{}
	err := filetree.Copy(src, dst, filetree.Options{FileMode: 0o644, Link: func(p, rel string, fi fs.FileInfo) error {
		f, data, err := wim.CaptureLink(p, fi, src)
		if err != nil {
			return err
		}
		links[filepath.ToSlash(rel)] = StagedLink{Attributes: f.Attributes, Tag: f.ReparseTag,
			Reserved: f.ReparseReserved, Flags: f.ReparseFlags, Data: data,
			Created: f.Created, Accessed: f.Accessed, Modified: f.Modified}
		return nil
	}})
	if len(links) == 0 {
		links = nil
	}
	return links, err
}
