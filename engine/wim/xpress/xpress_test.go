package xpress

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

type testInput struct {
	name string
	data []byte
}

// testInputs are the synthetic inputs every round-trip and differential
// test uses, plus 32 KiB and 64 KiB pieces of real files when present.
func testInputs(tb testing.TB) []testInput {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	allBytes := make([]byte, 4096)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	var text strings.Builder
	for i := 0; text.Len() < 70000; i++ {
		fmt.Fprintf(&text, "Line %d: the quick brown fox jumps over the lazy dog %d times.\n", i, i*i%97)
	}
	// Few distinct symbols with very skewed frequencies, which makes plain
	// Huffman codes longer than 15 bits and exercises length limiting.
	skewed := make([]byte, 65536)
	for i := range skewed {
		r := rng.Uint32()
		switch {
		case r%40000 == 0:
			skewed[i] = byte(r >> 8)
		case r%3 == 0:
			skewed[i] = 1
		}
	}
	// Matches of every length class: short, one extra byte, three bytes.
	var matchy []byte
	for _, l := range []int{3, 4, 17, 18, 19, 100, 272, 273, 274, 1000, 5000} {
		matchy = append(matchy, random(40)...)
		matchy = append(matchy, matchy[len(matchy)-40:]...)
		matchy = append(matchy, bytes.Repeat([]byte{byte(l)}, l)...)
	}
	periodic := func(period, n int) []byte {
		p := random(period)
		b := make([]byte, n)
		for i := range b {
			b[i] = p[i%period]
		}
		return b
	}
	in := []testInput{
		{"empty", nil},
		{"one byte", []byte{'x'}},
		{"two bytes", []byte{0, 0}},
		{"tiny", []byte("abcabcabc")},
		{"24 bytes", []byte("aaaaaaaaaaaaaaaaaaaaaaaa")},
		{"short text", []byte("Hello, hello, hello, WIM world! Hello, WIM.")},
		{"zeros 1000", make([]byte, 1000)},
		{"zeros 32K", make([]byte, 32768)},
		{"zeros 64K", make([]byte, 65536)},
		{"run 64K", bytes.Repeat([]byte{0xAB}, 65536)},
		{"random 100", random(100)},
		{"random 32K", random(32768)},
		{"random 64K", random(65536)},
		{"all bytes", allBytes},
		{"all bytes 64K", bytes.Repeat(allBytes, 16)},
		{"text 32K", []byte(text.String()[:32768])},
		{"text 64K", []byte(text.String()[:65536])},
		{"text odd", []byte(text.String()[:12345])},
		{"skewed 64K", skewed},
		{"match lengths", matchy},
		{"period 2", periodic(2, 5000)},
		{"period 5", periodic(5, 5000)},
		{"period 7", periodic(7, 5000)},
		{"period 9", periodic(9, 5000)},
		{"mostly random", append(random(30000), bytes.Repeat([]byte("xyz"), 1000)...)},
	}
	for _, f := range loadCorpus(tb, 3<<15) {
		in = append(in, testInput{f.name + " 32K", f.data[:min(len(f.data), 32768)]})
		if len(f.data) > 65536 {
			in = append(in, testInput{f.name + " 64K", f.data[len(f.data)-65536:]})
		}
	}
	return in
}

func TestRoundTrip(t *testing.T) {
	c, err := NewCompressor(MaxChunkSize)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecompressor()
	for _, tc := range testInputs(t) {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.data
			// Room for anything: random data grows.
			big := make([]byte, len(src)+len(src)/8+1024)
			n := c.Compress(big, src)
			if n == 0 {
				t.Fatalf("Compress(%d bytes) into %d bytes failed", len(src), len(big))
			}
			out := make([]byte, len(src))
			if err := d.Decompress(out, big[:n]); err != nil {
				t.Fatalf("Decompress: %v", err)
			}
			if !bytes.Equal(out, src) {
				t.Fatalf("round trip differs at byte %d", firstDiff(out, src))
			}
			// The WIM way: it must shrink or report 0.
			if len(src) > 0 {
				small := make([]byte, len(src)-1)
				m := c.Compress(small, src)
				switch {
				case n < len(src) && m != n:
					t.Fatalf("Compress into %d bytes = %d, want %d", len(small), m, n)
				case n >= len(src) && m != 0:
					t.Fatalf("Compress into %d bytes = %d, want 0", len(small), m)
				}
				if m > 0 && !bytes.Equal(small[:m], big[:n]) {
					t.Fatal("output depends on dst size")
				}
			}
			// Exactly the size needed works; one byte less does not.
			exact := make([]byte, n)
			if m := c.Compress(exact, src); m != n || !bytes.Equal(exact, big[:n]) {
				t.Fatalf("Compress into exactly %d bytes = %d", n, m)
			}
			if m := c.Compress(exact[:n-1], src); m != 0 {
				t.Fatalf("Compress into %d bytes = %d, want 0", n-1, m)
			}
			t.Logf("%d -> %d", len(src), n)
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestCompressorReuse compresses chunks of varying sizes with one
// Compressor, so that state left from a chunk must not leak into the next.
func TestCompressorReuse(t *testing.T) {
	inputs := testInputs(t)
	c, _ := NewCompressor(MaxChunkSize)
	d := NewDecompressor()
	dst := make([]byte, 2*MaxChunkSize)
	for round := range 2 {
		for i := range inputs {
			src := inputs[(i*7+round)%len(inputs)].data
			n := c.Compress(dst, src)
			out := make([]byte, len(src))
			if err := d.Decompress(out, dst[:n]); err != nil || !bytes.Equal(out, src) {
				t.Fatalf("round %d input %d: err %v", round, i, err)
			}
		}
	}
}

// TestCompressorReuseExact compresses chunks of all sizes in turn with one
// Compressor, small ones (whose hash table entries are emptied one by one)
// before and after large ones (whose tables are cleared whole), and
// requires each output to be byte for byte what a new Compressor makes.
func TestCompressorReuseExact(t *testing.T) {
	inputs := testInputs(t)
	var text strings.Builder
	for i := 0; text.Len() < smallChunk+10; i++ {
		fmt.Fprintf(&text, "chunk %d of a small file, %d\n", i, i*31%17)
	}
	for _, n := range []int{5, 6, 7, 300, smallChunk - 1, smallChunk, smallChunk + 1} {
		inputs = append(inputs, testInput{fmt.Sprintf("text %d", n), []byte(text.String()[:n])})
	}
	reused, _ := NewCompressor(MaxChunkSize)
	dst := make([]byte, 2*MaxChunkSize)
	want := make([]byte, 2*MaxChunkSize)
	for round := range 3 {
		for i := range inputs {
			in := inputs[(i*5+round*3)%len(inputs)]
			fresh, _ := NewCompressor(MaxChunkSize)
			m := fresh.Compress(want, in.data)
			n := reused.Compress(dst, in.data)
			if !bytes.Equal(dst[:n], want[:m]) {
				t.Fatalf("round %d, %s: %d bytes after other chunks, %d from a new Compressor (first difference at %d)",
					round, in.name, n, m, firstDiff(dst[:n], want[:m]))
			}
		}
	}
}

func TestNewCompressor(t *testing.T) {
	for _, tc := range []struct {
		size int
		ok   bool
	}{{-1, false}, {0, false}, {1, true}, {32768, true}, {65536, true}, {65537, false}, {1 << 20, false}} {
		c, err := NewCompressor(tc.size)
		if (err == nil) != tc.ok || (c != nil) != tc.ok {
			t.Errorf("NewCompressor(%d) = %v, %v; want ok=%v", tc.size, c, err, tc.ok)
		}
	}
}

func TestCompressTooLarge(t *testing.T) {
	c, _ := NewCompressor(1000)
	dst := make([]byte, 4000)
	if n := c.Compress(dst, make([]byte, 1001)); n != 0 {
		t.Errorf("Compress of 1001 bytes with maxChunk 1000 = %d, want 0", n)
	}
	if n := c.Compress(dst, make([]byte, 1000)); n == 0 {
		t.Error("Compress of 1000 zeros with maxChunk 1000 failed")
	}
	if n := c.Compress(dst[:minCompressedSize-1], nil); n != 0 {
		t.Errorf("Compress into %d bytes = %d, want 0", minCompressedSize-1, n)
	}
}

// TestEndOfData checks that every output ends with the end-of-data symbol,
// as Microsoft's decoder needs.
func TestEndOfData(t *testing.T) {
	c, _ := NewCompressor(MaxChunkSize)
	d := NewDecompressor()
	for _, tc := range testInputs(t)[:20] {
		src := tc.data
		big := make([]byte, len(src)+1024)
		n := c.Compress(big, src)
		comp := big[:n]
		if len(src) == 0 {
			continue
		}
		// Decoding three bytes more than the data decodes symbol 256 as a
		// match of length 3 at offset 1 (the only reading of it).
		out := make([]byte, len(src)+3)
		if err := d.Decompress(out, comp); err != nil {
			t.Errorf("%s: decoding past the data: %v", tc.name, err)
			continue
		}
		want := append(append([]byte(nil), src...), bytes.Repeat(src[len(src)-1:], 3)...)
		if !bytes.Equal(out, want) {
			t.Errorf("%s: the symbol after the data is not end-of-data", tc.name)
		}
	}
}

// item is a literal (length 0) or a match, for crafting streams.
type item struct {
	lit            byte
	length, offset int
}

// craft encodes items with the Compressor's writer.
func craft(items []item) []byte {
	c, _ := NewCompressor(MaxChunkSize)
	c.items = c.items[:0]
	c.longLens = c.longLens[:0]
	var extraBits, extraBytes int
	for _, it := range items {
		if it.length == 0 {
			c.freqs[it.lit]++
			c.items = append(c.items, uint32(it.lit))
			continue
		}
		adj := it.length - minMatch
		obits := bits.Len32(uint32(it.offset)) - 1
		sym := numChars + obits<<4 + min(adj, 15)
		c.freqs[sym]++
		c.items = append(c.items, uint32(sym)|uint32(obits)<<9|uint32(it.offset&(1<<obits-1))<<13)
		extraBits += obits
		if adj >= 15 {
			c.longLens = append(c.longLens, uint16(adj))
			extraBytes += 1 + 2*btoi(adj >= 15+255)
		}
	}
	dst := make([]byte, 4*len(items)+1024)
	return dst[:c.finish(dst, extraBits, extraBytes)]
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// table returns a 256-byte length table from a symbol -> length map.
func table(lens map[int]byte) []byte {
	t := make([]byte, tableBytes)
	for s, l := range lens {
		t[s/2] |= l << (4 * (s % 2))
	}
	return t
}

func TestDecompressErrors(t *testing.T) {
	var items []item
	for i := range 100 {
		items = append(items, item{lit: byte(i * i)})
	}
	items = append(items, item{length: 10, offset: 2}, item{length: 300, offset: 1}, item{length: 50, offset: 77})
	valid := craft(items)
	const validSize = 100 + 10 + 300 + 50
	twoSyms := table(map[int]byte{'a': 1, 256: 1})
	for _, tc := range []struct {
		name string
		src  []byte
		size int
		want string
	}{
		{"nil", nil, 10, "shorter than the 256-byte Huffman table"},
		{"short table", make([]byte, 255), 1, "shorter than"},
		{"empty code", make([]byte, 300), 1, "has no symbols"},
		{"over-subscribed", table(map[int]byte{0: 1, 1: 1, 2: 1}), 1, "over-subscribed"},
		{"all length 1", bytes.Repeat([]byte{0x11}, 256), 1, "over-subscribed"},
		{"incomplete", table(map[int]byte{0: 1}), 1, "incomplete"},
		{"incomplete long", table(map[int]byte{0: 1, 1: 2, 2: 3, 3: 15}), 1, "incomplete"},
		{"no stream", twoSyms, 1, "truncated"},
		{"one byte stream", append(twoSyms, 0), 1, "truncated"},
		{"offset before start", craft([]item{{length: 3, offset: 1}}), 3, "before the start"},
		{"offset too far", craft([]item{{lit: 1}, {lit: 2}, {length: 5, offset: 3}}), 7, "before the start"},
		{"overrun", craft([]item{{lit: 1}, {length: 20, offset: 1}}), 10, "overruns"},
		{"truncated", valid[:len(valid)-8], validSize, "truncated"},
		{"truncated in length bytes", craft([]item{{lit: 1}, {length: 300, offset: 1}})[:258], 301, "truncated"},
		{"too long dst", valid, validSize + 100, "truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := NewDecompressor().Decompress(make([]byte, tc.size), tc.src)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, want an ErrCorrupt containing %q", err, tc.want)
			}
		})
	}
	// The crafted valid stream does decode.
	out := make([]byte, validSize)
	if err := NewDecompressor().Decompress(out, valid); err != nil {
		t.Fatalf("valid crafted stream: %v", err)
	}
}

func TestDecompressEmpty(t *testing.T) {
	d := NewDecompressor()
	if err := d.Decompress(nil, make([]byte, tableBytes)); err != nil {
		t.Errorf("empty output from an empty code: %v", err)
	}
	c, _ := NewCompressor(1)
	dst := make([]byte, 300)
	n := c.Compress(dst, nil)
	if n != minCompressedSize {
		t.Fatalf("Compress(empty) = %d, want %d", n, minCompressedSize)
	}
	if err := d.Decompress(nil, dst[:n]); err != nil {
		t.Errorf("Decompress(empty): %v", err)
	}
}

// TestTruncated cuts valid streams at every length: each cut must fail or,
// when it only drops bits the decoder never needs, give the right data.
// Dropping more than the last three words must fail.
func TestTruncated(t *testing.T) {
	c, _ := NewCompressor(MaxChunkSize)
	d := NewDecompressor()
	for _, tc := range testInputs(t)[:26] {
		src := tc.data
		if len(src) == 0 {
			continue
		}
		big := make([]byte, len(src)+1024)
		comp := big[:c.Compress(big, src)]
		out := make([]byte, len(src))
		step := max(1, len(comp)/500)
		for cut := 0; cut < len(comp); cut += step {
			err := d.Decompress(out, comp[:cut])
			if err == nil && !bytes.Equal(out, src) {
				t.Fatalf("%s: cut at %d of %d decoded wrong data without error", tc.name, cut, len(comp))
			}
			if err == nil && cut < len(comp)-6 {
				t.Fatalf("%s: cut at %d of %d decoded without error", tc.name, cut, len(comp))
			}
		}
	}
}

// TestCorrupt flips bits and overwrites bytes of valid streams: the decoder
// must return (with or without an error) and never panic.
func TestCorrupt(t *testing.T) {
	c, _ := NewCompressor(MaxChunkSize)
	d := NewDecompressor()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range testInputs(t)[:26] {
		src := tc.data
		big := make([]byte, len(src)+1024)
		comp := big[:c.Compress(big, src)]
		bad := make([]byte, len(comp))
		out := make([]byte, len(src))
		for range 200 {
			copy(bad, comp)
			for range 1 + rng.IntN(4) {
				i := rng.IntN(len(bad))
				if rng.IntN(2) == 0 {
					bad[i] ^= 1 << rng.IntN(8)
				} else {
					bad[i] = byte(rng.Uint32())
				}
			}
			_ = d.Decompress(out, bad)
		}
	}
	// Garbage of every kind of size.
	for range 2000 {
		g := make([]byte, rng.IntN(2000))
		for i := range g {
			g[i] = byte(rng.Uint32())
		}
		if len(g) >= tableBytes && rng.IntN(2) == 0 {
			copy(g, comp0) // a valid table, garbage after it
		}
		_ = d.Decompress(make([]byte, rng.IntN(70000)), g)
	}
}

// comp0 is a valid compressed chunk, whose table TestCorrupt reuses.
var comp0 = func() []byte {
	c, _ := NewCompressor(MaxChunkSize)
	src := []byte(strings.Repeat("The table of this chunk is a valid complete code. ", 40))
	dst := make([]byte, 4096)
	return dst[:c.Compress(dst, src)]
}()

func TestHuffmanLengthLimit(t *testing.T) {
	var h huffmanBuilder
	var lens [numSymbols]uint8
	var codes [numSymbols]uint16
	// Fibonacci frequencies give the deepest possible Huffman tree.
	var freqs [numSymbols]uint32
	a, b := uint32(1), uint32(1)
	for s := range 25 {
		freqs[s] = a
		a, b = b, a+b
	}
	h.build(&freqs, &lens, &codes)
	kraft := 0
	for s, l := range lens {
		if l > maxCodeLen || (freqs[s] > 0) != (l > 0) {
			t.Fatalf("symbol %d: freq %d length %d", s, freqs[s], l)
		}
		if l > 0 {
			kraft += 1 << (maxCodeLen - l)
		}
	}
	if kraft != 1<<maxCodeLen {
		t.Fatalf("Kraft sum %d, want %d", kraft, 1<<maxCodeLen)
	}
	// A single used symbol still gets a complete code.
	freqs = [numSymbols]uint32{}
	freqs[300] = 5
	h.build(&freqs, &lens, &codes)
	if lens[300] != 1 || lens[0] != 1 {
		t.Fatalf("single symbol: lengths %d and %d", lens[300], lens[0])
	}
}

// TestHuffmanCanonical builds codes for random frequencies, sparse and
// dense, small (one radix pass) and large (two): the lengths must be those
// of the keys sorted by frequency then symbol, and the codewords canonical.
func TestHuffmanCanonical(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var h huffmanBuilder
	for round := range 300 {
		var freqs [numSymbols]uint32
		used := 1 + rng.IntN(numSymbols)
		maxFreq := []int{2, 511, 512, 65537}[round%4]
		for range used {
			freqs[rng.IntN(numSymbols)] = uint32(1 + rng.IntN(maxFreq))
		}
		var lens, want [numSymbols]uint8
		var codes [numSymbols]uint16
		h.build(&freqs, &lens, &codes)

		var ref huffmanBuilder
		for s, f := range freqs {
			if f != 0 {
				ref.keys = append(ref.keys, uint64(f)<<16|uint64(s))
			}
		}
		if len(ref.keys) >= 2 {
			slices.Sort(ref.keys)
			if !ref.huffman(&want) {
				ref.packageMerge(&want)
			}
			if lens != want {
				t.Fatalf("round %d: lengths differ from the sorted reference", round)
			}
		}
		var syms []int
		for s, l := range lens {
			if l != 0 {
				syms = append(syms, s)
			}
		}
		slices.SortStableFunc(syms, func(a, b int) int { return int(lens[a]) - int(lens[b]) })
		next := uint32(0)
		for i, s := range syms {
			if i > 0 {
				next = (next + 1) << (lens[s] - lens[syms[i-1]])
			}
			if uint32(codes[s]) != next {
				t.Fatalf("round %d: symbol %d (length %d) has codeword %b, want %b", round, s, lens[s], codes[s], next)
			}
		}
		if len(syms) > 0 && next != 1<<lens[syms[len(syms)-1]]-1 {
			t.Fatalf("round %d: incomplete code, last codeword %b", round, next)
		}
	}
}

// TestPackageMergeOptimal compares length-limited codes with the Huffman
// code where the limit does not bind: both must cost the same.
func TestPackageMergeOptimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var h huffmanBuilder
	for range 200 {
		var freqs [numSymbols]uint32
		for s := range numSymbols {
			if rng.IntN(3) == 0 {
				freqs[s] = uint32(rng.IntN(1000))
			}
		}
		freqs[rng.IntN(numSymbols)]++
		freqs[rng.IntN(numSymbols)]++
		h.keys = h.keys[:0]
		for s, f := range freqs {
			if f != 0 {
				h.keys = append(h.keys, uint64(f)<<16|uint64(s))
			}
		}
		if len(h.keys) < 2 {
			continue
		}
		slices.Sort(h.keys)
		var l1, l2 [numSymbols]uint8
		if !h.huffman(&l1) {
			continue
		}
		h.packageMerge(&l2)
		var c1, c2 int
		for s, f := range freqs {
			c1 += int(f) * int(l1[s])
			c2 += int(f) * int(l2[s])
		}
		if c1 != c2 {
			t.Fatalf("package-merge cost %d, Huffman %d", c2, c1)
		}
	}
}

// parsedMatches runs the parser on src and returns the matches it chose, by
// starting position, as {length, offset}.
func parsedMatches(src []byte) map[int][2]int {
	c, _ := NewCompressor(MaxChunkSize)
	c.freqs = [numSymbols]uint32{}
	c.parse(src)
	out := map[int][2]int{}
	pos, long := 0, 0
	for _, it := range c.items {
		sym := int(it & 0x1ff)
		if sym < numChars {
			pos++
			continue
		}
		adj := sym & 15
		if adj == 15 {
			adj = int(c.longLens[long])
			long++
		}
		obits := int(it >> 9 & 15)
		offset := 1<<obits | int(it>>13)
		out[pos] = [2]int{adj + minMatch, offset}
		pos += adj + minMatch
	}
	return out
}

// TestParseRules checks where the parse leaves wimlib's lazy rule (a match
// is taken unless the next position has a longer one): a match of
// lazyNice bytes is taken at once, and a match one byte longer a byte on
// is not worth a literal when its offset costs two or more bits more.
func TestParseRules(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32()%200 + 20) // 0-19 separate the pieces
		}
		return b
	}
	x := random(64)
	for _, tc := range []struct {
		name string
		// pieces before x[:xLen], then x[:xLen] at position at
		src  [][]byte
		xLen int
		// the match at x[:xLen]: length and source position (its offset
		// is at minus that); {0, 0} for a literal
		want [2]int
	}{{
		// x[:lazyNice+4] 200 bytes back, x[1:lazyNice+14] 100 bytes back.
		name: "long match taken at once",
		src: [][]byte{random(10), {1}, x[:defaultLazyNice+4], {2}, random(80),
			{3}, x[1 : defaultLazyNice+14], {4}, random(90), {5}},
		xLen: defaultLazyNice + 14,
		want: [2]int{defaultLazyNice + 4, 11},
	}, {
		// x[1:7] 2000 bytes back (11 offset bits), x[:5] just before
		// (3 bits): the 5-byte match stays.
		name: "one byte longer but far",
		src:  [][]byte{random(10), {1}, x[1:7], {2}, random(2000), {3}, x[:5], {4}},
		xLen: 7,
		want: [2]int{5, 10 + 1 + 6 + 1 + 2000 + 1},
	}, {
		// The same with x[1:8]: two bytes longer is worth the literal.
		name: "two bytes longer and far",
		src:  [][]byte{random(10), {1}, x[1:8], {2}, random(2000), {3}, x[:5], {4}},
		xLen: 8,
		want: [2]int{0, 0},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var src []byte
			for _, p := range tc.src {
				src = append(src, p...)
			}
			at := len(src)
			src = append(src, x[:tc.xLen]...)
			src = append(src, 6, 7, 8, 9, 10, 11, 12, 13)
			got := parsedMatches(src)[at]
			want := tc.want
			if want[0] != 0 {
				want[1] = at - want[1]
			}
			if got != want {
				t.Errorf("at %d: match %v (length, offset), want %v", at, got, want)
			}
		})
	}
}

// TestMatchLen checks the match extension against a byte-by-byte count on
// chunks that end in a long repeat, with win past the chunk's end holding
// bytes that continue the repeat (as a longer earlier chunk leaves them):
// a match must stop at the chunk's end, also where the chunk is
// MaxChunkSize long and positions near 65535 are read.
func TestMatchLen(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	mf := new(matchTables)
	for _, n := range []int{5, 13, 100, 4097, 32768, MaxChunkSize} {
		period := 1 + rng.IntN(9)
		for i := range mf.win {
			mf.win[i] = byte(i%period) + 'a'
		}
		// Random bytes in the first half; the repeat runs to the end and
		// 1 to 7 bytes on, then stops.
		for i := range n / 2 {
			mf.win[i] = byte(rng.IntN(4)) + 'a'
		}
		for i := n + 1 + rng.IntN(7); i < len(mf.win); i++ {
			mf.win[i] = '#'
		}
		src := mf.win[:n]
		for range 5000 {
			b := 1 + rng.IntN(n-4)
			a := rng.IntN(b)
			if binary.LittleEndian.Uint32(src[a:]) != binary.LittleEndian.Uint32(src[b:]) {
				continue
			}
			want := 0
			for b+want < n && src[a+want] == src[b+want] {
				want++
			}
			if got := mf.matchLen(a, b, n-b); got != want {
				t.Fatalf("chunk of %d: positions %d and %d: match of %d, want %d", n, a, b, got, want)
			}
		}
	}
}
