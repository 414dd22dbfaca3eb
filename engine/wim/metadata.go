package wim

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"unicode/utf16"
	"unicode/utf8"
)

// Layout of a directory entry in a metadata resource.
const (
	direntFixedSize = 102 // fixed part, before the names
	direntMinSize   = 104 // smallest 8-aligned entry

	dOffAttributes = 8
	dOffSecurityID = 12
	dOffSubdir     = 16
	dOffCreated    = 40
	dOffAccessed   = 48
	dOffModified   = 56
	dOffHash       = 64
	dOffReparseTag = 88 // u32 tag, u16 reserved, u16 flags; or u64 link group
	dOffStreams    = 96
	dOffShortLen   = 98
	dOffNameLen    = 100

	streamEntryFixedSize = 38 // u64 length, u64 reserved, hash, u16 name length
)

// MaxDepth is the deepest folder nesting ParseMetadata accepts (the root's
// children are at depth 1).
const MaxDepth = 1024

// ParseMetadata parses an image's uncompressed metadata resource: the
// security data, then the tree of directory entries. Stream sizes are not
// part of it and are left zero (see (*WIM).Image, which fills them in from
// the blob table).
//
// It is strict about what it accepts, since the tree later becomes paths on
// disk: every entry must lie inside data; sibling lists may not be shared or
// revisited (no cycles), folders nest at most MaxDepth deep, the number of
// entries is bounded by what data can hold, and every name must pass
// CheckName and be unique in its folder. A list that ends with the end of
// data instead of an end marker is an error too. Errors are *FormatError
// whose Offset is the position in data.
//
// Like wimlib, it keeps an out-of-range security id as -1, ignores the
// children of an entry that is not a plain folder (a file, or a folder that
// is a reparse point), and treats a resource whose tree starts with an end
// marker as an empty image.
func ParseMetadata(data []byte) (*Image, error) {
	sec, rootOff, err := parseSecurity(data)
	if err != nil {
		return nil, err
	}
	p := &metaParser{
		data:       data,
		maxEntries: len(data)/direntMinSize + 1,
		nsec:       int64(len(sec)),
		lists:      make(map[uint64]bool),
	}
	root, err := p.readEntry(rootOff, nil)
	if err != nil {
		return nil, err
	}
	img := &Image{Security: sec}
	if root.f == nil {
		img.Root = &File{Attributes: AttrDirectory, SecurityID: -1}
		return img, nil
	}
	// wimlib drops a name on the root; so do we (readEntry leaves names
	// to readChildren).
	if !root.f.IsDir() {
		return nil, p.errf(rootOff, "the root entry is not a folder (attributes 0x%x)", root.f.Attributes)
	}
	if root.subdir != 0 {
		if err := p.readChildren(root.f, root.subdir, rootOff, 1); err != nil {
			return nil, err
		}
	}
	img.Root = root.f
	return img, nil
}

// metaParser holds the state of one ParseMetadata call. The tree's entries,
// child slices, names and extra data are cut from shared blocks (slabs)
// rather than allocated one by one: a Windows image has hundreds of
// thousands of entries.
type metaParser struct {
	data       []byte
	entries    int
	maxEntries int
	nsec       int64           // security descriptors: ids past them are -1
	lists      map[uint64]bool // child-list offsets already read

	// kids is a stack of the entries of the child lists being read: a
	// folder's at kids[base:] while it is read (see readChildren).
	kids []metaKid
	// names holds the names of the list being read, as UTF-8 (WTF-8);
	// each list's become one string that its entries' names slice.
	names []byte
	files []File  // slab of entries not yet used
	ptrs  []*File // slab for child slices
	extra []byte  // slab for File.Extra

	// light, when set, makes no tree: each entry is read into one
	// reused File, handed to light, and forgotten (see scanMetadataRefs).
	light *refScan
}

// metaKid is an entry of the child list being read.
type metaKid struct {
	f      *File
	off    uint64 // of the entry
	subdir uint64 // its child list, or 0
	// The long name as stored (UTF-16LE) is data[nameOff:nameOff+nameLen]:
	// the sort key. Decoded, it is metaParser.names[nameAt:shortAt], the
	// short name names[shortAt:shortEnd] (unset in a light scan for a name
	// plainNameUTF16 passes).
	nameOff                   uint32
	nameLen                   uint16
	nameAt, shortAt, shortEnd uint32
	dir                       bool // f.IsDir(), kept for a light scan, whose f is reused
}

// rawEntry is a directory entry as readEntry reads it: f without its
// names, which are in data.
type rawEntry struct {
	f           *File // nil at the end of a list
	name, short []byte
	nameOff     uint64 // of name in data
	subdir      uint64 // offset of the child list, 0 for none
	next        uint64 // offset of the next entry
}

func (p *metaParser) errf(off uint64, format string, args ...any) *FormatError {
	return &FormatError{Offset: int64(off), Msg: fmt.Sprintf(format, args...)}
}

// newFile returns a zero File from the slab. Blocks grow with the number
// of entries read so far, and never past what data can still hold.
func (p *metaParser) newFile() *File {
	if p.light != nil {
		f := &p.light.scratch
		*f = File{Streams: f.Streams[:0]}
		return f
	}
	if len(p.files) == 0 {
		n := min(max(p.entries, 16), 1024, p.maxEntries-p.entries+1)
		p.files = make([]File, n)
	}
	f := &p.files[0]
	p.files = p.files[1:]
	return f
}

// childSlice returns a slice of n pointers from the slab, with no room to
// grow into its neighbour's.
func (p *metaParser) childSlice(n int) []*File {
	if len(p.ptrs) < n {
		p.ptrs = make([]*File, max(n, min(max(p.entries, 64), 4096)))
	}
	s := p.ptrs[:n:n]
	p.ptrs = p.ptrs[n:]
	return s
}

// keepExtra copies b into the slab of extra data.
func (p *metaParser) keepExtra(b []byte) []byte {
	if len(b) > cap(p.extra)-len(p.extra) {
		p.extra = make([]byte, 0, max(len(b), min(64<<10, len(p.data))))
	}
	n := len(p.extra)
	p.extra = append(p.extra, b...)
	return p.extra[n:len(p.extra):len(p.extra)]
}

// readChildren reads the child list at offset list of dir, whose own entry
// is at offset entry. The list's entries are read, named and checked
// first, then sorted; the sub-folders' lists follow in that order.
func (p *metaParser) readChildren(dir *File, list, entry uint64, depth int) error {
	off := list
	if off >= uint64(len(p.data)) {
		return p.errf(entry, "child list of %s at offset %d lies past the end of the metadata resource (%d bytes)", dir.Path(), off, len(p.data))
	}
	if depth > MaxDepth {
		return p.errf(off, "folders nested deeper than %d levels at %s", MaxDepth, dir.Path())
	}
	if size := uint64(len(p.data)); size-off >= 8 && binary.LittleEndian.Uint64(p.data[off:]) <= 8 {
		return nil // an empty list: harmless even if shared
	}
	if p.lists[off] {
		return p.errf(off, "child list of %s was already read for another folder (cycle or shared list)", dir.Path())
	}
	p.lists[off] = true
	base := len(p.kids)
	defer func() { p.kids = p.kids[:base] }()
	// Room for the whole list at once: one long list (a folder of 20,000
	// man pages) would otherwise be copied as the slices double.
	n, nameBytes := p.countList(off)
	p.kids = slices.Grow(p.kids, n)
	p.names = slices.Grow(p.names[:0], nameBytes)
	for {
		e, err := p.readEntry(off, dir)
		if err != nil {
			return p.duplicateBefore(base, dir, err)
		}
		if e.f == nil {
			break
		}
		k := metaKid{f: e.f, off: off, subdir: e.subdir, nameOff: uint32(e.nameOff), nameLen: uint16(len(e.name)), nameAt: uint32(len(p.names)), dir: e.f.IsDir()}
		if p.light != nil {
			p.light.entry(e.f)
			if plainNameUTF16(e.name) {
				// A light scan keeps no names: one that surely passes
				// CheckName is not decoded (a tenth of the scan).
				p.kids = append(p.kids, k)
				off = e.next
				continue
			}
		}
		p.names = appendWTF8(p.names, e.name)
		k.shortAt = uint32(len(p.names))
		if name := p.names[k.nameAt:k.shortAt]; !plainName(name) {
			if err := CheckName(string(name)); err != nil {
				return p.duplicateBefore(base, dir, p.errf(off, "entry in %s: %v", dir.Path(), err))
			}
		}
		p.names = appendWTF8(p.names, e.short)
		k.shortEnd = uint32(len(p.names))
		p.kids = append(p.kids, k)
		off = e.next
	}
	kids := p.kids[base:]
	slices.SortFunc(kids, func(a, b metaKid) int {
		if c := compareNameBytes(p.nameOf(a), p.nameOf(b)); c != 0 {
			return c
		}
		return cmp.Compare(a.off, b.off)
	})
	for i := 1; i < len(kids); i++ {
		if bytes.Equal(p.nameOf(kids[i-1]), p.nameOf(kids[i])) {
			return p.duplicateBefore(base, dir, nil)
		}
	}
	if p.light != nil {
		for i := range kids {
			// By index: the lists below grow p.kids, which may move it.
			k := &p.kids[base+i]
			if k.subdir != 0 && k.dir {
				if err := p.readChildren(dir, k.subdir, k.off, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	names := string(p.names)
	children := p.childSlice(len(kids))
	for i := range kids {
		k := &kids[i]
		k.f.Name = names[k.nameAt:k.shortAt]
		if k.shortEnd > k.shortAt {
			k.f.ShortName = names[k.shortAt:k.shortEnd]
		}
		children[i] = k.f
	}
	dir.Children = children
	for i := range children {
		// By index: the lists below grow p.kids, which may move it.
		k := &p.kids[base+i]
		if k.subdir != 0 && k.f.IsDir() {
			if err := p.readChildren(k.f, k.subdir, k.off, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// nameOf returns the long name of k as stored (UTF-16LE).
func (p *metaParser) nameOf(k metaKid) []byte {
	return p.data[k.nameOff : k.nameOff+uint32(k.nameLen)]
}

// countList estimates, for the room to make, how many entries the list at
// off holds and how many bytes their names take, reading only lengths: it
// stops, short, where the list would be refused (readEntry says why), and
// at what data can still hold.
func (p *metaParser) countList(off uint64) (n, nameBytes int) {
	data := p.data
	size := uint64(len(data))
	le := binary.LittleEndian
	for n < p.maxEntries-p.entries {
		if off > size || size-off < direntFixedSize {
			break
		}
		raw := le.Uint64(data[off:])
		if raw <= 8 || raw > size-off {
			break
		}
		length := min(align8(raw), size-off)
		if length < direntFixedSize {
			break
		}
		// Names claimed longer than the entry are refused: they count
		// for no more than it, so that the room made stays within data.
		names := uint64(le.Uint16(data[off+dOffNameLen:])) + uint64(le.Uint16(data[off+dOffShortLen:]))
		nameBytes += int(min(names, length))
		n++
		next := off + length
		for range le.Uint16(data[off+dOffStreams:]) {
			if next > size || size-next < 8 {
				break
			}
			raw := le.Uint64(data[next:])
			if raw > size-next {
				break
			}
			next += max(align8(raw), streamEntryFixedSize)
		}
		off = next
	}
	return n, nameBytes
}

// duplicateBefore returns the error for the first entry of the list being
// read (p.kids[base:]) that repeats the name of an earlier one, as reading
// the list in order meets it; when there is none, err, which stopped the
// reading after them.
func (p *metaParser) duplicateBefore(base int, dir *File, err error) error {
	kids := p.kids[base:]
	slices.SortFunc(kids, func(a, b metaKid) int { return cmp.Compare(a.off, b.off) })
	seen := make(map[string]bool, len(kids))
	for _, k := range kids {
		// Decoded from the data: a light scan keeps no names in p.names.
		name := string(appendWTF8(nil, p.nameOf(k)))
		if seen[name] {
			return p.errf(k.off, "duplicate name %q in %s", name, dir.Path())
		}
		seen[name] = true
	}
	return err
}

// plainName reports whether name, WTF-8, surely passes CheckName: it is
// neither empty nor "." or "..", and holds no '/' or NUL (its length in
// UTF-16 code units was checked as stored).
func plainName(name []byte) bool {
	switch len(name) {
	case 0:
		return false
	case 1:
		if name[0] == '.' {
			return false
		}
	case 2:
		if name[0] == '.' && name[1] == '.' {
			return false
		}
	}
	return bytes.IndexByte(name, '/') < 0 && bytes.IndexByte(name, 0) < 0
}

// plainNameUTF16 is plainName on a name as stored (UTF-16LE), without
// decoding it: a byte of its WTF-8 form is '/' or NUL only where a code
// unit is (the bytes of a longer sequence are all 0x80 or more), and "."
// and ".." are one and two code units. A name of an odd number of bytes
// gets false: the caller decodes it and asks plainName.
func plainNameUTF16(b []byte) bool {
	switch {
	case len(b) == 0 || len(b)&1 != 0:
		return false
	case len(b) == 2 && b[0] == '.' && b[1] == 0:
		return false
	case len(b) == 4 && b[0] == '.' && b[1] == 0 && b[2] == '.' && b[3] == 0:
		return false
	}
	for i := 0; i < len(b); i += 2 {
		if b[i+1] == 0 && (b[i] == 0 || b[i] == '/') {
			return false
		}
	}
	return true
}

// readEntry reads the directory entry at off, with its stream entries. It
// returns a nil File at an end-of-list marker.
func (p *metaParser) readEntry(off uint64, parent *File) (rawEntry, error) {
	data := p.data
	size := uint64(len(data))
	where := func() string {
		if parent == nil {
			return "the root entry"
		}
		return "an entry in " + parent.Path()
	}
	if off > size || size-off < 8 {
		return rawEntry{}, p.errf(off, "%s lies past the end of the metadata resource (%d bytes)", where(), size)
	}
	le := binary.LittleEndian
	rawLen := le.Uint64(data[off:])
	if rawLen <= 8 {
		return rawEntry{next: off + 8}, nil // end of list
	}
	if rawLen > size-off {
		return rawEntry{}, p.errf(off, "%s has length %d, past the end of the metadata resource (%d bytes)", where(), rawLen, size)
	}
	length := align8(rawLen)
	if length > size-off {
		length = size - off // the alignment padding may be missing at the very end
	}
	// Checked after the clamp: a length of 97 to 101 is 104 once aligned,
	// but only its raw bytes may be there at the very end of data.
	if length < direntFixedSize {
		return rawEntry{}, p.errf(off, "%s has length %d, less than the %d-byte minimum", where(), rawLen, direntFixedSize)
	}
	p.entries++
	if p.entries > p.maxEntries {
		return rawEntry{}, p.errf(off, "more directory entries than a %d-byte metadata resource can hold (overlapping lists)", size)
	}
	e := data[off : off+length]
	nStreams := int(le.Uint16(e[dOffStreams:]))
	shortLen := uint64(le.Uint16(e[dOffShortLen:]))
	nameLen := uint64(le.Uint16(e[dOffNameLen:]))
	if shortLen&1 != 0 || nameLen&1 != 0 {
		return rawEntry{}, p.errf(off, "%s has an odd name length (%d, short %d)", where(), nameLen, shortLen)
	}
	need := uint64(direntFixedSize)
	if nameLen > 0 {
		need += nameLen + 2
	}
	if shortLen > 0 {
		need += shortLen + 2
	}
	if need > length {
		return rawEntry{}, p.errf(off, "%s has length %d, too short for its names (%d bytes needed)", where(), rawLen, need)
	}
	if nameLen/2 > maxNameUnits {
		return rawEntry{}, p.errf(off, "%s has a name of %d UTF-16 code units (more than %d)", where(), nameLen/2, maxNameUnits)
	}
	r := rawEntry{subdir: le.Uint64(e[dOffSubdir:])}
	pos := uint64(direntFixedSize)
	if nameLen > 0 {
		r.name = e[pos : pos+nameLen]
		r.nameOff = off + pos
		pos += nameLen + 2
	}
	if shortLen > 0 {
		r.short = e[pos : pos+shortLen]
		pos += shortLen + 2
	}
	pos = align8(pos)
	// Stream entries follow, 8-aligned, outside the entry's length. They
	// are all checked before the entry is made.
	next := off + length
	streams := next
	for i := 0; i < nStreams; i++ {
		if next > size || size-next < streamEntryFixedSize {
			return rawEntry{}, p.errf(next, "stream entry %d of %s lies past the end of the metadata resource", i+1, p.describe(r.name, parent))
		}
		raw := le.Uint64(data[next:])
		if raw > size-next {
			return rawEntry{}, p.errf(next, "stream entry %d of %s has length %d, past the end of the metadata resource", i+1, p.describe(r.name, parent), raw)
		}
		slen := align8(raw)
		if slen > size-next {
			slen = size - next
		}
		if slen < streamEntryFixedSize {
			return rawEntry{}, p.errf(next, "stream entry %d of %s has length %d, less than the %d-byte minimum", i+1, p.describe(r.name, parent), raw, streamEntryFixedSize)
		}
		if n := uint64(le.Uint16(data[next+36:])); n&1 != 0 || streamEntryFixedSize+n > slen {
			return rawEntry{}, p.errf(next, "stream entry %d of %s has a bad name length %d", i+1, p.describe(r.name, parent), n)
		}
		next += slen
	}
	r.next = next

	f := p.newFile()
	r.f = f
	f.Attributes = le.Uint32(e[dOffAttributes:])
	f.SecurityID = int32(le.Uint32(e[dOffSecurityID:]))
	if f.SecurityID < 0 || int64(f.SecurityID) >= p.nsec {
		f.SecurityID = -1 // "none", as in wimlib
	}
	f.Created = FiletimeToTime(le.Uint64(e[dOffCreated:]))
	f.Accessed = FiletimeToTime(le.Uint64(e[dOffAccessed:]))
	f.Modified = FiletimeToTime(le.Uint64(e[dOffModified:]))
	f.Parent = parent
	if f.Attributes&AttrReparsePoint != 0 {
		f.ReparseTag = le.Uint32(e[dOffReparseTag:])
		f.ReparseReserved = le.Uint16(e[dOffReparseTag+4:])
		f.ReparseFlags = le.Uint16(e[dOffReparseTag+6:])
	} else {
		f.LinkGroup = le.Uint64(e[dOffReparseTag:])
	}
	if pos < length && p.light == nil {
		f.Extra = p.keepExtra(e[pos:])
	}
	// Assign the streams their roles the way wimlib (and WIMGAPI) do: the
	// first non-empty unnamed stream is the reparse data of a reparse
	// point, the next the unnamed data stream; a zero main hash yields to
	// unnamed extra entries. The main hash (in the entry) comes first.
	var roles streamRoles
	roles.f = f
	roles.encrypted = f.Attributes&AttrEncrypted != 0
	roles.reparse = f.Attributes&AttrReparsePoint != 0
	var mainHash Hash
	copy(mainHash[:], e[dOffHash:])
	roles.take(true, nil, mainHash)
	for i, s := 0, streams; i < nStreams; i++ {
		slen := min(align8(le.Uint64(data[s:])), size-s)
		var h Hash
		copy(h[:], data[s+16:s+36])
		n := uint64(le.Uint16(data[s+36:]))
		roles.take(false, data[s+streamEntryFixedSize:s+streamEntryFixedSize+n], h)
		s += slen
	}
	if roles.reparse && !roles.encrypted && !roles.foundReparse {
		f.Streams = append(f.Streams, Stream{}) // empty reparse data
	}
	return r, nil
}

// streamRoles assigns the streams of an entry, in order, their roles:
// see readEntry.
type streamRoles struct {
	f                       *File
	encrypted, reparse      bool
	foundReparse, foundData bool
}

// take is the next stream: the entry's main hash first, then its stream
// entries with their names (UTF-16LE, empty for an unnamed one).
func (r *streamRoles) take(main bool, name []byte, h Hash) {
	f := r.f
	if r.encrypted {
		// The file's data is one raw EFS stream.
		if !r.foundData && len(name) == 0 && !h.IsZero() {
			r.foundData = true
			f.Hash = h
		}
		return
	}
	switch {
	case len(name) > 0:
		f.Streams = append(f.Streams, Stream{Name: string(appendWTF8(nil, name)), Hash: h})
	case !main || !h.IsZero():
		if r.reparse && !r.foundReparse {
			r.foundReparse = true
			f.Streams = append(f.Streams, Stream{Hash: h})
		} else if !r.foundData {
			r.foundData = true
			f.Hash = h
		}
	}
}

// describe names an entry being read, whose long name is name (UTF-16LE),
// for messages.
func (p *metaParser) describe(name []byte, parent *File) string {
	if parent == nil {
		return "the root entry"
	}
	return fmt.Sprintf("%q in %s", appendWTF8(nil, name), parent.Path())
}

// appendWTF8 appends the name b, little-endian UTF-16, to dst as
// unitsToString converts it (UTF-8, lone surrogates as WTF-8).
func appendWTF8(dst, b []byte) []byte {
	for i := 0; i+1 < len(b); i += 2 {
		c := rune(b[i]) | rune(b[i+1])<<8
		switch {
		case c < utf8.RuneSelf:
			dst = append(dst, byte(c))
		case utf16.IsSurrogate(c):
			if c < 0xDC00 && i+3 < len(b) {
				if c2 := rune(b[i+2]) | rune(b[i+3])<<8; c2 >= 0xDC00 && c2 < 0xE000 {
					dst = utf8.AppendRune(dst, utf16.DecodeRune(c, c2))
					i += 2
					continue
				}
			}
			// WTF-8: the 3-byte form of the lone surrogate.
			dst = append(dst, byte(0xE0|c>>12), byte(0x80|(c>>6)&0x3F), byte(0x80|c&0x3F))
		default:
			dst = utf8.AppendRune(dst, c)
		}
	}
	return dst
}

// compareNameBytes is compareNames on names as stored (UTF-16LE bytes).
func compareNameBytes(a, b []byte) int {
	up := upcaseTable()
	n := min(len(a), len(b)) &^ 1
	for i := 0; i < n; i += 2 {
		x, y := uint16(a[i])|uint16(a[i+1])<<8, uint16(b[i])|uint16(b[i+1])<<8
		if x == y {
			continue
		}
		if ux, uy := up[x], up[y]; ux != uy {
			if ux < uy {
				return -1
			}
			return 1
		}
	}
	if len(a)/2 != len(b)/2 {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	for i := 0; i < n; i += 2 {
		x, y := uint16(a[i])|uint16(a[i+1])<<8, uint16(b[i])|uint16(b[i+1])<<8
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// decodeUnits reads little-endian UTF-16 code units.
func decodeUnits(b []byte) []uint16 {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return u
}

// unitsToString converts UTF-16 to a Go string as wimlib converts names for
// POSIX: valid pairs become UTF-8 and unpaired surrogates are kept as their
// own code points (WTF-8), so every Windows name maps to a distinct string.
func unitsToString(u []uint16) string {
	b := make([]byte, 0, len(u))
	for i := 0; i < len(u); i++ {
		c := rune(u[i])
		if utf16.IsSurrogate(c) {
			if c < 0xDC00 && i+1 < len(u) && u[i+1] >= 0xDC00 && u[i+1] < 0xE000 {
				b = utf8.AppendRune(b, utf16.DecodeRune(c, rune(u[i+1])))
				i++
				continue
			}
			// WTF-8: the 3-byte form of the lone surrogate.
			b = append(b, byte(0xE0|c>>12), byte(0x80|(c>>6)&0x3F), byte(0x80|c&0x3F))
			continue
		}
		b = utf8.AppendRune(b, c)
	}
	return string(b)
}

// stringToUnits is the inverse of unitsToString: UTF-8 (or WTF-8) to
// UTF-16. Bytes that are not WTF-8 become U+FFFD.
func stringToUnits(s string) []uint16 {
	u := make([]uint16, 0, len(s))
	for i := 0; i < len(s); {
		// A WTF-8 lone surrogate: ED A0..BF xx.
		if i+2 < len(s) && s[i] == 0xED && s[i+1] >= 0xA0 && s[i+1] <= 0xBF && s[i+2]&0xC0 == 0x80 {
			u = append(u, uint16(0xD000|uint16(s[i+1]&0x3F)<<6|uint16(s[i+2]&0x3F)))
			i += 3
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		u = utf16.AppendRune(u, r)
		i += n
	}
	return u
}
