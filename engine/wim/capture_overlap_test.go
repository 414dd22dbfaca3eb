package wim

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/engine/progress"
)

// TestCaptureWritesWhileScanning (issue 20): small files are read, hashed
// and written while the scan of the tree goes on, instead of after it (the
// compression workers idled through the scan), and the image is the same:
// hard links found after their first name was written, duplicates (each
// content stored once) and large files of shared and unique sizes, checked
// by wimlib-imagex (verify, apply) and our reader.
func TestCaptureWritesWhileScanning(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tree")
	write := func(rel string, data []byte) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const files = 3000
	for i := range files {
		write(fmt.Sprintf("a/d%02d/f%04d.txt", i%30, i), []byte(fmt.Sprintf("file %d\n", i%2500))) // 500 duplicates
	}
	// Hard links whose other name the scan meets later, in another folder.
	for i := range 5 {
		if err := os.MkdirAll(filepath.Join(dir, "z"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(filepath.Join(dir, fmt.Sprintf("a/d%02d/f%04d.txt", i, i)), filepath.Join(dir, "z", fmt.Sprintf("link%d.txt", i))); err != nil {
			t.Fatal(err)
		}
	}
	big := func(n int, seed byte) []byte {
		b := []byte(strings.Repeat(string(rune('a'+seed)), n))
		b[n/2] = seed
		return b
	}
	write("big/same1.bin", big(smallFile+100, 1))
	write("big/same2.bin", big(smallFile+100, 1)) // a duplicate of same1
	write("big/other.bin", big(smallFile+100, 2)) // same size, other content
	write("big/unique.bin", big(3*smallFile, 3))
	// Times an image holds exactly (100 ns), folders last.
	mt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			err = os.Chtimes(p, mt, mt)
		}
		return err
	})
	if err == nil {
		err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				err = os.Chtimes(p, mt, mt)
			}
			return err
		})
	}
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []Compression{None, XPRESS} {
		t.Run(c.String(), func(t *testing.T) {
			var mu sync.Mutex
			var firstWrite, scanDone = -1, -1
			n := 0
			prog := func(r progress.Report) {
				mu.Lock()
				defer mu.Unlock()
				switch {
				case r.Phase == PhaseWrite && r.Done > 0 && firstWrite < 0:
					firstWrite = n
				case r.Phase == PhaseScan && r.Total > 0 && scanDone < 0:
					scanDone = n
				}
				n++
			}
			file := filepath.Join(t.TempDir(), "c.wim")
			if _, err := Capture(context.Background(), dir, file, CaptureOptions{Name: "T", Compression: c, Progress: prog}); err != nil {
				t.Fatal(err)
			}
			if firstWrite < 0 || scanDone < 0 || firstWrite > scanDone {
				t.Errorf("first data written at report %d, scan done at report %d: nothing was written while the scan went on", firstWrite, scanDone)
			}
			w := imgOpenW(t, file)
			// 2500 small contents and 3 large ones, each stored once.
			got := 0
			for _, e := range w.Blobs() {
				if !e.Res.Metadata() {
					got++
				}
			}
			if got != 2503 {
				t.Errorf("%d blobs stored, want 2503", got)
			}
			w.Close()
			wtCheckWimlib(t, file, nil, dir)
			wtCheckOurs(t, file, nil, dir)
		})
	}
}
