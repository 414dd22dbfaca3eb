package wim

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestNewReader reads every checked-in fixture from memory with NewReader
// and finds what Open finds in the file: header, XML data, blob table and
// every blob's data.
func TestNewReader(t *testing.T) {
	for _, name := range []string{"none.wim", "xpress.wim", "lzx.wim", "lzms.wim", "solid.esd", "solid-lzx.wim", "multi.wim"} {
		t.Run(name, func(t *testing.T) {
			data := containerFixture(t, name)
			fw, err := Open(filepath.Join(containerFixtureDir, name), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer fw.Close()
			w, err := NewReader(bytes.NewReader(data), int64(len(data)), &OpenOptions{CheckIntegrity: true})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if w.Name() != "WIM data" || w.Size() != int64(len(data)) {
				t.Errorf("Name %q, Size %d", w.Name(), w.Size())
			}
			if w.Header() != fw.Header() || w.ImageCount() != fw.ImageCount() || !bytes.Equal(w.RawXML(), fw.RawXML()) {
				t.Errorf("header or XML differ from Open's")
			}
			// Solid entries point to their resource: compare its header.
			type entry struct {
				e     BlobEntry
				solid ResourceHeader
			}
			key := func(e BlobEntry) entry {
				k := entry{e: e}
				if e.Solid != nil {
					k.e.Solid, k.solid = nil, e.Solid.Res
				}
				return k
			}
			if !slices.EqualFunc(w.Blobs(), fw.Blobs(), func(a, b BlobEntry) bool { return key(a) == key(b) }) {
				t.Errorf("blob tables differ from Open's")
			}
			for i := 1; i <= w.ImageCount(); i++ {
				got, err := w.MetadataResource(i)
				want, err2 := fw.MetadataResource(i)
				if err != nil || err2 != nil || !bytes.Equal(got, want) {
					t.Fatalf("metadata of image %d differs from Open's (%v, %v)", i, err, err2)
				}
			}
			for _, e := range w.Blobs() {
				if e.Res.Metadata() {
					continue
				}
				got, err := w.ReadBlob(e.Hash, 1<<30)
				if err != nil {
					t.Fatalf("blob %s: %v", e.Hash, err)
				}
				want, err := fw.ReadBlob(e.Hash, 1<<30)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("blob %s: differs from Open's (%v)", e.Hash, err)
				}
			}
		})
	}
}

// TestNewReaderRefsAndErrors checks NewReader's options: references by name
// are opened (and closed with it) while the split search, which needs a
// folder, is not made; errors carry OpenOptions.Name; Close leaves r open.
func TestNewReaderRefsAndErrors(t *testing.T) {
	part1 := filepath.Join(containerFixtureDir, "split.swm")
	part2 := filepath.Join(containerFixtureDir, "split2.swm")
	data := containerFixture(t, "split.swm")

	// Without references, part 2's blobs are missing: no split search.
	w, err := NewReader(bytes.NewReader(data), int64(len(data)), &OpenOptions{Name: "part one"})
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Refs()) != 0 {
		t.Errorf("NewReader searched for split parts: %d references", len(w.Refs()))
	}
	_, err = w.Image(1)
	var mb *MissingBlobError
	if !errors.As(err, &mb) || !strings.Contains(err.Error(), "part one") {
		t.Errorf("Image without part 2: %v, want a MissingBlobError naming %q", err, "part one")
	}
	w.Close()

	// With part 2 as a reference, every blob reads as Open's do.
	f, err := os.Open(part1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err = NewReader(f, int64(len(data)), &OpenOptions{Name: part1, Refs: []string{part2}})
	if err != nil {
		t.Fatal(err)
	}
	fw := imgOpen(t, part1)
	if len(w.Refs()) != 1 || len(fw.Refs()) != 1 {
		t.Fatalf("references: NewReader %d, Open %d", len(w.Refs()), len(fw.Refs()))
	}
	if _, err := w.Image(1); err != nil {
		t.Fatal(err)
	}
	if err := w.Verify(t.Context(), nil); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadAt(make([]byte, 1), 0); err != nil {
		t.Errorf("Close closed the caller's reader: %v", err)
	}

	// Bad data is a FormatError naming opts.Name; a bad reference names
	// itself.
	for _, tc := range []struct {
		name string
		data []byte
		opts *OpenOptions
		want string
	}{
		{"truncated header", data[:100], &OpenOptions{Name: "mem.wim"}, "mem.wim"},
		{"truncated file", data[:len(data)/2], &OpenOptions{Name: "mem.wim"}, "mem.wim"},
		{"default name", data[:100], nil, "WIM data"},
		{"missing reference", data, &OpenOptions{Name: "mem.wim", Refs: []string{filepath.Join(t.TempDir(), "none.swm")}}, "none.swm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := NewReader(bytes.NewReader(tc.data), int64(len(tc.data)), tc.opts)
			if err == nil {
				w.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
		})
	}
	if _, err := NewReader(bytes.NewReader(data), -1, nil); err == nil {
		t.Error("negative size accepted")
	}
}
