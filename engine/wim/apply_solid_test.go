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
// resource of several chunks reads the reparse data of its symbolic links
// (in the first chunk here) in the data pass, not after it, when the chunk
// cache has moved on (an ESD of tree A decompressed its first 64 MiB chunk
// again for it), and the links come out right.
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
	// The links' data is read in the data pass: a job each, in the
	// order of the stored data. (How many times the chunks are
	// decompressed in all also depends on the workers' timing at chunk
	// boundaries, where one may evict the chunk the other still needs:
	// not a count a test can pin on a busy machine. The bench's
	// apply-esd row and the cache's fills counter show it.)
	pl, err := planApply(img, filepath.Join(t.TempDir(), "plan"))
	if err != nil {
		t.Fatal(err)
	}
	jobs, _ := w.applyJobs(pl)
	links := 0
	for _, j := range jobs {
		if j.link {
			links++
		}
	}
	if links != 6 {
		t.Errorf("%d of the 6 links' reparse data read in the data pass", links)
	}
	w.cache.decMu.Lock()
	fills := w.cache.fills
	w.cache.decMu.Unlock()
	if fills < 5 {
		t.Errorf("%d solid chunks decompressed for 5 chunks", fills)
	}
}
