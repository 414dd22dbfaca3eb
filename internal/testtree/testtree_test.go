package testtree

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "tree")
	got := Write(t, dir, map[string]string{"a.txt": "alpha", "sub/deep/b": "bravo", "empty": ""})
	if got != dir {
		t.Fatalf("Write returned %q, want %q", got, dir)
	}
	for name, want := range map[string]string{"a.txt": "alpha", "sub/deep/b": "bravo", "empty": ""} {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil || string(b) != want {
			t.Errorf("%s: %q, %v; want %q", name, b, err, want)
		}
	}
	// No files: the folder alone.
	empty := Write(t, filepath.Join(t.TempDir(), "none"), map[string][]byte{})
	if fi, err := os.Stat(empty); err != nil || !fi.IsDir() {
		t.Errorf("empty tree: %v", err)
	}
}
