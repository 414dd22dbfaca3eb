package wim

import (
	"bytes"
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
