package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestServiceCommands drives servicing from the command line and checks the
// committed images with wimlib-imagex.
func TestServiceCommands(t *testing.T) {
	oracle.Wimlib(t)
	st := filepath.Join(t.TempDir(), "RemoteInstall")
	tree := t.TempDir()
	os.MkdirAll(filepath.Join(tree, "Windows", "System32"), 0o755)
	os.WriteFile(filepath.Join(tree, "Windows", "System32", "a.dll"), []byte(strings.Repeat("dll\n", 1000)), 0o644)
	os.WriteFile(filepath.Join(tree, "readme.txt"), []byte("readme\n"), 0o644)
	src := filepath.Join(t.TempDir(), "install.wim")
	oracle.Run(t, "capture", tree, src, "One")
	do := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := run(t, append([]string{"--store", st}, args...)...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		}
		return out + errOut
	}
	do(0, "add-image", src, "--group", "G")
	do(1, "service", "begin", "G/install") // enabled
	do(0, "set-image", "G/install", "--enabled", "no")
	do(0, "service", "begin", "G/install")
	newf := filepath.Join(t.TempDir(), "new.txt")
	os.WriteFile(newf, []byte("new\n"), 0o644)
	do(0, "service", "add", "G/install", newf, `\Tools\new.txt`)
	do(0, "service", "rename", "G/install", `\readme.txt`, "README.md")
	do(1, "service", "delete", "G/install", `\nothing`)
	do(1, "service", "add", "G/install", newf, `\..\x`)
	out := do(0, "service", "status", "G/install")
	if !strings.Contains(out, "add /Tools/new.txt") || !strings.Contains(out, "rename /readme.txt -> /README.md") {
		t.Fatalf("status:\n%s", out)
	}
	do(0, "service", "commit", "G/install")
	apply := func(file string) string {
		dir := filepath.Join(t.TempDir(), "out")
		oracle.Run(t, "apply", filepath.Join(st, "Images", "G", file), "1", dir, "--ref="+filepath.Join(st, "Images", "G", "Res.rwm"))
		return dir
	}
	dir := apply("install.wim")
	if b, err := os.ReadFile(filepath.Join(dir, "Tools", "new.txt")); err != nil || string(b) != "new\n" {
		t.Fatalf("new.txt: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		t.Fatal(err)
	}

	mnt := filepath.Join(t.TempDir(), "mnt")
	do(0, "mount", "G/install", mnt)
	os.WriteFile(filepath.Join(mnt, "added.txt"), []byte("added\n"), 0o644)
	do(2, "unmount", mnt)
	out = do(0, "unmount", mnt, "--commit", "--new-image", "serviced")
	if !strings.Contains(out, "1 file read") {
		t.Fatalf("unmount:\n%s", out)
	}
	if b, err := os.ReadFile(filepath.Join(apply("serviced.wim"), "added.txt")); err != nil || string(b) != "added\n" {
		t.Fatalf("added.txt: %q %v", b, err)
	}
	out = do(0, "find", "G", "*.txt")
	if strings.Count(out, "new.txt") != 2 || strings.Count(out, "added.txt") != 1 {
		t.Fatalf("find:\n%s", out)
	}
	do(1, "add-driver", "G/install", t.TempDir())
	do(0, "add-driver", "G/install", filepath.Join("..", "..", "engine", "servicing", "inf", "testdata", "inf", "good"), "--name", "contoso", "--arch", "amd64")
	do(0, "unattend", "validate", "G/install")
	out = do(0, "unattend", "show", "G/install")
	if !strings.Contains(out, `C:\Drivers\contoso`) {
		t.Fatalf("unattend show:\n%s", out)
	}
	do(0, "unattend", "remove", "G/install")
	do(1, "unattend", "show", "G/install")
	// set refuses a file that is not an unattend document, and sets a good one.
	bad := filepath.Join(t.TempDir(), "bad.xml")
	os.WriteFile(bad, []byte(`<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="bogus"/></unattend>`), 0o644)
	do(1, "unattend", "set", "G/install", bad)
	do(1, "unattend", "show", "G/install")
	good := filepath.Join(t.TempDir(), "good.xml")
	os.WriteFile(good, []byte(`<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="oobeSystem"/></unattend>`), 0o644)
	do(0, "unattend", "set", "G/install", good)
	if out = do(0, "unattend", "show", "G/install"); !strings.Contains(out, "oobeSystem") {
		t.Fatalf("unattend show after set:\n%s", out)
	}
	do(0, "verify-store")
}
