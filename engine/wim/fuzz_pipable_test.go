package wim

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
	"github.com/wimconsole/wimconsole/internal/testtree"
)

// pipableSeed is a small pipable WIM written by wimlib (LZX, a file of
// several chunks, links, an empty folder): a FuzzOpen seed like the others
// in openSeedDir, and the seed of FuzzOpenPipe.
var pipableSeed = filepath.Join(openSeedDir, "pipable.wim")

// TestUpdatePipableSeed rewrites pipableSeed (go test -run
// TestUpdatePipableSeed -update-open-seeds).
func TestUpdatePipableSeed(t *testing.T) {
	if !*updateOpenSeeds {
		t.Skip("use -update-open-seeds")
	}
	oracle.Wimlib(t)
	src := filepath.Join(t.TempDir(), "pipable")
	testtree.Write(t, src, map[string]string{
		"a.txt": "hello, world\n", "d/b.txt": "bee\n",
		"big.txt": strings.Repeat("a line of text that repeats, in chunks\n", 3000),
	})
	for _, err := range []error{
		os.Link(filepath.Join(src, "a.txt"), filepath.Join(src, "d", "hard.txt")),
		os.Symlink("a.txt", filepath.Join(src, "rel-link")),
		os.Mkdir(filepath.Join(src, "empty"), 0o755),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	os.Remove(pipableSeed)
	imgCapture(t, src, pipableSeed, "Pipable", "--pipable", "--compress=lzx")
}

// TestPipableSeed reads the checked-in pipable WIM from the file and from a
// pipe.
func TestPipableSeed(t *testing.T) {
	w := imgOpenW(t, pipableSeed)
	if !w.Pipable() || w.Header().Compression() != LZX {
		t.Fatalf("header %+v", w.Header())
	}
	if err := w.Verify(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	fromFile := filepath.Join(t.TempDir(), "file")
	if err := w.Apply(context.Background(), 1, fromFile, nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(pipableSeed)
	if err != nil {
		t.Fatal(err)
	}
	fromPipe := filepath.Join(t.TempDir(), "pipe")
	if _, err := pipeApply(t, b, 1, fromPipe); err != nil {
		t.Fatal(err)
	}
	wtSameTree(t, fromFile, fromPipe)
	if got, err := os.ReadFile(filepath.Join(fromPipe, "big.txt")); err != nil || len(got) != 3000*39 {
		t.Fatalf("big.txt: %d bytes, %v", len(got), err)
	}
}

// FuzzOpenPipe reads fuzzed pipable WIMs from a pipe and applies their
// first image: no input may panic or hang.
func FuzzOpenPipe(f *testing.F) {
	b, err := os.ReadFile(pipableSeed)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		limitChunks(t)
		w, err := OpenPipe(struct{ io.Reader }{bytes.NewReader(data)}, "fuzz")
		if err != nil {
			return
		}
		if w.ImageCount() > 0 {
			w.ApplyPipe(context.Background(), 1, filepath.Join(t.TempDir(), "out"), nil)
		}
	})
}
