package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestAddSyncsItsFiles: an add-image of one image syncs what it wrote one
// by one, not the whole file system: the image file, its unattend file,
// every folder they are in, the group's folder and Images (which holds a
// new group's hidden folder), into an existing group and a new one.
func TestAddSyncsItsFiles(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	s := openStore(t)
	if _, err := s.AddImage(ctx, captureWIM(t, "lzx", writeTree(t, baseTree("A"))), AddOptions{Group: "G"}); err != nil {
		t.Fatal(err)
	}
	unattend := filepath.Join(t.TempDir(), "unattend.xml")
	if err := os.WriteFile(unattend, []byte(`<?xml version="1.0"?><unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="windowsPE"/></unattend>`), 0o644); err != nil {
		t.Fatal(err)
	}
	src := captureWIM(t, "lzx", writeTree(t, baseTree("B")))
	old := syncPath
	defer func() { syncPath = old }()
	for _, g := range []string{"G", "H"} {
		var synced []string
		syncPath = func(name string) error {
			synced = append(synced, name)
			return old(name)
		}
		if _, err := s.AddImage(ctx, src, AddOptions{Group: g, FileName: "new", Name: "New " + g, Unattend: unattend}); err != nil {
			t.Fatal(err)
		}
		syncPath = old
		// Where the files were written: the group's folder, or a new
		// group's hidden folder in Images.
		var dir string
		for _, p := range synced {
			if strings.HasSuffix(p, "new.wim") {
				dir = filepath.Dir(p)
			}
		}
		if dir == "" {
			t.Fatalf("into %s: the image file was not synced: %q", g, synced)
		}
		if g == "G" && dir != s.GroupDir("G") || g == "H" && filepath.Dir(dir) != filepath.Join(s.Root(), ImagesDir) {
			t.Fatalf("into %s: the image file was synced in %s", g, dir)
		}
		want := []string{
			filepath.Join(dir, "new", "Unattend", unattendFile),
			filepath.Join(dir, "new", "Unattend"),
			filepath.Join(dir, "new"),
			dir,
			filepath.Join(s.Root(), ImagesDir),
		}
		for _, w := range want {
			found := false
			for _, p := range synced {
				found = found || p == w
			}
			if !found {
				t.Errorf("into %s: %s was not synced (synced: %q)", g, w, synced)
			}
		}
	}
	mustVerify(t, s)
}
