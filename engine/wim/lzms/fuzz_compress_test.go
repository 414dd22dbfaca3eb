package lzms

import (
	"bytes"
	"testing"
)

// fuzzCompressMax bounds the chunks FuzzCompressRoundTrip compresses.
const fuzzCompressMax = 128 << 10

// FuzzCompressRoundTrip compresses the input (grown by up to 255*64 bytes of
// slightly varied copies of itself, to reach larger sizes cheaply) as the
// WIM writer does (dst one byte shorter) and with room to spare, and checks
// that our decompressor restores it. The seeds are the data of the golden
// chunks in testdata (their first 4 KiB) and a few small inputs.
func FuzzCompressRoundTrip(f *testing.F) {
	d := mustDecompressor(f, fuzzCompressMax)
	for _, g := range loadGoldens(f) {
		out := make([]byte, g.size)
		if err := d.Decompress(out, g.src); err != nil {
			f.Fatalf("golden %s: %v", g.name, err)
		}
		// At most 4 KiB of each: the fuzzer minimises every input it
		// finds interesting, which takes long on large ones.
		f.Add(out[:min(len(out), 4096)], uint8(0))
	}
	f.Add([]byte("hello, hello, hello world"), uint8(3))
	f.Add(e8Calls(50), uint8(40))
	f.Add(make([]byte, 100), uint8(200))
	f.Add([]byte{0}, uint8(0))
	f.Add([]byte{1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233}, uint8(255))
	c := mustCompressor(f, fuzzCompressMax)
	f.Fuzz(func(t *testing.T, data []byte, grow uint8) {
		src := data
		if want := min(len(data)+64*int(grow), fuzzCompressMax); len(data) > 0 && want > len(data) {
			src = make([]byte, 0, want)
			for len(src) < want {
				src = append(src, data[:min(len(data), want-len(src))]...)
				if len(src) < want {
					src = append(src, byte(len(src)))
				}
			}
		}
		src = src[:min(len(src), fuzzCompressMax)]
		for _, room := range []int{len(src) - 1, 2*len(src) + 64} {
			if room < 0 {
				continue
			}
			dst := make([]byte, room)
			n := c.Compress(dst, src)
			if n < 0 || n > room || n%2 != 0 || (n > 0 && n < 4) {
				t.Fatalf("Compress returned %d for %d bytes into %d", n, len(src), room)
			}
			if n == 0 {
				if room > len(src) && len(src) > 0 {
					t.Fatalf("Compress of %d bytes did not fit in %d", len(src), room)
				}
				continue
			}
			out := make([]byte, len(src))
			if err := d.Decompress(out, dst[:n]); err != nil {
				t.Fatalf("decompress (%d -> %d bytes): %v", len(src), n, err)
			}
			if !bytes.Equal(out, src) {
				t.Fatalf("round trip of %d bytes differs at %d", len(src), firstDiff(out, src))
			}
		}
	})
}
