package wim

import (
	"fmt"
	"iter"
	"strings"
	"sync"
	"time"
)

// File attributes (File.Attributes), as Windows defines them.
const (
	AttrReadOnly          = 0x00000001
	AttrHidden            = 0x00000002
	AttrSystem            = 0x00000004
	AttrDirectory         = 0x00000010
	AttrArchive           = 0x00000020
	AttrDevice            = 0x00000040
	AttrNormal            = 0x00000080
	AttrTemporary         = 0x00000100
	AttrSparseFile        = 0x00000200
	AttrReparsePoint      = 0x00000400
	AttrCompressed        = 0x00000800
	AttrOffline           = 0x00001000
	AttrNotContentIndexed = 0x00002000
	AttrEncrypted         = 0x00004000
	AttrVirtual           = 0x00010000
)

// Reparse tags (File.ReparseTag) that the engine interprets.
const (
	ReparseTagMountPoint = 0xA0000003 // junction: extracted as a symbolic link on POSIX
	ReparseTagSymlink    = 0xA000000C // symbolic link
)

// ReparseNotFixed is the File.ReparseFlags bit recording that the target of
// an absolute link was stored unchanged (not made relative to the image root
// at capture), so extraction must not rebase it.
const ReparseNotFixed = 0x0001

// Image is the directory tree of one image of a WIM file, as read from its
// metadata resource.
type Image struct {
	Index    int      // 1-based image index (0 when parsed from bytes alone)
	Root     *File    // the root folder; it has no name
	Security [][]byte // self-relative SECURITY_DESCRIPTORs, indexed by File.SecurityID
}

// File is one directory entry of an image: a folder, a file, or a reparse
// point (symbolic link, junction, or another kind).
//
// Several entries with the same non-zero LinkGroup (and the same unnamed
// stream) are hard links to one file; see HardLinkKey.
type File struct {
	Name       string // long name; "" only for the root
	ShortName  string // DOS 8.3 name, or ""
	Attributes uint32 // Attr* bits
	SecurityID int32  // index into Image.Security, or -1 for none

	Created, Accessed, Modified time.Time // UTC

	Hash Hash  // SHA-1 of the unnamed data stream (zero when empty or absent)
	Size int64 // size of the unnamed data stream (from the blob table; see (*WIM).Image)

	ReparseTag      uint32 // reparse tag when Attributes has AttrReparsePoint, else 0
	ReparseReserved uint16 // the reparse buffer's reserved field, as stored
	ReparseFlags    uint16 // ReparseNotFixed, for links
	LinkGroup       uint64 // hard link group id (0: no other names); 0 for reparse points

	// Streams lists the named data streams (NTFS alternate data streams)
	// and, for a reparse point, its reparse data: the entry with an empty
	// Name (stored without the 8-byte reparse header).
	Streams []Stream

	// Extra holds the tagged metadata items stored after the names (object
	// ID, UNIX data, extended attributes), kept as they are.
	Extra []byte

	Children []*File // in wimlib's collation order (case-insensitive, then exact)
	Parent   *File   // nil for the root
}

// Stream is a named data stream, or the reparse data, of a File.
type Stream struct {
	Name string // "" for the reparse data
	Hash Hash   // zero when empty
	Size int64
}

// IsDir reports whether f is a folder that can have children: it has
// AttrDirectory and is not a reparse point.
func (f *File) IsDir() bool {
	return f.Attributes&(AttrDirectory|AttrReparsePoint) == AttrDirectory
}

// IsSymlink reports whether f is a symbolic link or a junction: a reparse
// point with tag ReparseTagSymlink or ReparseTagMountPoint.
func (f *File) IsSymlink() bool {
	return f.Attributes&AttrReparsePoint != 0 &&
		(f.ReparseTag == ReparseTagSymlink || f.ReparseTag == ReparseTagMountPoint)
}

// Reparse returns the reparse data stream of a reparse point.
func (f *File) Reparse() (Stream, bool) {
	if f.Attributes&AttrReparsePoint == 0 {
		return Stream{}, false
	}
	for _, s := range f.Streams {
		if s.Name == "" {
			return s, true
		}
	}
	return Stream{}, false
}

// NamedStreams returns the named data streams of f (no reparse data).
func (f *File) NamedStreams() []Stream {
	var out []Stream
	for _, s := range f.Streams {
		if s.Name != "" {
			out = append(out, s)
		}
	}
	return out
}

// Path returns the path of f in its image as wimlib-imagex prints it: "/"
// for the root, "/a/b" below it.
func (f *File) Path() string {
	if f.Parent == nil {
		return "/"
	}
	var parts []string
	for p := f; p.Parent != nil; p = p.Parent {
		parts = append(parts, p.Name)
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(parts[i])
	}
	return b.String()
}

// HardLinkKey identifies the file (inode) that f names: entries with equal
// non-zero keys are hard links to each other. It is zero for entries that
// cannot share their data: folders, reparse points and entries whose
// LinkGroup is 0. As in wimlib, entries of one group whose unnamed streams
// differ are separate files.
func (f *File) HardLinkKey() (key HardLinkKey) {
	if f.LinkGroup == 0 || f.Attributes&(AttrDirectory|AttrReparsePoint) != 0 {
		return key
	}
	return HardLinkKey{Group: f.LinkGroup, Hash: f.Hash}
}

// HardLinkKey is the identity of a file with several names; see
// File.HardLinkKey.
type HardLinkKey struct {
	Group uint64
	Hash  Hash
}

// Walk calls fn for every entry of the image in pre-order, a folder before
// its children, siblings in collation order: the order and the paths of
// `wimlib-imagex dir`. The root is "/". An error from fn stops the walk and
// is returned.
func (img *Image) Walk(fn func(path string, f *File) error) error {
	if img.Root == nil {
		return nil
	}
	type item struct {
		path string
		f    *File
	}
	stack := []item{{"/", img.Root}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if err := fn(it.path, it.f); err != nil {
			return err
		}
		prefix := it.path
		if prefix == "/" {
			prefix = ""
		}
		for i := len(it.f.Children) - 1; i >= 0; i-- {
			c := it.f.Children[i]
			stack = append(stack, item{prefix + "/" + c.Name, c})
		}
	}
	return nil
}

// All yields every entry of the image in Walk's order, without building
// their paths: the cheaper walk for work that does not name files.
func (img *Image) All() iter.Seq[*File] {
	return func(yield func(*File) bool) {
		if img.Root == nil {
			return
		}
		stack := []*File{img.Root}
		for len(stack) > 0 {
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if !yield(f) {
				return
			}
			for i := len(f.Children) - 1; i >= 0; i-- {
				stack = append(stack, f.Children[i])
			}
		}
	}
}

// BlobRefs yields, for every entry in All's order, the digest and size
// of each of its data streams that has data: the unnamed stream first,
// then the named ones. A blob shared by several entries is yielded for
// each.
func (img *Image) BlobRefs() iter.Seq2[Hash, int64] {
	return func(yield func(Hash, int64) bool) {
		for f := range img.All() {
			if !f.Hash.IsZero() && !yield(f.Hash, f.Size) {
				return
			}
			for _, s := range f.Streams {
				if !s.Hash.IsZero() && !yield(s.Hash, s.Size) {
					return
				}
			}
		}
	}
}

// pathOf returns the path of entry target in the image, or "" when the
// image does not hold it.
func (img *Image) pathOf(target *File) string {
	found := ""
	stop := fmt.Errorf("found")
	img.Walk(func(p string, f *File) error {
		if f == target {
			found = p
			return stop
		}
		return nil
	})
	return found
}

// Lookup returns the entry at path ("/" or "/a/b", compared exactly), or
// nil.
func (img *Image) Lookup(path string) *File {
	f := img.Root
	if f == nil || !strings.HasPrefix(path, "/") {
		return nil
	}
	for _, name := range strings.Split(path[1:], "/") {
		if name == "" {
			continue
		}
		var next *File
		for _, c := range f.Children {
			if c.Name == name {
				next = c
				break
			}
		}
		if next == nil {
			return nil
		}
		f = next
	}
	return f
}

// CheckName reports whether name may stand as one entry of an image tree.
// Refused everywhere: an empty name, "." and "..", names containing '/' or
// NUL, and names longer than NTFS allows (255 UTF-16 code units).
//
// '\' and ':' are allowed here: wimlib captures POSIX names that contain
// them (Perl's man pages are full of "File::Spec"), and on POSIX systems they
// are ordinary characters. CheckLocalName refuses them where the operating
// system gives them a meaning.
func CheckName(name string) error {
	switch name {
	case "":
		return fmt.Errorf("empty name")
	case ".", "..":
		return fmt.Errorf("name %q is not allowed", name)
	}
	if i := strings.IndexAny(name, "/\x00"); i >= 0 {
		return fmt.Errorf("name %q contains %q", name, name[i])
	}
	if n := utf16Len(name); n > maxNameUnits {
		return fmt.Errorf("name of %d UTF-16 code units exceeds %d", n, maxNameUnits)
	}
	return nil
}

// CheckLocalName is CheckName plus what this operating system forbids in a
// file name or gives a meaning to: on Windows '\' (a separator), ':' (a
// drive or an alternate stream) and the other characters Win32 refuses.
// Apply checks every name with it, so nothing is written outside the target.
func CheckLocalName(name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	return checkLocalName(name)
}

// maxNameUnits is the longest name accepted, in UTF-16 code units (the NTFS
// limit).
const maxNameUnits = 255

func utf16Len(s string) int {
	if len(s) <= maxNameUnits {
		return len(s) // never more code units than bytes
	}
	return len(stringToUnits(s))
}

// compareNames orders two names as wimlib orders the children of a folder:
// by the NTFS upper-case mapping of their UTF-16 code units, then by the
// code units themselves.
func compareNames(a, b []uint16) int {
	up := upcaseTable()
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if x, y := up[a[i]], up[b[i]]; x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// upcaseRange maps lo, lo+stride, ..., hi to themselves plus delta.
type upcaseRange struct {
	lo, hi uint16
	stride uint8
	delta  int32
}

// upcaseRanges is the NTFS default upper-case table ($UpCase, as mkntfs and
// Windows 10 write it; wimlib collates names with the same table), stored
// as the ranges where it differs from the identity.
var upcaseRanges = [...]upcaseRange{
	{0x0061, 0x007a, 1, -32}, {0x00e0, 0x00f6, 1, -32}, {0x00f8, 0x00fe, 1, -32}, {0x00ff, 0x00ff, 1, 121},
	{0x0101, 0x012f, 2, -1}, {0x0133, 0x0137, 2, -1}, {0x013a, 0x0148, 2, -1}, {0x014b, 0x0177, 2, -1},
	{0x017a, 0x017e, 2, -1}, {0x0180, 0x0180, 1, 195}, {0x0183, 0x0185, 2, -1}, {0x0188, 0x0188, 1, -1},
	{0x018c, 0x018c, 1, -1}, {0x0192, 0x0192, 1, -1}, {0x0195, 0x0195, 1, 97}, {0x0199, 0x0199, 1, -1},
	{0x019a, 0x019a, 1, 163}, {0x019e, 0x019e, 1, 130}, {0x01a1, 0x01a5, 2, -1}, {0x01a8, 0x01a8, 1, -1},
	{0x01ad, 0x01ad, 1, -1}, {0x01b0, 0x01b0, 1, -1}, {0x01b4, 0x01b6, 2, -1}, {0x01b9, 0x01b9, 1, -1},
	{0x01bd, 0x01bd, 1, -1}, {0x01bf, 0x01bf, 1, 56}, {0x01c6, 0x01c6, 1, -2}, {0x01c9, 0x01c9, 1, -2},
	{0x01cc, 0x01cc, 1, -2}, {0x01ce, 0x01dc, 2, -1}, {0x01dd, 0x01dd, 1, -79}, {0x01df, 0x01ef, 2, -1},
	{0x01f3, 0x01f3, 1, -2}, {0x01f5, 0x01f5, 1, -1}, {0x01f9, 0x021f, 2, -1}, {0x0223, 0x0233, 2, -1},
	{0x023c, 0x023c, 1, -1}, {0x0242, 0x0242, 1, -1}, {0x0247, 0x024f, 2, -1}, {0x0250, 0x0250, 1, 10783},
	{0x0251, 0x0251, 1, 10780}, {0x0253, 0x0253, 1, -210}, {0x0254, 0x0254, 1, -206}, {0x0256, 0x0257, 1, -205},
	{0x0259, 0x0259, 1, -202}, {0x025b, 0x025b, 1, -203}, {0x0260, 0x0260, 1, -205}, {0x0263, 0x0263, 1, -207},
	{0x0268, 0x0268, 1, -209}, {0x0269, 0x0269, 1, -211}, {0x026b, 0x026b, 1, 10743}, {0x026f, 0x026f, 1, -211},
	{0x0271, 0x0271, 1, 10749}, {0x0272, 0x0272, 1, -213}, {0x0275, 0x0275, 1, -214}, {0x027d, 0x027d, 1, 10727},
	{0x0280, 0x0280, 1, -218}, {0x0283, 0x0283, 1, -218}, {0x0288, 0x0288, 1, -218}, {0x0289, 0x0289, 1, -69},
	{0x028a, 0x028b, 1, -217}, {0x028c, 0x028c, 1, -71}, {0x0292, 0x0292, 1, -219}, {0x0371, 0x0373, 2, -1},
	{0x0377, 0x0377, 1, -1}, {0x037b, 0x037d, 1, 130}, {0x03ac, 0x03ac, 1, -38}, {0x03ad, 0x03af, 1, -37},
	{0x03b1, 0x03c1, 1, -32}, {0x03c3, 0x03cb, 1, -32}, {0x03cc, 0x03cc, 1, -64}, {0x03cd, 0x03ce, 1, -63},
	{0x03d7, 0x03d7, 1, -8}, {0x03d9, 0x03ef, 2, -1}, {0x03f2, 0x03f2, 1, 7}, {0x03f8, 0x03f8, 1, -1},
	{0x03fb, 0x03fb, 1, -1}, {0x0430, 0x044f, 1, -32}, {0x0450, 0x045f, 1, -80}, {0x0461, 0x0481, 2, -1},
	{0x048b, 0x04bf, 2, -1}, {0x04c2, 0x04ce, 2, -1}, {0x04cf, 0x04cf, 1, -15}, {0x04d1, 0x0523, 2, -1},
	{0x0561, 0x0586, 1, -48}, {0x1d79, 0x1d79, 1, 35332}, {0x1d7d, 0x1d7d, 1, 3814}, {0x1e01, 0x1e95, 2, -1},
	{0x1ea1, 0x1eff, 2, -1}, {0x1f00, 0x1f07, 1, 8}, {0x1f10, 0x1f15, 1, 8}, {0x1f20, 0x1f27, 1, 8},
	{0x1f30, 0x1f37, 1, 8}, {0x1f40, 0x1f45, 1, 8}, {0x1f51, 0x1f57, 2, 8}, {0x1f60, 0x1f67, 1, 8},
	{0x1f70, 0x1f71, 1, 74}, {0x1f72, 0x1f75, 1, 86}, {0x1f76, 0x1f77, 1, 100}, {0x1f78, 0x1f79, 1, 128},
	{0x1f7a, 0x1f7b, 1, 112}, {0x1f7c, 0x1f7d, 1, 126}, {0x1f80, 0x1f87, 1, 8}, {0x1f90, 0x1f97, 1, 8},
	{0x1fa0, 0x1fa7, 1, 8}, {0x1fb0, 0x1fb1, 1, 8}, {0x1fb3, 0x1fb3, 1, 9}, {0x1fc3, 0x1fc3, 1, 9},
	{0x1fd0, 0x1fd1, 1, 8}, {0x1fe0, 0x1fe1, 1, 8}, {0x1fe5, 0x1fe5, 1, 7}, {0x1ff3, 0x1ff3, 1, 9},
	{0x214e, 0x214e, 1, -28}, {0x2170, 0x217f, 1, -16}, {0x2184, 0x2184, 1, -1}, {0x24d0, 0x24e9, 1, -26},
	{0x2c30, 0x2c5e, 1, -48}, {0x2c61, 0x2c61, 1, -1}, {0x2c65, 0x2c65, 1, -10795}, {0x2c66, 0x2c66, 1, -10792},
	{0x2c68, 0x2c6c, 2, -1}, {0x2c73, 0x2c73, 1, -1}, {0x2c76, 0x2c76, 1, -1}, {0x2c81, 0x2ce3, 2, -1},
	{0x2d00, 0x2d25, 1, -7264}, {0xa641, 0xa65f, 2, -1}, {0xa663, 0xa66d, 2, -1}, {0xa681, 0xa697, 2, -1},
	{0xa723, 0xa72f, 2, -1}, {0xa733, 0xa76f, 2, -1}, {0xa77a, 0xa77c, 2, -1}, {0xa77f, 0xa787, 2, -1},
	{0xa78c, 0xa78c, 1, -1}, {0xff41, 0xff5a, 1, -32},
}

// upcaseTable expands upcaseRanges once.
var upcaseTable = sync.OnceValue(func() *[65536]uint16 {
	t := new([65536]uint16)
	for i := range t {
		t[i] = uint16(i)
	}
	for _, r := range upcaseRanges {
		for c := int32(r.lo); c <= int32(r.hi); c += int32(r.stride) {
			t[c] = uint16(c + r.delta)
		}
	}
	return t
})
