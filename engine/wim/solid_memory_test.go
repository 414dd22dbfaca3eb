package wim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// leadReader counts the bytes read ahead of those written (as progress
// reports them).
type leadReader struct {
	r    io.Reader
	read int64
	done *atomic.Int64
	max  int64
}

func (l *leadReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.read += int64(n)
	l.max = max(l.max, l.read-l.done.Load())
	return n, err
}

// solidText returns n bytes of text that LZMS compresses, but not to
// nothing.
func solidText(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	var b bytes.Buffer
	for b.Len() < n {
		fmt.Fprintf(&b, "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Setup %d = driver%d.sys\r\n", r.IntN(100), r.IntN(10))
	}
	return b.Bytes()[:n]
}

// TestSolidChunkBuffers checks the memory a solid writing with large
// chunks holds besides its compressors: one chunk buffer per worker, the
// one being filled included (as wimlib), so that the data read is never
// more than that ahead of the data written. The file passes wimlib-imagex
// verify and 7z t.
func TestSolidChunkBuffers(t *testing.T) {
	oracle.Wimlib(t)
	const chunk = 1 << 20
	data := solidText(1, 3*chunk+chunk/2)
	for _, threads := range []int{1, 2} {
		t.Run(fmt.Sprint(threads), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "x.esd")
			var done atomic.Int64
			w, err := Create(file, WriteOptions{Compression: LZMS, Solid: true, SolidCompression: LZMS, SolidChunkSize: chunk, Threads: threads,
				Progress: func(r progress.Report) { done.Store(r.Done) }})
			if err != nil {
				t.Fatal(err)
			}
			lr := &leadReader{r: bytes.NewReader(data), done: &done}
			h, err := w.WriteBlob(context.Background(), lr, int64(len(data)))
			if err != nil {
				w.Abort()
				t.Fatal(err)
			}
			img := &Image{Root: &File{Attributes: AttrDirectory, SecurityID: -1, Children: []*File{
				{Name: "data.bin", Attributes: AttrNormal, SecurityID: -1, Hash: h, Size: int64(len(data))}}}}
			if _, err := w.AddImage(context.Background(), img, ImageInfo{Name: "one"}); err != nil {
				w.Abort()
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if lr.max > int64(threads)*chunk {
				t.Errorf("%d workers: read %d bytes ahead of those written, want at most %d (one chunk per worker)", threads, lr.max, threads*chunk)
			}
			oracle.Run(t, "verify", file)
			// Full chunks of 1 MiB take the LZMS compressor's
			// interval-tree match finder; wimlib applies them too.
			applied := filepath.Join(t.TempDir(), "apply")
			oracle.Run(t, "apply", file, "1", applied)
			if got, err := os.ReadFile(filepath.Join(applied, "data.bin")); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("wimlib applied %d bytes (%v), want the %d written", len(got), err, len(data))
			}
			solidCheck7z(t, file)
			r, err := Open(file, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			rc, err := r.OpenBlob(h)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read back %d bytes (%v), want the %d written", len(got), err, len(data))
			}
		})
	}
}
