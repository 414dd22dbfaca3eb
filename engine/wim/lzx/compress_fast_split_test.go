package lzx

import (
	"slices"
	"testing"
)

// TestFastSplit checks the fast level's block splitting on 32 KiB chunks:
// a chunk of two kinds of data is cut near where they meet, and the output
// is smaller than one block's; a chunk of one kind, or shorter than
// fastSplitMin, stays whole; every chunk still decodes (ours and libwim's).
func TestFastSplit(t *testing.T) {
	syn := ctSynthetic()
	const chunk = 32768
	for _, tc := range []struct {
		name  string
		data  []byte
		cutAt int // where the kinds meet (0: one kind, no cut)
	}{
		{"text then code", slices.Concat(syn["text"][:20000], syn["e8code"][:12768]), 20000},
		{"code then skewed", slices.Concat(syn["e8code"][:8192], syn["skew"][:24576]), 8192},
		{"text", syn["text"][:chunk], 0},
		{"short text then code", slices.Concat(syn["text"][:1000], syn["e8code"][:1000]), 0},
		// Below fastSplitMin a region is not split, though it would
		// save a little.
		{"12 KiB of skewed then text", slices.Concat(syn["skew"][:6000], syn["text"][:6000]), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewCompressorLevel(chunk, LevelFast)
			if err != nil {
				t.Fatal(err)
			}
			d, err := NewDecompressor(chunk)
			if err != nil {
				t.Fatal(err)
			}
			n := ctRoundTrip(t, c, d, chunk, tc.data, 2*len(tc.data))
			bounds := slices.Clone(c.bounds)
			if tc.cutAt == 0 {
				if len(bounds) != 1 {
					t.Errorf("blocks end at %v, want one block", bounds)
				}
				return
			}
			seg := len(tc.data) / fastSplitSegs
			if len(bounds) != 2 || bounds[0] < tc.cutAt-seg || bounds[0] > tc.cutAt+seg {
				t.Fatalf("blocks end at %v, want a cut within %d bytes of %d", bounds, seg, tc.cutAt)
			}
			c.params.split = false
			whole := ctRoundTrip(t, c, d, chunk, tc.data, 2*len(tc.data))
			if len(c.bounds) != 1 {
				t.Fatalf("without splitting, blocks end at %v", c.bounds)
			}
			if n >= whole {
				t.Errorf("cut at %d: %d bytes, no smaller than one block's %d", bounds[0], n, whole)
			}
		})
	}
}
