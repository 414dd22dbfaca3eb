package procio

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestCounts: writing and reading back a file of n bytes grows the counts
// by at least n each.
func TestCounts(t *testing.T) {
	for _, n := range []int{1, 1 << 20} {
		r0, w0, err := Counts()
		if errors.Is(err, ErrNotCounted) {
			t.Skip(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(name, make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := os.ReadFile(name); err != nil {
			t.Fatal(err)
		}
		r1, w1, err := Counts()
		if err != nil {
			t.Fatal(err)
		}
		if r1-r0 < int64(n) || w1-w0 < int64(n) {
			t.Errorf("%d bytes written and read back: counts grew by %d read, %d written", n, r1-r0, w1-w0)
		}
	}
}
