//go:build linux

package wim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestApplySolidChunksOnce: applying an image whose blobs are in a solid
// resource of several chunks decompresses each chunk once, symbolic links
// included: their reparse data (in the first chunk here) is read in the
// data pass, not after it, when the chunk cache has moved on (an ESD of
// tree A decompressed its first 64 MiB chunk again for it).
func TestApplySolidChunksOnce(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 24 {
		p := filepath.Join(src, fmt.Sprintf("d%d/f%02d", i%3, i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		data := make([]byte, 200<<10) // incompressible: 24 files fill 5 chunks
		for k := range data {
			data[k] = byte(r.Uint32())
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if i%4 == 0 {
			if err := os.Symlink(fmt.Sprintf("f%02d", i), filepath.Join(src, fmt.Sprintf("d%d/l%02d", i%3, i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	file := filepath.Join(t.TempDir(), "solid.wim")
	imgCapture(t, src, file, "--solid", "--solid-chunk-size=1048576")
	w := imgOpen(t, file)
	img, err := w.Image(1)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "out")
	st, err := w.ApplyImage(context.Background(), img, dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Symlinks != 6 || st.Files != 24 {
		t.Fatalf("applied %d files and %d links, want 24 and 6", st.Files, st.Symlinks)
	}
	if got, err := os.Readlink(filepath.Join(dst, "d0/l00")); err != nil || got != "f00" {
		t.Errorf("d0/l00 -> %q (%v), want f00", got, err)
	}
	w.cache.decMu.Lock()
	fills := w.cache.fills
	w.cache.decMu.Unlock()
	if fills != 5 {
		t.Errorf("%d solid chunks decompressed for 5 chunks", fills)
	}
}
