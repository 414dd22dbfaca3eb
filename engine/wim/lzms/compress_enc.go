package lzms

import (
	"encoding/binary"
	"math"
	"sync"
)

// The compressor's two output streams and its side of the adaptive models.

// chunkOut is the chunk being written, in the caller's dst: the range
// coder's units from the front, the bitstream's from the back (the chunk
// holds them in reverse order at its end, so the k-th unit written goes
// 2k+2 bytes before the end). Compress then moves the back part down to
// follow the front part. Writing in place keeps no output buffers the size
// of the chunk's output in the compressor. full records that the two parts
// would have met: the chunk does not fit.
//
// The back part first ends halfway (end), and moves to the end of buf only
// if the parts meet there (spill): the final move then writes mostly pages
// the parts wrote already, where from the end of buf it would write as
// many fresh ones as the back part has (a 64 MiB solid chunk's dst is
// fresh memory, kept for the next chunk: this is the memory it holds).
type chunkOut struct {
	buf         []byte
	front, back int
	end         int // where the back part ends: len(buf)/2 or len(buf)
	full        bool
}

func (o *chunkOut) reset(buf []byte) {
	o.buf, o.front, o.back, o.full = buf, 0, 0, false
	o.end = len(buf) / 2
}

// spill is called when another unit does not fit before end: it moves
// the back part to the end of buf if it is not there yet, and reports
// whether the unit fits then (if not, the chunk does not fit: full).
func (o *chunkOut) spill() bool {
	if o.end < len(o.buf) {
		copy(o.buf[len(o.buf)-o.back:], o.buf[o.end-o.back:o.end])
		o.end = len(o.buf)
		if o.front+o.back+2 <= o.end {
			return true
		}
	}
	o.full = true
	return false
}

func (o *chunkOut) putFront(u uint16) {
	if o.front+o.back+2 > o.end && !o.spill() {
		return
	}
	binary.LittleEndian.PutUint16(o.buf[o.front:], u)
	o.front += 2
}

func (o *chunkOut) putBack(u uint16) {
	if o.front+o.back+2 > o.end && !o.spill() {
		return
	}
	o.back += 2
	binary.LittleEndian.PutUint16(o.buf[o.end-o.back:], u)
}

// rangeEncoder is the binary range encoder whose 16-bit units go at the
// front of the chunk. It is the LZMA encoder with 16-bit units: the unit
// about to be written and any run of 0xFFFF units after it are held back
// (cache, cacheSize) until it is known whether a carry reaches them.
type rangeEncoder struct {
	low       uint64 // 32 bits of interval start, plus the carry in bit 32
	rng       uint32
	cache     uint16
	cacheSize int
	started   bool // the first unit shifted out, a 0, is not written
	out       *chunkOut
}

func (e *rangeEncoder) reset(out *chunkOut) {
	e.low, e.rng = 0, 0xFFFFFFFF
	e.cache, e.cacheSize, e.started = 0, 1, false
	e.out = out
}

// shiftLow moves the top 16 bits of low out, into the cache or the output.
func (e *rangeEncoder) shiftLow() {
	if uint32(e.low) < 0xFFFF0000 || e.low>>32 != 0 {
		carry := uint16(e.low >> 32)
		for ; e.cacheSize > 0; e.cacheSize-- {
			if e.started {
				e.out.putFront(e.cache + carry)
			}
			e.started = true
			e.cache = 0xFFFF
		}
		e.cache = uint16(e.low >> 16)
	}
	e.cacheSize++
	e.low = (e.low & 0xFFFF) << 16
}

// encode codes one decision with probability entry pe, updating pe the way
// the decoder does (rcBit).
func (e *rangeEncoder) encode(pe *probEntry, bit uint32) {
	if e.rng <= 0xFFFF {
		e.rng <<= 16
		e.shiftLow()
	}
	bound := (e.rng >> probBits) * clampProb(pe.zeros)
	if bit == 0 {
		e.rng = bound
	} else {
		e.low += uint64(bound)
		e.rng -= bound
	}
	r := pe.recent
	pe.recent = r<<1 | uint64(bit)
	pe.zeros += uint32(r>>63) - bit
}

// finish writes out what is left of low, and one zero unit after it, as
// wimlib does. The decoder reads one unit ahead of each normalisation the
// encoder makes, plus the two it starts with: three shifts write exactly
// that many units. The fourth is for 7-Zip, whose decoder normalises once
// more after the last symbol when the range is at most 0xFFFF and then
// requires its code to be 0 and the range coder's units not to reach into
// the bitstream: without the zero unit it read the bitstream's last unit
// there and refused the chunk ("Data Error"; about 3 chunks in 100).
func (e *rangeEncoder) finish() {
	for range 4 {
		e.shiftLow()
	}
}

// clampProb is an entry's probability of a 0, out of 64, kept within 1..63.
func clampProb(zeros uint32) uint32 {
	return min(max(zeros, 1), probDenom-1)
}

// bitWriter writes the Huffman bitstream, high bit first, in 16-bit units
// at the back of the chunk.
type bitWriter struct {
	buf uint64
	n   uint // bits in buf not yet written out (< 16 between calls)
	out *chunkOut
}

func (w *bitWriter) reset(out *chunkOut) {
	w.buf, w.n = 0, 0
	w.out = out
}

// put writes the low nb bits of v (nb <= 30).
func (w *bitWriter) put(v uint32, nb uint) {
	w.buf = w.buf<<nb | uint64(v)
	w.n += nb
	for w.n >= 16 {
		w.n -= 16
		w.out.putBack(uint16(w.buf >> w.n))
	}
}

// finish pads the last unit with zero bits.
func (w *bitWriter) finish() {
	if w.n > 0 {
		w.out.putBack(uint16(w.buf << (16 - w.n)))
		w.n = 0
	}
}

// encCode is the encoder's side of an adaptive Huffman code (huffCode): the
// same frequencies, rebuilt at the same symbol counts with the same
// builder, giving each symbol's codeword and length.
type encCode struct {
	numSyms     int
	rebuildFreq int
	left        int

	freqs [maxOffsetSyms]uint32
	lens  [maxOffsetSyms]uint8
	codes [maxOffsetSyms]uint16

	// The parse's price of each symbol: its codeword and the extra bits
	// of its slot (extra: none if nil), in 1/costScale bits, kept with
	// the code so that pricing a match's offset or length takes one load.
	extra []uint8
	cost  [maxOffsetSyms]uint32
	gen   uint32 // counts the builds, for tables derived from cost
}

// reset starts the code over for numSyms symbols, rebuilt every
// rebuildFreq symbols; extra (nil: none) gives each symbol's extra bits.
func (c *encCode) reset(numSyms, rebuildFreq int, extra []uint8, s *buildScratch) {
	c.numSyms, c.rebuildFreq, c.left = numSyms, rebuildFreq, rebuildFreq
	c.extra = extra
	for i := range c.freqs[:numSyms] {
		c.freqs[i] = 1
	}
	if numSyms >= 2 {
		c.build(s)
	}
}

// build makes the canonical code for the current frequencies: codewords of
// each length are consecutive, in symbol order, as fill assigns them.
func (c *encCode) build(s *buildScratch) {
	var lenCount [maxCodeLen + 1]uint32
	lens := s.codeLengths(c.freqs[:c.numSyms], &lenCount)
	var next [maxCodeLen + 1]uint32
	code := uint32(0)
	for l := 1; l <= maxCodeLen; l++ {
		next[l] = code
		code = (code + lenCount[l]) << 1
	}
	copy(c.lens[:], lens)
	c.gen++
	for sym, l := range lens {
		x := uint32(0)
		if c.extra != nil {
			x = uint32(c.extra[sym])
		}
		c.cost[sym] = (uint32(l) + x) << costShift
		c.codes[sym] = uint16(next[l])
		next[l]++
	}
}

// put writes sym and counts it, rebuilding the code when due.
func (c *encCode) put(w *bitWriter, sym int, s *buildScratch) {
	w.put(uint32(c.codes[sym]), uint(c.lens[sym]))
	c.freqs[sym]++
	c.left--
	if c.left == 0 {
		c.build(s)
		for i, f := range c.freqs[:c.numSyms] {
			c.freqs[i] = f>>1 + 1
		}
		c.left = c.rebuildFreq
	}
}

// Costs, for the parser, are in 1/costScale bits.
const (
	costShift = 6
	costScale = 1 << costShift
)

// bitCost[p] is the cost of coding a bit whose probability is p/64 (p is
// clamped to 1..63 first, as the coder does).
var bitCost = func() (t [probDenom + 1]uint32) {
	for p := range t {
		q := float64(min(max(p, 1), probDenom-1)) / probDenom
		t[p] = uint32(math.Round(-math.Log2(q) * costScale))
	}
	return t
}()

// cost0 and cost1 are the costs of coding a 0 or a 1 with e.
func (e *probEntry) cost0() uint32 { return bitCost[e.zeros] }
func (e *probEntry) cost1() uint32 { return bitCost[probDenom-e.zeros] }

// Slot lookup tables for small values; larger ones are searched.
const (
	fastOffsets = 1 << 16
	fastLengths = 1 << 12
)

var slotTables = sync.OnceValues(func() (*[fastOffsets]uint16, *[fastLengths]uint8) {
	var off [fastOffsets]uint16
	var length [fastLengths]uint8
	s := 0
	for v := 1; v < fastOffsets; v++ {
		for offsetBase[s+1] <= uint32(v) {
			s++
		}
		off[v] = uint16(s)
	}
	s = 0
	for v := 1; v < fastLengths; v++ {
		for lengthBase[s+1] <= uint32(v) {
			s++
		}
		length[v] = uint8(s)
	}
	return &off, &length
})

// slotOf returns the slot of v (>= 1) in base, which has one entry more
// than there are slots.
func slotOf(base []uint32, v uint32) int {
	lo, hi := 0, len(base)-2
	for lo < hi { // the last slot whose base is <= v
		mid := (lo + hi + 1) / 2
		if base[mid] <= v {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}
