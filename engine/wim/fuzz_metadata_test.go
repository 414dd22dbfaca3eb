package wim

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// imageSeedDir holds small metadata resources captured by wimlib (see
// TestUpdateImageSeeds), used as fuzz seeds and parsed by TestImageSeeds.
const imageSeedDir = "testdata/image"

// FuzzParseMetadata feeds ParseMetadata real wimlib metadata resources, the
// hostile cases and their mutations. It must never panic, and whatever it
// accepts must be a sound tree: names that pass CheckName, parents linked,
// no entry twice, bounded depth and size; and it must agree with the
// reference parser (parseMetadataRef), tree for tree and error for error,
// and with the light reading add-image uses (scanMetadataRefs), refusal for
// refusal and reference for reference.
func FuzzParseMetadata(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(imageSeedDir, "*.meta"))
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	// The metadata resource of every image of every wimlib-written seed
	// file (split parts after the first have none).
	for _, b := range fuzzSeeds(f) {
		w, err := newWIM("seed.wim", bytes.NewReader(b), int64(len(b)))
		if err != nil {
			f.Fatal(err)
		}
		for i := 1; i <= w.ImageCount(); i++ {
			if data, err := w.MetadataResource(i); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add(shortEntryMeta())
	for _, tc := range hostileCases() {
		if tc.name == "too deep" || tc.name == "overlapping lists" {
			continue // large; their small variants come from mutation
		}
		f.Add(tc.data())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameAsRef(t, "the input", data)
		sameRefsAsTree(t, "the input", data)
		img, err := ParseMetadata(data)
		if err != nil {
			if img != nil {
				t.Fatal("image returned with an error")
			}
			return
		}
		seen := map[*File]bool{}
		n := 0
		var walk func(f *File, depth int)
		walk = func(f *File, depth int) {
			if seen[f] {
				t.Fatal("entry reached twice")
			}
			seen[f] = true
			n++
			if depth > MaxDepth {
				t.Fatalf("depth %d", depth)
			}
			if f.SecurityID < -1 || int(f.SecurityID) >= len(img.Security) {
				t.Fatalf("security id %d of %d", f.SecurityID, len(img.Security))
			}
			if len(f.Children) > 0 && !f.IsDir() {
				t.Fatalf("%s: children of a non-folder", f.Path())
			}
			for _, c := range f.Children {
				if c.Parent != f {
					t.Fatal("parent link")
				}
				if err := CheckName(c.Name); err != nil {
					t.Fatalf("accepted name: %v", err)
				}
				walk(c, depth+1)
			}
		}
		walk(img.Root, 0)
		if n > len(data)/direntMinSize+2 {
			t.Fatalf("%d entries from %d bytes", n, len(data))
		}
	})
}

// TestImageSeeds parses the checked-in metadata resources.
func TestImageSeeds(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(imageSeedDir, "*.meta"))
	if len(files) < 3 {
		t.Fatalf("found %d seeds in %s", len(files), imageSeedDir)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		img, err := ParseMetadata(data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		n := 0
		img.Walk(func(string, *File) error { n++; return nil })
		if n < 3 {
			t.Errorf("%s: %d entries", f, n)
		}
	}
}
