package wim

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// encodeMetadata encodes img as an uncompressed metadata resource, the
// inverse of ParseMetadata: the security data, the root entry and an end
// marker, then each folder's list of children (in wimlib's collation
// order, ended by an end marker), folders in pre-order, as wimlib and
// Microsoft's tools lay them out.
//
// Streams are stored as wimlib 1.14 and DISM store them: a file's only
// unnamed stream (data, or the reparse data of a reparse point folder) in
// the entry itself; when there are more, all of them in stream entries,
// reparse data first, then the data, then the named streams.
//
// It refuses what ParseMetadata would refuse: names that fail CheckName or
// repeat in a folder, folders nested deeper than MaxDepth, a root that is
// not a folder, and security ids out of range.
func encodeMetadata(img *Image) ([]byte, error) {
	root := img.Root
	if root == nil {
		root = &File{Attributes: AttrDirectory, SecurityID: -1}
	}
	if !root.IsDir() {
		return nil, fmt.Errorf("wim: image root is not a folder (attributes 0x%x)", root.Attributes)
	}
	e := &metaEncoder{nsec: len(img.Security)}

	// Security data.
	total := uint64(8 + 8*len(img.Security))
	for _, sd := range img.Security {
		total += uint64(len(sd))
	}
	total = align8(total)
	if total > math.MaxUint32 {
		return nil, fmt.Errorf("wim: security data of %d bytes is too large", total)
	}

	// Lay out: the root entry, its end marker, then the child lists in
	// pre-order.
	rootEnt, err := e.prepare(root, nil)
	if err != nil {
		return nil, err
	}
	if err := e.walk(rootEnt, 0); err != nil {
		return nil, err
	}
	off := total + rootEnt.size + 8
	for _, d := range e.order {
		d.subdir = off
		for _, c := range d.kids {
			off += c.size
		}
		off += 8
	}
	if off > math.MaxInt32*4 { // far beyond MaxMetadataSize; keeps int conversions safe
		return nil, fmt.Errorf("wim: metadata resource of %d bytes is too large", off)
	}
	if off > MaxMetadataSize {
		return nil, fmt.Errorf("wim: metadata resource of %d bytes exceeds the %d-byte limit", off, MaxMetadataSize)
	}

	buf := make([]byte, 0, off)
	le := binary.LittleEndian
	buf = le.AppendUint32(buf, uint32(total))
	buf = le.AppendUint32(buf, uint32(len(img.Security)))
	for _, sd := range img.Security {
		buf = le.AppendUint64(buf, uint64(len(sd)))
	}
	for _, sd := range img.Security {
		buf = append(buf, sd...)
	}
	buf = pad8(buf)
	buf = e.appendEntry(buf, rootEnt)
	buf = le.AppendUint64(buf, 0)
	for _, d := range e.order {
		for _, c := range d.kids {
			buf = e.appendEntry(buf, c)
		}
		buf = le.AppendUint64(buf, 0)
	}
	if uint64(len(buf)) != off {
		return nil, fmt.Errorf("wim: internal error: metadata resource is %d bytes, expected %d", len(buf), off)
	}
	return buf, nil
}

// metaEncoder holds the state of one encodeMetadata call.
type metaEncoder struct {
	nsec  int
	order []*encEntry // folders, pre-order
}

// encEntry is a directory entry ready to be written.
type encEntry struct {
	f        *File
	name     []uint16
	short    []uint16
	size     uint64 // entry and its stream entries, 8-aligned
	baseLen  uint64 // the entry alone (its length field)
	mainHash Hash
	streams  []encStream // stream entries
	kids     []*encEntry // sorted; nil unless a folder
	isDir    bool
	subdir   uint64
}

type encStream struct {
	name []uint16 // nil: unnamed
	hash Hash
}

// prepare converts f (with parent for messages) into an entry, computing
// its sizes and stream entries.
func (e *metaEncoder) prepare(f *File, parent *File) (*encEntry, error) {
	ent := &encEntry{f: f, isDir: f.IsDir()}
	if parent != nil {
		if err := CheckName(f.Name); err != nil {
			return nil, fmt.Errorf("wim: entry in %s: %v", parent.Path(), err)
		}
		ent.name = stringToUnits(f.Name)
		if f.ShortName != "" {
			ent.short = stringToUnits(f.ShortName)
			if len(ent.short) > maxNameUnits {
				return nil, fmt.Errorf("wim: %s: short name too long", f.Path())
			}
		}
	}
	if f.SecurityID < -1 || int64(f.SecurityID) >= int64(e.nsec) {
		return nil, fmt.Errorf("wim: %s: security id %d out of range (%d descriptors)", pathOf(f, parent), f.SecurityID, e.nsec)
	}
	n := uint64(direntFixedSize)
	if len(ent.name) > 0 {
		n += 2*uint64(len(ent.name)) + 2
	}
	if len(ent.short) > 0 {
		n += 2*uint64(len(ent.short)) + 2
	}
	n = align8(n) + align8(uint64(len(f.Extra)))
	ent.baseLen = n

	// Streams, as write_dentry_streams in wimlib orders them.
	var unnamed []Hash
	var named []encStream
	if f.Attributes&AttrEncrypted != 0 {
		unnamed = append(unnamed, f.Hash)
	} else {
		if f.Attributes&AttrReparsePoint != 0 {
			rs, _ := f.Reparse()
			unnamed = append(unnamed, rs.Hash)
		}
		if f.Attributes&AttrDirectory == 0 {
			unnamed = append(unnamed, f.Hash)
		}
		seen := make(map[string]bool)
		for _, s := range f.Streams {
			if s.Name == "" {
				continue
			}
			if seen[s.Name] {
				return nil, fmt.Errorf("wim: %s: stream %q appears twice", pathOf(f, parent), s.Name)
			}
			seen[s.Name] = true
			u := stringToUnits(s.Name)
			if len(u) > math.MaxUint16/2-1 {
				return nil, fmt.Errorf("wim: %s: stream name too long", pathOf(f, parent))
			}
			named = append(named, encStream{name: u, hash: s.Hash})
		}
	}
	if len(unnamed) <= 1 && len(named) == 0 {
		if len(unnamed) == 1 {
			ent.mainHash = unnamed[0]
		}
	} else {
		for _, h := range unnamed {
			ent.streams = append(ent.streams, encStream{hash: h})
		}
		ent.streams = append(ent.streams, named...)
		if len(ent.streams) > math.MaxUint16 {
			return nil, fmt.Errorf("wim: %s: too many streams", pathOf(f, parent))
		}
	}
	n2 := n
	for _, s := range ent.streams {
		n2 += streamEntryLen(s)
	}
	ent.size = n2
	return ent, nil
}

func streamEntryLen(s encStream) uint64 {
	n := uint64(streamEntryFixedSize)
	if s.name != nil {
		n += 2*uint64(len(s.name)) + 2
	}
	return align8(n)
}

func pathOf(f, parent *File) string {
	if parent == nil {
		return "/"
	}
	p := parent.Path()
	if p == "/" {
		return "/" + f.Name
	}
	return p + "/" + f.Name
}

// walk prepares the children of folder d, recording the folders in
// pre-order.
func (e *metaEncoder) walk(d *encEntry, depth int) error {
	if !d.isDir {
		if len(d.f.Children) > 0 {
			return fmt.Errorf("wim: %s has children but is not a folder (attributes 0x%x)", d.f.Path(), d.f.Attributes)
		}
		return nil
	}
	if depth >= MaxDepth && len(d.f.Children) > 0 {
		return fmt.Errorf("wim: %s: folders nested deeper than %d levels", d.f.Path(), MaxDepth)
	}
	e.order = append(e.order, d)
	seen := make(map[string]bool, len(d.f.Children))
	d.kids = make([]*encEntry, 0, len(d.f.Children))
	for _, c := range d.f.Children {
		if c == nil {
			return fmt.Errorf("wim: %s: nil child", d.f.Path())
		}
		if seen[c.Name] {
			return fmt.Errorf("wim: %s: duplicate name %q", d.f.Path(), c.Name)
		}
		seen[c.Name] = true
		ce, err := e.prepare(c, d.f)
		if err != nil {
			return err
		}
		d.kids = append(d.kids, ce)
	}
	slices.SortStableFunc(d.kids, func(a, b *encEntry) int { return compareNames(a.name, b.name) })
	for _, c := range d.kids {
		if err := e.walk(c, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// appendEntry appends the on-disk form of ent and its stream entries.
func (e *metaEncoder) appendEntry(buf []byte, ent *encEntry) []byte {
	le := binary.LittleEndian
	f := ent.f
	buf = le.AppendUint64(buf, ent.baseLen)
	buf = le.AppendUint32(buf, f.Attributes)
	buf = le.AppendUint32(buf, uint32(f.SecurityID))
	var subdir uint64
	if ent.isDir {
		subdir = ent.subdir
	}
	buf = le.AppendUint64(buf, subdir)
	buf = append(buf, make([]byte, 16)...)
	buf = le.AppendUint64(buf, TimeToFiletime(f.Created))
	buf = le.AppendUint64(buf, TimeToFiletime(f.Accessed))
	buf = le.AppendUint64(buf, TimeToFiletime(f.Modified))
	buf = append(buf, ent.mainHash[:]...)
	buf = le.AppendUint32(buf, 0)
	if f.Attributes&AttrReparsePoint != 0 {
		buf = le.AppendUint32(buf, f.ReparseTag)
		buf = le.AppendUint16(buf, f.ReparseReserved)
		buf = le.AppendUint16(buf, f.ReparseFlags)
	} else {
		buf = le.AppendUint64(buf, f.LinkGroup)
	}
	buf = le.AppendUint16(buf, uint16(len(ent.streams)))
	buf = le.AppendUint16(buf, uint16(2*len(ent.short)))
	buf = le.AppendUint16(buf, uint16(2*len(ent.name)))
	if len(ent.name) > 0 {
		buf = appendUnits(buf, ent.name)
		buf = le.AppendUint16(buf, 0)
	}
	if len(ent.short) > 0 {
		buf = appendUnits(buf, ent.short)
		buf = le.AppendUint16(buf, 0)
	}
	buf = pad8(buf)
	if len(f.Extra) > 0 {
		buf = append(buf, f.Extra...)
		buf = pad8(buf)
	}
	for _, s := range ent.streams {
		n := streamEntryLen(s)
		buf = le.AppendUint64(buf, n)
		buf = le.AppendUint64(buf, 0)
		buf = append(buf, s.hash[:]...)
		buf = le.AppendUint16(buf, uint16(2*len(s.name)))
		if s.name != nil {
			buf = appendUnits(buf, s.name)
			buf = le.AppendUint16(buf, 0)
		}
		buf = pad8(buf)
	}
	return buf
}

func appendUnits(b []byte, u []uint16) []byte {
	for _, c := range u {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}

// pad8 pads b with zeros to a multiple of 8 bytes.
func pad8(b []byte) []byte {
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

// imageStats are the figures of an image that its XML element records.
type imageStats struct {
	DirCount, FileCount       int64
	TotalBytes, HardLinkBytes int64
}

// treeStats computes img's statistics as wimlib does: every name counts as a
// folder or a file; TOTALBYTES is the size of all streams of every name,
// HARDLINKBYTES the part of it due to extra names of hard-linked files.
// Stream sizes are taken from the File and Stream Size fields.
func (img *Image) treeStats() imageStats {
	var st imageStats
	seen := make(map[HardLinkKey]bool)
	for f := range img.All() {
		if f.IsDir() {
			st.DirCount++
		} else {
			st.FileCount++
		}
		size := f.Size
		for _, s := range f.Streams {
			size += s.Size
		}
		st.TotalBytes += size
		if k := f.HardLinkKey(); k != (HardLinkKey{}) {
			if seen[k] {
				st.HardLinkBytes += size
			}
			seen[k] = true
		}
	}
	return st
}
