package wim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sampleHeader() Header {
	h := Header{
		Magic:      Magic,
		Version:    VersionDefault,
		Part:       1,
		TotalParts: 1,
		ImageCount: 2,
		GUID:       [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		BlobTable:  ResourceHeader{StoredSize: 500, Flags: ResMetadata, Offset: 0x10000, Size: 500},
		XML:        ResourceHeader{StoredSize: 1000, Flags: ResMetadata, Offset: 0x10000 + 500, Size: 1000},
		BootMetadata: ResourceHeader{StoredSize: 300, Flags: ResMetadata | ResCompressed,
			Offset: 0x9000, Size: 900},
		BootIndex: 2,
		Integrity: ResourceHeader{StoredSize: 32, Offset: 0x20000, Size: 32},
	}
	h.SetCompression(LZX, 32768)
	h.Flags |= FlagRPFix
	return h
}

func TestHeaderRoundTrip(t *testing.T) {
	h := sampleHeader()
	b, err := h.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != HeaderSize || !bytes.Equal(b[:8], Magic[:]) || binary.LittleEndian.Uint32(b[8:]) != HeaderSize {
		t.Fatalf("encoded header % x", b[:16])
	}
	got, err := ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if got != h {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, h)
	}
	if got.Compression() != LZX {
		t.Errorf("compression %v", got.Compression())
	}
	var h2 Header
	if err := h2.UnmarshalBinary(b); err != nil || h2 != h {
		t.Errorf("UnmarshalBinary: %v", err)
	}
	// Field offsets as documented (WIM-FORMAT.md).
	le := binary.LittleEndian
	if le.Uint32(b[0x0C:]) != VersionDefault || le.Uint32(b[0x14:]) != 32768 || le.Uint16(b[0x28:]) != 1 ||
		le.Uint32(b[0x2C:]) != 2 || le.Uint64(b[0x38:]) != 0x10000 || le.Uint32(b[0x78:]) != 2 || le.Uint64(b[0x84:]) != 0x20000 {
		t.Errorf("fields at the wrong offsets")
	}
	// An all-zero Magic encodes as the real magic.
	h.Magic = [8]byte{}
	b, _ = h.MarshalBinary()
	if !bytes.Equal(b[:8], Magic[:]) {
		t.Errorf("zero magic encoded as % x", b[:8])
	}
}

// TestHeaderOfWimlibFiles re-encodes the headers of wimlib-written files
// byte for byte.
func TestHeaderOfWimlibFiles(t *testing.T) {
	names, _ := filepath.Glob(filepath.Join(containerFixtureDir, "*"))
	if len(names) == 0 {
		t.Fatal("no containerFixtures")
	}
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		h, err := ParseHeader(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := h.MarshalBinary()
		if !bytes.Equal(b, data[:HeaderSize]) {
			t.Errorf("%s: header does not re-encode identically", name)
		}
	}
}

func TestCompressionFlags(t *testing.T) {
	for _, c := range []struct {
		comp  Compression
		chunk uint32
	}{{None, 0}, {XPRESS, 32768}, {LZX, 32768}, {LZMS, 1 << 17}} {
		h := sampleHeader()
		h.SetCompression(c.comp, c.chunk)
		b, _ := h.MarshalBinary()
		got, err := ParseHeader(b)
		if err != nil {
			t.Fatalf("%v: %v", c.comp, err)
		}
		if got.Compression() != c.comp || got.ChunkSize != c.chunk {
			t.Errorf("%v: got %v chunk %d", c.comp, got.Compression(), got.ChunkSize)
		}
		if c.comp.String() == "" {
			t.Errorf("no name for %d", c.comp)
		}
	}
	// Microsoft's second XPRESS flag reads as XPRESS.
	h := sampleHeader()
	h.Flags = FlagCompression | FlagCompressXPRESS2
	if h.Compression() != XPRESS {
		t.Errorf("XPRESS2 flag reads as %v", h.Compression())
	}
	if Compression(9).String() != "Compression(9)" {
		t.Errorf("unknown compression name %q", Compression(9).String())
	}
}

func TestParseHeaderErrors(t *testing.T) {
	good, _ := func() ([]byte, error) { h := sampleHeader(); return h.MarshalBinary() }()
	le := binary.LittleEndian
	cases := []struct {
		name   string
		mutate func(b []byte) []byte
		want   string
	}{
		{"short", func(b []byte) []byte { return b[:100] }, "too short"},
		{"empty", func(b []byte) []byte { return nil }, "too short"},
		{"magic", func(b []byte) []byte { b[0] = 'X'; return b }, "not a WIM"},
		{"pipable", func(b []byte) []byte { copy(b, "WLPWM\x00\x00\x00"); return b }, "pipable"},
		{"header size", func(b []byte) []byte { le.PutUint32(b[8:], 200); return b }, "header size"},
		{"version", func(b []byte) []byte { le.PutUint32(b[0xC:], 0x10C00); return b }, "version"},
		{"part zero", func(b []byte) []byte { le.PutUint16(b[0x28:], 0); return b }, "part number"},
		{"part beyond total", func(b []byte) []byte { le.PutUint16(b[0x28:], 3); return b }, "part number"},
		{"total zero", func(b []byte) []byte { le.PutUint16(b[0x2A:], 0); return b }, "part number"},
		{"image count", func(b []byte) []byte { le.PutUint32(b[0x2C:], maxImages+1); return b }, "image count"},
		{"codec missing", func(b []byte) []byte { le.PutUint32(b[0x10:], FlagCompression); return b }, "codec"},
		{"chunk not power of two", func(b []byte) []byte { le.PutUint32(b[0x14:], 40000); return b }, "chunk size"},
		{"chunk too small for LZX", func(b []byte) []byte { le.PutUint32(b[0x14:], 4096); return b }, "chunk size"},
		{"chunk too large for LZX", func(b []byte) []byte { le.PutUint32(b[0x14:], 1<<22); return b }, "chunk size"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := c.mutate(bytes.Clone(good))
			_, err := ParseHeader(b)
			var fe *FormatError
			if !errors.As(err, &fe) || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want a FormatError mentioning %q", err, c.want)
			}
		})
	}
}

func TestValidChunkSize(t *testing.T) {
	cases := []struct {
		c    Compression
		size uint32
		ok   bool
	}{
		{XPRESS, 4096, true}, {XPRESS, 65536, true}, {XPRESS, 1 << 17, false}, {XPRESS, 2048, false},
		{LZX, 32768, true}, {LZX, 1 << 21, true}, {LZX, 1 << 22, false}, {LZX, 16384, false},
		{LZMS, 32768, true}, {LZMS, 64 << 20, true}, {LZMS, 1 << 30, true}, {LZMS, 1 << 31, false},
		{LZX, 3 << 15, false}, {None, 32768, false}, {LZMS, 0, false},
	}
	for _, c := range cases {
		if got := c.c.ValidChunkSize(c.size); got != c.ok {
			t.Errorf("%v.ValidChunkSize(%d) = %v", c.c, c.size, got)
		}
	}
}

func TestResourceHeaderRoundTrip(t *testing.T) {
	for _, r := range []ResourceHeader{
		{},
		{StoredSize: 1, Flags: ResCompressed, Offset: 208, Size: 2},
		{StoredSize: maxStoredSize, Flags: 0xFF, Offset: math.MaxInt64, Size: math.MaxInt64},
		{StoredSize: 0x123456789ABC, Flags: ResSolid, Offset: 0x100000000, Size: solidResourceMagic},
	} {
		var b [resourceHeaderSize]byte
		r.Encode(b[:])
		if got := decodeResourceHeader(b[:]); got != r {
			t.Errorf("round trip of %v gives %v", r, got)
		}
		if got := r.appendEncode([]byte{9}); !bytes.Equal(got[1:], b[:]) || got[0] != 9 {
			t.Errorf("AppendEncode differs from Encode")
		}
	}
	// Layout: 7 bytes of size, 1 of flags.
	r := ResourceHeader{StoredSize: 0x01020304050607, Flags: 0x42, Offset: 8, Size: 9}
	var b [24]byte
	r.Encode(b[:])
	if b[0] != 7 || b[6] != 1 || b[7] != 0x42 || b[8] != 8 || b[16] != 9 {
		t.Errorf("layout % x", b)
	}
	if !r.Metadata() || r.Compressed() || r.Solid() || r.End() != 8+0x01020304050607 || r.String() == "" {
		t.Errorf("flag accessors wrong for %v", r)
	}
}

func TestBlobEntryRoundTrip(t *testing.T) {
	e := BlobEntry{
		Res:      ResourceHeader{StoredSize: 1234, Flags: ResCompressed, Offset: 5678, Size: 99999},
		Part:     3,
		RefCount: 7,
	}
	for i := range e.Hash {
		e.Hash[i] = byte(i * 13)
	}
	var b [blobEntrySize]byte
	e.Encode(b[:])
	if got := decodeBlobEntry(b[:]); got != e {
		t.Fatalf("round trip: %+v", got)
	}
	if got := e.appendEncode(nil); !bytes.Equal(got, b[:]) {
		t.Fatal("AppendEncode differs")
	}
	if binary.LittleEndian.Uint16(b[24:]) != 3 || binary.LittleEndian.Uint32(b[26:]) != 7 || b[30] != 0 || b[49] != byte(19*13) {
		t.Errorf("layout % x", b)
	}
	// The blob tables of wimlib-written files re-encode identically.
	for _, name := range []string{"lzx.wim", "solid.esd", "multi.wim"} {
		data := containerFixture(t, name)
		h, entries := rawBlobTable(t, data)
		var out []byte
		for _, e := range entries {
			out = e.appendEncode(out)
		}
		if !bytes.Equal(out, data[h.BlobTable.Offset:h.BlobTable.End()]) {
			t.Errorf("%s: blob table does not re-encode identically", name)
		}
	}
}

func TestHashString(t *testing.T) {
	var h Hash
	if !h.IsZero() || h.String() != strings.Repeat("0", 40) {
		t.Errorf("zero hash: %v %q", h.IsZero(), h)
	}
	h[0], h[19] = 0xAB, 0x01
	s := h.String()
	if s != "ab"+strings.Repeat("0", 36)+"01" || h.IsZero() {
		t.Errorf("String %q", s)
	}
	for _, in := range []string{s, "0x" + s, strings.ToUpper(s)} {
		if got, err := ParseHash(in); err != nil || got != h {
			t.Errorf("ParseHash(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "abc", s[:39] + "g", s + "00"} {
		if _, err := ParseHash(bad); err == nil {
			t.Errorf("ParseHash(%q) accepted", bad)
		}
	}
}

// TestChunkTable64 checks chunk table decoding for resources over 4 GiB,
// whose entries are 64-bit, on a crafted resource: no 4 GiB file needed.
// The resource claims 4 GiB + 100 bytes in 131,073 chunks of 32 KiB, all
// stored raw except the chunk table, in a sparse file.
func TestChunkTable64(t *testing.T) {
	const chunk = 32768
	size := int64(1<<32 + 100)
	nchunks := (size + chunk - 1) / chunk
	nentries := nchunks - 1
	// Chunks stored raw: each entry is (i+1)*chunk from the table's end.
	table := make([]byte, nentries*8)
	for i := range nentries {
		binary.LittleEndian.PutUint64(table[i*8:], uint64(i+1)*chunk)
	}
	stored := int64(len(table)) + size
	f, err := os.Create(filepath.Join(t.TempDir(), "sparse"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const off = 4096
	if _, err := f.WriteAt(table, off); err != nil {
		t.Fatal(err)
	}
	// Mark the last chunk's last bytes so reading it has something to see.
	if _, err := f.WriteAt([]byte("END"), off+stored-3); err != nil {
		t.Skipf("cannot make a sparse file: %v", err)
	}
	w := &WIM{name: "sparse.wim", ra: f, size: off + stored}
	w.hdr.SetCompression(LZX, chunk)
	r, err := w.resourceFor(ResourceHeader{StoredSize: stored, Flags: ResCompressed, Offset: off, Size: size}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if r.entSize != 8 || r.nchunks != nchunks || r.dataOff != off+int64(len(table)) {
		t.Fatalf("geometry: entry size %d, %d chunks, data at %d", r.entSize, r.nchunks, r.dataOff)
	}
	// Read the end of the resource: the last chunk (100 bytes) and the
	// tail of the one before, across the 4 GiB boundary.
	rc, err := r.open(size-200, 200)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 200 || string(got[197:]) != "END" {
		t.Fatalf("read %d bytes ending %q", len(got), got[max(0, len(got)-3):])
	}
	// A chunk table entry that decreases is caught in the 64-bit table too.
	binary.LittleEndian.PutUint64(table[(nentries-1)*8:], 5)
	f.WriteAt(table[(nentries-1)*8:], off+(nentries-1)*8)
	rc2, err := r.open(size-200, 200)
	if err == nil {
		_, err = io.ReadAll(rc2)
	}
	if err == nil || !strings.Contains(err.Error(), "below the previous") {
		t.Fatalf("decreasing 64-bit entry: %v", err)
	}
}
