package lzms

import (
	"encoding/binary"
	"fmt"
)

// The decoder's hot state lives in local variables of decode; these small
// functions take and return it by value so that they inline and the state
// stays in registers.

// rcNormalize shifts 16 more bits of input into the range decoder; past the
// end of the data, zeros come in (as in wimlib).
func rcNormalize(rng, code uint32, src []byte, pos int) (uint32, uint32, int) {
	rng <<= 16
	code <<= 16
	if pos+2 <= len(src) {
		code |= uint32(binary.LittleEndian.Uint16(src[pos:]))
		pos += 2
	}
	return rng, code, pos
}

// rcBit decodes one decision with probability entry e, updating e, and
// returns the bit and the new range and code. The range must be above
// 0xFFFF.
func rcBit(rng, code uint32, e *probEntry) (bit, newRng, newCode uint32) {
	// The probability of a 0, out of 64, moved from 0 to 1 and 64 to 63.
	p := e.zeros
	p += (p - 1) >> 31
	p -= p >> probBits
	bound := (rng >> probBits) * p
	r := e.recent
	if code >= bound {
		bit = 1
		code -= bound
		rng -= bound
	} else {
		rng = bound
	}
	e.recent = r<<1 | uint64(bit)
	// A 0 leaving the 64-bit window removes a zero; a 0 entering adds one.
	e.zeros += uint32(r>>63) - bit
	return bit, rng, code
}

// The Huffman bitstream is read backwards from the end of the chunk, in
// 16-bit little-endian units, high bit first, into buf (left-aligned, nb
// valid bits); units before bpos have not been read yet. Callers refill when
// nb < 32, which leaves at least 32 bits: enough for a codeword (15 bits) or
// the extra bits of a slot (at most 30).

// refill loads 32 more bits; it needs bpos >= 4.
func refill(buf uint64, nb uint, src []byte, bpos int) (uint64, uint, int) {
	buf |= uint64(binary.LittleEndian.Uint32(src[bpos-4:])) << (32 - nb)
	return buf, nb + 32, bpos - 4
}

// refillEnd refills near the start of the data. Once the data runs out,
// zero bits come in, as in wimlib; d.pad counts them. They sit at the bottom
// of buf, so if pad exceeds nb some have been consumed, which a valid chunk
// never needs: that is recorded in d.overrun.
//
//go:noinline
func (d *Decompressor) refillEnd(buf uint64, nb uint, src []byte, bpos int) (uint64, uint, int) {
	for nb < 32 {
		if bpos >= 2 {
			bpos -= 2
			buf |= uint64(binary.LittleEndian.Uint16(src[bpos:])) << (48 - nb)
		} else {
			if d.pad > nb {
				d.overrun = true
			}
			d.pad += 16
		}
		nb += 16
	}
	return buf, nb, bpos
}

// counted counts a decoded symbol, rebuilding the code when due.
func (c *huffCode) counted(sym uint32, s *buildScratch) {
	c.freqs[sym]++
	c.left--
	if c.left == 0 {
		c.rebuild(s)
	}
}

// decodeLong decodes a codeword longer than the table covers.
//
//go:noinline
func (c *huffCode) decodeLong(buf uint64, nb uint) (uint32, uint64, uint) {
	for l := c.tableBits + 1; l <= maxCodeLen; l++ {
		v := uint32(buf>>(64-l)) - c.first[l]
		if v < c.count[l] {
			return uint32(c.sorted[c.start[l]+v]), buf << l, nb - l
		}
	}
	// Unreachable: the codes built are complete.
	return 0, buf << maxCodeLen, nb - maxCodeLen
}

// matchState is the state only matches use.
type matchState struct {
	match, lz, delta uint32 // decision contexts
	lzRep, deltaRep  [numLZReps - 1]uint32

	// The recent-offset queues. A newly used offset is inserted only after
	// the next item, so slot 0 holds the previous item's offset, not yet
	// visible, when that item was a match of the same kind: a repeat match
	// then skips slot 0 (prev says what the previous item was).
	recentLZ    [numRepSlots]uint32
	recentDelta [numRepSlots]deltaPair
	prev        int
}

// decode runs the main decoding loop, filling out completely.
//
// The loop is written out long-hand: the range decoder and bitstream state
// live in local variables, updated by small inlined functions, and the
// common paths (table hits, refills with data left) are inlined at every use
// so that the compiler keeps that state in registers.
func (d *Decompressor) decode(out, src []byte) error {
	d.reset(len(out))
	d.pad, d.overrun = 0, false
	m := &d.m
	*m = matchState{
		recentLZ:    [numRepSlots]uint32{1, 2, 3, 4},
		recentDelta: [numRepSlots]deltaPair{{0, 1}, {0, 2}, {0, 3}, {0, 4}},
		prev:        itemLiteral,
	}
	s := &d.scratch
	lit := &d.literal
	d.npend = 0

	rng := uint32(0xFFFFFFFF)
	code := uint32(binary.LittleEndian.Uint16(src))<<16 | uint32(binary.LittleEndian.Uint16(src[2:]))
	rpos := 4
	var buf uint64
	var nb uint
	bpos := len(src)
	mainState := uint32(0)

	// The output is decoded in stages of d.step bytes when d.release is
	// set, to tell it between stages how far the input has been read:
	// the inner loop's bound is the stage's end, where it would be the
	// chunk's, so that the hot loop does no more work for it.
	pos := 0
	for {
		stop := len(out)
		if d.release != nil {
			stop = min(stop, pos+d.step)
		}
		for pos < stop {
			if rng <= 0xFFFF {
				rng, code, rpos = rcNormalize(rng, code, src, rpos)
			}
			var bit uint32
			bit, rng, code = rcBit(rng, code, &d.main[mainState&(numMainProbs-1)])
			mainState = mainState<<1 | bit
			if nb < 32 {
				if bpos >= 4 {
					buf, nb, bpos = refill(buf, nb, src, bpos)
				} else {
					buf, nb, bpos = d.refillEnd(buf, nb, src, bpos)
				}
			}

			if bit == 0 {
				// Literal.
				var sym uint32
				if e := lit.table[buf>>(64-literalTableBits)]; e != 0 {
					sym, buf, nb = uint32(e>>4), buf<<(e&15), nb-uint(e&15)
				} else {
					sym, buf, nb = lit.decodeLong(buf, nb)
				}
				lit.counted(sym, s)
				out[pos] = byte(sym)
				pos++
				m.prev = itemLiteral
				continue
			}

			if rng <= 0xFFFF {
				rng, code, rpos = rcNormalize(rng, code, src, rpos)
			}
			bit, rng, code = rcBit(rng, code, &d.match[m.match&(numMatchProbs-1)])
			m.match = m.match<<1 | bit
			isDelta := bit != 0
			if rng <= 0xFFFF {
				rng, code, rpos = rcNormalize(rng, code, src, rpos)
			}
			if !isDelta {
				bit, rng, code = rcBit(rng, code, &d.lz[m.lz&(numOtherProbs-1)])
				m.lz = m.lz<<1 | bit
			} else {
				bit, rng, code = rcBit(rng, code, &d.delta[m.delta&(numOtherProbs-1)])
				m.delta = m.delta<<1 | bit
			}

			// The source: an explicit offset (LZ) or power and raw offset
			// (delta), or one of the three recent ones.
			var off uint32   // LZ offset or delta raw offset
			var power uint32 // delta power
			if bit == 0 {
				if len(out) < 3 { // numOffsetSlots(len(out)) < 2
					return errNoOffsetCode
				}
				c := &d.lzOffset
				if isDelta {
					pc := &d.deltaPower
					if e := pc.table[buf>>(64-pc.tableBits)&(1<<maxTableBits-1)]; e != 0 {
						power, buf, nb = uint32(e>>4), buf<<(e&15), nb-uint(e&15)
					} else {
						power, buf, nb = pc.decodeLong(buf, nb)
					}
					pc.counted(power, s)
					if nb < 32 {
						if bpos >= 4 {
							buf, nb, bpos = refill(buf, nb, src, bpos)
						} else {
							buf, nb, bpos = d.refillEnd(buf, nb, src, bpos)
						}
					}
					c = &d.deltaOffset
				}
				var slot uint32
				if e := c.table[buf>>(64-c.tableBits)&(1<<maxTableBits-1)]; e != 0 {
					slot, buf, nb = uint32(e>>4), buf<<(e&15), nb-uint(e&15)
				} else {
					slot, buf, nb = c.decodeLong(buf, nb)
				}
				c.counted(slot, s)
				off = offsetBase[slot]
				if x := uint(offsetExtra[slot]); x != 0 {
					if nb < 32 {
						if bpos >= 4 {
							buf, nb, bpos = refill(buf, nb, src, bpos)
						} else {
							buf, nb, bpos = d.refillEnd(buf, nb, src, bpos)
						}
					}
					off += uint32(buf >> (64 - x))
					buf, nb = buf<<x, nb-x
				}
				if isDelta {
					q := &m.recentDelta
					q[3], q[2], q[1] = q[2], q[1], q[0]
				} else {
					q := &m.recentLZ
					q[3], q[2], q[1] = q[2], q[1], q[0]
				}
			} else {
				states, probs := &m.lzRep, &d.lzRep
				if isDelta {
					states, probs = &m.deltaRep, &d.deltaRep
				}
				rep := 0
				for ; rep < numLZReps-1; rep++ {
					if rng <= 0xFFFF {
						rng, code, rpos = rcNormalize(rng, code, src, rpos)
					}
					bit, rng, code = rcBit(rng, code, &probs[rep][states[rep]&(numOtherProbs-1)])
					states[rep] = states[rep]<<1 | bit
					if bit == 0 {
						break
					}
				}
				if isDelta {
					if m.prev == itemDelta {
						rep++
					}
					q := &m.recentDelta
					power, off = q[rep].power, q[rep].raw
					for ; rep > 0; rep-- {
						q[rep] = q[rep-1]
					}
				} else {
					if m.prev == itemLZ {
						rep++
					}
					q := &m.recentLZ
					off = q[rep]
					for ; rep > 0; rep-- {
						q[rep] = q[rep-1]
					}
				}
			}

			// The length: slot and extra bits.
			if nb < 32 {
				if bpos >= 4 {
					buf, nb, bpos = refill(buf, nb, src, bpos)
				} else {
					buf, nb, bpos = d.refillEnd(buf, nb, src, bpos)
				}
			}
			lc := &d.length
			var slot uint32
			if e := lc.table[buf>>(64-lengthTableBits)]; e != 0 {
				slot, buf, nb = uint32(e>>4), buf<<(e&15), nb-uint(e&15)
			} else {
				slot, buf, nb = lc.decodeLong(buf, nb)
			}
			lc.counted(slot, s)
			length := lengthBase[slot]
			if x := uint(lengthExtra[slot]); x != 0 {
				if nb < 32 {
					if bpos >= 4 {
						buf, nb, bpos = refill(buf, nb, src, bpos)
					} else {
						buf, nb, bpos = d.refillEnd(buf, nb, src, bpos)
					}
				}
				length += uint32(buf >> (64 - x))
				buf, nb = buf<<x, nb-x
			}

			// The match is queued, to be copied once its source has been
			// prefetched (see pendingMatch).
			pm := &d.pend[d.npend&(2*pendBatch-1)]
			if !isDelta {
				m.recentLZ[0] = off
				m.prev = itemLZ
				if off > uint32(pos) || length > uint32(len(out)-pos) {
					return matchError("match", uint64(off), 0, length, pos, len(out))
				}
				*pm = pendingMatch{pos: uint32(pos), off: off, length: length}
			} else {
				m.recentDelta[0] = deltaPair{power, off}
				m.prev = itemDelta
				span := uint64(1) << (power & 7)
				doff := uint64(off) << (power & 7)
				if doff+span > uint64(pos) || length > uint32(len(out)-pos) {
					return matchError("delta match", doff, span, length, pos, len(out))
				}
				*pm = pendingMatch{pos: uint32(pos), off: uint32(doff), length: length, span: uint32(span)}
			}
			pos += int(length)
			if d.npend++; d.npend == 2*pendBatch {
				d.flushHalf(out)
			}
		}
		if pos >= len(out) {
			d.flushAll(out)
			break
		}
		// Bytes before rpos went to the range decoder, bytes from bpos
		// on to the bitstream's buffer: neither is read again.
		d.release(rpos, bpos)
	}
	if d.overrun || d.pad > nb {
		return errInputExhausted
	}
	return nil
}

// matchError describes a match that reaches outside the chunk.
//
//go:noinline
func matchError(kind string, off, span uint64, length uint32, pos, size int) error {
	if off+span > uint64(pos) {
		if span != 0 {
			return fmt.Errorf("lzms: %s (offset %d, span %d) reaches before the start of the chunk at output offset %d", kind, off, span, pos)
		}
		return fmt.Errorf("lzms: %s offset %d reaches before the start of the chunk at output offset %d", kind, off, pos)
	}
	return fmt.Errorf("lzms: %s of length %d at output offset %d overruns the %d-byte chunk", kind, length, pos, size)
}
