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

// TestHashChainsBruteForce checks the fast level's match finder against a
// search of every earlier position: with no depth limit, the match it
// returns is real, within reach, longer than the minimum asked for, and as
// long as the longest one of 4 bytes or more (a match of 3 comes from a
// one-entry table, so it may be missed, never invented). Chunks of several
// sizes (the tables grow with them), positions inserted without a search
// (inside matches), 16-bit and 32-bit links, the fixed-size 16-bit finder
// of 32 KiB chunks, and a small reach.
func TestHashChainsBruteForce(t *testing.T) {
	syn := ctSynthetic()
	for _, tc := range []struct {
		name   string
		data   []byte
		maxOff uint32
	}{
		{"text 100", syn["text"][:100], 1<<15 - 3},
		{"text 3000", syn["text"][:3000], 1<<15 - 3},
		{"code 16384", syn["e8code"][:16384], 1<<15 - 3},
		{"records 8000", syn["records"][:8000], 1<<15 - 3},
		{"random then text", slices.Concat(syn["random"][:5000], syn["text"][:5000], syn["random"][:2000]), 1<<15 - 3},
		{"text, reach 700", syn["text"][:9000], 700},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hc16 := newHashChains[uint16](32768, tc.maxOff)
			hc32 := newHashChains[uint32](32768, tc.maxOff)
			ctCheckChains(t, tc.data, tc.maxOff, hc16.reset, hc16.insert, hc16.longest)
			ctCheckChains(t, tc.data, tc.maxOff, hc32.reset, hc32.insert, hc32.longest)
			if tc.maxOff >= 1<<15-3 { // hashChains16 serves 32 KiB windows only
				h := newHashChains16()
				ctCheckChains(t, tc.data, tc.maxOff, h.reset, h.insert, h.longest)
			}
		})
	}
}

func ctCheckChains(t *testing.T, data []byte, maxOff uint32, reset func([]byte), insert func(int), longest func(pos, minLen, maxLen, nice, depth int) (int, uint32)) {
	t.Helper()
	reset(data)
	for pos := 0; pos+4 <= len(data); pos++ {
		maxLen := min(maxMatchLen, len(data)-pos)
		if pos%7 == 3 || maxLen < 4 {
			insert(pos) // as inside a match
			continue
		}
		minLen := []int{0, 0, 3, 5}[pos%4]
		l, off := longest(pos, minLen, maxLen, maxLen, 1<<30)
		// The longest match by brute force.
		want := 0
		for m := pos - 1; m >= 0 && uint32(pos-m) <= maxOff; m-- {
			n := 0
			for n < maxLen && data[m+n] == data[pos+n] {
				n++
			}
			want = max(want, n)
		}
		switch {
		case l == 0 && off == 0:
			if want >= 4 && want > minLen {
				t.Fatalf("position %d: no match, want one of %d bytes (more than %d)", pos, want, minLen)
			}
		case l <= minLen || l < 3 || off == 0 || off > maxOff || int(off) > pos:
			t.Fatalf("position %d: match of %d bytes at offset %d (more than %d asked, reach %d)", pos, l, off, minLen, maxOff)
		case !slices.Equal(data[pos:pos+l], data[pos-int(off):pos-int(off)+l]):
			t.Fatalf("position %d: %d bytes at offset %d do not match", pos, l, off)
		case l > want || (want >= 4 && l != want):
			t.Fatalf("position %d: match of %d bytes, longest is %d", pos, l, want)
		}
	}
}

// TestHashChains16NextHashes: longest takes the hashes of its position
// from the search before it (the next position's, worked out there); a new
// chunk must not take those the last chunk's last search left. Chunk a's
// search at 4 works out the hashes of position 5 ("zzzz"); chunk b, after
// positions 0..4 are inserted, searches position 5 ("bcde", 5 bytes back).
func TestHashChains16NextHashes(t *testing.T) {
	a := []byte("zzzzzzzzzzzzzzzz")
	b := []byte("bcdeXbcdeYYYYYYY")
	h := newHashChains16()
	h.reset(a)
	for p := range 4 {
		h.insert(p)
	}
	h.longest(4, 0, len(a)-4, len(a)-4, 64)
	h.reset(b)
	for p := range 5 {
		h.insert(p)
	}
	if l, off := h.longest(5, 0, len(b)-5, len(b)-5, 64); l != 4 || off != 5 {
		t.Fatalf("position 5 of the second chunk: match of %d bytes at offset %d, want 4 at 5", l, off)
	}
}

// TestFastMatchWindow checks hashChains16.fastMatch, the repeat offset
// search over the window, against Compressor.fastMatch over the chunk: the
// same match, code and gain at every position, for explicit matches of
// several lengths and offsets and queues of near, far and out-of-reach
// offsets, also at the chunk's last bytes, where the window's loads read
// past the chunk into bytes a longer chunk left there (here the
// continuation of the chunk's own repeats, for a few bytes or many, which
// must not lengthen a match).
func TestFastMatchWindow(t *testing.T) {
	syn := ctSynthetic()
	rep := []byte("abcabcabcabcabcabcabcabcabcabcabcabcabcabc")
	for _, tc := range []struct {
		name        string
		before, src []byte // before: the chunk compressed before src
	}{
		{"text", nil, syn["text"][:3000]},
		{"records", nil, syn["records"][:3000]},
		{"code", syn["random"][:8000], syn["e8code"][:2000]},
		{"short repeat, longer one before", slices.Repeat(rep, 40), rep[:21]},
		{"short repeat, a few bytes more before", slices.Concat(rep[:24], []byte("zzzzzzzzzzzz")), rep[:21]},
		{"zeros, longer before", make([]byte, 4000), make([]byte, 300)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewCompressorLevel(32768, LevelFast)
			if err != nil {
				t.Fatal(err)
			}
			h := c.hc16
			if tc.before != nil {
				h.reset(tc.before)
			}
			h.reset(tc.src)
			data := h.window(len(tc.src))
			queues := [][3]uint32{{1, 1, 1}, {1, 2, 3}, {3, 6, 9}, {4, 100, 2999}, {5000, 7, 1}, {12, 24, 48}}
			for pos := 1; pos+4 <= len(data); pos++ {
				maxL := min(maxMatchLen, len(data)-pos)
				for _, qo := range queues {
					q := recentOffsets(qo[0]) | recentOffsets(qo[1])<<recentBits | recentOffsets(qo[2])<<(2*recentBits)
					for _, l := range []int{2, 3, 4, 9, maxL} {
						for _, off := range []uint32{qo[0], qo[1], qo[2], 1, 5, 9000} {
							if l > maxL || int(off) > pos {
								continue
							}
							wl, wc, wg := c.fastMatch(data, pos, maxL, l, off, q)
							gl, gc, gg := h.fastMatch(pos, maxL, l, off, q)
							if gl != wl || gc != wc || gg != wg {
								t.Fatalf("position %d of %d, queue %v, match %d at %d: window search gives (%d, %d, %d), want (%d, %d, %d)",
									pos, len(data), qo, l, off, gl, gc, gg, wl, wc, wg)
							}
						}
					}
				}
			}
		})
	}
}
