package wim

import (
	"bytes"
	"io"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// residentPages returns how many pages of the mapped buffer b are in
// memory.
func residentPages(t *testing.T, b []byte) int {
	t.Helper()
	vec := make([]byte, (len(b)+unix.Getpagesize()-1)/unix.Getpagesize())
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatal(e)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// TestSolidOutputPagesDropped: once a chunk's output is written, its
// buffer (mapped outside the heap) holds no pages in memory, so that a
// chunk that barely compressed does not leave a whole chunk's worth of
// pages to the writer's end (see putSolidOut). A chunk that compresses
// and one that does not, one worker; the file reads back.
func TestSolidOutputPagesDropped(t *testing.T) {
	const chunk = 1 << 20
	data := append(solidText(11, chunk), solidNoise(12, chunk/2)...)
	file := filepath.Join(t.TempDir(), "x.esd")
	w, err := Create(file, WriteOptions{Compression: LZMS, Solid: true, SolidCompression: LZMS, SolidChunkSize: chunk, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	// AddImage returns once every chunk before the metadata is written.
	h := writeBlobImage(t, w, bytes.NewReader(data), int64(len(data)), "one")
	w.solid.cmu.Lock()
	outs := append([][]byte(nil), w.solid.outs...)
	w.solid.cmu.Unlock()
	if len(outs) == 0 {
		t.Fatal("no output buffer kept for another chunk")
	}
	for i, b := range outs {
		if !w.solid.mappedOuts[&b[0]] {
			t.Errorf("output buffer %d is not mapped outside the heap", i)
			continue
		}
		if n := residentPages(t, b); n != 0 {
			t.Errorf("output buffer %d holds %d pages in memory after its chunk was written, want 0", i, n)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	checkSolidBlob(t, file, h, data, chunk)
}

// TestPageReleaser: the release function of pageReleaser gives back the
// whole pages before front and from back on (rounded inward, so that bytes
// still to be read keep their page), each once, and nothing of a buffer
// beyond the n bytes it reads.
func TestPageReleaser(t *testing.T) {
	p := unix.Getpagesize()
	b, free := mapBuf(int64(20*p), false)
	if b == nil {
		t.Skip("no mapped buffer")
	}
	defer free()
	for i := range b {
		b[i] = 1
	}
	rel := pageReleaser(b, 15*p+100) // 16 pages read; 4 beyond
	rel(3*p+5, 10*p-7)
	if n := residentPages(t, b); n != 20-3-6 {
		t.Errorf("after release(3p+5, 10p-7): %d pages resident, want %d (pages 3-9 and the 4 beyond the input)", n, 20-3-6)
	}
	if b[3*p] != 1 || b[10*p-1] != 1 {
		t.Error("released pages still to be read")
	}
	// Ends that cross (never in valid data) release the rest once.
	rel(12*p, 9*p)
	if n := residentPages(t, b); n != 4 {
		t.Errorf("after release(12p, 9p): %d pages resident, want 4", n)
	}
	// (Reading a page given back maps it again: checked last.)
	if b[0] != 0 || b[5*p] != 0 || b[15*p] != 0 || b[16*p] != 1 {
		t.Error("released the wrong pages")
	}
}

// TestChunkCachePages: the chunk cache holds a solid chunk outside the
// heap, gives back its compressed bytes' pages once it is decompressed
// (LZMS chunks, released as the decoder goes), and keeps a chunk a reader
// holds mapped after the file is closed: the reader reads the rest of that
// chunk, then fails with an error (not a fault) on the next.
func TestChunkCachePages(t *testing.T) {
	const chunk = 2 << 20
	data := solidText(21, 5<<20)
	file := filepath.Join(t.TempDir(), "x.esd")
	h := writeSolidBlob(t, file, bytes.NewReader(data), int64(len(data)), WriteOptions{Compression: LZMS, Solid: true, SolidCompression: LZMS, SolidChunkSize: chunk, Threads: 2})
	checkSolidBlob(t, file, h, data, chunk)

	w, err := Open(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rc, err := w.OpenBlob(h)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 2*chunk)
	if _, err := io.ReadFull(rc, got[:chunk/2]); err != nil {
		t.Fatal(err)
	}
	w.cache.mu.Lock()
	held := w.cache.ents[len(w.cache.ents)-1].mem
	w.cache.mu.Unlock()
	if held.unmap == nil {
		t.Fatal("the cached chunk is on the heap")
	}
	w.cache.decMu.Lock()
	cb := w.cache.cbuf
	w.cache.decMu.Unlock()
	if cb == nil || cb.unmap == nil {
		t.Fatal("the compressed bytes' buffer is not mapped")
	}
	if n := residentPages(t, cb.b); n != 0 {
		t.Errorf("the compressed bytes' buffer holds %d pages once the chunk is decompressed, want 0", n)
	}
	// Into the second chunk, then close the file.
	if _, err := io.ReadFull(rc, got[chunk/2:chunk+chunk/4]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	n, err := io.ReadFull(rc, got[chunk+chunk/4:])
	if n != 3*chunk/4 || err != nil {
		t.Fatalf("read the rest of a held chunk after Close: %d bytes, %v; want %d, nil", n, err, 3*chunk/4)
	}
	if !bytes.Equal(got, data[:len(got)]) {
		t.Fatal("wrong data")
	}
	if _, err := rc.Read(got[:1]); err == nil {
		t.Error("read past the held chunk of a closed file: no error")
	}
	rc.Close()
}
