package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/store/storetest"
)

// TestNodeStatus: the status bar counts what the selection holds, the
// disabled images and the group's size, and the selection in its list.
func TestNodeStatus(t *testing.T) {
	root := filepath.Join(t.TempDir(), "RemoteInstall")
	srv, err := LocalServer(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	refs, err := storeOf(srv).AddImage(ctx, storetest.VariantsWIM(t, "A", "B", "C"), store.AddOptions{Group: "Lab"})
	if err != nil {
		t.Fatal(err)
	}
	off := false
	if err := storeOf(srv).SetImage(ctx, refs[1], store.SetOptions{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	m := NewModel(srv)
	gi, err := storeOf(srv).GroupInfos()
	if err != nil || len(gi) != 1 {
		t.Fatalf("group infos %v, %v", gi, err)
	}
	res := FormatBytes(gi[0].ResBytes)
	img, _ := m.Node(ImageID(srv, refs[1]))
	for _, tc := range []struct {
		id            string
		selected, all int
		want          string
	}{
		{GroupID(srv, "Lab"), 0, 0, "Lab: 3 images, 1 offline, " + res},
		{GroupID(srv, "Lab"), 2, 3, "Lab: 2 of 3 selected"},
		{InstallID(srv), 0, 0, "Install Images: 1 image group, 3 images, 1 offline, " + res},
		{BootID(srv), 0, 0, "Boot Images: 3 architectures, 0 images"},
		{serverID(srv), 0, 0, srv.Name + " (" + root + "): 1 image group, 3 install images, 1 offline, 0 boot images"},
		{ImageID(srv, refs[1]), 0, 0, "Lab: 1 of 3 selected – " + img.Label + ", Offline"},
	} {
		if got := m.SelectionStatus(tc.id, tc.selected, tc.all); got != tc.want {
			t.Errorf("status of %s (%d of %d selected) = %q, want %q", tc.id, tc.selected, tc.all, got, tc.want)
		}
	}
	if got := m.SelectionStatus("nothing", 0, 0); !strings.Contains(got, root) {
		t.Errorf("status of no selection %q does not name the store", got)
	}
}

func TestInspectStoreFolder(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	if _, err := LocalServer(store); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	other := filepath.Join(dir, "other")
	file := filepath.Join(dir, "file")
	for _, d := range []string{empty, other} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(other, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		root    string
		want    FolderKind
		wantErr string
	}{
		{store, FolderStore, ""},
		{empty, FolderNew, ""},
		{filepath.Join(dir, "missing"), FolderNew, ""},
		{other, FolderOther, ""},
		{file, 0, "not a folder"},
	} {
		got, err := InspectStoreFolder(tc.root)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("InspectStoreFolder(%s) = %v, %v; want an error saying %q", tc.root, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("InspectStoreFolder(%s) = %v, %v; want %v", tc.root, got, err, tc.want)
		}
	}
}

func TestSetLocalServer(t *testing.T) {
	a, err := LocalServer(filepath.Join(t.TempDir(), "a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(a.Root(), "Images", "OnlyInA"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := LocalServer(filepath.Join(t.TempDir(), "b"))
	if err != nil {
		t.Fatal(err)
	}
	m := NewModel(a)
	if g := m.Groups(a); len(g) != 1 {
		t.Fatalf("groups of a: %v", g)
	}
	if old := m.SetLocalServer(b); old != a {
		t.Fatalf("SetLocalServer replaced %v, want a", old)
	}
	if s := m.Servers(); len(s) != 1 || s[0] != b {
		t.Fatalf("servers after the switch: %v", s)
	}
	if g := m.Groups(b); len(g) != 0 {
		t.Fatalf("the tree still shows a's groups: %v", g)
	}
}
