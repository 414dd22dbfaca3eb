package wim

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// solidCodecs returns the codec and chunk size of every solid resource of
// file, failing if a file blob is not in one.
func solidCodecs(t *testing.T, file string) []string {
	t.Helper()
	w, err := Open(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.Header().Version != VersionSolid {
		t.Errorf("%s: version 0x%x, want 0x%x", file, w.Header().Version, VersionSolid)
	}
	for _, e := range w.Blobs() {
		if !e.IsMetadata() && (e.Solid == nil || e.Res.Flags&ResSolid == 0) {
			t.Errorf("%s: blob %s is not in a solid resource (flags 0x%x)", file, e.Hash, e.Res.Flags)
		}
	}
	var out []string
	for _, s := range w.solidResources() {
		if s.Res.Flags&ResSolid == 0 {
			t.Errorf("%s: solid resource at 0x%x without the solid flag", file, s.Res.Offset)
		}
		out = append(out, fmt.Sprintf("%v/%d", s.Compression, s.ChunkSize))
	}
	if len(out) == 0 {
		t.Errorf("%s: no solid resources", file)
	}
	return slices.Compact(out)
}

// TestRebuildSolidStaysSolid optimizes ESD files (wimlib's and ours) and
// deletes an image from them with a rebuild: the result keeps its data in
// solid resources of the same codec and chunk size (and optimize in the
// same order), and wimlib-imagex
// verify, apply and 7z t pass on it.
func TestRebuildSolidStaysSolid(t *testing.T) {
	oracle.Wimlib(t)
	a, b := wtSampleTree(t, 21), wtSampleTree(t, 22)
	solidAddFile(t, b, "only-in-b.txt", strings.Repeat("bee ", 30000))
	ctx := context.Background()
	cases := []struct {
		name string
		make func(t *testing.T, file string)
	}{
		{"wimlib-lzms", func(t *testing.T, file string) {
			oracle.Run(t, "capture", a, file, "img1", "--solid")
			oracle.Run(t, "append", b, file, "img2", "--solid")
		}},
		{"ours-lzms", func(t *testing.T, file string) {
			writeTwoImages(t, file, WriteOptions{Compression: LZMS, Solid: true, SolidCompression: LZMS, SolidChunkSize: 1 << 16}, a, b)
		}},
		{"ours-xpress", func(t *testing.T, file string) {
			writeTwoImages(t, file, WriteOptions{Compression: XPRESS, Solid: true, SolidCompression: XPRESS, SolidChunkSize: 1 << 14}, a, b)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "x.esd")
			tc.make(t, file)
			codecs := solidCodecs(t, file)
			order := solidOrder(t, file)

			if err := Optimize(ctx, file, OptimizeOptions{}); err != nil {
				t.Fatalf("optimize: %v", err)
			}
			if got := solidCodecs(t, file); !slices.Equal(got, codecs) {
				t.Errorf("optimize: solid resources %v, were %v", got, codecs)
			}
			if got := solidOrder(t, file); !slices.Equal(got, order) {
				t.Errorf("optimize: solid order %q, was %q (blobs in solid resources keep theirs)", got, order)
			}
			wtCheckWimlib(t, file, nil, a, b)
			solidCheck7z(t, file)
			solidCheckRefs(t, file)

			if err := DeleteImage(ctx, file, 1, false); err != nil {
				t.Fatalf("delete: %v", err)
			}
			if got := solidCodecs(t, file); !slices.Equal(got, codecs) {
				t.Errorf("delete: solid resources %v, were %v", got, codecs)
			}
			wtCheckWimlib(t, file, nil, b)
			wtCheckOurs(t, file, nil, b)
			solidCheck7z(t, file)
			solidCheckRefs(t, file)
		})
	}
}

// solidStored returns the stored bytes of every solid resource of file.
func solidStored(t *testing.T, file string) [][]byte {
	t.Helper()
	w, err := Open(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var out [][]byte
	for _, s := range w.solidResources() {
		b := make([]byte, s.Res.StoredSize)
		if _, err := w.ra.ReadAt(b, s.Res.Offset); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// TestSolidRawCopy: an optimize or export of an ESD into solid resources
// of the same codec and chunk size copies each source solid resource as
// stored when its blobs to copy make up at least two thirds of its data
// (as wimlib decides), rather than compressing them again; with less, or
// --recompress, or another codec, the blobs are compressed again. Every
// result passes wimlib-imagex verify and apply, 7z t, and our reference
// count check.
func TestSolidRawCopy(t *testing.T) {
	oracle.Wimlib(t)
	a, b := wtSampleTree(t, 61), wtSampleTree(t, 62)
	solidAddFile(t, b, "only-in-b.txt", strings.Repeat("bee ", 30000))
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.esd")
	// Two solid resources, one per image (wimlib's layout after an append).
	oracle.Run(t, "capture", a, src, "img1", "--solid")
	oracle.Run(t, "append", b, src, "img2", "--solid")
	orig := solidStored(t, src)
	if len(orig) != 2 {
		t.Fatalf("wimlib wrote %d solid resources, want 2", len(orig))
	}
	same := func(got [][]byte) int {
		n := 0
		for _, g := range got {
			for _, o := range orig {
				if bytes.Equal(g, o) {
					n++
				}
			}
		}
		return n
	}
	lzms := func(o ExportOptions) ExportOptions {
		o.Solid, o.SolidCompression = true, LZMS
		return o
	}
	for _, tc := range []struct {
		name   string
		images []int
		opts   ExportOptions
		raw    int // source resources copied as stored
		trees  []string
	}{
		{"all", []int{1, 2}, lzms(ExportOptions{}), 2, []string{a, b}},
		// Image 2 alone uses its own resource whole, and little of
		// image 1's (only-in-b.txt is in image 2's).
		{"image-2", []int{2}, lzms(ExportOptions{}), 1, []string{b}},
		{"recompress", []int{1, 2}, lzms(ExportOptions{Recompress: true}), 0, []string{a, b}},
		{"other-codec", []int{1, 2}, ExportOptions{Solid: true, SolidCompression: XPRESS}, 0, []string{a, b}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := imgOpenW(t, src)
			dest := filepath.Join(t.TempDir(), "x.esd")
			if _, err := Export(ctx, w, tc.images, dest, tc.opts); err != nil {
				t.Fatal(err)
			}
			if got := same(solidStored(t, dest)); got != tc.raw {
				t.Errorf("%d source solid resources copied as stored, want %d", got, tc.raw)
			}
			wtCheckWimlib(t, dest, nil, tc.trees...)
			wtCheckOurs(t, dest, nil, tc.trees...)
			solidCheck7z(t, dest)
			solidCheckRefs(t, dest)
		})
	}
	t.Run("optimize", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "x.esd")
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := Optimize(ctx, file, OptimizeOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := same(solidStored(t, file)); got != 2 {
			t.Errorf("optimize: %d source solid resources copied as stored, want 2", got)
		}
		wtCheckWimlib(t, file, nil, a, b)
		solidCheck7z(t, file)
		solidCheckRefs(t, file)
	})
}
