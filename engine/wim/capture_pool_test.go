package wim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestCaptureSmallFilesPooled (issue 20): a small file is read into a
// pooled piece that the writer queues as it is, and its compressed chunk
// goes into a pooled piece too, so that capturing small files allocates
// far less than their bytes (it allocated each file's bytes twice and
// a compressed copy: 667 MB for tree A's 418 MB). The image must hold the
// same data: a buffer handed back to the pool while still queued would
// show as another file's bytes.
func TestCaptureSmallFilesPooled(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tree")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"alpha ", "beta ", "gamma ", "delta ", "epsilon ", "zeta "}
	content := func(n int) []byte {
		b := make([]byte, 0, n+16)
		for len(b) < n {
			b = append(b, words[rng.IntN(len(words))]...)
			b = append(b, byte('0'+rng.IntN(10)))
		}
		return b[:n]
	}
	const files = 600
	mt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var bytes int64
	for i := range files {
		var data []byte
		switch {
		case i%6 == 5:
			// A duplicate of the file before it: read, hashed and dropped.
			prev, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("f%04d", i-1)))
			if err != nil {
				t.Fatal(err)
			}
			data = prev
		case i == 7:
			data = content(32768) // exactly one chunk
		case i == 8:
			data = content(32769) // one byte into a second chunk
		default:
			data = content(8<<10 + rng.IntN(16<<10))
		}
		bytes += int64(len(data))
		p := filepath.Join(dir, fmt.Sprintf("f%04d", i))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mt, mt); err != nil { // a time an image holds exactly
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(dir, mt, mt); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "c.wim")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := Capture(context.Background(), dir, file, CaptureOptions{Name: "T", Compression: XPRESS}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	// What is left: per file its entry, names, paths and the pipeline's
	// task (1-2 KiB), and once the writer, its compressors and the pools'
	// first pieces (6 MB in all here); before, more than twice the files'
	// bytes.
	// (Not under the race detector: sync.Pool then drops what it is
	// given at random; see raceEnabled.)
	if alloc := int64(after.TotalAlloc - before.TotalAlloc); alloc > bytes && !raceEnabled {
		t.Errorf("capture of %d files (%d bytes) allocated %d bytes: more than their size", files, bytes, alloc)
	}
	wtCheckOurs(t, file, nil, dir)
}

// TestPieceBufferClasses: a pipeline buffer is a pooled power of two at or
// above its length, 4 KiB at least and a piece at most, so that a short
// piece neither holds a whole piece nor misses the pools (putBuffer keeps
// power-of-two capacities of 4 KiB and more only).
func TestPieceBufferClasses(t *testing.T) {
	for _, c := range []struct{ piece, n, cap int }{
		{32768, 1, 4096}, {32768, 4096, 4096}, {32768, 4097, 8192}, {32768, 20000, 32768},
		{32768, 32767, 32768}, {32768, 32768, 32768}, {262144, 5000, 8192}, {262144, 262144, 262144},
		{2048, 100, 2048}, // a piece below the pools' least size
	} {
		w := &Writer{piece: c.piece}
		b := w.pieceBuffer(c.n)
		if len(b) != c.n || cap(b) != c.cap {
			t.Errorf("piece %d: pieceBuffer(%d) has length %d, capacity %d; want capacity %d", c.piece, c.n, len(b), cap(b), c.cap)
		}
		putBuffer(b)
	}
}
