package wim

import (
	"context"
	"fmt"
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
