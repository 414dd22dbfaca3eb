package wim

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteSolidChunkFiles writes the compressed chunks of the solid
// resources of the WIM or ESD $WIMBENCH_SOLID_FILE into $WIMBENCH_LZMS_DIR
// as files RES-CHUNK-USIZE.lzms, the input of the LZMS package's
// BenchmarkDecompressFiles (the decoder on an ESD's 64 MiB chunks).
// Skipped unless both are set.
func TestWriteSolidChunkFiles(t *testing.T) {
	file, dir := os.Getenv("WIMBENCH_SOLID_FILE"), os.Getenv("WIMBENCH_LZMS_DIR")
	if file == "" || dir == "" {
		t.Skip("WIMBENCH_SOLID_FILE and WIMBENCH_LZMS_DIR not set")
	}
	w, err := Open(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	n := 0
	for si, s := range w.solidResources() {
		if s.Compression != LZMS {
			continue
		}
		r, err := w.solidResource(s, "solid resource")
		if err != nil {
			t.Fatal(err)
		}
		it := r.iter()
		for range r.nchunks {
			c, err := it.nextChunk()
			if err != nil {
				t.Fatal(err)
			}
			if c.csize == c.usize {
				continue // stored raw
			}
			b := make([]byte, c.csize)
			if _, err := w.ra.ReadAt(b, c.fileOff); err != nil {
				t.Fatal(err)
			}
			name := filepath.Join(dir, fmt.Sprintf("%d-%d-%d.lzms", si, c.index, c.usize))
			if err := os.WriteFile(name, b, 0o644); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	t.Logf("%d LZMS chunks written to %s", n, dir)
}
