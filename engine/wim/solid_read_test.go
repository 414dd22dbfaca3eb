package wim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// solidReadFixture writes a file with one solid resource of LZX chunks of
// 1 MiB (large enough for the chunk cache) holding blobs of sizes, many
// of them across a chunk boundary, and returns the file and the blobs'
// data by hash.
func solidReadFixture(t *testing.T, sizes []int) (string, map[Hash][]byte) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "solid.wim")
	w, err := Create(file, WriteOptions{Compression: LZX, Solid: true, SolidCompression: LZX, SolidChunkSize: 1 << 20, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	root := &File{Attributes: AttrDirectory, SecurityID: -1}
	data := make(map[Hash][]byte)
	for i, n := range sizes {
		b := solidText(uint64(i+1), n)
		h, err := w.WriteBlob(context.Background(), bytes.NewReader(b), int64(n))
		if err != nil {
			w.Abort()
			t.Fatal(err)
		}
		data[h] = b
		root.Children = append(root.Children, &File{Name: fmt.Sprintf("f%02d.txt", i), Attributes: AttrNormal, SecurityID: -1, Hash: h, Size: int64(n)})
	}
	if _, err := w.AddImage(context.Background(), &Image{Root: root}, ImageInfo{Name: "one"}); err != nil {
		w.Abort()
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return file, data
}

// openSolidReadFixture opens a solidReadFixture of blobs of sizes (closed
// when t ends).
func openSolidReadFixture(t *testing.T, sizes []int) (*WIM, map[Hash][]byte) {
	t.Helper()
	file, data := solidReadFixture(t, sizes)
	w, err := Open(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w, data
}

// solidBlobsInOrder returns the solid blobs of w in the order they are
// stored, as an export reads them.
func solidBlobsInOrder(w *WIM) []BlobEntry {
	var es []BlobEntry
	for _, e := range w.Blobs() {
		if e.Solid != nil {
			es = append(es, e)
		}
	}
	slices.SortFunc(es, func(a, b BlobEntry) int {
		if c := cmpInt64(a.Solid.Res.Offset, b.Solid.Res.Offset); c != 0 {
			return c
		}
		return cmpInt64(a.SolidOffset, b.SolidOffset)
	})
	return es
}

// solidBlobsAndResource returns solidBlobsInOrder(w) and the solid
// resource of the first (the fixtures have one).
func solidBlobsAndResource(t *testing.T, w *WIM) ([]BlobEntry, *resource) {
	t.Helper()
	es := solidBlobsInOrder(w)
	r, err := w.solidResource(es[0].Solid, "solid resource")
	if err != nil {
		t.Fatal(err)
	}
	return es, r
}

// TestSolidBlobReadMemory reads the blobs of a solid resource of large
// chunks one by one, in the order they are stored, as an export to a
// non-solid file does, and checks what that allocates: each chunk is
// decompressed once, into one chunk buffer reused (two when the next chunk
// is decompressed ahead), whatever the number of chunks. Reading each blob
// on its own used to decompress the chunks a blob spans afresh, in
// parallel, besides the cached ones (several chunks' worth per blob across
// a boundary, and a new buffer for each cached chunk).
func TestSolidBlobReadMemory(t *testing.T) {
	const chunk = 1 << 20
	var sizes []int
	for i := range 24 {
		// 1.4 MiB on average: most blobs cross a chunk boundary.
		sizes = append(sizes, 700<<10+(i*277<<10)%(1400<<10))
	}
	file, data := solidReadFixture(t, sizes)
	// With 4 processors, the next chunk is decompressed ahead.
	for _, procs := range []int{1, 2, 4} {
		t.Run(fmt.Sprint(procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			w, err := Open(file, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			es := solidBlobsInOrder(w)
			if len(es) != len(sizes) {
				t.Fatalf("%d solid blobs, want %d", len(es), len(sizes))
			}
			var nchunks int64
			for _, e := range es {
				if e.SolidOffset == 0 {
					nchunks += (e.Solid.Size + chunk - 1) / chunk
				}
			}
			buf := make([]byte, 64<<10)
			var got bytes.Buffer
			got.Grow(2 << 20)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for _, e := range es {
				got.Reset()
				rc, err := w.OpenBlob(e.Hash)
				if err != nil {
					t.Fatal(err)
				}
				// Half of each blob by copy, so that the
				// buffer's growth does not count.
				if _, err := io.CopyBuffer(io.Discard, io.LimitReader(rc, e.Size()/2), buf); err != nil {
					t.Fatal(err)
				}
				if _, err := io.CopyBuffer(&got, rc, buf); err != nil {
					t.Fatalf("blob %s: %v", e.Hash, err)
				}
				rc.Close()
				if want := data[e.Hash]; !bytes.Equal(got.Bytes(), want[len(want)-got.Len():]) {
					t.Fatalf("blob %s: wrong data", e.Hash)
				}
			}
			runtime.ReadMemStats(&after)
			alloc := int64(after.TotalAlloc - before.TotalAlloc)
			// Two chunk buffers, one of compressed data and the
			// decompressor's; a little for each blob's reader.
			limit := int64(4*chunk + len(es)*64<<10)
			t.Logf("%d chunks, %d blobs: allocated %.1f MiB (limit %.1f MiB)", nchunks, len(es), float64(alloc)/(1<<20), float64(limit)/(1<<20))
			if alloc > limit && !raceEnabled {
				t.Errorf("reading %d blobs from %d chunks of %d bytes allocated %d bytes, more than %d", len(es), nchunks, chunk, alloc, limit)
			}
		})
	}
}

// TestSolidBlobReadDamaged damages one chunk of a solid resource of large
// chunks and reads every blob one by one, in order, as an export does: the
// blobs in that chunk fail with an error naming the file, the chunk and
// its offset, whether the chunk was decompressed ahead of its reader or
// by it, and the blobs of the other chunks still read.
func TestSolidBlobReadDamaged(t *testing.T) {
	const chunk = 1 << 20
	sizes := slices.Repeat([]int{300 << 10}, 20)
	file, data := solidReadFixture(t, sizes)
	w, err := Open(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, r := solidBlobsAndResource(t, w)
	it := r.iter()
	var bad chunkRef
	for range 3 {
		if bad, err = it.nextChunk(); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	if bad.csize == bad.usize {
		t.Fatal("chunk 2 is stored raw; the fixture needs it compressed")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// 0xFF: LZX block type 7, which does not exist.
	copy(b[bad.fileOff:bad.fileOff+int64(bad.csize)], bytes.Repeat([]byte{0xFF}, bad.csize))
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	// With 4 processors, chunk 2 is decompressed ahead, as chunk 1 is
	// read.
	for _, procs := range []int{1, 2, 4} {
		t.Run(fmt.Sprint(procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			w, err := Open(file, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			wantMsg := fmt.Sprintf("%s: offset 0x%x: blob ", file, bad.fileOff)
			var failed, read int
			for _, e := range solidBlobsInOrder(w) {
				inBad := e.Solid.Res.Offset == r.off && e.SolidOffset < 3*chunk && e.SolidOffset+e.Size() > 2*chunk
				got, err := w.ReadBlob(e.Hash, 1<<30)
				switch {
				case inBad && err == nil:
					t.Errorf("blob at %d (in damaged chunk 2) read without error", e.SolidOffset)
				case inBad:
					var fe *FormatError
					if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), wantMsg) || !strings.Contains(err.Error(), "chunk 2 ") {
						t.Errorf("blob at %d: error %q, want a format error starting %q about chunk 2", e.SolidOffset, err, wantMsg)
					}
					failed++
				case err != nil:
					t.Errorf("blob at %d (not in chunk 2): %v", e.SolidOffset, err)
				case !bytes.Equal(got, data[e.Hash]):
					t.Errorf("blob at %d: wrong data", e.SolidOffset)
				default:
					read++
				}
			}
			if failed == 0 || read == 0 {
				t.Errorf("%d blobs failed, %d read; want some of each", failed, read)
			}
		})
	}
}

// TestSmallBlobReadGarbage reads the blobs of a non-solid LZX file one by
// one, as a WIM to ESD export does, and checks that they leave little to
// collect: their chunk buffers, short last chunks and compressed data
// included, come from the pool of whole chunks. A fresh buffer for each
// short chunk and each blob's compressed data used to make about as much
// garbage as data read, which the heap held until the next collection (up
// to half the live heap with GOGC at 50: hundreds of MB next to an LZMS
// compressor's tables).
func TestSmallBlobReadGarbage(t *testing.T) {
	file := filepath.Join(t.TempDir(), "small.wim")
	w, err := Create(file, WriteOptions{Compression: LZX, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	var hashes []Hash
	var total int64
	for i := range 300 {
		// 3 to 75 KiB: short last chunks, blobs of one to three chunks.
		n := 3<<10 + (i*7919)%(72<<10)
		h, err := w.WriteBlob(context.Background(), bytes.NewReader(solidText(uint64(i+1), n)), int64(n))
		if err != nil {
			w.Abort()
			t.Fatal(err)
		}
		hashes = append(hashes, h)
		total += int64(n)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, procs := range []int{1, 2} {
		t.Run(fmt.Sprint(procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			r, err := Open(file, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			buf := make([]byte, 64<<10)
			read := func() {
				for _, h := range hashes {
					rc, err := r.OpenBlob(h)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := io.CopyBuffer(io.Discard, rc, buf); err != nil {
						t.Fatalf("blob %s: %v", h, err)
					}
					rc.Close()
				}
			}
			read() // fills the pools
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			read()
			runtime.ReadMemStats(&after)
			alloc := int64(after.TotalAlloc - before.TotalAlloc)
			// The readers themselves: a few KiB a blob.
			limit := int64(len(hashes)) * 8 << 10
			t.Logf("%d blobs, %d KiB: allocated %d KiB (limit %d KiB)", len(hashes), total>>10, alloc>>10, limit>>10)
			if alloc > limit && !raceEnabled {
				t.Errorf("reading %d blobs (%d bytes) allocated %d bytes, more than %d", len(hashes), total, alloc, limit)
			}
		})
	}
}

// TestSolidBlobReadConcurrent reads the blobs of a solid resource of large
// chunks from several goroutines at once, each from another blob on (as
// an apply's workers, or a mounted image's readers, do): chunks evicted
// while a reader holds them, decompressed ahead or waited for by several
// readers all give the right data.
func TestSolidBlobReadConcurrent(t *testing.T) {
	sizes := make([]int, 16)
	for i := range sizes {
		sizes[i] = 200<<10 + i*90<<10
	}
	file, data := solidReadFixture(t, sizes)
	for _, procs := range []int{1, 4} {
		t.Run(fmt.Sprint(procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			w, err := Open(file, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			es := solidBlobsInOrder(w)
			errs := make(chan error, 4)
			for g := range 4 {
				go func() {
					for k := range es {
						e := es[(k+g*len(es)/4)%len(es)]
						got, err := w.ReadBlob(e.Hash, 1<<30)
						if err == nil && !bytes.Equal(got, data[e.Hash]) {
							err = fmt.Errorf("blob %s: wrong data", e.Hash)
						}
						if err != nil {
							errs <- err
							return
						}
					}
					errs <- nil
				}()
			}
			for range 4 {
				if err := <-errs; err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// TestChunkCachePin: a chunk pinned for a reader about to read it stays in
// the cache while another reader goes on into the next chunk, and is not
// decompressed again when the first reader asks for it (an apply's
// workers at a chunk boundary).
func TestChunkCachePin(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2)) // one chunk cached, none read ahead
	w, data := openSolidReadFixture(t, []int{3 << 20})
	e := solidBlobsInOrder(w)[0]
	rc, err := w.OpenBlob(e.Hash)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := make([]byte, len(data[e.Hash]))
	if _, err := io.ReadFull(rc, got[:1<<19]); err != nil { // in chunk 0
		t.Fatal(err)
	}
	pin := w.cache.pin(chunkKey{e.Solid.Res.Offset, 0})
	if pin == nil {
		t.Fatal("chunk 0 is not cached")
	}
	if _, err := io.ReadFull(rc, got[1<<19:3<<19]); err != nil { // into chunk 1
		t.Fatal(err)
	}
	w.cache.decMu.Lock()
	fills := w.cache.fills
	w.cache.decMu.Unlock()
	rc2, err := w.OpenBlob(e.Hash)
	if err != nil {
		t.Fatal(err)
	}
	defer rc2.Close()
	got2 := make([]byte, 1<<19)
	if _, err := io.ReadFull(rc2, got2); err != nil {
		t.Fatal(err)
	}
	w.cache.release(pin)
	w.cache.decMu.Lock()
	if w.cache.fills != fills {
		t.Errorf("chunk 0, pinned, decompressed again (%d fills, want %d)", w.cache.fills, fills)
	}
	w.cache.decMu.Unlock()
	if !bytes.Equal(got[:3<<19], data[e.Hash][:3<<19]) || !bytes.Equal(got2, data[e.Hash][:1<<19]) {
		t.Error("wrong data")
	}
}

// TestOpenBlobPinnedTakesPin: a reader opened with a pin of its blob's
// first chunk holds that chunk by the pin, not by a reference of its own,
// and gives it back when it goes on to the next chunk; a pin of another
// chunk stays its holder's. Every chunk is idle once all is given back.
func TestOpenBlobPinnedTakesPin(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2)) // one chunk cached, none read ahead
	w, data := openSolidReadFixture(t, []int{3 << 20})
	e := solidBlobsInOrder(w)[0]
	want := data[e.Hash]
	if _, err := w.ReadBlob(e.Hash, e.Size()); err != nil { // leaves chunk 2 cached
		t.Fatal(err)
	}
	refs := func(x *cachedChunk) int {
		w.cache.mu.Lock()
		defer w.cache.mu.Unlock()
		return x.refs
	}
	key := func(i int64) chunkKey { return chunkKey{e.Solid.Res.Offset, i} }

	// A pin of chunk 2 is not the first chunk's: the reader leaves it.
	other := w.cache.pin(key(2))
	if other == nil {
		t.Fatal("chunk 2 is not cached")
	}
	p := other
	rc, err := w.openBlobPinned(e.Hash, &p)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(rc, got[:1<<10]); err != nil {
		t.Fatal(err)
	}
	if p != other || refs(other) != 1 {
		t.Errorf("a pin of chunk 2 taken by a reader of chunk 0 (pin %p, want %p; %d refs, want 1)", p, other, refs(other))
	}
	rc.Close()
	w.cache.release(other)

	// A pin of chunk 0: the reader takes it over.
	pinned := w.cache.pin(key(0))
	if pinned == nil {
		t.Fatal("chunk 0 is not cached after a read of it")
	}
	p = pinned
	rc, err = w.openBlobPinned(e.Hash, &p)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, got[:1<<10]); err != nil {
		t.Fatal(err)
	}
	if p != nil || refs(pinned) != 1 {
		t.Errorf("after a read of chunk 0: pin %p, want nil (taken over); %d refs, want 1", p, refs(pinned))
	}
	if _, err := io.ReadFull(rc, got[1<<10:]); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("wrong data")
	}
	if n := refs(pinned); n != 0 {
		t.Errorf("chunk 0 held %d times once the reader went past it; want 0", n)
	}
	rc.Close()
	w.cache.mu.Lock()
	defer w.cache.mu.Unlock()
	for _, x := range w.cache.ents {
		if !x.idle() {
			t.Errorf("chunk %d still held (%d refs) with every reader closed", x.key.index, x.refs)
		}
	}
}

// tableCountingReader counts the reads of a file's bytes that start at
// one offset.
type tableCountingReader struct {
	b     []byte
	at    int64
	reads atomic.Int64
}

func (c *tableCountingReader) ReadAt(p []byte, off int64) (int, error) {
	if off == c.at {
		c.reads.Add(1)
	}
	return bytes.NewReader(c.b).ReadAt(p, off)
}

// TestSolidTableReadOnce reads every blob of a solid resource on its own,
// from two goroutines, and checks that the resource's chunk table is read
// from the file once: each blob's reader used to read it again (an apply
// of an ESD of tree A: 37,000 reads of the same 28 bytes).
func TestSolidTableReadOnce(t *testing.T) {
	sizes := slices.Repeat([]int{150 << 10}, 40)
	file, data := solidReadFixture(t, sizes)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ra := &tableCountingReader{b: b, at: -1} // none until the table's offset is known
	w, err := NewReader(ra, int64(len(b)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	es, r := solidBlobsAndResource(t, w)
	if r.nchunks < 4 {
		t.Fatalf("%d chunks; the fixture needs several", r.nchunks)
	}
	ra.at = r.tableOff
	var wg sync.WaitGroup
	for k := range 2 {
		wg.Go(func() {
			for i := k; i < len(es); i += 2 {
				got, err := w.ReadBlob(es[i].Hash, 1<<30)
				if err != nil || !bytes.Equal(got, data[es[i].Hash]) {
					t.Errorf("blob at %d: %v (%d bytes, want %d)", es[i].SolidOffset, err, len(got), es[i].Size())
				}
			}
		})
	}
	wg.Wait()
	if n := ra.reads.Load(); n != 1 {
		t.Errorf("chunk table read %d times for %d blobs, want once", n, len(es))
	}
}

// TestChunkCacheWaitsForHolder has one reader hold chunk 0 while another
// asks for chunk 1 with the cache full (one chunk, no read ahead): the
// second waits for the first to give chunk 0 back and decompresses chunk
// 1 into its buffer, rather than take a buffer of its own (an apply's two
// workers kept two 64 MiB chunk buffers so). A reader that asks for chunk
// 1 while itself holding chunk 0 waits no longer than freeWait.
func TestChunkCacheWaitsForHolder(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2)) // one chunk cached, none read ahead
	w, data := openSolidReadFixture(t, []int{1 << 20, 1 << 20})
	es := solidBlobsInOrder(w)
	if es[0].SolidOffset != 0 || es[1].SolidOffset != 1<<20 {
		t.Fatalf("blobs at %d and %d; want one per chunk", es[0].SolidOffset, es[1].SolidOffset)
	}
	read := func(e BlobEntry, n int) (io.ReadCloser, []byte) {
		rc, err := w.OpenBlob(e.Hash)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(rc, b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, data[e.Hash][:n]) {
			t.Fatal("wrong data")
		}
		return rc, b
	}
	rc0, _ := read(es[0], 100) // holds chunk 0
	buf0 := &w.cache.ents[0].mem.b[0]
	released := make(chan time.Time, 1)
	go func() {
		time.Sleep(20 * time.Millisecond)
		released <- time.Now()
		rc0.Close()
	}()
	rc1, _ := read(es[1], 1<<20)
	done := time.Now()
	if at := <-released; done.Before(at) {
		t.Error("chunk 1 read before chunk 0 was given back")
	}
	w.cache.mu.Lock()
	if len(w.cache.ents) != 1 || &w.cache.ents[0].mem.b[0] != buf0 || w.cache.waits != 1 {
		t.Errorf("%d chunks cached, chunk 1 in chunk 0's buffer: %v, %d waits; want 1, true, 1",
			len(w.cache.ents), &w.cache.ents[0].mem.b[0] == buf0, w.cache.waits)
	}
	w.cache.mu.Unlock()

	// Holding chunk 1, ask for chunk 0.
	start := time.Now()
	rc0, _ = read(es[0], 100)
	if d := time.Since(start); d < freeWait || d > 20*freeWait {
		t.Errorf("chunk 0 read in %v while the reader held chunk 1; want the wait bounded by %v", d, freeWait)
	}
	rc0.Close()
	rc1.Close()
}

// TestSolidTablesKeyedByBytes: two solid resources of a hostile file that
// name the same chunk table offset and entry count, one with 4-byte
// entries and one with 8, each get a table of the length they index.
func TestSolidTablesKeyedByBytes(t *testing.T) {
	file := make([]byte, 4096)
	for i := range file {
		file[i] = byte(i)
	}
	w := &WIM{ra: bytes.NewReader(file)}
	for _, entSize := range []int64{4, 8, 4} {
		r := &resource{w: w, solid: true, tableOff: 100, nentries: 16, entSize: entSize}
		it := r.blobIter()
		if !it.shared {
			t.Fatalf("%d-byte entries: table not kept", entSize)
		}
		if want := 16 * entSize; int64(len(it.buf)) != want || !bytes.Equal(it.buf, file[100:100+want]) {
			t.Errorf("%d-byte entries: a table of %d bytes, want the %d at offset 100", entSize, len(it.buf), want)
		}
	}
	if got := len(w.tables.m); got != 2 {
		t.Errorf("%d tables kept for two lengths, want 2", got)
	}
}
