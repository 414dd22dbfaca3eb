package libwim

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TreeChunks reads every every-th file of tree ($WIMBENCH_EVERY when set)
// and cuts each into chunks of up to size bytes, as the WIM writer cuts
// files (empty files give none). It needs no libwim (no build tag): the
// encoder-alone benchmarks that compare two builds of ours read the same
// chunks.
func TreeChunks(b *testing.B, tree string, size, every int) [][]byte {
	b.Helper()
	if v := os.Getenv("WIMBENCH_EVERY"); v != "" {
		if _, err := fmt.Sscan(v, &every); err != nil || every < 1 {
			b.Fatalf("WIMBENCH_EVERY=%q: want a positive number", v)
		}
	}
	var out [][]byte
	k := 0
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		if k++; k%every != 0 {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for len(data) > 0 {
			n := min(size, len(data))
			out = append(out, data[:n])
			data = data[n:]
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if len(out) == 0 {
		b.Fatalf("%s: no files", tree)
	}
	return out
}
