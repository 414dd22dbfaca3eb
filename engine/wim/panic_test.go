package wim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"testing"
)

// panickyReaderAt panics on any read that touches [lo, hi): a stand-in for
// a bug that hostile data triggers in a worker goroutine.
type panickyReaderAt struct {
	r      *bytes.Reader
	lo, hi int64
}

func (p *panickyReaderAt) ReadAt(b []byte, off int64) (int, error) {
	if off < p.hi && off+int64(len(b)) > p.lo {
		panic("deliberate panic in ReadAt")
	}
	return p.r.ReadAt(b, off)
}

// TestWorkerPanicsBecomeErrors makes the reads of one blob's data panic and
// checks that each operation whose workers read it returns a *PanicError
// instead of ending the process (a panic in a goroutine cannot be recovered
// by its caller).
func TestWorkerPanicsBecomeErrors(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 4 {
		old := runtime.GOMAXPROCS(4) // parallel decompression needs 2 or more
		t.Cleanup(func() { runtime.GOMAXPROCS(old) })
	}
	data := withoutIntegrity(containerFixture(t, "lzx.wim"))
	_, victim := largestCompressed(t, data)
	if victim.Res.Size <= 2*32768 {
		t.Fatalf("blob of %d bytes: too few chunks for parallel decompression", victim.Res.Size)
	}
	open := func(t *testing.T) *WIM {
		t.Helper()
		// The chunk table (an entry of 4 bytes per chunk after the first) reads; the chunks panic.
		ra := &panickyReaderAt{r: bytes.NewReader(data), lo: victim.Res.Offset + 4*(victim.Res.Size-1)/32768, hi: victim.Res.Offset + victim.Res.StoredSize}
		w, err := newWIM("lzx.wim", ra, int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	tests := []struct {
		name string
		run  func(w *WIM) error
	}{
		{"parallel decompression", func(w *WIM) error {
			rc, err := w.OpenBlob(victim.Hash)
			if err != nil {
				return err
			}
			defer rc.Close()
			_, err = io.Copy(io.Discard, rc)
			return err
		}},
		{"verify workers", func(w *WIM) error { return w.Verify(context.Background(), nil) }},
		{"apply workers", func(w *WIM) error { return w.Apply(context.Background(), 1, t.TempDir(), nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run(open(t))
			var pe *PanicError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a *PanicError", err)
			}
			if pe.Value != "deliberate panic in ReadAt" || !bytes.Contains(pe.Stack, []byte("panickyReaderAt")) {
				t.Fatalf("panic value %v, stack:\n%s", pe.Value, pe.Stack)
			}
		})
	}
}

func TestGuard(t *testing.T) {
	want := errors.New("plain")
	if err := Guard(func() error { return want }); err != want {
		t.Fatalf("Guard changed an error: %v", err)
	}
	var pe *PanicError
	if err := Guard(func() error { var s []int; _ = s[3]; return nil }); !errors.As(err, &pe) || pe.Error() != "internal error: runtime error: index out of range [3] with length 0" {
		t.Fatalf("Guard on an index panic: %v", err)
	}
}
