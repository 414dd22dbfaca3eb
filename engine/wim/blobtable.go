package wim

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"unsafe"
)

// blobEntrySize is the size of one blob table entry on disk.
const blobEntrySize = 50

// BlobEntry is one entry of a WIM's blob table: where a blob (file data,
// or an image's metadata resource) is stored, and its SHA-1 digest.
//
// For a blob inside a solid resource, Solid describes that resource and
// SolidOffset is the blob's position in its uncompressed data; Res is the
// entry as recorded (Res.StoredSize holding the blob's size).
type BlobEntry struct {
	Res      ResourceHeader
	Part     uint16 // part of a split set holding the data (1-based)
	RefCount uint32
	Hash     Hash

	Solid       *SolidResource // nil unless the blob is in a solid resource
	SolidOffset int64          // offset of the blob in Solid's uncompressed data
}

// Size returns the uncompressed size of the blob.
func (e BlobEntry) Size() int64 {
	if e.Solid != nil {
		return e.Res.StoredSize
	}
	return e.Res.Size
}

// IsMetadata reports whether the entry is an image's metadata resource.
func (e BlobEntry) IsMetadata() bool { return e.Res.Flags&ResMetadata != 0 }

// SolidResource is a solid resource: many blobs compressed together, with
// its own codec and chunk size (read from the resource's own header).
type SolidResource struct {
	Res         ResourceHeader // the table entry: location and stored size
	Size        int64          // uncompressed size of all its data
	ChunkSize   uint32
	Compression Compression
}

// solidHeaderSize is the size of the header at the start of a solid
// resource: u64 uncompressed size, u32 chunk size, u32 codec.
const solidHeaderSize = 16

// decodeBlobEntry decodes the 50-byte on-disk form of a blob table entry
// (without any solid-resource interpretation).
func decodeBlobEntry(b []byte) BlobEntry {
	_ = b[blobEntrySize-1]
	var e BlobEntry
	e.Res = decodeResourceHeader(b[0:24])
	e.Part = binary.LittleEndian.Uint16(b[24:26])
	e.RefCount = binary.LittleEndian.Uint32(b[26:30])
	copy(e.Hash[:], b[30:50])
	return e
}

// Encode writes the 50-byte on-disk form of e into b: Res as recorded
// (for a solid blob, its position in the run and its size), Part,
// RefCount and Hash.
func (e BlobEntry) Encode(b []byte) {
	_ = b[blobEntrySize-1]
	e.Res.Encode(b[0:24])
	binary.LittleEndian.PutUint16(b[24:26], e.Part)
	binary.LittleEndian.PutUint32(b[26:30], e.RefCount)
	copy(b[30:50], e.Hash[:])
}

// appendEncode appends the 50-byte on-disk form of e to b.
func (e BlobEntry) appendEncode(b []byte) []byte {
	var buf [blobEntrySize]byte
	e.Encode(buf[:])
	return append(b, buf[:]...)
}

// blobTable is a parsed blob table.
type blobTable struct {
	entries    []BlobEntry      // usable entries, in table order
	byHash     blobIndex        // index into entries, file blobs only
	metadata   []BlobEntry      // image metadata resources, image 1 first
	solids     []*SolidResource // solid resources, in table order
	duplicates int              // ignored entries repeating a hash
	wrongPart  int              // ignored entries of another split part
}

// parseBlobTable interprets a blob table. readAt reads the file (for the
// headers of solid resources), name and tableOff are for messages.
func parseBlobTable(data []byte, h *Header, readAt io.ReaderAt, fileSize int64, name string, tableOff int64) (*blobTable, error) {
	if len(data)%blobEntrySize != 0 {
		return nil, errAt(name, tableOff, "blob table size %d is not a multiple of %d", len(data), blobEntrySize)
	}
	n := len(data) / blobEntrySize
	t := &blobTable{byHash: newBlobIndex(n), entries: make([]BlobEntry, 0, n)}
	entryOff := func(i int) int64 { return tableOff + int64(i)*blobEntrySize }

	for i := 0; i < n; {
		e := decodeBlobEntry(data[i*blobEntrySize:])
		if h.Version != VersionSolid {
			e.Res.Flags &^= ResSolid
		}
		if !e.Res.Solid() {
			if err := t.add(e, h, name, entryOff(i)); err != nil {
				return nil, err
			}
			i++
			continue
		}
		// A solid run: consecutive entries with the solid flag. Entries
		// whose size is solidResourceMagic describe the resources; the
		// others are blobs placed by offset in the concatenation of the
		// run's resources.
		j := i
		var run []*SolidResource
		for ; j < n; j++ {
			e := decodeBlobEntry(data[j*blobEntrySize:])
			if e.Res.Flags&ResSolid == 0 {
				break
			}
			if e.Res.Size != solidResourceMagic {
				continue
			}
			s, err := readSolidHeader(e.Res, readAt, fileSize, name, entryOff(j))
			if err != nil {
				return nil, err
			}
			run = append(run, s)
		}
		t.solids = append(t.solids, run...)
		for k := i; k < j; k++ {
			e := decodeBlobEntry(data[k*blobEntrySize:])
			if e.Res.Size == solidResourceMagic {
				continue
			}
			if e.IsMetadata() {
				return nil, errAt(name, entryOff(k), "metadata resource %s in a solid resource is not supported", e.Hash)
			}
			if err := placeSolidBlob(&e, run, name, entryOff(k)); err != nil {
				return nil, err
			}
			if err := t.add(e, h, name, entryOff(k)); err != nil {
				return nil, err
			}
		}
		i = j
	}
	return t, nil
}

// readSolidHeader reads and checks the header of the solid resource that
// res locates.
func readSolidHeader(res ResourceHeader, readAt io.ReaderAt, fileSize int64, name string, entryOff int64) (*SolidResource, error) {
	if res.Offset < 0 || res.StoredSize < solidHeaderSize || res.Offset > fileSize-res.StoredSize {
		return nil, errAt(name, entryOff, "solid resource %v lies outside the file (size %d)", res, fileSize)
	}
	var b [solidHeaderSize]byte
	if _, err := readAt.ReadAt(b[:], res.Offset); err != nil {
		return nil, errAt(name, res.Offset, "reading solid resource header: %v", err)
	}
	s := &SolidResource{
		Res:         res,
		Size:        int64(binary.LittleEndian.Uint64(b[0:])),
		ChunkSize:   binary.LittleEndian.Uint32(b[8:]),
		Compression: Compression(binary.LittleEndian.Uint32(b[12:])),
	}
	switch s.Compression {
	case None:
		if s.ChunkSize == 0 || s.ChunkSize&(s.ChunkSize-1) != 0 || s.ChunkSize > 1<<30 {
			return nil, errAt(name, res.Offset+8, "solid resource: invalid chunk size %d", s.ChunkSize)
		}
	case XPRESS, LZX, LZMS:
		if !s.Compression.ValidChunkSize(s.ChunkSize) {
			return nil, errAt(name, res.Offset+8, "solid resource: invalid chunk size %d for %v", s.ChunkSize, s.Compression)
		}
	default:
		return nil, errAt(name, res.Offset+12, "solid resource: unknown compression format %d", uint32(s.Compression))
	}
	if s.Size < 0 {
		return nil, errAt(name, res.Offset, "solid resource: invalid uncompressed size %d", uint64(s.Size))
	}
	// Each chunk takes at least one byte and one 4-byte table entry, which
	// bounds the size a resource of this stored size can hold.
	chunks := (s.Size + int64(s.ChunkSize) - 1) / int64(s.ChunkSize)
	if chunks > (res.StoredSize-solidHeaderSize)/5 {
		return nil, errAt(name, res.Offset, "solid resource: %d chunks cannot fit in %d bytes", chunks, res.StoredSize)
	}
	return s, nil
}

// placeSolidBlob assigns a solid blob entry to its resource in the run. The
// entry's offset counts from the start of the run's first resource.
func placeSolidBlob(e *BlobEntry, run []*SolidResource, name string, entryOff int64) error {
	off, size := e.Res.Offset, e.Res.StoredSize
	if off < 0 {
		return errAt(name, entryOff, "solid blob %s: invalid offset %d", e.Hash, uint64(off))
	}
	for _, s := range run {
		if off <= s.Size && size <= s.Size-off {
			e.Solid = s
			e.SolidOffset = off
			return nil
		}
		off -= s.Size
		if off < 0 {
			break
		}
	}
	return errAt(name, entryOff, "solid blob %s (offset %d, size %d) lies outside its solid resources", e.Hash, e.Res.Offset, size)
}

// add records a non-resource entry, as wimlib does: entries with a zero
// hash, a zero size or another part number are ignored; metadata entries
// with no references are ignored; later duplicates of a hash are ignored.
func (t *blobTable) add(e BlobEntry, h *Header, name string, entryOff int64) error {
	if e.Hash.IsZero() || e.Size() == 0 {
		return nil
	}
	if e.Solid == nil {
		if e.Res.Offset < 0 || e.Res.StoredSize < 0 || e.Res.Size < 0 {
			return errAt(name, entryOff, "blob %s: invalid resource %v", e.Hash, e.Res)
		}
		if !e.Res.Compressed() && e.Res.StoredSize != e.Res.Size {
			return errAt(name, entryOff, "blob %s: uncompressed resource has stored size %d but size %d", e.Hash, e.Res.StoredSize, e.Res.Size)
		}
	}
	if e.Part != h.Part {
		t.wrongPart++
		return nil
	}
	if e.IsMetadata() {
		if e.RefCount == 0 {
			return nil
		}
		if e.RefCount != 1 {
			return errAt(name, entryOff, "metadata resource %s has reference count %d, want 1", e.Hash, e.RefCount)
		}
		if h.Part != 1 || len(t.metadata) >= int(h.ImageCount) {
			return nil
		}
		t.metadata = append(t.metadata, e)
		t.entries = append(t.entries, e)
		return nil
	}
	t.entries = append(t.entries, e)
	if !t.byHash.insert(t.entries, len(t.entries)-1) {
		t.entries = t.entries[:len(t.entries)-1]
		t.duplicates++
	}
	return nil
}

// find returns the index in t.entries of file blob h.
func (t *blobTable) find(h Hash) (int, bool) { return t.byHash.find(t.entries, h) }

// blobIndex finds the entries of a blob table by digest: open addressing
// (linear probing) over a power-of-two array of slots, each holding an
// entry's index and 32 bits of its hash to compare before the digest. It
// takes a third of the memory of a map[Hash]int and a fraction of its
// cache misses (a Res.rwm has an entry per file of its group). The slots
// come from a keyed hash (hash/maphash, seeded per process), so that digests
// crafted to collide cannot make lookups slow.
type blobIndex struct {
	slots []blobSlot
	n     int // slots used
}

// blobSlot is entry index+1 (0: an empty slot) and the hash's high bits.
type blobSlot struct {
	idx uint32
	tag uint32
}

var blobIndexSeed = maphash.MakeSeed()

// newBlobIndex returns an index with room for n entries.
func newBlobIndex(n int) blobIndex {
	return blobIndex{slots: newSlots(blobIndexSize(n))}
}

// newSlots returns n empty slots, each page of them written once. insert
// reads a slot before it writes it: on a page nothing has touched, the
// read maps the kernel's zero page, and the write then takes a second
// fault, a copy-on-write that sends a TLB shootdown to the other cores
// running the process (an interrupt to each; in a VM, an exit too). A
// store's add-image opened two tables of 36,000 blobs this way: 256 such
// faults on its critical path. Written first, each page faults once.
func newSlots(n int) []blobSlot {
	s := make([]blobSlot, n)
	for i := 0; i < len(s); i += slotsPerPage {
		s[i] = blobSlot{}
	}
	return s
}

// slotsPerPage is how many slots a 4 KiB page (the smallest) holds.
const slotsPerPage = 4096 / int(unsafe.Sizeof(blobSlot{}))

// blobIndexSize is the number of slots for n entries: at most 70% full.
func blobIndexSize(n int) int {
	size := 8
	for size*7 < n*10 {
		size <<= 1
	}
	return size
}

// find returns the index in entries of the blob with digest h.
func (x *blobIndex) find(entries []BlobEntry, h Hash) (int, bool) {
	if x.n == 0 {
		return 0, false
	}
	k := maphash.Comparable(blobIndexSeed, h)
	tag, mask := uint32(k>>32), uint64(len(x.slots)-1)
	for i := k & mask; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s.idx == 0 {
			return 0, false
		}
		if s.tag == tag && entries[s.idx-1].Hash == h {
			return int(s.idx - 1), true
		}
	}
}

// insert indexes entries[i], unless an earlier entry has its digest:
// then it returns false.
func (x *blobIndex) insert(entries []BlobEntry, i int) bool {
	if (x.n+1)*10 > len(x.slots)*7 {
		x.grow(entries)
	}
	h := entries[i].Hash
	k := maphash.Comparable(blobIndexSeed, h)
	tag, mask := uint32(k>>32), uint64(len(x.slots)-1)
	for j := k & mask; ; j = (j + 1) & mask {
		s := &x.slots[j]
		if s.idx == 0 {
			*s = blobSlot{idx: uint32(i + 1), tag: tag}
			x.n++
			return true
		}
		if s.tag == tag && entries[s.idx-1].Hash == h {
			return false
		}
	}
}

// grow doubles the slots (an index made smaller than its table).
func (x *blobIndex) grow(entries []BlobEntry) {
	old := x.slots
	x.slots = newSlots(max(8, 2*len(old)))
	x.n = 0
	for _, s := range old {
		if s.idx != 0 {
			x.insert(entries, int(s.idx-1))
		}
	}
}

// sortedByLocation returns the entries ordered by where their data is:
// solid resource (by offset) then position in it, or resource offset.
func sortedByLocation(entries []BlobEntry) []BlobEntry {
	s := slices.Clone(entries)
	slices.SortStableFunc(s, func(a, b BlobEntry) int {
		ka, kb := a.Res.Offset, b.Res.Offset
		if a.Solid != nil {
			ka = a.Solid.Res.Offset
		}
		if b.Solid != nil {
			kb = b.Solid.Res.Offset
		}
		if ka != kb {
			return cmpInt64(ka, kb)
		}
		return cmpInt64(a.SolidOffset, b.SolidOffset)
	})
	return s
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (t *blobTable) String() string {
	return fmt.Sprintf("%d entries, %d metadata, %d solid resources", len(t.entries), len(t.metadata), len(t.solids))
}
