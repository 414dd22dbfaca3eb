package wim

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestCopyFileRange checks the kernel copy used for resources copied as
// stored: the bytes land at the writer's position, and a source shorter
// than asked stops the copy early (the caller's read then reports it).
func TestCopyFileRange(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 3<<20+123)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	srcName := filepath.Join(dir, "src")
	if err := os.WriteFile(srcName, data, 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(srcName)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(filepath.Join(dir, "dst"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()

	o := &outBuf{f: dst}
	o.write([]byte("head"))
	o.flush()
	if n := o.copyFrom(src, 1000, 2<<20); n != 2<<20 {
		t.Fatalf("copied %d bytes, want %d", n, 2<<20)
	}
	if o.pos() != 4+2<<20 {
		t.Fatalf("position %d after the copy, want %d", o.pos(), 4+2<<20)
	}
	// Past the end of the source: only what is there.
	rest := int64(len(data)) - (3 << 20)
	if n := o.copyFrom(src, 3<<20, 1<<20); n != rest {
		t.Fatalf("copied %d bytes from a short source, want %d", n, rest)
	}
	got, err := os.ReadFile(dst.Name())
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte("head"), data[1000:1000+2<<20]...)
	want = append(want, data[3<<20:]...)
	if !bytes.Equal(got, want) {
		t.Fatalf("destination holds %d bytes that differ from the %d expected", len(got), len(want))
	}
}
