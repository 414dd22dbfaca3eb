package lzms

import (
	"bytes"
	"testing"
)

// fuzzMaxSize bounds the uncompressed size the fuzz target asks for.
const fuzzMaxSize = 256 << 10

// FuzzDecompress feeds arbitrary chunks and sizes to the decompressor. It
// must not panic or hang, and must give the same result when a used
// decompressor is reused. The corpus in testdata/fuzz/FuzzDecompress holds
// real libwim-compressed chunks (the golden chunks of TestGolden).
func FuzzDecompress(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0}, 1)
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, 100)
	f.Add(bytes.Repeat([]byte{0x55, 0xAA}, 50), 1000)
	d := mustDecompressor(f, fuzzMaxSize)
	f.Fuzz(func(t *testing.T, src []byte, size int) {
		if size < 0 {
			size = -size
		}
		size %= fuzzMaxSize + 1
		out := make([]byte, size)
		err := d.Decompress(out, src)

		// Decompress other data in between, then the same again: the
		// result must not depend on what the decompressor did before.
		_ = d.Decompress(make([]byte, 1000), []byte{1, 2, 3, 4, 5, 6, 7, 8})
		out2 := make([]byte, size)
		err2 := d.Decompress(out2, src)
		if (err == nil) != (err2 == nil) || (err == nil && !bytes.Equal(out, out2)) {
			t.Fatalf("second run differs: %v then %v", err, err2)
		}
	})
}
