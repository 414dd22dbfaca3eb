// Package testtree writes folder trees for tests: files given as a map from
// slash-separated paths to contents.
package testtree

import (
	"os"
	"path/filepath"
	"testing"
)

// Write creates dir and writes files (slash-separated path -> content)
// under it, with the folders they need; it returns dir. It stops the test
// at the first error.
func Write[D ~string | ~[]byte](t testing.TB, dir string, files map[string]D) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
