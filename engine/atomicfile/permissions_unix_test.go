//go:build !windows

package atomicfile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestPermissions: the file has perm less the umask, as os.WriteFile
// gives, whichever way it was written.
func TestPermissions(t *testing.T) {
	for _, c := range []struct {
		umask      int
		perm, want os.FileMode
	}{
		{0o022, 0o600, 0o600},
		{0o022, 0o644, 0o644},
		{0o022, 0o640, 0o640},
		{0o077, 0o644, 0o600},
		{0o000, 0o666, 0o666},
	} {
		old := syscall.Umask(c.umask)
		dir := t.TempDir()
		name := filepath.Join(dir, "f")
		os.WriteFile(name, nil, 0o777) // replacing a file does not keep its mode
		err := WriteFile(name, []byte("x"), c.perm)
		syscall.Umask(old)
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != c.want {
			t.Errorf("WriteFile with %v under umask %03o made %v, want %v", c.perm, c.umask, st.Mode().Perm(), c.want)
		}
	}
}
