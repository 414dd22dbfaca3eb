package wim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// parseMetadataRef is ParseMetadata as it was before it cut entries,
// names and child slices from shared blocks and checked names for
// duplicates after sorting them: an entry, its names and a map per folder
// allocated one by one. It stays as the reference ParseMetadata must agree
// with on every input, the tree it accepts or the error it gives
// (TestParseMetadataMatchesReference, FuzzParseMetadata).
func parseMetadataRef(data []byte) (*Image, error) {
	sec, rootOff, err := parseSecurity(data)
	if err != nil {
		return nil, err
	}
	p := &refMetaParser{
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

// refMetaParser holds the state of one ParseMetadata call.
type refMetaParser struct {
	data       []byte
	entries    int
	maxEntries int
	lists      map[uint64]bool        // child-list offsets already read
	subdir     map[*File]refSubdirRef // where each folder's child list is
}

// refSubdirRef is the child-list offset of a folder and the offset of the
// folder's own entry, for messages.
type refSubdirRef struct {
	list, entry uint64
}

func (p *refMetaParser) errf(off uint64, format string, args ...any) *FormatError {
	return &FormatError{Offset: int64(off), Msg: fmt.Sprintf(format, args...)}
}

// readChildren reads the child list of dir.
func (p *refMetaParser) readChildren(dir *File, sub refSubdirRef, depth int) error {
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
func (p *refMetaParser) readEntry(off uint64, parent *File) (*File, []uint16, uint64, error) {
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
			p.subdir = make(map[*File]refSubdirRef)
		}
		p.subdir[f] = refSubdirRef{list: subdir, entry: off}
	}
	return f, units, next, nil
}

// describe names an entry being read for messages.
func (p *refMetaParser) describe(f, parent *File) string {
	if parent == nil {
		return "the root entry"
	}
	return fmt.Sprintf("%q in %s", f.Name, parent.Path())
}

// sameAsRef fails t unless ParseMetadata and parseMetadataRef give data
// the same tree, or the same error.
func sameAsRef(t testing.TB, what string, data []byte) {
	t.Helper()
	img, err := ParseMetadata(data)
	ref, rerr := parseMetadataRef(data)
	switch {
	case (err == nil) != (rerr == nil):
		t.Fatalf("%s: ParseMetadata gives error %v, the reference %v", what, err, rerr)
	case err != nil:
		var fe, rfe *FormatError
		if !errors.As(err, &fe) || !errors.As(rerr, &rfe) || *fe != *rfe {
			t.Fatalf("%s: ParseMetadata gives error %#v, the reference %#v", what, err, rerr)
		}
		if img != nil {
			t.Fatalf("%s: image returned with an error", what)
		}
	case !reflect.DeepEqual(img, ref):
		got, want := treeDump(img), treeDump(ref)
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("%s: trees differ at entry %d:\n got %s\nwant %s", what, i, got[i], want[i])
			}
		}
		t.Fatalf("%s: trees differ (%d entries, the reference %d; security %d, %d)", what, len(got), len(want), len(img.Security), len(ref.Security))
	}
}

// treeDump lists every entry of img with its fields, for messages.
func treeDump(img *Image) []string {
	var out []string
	img.Walk(func(p string, f *File) error {
		out = append(out, fmt.Sprintf("%s %q %q a=%x sec=%d %v %v %v h=%s rp=%x/%x/%x lg=%d st=%v x=%x kids=%d", p, f.Name, f.ShortName, f.Attributes, f.SecurityID,
			f.Created, f.Accessed, f.Modified, f.Hash, f.ReparseTag, f.ReparseReserved, f.ReparseFlags, f.LinkGroup, f.Streams, f.Extra, len(f.Children)))
		return nil
	})
	return out
}

// metaCorpus returns metadata resources to parse: the checked-in seeds, the
// images of the wimlib-written seed files, the hostile cases and trees
// built to stress names (collation, duplicates among many, surrogates,
// short names, streams, extra data).
func metaCorpus(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	files, _ := filepath.Glob(filepath.Join(imageSeedDir, "*.meta"))
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = data
	}
	names, _ := filepath.Glob(filepath.Join(containerFixtureDir, "*"))
	more, _ := filepath.Glob(filepath.Join(openSeedDir, "*.wim"))
	for _, n := range append(names, more...) {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		w, err := newWIM(n, bytes.NewReader(b), int64(len(b)))
		if err != nil {
			continue
		}
		for i := 1; i <= w.ImageCount(); i++ {
			if data, err := w.MetadataResource(i); err == nil {
				out[fmt.Sprintf("%s image %d", filepath.Base(n), i)] = data
			}
		}
	}
	for _, tc := range hostileCases() {
		out["hostile "+tc.name] = tc.data()
	}
	out["short entry"] = shortEntryMeta()
	// Many names in one folder, some equal but for case, some surrogates.
	var kids []*mNode
	for i := range 300 {
		n := mFile(fmt.Sprintf("File%03d.txt", i), mh(byte(i)))
		switch i % 5 {
		case 1:
			n.name = strings.ToLower(n.name)
		case 2:
			n.rawName = []uint16{'s', 0xD800 + uint16(i), 0xDC00, uint16('a' + i%26)}
		case 3:
			n.rawName = []uint16{'l', 0xDC00 + uint16(i), 'x', uint16(i)}
		case 4:
			n.short = fmt.Sprintf("F%03d~1.TXT", i)
			n.streams = []mStream{{"zone", mh(2)}, {"", mh(3)}}
			n.extra = []byte{byte(i), 1, 2, 3, 4, 5, 6, 7, 8}
		}
		kids = append(kids, n)
	}
	many, _ := encodeMeta([][]byte{{1, 0, 4, 0x80}, {1, 0, 4, 0x81}}, mDir("", mDir("big", kids...), mDir("BIG"), mDir("ÿ", mFile("a", mh(9)))))
	out["many names"] = many
	// The same with a duplicate late in the list, and then with a bad
	// name after the duplicate: the duplicate is the error either way.
	dup := slices.Clone(kids)
	dup = append(dup, mFile("zz", Hash{}), mFile("File000.txt", Hash{}), mFile("zz", Hash{}))
	d, _ := encodeMeta(nil, mDir("", mDir("big", dup...)))
	out["late duplicate"] = d
	d, _ = encodeMeta(nil, mDir("", mDir("big", append(slices.Clone(dup), mFile("a/b", Hash{}))...)))
	out["duplicate then bad name"] = d
	d, _ = encodeMeta(nil, mDir("", mDir("big", append([]*mNode{mFile("a/b", Hash{})}, dup...)...)))
	out["bad name then duplicate"] = d
	return out
}

// TestParseMetadataMatchesReference parses every resource of metaCorpus,
// and random damage to them, with ParseMetadata and the reference parser:
// the same trees and the same errors.
func TestParseMetadataMatchesReference(t *testing.T) {
	corpus := metaCorpus(t)
	keys := slices.Sorted(maps.Keys(corpus))
	rng := rand.New(rand.NewPCG(1, 2))
	for _, k := range keys {
		data := corpus[k]
		sameAsRef(t, k, data)
		if len(data) == 0 || len(data) > 1<<20 {
			continue
		}
		for i := range 200 {
			m := slices.Clone(data)
			for range 1 + rng.IntN(4) {
				j := rng.IntN(len(m))
				switch rng.IntN(3) {
				case 0:
					m[j] = byte(rng.Uint32())
				case 1:
					m[j] ^= 1 << rng.IntN(8)
				case 2:
					m = m[:j]
				}
				if len(m) == 0 {
					break
				}
			}
			sameAsRef(t, fmt.Sprintf("%s, damage %d", k, i), m)
		}
	}
}

// TestParseMetadataAllocs: the entries, names and child lists of a tree
// are cut from shared blocks, not allocated one by one (the parser before
// took about 5 allocations per entry).
func TestParseMetadataAllocs(t *testing.T) {
	var dirs []*mNode
	for d := range 50 {
		var kids []*mNode
		for f := range 100 {
			n := mFile(fmt.Sprintf("file %d of %d.dll", f, d), mh(byte(f)))
			if f%10 == 0 {
				n.short = fmt.Sprintf("FILE%02d~1.DLL", f)
			}
			kids = append(kids, n)
		}
		dirs = append(dirs, mDir(fmt.Sprintf("folder %d", d), kids...))
	}
	data, _ := encodeMeta(nil, mDir("", dirs...))
	const entries = 50 * 101
	allocs := testing.AllocsPerRun(5, func() {
		if _, err := ParseMetadata(data); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > entries/10 {
		t.Errorf("ParseMetadata of %d entries: %.0f allocations, want at most %d", entries, allocs, entries/10)
	}
}

// TestParseMetadataRoomWithinData: the room made for a list's names is
// bounded by the list's size, not by the name lengths its entries claim
// (2,000 entries of 104 bytes claiming 128 KiB of names each would ask for
// 256 MiB).
func TestParseMetadataRoomWithinData(t *testing.T) {
	var kids []*mNode
	for i := range 2000 {
		kids = append(kids, mFile(fmt.Sprintf("f%d", i), Hash{}))
	}
	dir := mDir("d", kids...)
	data, lay := encodeMeta(nil, mDir("", dir))
	for _, k := range kids {
		patch16(data, lay.entry[k]+dOffNameLen, 0xFFFE)
		patch16(data, lay.entry[k]+dOffShortLen, 0xFFFE)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ParseMetadata(data)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "too short for its names") {
		t.Fatalf("got %v, want the first entry refused", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 16*uint64(len(data)) {
		t.Errorf("ParseMetadata of %d bytes allocated %d bytes", len(data), n)
	}
}
