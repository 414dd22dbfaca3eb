package lzms

import (
	"math/rand"
	"slices"
	"testing"
)

// refLengths is a plain reference for the code LZMS requires: the classic
// Huffman algorithm, always merging the two lowest-frequency nodes, taking
// leaves before internal nodes on ties (and older internal nodes first), then
// giving the longest codewords to the symbols of lowest frequency (lowest
// symbol first among equals).
func refLengths(freqs []uint32) []uint8 {
	type node struct {
		freq   uint32
		leaf   bool
		order  int // symbol for leaves, creation order for internal nodes
		parent int
	}
	nodes := make([]node, 0, 2*len(freqs))
	for s, f := range freqs {
		nodes = append(nodes, node{freq: f, leaf: true, order: s, parent: -1})
	}
	less := func(a, b node) bool {
		if a.freq != b.freq {
			return a.freq < b.freq
		}
		if a.leaf != b.leaf {
			return a.leaf
		}
		return a.order < b.order
	}
	live := make([]int, len(nodes))
	for i := range live {
		live[i] = i
	}
	for len(live) > 1 {
		var pick [2]int
		for k := range 2 {
			best := 0
			for i := range live {
				if less(nodes[live[i]], nodes[live[best]]) {
					best = i
				}
			}
			pick[k] = live[best]
			live = slices.Delete(live, best, best+1)
		}
		p := len(nodes)
		nodes = append(nodes, node{freq: nodes[pick[0]].freq + nodes[pick[1]].freq, order: p, parent: -1})
		nodes[pick[0]].parent, nodes[pick[1]].parent = p, p
		live = append(live, p)
	}
	var count [64]int
	for s := range freqs {
		d := 0
		for n := s; nodes[n].parent >= 0; n = nodes[n].parent {
			d++
		}
		count[d]++
	}
	syms := make([]int, len(freqs))
	for i := range syms {
		syms[i] = i
	}
	slices.SortStableFunc(syms, func(a, b int) int { return int(freqs[a]) - int(freqs[b]) })
	lens := make([]uint8, len(freqs))
	i := 0
	for l := len(count) - 1; l >= 1; l-- {
		for range count[l] {
			lens[syms[i]] = uint8(l)
			i++
		}
	}
	return lens
}

// randomFreqs returns frequencies like the ones LZMS codes see: all at
// least 1, summing to about what the rebuild schedule allows, and skewed.
func randomFreqs(r *rand.Rand, n int) []uint32 {
	f := make([]uint32, n)
	for i := range f {
		f[i] = 1
	}
	total := 1024 + r.Intn(1500)
	skew := 1 + r.Intn(4)
	for range total {
		x := r.Float64()
		for range skew {
			x *= r.Float64()
		}
		f[int(x*float64(n))]++
	}
	r.Shuffle(n, func(i, j int) { f[i], f[j] = f[j], f[i] })
	if r.Intn(4) == 0 { // many ties
		for i := range f {
			f[i] = 1 + f[i]%3
		}
	}
	return f
}

func TestHuffmanLengths(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	var s buildScratch
	for iter := range 300 {
		n := []int{2, 3, 8, 54, 256, 300, maxOffsetSyms}[iter%7]
		var c huffCode
		c.init(1024, 11)
		c.numSyms = n
		copy(c.freqs[:], randomFreqs(r, n))
		c.build(&s)
		want := refLengths(c.freqs[:n])
		if got := s.lens[:n]; !slices.Equal(got, want) {
			t.Fatalf("iteration %d (%d symbols): lengths\n got %v\nwant %v\nfreqs %v", iter, n, got, want, c.freqs[:n])
		}
	}
}

// TestHuffmanDecode encodes random symbols with the canonical code for the
// built lengths and checks that they decode, through the table and the slow
// path for long codewords.
func TestHuffmanDecode(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	var s buildScratch
	for iter := range 200 {
		n := []int{2, 8, 54, 256, maxOffsetSyms}[iter%5]
		var c huffCode
		c.init(1<<30, []uint{7, 9, 10, 11}[iter%4])
		c.numSyms = n
		f := randomFreqs(r, n)
		if iter%3 == 0 { // force long codewords: Fibonacci-like frequencies
			a, b := uint32(1), uint32(1)
			for i := range min(n, 20) {
				f[i] = a
				a, b = b, a+b
			}
		}
		copy(c.freqs[:], f)
		c.build(&s)
		lens := slices.Clone(s.lens[:n])
		maxLen := slices.Max(lens)

		// Canonical codewords.
		codes := make([]uint32, n)
		next := uint32(0)
		for l := uint8(1); l <= maxCodeLen; l++ {
			for sym := range n {
				if lens[sym] == l {
					codes[sym] = next
					next++
				}
			}
			next <<= 1
		}
		c.left = 1 << 30
		for range 200 {
			sym := r.Intn(n)
			if iter%2 == 0 && lens[sym] < maxLen { // favour long ones
				sym = slices.Index(lens, maxLen)
			}
			junk := r.Uint64() >> lens[sym]
			buf := uint64(codes[sym])<<(64-uint(lens[sym])) | junk
			got, rest, nb := c.testSym(buf, 64)
			if int(got) != sym || nb != 64-uint(lens[sym]) || rest != buf<<lens[sym] {
				t.Fatalf("iteration %d: symbol %d (length %d) decoded as %d, %d bits left", iter, sym, lens[sym], got, nb)
			}
		}
	}
}

func TestSortSymbols(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for iter := range 500 {
		n := 2 + r.Intn(maxOffsetSyms-1)
		freqs := make([]uint32, n)
		for i := range freqs {
			freqs[i] = 1 + uint32(r.Intn([]int{2, 10, n, 3 * n, 5000}[iter%5]))
		}
		keys := make([]uint32, n)
		sortSymbols(freqs, keys, make([]uint32, n))
		want := make([]uint32, n)
		for i, f := range freqs {
			want[i] = f<<10 | uint32(i)
		}
		slices.Sort(want)
		if !slices.Equal(keys, want) {
			t.Fatalf("iteration %d: wrong order", iter)
		}
	}
}

// testSym decodes a symbol of code c from buf as decode does.
func (c *huffCode) testSym(buf uint64, nb uint) (uint32, uint64, uint) {
	e := c.table[buf>>(64-c.tableBits)&(1<<maxTableBits-1)]
	if e == 0 {
		return c.decodeLong(buf, nb)
	}
	return uint32(e >> 4), buf << (e & 15), nb - uint(e&15)
}

// BenchmarkHuffmanBuild measures one rebuild of the decoder's codes
// (lengths and decoding table) at the sizes a 64 MiB chunk uses, with the
// counts the adaptive model reaches after a few rebuilds of symbols drawn
// from a skewed (Zipf) distribution: the decoder rebuilds its codes about
// 118,000 times for an ESD of tree A (448 MB), some 15% of its time.
func BenchmarkHuffmanBuild(b *testing.B) {
	for _, bc := range []struct {
		name    string
		n       int
		tb      uint
		counted int
	}{{"literal", numLiteralSyms, literalTableBits, literalRebuild},
		{"offset", numOffsetSlots(64 << 20), lzOffsetTableBits, lzOffsetRebuild},
		{"length", numLengthSyms, lengthTableBits, lengthRebuild}} {
		b.Run(bc.name, func(b *testing.B) {
			r := rand.New(rand.NewSource(int64(bc.n)))
			z := rand.NewZipf(r, 1.2, 4, uint64(bc.n-1))
			perm := r.Perm(bc.n)
			var c huffCode
			var s buildScratch
			c.init(bc.counted, bc.tb)
			c.reset(bc.n, &s)
			for range 8 * bc.counted {
				c.counted(uint32(perm[z.Uint64()]), &s)
			}
			for b.Loop() {
				c.build(&s)
			}
		})
	}
}

// TestHuffmanLengthsLimited checks that frequencies whose Huffman code
// would need codewords over 15 bits (Fibonacci-like) get lengths folded
// to at most 15 that still form a complete prefix code.
func TestHuffmanLengthsLimited(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	var s buildScratch
	for _, n := range []int{20, 30, 54, 256, maxOffsetSyms} {
		freqs := make([]uint32, n)
		a, b := uint32(1), uint32(1)
		for i := range freqs {
			freqs[i] = a
			if a, b = b, a+b; a > 1<<24 {
				a, b = 1, 1
			}
		}
		r.Shuffle(n, func(i, j int) { freqs[i], freqs[j] = freqs[j], freqs[i] })
		var lenCount [maxCodeLen + 1]uint32
		lens := s.codeLengths(freqs, &lenCount)
		kraft := 0 // in units of 2^-maxCodeLen
		var counted [maxCodeLen + 1]uint32
		for _, l := range lens {
			if l < 1 || l > maxCodeLen {
				t.Fatalf("%d symbols: length %d", n, l)
			}
			counted[l]++
			kraft += 1 << (maxCodeLen - l)
		}
		if kraft != 1<<maxCodeLen || counted != lenCount {
			t.Errorf("%d symbols: Kraft sum %d/%d, counts %v, lenCount %v", n, kraft, 1<<maxCodeLen, counted, lenCount)
		}
		if slices.Max(lens) != maxCodeLen {
			t.Errorf("%d symbols: longest codeword %d bits, the test wants the limit reached", n, slices.Max(lens))
		}
	}
}
