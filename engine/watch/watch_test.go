package watch

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func waitFor(t *testing.T, w *Watcher, want string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := time.After(within)
	for {
		select {
		case ev := <-w.Events():
			if slices.Contains(ev.Paths, want) {
				return time.Since(start)
			}
		case err := <-w.Errors():
			t.Fatal(err)
		case <-deadline:
			t.Fatalf("no event for %s within %v", want, within)
		}
	}
}

func TestEventsWithinASecond(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "Images", "G1"), 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := New(root, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	tests := []struct {
		name string
		do   func() error
		want string
	}{
		{"file in existing group", func() error {
			return os.WriteFile(filepath.Join(root, "Images", "G1", "a.wim"), []byte("x"), 0o644)
		}, "Images/G1/a.wim"},
		{"new group folder", func() error {
			return os.Mkdir(filepath.Join(root, "Images", "G2"), 0o755)
		}, "Images/G2"},
		{"file in the new group", func() error {
			time.Sleep(50 * time.Millisecond) // let the watch on G2 be added
			return os.WriteFile(filepath.Join(root, "Images", "G2", "b.wim"), []byte("x"), 0o644)
		}, "Images/G2/b.wim"},
		{"removal", func() error {
			return os.Remove(filepath.Join(root, "Images", "G1", "a.wim"))
		}, "Images/G1/a.wim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); err != nil {
				t.Fatal(err)
			}
			d := waitFor(t, w, tt.want, time.Second)
			t.Logf("event after %v", d)
		})
	}
}

func TestBurstIsOneEvent(t *testing.T) {
	root := t.TempDir()
	w, err := New(root, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := 0; i < 20; i++ {
		if err := os.WriteFile(filepath.Join(root, "f"), []byte{byte(i)}, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case ev := <-w.Events():
		if !slices.Equal(ev.Paths, []string{"f"}) {
			t.Fatalf("paths %v", ev.Paths)
		}
	case <-time.After(time.Second):
		t.Fatal("no event")
	}
	select {
	case ev := <-w.Events():
		t.Fatalf("second event %v for one burst", ev)
	case <-time.After(300 * time.Millisecond):
	}
}

func TestMissingRoot(t *testing.T) {
	if _, err := New(filepath.Join(t.TempDir(), "nope"), 0); err == nil {
		t.Fatal("watching a missing folder succeeded")
	}
}

func TestCloseClosesEvents(t *testing.T) {
	w, err := New(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-w.Events(); ok {
		t.Fatal("events not closed")
	}
	if err := w.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}
