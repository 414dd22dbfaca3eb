package lzx

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle/libwim"
)

// ctReadFiles returns up to limit bytes taken from the regular files
// matching the glob patterns, in sorted order, at most perFile bytes from
// each and skipping files smaller than minSize.
func ctReadFiles(limit, perFile, minSize int, patterns ...string) []byte {
	var names []string
	for _, p := range patterns {
		m, _ := filepath.Glob(p)
		names = append(names, m...)
	}
	slices.Sort(names)
	var out []byte
	for _, name := range names {
		if len(out) >= limit {
			break
		}
		fi, err := os.Stat(name)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() < int64(minSize) {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		out = append(out, b[:min(len(b), perFile, limit-len(out))]...)
	}
	return out
}

// ctSynthetic returns generated inputs that do not depend on the machine.
var ctSynthetic = sync.OnceValue(func() map[string][]byte {
	r := rand.New(rand.NewPCG(7, 11))
	m := map[string][]byte{}

	words := []string{"the", "image", "window", "deployment", "server", "of", "and", "a",
		"compression", "chunk", "offset", "match", "literal", "Huffman", "block", "\n"}
	var text bytes.Buffer
	for text.Len() < 300000 {
		text.WriteString(words[r.IntN(len(words))])
		text.WriteByte(" ,. "[r.IntN(4)])
	}
	m["text"] = text.Bytes()

	// x86-like code: many E8 (call) bytes with nearby relative targets,
	// including E8 bytes in the last 10 bytes of chunks.
	code := make([]byte, 300000)
	for i := 0; i < len(code); {
		switch r.IntN(6) {
		case 0:
			code[i] = 0xE8
			if i+5 <= len(code) {
				t := int32(r.IntN(20000) - 10000)
				code[i+1], code[i+2], code[i+3], code[i+4] = byte(t), byte(t>>8), byte(t>>16), byte(t>>24)
			}
			i += 5
		case 1:
			code[i] = 0xE8
			i++
		default:
			copy(code[i:], []byte{0x48, 0x89, 0xC7, 0x8B, 0x45, 0xF8}[:min(len(code)-i, 2+r.IntN(4))])
			i += 2 + r.IntN(4)
		}
	}
	m["e8code"] = code

	rnd := make([]byte, 200000)
	for i := range rnd {
		rnd[i] = byte(r.Uint32())
	}
	m["random"] = rnd
	m["zeros"] = make([]byte, 200000)

	// Mixed: random then text then random, so that block types and
	// uncompressed blocks get exercised within a chunk.
	mixed := slices.Concat(rnd[:20000], m["text"][:30000], rnd[20000:23000], m["text"][30000:60000])
	m["mixed"] = mixed

	// Records with small changes: repeat offsets and gap matches.
	var rec bytes.Buffer
	for i := 0; rec.Len() < 200000; i++ {
		fmt.Fprintf(&rec, "rec%06d|%08x|%c|padpadpad|", i, r.Uint32()&0xFF0F, 'A'+byte(i%7))
	}
	m["records"] = rec.Bytes()

	skew := make([]byte, 200000)
	for i := range skew {
		switch v := r.IntN(100); {
		case v < 60:
			skew[i] = 'a' + byte(v%3)
		case v < 90 && i > 300:
			skew[i] = skew[i-1-r.IntN(300)]
		default:
			skew[i] = byte(r.Uint32())
		}
	}
	m["skew"] = skew
	return m
})

// ctRoundTrip compresses src with c into a buffer of dstLen bytes and, if
// it fit, checks that our decompressor and (when linked) libwim's restore
// src. It returns the compressed size (0: did not fit).
func ctRoundTrip(t testing.TB, c *Compressor, d *Decompressor, chunk int, src []byte, dstLen int) int {
	t.Helper()
	dst := make([]byte, dstLen)
	n := c.Compress(dst, src)
	if n < 0 || n > dstLen {
		t.Fatalf("Compress returned %d for a %d-byte buffer", n, dstLen)
	}
	if n == 0 {
		return 0
	}
	comp := dst[:n]
	out := make([]byte, len(src))
	if err := d.Decompress(out, comp); err != nil {
		t.Fatalf("our decompressor rejects our %d-byte chunk (%d bytes in): %v", len(src), n, err)
	}
	if !bytes.Equal(out, src) {
		t.Fatalf("our decompressor: round trip of %d bytes differs at %d", len(src), ctFirstDiff(out, src))
	}
	if d.wimlibAlignDiffers {
		t.Fatalf("the chunk (%d bytes) has an uncompressed block that wimlib's decoder misreads", len(src))
	}
	if libwim.Available {
		got, err := libwim.Decompress(libwim.LZX, chunk, comp, len(src))
		if err != nil {
			t.Fatalf("libwim rejects our %d-byte chunk (%d bytes in): %v", len(src), n, err)
		}
		if !bytes.Equal(got, src) {
			t.Fatalf("libwim: round trip of %d bytes differs at %d", len(src), ctFirstDiff(got, src))
		}
	}
	return n
}

func ctFirstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestCompressRoundTrip(t *testing.T) {
	syn := ctSynthetic()
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range syn {
			if !yield(k) {
				return
			}
		}
	})
	sizes := []int{1, 2, 3, 10, 11, 63, 64, 100, 1000, 4095, 12345, 32767, 32768}
	c, err := NewCompressor(32768)
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDecompressor(32768)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		data := syn[name]
		for _, size := range sizes {
			for _, off := range []int{0, 777} {
				src := data[off : off+size]
				// Room for any output: the stream must always be valid.
				ctRoundTrip(t, c, d, 32768, src, 3*size+1024)
				// The WIM writer's demand: shrink or return 0.
				if size > 1 {
					n := ctRoundTrip(t, c, d, 32768, src, size-1)
					if n >= size {
						t.Fatalf("%s/%d: %d bytes do not shrink", name, size, n)
					}
				}
			}
		}
		t.Logf("%s ok", name)
	}
}

// ctCorpus returns the ratio corpus: real files of several kinds from this
// machine, at most perKind bytes of each kind.
func ctCorpus(perKind int) []struct {
	name string
	data []byte
} {
	kinds := []struct {
		name     string
		patterns []string
	}{
		{"so", []string{"/usr/lib/x86_64-linux-gnu/*.so*"}},
		{"bin", []string{"/usr/bin/*"}},
		{"man", []string{"/usr/share/man/man1/*", "/usr/share/man/man3/*"}},
		{"doc", []string{"/usr/share/doc/*/*"}},
		{"text", []string{"/usr/share/common-licenses/*", "/usr/include/*.h", "/usr/share/perl/*/*.pm"}},
		{"icons", []string{"/usr/share/icons/*/*/*/*", "/usr/share/icons/*/*/*"}},
	}
	var out []struct {
		name string
		data []byte
	}
	for _, k := range kinds {
		// Spread over the files: at most 1/8 of the kind from one file.
		b := ctReadFiles(perKind, max(perKind/8, 64<<10), 1, k.patterns...)
		if len(b) > 0 {
			out = append(out, struct {
				name string
				data []byte
			}{k.name, b})
		}
	}
	return out
}

var ctRatioCorpus = flag.Int("lzx.corpus", 512<<10, "bytes of each kind of file in TestRatioVsLibwim's corpus")

// TestRatioVsLibwim compares our compressed size with libwim's default
// level over a corpus of real files in 32 KiB chunks. Chunks that do not
// shrink count at their raw size on both sides, as a WIM stores them.
func TestRatioVsLibwim(t *testing.T) {
	libwim.Need(t)
	const chunk = 32768
	perKind := *ctRatioCorpus
	if testing.Short() {
		perKind = min(perKind, 256<<10)
	}
	corpus := ctCorpus(perKind)
	if len(corpus) < 4 {
		t.Fatalf("only %d kinds of corpus files found on this machine", len(corpus))
	}
	c, err := NewCompressor(chunk)
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDecompressor(chunk)
	if err != nil {
		t.Fatal(err)
	}
	var ours, theirs, raw int
	for _, k := range corpus {
		var o, l int
		for off := 0; off < len(k.data); off += chunk {
			src := k.data[off:min(off+chunk, len(k.data))]
			n := ctRoundTrip(t, c, d, chunk, src, len(src)-1)
			if n == 0 {
				n = len(src)
			}
			lc, err := libwim.Compress(libwim.LZX, chunk, 0, src)
			if err != nil {
				t.Fatal(err)
			}
			ln := len(lc)
			if lc == nil {
				ln = len(src)
			}
			o += n
			l += ln
		}
		t.Logf("%-6s %8d bytes: ours %8d, libwim %8d, ratio %.4f", k.name, len(k.data), o, l, float64(o)/float64(l))
		ours += o
		theirs += l
		raw += len(k.data)
	}
	ratio := float64(ours) / float64(theirs)
	t.Logf("total  %8d bytes: ours %8d, libwim %8d, ratio %.4f", raw, ours, theirs, ratio)
	if ratio > 1.02 {
		t.Errorf("compressed size is %.2f%% of libwim's (limit 102%%)", 100*ratio)
	}
}

// TestCompressUncompressedBlock checks that incompressible data within a
// chunk goes into uncompressed blocks, and that both decoders read them.
func TestCompressUncompressedBlock(t *testing.T) {
	syn := ctSynthetic()
	rnd, text := syn["random"], syn["text"]
	for _, chunk := range []int{32768, 65536} {
		c, err := NewCompressor(chunk)
		if err != nil {
			t.Fatal(err)
		}
		d, err := NewDecompressor(chunk)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name  string
			src   []byte
			inner bool // the random part is inside
		}{
			{"random+text", slices.Concat(rnd[:9999], text[:chunk-9999]), false},
			{"random+text", slices.Concat(rnd[:20000], text[:chunk-20000]), false},
			{"text+random", slices.Concat(text[:chunk-12345], rnd[:12345]), false},
			{"text+random+text", slices.Concat(text[:8000], rnd[:15001], text[8000:chunk-15001]), true},
			// An uncompressed 32768-byte block after a compressed one
			// must be avoided in windows over 32 KiB.
			{"text+random32768", slices.Concat(text[:max(chunk-32768, 1000)], rnd[:32768]), false},
		} {
			src := tc.src[:min(len(tc.src), chunk)]
			n := ctRoundTrip(t, c, d, chunk, src, len(src)-1)
			if n == 0 {
				t.Fatalf("chunk %d, %s: did not shrink", chunk, tc.name)
			}
			// Random data inside a 32 KiB chunk is split off, but its
			// block may take a little text with it and then code smaller
			// as a compressed block (18844 bytes against 18722 with an
			// uncompressed one): only the ends are checked.
			if c.rawBlocks == 0 && len(src) < 32768+12345 && !(tc.inner && chunk == 32768) {
				t.Errorf("chunk %d, %s: no uncompressed block", chunk, tc.name)
			}
			t.Logf("chunk %d, %s: %d -> %d bytes, %d uncompressed blocks", chunk, tc.name, len(src), n, c.rawBlocks)
		}
	}
}

func TestNewCompressor(t *testing.T) {
	for _, size := range []int{-1, 0, 1, 4096, 32767, 32769, 49152, 1 << 22, 3 << 20} {
		if c, err := NewCompressor(size); err == nil || c != nil {
			t.Errorf("NewCompressor(%d) = %v, %v; want an error", size, c, err)
		}
	}
	for order := minWindowOrder; order <= maxWindowOrder; order++ {
		if _, err := NewCompressor(1 << order); err != nil {
			t.Errorf("NewCompressor(%d): %v", 1<<order, err)
		}
	}
}

func TestCompressLimits(t *testing.T) {
	c, err := NewCompressor(32768)
	if err != nil {
		t.Fatal(err)
	}
	text := ctSynthetic()["text"]
	dst := make([]byte, 70000)
	if n := c.Compress(dst, nil); n != 0 {
		t.Errorf("empty input: %d bytes", n)
	}
	if n := c.Compress(dst, text[:32769]); n != 0 {
		t.Errorf("input longer than the chunk size: %d bytes", n)
	}
	// Too small a destination gives 0, at every size up to the real one.
	full := c.Compress(dst, text[:20000])
	if full == 0 || full >= 20000 {
		t.Fatalf("text did not compress: %d", full)
	}
	for _, room := range []int{0, 1, 2, full / 2, full - 2, full - 1} {
		if n := c.Compress(dst[:room], text[:20000]); n != 0 {
			t.Errorf("%d bytes of room for %d: got %d", room, full, n)
		}
	}
	if n := c.Compress(dst[:full], text[:20000]); n != full {
		t.Errorf("exact room: got %d, want %d", n, full)
	}
}

// TestCompressChunkSizes round-trips chunks of every window size through
// both decoders, made of text, code, records and random data. Chunks over
// 128 KiB are compressed in several regions; those over 256 KiB use the
// larger offset slots.
func TestCompressChunkSizes(t *testing.T) {
	syn := ctSynthetic()
	var mix []byte
	for len(mix) < maxWindowSize {
		for _, k := range []string{"text", "e8code", "records", "random", "skew", "zeros"} {
			mix = append(mix, syn[k][:min(len(syn[k]), 90000)]...)
		}
	}
	for order := minWindowOrder; order <= maxWindowOrder; order++ {
		size := 1 << order
		sizes := []int{size/2 + 3 + order}
		switch order {
		case 15:
			sizes = []int{size, size - 3, 1000}
		case 16:
			sizes = []int{size, size - 3}
		}
		c, err := NewCompressor(size)
		if err != nil {
			t.Fatal(err)
		}
		d, err := NewDecompressor(size)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range sizes {
			got := ctRoundTrip(t, c, d, size, mix[:n], n-1)
			if got == 0 {
				t.Errorf("chunk %d: %d bytes did not shrink", size, n)
			}
			t.Logf("chunk %7d: %7d -> %7d", size, n, got)
		}
		if order == 18 {
			// The largest region: encMaxBlock+encRegionSlack-1 bytes,
			// as many literals.
			n := encMaxBlock + encRegionSlack - 1
			var rnd []byte
			for len(rnd) < n {
				rnd = append(rnd, syn["random"]...)
			}
			for i := 0; i < n; i += len(syn["random"]) {
				rnd[i] ^= 0x55 // the copies are not quite repeats
			}
			ctRoundTrip(t, c, d, size, rnd[:n], 2*n)
		}
	}
}

// TestCompressRealFiles round-trips real binaries and text of this machine
// in 32 KiB chunks (x86 code exercises the E8 translation).
func TestCompressRealFiles(t *testing.T) {
	data := ctReadFiles(1<<20, 256<<10, 10000, "/usr/bin/*", "/usr/lib/x86_64-linux-gnu/*.so*", "/usr/share/common-licenses/*")
	if len(data) == 0 {
		t.Skip("no system files to read")
	}
	c, err := NewCompressor(32768)
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDecompressor(32768)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for off := 0; off < len(data); off += 32768 {
		src := data[off:min(off+32768, len(data))]
		n := ctRoundTrip(t, c, d, 32768, src, len(src)-1)
		if n == 0 {
			n = len(src)
		}
		total += n
	}
	t.Logf("%d bytes -> %d", len(data), total)
}

// TestCompressDeterministic checks that the output depends only on the
// input, not on what the compressor did before.
func TestCompressDeterministic(t *testing.T) {
	syn := ctSynthetic()
	c1, _ := NewCompressor(65536)
	c2, _ := NewCompressor(65536)
	a := make([]byte, 70000)
	b := make([]byte, 70000)
	c2.Compress(b, syn["random"][:65536])
	c2.Compress(b, syn["e8code"][:1000])
	for _, k := range []string{"text", "e8code", "records"} {
		src := syn[k][:60000]
		n1 := c1.Compress(a, src)
		n2 := c2.Compress(b, src)
		if n1 == 0 || !bytes.Equal(a[:n1], b[:n2]) {
			t.Errorf("%s: outputs differ (%d and %d bytes)", k, n1, n2)
		}
	}
}

// TestHuffmanBuild checks the code builder: complete codes within the
// length limit, as short in total as the optimal unlimited code when that
// fits, canonical codewords.
func TestHuffmanBuild(t *testing.T) {
	var h huffBuilder
	r := rand.New(rand.NewPCG(3, 4))
	fib := []uint32{1, 1}
	for len(fib) < 40 {
		fib = append(fib, fib[len(fib)-1]+fib[len(fib)-2])
	}
	cases := [][]uint32{
		{0, 0, 7, 0},
		{1, 1},
		fib,
		fib[:20],
	}
	for i := 0; i < 50; i++ {
		f := make([]uint32, 1+r.IntN(700))
		for s := range f {
			if r.IntN(3) > 0 {
				f[s] = uint32(r.ExpFloat64() * float64(1+r.IntN(5000)))
			}
		}
		cases = append(cases, f)
	}
	for ci, freq := range cases {
		for _, maxLen := range []int{7, 15, 16} {
			n := len(freq)
			if n > 1<<maxLen {
				continue
			}
			lens := make([]uint8, n)
			codes := make([]uint32, n)
			h.build(freq, maxLen, lens, codes)
			used, kraft := 0, 0.0
			for s, l := range lens {
				if int(l) > maxLen {
					t.Fatalf("case %d: symbol %d has length %d > %d", ci, s, l, maxLen)
				}
				if freq[s] != 0 && l == 0 {
					t.Fatalf("case %d: used symbol %d has no code", ci, s)
				}
				if l != 0 {
					used++
					kraft += 1 / float64(uint64(1)<<l)
				}
			}
			if used > 0 && kraft != 1 {
				t.Fatalf("case %d, limit %d: code is not complete (Kraft sum %v)", ci, maxLen, kraft)
			}
			// Canonical: codes increase with (length, symbol).
			for a := range n {
				for b := a + 1; b < n; b++ {
					if lens[a] == 0 || lens[b] == 0 {
						continue
					}
					ka := uint64(codes[a]) << (32 - lens[a])
					kb := uint64(codes[b]) << (32 - lens[b])
					if (lens[a] < lens[b] || lens[a] == lens[b]) && ka >= kb && lens[a] <= lens[b] {
						t.Fatalf("case %d: codes of %d and %d are not canonical", ci, a, b)
					}
				}
			}
		}
	}
}

// TestCompressNoAllocs checks that a warmed-up compressor does not allocate.
func TestCompressNoAllocs(t *testing.T) {
	syn := ctSynthetic()
	c, _ := NewCompressor(32768)
	src := slices.Concat(syn["text"][:12000], syn["random"][:8000], syn["e8code"][:12768])
	dst := make([]byte, len(src)-1)
	c.Compress(dst, src)
	if n := testing.AllocsPerRun(5, func() { c.Compress(dst, src) }); n != 0 {
		t.Errorf("Compress allocates %v times per call", n)
	}
}

// TestCompressLibwimDecodes is the differential test proper: libwim's
// decoder must restore our chunks of every kind and window size. (The other
// round-trip tests also use libwim when it is linked in.)
func TestCompressLibwimDecodes(t *testing.T) {
	libwim.Need(t)
	syn := ctSynthetic()
	all := slices.Concat(syn["text"], syn["e8code"], syn["records"], syn["mixed"], syn["skew"], syn["random"][:50000])
	for _, chunk := range []int{32768, 65536, 1 << 20} {
		c, err := NewCompressor(chunk)
		if err != nil {
			t.Fatal(err)
		}
		d, err := NewDecompressor(chunk)
		if err != nil {
			t.Fatal(err)
		}
		var in, out int
		for off := 0; off < len(all); off += chunk {
			src := all[off:min(off+chunk, len(all))]
			n := ctRoundTrip(t, c, d, chunk, src, len(src)-1)
			if n == 0 {
				n = len(src)
			}
			in += len(src)
			out += n
		}
		t.Logf("chunk %7d: %d -> %d bytes", chunk, in, out)
	}
}

// TestHuffmanSortKeys checks the code builder's sort (by counting, for
// frequencies below the number of symbols) against a comparison sort:
// small and large frequencies, ties, unused symbols, every size of alphabet
// the compressor builds codes for.
func TestHuffmanSortKeys(t *testing.T) {
	var h huffBuilder
	r := rand.New(rand.NewPCG(5, 6))
	cases := map[string][]uint32{
		"none used":  make([]uint32, 8),
		"one used":   {0, 0, 9, 0},
		"all ties":   {3, 3, 3, 3, 3},
		"at n":       {5, 4, 6, 5, 0},
		"large only": {1 << 20, 70000, 1 << 20, 99},
	}
	for _, n := range []int{numPreSyms, numAligned, numLenSyms, 256 + 8*30, maxMainSyms} {
		for _, scale := range []int{2, n, 40 * n} {
			f := make([]uint32, n)
			for s := range f {
				if r.IntN(4) > 0 {
					f[s] = uint32(r.IntN(scale))
				}
			}
			cases[fmt.Sprintf("%d symbols below %d", n, scale)] = f
		}
	}
	for name, freq := range cases {
		var want []uint64
		for s, f := range freq {
			if f != 0 {
				want = append(want, uint64(f)<<16|uint64(s))
			}
		}
		slices.Sort(want)
		if got := h.sortKeys(freq); !slices.Equal(got, want) && len(want)+len(got) > 0 {
			t.Errorf("%s: keys %x, want %x", name, got, want)
		}
	}
}

// TestHuffmanLengthsInPlace checks huffmanLengths, which builds the tree in
// place and hands out the leaves' depths by level, against the depths of
// the leaves in the tree itself, built with parent links by the two-queue
// construction (a leaf taken before a node of equal weight): the same
// length for every symbol, also among many equal weights, and the same
// verdict on the length limit.
func TestHuffmanLengthsInPlace(t *testing.T) {
	var h huffBuilder
	r := rand.New(rand.NewPCG(9, 10))
	cases := map[string][]uint32{
		"two":         {5, 9},
		"ties":        {3, 3, 3, 3, 3, 3, 3},
		"powers":      {1, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536},
		"flat and up": {1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 8, 8},
	}
	for i := range 200 {
		f := make([]uint32, 2+r.IntN(maxMainSyms-1))
		scale := []int{2, 4, 40, 5000}[i%4]
		for s := range f {
			if r.IntN(3) > 0 {
				f[s] = uint32(1 + r.IntN(scale))
			}
		}
		cases[fmt.Sprintf("random %d", i)] = f
	}
	for name, freq := range cases {
		keys := slices.Clone(h.sortKeys(freq))
		if len(keys) < 2 {
			continue
		}
		want, deepest := ctTreeDepths(keys, len(freq))
		for _, maxLen := range []int{7, 16, 32} {
			lens := make([]uint8, len(freq))
			ok := h.huffmanLengths(keys, maxLen, lens)
			if ok != (deepest <= maxLen) {
				t.Fatalf("%s, limit %d: fits %v, want %v (deepest leaf %d)", name, maxLen, ok, !ok, deepest)
			}
			if ok && !slices.Equal(lens, want) {
				t.Fatalf("%s, limit %d: lengths %v, want %v", name, maxLen, lens, want)
			}
		}
	}
}

// ctTreeDepths returns the depth of each of n symbols' leaf (0 for the
// unused) in the Huffman tree of the sorted keys, built by the two-queue
// construction with parent links, and the deepest.
func ctTreeDepths(keys []uint64, n int) ([]uint8, int) {
	m := len(keys)
	total := 2*m - 1
	w := make([]uint64, total)
	par := make([]int, total)
	for i, k := range keys {
		w[i] = k >> 16
	}
	leaf, inner := 0, m
	for next := m; next < total; next++ {
		for range 2 {
			pick := inner
			if leaf < m && (inner >= next || w[leaf] <= w[inner]) {
				pick = leaf
				leaf++
			} else {
				inner++
			}
			w[next] += w[pick]
			par[pick] = next
		}
	}
	dep := make([]int, total)
	lens := make([]uint8, n)
	deepest := 0
	for i := total - 2; i >= 0; i-- {
		dep[i] = dep[par[i]] + 1
		if i < m {
			lens[keys[i]&0xFFFF] = uint8(dep[i])
			deepest = max(deepest, dep[i])
		}
	}
	return lens, deepest
}

// TestBitWriter checks the bit writer against one that writes a bit at a
// time: random widths 0..32, alignments (a whole zero unit when aligned)
// followed by raw bytes, as an uncompressed block writes them, and the bit
// count along the way.
func TestBitWriter(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for round := range 300 {
		var w bitWriter
		w.reset(16)
		var want, pending []byte // the reference: its bytes, and its bits not yet a unit
		bit := func(b byte) {
			pending = append(pending, b)
			if len(pending) == 16 {
				u := uint16(0)
				for _, x := range pending {
					u = u<<1 | uint16(x)
				}
				want = append(want, byte(u), byte(u>>8))
				pending = pending[:0]
			}
		}
		for op := range 1 + r.IntN(300) {
			if r.IntN(20) == 0 {
				w.align()
				for range 16 - len(pending) {
					bit(0)
				}
				raw := make([]byte, 2*r.IntN(3))
				for i := range raw {
					raw[i] = byte(r.Uint32())
				}
				w.out = append(w.out, raw...)
				want = append(want, raw...)
			} else {
				nb := uint8(r.IntN(33))
				v := uint32(r.Uint64() & (1<<nb - 1))
				w.put(v, nb)
				for i := int(nb) - 1; i >= 0; i-- {
					bit(byte(v >> i & 1))
				}
			}
			if got := w.bits(); got != 8*len(want)+len(pending) {
				t.Fatalf("round %d, op %d: %d bits written, want %d", round, op, got, 8*len(want)+len(pending))
			}
		}
		for len(pending) != 0 {
			bit(0)
		}
		if got := w.finish(); !slices.Equal(got, want) {
			t.Fatalf("round %d: wrote %x, want %x", round, got, want)
		}
	}
}
