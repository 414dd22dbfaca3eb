package wim

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/wim/lzms"
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
			lr := &leadReader{r: bytes.NewReader(data), done: &done}
			h := writeSolidBlob(t, file, lr, int64(len(data)), WriteOptions{Compression: LZMS, Solid: true, SolidCompression: LZMS, SolidChunkSize: chunk, Threads: threads,
				Progress: func(r progress.Report) { done.Store(r.Done) }})
			if lr.max > int64(threads)*chunk {
				t.Errorf("%d workers: read %d bytes ahead of those written, want at most %d (one chunk per worker)", threads, lr.max, threads*chunk)
			}
			// Full chunks of 1 MiB take the LZMS compressor's
			// interval-tree match finder; wimlib applies them too.
			checkSolidBlob(t, file, h, data, chunk)
		})
	}
}

// solidCode returns n bytes shaped like x86 code: CALL, RIP-relative LEA
// and indirect CALL instructions to a few targets amid text, which the
// LZMS x86 filter translates.
func solidCode(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 9))
	targets := make([]int, 24)
	for i := range targets {
		targets[i] = r.IntN(n + 1)
	}
	text := solidText(seed, 4096)
	b := make([]byte, 0, n+64)
	for len(b) < n {
		var op []byte
		switch r.IntN(4) {
		case 0:
			k := r.IntN(200)
			b = append(b, text[k:k+r.IntN(40)]...)
			continue
		case 1:
			op = []byte{0x48, 0x8D, 0x05}
		case 2:
			op = []byte{0xFF, 0x15}
		default:
			op = []byte{0xE8}
		}
		b = append(b, op...)
		b = binary.LittleEndian.AppendUint32(b, uint32(targets[r.IntN(len(targets))]-(len(b)+4)))
	}
	return b[:n]
}

// solidNoise returns n random bytes, with a CALL to one target every 256
// bytes in the first 16 KiB: data that does not shrink, in which the x86
// filter translates operands.
func solidNoise(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 11))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	for p := 64; p+5 < min(n, 16<<10); p += 256 {
		b[p] = 0xE8
		binary.LittleEndian.PutUint32(b[p+1:], uint32(0x4000-p-5))
	}
	return b
}

// solidChunkSizes returns the stored size of every chunk of the solid
// resources of file.
func solidChunkSizes(t *testing.T, file string) []uint32 {
	t.Helper()
	var sizes []uint32
	for _, b := range solidStored(t, file) {
		usize := binary.LittleEndian.Uint64(b)
		cs := uint64(binary.LittleEndian.Uint32(b[8:]))
		for i := range (usize + cs - 1) / cs {
			sizes = append(sizes, binary.LittleEndian.Uint32(b[solidHeaderSize+4*i:]))
		}
	}
	return sizes
}

// writeSolidBlob writes the size bytes of r as the one file of a new
// solid file, and returns its digest.
func writeSolidBlob(t *testing.T, file string, r io.Reader, size int64, opts WriteOptions) Hash {
	t.Helper()
	w, err := Create(file, opts)
	if err != nil {
		t.Fatal(err)
	}
	h := writeBlobImage(t, w, r, size, "one")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return h
}

// writeBlobImage writes r's size bytes to w as the data of the one file,
// data.bin, of a new image named name, and returns its digest. On a
// failure it aborts w.
func writeBlobImage(t *testing.T, w *Writer, r io.Reader, size int64, name string) Hash {
	t.Helper()
	h, err := w.WriteBlob(context.Background(), r, size)
	if err != nil {
		w.Abort()
		t.Fatal(err)
	}
	img := &Image{Root: &File{Attributes: AttrDirectory, SecurityID: -1, Children: []*File{
		{Name: "data.bin", Attributes: AttrNormal, SecurityID: -1, Hash: h, Size: size}}}}
	if _, err := w.AddImage(context.Background(), img, ImageInfo{Name: name}); err != nil {
		w.Abort()
		t.Fatal(err)
	}
	return h
}

// readBlob reads blob h of file back whole.
func readBlob(t *testing.T, file string, h Hash) []byte {
	t.Helper()
	r, err := Open(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rc, err := r.OpenBlob(h)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkSolidBlob checks the one file of a solid file written by
// writeSolidBlob: our reader reads data back, wimlib-imagex verifies and
// applies it, 7-Zip tests it. chunk names the chunk of a first difference.
func checkSolidBlob(t *testing.T, file string, h Hash, data []byte, chunk int) {
	t.Helper()
	if got := readBlob(t, file, h); !bytes.Equal(got, data) {
		k := 0
		for k < min(len(got), len(data)) && got[k] == data[k] {
			k++
		}
		t.Fatalf("read back %d bytes, want %d; they differ from byte %d (chunk %d)", len(got), len(data), k, k/chunk)
	}
	oracle.Run(t, "verify", file)
	applied := filepath.Join(t.TempDir(), "apply")
	oracle.Run(t, "apply", file, "1", applied)
	if b, err := os.ReadFile(filepath.Join(applied, "data.bin")); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("wimlib applied %d bytes (%v), want the %d written", len(b), err, len(data))
	}
	solidCheck7z(t, file)
}

// TestSolidLZMSInPlace: solid LZMS chunks are compressed where they lie
// (the x86 filter applied to the chunk buffer and undone), and every chunk
// comes out right: one that shrinks, one that does not (stored as it is,
// so as it was before the filter) and a last, shorter one, with one worker
// and two. The file passes our reader, wimlib-imagex verify and apply,
// and 7z t.
func TestSolidLZMSInPlace(t *testing.T) {
	oracle.Wimlib(t)
	const chunk = 1 << 20 // the interval-tree finder's smallest chunk
	var data []byte
	data = append(data, solidCode(1, chunk)...)
	data = append(data, solidNoise(2, chunk)...)
	data = append(data, solidCode(3, chunk/2)...)
	for _, threads := range []int{1, 2} {
		t.Run(fmt.Sprint(threads), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "x.esd")
			h := writeSolidBlob(t, file, bytes.NewReader(data), int64(len(data)), WriteOptions{Compression: LZMS, Solid: true, SolidCompression: LZMS, SolidChunkSize: chunk, Threads: threads})
			sizes := solidChunkSizes(t, file)
			if len(sizes) != 3 || sizes[0] >= chunk || sizes[1] != chunk || sizes[2] >= chunk/2 {
				t.Fatalf("stored chunk sizes %v, want 3: under %d, %d (stored as is), under %d", sizes, chunk, chunk, chunk/2)
			}
			checkSolidBlob(t, file, h, data, chunk)
		})
	}
}

// TestSolidLZMSMemory: a solid LZMS writing allocates its compressor's
// trees and tables, its chunk buffer and output buffer, and little more
// (2 MiB: the file's tables, the metadata and its compressor, the output's
// buffers): no copy of each chunk for the compressor's x86 filter, which
// was a chunk more. With one worker, so that one compressor is made and
// one chunk buffer used.
func TestSolidLZMSMemory(t *testing.T) {
	const chunk = 4 << 20
	const rest = 3 << 20
	data := append(solidText(4, chunk), solidCode(5, chunk)...)
	allocated := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	// The compressor alone, on a chunk of the same size.
	src := make([]byte, chunk, chunk+lzms.InPlacePad)
	copy(src, data)
	dst := make([]byte, chunk-1)
	comp := allocated(func() {
		c, err := lzms.NewCompressor(chunk)
		if err != nil {
			t.Fatal(err)
		}
		c.CompressInPlace(dst, src)
	})
	opts := WriteOptions{Compression: LZMS, Solid: true, SolidCompression: LZMS, SolidChunkSize: chunk, Threads: 1}
	got := allocated(func() {
		writeSolidBlob(t, filepath.Join(t.TempDir(), "x.esd"), bytes.NewReader(data), int64(len(data)), opts)
	})
	limit := comp + (chunk + solidPad) + chunk + rest
	t.Logf("compressor %d bytes; writing %d bytes allocated %d, limit %d", comp, len(data), got, limit)
	if got > limit {
		t.Errorf("writing %d bytes in %d-byte LZMS chunks allocated %d bytes, over %d (the compressor's %d, a chunk buffer, an output buffer and %d)", len(data), chunk, got, limit, comp, rest)
	}
}

// TestSolidLetsCompressorsGo: once a solid resource of large chunks has
// all its chunks queued (an image's metadata ends it), the compressors
// that worked on it are let go, not held to the writer's end; the next
// image's resource makes new ones. Both images read back, and the file
// passes wimlib-imagex verify.
func TestSolidLetsCompressorsGo(t *testing.T) {
	oracle.Wimlib(t)
	const chunk = 1 << 20
	blobs := [][]byte{append(solidCode(6, chunk), solidText(7, chunk+chunk/2)...), solidText(8, chunk+chunk/4)}
	for _, threads := range []int{1, 2} {
		t.Run(fmt.Sprint(threads), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "x.esd")
			w, err := Create(file, WriteOptions{Compression: LZMS, Solid: true, SolidCompression: LZMS, SolidChunkSize: chunk, Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			var hs []Hash
			for i, data := range blobs {
				hs = append(hs, writeBlobImage(t, w, bytes.NewReader(data), int64(len(data)), fmt.Sprint("image ", i+1)))
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			// Not in the pool, nor in its array past its length, where
			// the collector would still find them.
			for i, c := range w.solid.comps[:cap(w.solid.comps)] {
				if c != nil {
					t.Errorf("the writer holds an LZMS compressor (pool entry %d of %d) after its resources ended, want none", i, len(w.solid.comps))
				}
			}
			r, err := Open(file, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if _, n := solidStats(t, file); n != 2 {
				t.Errorf("%d solid resources, want 2 (one an image)", n)
			}
			for i, h := range hs {
				rc, err := r.OpenBlob(h)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || !bytes.Equal(got, blobs[i]) {
					t.Fatalf("image %d: read back %d bytes (%v), want the %d written", i+1, len(got), err, len(blobs[i]))
				}
			}
			oracle.Run(t, "verify", file)
		})
	}
}

// TestSolidDrainedBeforeMetadata: AddImage encodes and queues an image's
// metadata only once the solid resource of large chunks before it is all
// written (its compressors let go), so that the metadata does not add to
// their memory: when AddImage returns, every byte of the blob is written.
func TestSolidDrainedBeforeMetadata(t *testing.T) {
	const chunk = 1 << 20
	data := append(solidCode(9, chunk), solidText(10, chunk/2)...)
	var done atomic.Int64
	w, err := Create(filepath.Join(t.TempDir(), "x.esd"), WriteOptions{Compression: LZMS, Solid: true, SolidCompression: LZMS, SolidChunkSize: chunk, Threads: 2,
		Progress: func(r progress.Report) { done.Store(r.Done) }})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	h, err := w.WriteBlob(context.Background(), bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	img := &Image{Root: &File{Attributes: AttrDirectory, SecurityID: -1, Children: []*File{
		{Name: "data.bin", Attributes: AttrNormal, SecurityID: -1, Hash: h, Size: int64(len(data))}}}}
	if _, err := w.AddImage(context.Background(), img, ImageInfo{Name: "one"}); err != nil {
		t.Fatal(err)
	}
	if got := done.Load(); got < int64(len(data)) {
		t.Errorf("AddImage returned with %d bytes of %d written", got, len(data))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSolidBuffersOffHeap: with large chunks, the chunk buffers and the
// compressors' output buffers lie outside the Go heap (see solidBuf), so
// that they do not raise the collector's goal, and are unmapped when the
// writer ends. Two workers, so two of each: the same writing with them on
// the heap allocates 4 chunks more there. The file reads back.
func TestSolidBuffersOffHeap(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("buffers are mapped outside the heap on Linux only")
	}
	const chunk = 1 << 20
	data := solidText(9, 2*chunk+chunk/4)
	write := func(file string, mapped bool) (heap uint64, w *Writer, h Hash) {
		defer func(old bool) { solidBufMapped = old }(solidBufMapped)
		solidBufMapped = mapped
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var err error
		if w, err = Create(file, WriteOptions{Compression: LZMS, Solid: true, SolidCompression: LZMS, SolidChunkSize: chunk, Threads: 2}); err != nil {
			t.Fatal(err)
		}
		h = writeBlobImage(t, w, bytes.NewReader(data), int64(len(data)), "one")
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc, w, h
	}
	dir := t.TempDir()
	onHeap, w0, _ := write(filepath.Join(dir, "heap.esd"), false)
	if err := w0.Close(); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "x.esd")
	got, w, h := write(file, true)
	t.Logf("writing %d bytes allocated %d bytes on the heap, %d with the buffers there; %d buffers mapped", len(data), got, onHeap, len(w.solid.frees))
	if got+3*chunk > onHeap {
		t.Errorf("writing %d bytes in %d-byte LZMS chunks with 2 workers allocated %d bytes on the heap, want 3 chunks or more under the %d with the chunk and output buffers there", len(data), chunk, got, onHeap)
	}
	if len(w.solid.frees) < 2 {
		t.Errorf("%d buffers mapped outside the heap, want a chunk buffer and an output buffer at least", len(w.solid.frees))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.solid.frees != nil || w.solid.ins != nil || w.solid.outs != nil {
		t.Errorf("after Close the writer keeps %d mapped buffers, %d chunk buffers, %d output buffers; want none", len(w.solid.frees), len(w.solid.ins), len(w.solid.outs))
	}
	if back := readBlob(t, file, h); !bytes.Equal(back, data) {
		t.Fatalf("read back %d bytes, want the %d written", len(back), len(data))
	}
}
