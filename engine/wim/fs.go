package wim

import (
	"errors"
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"
)

// ImageFS returns image index (1-based) as a read-only file system: the
// tree of its metadata resource, with each file's data read from its blob
// on demand (decompressed as it is read). It reads and parses the metadata
// now, as Image does, and stays usable while w is open. The result
// implements fs.ReadDirFS, fs.ReadFileFS, fs.StatFS and fs.ReadLinkFS, so
// fs.WalkDir, fs.Glob, http.FS and testing/fstest work on an image.
//
// Paths are in fs.ValidPath form and compared exactly ("Windows/System32",
// not "windows/system32": WIM names are case-preserving, and an image
// captured on Linux may hold names differing only in case). A '\' or ':'
// in a name (wimlib captures "File::Spec" as it is on Linux) is an
// ordinary character, never a separator, as io/fs requires. A name holding
// an unpaired UTF-16 surrogate (kept as WTF-8, which is not UTF-8) is
// listed by ReadDir but cannot be named in a path: fs.ValidPath refuses
// it, and opening it fails with fs.ErrInvalid.
//
// Symbolic links and junctions are never followed: Open, Stat and ReadFile
// of a link describe the link itself (fs.ModeSymlink, no data), and
// ReadLink returns its target as wimlib-imagex extracts it on Linux ('\'
// as '/', an absolute target from the image root). Other reparse points
// are fs.ModeIrregular. FileInfo.Sys returns the entry's *File; ModTime is
// its last-write time; permission bits say only that the image is
// read-only (0444 files, 0555 folders, 0777 links), since WIM entries have
// Windows security descriptors, not POSIX modes.
//
// A file opened from it is an io.ReadSeeker. Data read from the start to
// the end in order is checked against the blob's SHA-1 digest (a mismatch
// is a *ChecksumError in place of io.EOF); data read after a Seek away
// from the start is a range that no digest covers. A seek costs nothing
// until the next Read, which starts decompressing at the chunk holding the
// new position.
func (w *WIM) ImageFS(index int) (fs.FS, error) {
	img, err := w.Image(index)
	if err != nil {
		return nil, err
	}
	return &imageFS{w: w, img: img}, nil
}

// imageFS is an image as an fs.FS; see ImageFS.
type imageFS struct {
	w   *WIM
	img *Image
}

var (
	_ fs.ReadDirFS  = (*imageFS)(nil)
	_ fs.ReadFileFS = (*imageFS)(nil)
	_ fs.StatFS     = (*imageFS)(nil)
	_ fs.ReadLinkFS = (*imageFS)(nil)
)

// errIsDir is the error for reading a folder's data.
var errIsDir = errors.New("is a directory")

// errNotLink is the error for ReadLink of an entry that is no link.
var errNotLink = errors.New("not a symbolic link")

// lookup returns the entry at name, which must be a valid path.
func (fsys *imageFS) lookup(op, name string) (*File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	f := fsys.img.Root
	if f == nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	if name == "." {
		return f, nil
	}
	for elem := range strings.SplitSeq(name, "/") {
		var next *File
		if f.IsDir() {
			for _, c := range f.Children {
				if c.Name == elem {
					next = c
					break
				}
			}
		}
		if next == nil {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		f = next
	}
	return f, nil
}

// Open opens the entry at name.
func (fsys *imageFS) Open(name string) (fs.File, error) {
	f, err := fsys.lookup("open", name)
	if err != nil {
		return nil, err
	}
	return &imageFile{fsys: fsys, f: f, name: name}, nil
}

// Stat describes the entry at name.
func (fsys *imageFS) Stat(name string) (fs.FileInfo, error) {
	f, err := fsys.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	return fileInfo{f}, nil
}

// Lstat is Stat: links are never followed.
func (fsys *imageFS) Lstat(name string) (fs.FileInfo, error) {
	f, err := fsys.lookup("lstat", name)
	if err != nil {
		return nil, err
	}
	return fileInfo{f}, nil
}

// ReadLink returns the target of the link at name.
func (fsys *imageFS) ReadLink(name string) (string, error) {
	f, err := fsys.lookup("readlink", name)
	if err != nil {
		return "", err
	}
	if !f.IsSymlink() {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: errNotLink}
	}
	rp, _ := f.Reparse()
	var data []byte
	if !rp.Hash.IsZero() {
		if data, err = fsys.w.ReadBlob(rp.Hash, maxReparseData); err != nil {
			return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
		}
	}
	target, err := linkTarget(f.ReparseTag, f.ReparseFlags, data, "")
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return target, nil
}

// ReadDir lists the folder at name, sorted by name.
func (fsys *imageFS) ReadDir(name string) ([]fs.DirEntry, error) {
	f, err := fsys.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if !f.IsDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	return dirEntries(f), nil
}

// ReadFile returns the data of the file at name, its digest checked.
func (fsys *imageFS) ReadFile(name string) ([]byte, error) {
	f, err := fsys.lookup("readfile", name)
	if err != nil {
		return nil, err
	}
	if f.IsDir() {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: errIsDir}
	}
	if f.Hash.IsZero() {
		return []byte{}, nil
	}
	b, err := fsys.w.ReadBlob(f.Hash, f.Size)
	if err != nil {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: err}
	}
	return b, nil
}

// dirEntries returns the children of folder f sorted by name, as
// fs.ReadDir promises (the image keeps them in wimlib's case-insensitive
// collation order).
func dirEntries(f *File) []fs.DirEntry {
	out := make([]fs.DirEntry, len(f.Children))
	for i, c := range f.Children {
		out[i] = fileInfo{c}
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}

// fileInfo describes an entry; it is both its fs.FileInfo and its
// fs.DirEntry.
type fileInfo struct{ f *File }

func (fi fileInfo) Name() string {
	if fi.f.Parent == nil {
		return "."
	}
	return fi.f.Name
}

func (fi fileInfo) Size() int64 {
	if fi.f.IsDir() {
		return 0
	}
	return fi.f.Size
}

func (fi fileInfo) Mode() fs.FileMode {
	switch {
	case fi.f.IsDir():
		return fs.ModeDir | 0o555
	case fi.f.IsSymlink():
		return fs.ModeSymlink | 0o777
	case fi.f.Attributes&AttrReparsePoint != 0:
		return fs.ModeIrregular | 0o444
	}
	return 0o444
}

func (fi fileInfo) ModTime() time.Time { return fi.f.Modified }
func (fi fileInfo) IsDir() bool        { return fi.f.IsDir() }

// Sys returns the entry's *File.
func (fi fileInfo) Sys() any                   { return fi.f }
func (fi fileInfo) Type() fs.FileMode          { return fi.Mode().Type() }
func (fi fileInfo) Info() (fs.FileInfo, error) { return fi, nil }
func (fi fileInfo) String() string             { return fs.FormatFileInfo(fi) }

// imageFile is an open entry of an imageFS: a folder's listing, or a
// reader of a file's unnamed data stream (empty for links and other
// reparse points).
type imageFile struct {
	fsys   *imageFS
	f      *File
	name   string
	closed bool

	// Files: the read position, and the open stream at rcOff.
	off   int64
	rc    io.ReadCloser
	rcOff int64

	// Folders: the listing and how much of it ReadDir returned.
	ents []fs.DirEntry
	dpos int
}

func (h *imageFile) Stat() (fs.FileInfo, error) {
	if h.closed {
		return nil, &fs.PathError{Op: "stat", Path: h.name, Err: fs.ErrClosed}
	}
	return fileInfo{h.f}, nil
}

// size is the length of the data Read returns.
func (h *imageFile) size() int64 {
	if h.f.Hash.IsZero() || h.f.IsDir() {
		return 0
	}
	return h.f.Size
}

func (h *imageFile) Read(p []byte) (int, error) {
	if h.closed {
		return 0, &fs.PathError{Op: "read", Path: h.name, Err: fs.ErrClosed}
	}
	if h.f.IsDir() {
		return 0, &fs.PathError{Op: "read", Path: h.name, Err: errIsDir}
	}
	if h.off >= h.size() {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if h.rc != nil && h.rcOff != h.off {
		h.rc.Close()
		h.rc = nil
	}
	if h.rc == nil {
		var err error
		if h.off == 0 {
			h.rc, err = h.fsys.w.OpenBlob(h.f.Hash)
		} else {
			h.rc, err = h.fsys.w.openBlobRange(h.f.Hash, h.off, h.size()-h.off)
		}
		if err != nil {
			return 0, &fs.PathError{Op: "read", Path: h.name, Err: err}
		}
		h.rcOff = h.off
	}
	n, err := h.rc.Read(p)
	h.off += int64(n)
	h.rcOff = h.off
	if err != nil && err != io.EOF {
		err = &fs.PathError{Op: "read", Path: h.name, Err: err}
	}
	return n, err
}

func (h *imageFile) Seek(offset int64, whence int) (int64, error) {
	if h.closed {
		return 0, &fs.PathError{Op: "seek", Path: h.name, Err: fs.ErrClosed}
	}
	if h.f.IsDir() {
		return 0, &fs.PathError{Op: "seek", Path: h.name, Err: errIsDir}
	}
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += h.off
	case io.SeekEnd:
		offset += h.size()
	default:
		return 0, &fs.PathError{Op: "seek", Path: h.name, Err: fs.ErrInvalid}
	}
	if offset < 0 {
		return 0, &fs.PathError{Op: "seek", Path: h.name, Err: errors.New("negative position")}
	}
	h.off = offset
	return offset, nil
}

func (h *imageFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if h.closed {
		return nil, &fs.PathError{Op: "readdir", Path: h.name, Err: fs.ErrClosed}
	}
	if !h.f.IsDir() {
		return nil, &fs.PathError{Op: "readdir", Path: h.name, Err: errors.New("not a directory")}
	}
	if h.ents == nil {
		h.ents = dirEntries(h.f)
	}
	rest := h.ents[h.dpos:]
	if n <= 0 {
		h.dpos = len(h.ents)
		return slices.Clone(rest), nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	rest = rest[:min(n, len(rest))]
	h.dpos += len(rest)
	return slices.Clone(rest), nil
}

func (h *imageFile) Close() error {
	if h.closed {
		return &fs.PathError{Op: "close", Path: h.name, Err: fs.ErrClosed}
	}
	h.closed = true
	if h.rc != nil {
		h.rc.Close()
		h.rc = nil
	}
	return nil
}
