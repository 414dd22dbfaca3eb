package store

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/engine/watch"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestWatchDroppedImage drops a WIM into a group folder by hand: the
// watcher reports it and get-all-images lists it within a second.
func TestWatchDroppedImage(t *testing.T) {
	oracle.Wimlib(t)
	s := openStore(t)
	if err := s.AddGroup("G"); err != nil {
		t.Fatal(err)
	}
	src := captureWIM(t, "lzx", writeTree(t, baseTree("W")))
	w, err := watch.New(s.Root(), 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	start := time.Now()
	in, _ := os.Open(src)
	out, _ := os.Create(filepath.Join(s.GroupDir("G"), "dropped.wim"))
	io.Copy(out, in)
	in.Close()
	out.Close()
	deadline := time.After(time.Second)
	for seen := false; !seen; {
		select {
		case ev := <-w.Events():
			for _, p := range ev.Paths {
				if strings.HasSuffix(p, "dropped.wim") {
					seen = true
				}
			}
		case <-deadline:
			t.Fatal("no watcher event within 1s")
		}
	}
	ims, err := s.ListImages(context.Background(), ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ims) != 1 || ims[0].Ref != "G/dropped" || !ims[0].Enabled || ims[0].Name != "Image 1" {
		t.Fatalf("images: %+v", ims)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("took %v", d)
	}
	mustVerify(t, s)
	// Removed by hand: the record goes.
	os.Remove(filepath.Join(s.GroupDir("G"), "dropped.wim"))
	ims, _ = s.ListImages(context.Background(), ListOptions{})
	if len(ims) != 0 {
		t.Fatalf("images after removal by hand: %+v", ims)
	}
	mustVerify(t, s)
}
