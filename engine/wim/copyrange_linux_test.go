package wim

import (
	"bytes"
	"context"
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

// TestStartWriteback checks that a writer asked to start its writeback
// hands the disk every byte it writes, in order, in pieces of at least
// writebackStep (buffered writes, direct writes and kernel copies alike,
// and again after a rollback), and that one not asked, or not syncing,
// hands it nothing.
func TestStartWriteback(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, make([]byte, 9<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	sf, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	type span struct{ off, n int64 }
	var got []span
	defer func(f func(*os.File, int64, int64)) { startWriteback = f }(startWriteback)
	startWriteback = func(_ *os.File, off, n int64) { got = append(got, span{off, n}) }

	dst, err := os.Create(filepath.Join(dir, "dst"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	o := &outBuf{f: dst, base: 208, writeback: true}
	small := make([]byte, 3000)
	for range 2000 { // ~6 MB through the buffer
		o.write(small)
	}
	o.flush()
	o.writeDirect(make([]byte, 5<<20))
	if n := o.copyFrom(sf, 0, 9<<20); n != 9<<20 {
		t.Fatalf("copied %d bytes", n)
	}
	cut := o.pos()
	o.write(small) // rolled back, unflushed: never reaches the file
	o.rollback(cut)
	o.writeDirect(make([]byte, 5<<20))
	if o.err != nil {
		t.Fatal(o.err)
	}
	end := o.pos()
	next := int64(208)
	for _, s := range got {
		if s.off != next || s.n < writebackStep {
			t.Fatalf("writeback of %+v after %d: want the next %d bytes or more (all: %+v)", s, next, writebackStep, got)
		}
		next += s.n
	}
	if end-next >= writebackStep {
		t.Errorf("writeback stopped at %d of %d (%+v)", next, end, got)
	}

	// A new file of 9 MiB: writeback starts only with StartWriteback and
	// a sync to come.
	for _, c := range []struct {
		opts WriteOptions
		want bool
	}{
		{WriteOptions{}, false},
		{WriteOptions{StartWriteback: true, NoSync: true}, false},
		{WriteOptions{StartWriteback: true}, true},
	} {
		got = nil
		w, err := Create(filepath.Join(dir, "new.wim"), c.opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.WriteBlob(context.Background(), bytes.NewReader(make([]byte, 9<<20)), 9<<20); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if started := len(got) != 0; started != c.want {
			t.Errorf("%+v: writeback started %v, want %v (%+v)", c.opts, started, c.want, got)
		}
	}
}
