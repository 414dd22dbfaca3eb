package lzx

import (
	"math"
	"sync"
)

// Block splitting. A new block costs its Huffman code tables but lets the
// codes follow the data. The compressor parses a whole region once, lazily
// (see lazyParse), then splits it where separate codes for the two sides
// (their cost estimated by entropy, plus an estimate of the tables' cost)
// are cheapest, if that beats one block, recursively. The search tries
// token boundaries every encSplitStep bytes or so, updating the estimates
// as each token moves from the right side to the left. Each block is then
// parsed again, by a minimum-cost path search, with costs from its own
// statistics.

const (
	encMinBlock  = 1024 // no block is shorter, unless the region is
	encSplitStep = 16   // boundaries tried are at least this far apart
	encTableBits = 4.0  // estimated table cost per used symbol, in bits

	// encBlockBits is what one more block costs beyond its symbols and
	// code lengths: its header (3 to 27 bits), the three pretrees (240
	// bits) and an aligned offset table (24 bits). A split must save more.
	// Without it, blocks were split where they did not gain: on 32 KiB
	// chunks of the benchmark corpus the output was 0.14% larger and 5%
	// slower than with it (on 128 KiB chunks 0.13% and 3%).
	encBlockBits = 280
)

// splitTok is one literal or match of the lazy parse: its start position
// in the region and its symbols (-1: none).
type splitTok struct {
	pos     int32
	main    int16
	length  int16
	aligned int16
}

// xlogx[f] is f*log2(f), for entropy estimates, for every count a region
// can hold.
var xlogx = sync.OnceValue(func() []float64 {
	t := make([]float64, encMaxBlock+encRegionSlack+2)
	for f := 1; f < len(t); f++ {
		t[f] = float64(f) * math.Log2(float64(f))
	}
	return t
})

// codeEst tracks the estimated cost of one Huffman code's symbols as
// counts change.
type codeEst struct {
	freq []uint32
	n    uint32  // total count
	s    float64 // sum of f*log2(f)
	used int     // symbols with nonzero counts
}

func (e *codeEst) reset(freq []uint32) {
	clear(freq)
	*e = codeEst{freq: freq}
}

func (e *codeEst) add(sym int, t []float64) {
	f := e.freq[sym]
	if f == 0 {
		e.used++
	}
	e.s += t[f+1] - t[f]
	e.freq[sym] = f + 1
	e.n++
}

// sum sets the totals from the counts in e.freq, n in all.
func (e *codeEst) sum(n uint32, t []float64) {
	e.n, e.s, e.used = n, 0, 0
	for _, f := range e.freq {
		if f != 0 {
			e.s += t[f]
			e.used++
		}
	}
}

func (e *codeEst) remove(sym int, t []float64) {
	f := e.freq[sym]
	if f == 1 {
		e.used--
	}
	e.s += t[f-1] - t[f]
	e.freq[sym] = f - 1
	e.n--
}

// bits is the entropy of the symbols plus the tables estimate.
func (e *codeEst) bits(t []float64) float64 {
	return t[e.n] - e.s + encTableBits*float64(e.used)
}

// blockEst tracks the estimated cost of a block (without the extra offset
// bits, which do not depend on the split).
type blockEst struct {
	main, length, aligned codeEst
}

func (b *blockEst) reset(f *symbolFreqs, numMain int) {
	b.main.reset(f.main[:numMain])
	b.length.reset(f.length[:])
	b.aligned.reset(f.aligned[:])
}

func (b *blockEst) add(tk splitTok, t []float64) {
	b.main.add(int(tk.main), t)
	if tk.length >= 0 {
		b.length.add(int(tk.length), t)
	}
	if tk.aligned >= 0 {
		b.aligned.add(int(tk.aligned), t)
	}
}

// fill sets the estimate, reset before, to that of toks: it counts first,
// then sums the entropy terms once per symbol.
func (b *blockEst) fill(toks []splitTok, t []float64) {
	mf, lf, af := b.main.freq, b.length.freq, b.aligned.freq
	var nl, na uint32
	for _, tk := range toks {
		mf[tk.main]++
		if tk.length >= 0 {
			lf[tk.length]++
			nl++
		}
		if tk.aligned >= 0 {
			af[tk.aligned]++
			na++
		}
	}
	b.main.sum(uint32(len(toks)), t)
	b.length.sum(nl, t)
	b.aligned.sum(na, t)
}

func (b *blockEst) remove(tk splitTok, t []float64) {
	b.main.remove(int(tk.main), t)
	if tk.length >= 0 {
		b.length.remove(int(tk.length), t)
	}
	if tk.aligned >= 0 {
		b.aligned.remove(int(tk.aligned), t)
	}
}

func (b *blockEst) bits(t []float64) float64 {
	a := &b.aligned
	al := min(float64(alignedBits*a.n), t[a.n]-a.s+alignedLenBits*numAligned)
	return 3*numPreSyms*preLenBits + 20 + b.main.bits(t) + b.length.bits(t) + al
}

// splitRegion chooses block boundaries for the region data[start:start+rlen]
// from the path in c.items. It returns the block ends, relative to start,
// in c.bounds.
func (c *Compressor) splitRegion(data []byte, start, rlen int) []int {
	c.bounds = c.bounds[:0]
	// The search is cheap: not splitting regions below 8, 16 or 32 KiB
	// saved no CPU measurable on tree A (every 10th file, interleaved
	// rounds) and made the output 0.005%, 0.05% and 0.24% larger.
	if rlen < 2*encMinBlock {
		c.bounds = append(c.bounds, rlen)
		return c.bounds
	}
	toks := c.toks[:0]
	pos := 0
	block := data[start : start+rlen]
	for _, it := range c.items {
		for _, b := range block[pos : pos+int(it.lits)] {
			toks = append(toks, splitTok{int32(pos), int16(b), -1, -1})
			pos++
		}
		if it.length == 0 {
			break
		}
		slot := int(it.code)
		al := int16(-1)
		if it.code >= numRecentOffsets {
			slot = c.slotOf(it.code)
			if slot >= minAlignedSlot {
				al = int16(it.code & alignedMask)
			}
		}
		h := int(it.length) - minMatchLen
		ls := int16(-1)
		if h >= numPrimaryLens {
			ls = int16(h - numPrimaryLens)
			h = numPrimaryLens
		}
		toks = append(toks, splitTok{int32(pos), int16(numChars + slot*numLenHeaders + h), ls, al})
		pos += int(it.length)
	}
	toks = append(toks, splitTok{pos: int32(rlen)}) // sentinel
	c.toks = toks
	c.splitRange(0, len(toks)-1, c.params.splitDepth, xlogx())
	c.bounds = append(c.bounds, rlen)
	return c.bounds
}

// rawBits is about the cost of an uncompressed block of n bytes.
func rawBits(n int) float64 { return float64(8*n + 128) }

// splitRange splits the tokens [a, b) in two where that is cheapest, if
// that is cheaper than one block, and recurses (at most depth levels; 0:
// no limit); it appends the inner boundaries to c.bounds in order.
func (c *Compressor) splitRange(a, b, depth int, t []float64) {
	toks := c.toks
	p0, p1 := int(toks[a].pos), int(toks[b].pos)
	if p1-p0 < 2*encMinBlock {
		return
	}
	left, right := &c.estL, &c.estR
	left.reset(&c.splitF[0], c.numMain)
	right.reset(&c.splitF[1], c.numMain)
	right.fill(toks[a:b], t)
	best := min(right.bits(t), rawBits(p1-p0))
	bestK := -1
	last := 0 // position of the last boundary tried
	for k := a; k < b; k++ {
		tk := toks[k]
		left.add(tk, t)
		right.remove(tk, t)
		p := int(toks[k+1].pos)
		if p-p0 < encMinBlock || p-last < encSplitStep {
			continue
		}
		if p1-p < encMinBlock {
			break
		}
		last = p
		v := min(left.bits(t), rawBits(p-p0)) + min(right.bits(t), rawBits(p1-p))
		if v+encBlockBits < best {
			best, bestK = v, k+1
		}
	}
	if bestK < 0 {
		return
	}
	if depth != 1 {
		c.splitRange(a, bestK, depth-1, t)
	}
	c.bounds = append(c.bounds, int(toks[bestK].pos))
	if depth != 1 {
		c.splitRange(bestK, b, depth-1, t)
	}
}

// compressRegion codes the region data[start:end], whose matches are
// cached, as one or more blocks, starting with recent offsets q. It returns
// the recent offsets after the region.
func (c *Compressor) compressRegion(data []byte, start, end int, q recentOffsets) recentOffsets {
	rlen := end - start
	// A lazy parse of the whole region for first estimates.
	c.lazyParse(data, start, rlen, q)
	bounds := c.splitRegion(data, start, rlen)
	a := 0
	for _, b := range bounds {
		// Costs for the block's path search from its share of the
		// lazy parse.
		if len(bounds) > 1 {
			c.tallyRange(a, b)
		}
		var qEnd recentOffsets
		for pass := 1; pass < c.params.passes; pass++ {
			c.buildCodes()
			c.setCostsFromCode(encUnusedMain, encUnusedLen, 7)
			c.computeMatchCosts()
			qEnd = c.minCostPath(data, start+a, b-a, a, q)
			c.walkPath(data, start+a, b-a)
		}
		c.buildCodes()
		c.writeBlock(data, start+a, start+b, qEnd)
		q = qEnd
		a = b
	}
	return q
}

// tallyRange sets c.freqs to the symbol counts of the lazy parse's tokens of
// block [a, b) of the region.
func (c *Compressor) tallyRange(a, b int) {
	f := &c.freqs
	*f = symbolFreqs{}
	for _, tk := range c.toks {
		if int(tk.pos) < a {
			continue
		}
		if int(tk.pos) >= b {
			break
		}
		f.main[tk.main]++
		if tk.length >= 0 {
			f.length[tk.length]++
		}
		if tk.aligned >= 0 {
			f.aligned[tk.aligned]++
		}
	}
}

// tallyMatchInto counts the symbols of a match in f.
func tallyMatchInto(f *symbolFreqs, c *Compressor, length int, code uint32) {
	slot := int(code)
	if code >= numRecentOffsets {
		slot = c.slotOf(code)
		if slot >= minAlignedSlot {
			f.aligned[code&alignedMask]++
		}
	}
	h := length - minMatchLen
	if h >= numPrimaryLens {
		f.length[h-numPrimaryLens]++
		h = numPrimaryLens
	}
	f.main[numChars+slot*numLenHeaders+h]++
}
