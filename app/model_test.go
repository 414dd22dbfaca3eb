package app

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestModelTree(t *testing.T) {
	root := filepath.Join(t.TempDir(), "RemoteInstall")
	srv, err := LocalServer(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "Images", "Win11"), 0o755); err != nil {
		t.Fatal(err)
	}
	m := NewModel(srv)
	roots := m.Children("")
	if len(roots) != 1 {
		t.Fatalf("roots %v", roots)
	}
	kids := m.Children(roots[0])
	if len(kids) != 2 {
		t.Fatalf("server children %v", kids)
	}
	want := []string{"Install Images", "Boot Images"}
	for i, k := range kids {
		n, _ := m.Node(k)
		if n.Label != want[i] {
			t.Errorf("child %d = %q, want %q", i, n.Label, want[i])
		}
	}
	groups := m.Children(kids[0])
	if len(groups) != 1 {
		t.Fatalf("groups %v", groups)
	}
	if n, _ := m.Node(groups[0]); n.Kind != KindGroup || n.Name != "Win11" {
		t.Fatalf("group node %+v", n)
	}
	if archs := m.Children(kids[1]); len(archs) != 3 {
		t.Fatalf("boot archs %v", archs)
	}
}

func TestModelWatch(t *testing.T) {
	root := filepath.Join(t.TempDir(), "RemoteInstall")
	srv, err := LocalServer(root)
	if err != nil {
		t.Fatal(err)
	}
	m := NewModel(srv)
	changed := make(chan error, 10)
	stop, err := m.Watch(func(err error) { changed <- err })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if err := os.Mkdir(filepath.Join(root, "Images", "Lab"), 0o755); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-changed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Second):
		t.Fatal("no change within a second")
	}
	install := m.Children(m.Children("")[0])[0]
	if g := m.Children(install); len(g) != 1 {
		t.Fatalf("groups after watch: %v", g)
	}
}
