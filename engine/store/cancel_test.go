package store

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
	"github.com/wimconsole/wimconsole/engine/wim"
)

// TestExportImageCancel: an export cancelled at about 15% returns within a
// second and leaves the destination as it was: no file for a new one, the
// old bytes for an overwrite and for an append.
func TestExportImageCancel(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tree")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{9})
	for i := range 8 {
		buf := make([]byte, 16<<20)
		rng.Read(buf)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d.bin", i)), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := filepath.Join(t.TempDir(), "big.wim")
	if _, err := wim.Capture(context.Background(), dir, src, wim.CaptureOptions{Name: "Big", Compression: wim.XPRESS, Threads: 2}); err != nil {
		t.Fatal(err)
	}
	s := openStore(t)
	refs, err := s.AddImage(context.Background(), src, AddOptions{Group: "G"})
	if err != nil {
		t.Fatal(err)
	}
	small := captureWIM(t, "xpress", writeTree(t, baseTree("small")))
	for _, tc := range []struct {
		name string
		mode Overwrite
		old  bool
	}{
		{"new", OverwriteNo, false},
		{"overwrite", OverwriteYes, true},
		{"append", OverwriteAppend, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			dest := filepath.Join(out, "out.wim")
			var old []byte
			if tc.old {
				b, err := os.ReadFile(small)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(dest, b, 0o644); err != nil {
					t.Fatal(err)
				}
				old = b
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var mu sync.Mutex
			var at time.Time
			o := ExportOptions{Overwrite: tc.mode, Progress: func(r progress.Report) {
				if r.Total > 0 && r.Done*100 >= 15*r.Total {
					mu.Lock()
					if at.IsZero() {
						at = time.Now()
						cancel()
					}
					mu.Unlock()
				}
			}}
			err := s.ExportImage(ctx, refs[0], dest, o)
			end := time.Now()
			mu.Lock()
			lat := end.Sub(at)
			mu.Unlock()
			t.Logf("returned %v after the cancel", lat.Round(time.Millisecond))
			if !errors.Is(err, context.Canceled) {
				t.Errorf("ExportImage after cancel: %v", err)
			}
			if lat > time.Second {
				t.Errorf("returned %v after the cancel, want within 1 s", lat)
			}
			ents, _ := os.ReadDir(out)
			if !tc.old {
				if len(ents) != 0 {
					t.Errorf("left in the folder: %v", ents)
				}
				return
			}
			if len(ents) != 1 {
				t.Errorf("left in the folder: %v", ents)
			}
			b, err := os.ReadFile(dest)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, old) {
				t.Errorf("%s is %d bytes, SHA-1 %x; was %d bytes, %x", dest, len(b), sha1.Sum(b), len(old), sha1.Sum(old))
			}
		})
	}
}

// cancelAt15 returns a context cancelled by its progress function at 15%
// of a phase's bytes, and a function giving how long ago that was.
func cancelAt15(t *testing.T) (context.Context, progress.Func, func() time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var mu sync.Mutex
	var at time.Time
	report := func(r progress.Report) {
		if r.Total > 0 && r.Done*100 >= 15*r.Total {
			mu.Lock()
			if at.IsZero() {
				at = time.Now()
				cancel()
			}
			mu.Unlock()
		}
	}
	since := func() time.Duration {
		mu.Lock()
		defer mu.Unlock()
		if at.IsZero() {
			t.Fatal("the operation ended before it was cancelled")
		}
		return time.Since(at)
	}
	return ctx, report, since
}

// TestStoreJobsCancel: adding an image, replacing one and regrouping,
// cancelled at 15%, return within a second with the context's error and
// leave the store as it was (it verifies; its Res.rwm keeps its bytes).
func TestStoreJobsCancel(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tree")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{11})
	for i := range 6 {
		buf := make([]byte, 16<<20)
		rng.Read(buf)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d.bin", i)), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	big := filepath.Join(t.TempDir(), "big.wim")
	if _, err := wim.Capture(context.Background(), dir, big, wim.CaptureOptions{Name: "Big", Compression: wim.XPRESS, Threads: 2}); err != nil {
		t.Fatal(err)
	}
	small := captureWIM(t, "xpress", writeTree(t, baseTree("small")))
	for _, tc := range []struct {
		name string
		run  func(ctx context.Context, s *Store, report progress.Func) error
	}{
		{"add image", func(ctx context.Context, s *Store, report progress.Func) error {
			_, err := s.AddImage(ctx, big, AddOptions{Group: "G", FileName: "big", Progress: report})
			return err
		}},
		{"replace image", func(ctx context.Context, s *Store, report progress.Func) error {
			r := ImageRef{Group: "G", File: "small"}
			off := false
			if err := s.SetImage(context.Background(), r, SetOptions{Enabled: &off}); err != nil {
				return err
			}
			return s.ReplaceImage(ctx, r, big, ReplaceOptions{Force: true, Progress: report})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			if _, err := s.AddImage(context.Background(), small, AddOptions{Group: "G", FileName: "small"}); err != nil {
				t.Fatal(err)
			}
			before, err := os.ReadFile(s.ResPath("G"))
			if err != nil {
				t.Fatal(err)
			}
			ctx, report, since := cancelAt15(t)
			err = tc.run(ctx, s, report)
			lat := since()
			t.Logf("returned %v after the cancel", lat.Round(time.Millisecond))
			if !errors.Is(err, context.Canceled) {
				t.Errorf("after cancel: %v", err)
			}
			if lat > time.Second {
				t.Errorf("returned %v after the cancel, want within 1 s", lat)
			}
			after, err := os.ReadFile(s.ResPath("G"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Errorf("Res.rwm is %d bytes, was %d", len(after), len(before))
			}
			mustVerify(t, s)
		})
	}
	t.Run("regroup", func(t *testing.T) {
		s := openStore(t)
		if _, err := s.AddImage(context.Background(), small, AddOptions{Group: "G", FileName: "small"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddImage(context.Background(), big, AddOptions{Group: "G", FileName: "big2"}); err != nil {
			t.Fatal(err)
		}
		before, err := os.ReadFile(s.ResPath("G"))
		if err != nil {
			t.Fatal(err)
		}
		ctx, report, since := cancelAt15(t)
		_, err = s.Regroup(ctx, "G", RegroupOptions{Progress: report})
		lat := since()
		t.Logf("returned %v after the cancel", lat.Round(time.Millisecond))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("after cancel: %v", err)
		}
		if lat > time.Second {
			t.Errorf("returned %v after the cancel, want within 1 s", lat)
		}
		after, err := os.ReadFile(s.ResPath("G"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, after) {
			t.Errorf("Res.rwm is %d bytes, was %d", len(after), len(before))
		}
		mustVerify(t, s)
	})
}
