package lzx

import (
	"encoding/binary"
	"math/bits"
	"slices"
)

// bitWriter writes the LZX bit stream: 16-bit little-endian units, each
// filled from its most significant bit down. Bits wait in acc until two
// units are full, which are written at once (a third of the fast level's
// time on small files was writing bits, two bytes at a time).
type bitWriter struct {
	out []byte
	acc uint64 // pending bits, the last written in the low bits
	n   uint   // number of pending bits (< 32 between calls)
}

func (w *bitWriter) reset(capacity int) {
	if cap(w.out) < capacity {
		w.out = make([]byte, 0, capacity)
	}
	w.out = w.out[:0]
	w.acc, w.n = 0, 0
}

// put writes the low nb bits of v (nb <= 32; v has no other bits set).
func (w *bitWriter) put(v uint32, nb uint8) {
	w.acc = w.acc<<nb | uint64(v)
	w.n += uint(nb)
	if w.n >= 32 {
		w.n -= 32
		// The first unit is the high half: as one little-endian
		// 32-bit word, the halves trade places.
		w.out = binary.LittleEndian.AppendUint32(w.out, bits.RotateLeft32(uint32(w.acc>>w.n), 16))
	}
}

// flush writes the pending whole units (leaving fewer than 16 bits).
func (w *bitWriter) flush() {
	if w.n >= 16 {
		w.n -= 16
		u := uint16(w.acc >> w.n)
		w.out = append(w.out, byte(u), byte(u>>8))
	}
}

// align pads with zero bits to the next 16-bit unit, or writes a whole zero
// unit when already aligned, as an uncompressed block header requires; the
// bytes that follow go straight to out.
func (w *bitWriter) align() {
	w.put(0, uint8(16-w.n%16))
	w.flush()
}

// finish flushes the last partial unit and returns the stream.
func (w *bitWriter) finish() []byte {
	if w.n%16 != 0 {
		w.put(0, uint8(16-w.n%16))
	}
	w.flush()
	return w.out
}

// bits returns the number of bits written so far.
func (w *bitWriter) bits() int { return 8*len(w.out) + int(w.n) }

// blockCode holds the Huffman codes of a block.
type blockCode struct {
	mainLens     [maxMainSyms]uint8
	mainCodes    [maxMainSyms]uint32
	lenLens      [numLenSyms]uint8
	lenCodes     [numLenSyms]uint32
	alignedLens  [numAligned]uint8
	alignedCodes [numAligned]uint32
}

// buildCodes builds the block's Huffman codes from c.freqs.
func (c *Compressor) buildCodes() {
	k := &c.code
	c.huff.build(c.freqs.main[:c.numMain], maxMainCodeLen, k.mainLens[:c.numMain], k.mainCodes[:c.numMain])
	c.huff.build(c.freqs.length[:], maxLenCodeLen, k.lenLens[:], k.lenCodes[:])
	c.huff.build(c.freqs.aligned[:], maxAlignedCodeLen, k.alignedLens[:], k.alignedCodes[:])
}

// writeBlock writes the block data[start:end] from c.items and c.code,
// choosing the block type: verbatim, aligned or, if that is smaller,
// uncompressed with recent offsets q.
//
// An uncompressed block of 32768 bytes (its size given by the 1-bit flag)
// after a compressed block in a window over 32 KiB is never written: there,
// wimlib's decoder skips 16 more bits of padding than the LZX documents say
// (see alignForBytes in decompress.go).
func (c *Compressor) writeBlock(data []byte, start, end int, q recentOffsets) {
	blen := end - start
	// Verbatim or aligned: the aligned code costs 24 bits and saves
	// 3-len bits per aligned symbol.
	blockType := blockVerbatim
	saved := -numAligned * alignedLenBits
	for s, f := range c.freqs.aligned {
		saved += int(f) * (alignedBits - int(c.code.alignedLens[s]))
	}
	if saved > 0 {
		blockType = blockAligned
	}

	w := &c.bw
	mark, markAcc, markN := len(w.out), w.acc, w.n
	before := w.bits()
	c.writeBlockHeader(blockType, blen)
	if blockType == blockAligned {
		for _, l := range c.code.alignedLens {
			w.put(uint32(l), alignedLenBits)
		}
	}
	c.writeLens(c.code.mainLens[:numChars], c.prevMain[:numChars])
	c.writeLens(c.code.mainLens[numChars:c.numMain], c.prevMain[numChars:c.numMain])
	c.writeLens(c.code.lenLens[:], c.prevLen)
	c.writeItems(data[start:end], blockType == blockAligned)
	if !(c.compressedSeen && blen == defaultBlockSize && c.order > minWindowOrder) {
		header := 4
		if blen != defaultBlockSize {
			header += 16
			if c.order > 15 {
				header += 8
			}
		}
		raw := header + 16 - (before+header)%16 + 96 + 8*(blen+blen&1)
		if raw < w.bits()-before {
			w.out, w.acc, w.n = w.out[:mark], markAcc, markN
			c.writeUncompressed(data[start:end], q)
			c.rawBlocks++
			return
		}
	}
	c.compressedSeen = true
	copy(c.prevMain[:c.numMain], c.code.mainLens[:c.numMain])
	copy(c.prevLen, c.code.lenLens[:])
}

// writeBlockHeader writes the block type and size.
func (c *Compressor) writeBlockHeader(blockType, size int) {
	w := &c.bw
	w.put(uint32(blockType), 3)
	if size == defaultBlockSize {
		w.put(1, 1)
		return
	}
	w.put(0, 1)
	if c.order > 15 {
		w.put(uint32(size), 24)
	} else {
		w.put(uint32(size), 16)
	}
}

// writeUncompressed writes an uncompressed block holding block, with recent
// offsets q.
func (c *Compressor) writeUncompressed(block []byte, q recentOffsets) {
	w := &c.bw
	c.writeBlockHeader(blockUncompressed, len(block))
	w.align()
	for r := range numRecentOffsets {
		w.out = binary.LittleEndian.AppendUint32(w.out, q.get(r))
	}
	w.out = append(w.out, block...)
	if len(block)&1 != 0 {
		w.out = append(w.out, 0)
	}
}

// writeItems writes the literals and matches of c.items.
//
// The bit writer's state is held in locals for the loop (putBits), and out
// is grown first to hold the block at most (a literal is at most 16 bits, a
// match at most 66): through c.bw's fields, every put stored and reloaded
// the pending bits and the slice, and writeItems took half again wimlib's
// time for the same items.
func (c *Compressor) writeItems(block []byte, aligned bool) {
	w := &c.bw
	k := &c.code
	minAligned := maxOffsetSlots
	if aligned {
		minAligned = minAlignedSlot
	}
	out := slices.Grow(w.out, 2*len(block)+9*len(c.items)+8)
	o, acc, n := len(out), w.acc, w.n
	out = out[:cap(out)]
	mainCodes, mainLens := &k.mainCodes, &k.mainLens
	p := 0
	for _, it := range c.items {
		for _, b := range block[p : p+int(it.lits)] {
			o, acc, n = putBits(out, o, acc, n, mainCodes[b], mainLens[b])
		}
		p += int(it.lits)
		if it.length == 0 {
			break
		}
		p += int(it.length)
		slot := int(it.code)
		if it.code >= numRecentOffsets {
			slot = c.slotOf(it.code)
		}
		h := int(it.length) - minMatchLen
		lh := h
		if h > numPrimaryLens {
			lh = numPrimaryLens
		}
		sym := numChars + slot*numLenHeaders + lh
		o, acc, n = putBits(out, o, acc, n, mainCodes[sym], mainLens[sym])
		if h >= numPrimaryLens {
			ls := h - numPrimaryLens
			o, acc, n = putBits(out, o, acc, n, k.lenCodes[ls], k.lenLens[ls])
		}
		if slot < numRecentOffsets {
			continue
		}
		extra := it.code - slotBase[slot]
		nb := extraBits[slot]
		if slot >= minAligned {
			o, acc, n = putBits(out, o, acc, n, extra>>alignedBits, nb-alignedBits)
			a := extra & alignedMask
			o, acc, n = putBits(out, o, acc, n, k.alignedCodes[a], k.alignedLens[a])
		} else {
			o, acc, n = putBits(out, o, acc, n, extra, nb)
		}
	}
	w.out, w.acc, w.n = out[:o], acc, n
}

// putBits is bitWriter.put on a writer held in locals: out (with room at o
// for the unit pair it may write), o its length, acc and n the pending
// bits. It returns the new o, acc and n.
func putBits(out []byte, o int, acc uint64, n uint, v uint32, nb uint8) (int, uint64, uint) {
	acc = acc<<nb | uint64(v)
	n += uint(nb)
	if n >= 32 {
		n -= 32
		binary.LittleEndian.PutUint32(out[o:], bits.RotateLeft32(uint32(acc>>n), 16))
		o += 4
	}
	return o, acc, n
}

// Pretree symbols for runs.
const (
	preZeros4  = 17 // 4..19 zeros, 4 extra bits
	preZeros20 = 18 // 20..51 zeros, 5 extra bits
	preSame4   = 19 // 4..5 equal lengths, 1 extra bit, then a delta symbol
)

// writeLens writes code lengths lens as deltas from prev through a pretree,
// choosing runs with a shortest-path search under the pretree's costs.
func (c *Compressor) writeLens(lens, prev []uint8) {
	m := len(lens)
	if cap(c.preBest) < m+1 {
		c.preBest = make([]uint32, m+1)
		c.preStep = make([]uint16, m+1)
		c.preZero = make([]uint16, m+1)
		c.preSame = make([]uint16, m+1)
		c.preDelta = make([]uint8, m+1)
	}
	best, step := c.preBest[:m+1], c.preStep[:m+1]
	zrun, srun := c.preZero[:m+1], c.preSame[:m+1]
	delta := c.preDelta[:m]
	prev = prev[:m]
	zrun[m], srun[m] = 0, 0
	lensDeltas(lens, prev, delta, srun)
	var cost [numPreSyms]uint32 // the second pass's: the first pretree's lengths
	var freq [numPreSyms]uint32
	var preLens [numPreSyms]uint8
	var preCodes [numPreSyms]uint32
	// Two passes: the second with the costs of the first's pretree
	// (the fast level makes do with one: 0.01% larger, a third of the
	// time of writeLens, which is a fifth of the fast level's on small
	// files).
	passes := 2
	if c.params.fast {
		passes = 1
	} else {
		for i, l := range lens {
			zrun[i] = 0
			if l == 0 {
				zrun[i] = srun[i]
			}
		}
	}
	for iter := 0; iter < passes; iter++ {
		// Shortest path from the end; step encodes the choice: 0 a
		// single delta, otherwise symbol<<8 | run length. The first
		// pass, every symbol costing 4 bits, takes zero runs from a
		// table (lensPathUniform).
		if iter == 0 {
			lensPathUniform(best, step, lens, srun)
		} else {
			lensPath(&cost, best, step, delta, zrun, srun)
		}
		freq = [numPreSyms]uint32{}
		for i := 0; i < m; {
			st := step[i]
			d := delta[i]
			switch st >> 8 {
			case 0:
				freq[d]++
				i++
				continue
			case preSame4:
				freq[d]++
			}
			freq[st>>8]++
			i += int(st & 0xFF)
		}
		c.huff.build(freq[:], maxPreCodeLen, preLens[:], preCodes[:])
		for s := range cost {
			cost[s] = uint32(preLens[s])
			if cost[s] == 0 {
				cost[s] = 8
			}
		}
	}
	w := &c.bw
	for _, l := range preLens {
		w.put(uint32(l), preLenBits)
	}
	for i := 0; i < m; {
		st := step[i]
		d := delta[i]
		sym := int(st >> 8)
		k := int(st & 0xFF)
		switch sym {
		case 0:
			w.put(preCodes[d], preLens[d])
			i++
			continue
		case preZeros4:
			w.put(preCodes[sym], preLens[sym])
			w.put(uint32(k-4), 4)
		case preZeros20:
			w.put(preCodes[sym], preLens[sym])
			w.put(uint32(k-20), 5)
		case preSame4:
			w.put(preCodes[sym], preLens[sym])
			w.put(uint32(k-4), 1)
			w.put(preCodes[d], preLens[d])
		}
		i += k
	}
}

// lensDeltas sets delta[i] to the precode delta symbol of lens[i] from
// prev[i], and srun[i] to the number of lengths from i on equal to lens[i]
// (len(srun) > len(lens)). A function of its own: inlined in writeLens,
// the run and the last length lived on the stack, and every step waited
// on reloading what the step before had stored there.
//
//go:noinline
func lensDeltas(lens, prev, delta []uint8, srun []uint16) {
	m := len(lens)
	prev, delta, srun = prev[:m], delta[:m], srun[:m]
	run, next := uint16(0), uint8(255) // lengths are at most 16
	for i := m - 1; i >= 0; i-- {
		l := lens[i]
		d := int(prev[i]) - int(l) // -16..16: the delta is d mod 17
		if d < 0 {
			d += 17
		}
		delta[i] = uint8(d)
		run++
		if l != next {
			run = 1
		}
		srun[i], next = run, l
	}
}

// lensPath finds writeLens's shortest path from the end under pretree
// costs cost: best[i] is the cost of coding lengths i.. and step[i] the
// first choice, 0 a single delta, otherwise symbol<<8 | run length.
// Zero runs: the cheapest end of a run of 4..19 and of 20..51 zeros comes
// from a sliding minimum (runMin), reset at each run of zeros (all its
// positions share i+zrun[i]).
func lensPath(cost *[numPreSyms]uint32, best []uint32, step []uint16, delta []uint8, zrun, srun []uint16) {
	m := len(delta)
	best[m] = 0
	var w4, w20 runMin
	runEnd := -1
	for i := m - 1; i >= 0; i-- {
		d := delta[i]
		b := cost[d] + best[i+1]
		st := uint16(0)
		if z := int(zrun[i]); z >= 4 {
			if i+z != runEnd {
				runEnd = i + z
				w4.reset()
				w20.reset()
			}
			w4.push(i+4, best)
			w4.drop(i + 19)
			if j := w4.min(); cost[preZeros4]+4+best[j] < b {
				b, st = cost[preZeros4]+4+best[j], preZeros4<<8|uint16(j-i)
			}
			if z >= 20 {
				w20.push(i+20, best)
				w20.drop(i + 51)
				if j := w20.min(); cost[preZeros20]+5+best[j] < b {
					b, st = cost[preZeros20]+5+best[j], preZeros20<<8|uint16(j-i)
				}
			}
		}
		if s := srun[i]; s >= 4 {
			cs := cost[preSame4] + 1 + cost[d]
			if v := cs + best[i+4]; v < b {
				b, st = v, preSame4<<8|4
			}
			if s >= 5 && cs+best[i+5] < b {
				b, st = cs+best[i+5], preSame4<<8|5
			}
		}
		best[i], step[i] = b, st
	}
}

// lensPathUniform is lensPath with every pretree symbol costing 4 bits, the
// first pass's costs: then a run of zeros costs, from each of its
// positions, a fixed amount (uniformZeros) more than from its end, with
// the same first step, and only runs of equal nonzero lengths are searched.
// (The sliding minimums over every zero run were most of writeLens's
// time, which is a fifth of the fast level's on small files.)
func lensPathUniform(best []uint32, step []uint16, lens []uint8, srun []uint16) {
	m := len(lens)
	best[m] = 0
	for i := m; i > 0; {
		if lens[i-1] == 0 {
			s := i - 1
			for s > 0 && lens[s-1] == 0 {
				s--
			}
			be := best[i]
			for j := s; j < i; j++ {
				d := i - j
				best[j], step[j] = uniformZeros.cost[d]+be, uniformZeros.step[d]
			}
			i = s
			continue
		}
		i--
		b := 4 + best[i+1]
		st := uint16(0)
		if s := srun[i]; s >= 4 {
			if v := 9 + best[i+4]; v < b {
				b, st = v, preSame4<<8|4
			}
			if s >= 5 && 9+best[i+5] < b {
				b, st = 9+best[i+5], preSame4<<8|5
			}
		}
		best[i], step[i] = b, st
	}
}

// uniformZeros holds, for a run of d zero lengths (d <= maxMainSyms)
// followed by anything, the cheapest cost of coding the run when every
// pretree symbol costs 4 bits, and its first step, as lensPath chooses
// them: the cost of a single delta (4), a run of 4..19 zeros (4+4, the
// shortest of the cheapest), of 20..51 (4+5), or of 4 or 5 equal lengths
// (4+1+4), tried in that order, each taken when strictly cheaper.
var uniformZeros = func() (u struct {
	cost [maxMainSyms + 1]uint32
	step [maxMainSyms + 1]uint16
}) {
	for d := 1; d <= maxMainSyms; d++ {
		b, st := 4+u.cost[d-1], uint16(0)
		for _, r := range [...]struct {
			sym, lo, hi int
			cost        uint32
		}{{preZeros4, 4, 19, 8}, {preZeros20, 20, 51, 9}} {
			k := -1
			for n := r.lo; n <= min(r.hi, d); n++ {
				if k < 0 || u.cost[d-n] < u.cost[d-k] {
					k = n
				}
			}
			if k >= 0 && r.cost+u.cost[d-k] < b {
				b, st = r.cost+u.cost[d-k], uint16(r.sym<<8|k)
			}
		}
		for n := 4; n <= min(5, d); n++ {
			if 9+u.cost[d-n] < b {
				b, st = 9+u.cost[d-n], uint16(preSame4<<8|n)
			}
		}
		u.cost[d], u.step[d] = b, st
	}
	return u
}()
