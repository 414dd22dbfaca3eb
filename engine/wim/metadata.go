package wim

import (
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
		lists:      make(map[uint64]bool),
	}
	root, _, _, err := p.readEntry(rootOff, nil)
	if err != nil {
		return nil, err
	}
	img := &Image{Security: sec}
	if root == nil {
		img.Root = &File{Attributes: AttrDirectory, SecurityID: -1}
		return img, nil
	}
	// wimlib drops a name on the root; so do we.
	root.Name, root.ShortName = "", ""
	if !root.IsDir() {
		return nil, p.errf(rootOff, "the root entry is not a folder (attributes 0x%x)", root.Attributes)
	}
	if sub, ok := p.subdir[root]; ok {
		if err := p.readChildren(root, sub, 1); err != nil {
			return nil, err
		}
	}
	img.Root = root
	// Security ids out of range mean "none", as in wimlib.
	fix := func(f *File) {
		if f.SecurityID < 0 || int64(f.SecurityID) >= int64(len(sec)) {
			f.SecurityID = -1
		}
	}
	var walk func(f *File)
	walk = func(f *File) {
		fix(f)
		for _, c := range f.Children {
			walk(c)
		}
	}
	walk(root)
	return img, nil
}

// metaParser holds the state of one ParseMetadata call.
type metaParser struct {
	data       []byte
	entries    int
	maxEntries int
	lists      map[uint64]bool     // child-list offsets already read
	subdir     map[*File]subdirRef // where each folder's child list is
}

// subdirRef is the child-list offset of a folder and the offset of the
// folder's own entry, for messages.
type subdirRef struct {
	list, entry uint64
}

func (p *metaParser) errf(off uint64, format string, args ...any) *FormatError {
	return &FormatError{Offset: int64(off), Msg: fmt.Sprintf(format, args...)}
}

// readChildren reads the child list of dir.
func (p *metaParser) readChildren(dir *File, sub subdirRef, depth int) error {
	off := sub.list
	if off >= uint64(len(p.data)) {
		return p.errf(sub.entry, "child list of %s at offset %d lies past the end of the metadata resource (%d bytes)", dir.Path(), off, len(p.data))
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
	type child struct {
		f     *File
		units []uint16
	}
	var kids []child
	seen := make(map[string]bool)
	for {
		f, units, next, err := p.readEntry(off, dir)
		if err != nil {
			return err
		}
		if f == nil {
			break
		}
		if err := CheckName(f.Name); err != nil {
			return p.errf(off, "entry in %s: %v", dir.Path(), err)
		}
		if seen[f.Name] {
			return p.errf(off, "duplicate name %q in %s", f.Name, dir.Path())
		}
		seen[f.Name] = true
		kids = append(kids, child{f, units})
		off = next
	}
	slices.SortFunc(kids, func(a, b child) int { return compareNames(a.units, b.units) })
	dir.Children = make([]*File, len(kids))
	for i, k := range kids {
		dir.Children[i] = k.f
	}
	for _, k := range kids {
		if sub, ok := p.subdir[k.f]; ok && k.f.IsDir() {
			if err := p.readChildren(k.f, sub, depth+1); err != nil {
				return err
			}
		}
		delete(p.subdir, k.f)
	}
	return nil
}

// readEntry reads the directory entry at off, with its stream entries. It
// returns nil at an end-of-list marker, the entry's name in UTF-16 and the
// offset of the next entry.
func (p *metaParser) readEntry(off uint64, parent *File) (*File, []uint16, uint64, error) {
	data := p.data
	size := uint64(len(data))
	where := func() string {
		if parent == nil {
			return "the root entry"
		}
		return "an entry in " + parent.Path()
	}
	if off > size || size-off < 8 {
		return nil, nil, 0, p.errf(off, "%s lies past the end of the metadata resource (%d bytes)", where(), size)
	}
	le := binary.LittleEndian
	rawLen := le.Uint64(data[off:])
	if rawLen <= 8 {
		return nil, nil, off + 8, nil // end of list
	}
	if rawLen > size-off {
		return nil, nil, 0, p.errf(off, "%s has length %d, past the end of the metadata resource (%d bytes)", where(), rawLen, size)
	}
	length := align8(rawLen)
	if length > size-off {
		length = size - off // the alignment padding may be missing at the very end
	}
	// Checked after the clamp: a length of 97 to 101 is 104 once aligned,
	// but only its raw bytes may be there at the very end of data.
	if length < direntFixedSize {
		return nil, nil, 0, p.errf(off, "%s has length %d, less than the %d-byte minimum", where(), rawLen, direntFixedSize)
	}
	p.entries++
	if p.entries > p.maxEntries {
		return nil, nil, 0, p.errf(off, "more directory entries than a %d-byte metadata resource can hold (overlapping lists)", size)
	}
	e := data[off : off+length]
	f := &File{
		Attributes: le.Uint32(e[dOffAttributes:]),
		SecurityID: int32(le.Uint32(e[dOffSecurityID:])),
		Created:    FiletimeToTime(le.Uint64(e[dOffCreated:])),
		Accessed:   FiletimeToTime(le.Uint64(e[dOffAccessed:])),
		Modified:   FiletimeToTime(le.Uint64(e[dOffModified:])),
		Parent:     parent,
	}
	subdir := le.Uint64(e[dOffSubdir:])
	var mainHash Hash
	copy(mainHash[:], e[dOffHash:])
	if f.Attributes&AttrReparsePoint != 0 {
		f.ReparseTag = le.Uint32(e[dOffReparseTag:])
		f.ReparseReserved = le.Uint16(e[dOffReparseTag+4:])
		f.ReparseFlags = le.Uint16(e[dOffReparseTag+6:])
	} else {
		f.LinkGroup = le.Uint64(e[dOffReparseTag:])
	}
	nStreams := int(le.Uint16(e[dOffStreams:]))
	shortLen := uint64(le.Uint16(e[dOffShortLen:]))
	nameLen := uint64(le.Uint16(e[dOffNameLen:]))
	if shortLen&1 != 0 || nameLen&1 != 0 {
		return nil, nil, 0, p.errf(off, "%s has an odd name length (%d, short %d)", where(), nameLen, shortLen)
	}
	need := uint64(direntFixedSize)
	if nameLen > 0 {
		need += nameLen + 2
	}
	if shortLen > 0 {
		need += shortLen + 2
	}
	if need > length {
		return nil, nil, 0, p.errf(off, "%s has length %d, too short for its names (%d bytes needed)", where(), rawLen, need)
	}
	pos := uint64(direntFixedSize)
	var units []uint16
	if nameLen > 0 {
		units = decodeUnits(e[pos : pos+nameLen])
		f.Name = unitsToString(units)
		pos += nameLen + 2
		if nameLen/2 > maxNameUnits {
			return nil, nil, 0, p.errf(off, "%s has a name of %d UTF-16 code units (more than %d)", where(), nameLen/2, maxNameUnits)
		}
	}
	if shortLen > 0 {
		f.ShortName = unitsToString(decodeUnits(e[pos : pos+shortLen]))
		pos += shortLen + 2
	}
	pos = align8(pos)
	if pos < length {
		f.Extra = append([]byte(nil), e[pos:]...)
	}
	next := off + length
	// Stream entries follow, 8-aligned, outside the entry's length.
	type rawStream struct {
		name  string
		named bool
		hash  Hash
	}
	streams := make([]rawStream, 0, 1+min(nStreams, 8))
	streams = append(streams, rawStream{hash: mainHash})
	for i := 0; i < nStreams; i++ {
		if next > size || size-next < streamEntryFixedSize {
			return nil, nil, 0, p.errf(next, "stream entry %d of %s lies past the end of the metadata resource", i+1, p.describe(f, parent))
		}
		raw := le.Uint64(data[next:])
		if raw > size-next {
			return nil, nil, 0, p.errf(next, "stream entry %d of %s has length %d, past the end of the metadata resource", i+1, p.describe(f, parent), raw)
		}
		slen := align8(raw)
		if slen > size-next {
			slen = size - next
		}
		if slen < streamEntryFixedSize {
			return nil, nil, 0, p.errf(next, "stream entry %d of %s has length %d, less than the %d-byte minimum", i+1, p.describe(f, parent), raw, streamEntryFixedSize)
		}
		s := data[next : next+slen]
		var rs rawStream
		copy(rs.hash[:], s[16:36])
		n := uint64(le.Uint16(s[36:]))
		if n&1 != 0 || streamEntryFixedSize+n > slen {
			return nil, nil, 0, p.errf(next, "stream entry %d of %s has a bad name length %d", i+1, p.describe(f, parent), n)
		}
		if n > 0 {
			rs.named = true
			rs.name = unitsToString(decodeUnits(s[streamEntryFixedSize : streamEntryFixedSize+n]))
		}
		streams = append(streams, rs)
		next += slen
	}
	// Assign the streams their roles the way wimlib (and WIMGAPI) do: the
	// first non-empty unnamed stream is the reparse data of a reparse
	// point, the next the unnamed data stream; a zero main hash yields to
	// unnamed extra entries.
	if f.Attributes&AttrEncrypted != 0 {
		// The file's data is one raw EFS stream.
		for _, s := range streams {
			if !s.named && !s.hash.IsZero() {
				f.Hash = s.hash
				break
			}
		}
	} else {
		isReparse := f.Attributes&AttrReparsePoint != 0
		foundReparse, foundData := false, false
		for i, s := range streams {
			switch {
			case s.named:
				f.Streams = append(f.Streams, Stream{Name: s.name, Hash: s.hash})
			case i != 0 || !s.hash.IsZero():
				if isReparse && !foundReparse {
					foundReparse = true
					f.Streams = append(f.Streams, Stream{Hash: s.hash})
				} else if !foundData {
					foundData = true
					f.Hash = s.hash
				}
			}
		}
		if isReparse && !foundReparse {
			f.Streams = append(f.Streams, Stream{}) // empty reparse data
		}
	}
	if subdir != 0 {
		if p.subdir == nil {
			p.subdir = make(map[*File]subdirRef)
		}
		p.subdir[f] = subdirRef{list: subdir, entry: off}
	}
	return f, units, next, nil
}

// describe names an entry being read for messages.
func (p *metaParser) describe(f, parent *File) string {
	if parent == nil {
		return "the root entry"
	}
	return fmt.Sprintf("%q in %s", f.Name, parent.Path())
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
