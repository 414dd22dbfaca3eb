package storetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// ReadOnlyMount mounts an empty tmpfs at a new folder and returns the
// folder and seal, which remounts it read-only: a store made there can then
// be read but not written, also by root (whom file modes do not stop). The
// mount goes when the test ends. Mounting needs root on Linux: without it
// the test is skipped, or fails when oracle tests are required
// (WIMCONSOLE_ORACLE).
func ReadOnlyMount(t testing.TB) (dir string, seal func()) {
	t.Helper()
	need := func(why string) {
		t.Helper()
		if oracle.Required() {
			t.Fatalf("a read-only mount is required (%s is set): %s", oracle.EnvRequired, why)
		}
		t.Skipf("no read-only mount: %s; set %s=1 to make this a failure", why, oracle.EnvRequired)
	}
	if runtime.GOOS != "linux" {
		need("mounting is done on Linux only")
	}
	if os.Geteuid() != 0 {
		need("mounting needs root")
	}
	dir = filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", dir).CombinedOutput(); err != nil {
		need("mount -t tmpfs: " + string(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", dir, err, out)
		}
	})
	return dir, func() {
		t.Helper()
		if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
			t.Fatalf("remounting %s read-only: %v\n%s", dir, err, out)
		}
	}
}
