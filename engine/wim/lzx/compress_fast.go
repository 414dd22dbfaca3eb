package lzx

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// Levels. The compressor runs one of three settings, named after the
// wimlib levels they stand against:
//
//   - LevelFast (wimlib's 20): hash chains and a lazy parse, no
//     minimum-cost path (compressRegionFast below);
//   - LevelDefault (wimlib's 50): binary trees, a lazy parse for the first
//     estimates, one minimum-cost path search per block (compress.go);
//   - LevelSlow (wimlib's 100): the same with deeper searches, longer nice
//     matches and more path searches per block.
//
// A wimlib-style level N picks one of them: 1..34 fast (wimlib's own fast
// levels, LZX_MAX_FAST_LEVEL, are those up to 34), 35..69 default, 70 and
// above slow. 0 is the default.
const (
	LevelFast    = 20
	LevelDefault = 50
	LevelSlow    = 100
)

// encParams are the settings of one level.
type encParams struct {
	fast   bool // hash chains and a lazy parse only
	depth  int  // tree nodes (or chain links) visited per position
	nice   int  // a match this long is taken without looking further
	passes int  // lazy parse + minimum-cost path searches per block (binary trees)
	split  bool // the fast level: split regions into blocks (fastSplit)
	len2   bool // binary trees: search explicit offset matches of length 2
	noSkip bool // binary trees: search inside nice matches too

	splitDepth int // binary trees: levels of block splitting (0: no limit)
}

// Settings of each level.
var (
	paramsFast    = encParams{fast: true, depth: fastDepth, nice: fastNice, split: true}
	paramsDefault = encParams{depth: encSearchDepth, nice: encNiceLen, passes: encPasses}
	paramsSlow    = encParams{depth: 48, nice: 96, passes: 4, len2: true, noSkip: true}
)

// levelParams returns the settings of level (see LevelFast).
func levelParams(level int) (encParams, error) {
	switch {
	case level == 0:
		return paramsDefault, nil
	case level < 0:
		return encParams{}, fmt.Errorf("lzx: compression level %d is not 1 to 100 (or 0 for the default)", level)
	case level < 35:
		return paramsFast, nil
	case level < 70:
		return paramsDefault, nil
	}
	return paramsSlow, nil
}

// LevelName returns the setting a level runs: "fast", "default" or "slow"
// ("" for a level NewCompressorLevel rejects).
func LevelName(level int) string {
	p, err := levelParams(level)
	switch {
	case err != nil:
		return ""
	case p.fast:
		return "fast"
	case p.passes > encPasses:
		return "slow"
	}
	return "default"
}

// The fast level's match finder: hash chains. Every position is linked to
// the previous one whose next four bytes hash alike; a search walks the
// chain from the most recent, up to depth links. A one-entry table by a
// hash of three bytes adds the most recent length 3 match. Entries hold
// position+1 (0: none), in 16 bits for chunks of at most 32 KiB. The
// compressor runs hashChains[uint32] on larger chunks, and on those of at
// most 32 KiB (WIM chunks) hashChains16 (compress_fast16.go), the same
// finder in arrays of fixed size.
//
// The tables grow with the chunk, up to 1<<hcHash4Max heads for chunks of
// 16 KiB and more: a small chunk (most files are a few KiB) clears and
// walks small tables. (wimlib's sizes, 16 and 15 bits, made the output of
// tree A 0.04% smaller and the fast level slower, its tables no longer in
// the L1 cache.)
const (
	hcHash3Max = hcHash4Max - 1
	hcHash4Max = 15
	hcHashMin  = 10 // bits of the 4-byte table for the smallest chunks
)

// The fast level's search: at most fastDepth chain links per position (half
// that for the lazy step's), and a match of fastNice bytes is taken at once.
// wimlib's level 20 walks 60 links, nice at 80. Once the lazy parse took
// repeat offset matches at once, our output of tree A was 0.33% smaller
// than wimlib's at 64 and 96; 32 and 32 spend most of that margin on time
// (capture of tree A: CPU -5%, 0.9990x wimlib's size; 24 and 32 was
// 0.9998x in BenchmarkTreeGroups, 16 and 48 larger than wimlib's).
const (
	fastDepth = 32
	fastNice  = 32
)

type hashChains[T mfPos] struct {
	head3  *[1 << hcHash3Max]T
	head4  *[1 << hcHash4Max]T
	prev   []T // previous position in the chain of each position
	data   []byte
	maxOff uint32
	sh3    uint32 // hash shifts: 32 less the bits of each table
	sh4    uint32
}

func newHashChains[T mfPos](maxChunk int, maxOff uint32) *hashChains[T] {
	return &hashChains[T]{
		head3:  new([1 << hcHash3Max]T),
		head4:  new([1 << hcHash4Max]T),
		prev:   make([]T, maxChunk),
		maxOff: maxOff,
	}
}

// hcBits returns the bits of the 4-byte table for a chunk of n bytes: one
// more than n's, within hcHashMin..hcHash4Max (the 3-byte table has one
// bit less).
func hcBits(n int) uint32 {
	return uint32(min(max(bits.Len(uint(n)), hcHashMin-1)+1, hcHash4Max))
}

func (h *hashChains[T]) reset(data []byte) {
	b := hcBits(len(data))
	h.sh4 = 32 - b
	h.sh3 = 32 - (b - 1)
	clear(h.head3[:1<<(b-1)])
	clear(h.head4[:1<<b])
	h.data = data
}

func (h *hashChains[T]) hash3(v uint32) uint32 {
	return (v & 0xFFFFFF) * 0x9E3779B1 >> (h.sh3 & 31) & (1<<hcHash3Max - 1)
}

func (h *hashChains[T]) hash4(v uint32) uint32 {
	return v * 0x9E3779B1 >> (h.sh4 & 31) & (1<<hcHash4Max - 1)
}

// insert links position pos (pos+4 <= len(data)) into the tables.
func (h *hashChains[T]) insert(pos int) {
	seq := binary.LittleEndian.Uint32(h.data[pos:])
	// hash3 and hash4, written out: insert stays small enough to inline.
	h.head3[(seq&0xFFFFFF)*0x9E3779B1>>(h.sh3&31)&(1<<hcHash3Max-1)] = T(pos + 1)
	k := seq * 0x9E3779B1 >> (h.sh4 & 31) & (1<<hcHash4Max - 1)
	h.prev[pos] = h.head4[k]
	h.head4[k] = T(pos + 1)
}

// longest inserts position pos and returns its longest match longer than
// minLen (0: none) and at most maxLen (4 <= maxLen <= len(data)-pos), and
// its offset (0, 0: none); the search follows at most depth links and stops at a match
// of nice bytes.
//
// Nodes below lim are out of reach (or 0, the end of the chain), so one
// comparison ends the walk. When the 3-byte table has no position in
// reach, no position in reach starts with the same 3 bytes, so the chain
// is not walked (as wimlib's hc_matchfinder). Until a match of 4 bytes is
// found, a node is tried by its first 4 bytes; then by the 4 bytes that end
// one past the best length (tail), which most nodes fail, then the first 4.
func (h *hashChains[T]) longest(pos, minLen, maxLen, nice, depth int) (int, uint32) {
	data := h.data
	seq := binary.LittleEndian.Uint32(data[pos:])
	cur := uint32(pos) + 1
	lim := uint32(1)
	if cur > h.maxOff {
		lim = cur - h.maxOff
	}
	k3 := h.hash3(seq)
	k4 := h.hash4(seq)
	p := uint32(h.head3[k3])
	node := uint32(h.head4[k4])
	h.head3[k3] = T(cur)
	h.prev[pos] = T(node)
	h.head4[k4] = T(cur)
	if p < lim {
		return 0, 0
	}
	best, bestOff := minLen, uint32(0)
	if best < 3 && binary.LittleEndian.Uint32(data[p-1:])&0xFFFFFF == seq&0xFFFFFF {
		best, bestOff = 3, cur-p
	}
	prev := h.prev
	if best < 4 {
		for {
			if node < lim || depth <= 0 {
				if bestOff == 0 {
					return 0, 0
				}
				return best, bestOff
			}
			m := int(node - 1)
			node = uint32(prev[m])
			depth--
			if binary.LittleEndian.Uint32(data[m:]) == seq {
				best, bestOff = matchLen(data, m, pos, 4, maxLen), uint32(pos-m)
				break
			}
		}
	}
	if best >= nice || best >= maxLen {
		if bestOff == 0 {
			return 0, 0 // minLen is already maxLen
		}
		return best, bestOff
	}
	tail := binary.LittleEndian.Uint32(data[pos+best-3:])
	for ; node >= lim && depth > 0; depth-- {
		m := int(node - 1)
		node = uint32(prev[m])
		if binary.LittleEndian.Uint32(data[m+best-3:]) != tail ||
			binary.LittleEndian.Uint32(data[m:]) != seq {
			continue
		}
		n := matchLen(data, m, pos, 4, maxLen)
		if n > best {
			best, bestOff = n, uint32(pos-m)
			if n >= nice || n >= maxLen {
				break
			}
			tail = binary.LittleEndian.Uint32(data[pos+best-3:])
		}
	}
	if bestOff == 0 {
		return 0, 0
	}
	return best, bestOff
}

// insertRange links positions from..to-1 (to+3 <= len(data)) into the
// tables.
func (h *hashChains[T]) insertRange(from, to int) {
	for p := from; p < to; p++ {
		h.insert(p)
	}
}

// fastFinder is the fast level's match finder of a chunk: h16 for chunks of
// at most 32 KiB, h32 for larger ones (the other is nil).
type fastFinder struct {
	h16 *hashChains16
	h32 *hashChains[uint32]
}

func (f fastFinder) insert(pos int) {
	if f.h16 != nil {
		f.h16.insert(pos)
		return
	}
	f.h32.insert(pos)
}

func (f fastFinder) insertRange(from, to int) {
	if f.h16 != nil {
		f.h16.insertRange(from, to)
		return
	}
	f.h32.insertRange(from, to)
}

// fastGain scores a match for the lazy parse: its length, plus 3 for a
// repeat offset (no offset bits, and the queue keeps the offsets that
// structured data repeats), plus 1 for an offset below 4096 and 1 more
// below 256. (Scored in bits saved, 8 per byte less the offset's extra
// bits, the output of text was 12% larger: the parse took far matches a
// byte longer over repeats; this weighting is that of wimlib's lazy parse.)
func fastGain(length int, code uint32) int {
	if code < numRecentOffsets {
		return length + 3
	}
	g := length
	if code < 4096 {
		g++
	}
	if code < 256 {
		g++
	}
	return g
}

// fastMatch returns the best match at pos of the explicit one (length l,
// offset off) and the repeat offset matches of q: its length (0: none worth
// taking), code and gain. Without an explicit match of 3 bytes or more it
// returns none: a repeat match is seldom there, and looking for it at
// every literal took a fifth of the time.
//
// The repeat offsets are tried on one load of the 8 bytes at pos; the one
// that is the explicit match's offset is not tried again when that match
// has 4 bytes or more (then its length is the full one).
func (c *Compressor) fastMatch(data []byte, pos, maxL, l int, off uint32, q recentOffsets) (int, uint32, int) {
	if l < 3 {
		return 0, 0, 0
	}
	bl, bc, bg := 0, uint32(0), 0
	reps := [numRecentOffsets]uint32{q.get(0), q.get(1), q.get(2)}
	code := off + offsetAdjust
	for r, o := range reps {
		if o == off {
			code = uint32(r)
			break
		}
	}
	// A short far match costs more than its literals.
	if l > 3 || code < numRecentOffsets || off < 8192 {
		bl, bc, bg = l, code, fastGain(l, code)
	}
	wide := pos+8 <= len(data)
	var w uint64
	if wide {
		w = binary.LittleEndian.Uint64(data[pos:])
	}
	for r, o := range reps {
		if int(o) > pos || (uint32(r) == code && l >= 4) {
			continue
		}
		var rl int
		if wide {
			x := w ^ binary.LittleEndian.Uint64(data[pos-int(o):])
			switch {
			case x&0xFFFFFF != 0:
				continue
			case x != 0:
				rl = min(bits.TrailingZeros64(x)>>3, maxL)
			case maxL <= 8:
				rl = maxL
			default:
				rl = matchLen(data, pos-int(o), pos, 8, maxL)
			}
		} else {
			rl = repLen(data, pos, int(o), maxL)
		}
		if rl >= 3 {
			if g := fastGain(rl, uint32(r)); g > bg {
				bl, bc, bg = rl, uint32(r), g
			}
		}
	}
	return bl, bc, bg
}

// compressRegionFast codes the next region of the chunk from start (as
// findRegionMatches bounds it) at the fast level: a lazy parse over hash
// chains (at each position the best of the longest match and the repeat
// offset matches, unless the next position has a better one), then its
// block split from the symbol counts kept along the parse (fastSplit), and
// the blocks. It returns the region's end and the recent offsets after it.
func (c *Compressor) compressRegionFast(hc fastFinder, data []byte, start int, q recentOffsets) (int, recentOffsets) {
	end := min(len(data), start+encMaxBlock)
	if len(data)-end < encRegionSlack {
		end = len(data)
	}
	q0 := q
	nice, depth := c.params.nice, c.params.depth
	niceMax := min(nice, maxMatchLen) // nice where maxMatchLen bytes remain
	f := &c.freqs
	*f = symbolFreqs{}
	items := c.items[:0]
	lits := 0
	ins := start // the first position not yet inserted
	fs := &c.fsplit
	fs.begin(end - start)
	if !c.params.split {
		fs.next = end - start + 1
	}
	h16 := hc.h16
	literal := func(pos int) {
		f.main[data[pos]]++
		lits++
	}
	for i := start; i < end; {
		if i-start >= fs.next {
			fs.keep(i-start, f)
		}
		maxL := min(maxMatchLen, end-i)
		if maxL < 4 {
			if i >= ins && i+4 <= len(data) {
				hc.insert(i)
				ins = i + 1
			}
			literal(i)
			i++
			continue
		}
		var l int
		var off uint32
		if h16 != nil { // fastFinder.longest, one call less
			l, off = h16.longest(i, 0, maxL, min(nice, maxL), depth)
			// Literals: while no match is found, away from the
			// region's end and before the next split point, the next
			// position is searched at once. This loop carries fewer
			// values across its call than the main loop, which
			// reloaded all of its own after each search.
			for l < 3 && i+1+maxMatchLen <= end && i+1-start < fs.next {
				literal(i)
				i++
				l, off = h16.longest(i, 0, maxMatchLen, niceMax, depth)
			}
			maxL = min(maxMatchLen, end-i)
		} else {
			l, off = hc.h32.longest(i, 0, maxL, min(nice, maxL), depth)
		}
		ins = i + 1
		if l < 3 { // fastMatch would find none: a literal, without the call
			literal(i)
			i++
			continue
		}
		var cl, cg int
		var cc uint32
		if h16 != nil {
			cl, cc, cg = h16.fastMatch(i, maxL, l, off, q)
		} else {
			cl, cc, cg = c.fastMatch(data, i, maxL, l, off, q)
		}
		if cl == 0 {
			literal(i)
			i++
			continue
		}
		// Lazy: a literal first while the next position has a better
		// match. A repeat offset match (any of the three), or a nice
		// match, is taken at once, as wimlib's lazy parse does: weighing
		// a rep1 or rep2 match against the next position too made the
		// offset tables at the start of large .mo files (pairs of 32-bit
		// lengths and offsets, structured by repeats) 2.9% larger than
		// wimlib's, and all of tree A 0.3% larger; taken at once, tree A
		// is 0.3% smaller than wimlib's level 20.
		for cc >= numRecentOffsets && cl < nice && i+1 < end {
			j := i + 1
			maxJ := min(maxMatchLen, end-j)
			if maxJ < 4 {
				break
			}
			// Only a match longer than cl-2 can score more than
			// the current one (an explicit match scores at most its
			// length + 2): the search looks for those alone, and
			// without one the current match is taken.
			var l2 int
			var off2 uint32
			if h16 != nil {
				l2, off2 = h16.longest(j, max(cl-2, 0), maxJ, min(nice, maxJ), max(depth/2, 1))
			} else {
				l2, off2 = hc.h32.longest(j, max(cl-2, 0), maxJ, min(nice, maxJ), max(depth/2, 1))
			}
			ins = j + 1
			if l2 < 3 {
				break
			}
			var nl, ng int
			var nc uint32
			if h16 != nil {
				nl, nc, ng = h16.fastMatch(j, maxJ, l2, off2, q)
			} else {
				nl, nc, ng = c.fastMatch(data, j, maxJ, l2, off2, q)
			}
			if nl == 0 || ng <= cg {
				break
			}
			literal(i)
			i, cl, cc, cg = j, nl, nc, ng
		}
		c.tallyMatch(cl, cc)
		items = append(items, parseItem{lits: uint32(lits), length: uint32(cl), code: cc})
		lits = 0
		q = q.update(cc)
		hc.insertRange(max(ins, i+1), min(i+cl, len(data)-3))
		i += cl
		ins = max(ins, i)
	}
	c.items = append(items, parseItem{lits: uint32(lits)})

	rlen := end - start
	bounds := append(append(c.bounds[:0], fs.split(f, rlen, c.numMain)...), rlen)
	c.bounds = bounds
	if len(bounds) == 1 {
		c.buildCodes()
		c.writeBlock(data, start, end, q)
		return end, q
	}
	// Cut the region's parse at the block bounds (token starts).
	c.ritems = append(c.ritems[:0], c.items...)
	q = q0
	k, used, p, a := 0, 0, 0, 0
	for _, b := range bounds {
		*f = symbolFreqs{}
		items := c.items[:0]
		lits := 0
		for p < b {
			it := c.ritems[k]
			if rem := int(it.lits) - used; rem > 0 {
				n := min(rem, b-p)
				for _, x := range data[start+p : start+p+n] {
					f.main[x]++
				}
				lits += n
				used += n
				p += n
				continue
			}
			c.tallyMatch(int(it.length), it.code)
			items = append(items, parseItem{lits: uint32(lits), length: it.length, code: it.code})
			lits = 0
			q = q.update(it.code)
			p += int(it.length)
			k++
			used = 0
		}
		c.items = append(items, parseItem{lits: uint32(lits)})
		c.buildCodes()
		c.writeBlock(data, start+a, start+b, q)
		a = b
	}
	return end, q
}
