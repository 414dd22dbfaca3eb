package wim

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
	"github.com/wimconsole/wimconsole/internal/testtree"
)

// openSeedDir holds wimlib-written WIMs of what the container fixtures
// lack, as extra FuzzOpen seeds: hard links, symbolic links and an empty
// folder (links.wim), and an NTFS capture with security descriptors,
// alternate data streams and short names (ntfs.wim). TestUpdateOpenSeeds
// makes them.
const openSeedDir = "testdata/seeds"

var updateOpenSeeds = flag.Bool("update-open-seeds", false, "rewrite "+openSeedDir+" from wimlib-imagex captures")

// TestUpdateOpenSeeds rewrites openSeedDir (go test -run
// TestUpdateOpenSeeds -update-open-seeds).
func TestUpdateOpenSeeds(t *testing.T) {
	if !*updateOpenSeeds {
		t.Skip("use -update-open-seeds")
	}
	oracle.Wimlib(t)
	if err := os.MkdirAll(openSeedDir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "links")
	testtree.Write(t, src, map[string]string{
		"a.txt": "hello, world\n", "d/b.txt": "bee\n", "d/e/c.txt": "sea\n", "same.txt": "hello, world\n",
	})
	for _, err := range []error{
		os.Link(filepath.Join(src, "a.txt"), filepath.Join(src, "d", "hard.txt")),
		os.Symlink("a.txt", filepath.Join(src, "rel-link")),
		os.Symlink("/etc/hostname", filepath.Join(src, "d", "abs-link")),
		os.Symlink("d/e", filepath.Join(src, "dir-link")),
		os.Mkdir(filepath.Join(src, "empty"), 0o755),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	links := filepath.Join(openSeedDir, "links.wim")
	os.Remove(links)
	imgCapture(t, src, links, "Links", "--compress=xpress")
	small := filepath.Join(t.TempDir(), "small.wim")
	imgCapture(t, makeSmallTree(t), small, "--compress=none")
	ntfs := filepath.Join(openSeedDir, "ntfs.wim")
	os.Remove(ntfs)
	makeNTFSWim(t, small, ntfs)
}

// fuzzSeeds returns the checked-in wimlib-written files: the container
// fixtures (every codec, solid, boot, integrity, several images, split
// parts) and openSeedDir.
func fuzzSeeds(f testing.TB) map[string][]byte {
	names, _ := filepath.Glob(filepath.Join(containerFixtureDir, "*"))
	more, _ := filepath.Glob(filepath.Join(openSeedDir, "*.wim"))
	names = append(names, more...)
	seeds := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		seeds[filepath.Base(n)] = b
	}
	if len(seeds) == 0 {
		f.Fatal("no seed files")
	}
	return seeds
}

// limitChunks keeps fuzzed files from making each chunk a huge allocation.
func limitChunks(t testing.TB) {
	old := maxChunkSize
	maxChunkSize = 1 << 20
	t.Cleanup(func() { maxChunkSize = old })
}

func FuzzParseHeader(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b[:HeaderSize])
	}
	h := sampleHeader()
	b, _ := h.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseHeader(data)
		if err != nil {
			return
		}
		out, err := h.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		// Everything but the unused tail re-encodes identically.
		if !bytes.Equal(out[:0x94], data[:0x94]) {
			t.Fatalf("re-encoded header differs:\n% x\n% x", out[:0x94], data[:0x94])
		}
		h2, err := ParseHeader(out)
		if err != nil || h2 != h {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, h, h2)
		}
	})
}

// FuzzBlobTable parses fuzzed blob tables against a real file (whose solid
// resource headers they may point at), then reads every entry they yield.
func FuzzBlobTable(f *testing.F) {
	seeds := fuzzSeeds(f)
	base := seeds["solid.esd"]
	for _, name := range []string{"solid.esd", "lzx.wim", "multi.wim", "split2.swm"} {
		b := seeds[name]
		h, _ := ParseHeader(b)
		f.Add(b[h.BlobTable.Offset:h.BlobTable.End()], h.Version == VersionSolid)
	}
	f.Fuzz(func(t *testing.T, table []byte, solid bool) {
		limitChunks(t)
		w, err := newWIM("fuzz.esd", bytes.NewReader(base), int64(len(base)))
		if err != nil {
			t.Fatal(err)
		}
		h := w.hdr
		if !solid {
			h.Version = VersionDefault
		}
		tb, err := parseBlobTable(table, &h, w.ra, w.size, w.name, h.BlobTable.Offset)
		if err != nil {
			return
		}
		w.table = tb
		w.hdr = h
		for i := range tb.entries {
			e := &tb.entries[i]
			if rc, err := w.openEntry(e, "blob"); err == nil {
				io.Copy(io.Discard, rc)
				rc.Close()
			}
		}
		w.Verify(context.Background(), nil)
	})
}

func FuzzXML(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		h, _ := ParseHeader(b)
		if h.XML.End() <= int64(len(b)) {
			f.Add(b[h.XML.Offset:h.XML.End()])
		}
	}
	f.Add(encodeUTF16(msXML))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := parseXMLData(data)
		if err != nil {
			return
		}
		out, err := info.Marshal()
		if err != nil {
			return // text XML cannot hold, e.g. from unpaired surrogates
		}
		// What we write parses, to the same values, and is then stable.
		again, err := parseXMLData(out)
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, decodeUTF16(out))
		}
		out2, err := again.Marshal()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("second round trip differs: %v\n%s\n%s", err, decodeUTF16(out), decodeUTF16(out2))
		}
		if len(again.Images) != len(info.Images) || again.TotalBytes != info.TotalBytes {
			t.Fatalf("values changed: %d images, total %d; was %d, %d", len(again.Images), again.TotalBytes, len(info.Images), info.TotalBytes)
		}
		for i := range info.Images {
			a, b := info.Images[i], again.Images[i]
			if a.Name != b.Name || a.Description != b.Description || a.DirCount != b.DirCount || !a.Created.Equal(b.Created) || (a.Windows == nil) != (b.Windows == nil) {
				t.Fatalf("image %d changed:\n%+v\n%+v", i+1, a, b)
			}
		}
	})
}

// FuzzOpen writes each input to a file and opens and reads it whole: no
// input may panic or hang.
func FuzzOpen(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	short, err := os.ReadFile(shortEntryFile)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(short)
	f.Fuzz(func(t *testing.T, data []byte) {
		limitChunks(t)
		name := filepath.Join(t.TempDir(), "fuzz.wim")
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
		readAllOf(name)
	})
}
