package lzx

import "fmt"

// The compressor. Its parts, in the order a chunk meets them:
//
//   - E8 translation of a copy of the chunk (lzx.go);
//   - the match finder (compress_matchfinder.go): binary trees give, for
//     every position of a region of the chunk, the matches of increasing
//     length with the smallest offsets found;
//   - a quick lazy parse of the region (compress_parse.go: the longest
//     cached match or repeat offset match, unless the next position has a
//     longer one), whose symbols give the first cost estimates;
//   - block splitting (compress_split.go), from the lazy parse's symbols;
//   - for each block, a minimum-cost path search with costs taken from
//     the Huffman codes the lazy parse gives that block: every position's
//     matches, the repeat offsets R0..R2 and "gap" steps (match, literal,
//     repeat of the same offset) are edges of a graph whose cheapest path
//     is found forwards, the recent offsets following the best path to
//     each position; then Huffman codes
//     (compress_huffman.go) and the block itself: verbatim or aligned,
//     whichever is smaller, or uncompressed when that is smaller still
//     (compress_write.go).
//
// That is the default level; the slow level runs the same deeper (and
// searches length 2 matches), and the fast level replaces the trees, the
// cache and the path search with hash chains and a lazy parse
// (compress_fast.go, compress_fast16.go).

// Compressor parameters. The search depth, nice length and passes are
// those of the default level (see levelParams).
//
// The nice length is wimlib's level 50 one (48) less 16: a nice match
// ends the tree search, and the positions it covers are neither searched
// nor parsed, so the shorter it is the less both the finder and the
// path search (whose work grows with the square of the match lengths
// below nice) do. Measured on tree A, every 20th file in 32 KiB chunks
// (encoder CPU medians of 5-7 interleaved rounds, size against nice 48):
// nice 40 -4% CPU, +0.13% size; 36 -7%, +0.22%; 32 -9..-11%, +0.35%;
// 28 -14%, +0.53%; 24 -15%, +0.8%. The search depth hardly matters
// (most walks end before it): 12 instead of 24 saved 3% for +0.06%.
//
// Below nice 32 that squared work is small: on tree A, every 10th file,
// the path search offers 2.4 explicit and 1.7 repeat lengths per byte,
// and relaxing them is some 5% of the encoder. 59% of the explicit ones
// are at positions that merely continue the previous position's match
// (same offset, one byte shorter). Not offering those continuations made
// the output 0.63% larger for 7% less CPU, a worse trade than a shorter
// nice length; not offering them only where the position is reached by
// a literal (20M of their 52M lengths) kept the size (+52 bytes) and
// saved no CPU (-1.3% to +3.1% in interleaved rounds); offering
// those reached by a match at their full length only made it 0.06%
// larger, again for no CPU. Ending the search (and skipping the
// positions covered) at 28 or 30 bytes with nice still 32: -5.6% CPU for
// +0.16% size, -3% for +0.08%, on the nice length's curve.
const (
	encSearchDepth = 24 // tree nodes visited per position
	encNiceLen     = 32 // a match this long is taken without looking further
	encPasses      = 2  // lazy parse + minimum-cost path searches per block (at least 2)
	encUnusedMain  = 16 // cost in bits given to unused symbols between passes
	encUnusedLen   = 16

	encMaxBlock    = 1 << 17 // size of the regions parsed at once
	encRegionSlack = 1 << 13 // a region may grow this much to end the chunk
	encMaxCache    = 1 << 20 // matches cached for a region, at most (about)
	encBitCost     = 64      // cost units per bit
)

// Compressor compresses LZX chunks. Not safe for concurrent use; reuse it.
type Compressor struct {
	maxChunk int
	order    int
	numSlots int
	numMain  int

	params encParams

	buf  []byte               // the chunk after E8 translation
	mf16 *matchFinder[uint16] // for chunks of at most 32 KiB
	mf32 *matchFinder[uint32] // for larger chunks
	hc16 *hashChains16        // the fast level's finder, chunks of at most 32 KiB (buf is its window)
	hc32 *hashChains[uint32]  // the fast level's finder, larger chunks

	// Matches of the current region: those of its position i are
	// cache[cacheIdx[i]:cacheIdx[i+1]] (none at positions skipped inside
	// a long match).
	cache    []lzMatch
	cacheIdx []int32

	// Minimum-cost path search state, one entry per block position + 1
	// (see minCostPath). (The recent offsets in a ring of 1024 entries
	// instead, 8 KB rather than 256, saved no CPU measurable on tree A.)
	node     []uint64
	gapFirst []uint32
	queue    []recentOffsets

	costs costModel
	freqs symbolFreqs

	// Huffman codes of the current block and the previous block's lengths.
	code     blockCode
	prevMain []uint8
	prevLen  []uint8

	// Whether the chunk has a compressed block yet, and its number of
	// uncompressed blocks (for tests).
	compressedSeen bool
	rawBlocks      int

	huff   huffBuilder
	items  []parseItem // the chosen path: literal runs and matches
	ritems []parseItem // the fast level's parse of a whole region
	fsplit fastSplit   // the fast level's block splitting
	rev    []parseItem // scratch for walkPath
	bw     bitWriter

	// Block splitting scratch.
	bounds []int
	toks   []splitTok
	estL   blockEst
	estR   blockEst
	splitF [2]symbolFreqs

	// Pretree encoding scratch.
	preBest []uint32
	preStep []uint16
	preZero []uint16
	preSame []uint16
	// preDelta holds each length's precode delta symbol, worked out once
	// per writeLens call rather than on every pass.
	preDelta []uint8

	slotTab1 [1 << 15]uint8 // slot of formatted offsets below 1<<15
	slotTab2 []uint8        // slot of formatted offsets >> 14
}

// recentOffsets is the LZX queue of the three most recent match offsets,
// R0 in the low 21 bits, then R1 and R2. Offsets are below 1<<21.
type recentOffsets uint64

const (
	recentBits = 21
	recentMask = 1<<recentBits - 1
	recentInit = recentOffsets(1 | 1<<recentBits | 1<<(2*recentBits))
)

// get returns offset R[r].
func (q recentOffsets) get(r int) uint32 {
	return uint32(q>>(recentBits*uint(r))) & recentMask
}

// update returns the queue after a match with code: a repeat offset index
// (the offset trades places with R0) or a formatted offset (pushed in front).
func (q recentOffsets) update(code uint32) recentOffsets {
	if code >= numRecentOffsets {
		return (q<<recentBits | recentOffsets(code-offsetAdjust)) & (1<<(3*recentBits) - 1)
	}
	s := recentBits * uint(code)
	r0 := q & recentMask
	rc := q >> s & recentMask
	return q&^(recentMask|recentMask<<s) | rc | r0<<s
}

// NewCompressor returns a compressor for chunks of at most maxChunk bytes (a power
// of two, 32768 ... 2097152) at the default level; error otherwise.
func NewCompressor(maxChunk int) (*Compressor, error) {
	return NewCompressorLevel(maxChunk, LevelDefault)
}

// NewCompressorLevel returns a compressor for chunks of at most maxChunk
// bytes at the given level: LevelFast, LevelDefault, LevelSlow, 0 (the
// default) or a wimlib-style level 1..100 (see LevelParams); error
// otherwise.
func NewCompressorLevel(maxChunk, level int) (*Compressor, error) {
	if maxChunk < minWindowSize || maxChunk > maxWindowSize || maxChunk&(maxChunk-1) != 0 {
		return nil, fmt.Errorf("lzx: chunk size %d is not a power of two from %d to %d", maxChunk, minWindowSize, maxWindowSize)
	}
	p, err := levelParams(level)
	if err != nil {
		return nil, err
	}
	order := windowOrder(maxChunk)
	c := &Compressor{
		params:   p,
		maxChunk: maxChunk,
		order:    order,
		numSlots: numOffsetSlots(order),
		numMain:  numMainSyms(order),
		buf:      make([]byte, maxChunk),
	}
	maxOff := uint32(1)<<order - 3
	switch {
	case p.fast && maxChunk <= hc16Chunk:
		c.hc16 = newHashChains16()
		c.buf = c.hc16.window(maxChunk)
	case p.fast:
		c.hc32 = newHashChains[uint32](maxChunk, maxOff)
	case maxChunk <= 1<<15:
		c.mf16 = newMatchFinder[uint16](maxChunk, maxOff, p.len2)
	default:
		c.mf32 = newMatchFinder[uint32](maxChunk, maxOff, p.len2)
	}
	blk := min(maxChunk, encMaxBlock+encRegionSlack) + maxMatchLen + 1
	c.cacheIdx = make([]int32, blk+1)
	c.node = make([]uint64, blk+1)
	c.gapFirst = make([]uint32, blk+1)
	c.queue = make([]recentOffsets, blk+1)
	c.prevMain = make([]uint8, maxMainSyms)
	c.prevLen = make([]uint8, numLenSyms)
	c.slotTab2 = make([]uint8, (1<<maxWindowOrder+2)>>14+1)
	slot := 0
	for fo := range c.slotTab1 {
		for slot+1 < maxOffsetSlots && uint32(fo) >= slotBase[slot+1] {
			slot++
		}
		c.slotTab1[fo] = uint8(slot)
	}
	for i := range c.slotTab2 {
		fo := uint32(i) << 14
		for slot+1 < maxOffsetSlots && fo >= slotBase[slot+1] {
			slot++
		}
		c.slotTab2[i] = uint8(slot)
	}
	return c, nil
}

// slotOf returns the position slot of formatted offset fo (>= 3).
func (c *Compressor) slotOf(fo uint32) int {
	if fo < 1<<15 {
		return int(c.slotTab1[fo])
	}
	return int(c.slotTab2[fo>>14])
}

// Compress compresses src (len(src) <= maxChunk) into dst and returns the number of
// bytes written, or 0 if the result would not fit in dst (callers pass
// dst = make([]byte, len(src)-1) to demand that the data shrink).
//
// An empty src, or one longer than the chunk size, also gives 0. The
// output is one whole LZX chunk as a WIM stores it; Decompress, given
// len(src), restores src.
func (c *Compressor) Compress(dst, src []byte) int {
	n := len(src)
	if n == 0 || n > c.maxChunk {
		return 0
	}
	data := c.buf[:n]
	copy(data, src)
	e8Preprocess(data)
	switch {
	case c.hc16 != nil:
		c.hc16.reset(data)
	case c.hc32 != nil:
		c.hc32.reset(data)
	case c.mf16 != nil:
		c.mf16.reset(data)
	default:
		c.mf32.reset(data)
	}
	clear(c.prevMain)
	clear(c.prevLen)
	c.bw.reset(n + n/2 + 4096)

	c.compressedSeen, c.rawBlocks = false, 0
	q := recentInit
	for start := 0; start < n; {
		var end int
		switch {
		case c.hc16 != nil, c.hc32 != nil:
			end, q = c.compressRegionFast(fastFinder{c.hc16, c.hc32}, data, start, q)
		case c.mf16 != nil:
			end = findRegionMatches(c, c.mf16, data, start)
			q = c.compressRegion(data, start, end, q)
		default:
			end = findRegionMatches(c, c.mf32, data, start)
			q = c.compressRegion(data, start, end, q)
		}
		start = end
		if len(c.bw.out) > len(dst) {
			return 0
		}
	}
	out := c.bw.finish()
	if len(out) > len(dst) {
		return 0
	}
	return copy(dst, out)
}
