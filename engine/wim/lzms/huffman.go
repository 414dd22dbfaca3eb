package lzms

// maxCodeLen is the longest codeword LZMS allows. The way the symbol
// frequencies are halved at every rebuild keeps real codes within it; the
// builder below still limits lengths the way wimlib does, so that any
// frequencies give a usable code.
const maxCodeLen = 15

// huffCode is one of LZMS's five adaptive Huffman codes. Both sides start
// with every symbol at frequency 1, count each symbol decoded, and after every
// rebuildFreq symbols rebuild the code from the counts and then halve them
// ((f>>1)+1, so no frequency is ever 0).
type huffCode struct {
	numSyms     int
	rebuildFreq int
	left        int // symbols until the next rebuild
	tableBits   uint

	freqs [maxOffsetSyms]uint32

	// table maps the next tableBits bits of input to sym<<4 | length for
	// codewords of at most tableBits bits; 0 means the codeword is longer,
	// and is resolved canonically with first, count and sorted.
	table  [1 << maxTableBits]uint16
	sorted [maxOffsetSyms]uint16 // symbols ordered by (codeword length, symbol)
	first  [maxCodeLen + 1]uint32
	count  [maxCodeLen + 1]uint32
	start  [maxCodeLen + 1]uint32 // index in sorted of the first codeword of each length
}

// buildScratch is working space for building codes, shared by all codes.
type buildScratch struct {
	keys     [maxOffsetSyms]uint32 // freq<<10 | sym
	counts   [maxOffsetSyms]uint32
	nodeFreq [maxOffsetSyms]uint32
	parent   [maxOffsetSyms]uint16
	depth    [maxOffsetSyms]uint8
	lens     [maxOffsetSyms]uint8
}

// maxTableBits is the largest root table size of any code.
const maxTableBits = 11

// init sets the code's fixed parameters.
func (c *huffCode) init(rebuildFreq int, tableBits uint) {
	c.rebuildFreq = rebuildFreq
	c.tableBits = tableBits
}

// reset starts the code over for a new chunk with numSyms symbols.
func (c *huffCode) reset(numSyms int, s *buildScratch) {
	c.numSyms = numSyms
	for i := range c.freqs[:numSyms] {
		c.freqs[i] = 1
	}
	if numSyms >= 2 {
		c.build(s)
	}
	c.left = c.rebuildFreq
}

// rebuild is called when rebuildFreq symbols have been decoded since the
// last (re)build.
func (c *huffCode) rebuild(s *buildScratch) {
	c.build(s)
	for i, f := range c.freqs[:c.numSyms] {
		c.freqs[i] = f>>1 + 1
	}
	c.left = c.rebuildFreq
}

// build makes the canonical code LZMS requires for the current frequencies:
// the one the classic Huffman algorithm gives when ties in frequency are
// broken in favour of leaves (symbols sorted by frequency, then by symbol
// value), with lengths handed out longest first in that order. The encoder
// does exactly the same, so the code must match bit for bit. numSyms >= 2.
func (c *huffCode) build(s *buildScratch) {
	var lenCount [maxCodeLen + 1]uint32
	lens := s.codeLengths(c.freqs[:c.numSyms], &lenCount)
	c.fill(lens, &lenCount)
}

// codeLengths returns the codeword length of each symbol of the code build
// describes for freqs (at least 2 symbols), and counts them by length in
// lenCount. The result is s.lens[:len(freqs)]. The compressor builds its
// codes with it too, so both sides agree bit for bit.
func (s *buildScratch) codeLengths(freqs []uint32, lenCount *[maxCodeLen + 1]uint32) []uint8 {
	n := len(freqs)
	keys := s.keys[:n]
	sortSymbols(freqs, keys, s.counts[:n])

	// Two-queue Huffman construction: leaves in keys (sorted), internal
	// nodes in nodeFreq in creation order, whose frequencies never decrease.
	// Only the internal nodes' parents are kept: leaf depths follow from
	// them.
	nodeFreq := s.nodeFreq[:n-1]
	parent := s.parent[:n-1]
	leaf, node := 0, 0 // next leaf; next internal node without a parent
	for e := range nodeFreq {
		var sum uint32
		for range 2 {
			if leaf < n && (node == e || keys[leaf]>>10 <= nodeFreq[node]) {
				sum += keys[leaf] >> 10
				leaf++
			} else {
				sum += nodeFreq[node]
				parent[node] = uint16(e)
				node++
			}
		}
		nodeFreq[e] = sum
	}

	// Count the codewords of each length by walking the internal nodes from
	// the root down: each non-root internal node at depth d turns one
	// codeword of length d into two of length d+1. Depths beyond the limit
	// are folded back as wimlib does (never needed for real LZMS data).
	*lenCount = [maxCodeLen + 1]uint32{}
	lenCount[1] = 2
	depth := s.depth[:n-1]
	depth[n-2] = 0
	for j := n - 3; j >= 0; j-- {
		d := depth[parent[j]] + 1
		depth[j] = d
		l := int(d)
		if l >= maxCodeLen {
			l = maxCodeLen - 1
			for l > 1 && lenCount[l] == 0 {
				l--
			}
		}
		lenCount[l]--
		lenCount[l+1] += 2
	}

	// Longest codewords go to the least frequent symbols.
	lens := s.lens[:n]
	i := 0
	for l := maxCodeLen; l >= 1; l-- {
		for range lenCount[l] {
			lens[keys[i]&0x3ff] = uint8(l)
			i++
		}
	}
	return lens
}

// fill builds the decoding structures for the canonical code with the given
// codeword lengths, which form a complete prefix code.
func (c *huffCode) fill(lens []uint8, lenCount *[maxCodeLen + 1]uint32) {
	var next [maxCodeLen + 1]uint32
	idx, code := uint32(0), uint32(0)
	for l := 1; l <= maxCodeLen; l++ {
		c.count[l] = lenCount[l]
		c.start[l] = idx
		c.first[l] = code
		next[l] = idx
		idx += lenCount[l]
		code = (code + lenCount[l]) << 1
	}
	for sym, l := range lens {
		c.sorted[next[l]] = uint16(sym)
		next[l]++
	}

	// Codewords of length l <= tableBits, in canonical order, occupy
	// consecutive runs of 2^(tableBits-l) table entries.
	tb := int(c.tableBits)
	pos := 0
	for l := 1; l <= tb; l++ {
		span := 1 << (tb - l)
		for _, sym := range c.sorted[c.start[l] : c.start[l]+c.count[l]] {
			e := sym<<4 | uint16(l)
			t := c.table[pos : pos+span]
			for k := range t {
				t[k] = e
			}
			pos += span
		}
	}
	clear(c.table[pos : 1<<tb])
}

// sortSymbols fills keys with freq<<10 | sym for every symbol, sorted by
// frequency and then symbol. Frequencies are small and mostly below the
// number of symbols, so a counting sort does most of the work; the few
// symbols at or above the last bucket are finished with an insertion sort.
func sortSymbols(freqs, keys, counts []uint32) {
	n := len(freqs)
	last := uint32(n - 1)
	clear(counts)
	for _, f := range freqs {
		counts[min(f, last)]++
	}
	sum := uint32(0)
	for i, c := range counts {
		counts[i] = sum
		sum += c
	}
	for sym, f := range freqs {
		b := min(f, last)
		keys[counts[b]] = f<<10 | uint32(sym)
		counts[b]++
	}
	// The last bucket now ends at n; it starts where bucket last-1 ends.
	top := keys[counts[last-1]:]
	for i := 1; i < len(top); i++ {
		k := top[i]
		j := i
		for j > 0 && top[j-1] > k {
			top[j] = top[j-1]
			j--
		}
		top[j] = k
	}
}
