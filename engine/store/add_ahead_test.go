package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// unusedBlobWIM writes a WIM holding image 1 of src and, unused by it but
// counted as used (reference count 1), the data of image 1 of other: a
// source whose blob table gives more than its image needs.
func unusedBlobWIM(t *testing.T, src, other string) string {
	t.Helper()
	ctx := context.Background()
	sw, err := wim.Open(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	ow, err := wim.Open(other, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ow.Close()
	img, err := sw.Image(1)
	if err != nil {
		t.Fatal(err)
	}
	oimg, err := ow.Image(1)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "unused.wim")
	w, err := wim.Create(out, wim.WriteOptions{Compression: wim.LZX})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.CopyBlobsOf(ctx, sw, img); err != nil {
		t.Fatal(err)
	}
	if err := w.CopyBlobsOf(ctx, ow, oimg); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddImageFrom(ctx, sw, 1, img, *sw.XML().Image(1)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAddCopyAhead: an add-image of a one-image source into an existing
// group copies the source's data while the image's metadata is read
// (copyAhead), and Res.rwm grows to the byte as when it copies what the
// image uses once it is read; a source whose blob table gives data the
// image does not use has the early copy dropped (Res.rwm as it was, then
// the usual copy), so that Res.rwm again grows to the byte alike, without
// that data. With and without the check of the source's data.
func TestAddCopyAhead(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	a, b, c := baseTree("A"), baseTree("B"), baseTree("C")
	b["extra/more.txt"] = "extra data of B"
	c["extra/other.txt"] = "data of C that B does not have"
	first := captureWIM(t, "lzx", writeTree(t, a))
	plain := captureWIM(t, "lzx", writeTree(t, b))
	unused := unusedBlobWIM(t, plain, captureWIM(t, "lzx", writeTree(t, c)))
	// Both adds start from this store, Res.rwm alike to the byte.
	seed := filepath.Join(t.TempDir(), "seed")
	if s, err := Open(seed); err != nil {
		t.Fatal(err)
	} else if _, err := s.AddImage(ctx, first, AddOptions{Group: "G", FileName: "a", SkipVerify: true}); err != nil {
		t.Fatal(err)
	}
	defer func() { testHook = nil }()
	for _, tc := range []struct {
		name, src string
		ahead     string // the step the add must reach
	}{{"one image and its data", plain, "add-copied-ahead"}, {"unused data", unused, "add-copy-ahead-dropped"}} {
		for _, skip := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, skip verify %v", tc.name, skip), func(t *testing.T) {
				var sums [2]string
				for k, ahead := range []bool{false, true} {
					copyAheadOn = ahead
					reached := map[string]bool{}
					testHook = func(step string) { reached[step] = true }
					root := filepath.Join(t.TempDir(), "st")
					if err := os.CopyFS(root, os.DirFS(seed)); err != nil {
						t.Fatal(err)
					}
					s, err := Open(root)
					if err != nil {
						t.Fatal(err)
					}
					refs, err := s.AddImage(ctx, tc.src, AddOptions{Group: "G", FileName: "b", Name: "B", SkipVerify: skip})
					copyAheadOn = true
					if err != nil {
						t.Fatal(err)
					}
					if ahead && !reached[tc.ahead] {
						t.Fatalf("the add did not reach %s (reached %v)", tc.ahead, reached)
					}
					if !ahead && (reached["add-copied-ahead"] || reached["add-copy-ahead-dropped"]) {
						t.Fatalf("the add copied ahead though told not to (reached %v)", reached)
					}
					sums[k] = fileSum(t, s.ResPath("G"))
					oracleApply(t, s, refs[0], b)
					mustVerify(t, s)
				}
				if sums[0] != sums[1] {
					t.Fatalf("Res.rwm is %s copied ahead, %s not", sums[1], sums[0])
				}
			})
		}
	}
}
