package wim

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// shortEntryFile is a 670-byte WIM that crashed dir, verify, apply and
// add-image with "index out of range" (see TestShortEntryWIM). The CLI and
// server tests read it too.
const shortEntryFile = "testdata/hostile/short-entry.wim"

var updateHostile = flag.Bool("update-hostile", false, "rewrite "+shortEntryFile+" from shortEntryWIM")

// shortEntryMeta is the metadata resource of shortEntryFile: security data
// of 8 bytes (no descriptors), then one entry claiming a length of 100 with
// only 88 bytes after its first 20; 100 aligns to 104, the fixed part needs
// 102, and only 100 bytes remain.
func shortEntryMeta() []byte {
	b := make([]byte, 20, 108)
	binary.LittleEndian.PutUint32(b[0:], 8)     // security data length
	binary.LittleEndian.PutUint32(b[4:], 0)     // descriptor count
	binary.LittleEndian.PutUint64(b[8:], 100)   // entry length
	binary.LittleEndian.PutUint32(b[16:], 0x10) // FILE_ATTRIBUTE_DIRECTORY
	return append(b, make([]byte, 88)...)
}

// shortEntryWIM builds shortEntryFile: an uncompressed WIM with one image
// whose metadata resource is shortEntryMeta. Everything but the metadata is
// valid.
func shortEntryWIM() []byte {
	return metaOnlyWIM(shortEntryMeta(),
		`<WIM><TOTALBYTES>366</TOTALBYTES><IMAGE INDEX="1"><DIRCOUNT>1</DIRCOUNT><FILECOUNT>0</FILECOUNT><TOTALBYTES>0</TOTALBYTES><NAME>SE</NAME></IMAGE></WIM>`,
		[16]byte{'s', 'h', 'o', 'r', 't', '-', 'e', 'n', 't', 'r', 'y'})
}

// metaOnlyWIM builds an uncompressed WIM with one image whose metadata
// resource is meta and whose XML is xml, laid out as header, metadata,
// blob table, XML.
func metaOnlyWIM(meta []byte, xml string, guid [16]byte) []byte {
	x := encodeUTF16(xml)
	metaOff := int64(HeaderSize)
	tableOff := metaOff + int64(len(meta))
	xmlOff := tableOff + blobEntrySize
	h := Header{
		Magic: Magic, Version: VersionDefault, Part: 1, TotalParts: 1, ImageCount: 1,
		GUID:      guid,
		BlobTable: ResourceHeader{StoredSize: blobEntrySize, Flags: ResMetadata, Offset: tableOff, Size: blobEntrySize},
		XML:       ResourceHeader{StoredSize: int64(len(x)), Offset: xmlOff, Size: int64(len(x))},
	}
	out, _ := h.MarshalBinary()
	out = append(out, meta...)
	out = BlobEntry{
		Res:  ResourceHeader{StoredSize: int64(len(meta)), Flags: ResMetadata, Offset: metaOff, Size: int64(len(meta))},
		Part: 1, RefCount: 1, Hash: sha1.Sum(meta),
	}.appendEncode(out)
	return append(out, x...)
}

// TestShortEntryWIM checks the committed file against its builder, then
// that listing and applying it fail with a format
// error naming the file and the entry's offset instead of panicking.
func TestShortEntryWIM(t *testing.T) {
	want := shortEntryWIM()
	if *updateHostile {
		if err := os.WriteFile(shortEntryFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(shortEntryFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from shortEntryWIM (run with -update-hostile)", shortEntryFile)
	}
	if len(got) != 670 {
		t.Fatalf("%d bytes, want 670", len(got))
	}
	name := filepath.Join(t.TempDir(), "short.wim")
	if err := os.WriteFile(name, got, 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := Open(name, nil)
	if err != nil {
		t.Fatalf("the damage is in the metadata, yet Open failed: %v", err)
	}
	defer w.Close()
	check := func(what string, err error) {
		t.Helper()
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Fatalf("%s: %T %v, want a *FormatError", what, err, err)
		}
		if fe.File != name || fe.Offset != 8 || !strings.Contains(err.Error(), "less than the 102-byte minimum") {
			t.Fatalf("%s: %v; want %s, offset 0x8, the entry's minimum", what, err, name)
		}
	}
	_, err = w.Image(1)
	check("Image", err)
	if err := w.Verify(context.Background(), nil); err != nil {
		t.Fatalf("Verify (hashes only; the resource's digest is right): %v", err)
	}
	check("Apply", w.Apply(context.Background(), 1, t.TempDir(), nil))
}
