package store

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestOpenCreatesLayout(t *testing.T) {
	root := filepath.Join(t.TempDir(), "RemoteInstall")
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"Images", "Boot/x64/Images", "Boot/x86/Images", "Boot/arm64/Images", "WdsConsole/catalog.db"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("missing %s: %v", p, err)
		}
	}
	if v, err := s.CatalogVersion(); err != nil || v != CatalogVersion {
		t.Fatalf("catalog version = %d, %v; want %d", v, err, CatalogVersion)
	}
	groups, err := s.Groups()
	if err != nil || len(groups) != 0 {
		t.Fatalf("new store groups = %v, %v; want none", groups, err)
	}
	archs, _ := s.Archs()
	if len(archs) != 3 {
		t.Fatalf("archs = %v", archs)
	}
	// Opening again keeps what is there.
	if err := os.MkdirAll(filepath.Join(root, "Images", "zeta"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "Images", "Alpha"), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err = Open(root)
	if err != nil {
		t.Fatal(err)
	}
	groups, _ = s.Groups()
	if len(groups) != 2 || groups[0] != "Alpha" || groups[1] != "zeta" {
		t.Fatalf("groups = %v, want [Alpha zeta]", groups)
	}
}

func TestOpenRejectsFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(f); err == nil {
		t.Fatal("Open of a regular file succeeded")
	}
}

func TestDefaultRootXDG(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("XDG applies to Linux and the BSDs")
	}
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	got, err := DefaultRoot()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "WIMConsole", "RemoteInstall"); got != want {
		t.Fatalf("DefaultRoot = %s, want %s", got, want)
	}
}
