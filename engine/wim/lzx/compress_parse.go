package lzx

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// costModel holds the estimated cost, in 1/encBitCost bits, of every
// symbol and of every (slot, length) match header.
type costModel struct {
	main    [maxMainSyms]uint32
	length  [numLenSyms]uint32
	aligned [numAligned]uint32
	// match[slot][length-minMatchLen]: main symbol, length symbol and the
	// verbatim extra offset bits; for slots >= minAlignedSlot the aligned
	// symbol's cost is added separately. At most (16+16+17)*encBitCost.
	match [maxOffsetSlots][maxMatchLen - minMatchLen + 1]uint16
}

// symbolFreqs counts the symbols of a block.
type symbolFreqs struct {
	main    [maxMainSyms]uint32
	length  [numLenSyms]uint32
	aligned [numAligned]uint32
}

// parseItem is a run of literals followed by a match (length 0: none). code
// is the repeat offset index (0..2) or the formatted offset (offset+2).
type parseItem struct {
	lits   uint32
	length uint32
	code   uint32
}

const (
	itemLenBits = 9
	itemLenMask = 1<<itemLenBits - 1
	itemGap     = 1 << 31 // match, literal, then a repeat of the same offset
)

// findRegionMatches runs the match finder from start and caches the
// matches of every position of the next region (encMaxBlock bytes, or up to
// encRegionSlack more to reach the end of the chunk; less if the cache grows
// past encMaxCache matches); it returns the region's end.
func findRegionMatches[T mfPos](c *Compressor, mf *matchFinder[T], data []byte, start int) int {
	end := min(len(data), start+encMaxBlock)
	if len(data)-end < encRegionSlack {
		end = len(data) // rather than a tiny last region
	}
	cache := c.cache[:0]
	skipUntil := start
	pos := start
	for pos < end {
		c.cacheIdx[pos-start] = int32(len(cache))
		// Matches may run past the region (the parse cuts them), but
		// not past the chunk. The trees stay ordered only on the first
		// nice bytes of each position, and a search trusts the order
		// for as many bytes as its own nice length: so nice must not
		// shrink from one position to a later one, except at the end
		// of the chunk where no search follows.
		maxLen := min(maxMatchLen, len(data)-pos)
		nice := min(c.params.nice, maxLen)
		if pos < skipUntil {
			// Inside a long match: the position is not even inserted.
			// The trees stay valid without it; later positions find
			// this data at the match's source instead, at a slightly
			// larger offset, and the parse would seldom start a
			// match here anyway.
			pos++
			continue
		}
		before := len(cache)
		cache = mf.find(pos, maxLen, nice, c.params.depth, cache)
		if len(cache) > before && !c.params.noSkip {
			if l := int(cache[len(cache)-1].length); l >= nice {
				skipUntil = pos + l
			}
		}
		pos++
		if len(cache) > encMaxCache {
			break
		}
	}
	c.cacheIdx[pos-start] = int32(len(cache))
	c.cache = cache
	return pos
}

// computeMatchCosts fills costs.match from the symbol costs.
func (c *Compressor) computeMatchCosts() {
	m := &c.costs
	for slot := 0; slot < c.numSlots; slot++ {
		extra := uint32(extraBits[slot]) * encBitCost
		if slot >= minAlignedSlot {
			extra -= alignedBits * encBitCost
		}
		sym := numChars + slot*numLenHeaders
		row := &m.match[slot]
		for l := 0; l < numPrimaryLens; l++ {
			row[l] = uint16(m.main[sym+l] + extra)
		}
		long := m.main[sym+numPrimaryLens] + extra
		for l := numPrimaryLens; l < len(row); l++ {
			row[l] = uint16(long + m.length[l-numPrimaryLens])
		}
	}
}

// lazyParse makes a quick lazy parse of the region
// data[start:start+blen]: at each position the longest cached match of at
// least 3 bytes, or a repeat offset match as long, unless the next position
// has a longer explicit match. It leaves the parse in c.items and its
// symbol counts in c.freqs, for the first cost estimates and the block
// split.
func (c *Compressor) lazyParse(data []byte, start, blen int, q recentOffsets) {
	f := &c.freqs
	*f = symbolFreqs{}
	items := c.items[:0]
	lits := 0
	for i := 0; i < blen; {
		pos := start + i
		best, code := 0, uint32(0)
		if ms := c.cache[c.cacheIdx[i]:c.cacheIdx[i+1]]; len(ms) > 0 && blen-i >= minMatchLen {
			maxL := min(blen-i, maxMatchLen)
			m := ms[len(ms)-1]
			best, code = min(int(m.length), maxL), m.offset+offsetAdjust
			for r := 0; r < numRecentOffsets; r++ {
				off := int(q.get(r))
				if off > pos {
					continue
				}
				if l := repLen(data, pos, off, maxL); l >= best && l >= minMatchLen {
					best, code = l, uint32(r)
				}
			}
		}
		if best >= 3 && code >= numRecentOffsets && best < 32 && i+1 < blen {
			// Lazy: a literal first if the next match is longer.
			if ms := c.cache[c.cacheIdx[i+1]:c.cacheIdx[i+2]]; len(ms) > 0 && int(ms[len(ms)-1].length) > best {
				best = 0
			}
		}
		if best < 3 && !(best == 2 && code < numRecentOffsets) {
			f.main[data[pos]]++
			i++
			lits++
			continue
		}
		c.tallyMatch(best, code)
		items = append(items, parseItem{lits: uint32(lits), length: uint32(best), code: code})
		lits = 0
		q = q.update(code)
		i += best
	}
	c.items = append(items, parseItem{lits: uint32(lits)})
}

// tallyMatch counts the symbols of a match.
func (c *Compressor) tallyMatch(length int, code uint32) {
	tallyMatchInto(&c.freqs, c, length, code)
}

// setCostsFromCode takes symbol costs from the Huffman code lengths built
// for the previous pass; unused symbols get the given costs in bits.
func (c *Compressor) setCostsFromCode(unusedMain, unusedLen, unusedAligned uint32) {
	for s := 0; s < c.numMain; s++ {
		l := uint32(c.code.mainLens[s])
		if l == 0 {
			l = unusedMain
		}
		c.costs.main[s] = l * encBitCost
	}
	for s := range c.code.lenLens {
		l := uint32(c.code.lenLens[s])
		if l == 0 {
			l = unusedLen
		}
		c.costs.length[s] = l * encBitCost
	}
	for s := range c.code.alignedLens {
		l := uint32(c.code.alignedLens[s])
		if l == 0 {
			l = unusedAligned
		}
		c.costs.aligned[s] = l * encBitCost
	}
}

// A path node packs the cost of the cheapest path found so far to a block
// position (high 32 bits) and the last step of that path (low 32 bits):
// 0 for a literal, else length | code<<itemLenBits, or a gap item.
const nodeUnreached = math.MaxUint64

// minCostPath finds the cheapest way, under the current cost model, to code
// the block data[start:start+blen] as literals and matches, starting with
// recent offsets q0. The block's matches are those cached from index
// cacheOff on. It leaves the path in c.node and returns the recent offsets
// at its end.
func (c *Compressor) minCostPath(data []byte, start, blen, cacheOff int, q0 recentOffsets) recentOffsets {
	node := c.node[:blen+1]
	queue := c.queue[:blen+1]
	cacheIdx := c.cacheIdx[cacheOff : cacheOff+blen+1]
	cache := c.cache
	for i := range node {
		node[i] = nodeUnreached
	}
	node[0] = 0
	queue[0] = q0
	lit := c.costs.main[:numChars]
	block := data[start : start+blen]

	for i := 0; i < blen; i++ {
		pos := start + i
		ci := node[i] >> 32
		if cacheIdx[i] < cacheIdx[i+1] && blen-i >= minMatchLen {
			maxL := min(blen-i, maxMatchLen)
			reach := node[i : i+maxL+1]
			// Repeat offset matches, each for the lengths the previous
			// ones do not reach; then explicit offset matches, each for
			// the lengths it adds with the smallest offset found for it.
			next := c.offerRepeats(data, pos, queue[i], reach, ci)
			// (A literal and then the same offset again is tried after
			// the longest explicit match below, as wimlib does; trying it
			// after the longest repeat too took 5% of the time and saved
			// 0.03% of the size.)
			ms := cache[cacheIdx[i]:cacheIdx[i+1]]
			if k, l := c.offerExplicit(ms, next, reach, ci); k >= 0 {
				c.tryGap(data, start, start+blen, i, l-1, ms[k].offset, ci)
			}
		}
		// A literal; then the path to i+1 is final, and so its recent
		// offsets.
		j := i + 1
		v := (ci + uint64(lit[block[i]])) << 32
		if v>>32 <= node[j]>>32 {
			node[j] = v
			queue[j] = queue[i]
			continue
		}
		it := uint32(node[j])
		ml := int(it & itemLenMask)
		if it&itemGap != 0 {
			f := c.gapFirst[j]
			queue[j] = queue[j-ml-1-int(f&itemLenMask)].update(f >> itemLenBits)
		} else {
			queue[j] = queue[j-ml].update(it >> itemLenBits)
		}
	}
	return queue[blen]
}

// offerRepeats offers the repeat offset matches of queue q at pos in data,
// a position reached at cost ci, each for the lengths the previous ones do
// not reach; reach[k] is the node k bytes on, so len(reach)-1 bounds the
// lengths. It returns the shortest length no repeat covers.
//
// Most positions have no repeat match at all: the loop keeps few values
// live (the offsets are shifted out of q one by one rather than picked
// with a variable shift) so that rejecting one is a load, a compare and
// a branch; the last 7 bytes of the data take offerRepeatsTail.
func (c *Compressor) offerRepeats(data []byte, pos int, q recentOffsets, reach []uint64, ci uint64) int {
	if pos+8 > len(data) {
		return c.offerRepeatsTail(data, pos, q, reach, ci)
	}
	next := minMatchLen
	cur8 := binary.LittleEndian.Uint64(data[pos:])
	for r := 0; r < numRecentOffsets; r, q = r+1, q>>recentBits {
		off := int(q & recentMask)
		if off > pos {
			continue
		}
		x := cur8 ^ binary.LittleEndian.Uint64(data[pos-off:])
		if x&0xFFFF != 0 {
			continue
		}
		maxL := len(reach) - 1
		var l int
		if x != 0 {
			l = min(bits.TrailingZeros64(x)>>3, maxL)
		} else {
			l = matchLen(data, pos-off, pos, min(8, maxL), maxL)
		}
		if l < next {
			continue
		}
		relax(reach[next:l+1], c.costs.match[r][next-minMatchLen:l-1], ci, uint64(r)<<itemLenBits|uint64(next))
		next = l + 1
	}
	return next
}

// offerRepeatsTail is offerRepeats for a position less than 8 bytes from
// the end of the data.
func (c *Compressor) offerRepeatsTail(data []byte, pos int, q recentOffsets, reach []uint64, ci uint64) int {
	maxL := len(reach) - 1
	next := minMatchLen
	for r := 0; r < numRecentOffsets; r++ {
		off := int(q.get(r))
		if off > pos {
			continue
		}
		l := repLen(data, pos, off, maxL)
		if l == 0 || l < next {
			continue
		}
		relax(reach[next:l+1], c.costs.match[r][next-minMatchLen:l-1], ci, uint64(r)<<itemLenBits|uint64(next))
		next = l + 1
	}
	return next
}

// offerExplicit offers the cached matches ms from a position of cost ci,
// each for the lengths from l up to its own (at most len(reach)-1) that the
// previous ones do not reach. It returns the index in ms of the last match
// that added lengths (-1: none) and the shortest length none reaches.
// (It returns an index rather than the match and its cost, which the
// caller seldom needs: fewer values live across the relaxation loop, which
// had the compiler reload them from the stack on every length.)
func (c *Compressor) offerExplicit(ms []lzMatch, l int, reach []uint64, ci uint64) (last, next int) {
	maxL := len(reach) - 1
	last = -1
	for k, m := range ms {
		ml := min(int(m.length), maxL)
		if ml < l {
			continue
		}
		fo := m.offset + offsetAdjust
		relax(reach[l:ml+1], c.matchRow(fo, l, ml), ci+c.alignedCost(fo), uint64(fo)<<itemLenBits|uint64(l))
		l = ml + 1
		last = k
	}
	return last, l
}

// matchRow returns the costs of the match headers of formatted offset fo
// for the lengths l..ml, less the aligned symbol's (see alignedCost).
func (c *Compressor) matchRow(fo uint32, l, ml int) []uint16 {
	return c.costs.match[c.slotOf(fo)][l-minMatchLen : ml-1]
}

// alignedCost returns the cost of the aligned offset symbol of formatted
// offset fo, 0 if its slot has none.
func (c *Compressor) alignedCost(fo uint32) uint64 {
	const firstAligned = 16 // slotBase[minAlignedSlot]
	if fo < firstAligned {
		return 0
	}
	return uint64(c.costs.aligned[fo&alignedMask])
}

// relax offers the steps of one match for a run of lengths: reaching
// dst[k] costs base+row[k], with the item first+k (the length first+k, the
// match's code above it). A step replaces the node's when it is cheaper:
// min compiles to a conditional move and the node is always stored, since
// which step wins is hard to predict (a branch there cost more). (Written
// inline in minCostPath, the same loop kept its counter on the stack.)
func relax(dst []uint64, row []uint16, base, first uint64) {
	dst = dst[:len(row)]
	for k, rc := range row {
		dst[k] = min((base+uint64(rc))<<32|first, dst[k])
		first++
	}
}

// repLen returns the length (at most maxL >= 2) of the match at data[pos:]
// with offset off <= pos, or 0 if it is shorter than minMatchLen.
func repLen(data []byte, pos, off, maxL int) int {
	if pos+8 <= len(data) {
		x := binary.LittleEndian.Uint64(data[pos:]) ^ binary.LittleEndian.Uint64(data[pos-off:])
		if x&0xFFFF != 0 {
			return 0
		}
		if x != 0 {
			return min(bits.TrailingZeros64(x)>>3, maxL)
		}
		if maxL <= 8 {
			return maxL
		}
		return matchLen(data, pos-off, pos, 8, maxL)
	}
	if data[pos] != data[pos-off] || data[pos+1] != data[pos+1-off] {
		return 0
	}
	return matchLen(data, pos-off, pos, 2, maxL)
}

// tryGap considers, after a match of length l and offset off from block
// position i (the block is data[start:end]) reached at cost ci, a literal
// and then a repeat of the same offset.
func (c *Compressor) tryGap(data []byte, start, end, i, l int, off uint32, ci uint64) {
	p := start + i + l + 1 // after the match and the literal
	rem := end - p
	if rem < minMatchLen || p < int(off) {
		return
	}
	l2 := repLen(data, p, int(off), min(rem, maxMatchLen))
	if l2 == 0 {
		return
	}
	code := off + offsetAdjust
	matchCost := ci + c.alignedCost(code) + uint64(c.matchRow(code, l, l)[0])
	cc := matchCost + uint64(c.costs.main[data[p-1]]) + uint64(c.costs.match[0][l2-minMatchLen])
	j := i + l + 1 + l2
	if cc < c.node[j]>>32 {
		c.node[j] = cc<<32 | itemGap | uint64(l2)
		c.gapFirst[j] = uint32(l) | code<<itemLenBits
	}
}

// walkPath turns the path left by minCostPath for block
// data[start:start+blen] into c.items and tallies its symbols in c.freqs.
func (c *Compressor) walkPath(data []byte, start, blen int) {
	// Walk backwards, collecting the matches in reverse order, with
	// their end positions in lits for now.
	rev := c.rev[:0]
	for j := blen; j > 0; {
		it := uint32(c.node[j])
		if it == 0 {
			j--
			continue
		}
		l := int(it & itemLenMask)
		if it&itemGap != 0 {
			// A repeat of offset R0 after a literal after a match.
			f := c.gapFirst[j]
			rev = append(rev, parseItem{lits: uint32(j), length: uint32(l), code: 0})
			j -= l + 1
			l1 := int(f & itemLenMask)
			rev = append(rev, parseItem{lits: uint32(j), length: uint32(l1), code: f >> itemLenBits})
			j -= l1
			continue
		}
		rev = append(rev, parseItem{lits: uint32(j), length: uint32(l), code: it >> itemLenBits})
		j -= l
	}
	c.rev = rev
	c.freqs = symbolFreqs{}
	f := &c.freqs
	items := c.items[:0]
	prev := 0
	block := data[start : start+blen]
	for k := len(rev) - 1; k >= 0; k-- {
		m := rev[k]
		mstart := int(m.lits) - int(m.length)
		for _, b := range block[prev:mstart] {
			f.main[b]++
		}
		c.tallyMatch(int(m.length), m.code)
		items = append(items, parseItem{lits: uint32(mstart - prev), length: m.length, code: m.code})
		prev = int(m.lits)
	}
	for _, b := range block[prev:] {
		f.main[b]++
	}
	items = append(items, parseItem{lits: uint32(blen - prev)})
	c.items = items
}
