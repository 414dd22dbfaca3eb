package lzms

import (
	"bytes"
	"testing"
)

// TestDecompressReleasing: the input DecompressReleasing reports as read
// for good is not read again. The test overwrites it at each report (a
// caller gives those pages back: they read as zeros after) and the output
// must still be the data; the reports come every step of output or so,
// each further into the input from both ends, and the output is
// Decompress's. Text, x86 code and delta data, so that every item kind and
// the x86 filter are decoded across stage ends.
func TestDecompressReleasing(t *testing.T) {
	const n = 2 << 20
	const step = 128 << 10
	data := append(append(synthText(n/3, 1), synthX86(n/3, 2)...), synthDelta(n-2*(n/3), 3)...)
	c := mustCompressor(t, n)
	comp := make([]byte, n-1)
	size := c.Compress(comp, data)
	if size == 0 {
		t.Fatal("data did not compress")
	}
	comp = comp[:size]
	d := mustDecompressor(t, n)
	src := bytes.Clone(comp)
	got := make([]byte, n)
	var calls int
	lastFront, lastBack := 0, len(src)
	err := d.DecompressReleasing(got, src, step, func(front, back int) {
		calls++
		if front < lastFront || back > lastBack || front < 0 || back > len(src) {
			t.Fatalf("report %d: read up to %d from the front and from %d at the back, after %d and %d", calls, front, back, lastFront, lastBack)
		}
		lastFront, lastBack = front, back
		clear(src[:front])
		clear(src[max(back, front):])
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("output differs from the data once the input reported read was overwritten")
	}
	if want := n/step - 1; calls < want/2 || calls > want {
		t.Errorf("%d reports for %d bytes of output in steps of %d, want about %d", calls, n, step, want)
	}
	if lastFront == 0 || lastBack == size {
		t.Errorf("last report: front %d, back %d of %d: the input read was not reported", lastFront, lastBack, size)
	}
	// Without a step, as Decompress; and the decompressor keeps no
	// report function after.
	clear(got)
	if err := d.Decompress(got, comp); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Decompress after DecompressReleasing: err %v, output equal %v", err, bytes.Equal(got, data))
	}
}
