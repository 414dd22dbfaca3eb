package wim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"
)

// ---- a test-only encoder of metadata resources ----

// mNode describes one directory entry for encodeMeta.
type mNode struct {
	name, short string
	rawName     []uint16 // used instead of name when set (invalid UTF-16 and the like)
	attr        uint32
	sec         int32
	hash        Hash
	group       uint64 // link group, or {tag, reserved, flags} for reparse points
	tag         uint32
	rpFlags     uint16
	times       [3]uint64 // created, accessed, modified FILETIMEs
	streams     []mStream // extra stream entries
	extra       []byte    // tagged items after the names
	children    []*mNode
}

type mStream struct {
	name string
	hash Hash
}

func mDir(name string, kids ...*mNode) *mNode {
	return &mNode{name: name, attr: AttrDirectory, sec: -1, children: kids}
}

func mFile(name string, hash Hash) *mNode {
	return &mNode{name: name, attr: AttrNormal, sec: -1, hash: hash}
}

// mLayout records where encodeMeta put things, for tests that damage them.
type mLayout struct {
	entry map[*mNode]int // offset of each node's entry
	list  map[*mNode]int // offset of each folder's child list
}

func (n *mNode) units() []uint16 {
	if n.rawName != nil {
		return n.rawName
	}
	return utf16.Encode([]rune(n.name))
}

// entrySize is the 8-aligned size of n's entry plus its stream entries.
func (n *mNode) entrySize() (entry, total int) {
	entry = direntFixedSize
	if l := len(n.units()); l > 0 {
		entry += 2*l + 2
	}
	if s := len(utf16.Encode([]rune(n.short))); s > 0 {
		entry += 2*s + 2
	}
	entry = (entry + 7) &^ 7
	entry += len(n.extra)
	entry = (entry + 7) &^ 7
	total = entry
	for _, s := range n.streams {
		l := streamEntryFixedSize
		if s.name != "" {
			l += 2*len(utf16.Encode([]rune(s.name))) + 2
		}
		total += (l + 7) &^ 7
	}
	return entry, total
}

// encodeMeta lays out a metadata resource the way wimlib does: security
// data, the root entry and an end marker, then each folder's child list
// (with an end marker) in pre-order.
func encodeMeta(sds [][]byte, root *mNode) ([]byte, *mLayout) {
	le := binary.LittleEndian
	var sec []byte
	sec = le.AppendUint32(sec, 0)
	sec = le.AppendUint32(sec, uint32(len(sds)))
	for _, d := range sds {
		sec = le.AppendUint64(sec, uint64(len(d)))
	}
	for _, d := range sds {
		sec = append(sec, d...)
	}
	le.PutUint32(sec, uint32(len(sec)))
	for len(sec)%8 != 0 {
		sec = append(sec, 0)
	}
	lay := &mLayout{entry: map[*mNode]int{}, list: map[*mNode]int{}}
	// Pass 1: offsets.
	off := len(sec)
	lay.entry[root] = off
	_, t := root.entrySize()
	off += t + 8
	var dirs []*mNode
	var order func(n *mNode)
	order = func(n *mNode) {
		if n.attr&AttrDirectory != 0 && n.attr&AttrReparsePoint == 0 {
			dirs = append(dirs, n)
			for _, c := range n.children {
				order(c)
			}
		}
	}
	order(root)
	for _, d := range dirs {
		lay.list[d] = off
		for _, c := range d.children {
			lay.entry[c] = off
			_, t := c.entrySize()
			off += t
		}
		off += 8
	}
	// Pass 2: bytes.
	buf := make([]byte, off)
	copy(buf, sec)
	var put func(n *mNode)
	put = func(n *mNode) {
		p := lay.entry[n]
		entry, _ := n.entrySize()
		e := buf[p:]
		le.PutUint64(e, uint64(entry))
		le.PutUint32(e[dOffAttributes:], n.attr)
		le.PutUint32(e[dOffSecurityID:], uint32(n.sec))
		if l, ok := lay.list[n]; ok && len(n.children) > 0 {
			le.PutUint64(e[dOffSubdir:], uint64(l))
		}
		le.PutUint64(e[dOffCreated:], n.times[0])
		le.PutUint64(e[dOffAccessed:], n.times[1])
		le.PutUint64(e[dOffModified:], n.times[2])
		copy(e[dOffHash:], n.hash[:])
		if n.attr&AttrReparsePoint != 0 {
			le.PutUint32(e[dOffReparseTag:], n.tag)
			le.PutUint16(e[dOffReparseTag+6:], n.rpFlags)
		} else {
			le.PutUint64(e[dOffReparseTag:], n.group)
		}
		le.PutUint16(e[dOffStreams:], uint16(len(n.streams)))
		name := n.units()
		short := utf16.Encode([]rune(n.short))
		le.PutUint16(e[dOffShortLen:], uint16(2*len(short)))
		le.PutUint16(e[dOffNameLen:], uint16(2*len(name)))
		q := direntFixedSize
		for _, u := range name {
			le.PutUint16(e[q:], u)
			q += 2
		}
		if len(name) > 0 {
			q += 2
		}
		for _, u := range short {
			le.PutUint16(e[q:], u)
			q += 2
		}
		if len(short) > 0 {
			q += 2
		}
		q = (q + 7) &^ 7
		copy(e[q:], n.extra)
		s := entry
		for _, st := range n.streams {
			l := streamEntryFixedSize
			sn := utf16.Encode([]rune(st.name))
			if len(sn) > 0 {
				l += 2*len(sn) + 2
			}
			l = (l + 7) &^ 7
			le.PutUint64(e[s:], uint64(l))
			copy(e[s+16:], st.hash[:])
			le.PutUint16(e[s+36:], uint16(2*len(sn)))
			for i, u := range sn {
				le.PutUint16(e[s+38+2*i:], u)
			}
			s += l
		}
		for _, c := range n.children {
			put(c)
		}
	}
	put(root)
	return buf, lay
}

func mh(b byte) Hash {
	var x Hash
	for i := range x {
		x[i] = b
	}
	return x
}

// ---- hostile metadata ----

// patch64 and friends overwrite little-endian fields of encoded metadata.
func patch64(b []byte, off int, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }
func patch32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }
func patch16(b []byte, off int, v uint16) { binary.LittleEndian.PutUint16(b[off:], v) }

// hostileCases are crafted metadata resources that ParseMetadata must
// refuse, each with a piece of the error message it must give.
func hostileCases() []struct {
	name string
	data func() []byte
	want string
} {
	named := func(n string) func() []byte {
		return func() []byte {
			d, _ := encodeMeta(nil, mDir("", mFile("ok", Hash{}), mFile(n, Hash{})))
			return d
		}
	}
	rawNamed := func(u []uint16) func() []byte {
		return func() []byte {
			f := mFile("", Hash{})
			f.rawName = u
			d, _ := encodeMeta(nil, mDir("", f))
			return d
		}
	}
	// tree returns a small tree and its layout for damaging.
	type treeT struct {
		data          []byte
		lay           *mLayout
		root, d, e, f *mNode
	}
	tree := func() treeT {
		f := mFile("f", mh(1))
		f.streams = []mStream{{"ads", mh(2)}}
		e := mDir("e", mFile("g", Hash{}))
		d := mDir("d", e, mFile("h", Hash{}))
		root := mDir("", d, f)
		data, lay := encodeMeta([][]byte{{1, 0, 4, 0x80}}, root)
		return treeT{data, lay, root, d, e, f}
	}
	return []struct {
		name string
		data func() []byte
		want string
	}{
		{"dotdot", named(".."), `".." is not allowed`},
		{"dot", named("."), `"." is not allowed`},
		{"slash", named("a/b"), `contains '/'`},
		{"nul", rawNamed([]uint16{'a', 0, 'b'}), `contains '\x00'`},
		{"empty name", rawNamed([]uint16{}), "empty name"},
		{"long name", named(strings.Repeat("n", 256)), "UTF-16 code units"},
		{"duplicate", func() []byte {
			d, _ := encodeMeta(nil, mDir("", mFile("same", Hash{}), mFile("same", mh(1))))
			return d
		}, `duplicate name "same" in /`},
		{"cycle to root list", func() []byte {
			x := tree()
			patch64(x.data, x.lay.entry[x.e]+dOffSubdir, uint64(x.lay.list[x.root]))
			return x.data
		}, "already read"},
		{"cycle to own list", func() []byte {
			x := tree()
			patch64(x.data, x.lay.entry[x.e]+dOffSubdir, uint64(x.lay.list[x.d]))
			return x.data
		}, "already read"},
		{"too deep", func() []byte {
			n := mDir("leaf", mFile("x", Hash{}))
			for range MaxDepth + 5 {
				n = mDir("n", n)
			}
			d, _ := encodeMeta(nil, mDir("", n))
			return d
		}, "deeper than"},
		{"entry length past end", func() []byte {
			x := tree()
			patch64(x.data, x.lay.entry[x.f], 1<<40)
			return x.data
		}, "past the end"},
		{"entry length max", func() []byte {
			x := tree()
			patch64(x.data, x.lay.entry[x.f], ^uint64(0))
			return x.data
		}, "past the end"},
		{"entry length too small", func() []byte {
			x := tree()
			patch64(x.data, x.lay.entry[x.f], 50)
			return x.data
		}, "less than the 102-byte minimum"},
		{"short entry at the very end", func() []byte {
			// Security data of 8 bytes, then one entry claiming 100 bytes
			// (104 once aligned) with only its 100 raw bytes present: the
			// fixed part needs 102.
			return shortEntryMeta()
		}, "less than the 102-byte minimum"},
		{"truncated", func() []byte {
			x := tree()
			return x.data[:x.lay.entry[x.f]+60]
		}, "past the end"},
		{"no end marker", func() []byte {
			x := tree()
			return x.data[:len(x.data)-8]
		}, "past the end"},
		{"subdir past end", func() []byte {
			x := tree()
			patch64(x.data, x.lay.entry[x.d]+dOffSubdir, uint64(len(x.data)+100))
			return x.data
		}, "past the end"},
		{"subdir max", func() []byte {
			x := tree()
			patch64(x.data, x.lay.entry[x.d]+dOffSubdir, ^uint64(7))
			return x.data
		}, "past the end"},
		{"odd name length", func() []byte {
			x := tree()
			patch16(x.data, x.lay.entry[x.f]+dOffNameLen, 3)
			return x.data
		}, "odd name length"},
		{"name longer than entry", func() []byte {
			x := tree()
			patch16(x.data, x.lay.entry[x.f]+dOffNameLen, 400)
			return x.data
		}, "too short for its names"},
		{"huge stream count", func() []byte {
			x := tree()
			patch16(x.data, x.lay.entry[x.f]+dOffStreams, 0xFFFF)
			return x.data
		}, "stream entry"},
		{"stream length past end", func() []byte {
			x := tree()
			ent, _ := x.f.entrySize()
			patch64(x.data, x.lay.entry[x.f]+ent, 1<<50)
			return x.data
		}, "past the end"},
		{"stream length too small", func() []byte {
			x := tree()
			ent, _ := x.f.entrySize()
			patch64(x.data, x.lay.entry[x.f]+ent, 8)
			return x.data
		}, "less than the 38-byte minimum"},
		{"stream name too long", func() []byte {
			x := tree()
			ent, _ := x.f.entrySize()
			patch16(x.data, x.lay.entry[x.f]+ent+36, 200)
			return x.data
		}, "bad name length"},
		{"security count huge", func() []byte {
			x := tree()
			patch32(x.data, 4, 0xFFFFFFFF)
			return x.data
		}, "too large"},
		{"security sizes do not fit", func() []byte {
			x := tree()
			patch32(x.data, 4, 1000)
			return x.data
		}, "do not fit"},
		{"security length past end", func() []byte {
			x := tree()
			patch32(x.data, 0, 0xFFFFFFF0)
			return x.data
		}, "exceeds the metadata resource"},
		{"descriptor past security data", func() []byte {
			x := tree()
			patch64(x.data, 8, 1<<40)
			return x.data
		}, "runs past the security data"},
		{"too short", func() []byte { return []byte{1, 2, 3} }, "too short"},
		{"root is a file", func() []byte {
			r := mFile("", Hash{})
			d, _ := encodeMeta(nil, r)
			return d
		}, "root entry is not a folder"},
		{"root is a reparse point", func() []byte {
			r := mDir("")
			r.attr |= AttrReparsePoint
			d, _ := encodeMeta(nil, r)
			return d
		}, "root entry is not a folder"},
		{"overlapping lists", func() []byte {
			// Folders whose child lists start inside another folder's
			// list: each reads the tail again, quadratically many
			// entries from linear data.
			const n = 300
			files := make([]*mNode, n)
			for i := range files {
				files[i] = mFile(fmt.Sprintf("f%03d", i), Hash{})
			}
			pool := mDir("pool", files...)
			dirs := []*mNode{pool}
			for i := range n {
				dirs = append(dirs, mDir(fmt.Sprintf("d%03d", i)))
			}
			data, lay := encodeMeta(nil, mDir("", dirs...))
			for i := range n {
				patch64(data, lay.entry[dirs[i+1]]+dOffSubdir, uint64(lay.entry[files[i]]))
			}
			return data
		}, "more directory entries than"},
	}
}

// TestHostileMetadata checks that every crafted resource is refused with a
// *FormatError that says what is wrong.
func TestHostileMetadata(t *testing.T) {
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.data()
			img, err := ParseMetadata(data)
			if err == nil {
				t.Fatalf("accepted: root %+v", img.Root)
			}
			var fe *FormatError
			if !errors.As(err, &fe) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %T %v is not a *FormatError", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
			if fe.Offset < 0 || fe.Offset > int64(len(data)) {
				t.Errorf("implausible offset %d", fe.Offset)
			}
		})
	}
}

// TestHostileNamesSafeWhenIgnored documents the contrast with wimlib, which
// drops entries named "." or ".." while reading: here the whole image is
// refused, so a caller cannot end up extracting half an image silently.
func TestHostileNamesSafeWhenIgnored(t *testing.T) {
	d, _ := encodeMeta(nil, mDir("", mFile("good", Hash{}), mDir("..", mFile("passwd", mh(1)))))
	if _, err := ParseMetadata(d); err == nil {
		t.Fatal("image with a folder named .. accepted")
	}
	_ = utf16.Encode
}

// TestSharedEmptyList accepts folders whose child-list offsets point at one
// shared end marker: an empty list cannot loop.
func TestSharedEmptyList(t *testing.T) {
	a, b := mDir("a", mFile("x", Hash{})), mDir("b", mFile("y", Hash{}))
	data, lay := encodeMeta(nil, mDir("", a, b))
	ent, _ := a.children[0].entrySize()
	end := uint64(lay.list[a] + ent) // a's end marker, after its one child
	patch64(data, lay.entry[a]+dOffSubdir, end)
	patch64(data, lay.entry[b]+dOffSubdir, end)
	img, err := ParseMetadata(data)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(img.Lookup("/a").Children) + len(img.Lookup("/b").Children); n != 0 {
		t.Fatalf("%d children", n)
	}
}
