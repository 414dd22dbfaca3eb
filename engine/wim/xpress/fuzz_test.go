package xpress

import (
	"bytes"
	"testing"
)

// fuzzSeeds are small inputs whose compressed forms seed FuzzDecompress.
var fuzzSeeds = [][]byte{
	{},
	{'a'},
	[]byte("abcabcabcabcabcabc"),
	[]byte("Hello, hello, hello, WIM world! Hello, WIM."),
	bytes.Repeat([]byte{0}, 300),
	bytes.Repeat([]byte("0123456789"), 40),
	append(bytes.Repeat([]byte{7}, 20), []byte("some literal tail with a few repeats repeats")...),
}

// FuzzDecompress feeds arbitrary input and sizes to the decoder: it must
// return, with or without an error, and never panic.
func FuzzDecompress(f *testing.F) {
	c, _ := NewCompressor(MaxChunkSize)
	dst := make([]byte, 4096)
	for _, s := range fuzzSeeds {
		n := c.Compress(dst, s)
		f.Add(append([]byte(nil), dst[:n]...), uint16(len(s)))
	}
	f.Add(comp0, uint16(2000))
	f.Add(make([]byte, 300), uint16(10))
	d := NewDecompressor()
	out := make([]byte, 1<<16)
	f.Fuzz(func(t *testing.T, src []byte, size uint16) {
		_ = d.Decompress(out[:size], src)
	})
}

// FuzzRoundTrip compresses arbitrary data and decompresses it again.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	c, _ := NewCompressor(MaxChunkSize)
	d := NewDecompressor()
	dst := make([]byte, 2*MaxChunkSize)
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > MaxChunkSize {
			src = src[:MaxChunkSize]
		}
		n := c.Compress(dst, src)
		if n == 0 {
			t.Fatalf("Compress(%d bytes) into %d bytes failed", len(src), len(dst))
		}
		out := make([]byte, len(src))
		if err := d.Decompress(out, dst[:n]); err != nil {
			t.Fatalf("Decompress: %v", err)
		}
		if !bytes.Equal(out, src) {
			t.Fatalf("round trip differs at byte %d", firstDiff(out, src))
		}
		// Demanding that the data shrink gives the same bytes or 0.
		if len(src) > 0 {
			m := c.Compress(dst[:len(src)-1], src)
			if m != 0 && m != n {
				t.Fatalf("Compress into %d bytes = %d, want 0 or %d", len(src)-1, m, n)
			}
		}
	})
}
