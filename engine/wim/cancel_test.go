package wim

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/engine/progress"
)

// cancelSource writes files of the given sizes (MiB), each half random and
// half repeated text when mixed is set, else all random, and captures them
// uncompressed into a WIM file of its own.
func cancelSource(t testing.TB, mixed bool, mib ...int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tree")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{7})
	text := bytes.Repeat([]byte("The quick brown fox jumps over the lazy dog. "), 1<<15)
	for i, n := range mib {
		size := n << 20
		buf := make([]byte, size)
		rng.Read(buf)
		if mixed {
			for k := size / 2; k < size; k += len(text) {
				copy(buf[k:], text)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d.bin", i)), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "src.wim")
	if _, err := Capture(context.Background(), dir, file, CaptureOptions{Name: "Big", Compression: None, Threads: 2}); err != nil {
		t.Fatal(err)
	}
	return file
}

func fileSum(t testing.TB, name string) (int64, [20]byte) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return int64(len(b)), sha1.Sum(b)
}

// TestExportCancel cancels exports part-way, from the progress callback at
// about 15% of the bytes and from another goroutine while a large resource
// is being copied as stored: Export returns the context's error within a
// second of the cancel, and leaves the destination as it was: no file (and
// no temporary file) for a new one, the same bytes for an append.
func TestExportCancel(t *testing.T) {
	raw := cancelSource(t, false, 16, 16, 16, 16, 224)
	mixed := cancelSource(t, true, 16, 16, 16, 16)
	small := cancelSource(t, false, 1)

	type how int
	const (
		atProgress how = iota // the progress callback cancels at 15%
		atGrowth              // a watcher cancels when the file passes 100 MiB
	)
	for _, tc := range []struct {
		name   string
		src    string
		append bool
		comp   *Compression
		how    how
	}{
		{"new raw copy", raw, false, nil, atProgress},
		{"append raw copy", raw, true, nil, atProgress},
		{"new large resource", raw, false, nil, atGrowth},
		{"append large resource", raw, true, nil, atGrowth},
		{"new LZX", mixed, false, ptr(LZX), atProgress},
		{"append XPRESS", mixed, true, ptr(XPRESS), atProgress},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			dest := filepath.Join(dir, "out.wim")
			if tc.append {
				// An existing file to append to, in the codec the data
				// is compressed to (or as stored).
				c := None
				if tc.comp != nil {
					c = *tc.comp
				}
				s := imgOpenW(t, small)
				if _, err := Export(context.Background(), s, []int{1}, dest, ExportOptions{Name: "Old", Compression: &c}); err != nil {
					t.Fatal(err)
				}
			}
			var oldSize int64
			var oldSum [20]byte
			if tc.append {
				oldSize, oldSum = fileSum(t, dest)
			}
			src := imgOpenW(t, tc.src)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var once sync.Once
			var cancelAt time.Time
			var mu sync.Mutex
			doCancel := func() {
				once.Do(func() {
					mu.Lock()
					cancelAt = time.Now()
					mu.Unlock()
					cancel()
				})
			}
			o := ExportOptions{Compression: tc.comp}
			if tc.how == atProgress {
				o.Progress = func(r progress.Report) {
					if r.Total > 0 && r.Done*100 >= 15*r.Total {
						doCancel()
					}
				}
			} else {
				stop := make(chan struct{})
				defer close(stop)
				go func() {
					for {
						select {
						case <-stop:
							return
						case <-time.After(time.Millisecond):
						}
						ents, _ := os.ReadDir(dir)
						for _, e := range ents {
							if st, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && st.Size() > oldSize+100<<20 {
								doCancel()
								return
							}
						}
					}
				}()
			}
			_, err := Export(ctx, src, []int{1}, dest, o)
			end := time.Now()
			mu.Lock()
			at := cancelAt
			mu.Unlock()
			if at.IsZero() {
				t.Fatalf("the export ended (%v) before it was cancelled", err)
			}
			lat := end.Sub(at)
			t.Logf("returned %v after the cancel", lat.Round(time.Millisecond))
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Export after cancel: %v, want context.Canceled", err)
			}
			if lat > time.Second {
				t.Errorf("Export returned %v after the cancel, want within 1 s", lat)
			}
			ents, _ := os.ReadDir(dir)
			if !tc.append {
				if len(ents) != 0 {
					t.Errorf("left in the folder: %v", ents)
				}
				return
			}
			if len(ents) != 1 {
				t.Errorf("left in the folder: %v", ents)
			}
			if size, sum := fileSum(t, dest); size != oldSize || sum != oldSum {
				t.Errorf("appended-to file is %d bytes, SHA-1 %x; was %d bytes, %x", size, sum, oldSize, oldSum)
			}
			imgOpenW(t, dest)
		})
	}
}

// TestCancelWhileClosing cancels a capture and an export at the moment
// their data is all written and Close begins: the file is not committed
// (no new file, the appended-to file's old bytes) and the call says it was
// cancelled.
func TestCancelWhileClosing(t *testing.T) {
	src := cancelSource(t, false, 1)
	tree := filepath.Join(t.TempDir(), "tree")
	if err := os.MkdirAll(filepath.Join(tree, "Windows"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tree, "Windows", "win.ini"), []byte("[fonts]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		append bool
		run    func(ctx context.Context, dest string) error
	}{
		{"capture", false, func(ctx context.Context, dest string) error {
			_, err := Capture(ctx, tree, dest, CaptureOptions{Compression: XPRESS})
			return err
		}},
		{"capture append", true, func(ctx context.Context, dest string) error {
			_, err := Capture(ctx, tree, dest, CaptureOptions{Name: "Second", Append: true})
			return err
		}},
		{"export", false, func(ctx context.Context, dest string) error {
			_, err := Export(ctx, imgOpenW(t, src), []int{1}, dest, ExportOptions{})
			return err
		}},
		{"export append", true, func(ctx context.Context, dest string) error {
			_, err := Export(ctx, imgOpenW(t, src), []int{1}, dest, ExportOptions{Name: "Second"})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			dest := filepath.Join(dir, "out.wim")
			var oldSize int64
			var oldSum [20]byte
			if tc.append {
				if _, err := Capture(context.Background(), tree, dest, CaptureOptions{Name: "First", Compression: None}); err != nil {
					t.Fatal(err)
				}
				oldSize, oldSum = fileSum(t, dest)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			crashHook = func(step string) {
				if step == "after-data" {
					cancel()
				}
			}
			defer func() { crashHook = nil }()
			err := tc.run(ctx, dest)
			crashHook = nil
			if !errors.Is(err, context.Canceled) {
				t.Errorf("after a cancel while closing: %v", err)
			}
			ents, _ := os.ReadDir(dir)
			if !tc.append {
				if len(ents) != 0 {
					t.Errorf("left in the folder: %v", ents)
				}
				return
			}
			if size, sum := fileSum(t, dest); size != oldSize || sum != oldSum {
				t.Errorf("appended-to file is %d bytes, SHA-1 %x; was %d bytes, %x", size, sum, oldSize, oldSum)
			}
		})
	}
}
