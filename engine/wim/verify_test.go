package wim

import (
	"context"
	"crypto/sha1"
	"errors"
	"io"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/engine/progress"
)

func openFixture(t testing.TB, name string) *WIM {
	t.Helper()
	w, err := Open(filepath.Join(containerFixtureDir, name), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func TestVerifyProgress(t *testing.T) {
	for _, name := range []string{"lzx.wim", "solid.esd"} {
		w := openFixture(t, name)
		var total int64
		for _, e := range w.Blobs() {
			total += e.Size()
		}
		var mu sync.Mutex
		var last progress.Report
		var phases []string
		err := w.Verify(context.Background(), func(r progress.Report) {
			mu.Lock()
			defer mu.Unlock()
			if len(phases) == 0 || phases[len(phases)-1] != r.Phase {
				phases = append(phases, r.Phase)
			}
			if r.Phase == "verify" {
				if r.Total != total || r.Done < last.Done || r.Done > total {
					t.Errorf("%s: report %+v after %+v (total %d)", name, r, last, total)
				}
				last = r
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if last.Done != total {
			t.Errorf("%s: last report %+v, want done = %d", name, last, total)
		}
		want := []string{"verify"}
		if !w.Header().Integrity.IsZero() {
			want = []string{"integrity", "verify"}
		}
		if len(phases) != len(want) || phases[0] != want[0] {
			t.Errorf("%s: phases %v, want %v", name, phases, want)
		}
	}
}

func TestVerifyCanceled(t *testing.T) {
	w := openFixture(t, "lzx.wim")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Verify(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify with a canceled context: %v", err)
	}
	err := w.ReadBlobs(ctx, []Hash{w.Blobs()[1].Hash}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadBlobs with a canceled context: %v", err)
	}
}

func TestReadBlobsOrderAndStop(t *testing.T) {
	w := openFixture(t, "solid.esd")
	var hashes []Hash
	for _, e := range w.Blobs() {
		if !e.IsMetadata() {
			hashes = append([]Hash{e.Hash}, hashes...) // reversed
		}
	}
	hashes = append(hashes, hashes[0]) // repeated: read once
	var offs []int64
	err := w.ReadBlobs(context.Background(), hashes, func(e BlobEntry, r io.Reader) error {
		offs = append(offs, e.SolidOffset)
		// Read a little only: the rest is checked by ReadBlobs.
		var b [3]byte
		r.Read(b[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(offs) != len(hashes)-1 {
		t.Fatalf("%d calls for %d blobs", len(offs), len(hashes)-1)
	}
	for i := 1; i < len(offs); i++ {
		if offs[i] < offs[i-1] {
			t.Fatalf("blobs not in storage order: %v", offs)
		}
	}
	stop := errors.New("stop")
	calls := 0
	err = w.ReadBlobs(context.Background(), hashes, func(BlobEntry, io.Reader) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Fatalf("stopping: %v after %d calls", err, calls)
	}
	var missing *MissingBlobError
	if err := w.ReadBlobs(context.Background(), []Hash{{1}}, nil); !errors.As(err, &missing) {
		t.Fatalf("missing blob: %v", err)
	}
}

// TestConcurrentReads reads all blobs of several files from many
// goroutines at once (run with -race).
func TestConcurrentReads(t *testing.T) {
	for _, name := range []string{"lzx.wim", "solid.esd", "lzms.wim", "xpress.wim"} {
		w := openFixture(t, name)
		var wg sync.WaitGroup
		var bad atomic.Int32
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, e := range w.Blobs() {
					if e.IsMetadata() {
						continue
					}
					rc, err := w.OpenBlob(e.Hash)
					if err != nil {
						bad.Add(1)
						continue
					}
					h := sha1.New()
					if _, err := io.Copy(h, rc); err != nil || Hash(h.Sum(nil)) != e.Hash {
						bad.Add(1)
					}
					rc.Close()
				}
				if _, err := w.MetadataResource(1); err != nil {
					bad.Add(1)
				}
			}()
		}
		wg.Wait()
		if bad.Load() != 0 {
			t.Fatalf("%s: %d failed reads", name, bad.Load())
		}
	}
}

func TestBlobReaderClose(t *testing.T) {
	w := openFixture(t, "lzx.wim")
	_, e := largestCompressed(t, containerFixture(t, "lzx.wim"))
	before := runtime.NumGoroutine()
	var b [100]byte
	for range 20 {
		// Several chunks: the parallel reader. Closing it early must
		// stop its goroutines.
		rc, err := w.OpenBlob(e.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(rc, b[:]); err != nil {
			t.Fatal(err)
		}
		if err := rc.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; runtime.NumGoroutine() > before && i < 100; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left running after closing readers (had %d)", n, before)
	}
	rc, err := w.OpenBlob(e.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Read(b[:]); err == nil {
		t.Fatal("read after Close succeeded")
	}
	// ReadBlob refuses a blob over the limit.
	if _, err := w.ReadBlob(e.Hash, e.Size()-1); err == nil {
		t.Fatal("ReadBlob ignored its limit")
	}
	if _, err := w.MetadataResource(2); err == nil {
		t.Fatal("metadata of a missing image")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestRefGlob(t *testing.T) {
	w, err := Open(filepath.Join(containerFixtureDir, "split.swm"), &OpenOptions{
		Refs: []string{filepath.Join(containerFixtureDir, "split*.swm")}, NoSplitSearch: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if len(w.Refs()) != 1 {
		t.Fatalf("glob opened %d references, want 1 (part 2; part 1 is the file itself)", len(w.Refs()))
	}
	if _, err := Open(filepath.Join(containerFixtureDir, "split.swm"), &OpenOptions{Refs: []string{"nothing*.rwm"}}); err == nil {
		t.Fatal("a glob matching nothing was accepted")
	}
}

func TestInfoClone(t *testing.T) {
	info, err := parseXMLData(encodeUTF16(msXML))
	if err != nil {
		t.Fatal(err)
	}
	c := info.Clone()
	c.Images[0].Name = "changed"
	c.Images[0].Windows.Languages[0] = "xx-XX"
	c.Images = c.Images[:1]
	if info.Images[0].Name == "changed" || info.Images[0].Windows.Languages[0] != "en-US" || len(info.Images) != 2 {
		t.Fatal("Clone shares data with the original")
	}
	a, _ := info.Marshal()
	if b := encodeUTF16(msXML); string(a) != string(b) {
		t.Fatal("original changed by edits to its clone")
	}
}
