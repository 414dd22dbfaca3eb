package lzx

import (
	"slices"
	"testing"
)

// TestCompressFastNoAllocs checks that the fast level, once warm, compresses
// without allocating, with 16-bit and 32-bit hash chains, whole regions and
// split ones.
func TestCompressFastNoAllocs(t *testing.T) {
	syn := ctSynthetic()
	for _, tc := range []struct {
		chunk int
		src   []byte
	}{
		{32768, slices.Concat(syn["text"][:12000], syn["random"][:8000], syn["e8code"][:12768])},
		{32768, syn["text"][:5000]},
		{1 << 20, slices.Concat(syn["text"][:150000], syn["e8code"][:100000], syn["records"][:50000])},
	} {
		c, err := NewCompressorLevel(tc.chunk, LevelFast)
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]byte, len(tc.src)-1)
		c.Compress(dst, tc.src)
		if n := testing.AllocsPerRun(5, func() { c.Compress(dst, tc.src) }); n != 0 {
			t.Errorf("chunk size %d, %d bytes: Compress allocates %v times per call", tc.chunk, len(tc.src), n)
		}
	}
}
