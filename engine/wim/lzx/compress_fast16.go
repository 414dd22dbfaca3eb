package lzx

import "encoding/binary"

// hashChains16 is the fast level's finder for chunks of at most 32 KiB, the
// WIM chunk size: hashChains[uint16]'s rules, with the tables, the links
// and the chunk itself in arrays of fixed size indexed through masks, so
// that the chain walk has no bounds checks and keeps its state in
// registers (the generic walk took about twice wimlib's time per link).
// The chunk is held in win, where the compressor translates it (see
// NewCompressorLevel); reset copies any other data there.
type hashChains16 struct {
	head3  [1 << hcHash3Max]uint16
	head4  [1 << hcHash4Max]uint16
	prev   [hc16Chunk]uint16 // previous position in the chain of each position
	win    [hc16Win]byte     // the chunk, then slack for 4-byte loads
	n      int               // bytes of the chunk in win
	maxOff uint32
	sh3    uint32 // hash shifts: 32 less the bits of each table
	sh4    uint32
}

const (
	hc16Chunk = 1 << 15
	// Positions (and a match's length past them) stay below hc16Mask,
	// so masking an index changes nothing and proves it in range.
	hc16Mask = 1<<16 - 1
	hc16Win  = hc16Mask + 1 + 4
)

func newHashChains16(maxOff uint32) *hashChains16 {
	return &hashChains16{maxOff: maxOff}
}

// reset starts a chunk, data (at most hc16Chunk bytes): win itself or
// copied into it.
func (h *hashChains16) reset(data []byte) {
	if len(data) > 0 && &data[0] != &h.win[0] {
		copy(h.win[:], data)
	}
	h.n = len(data)
	b := hcBits(len(data))
	h.sh4 = 32 - b
	h.sh3 = 32 - (b - 1)
	clear(h.head3[:1<<(b-1)])
	clear(h.head4[:1<<b])
}

// load returns the 4 bytes of the window at i.
func (h *hashChains16) load(i uint32) uint32 {
	return binary.LittleEndian.Uint32(h.win[i&hc16Mask:])
}

// insert links position pos (pos+4 <= n) into the tables.
func (h *hashChains16) insert(pos int) {
	seq := h.load(uint32(pos))
	h.head3[(seq&0xFFFFFF)*0x9E3779B1>>(h.sh3&31)&(1<<hcHash3Max-1)] = uint16(pos + 1)
	k := seq * 0x9E3779B1 >> (h.sh4 & 31) & (1<<hcHash4Max - 1)
	h.prev[pos&(hc16Chunk-1)] = h.head4[k]
	h.head4[k] = uint16(pos + 1)
}

// insertRange links positions from..to-1 (to+3 <= n) into the tables.
func (h *hashChains16) insertRange(from, to int) {
	for p := from; p < to; p++ {
		h.insert(p)
	}
}

// longest is hashChains.longest over the window.
func (h *hashChains16) longest(pos, minLen, maxLen, nice, depth int) (int, uint32) {
	seq := h.load(uint32(pos))
	cur := uint32(pos) + 1
	lim := uint32(1)
	if cur > h.maxOff {
		lim = cur - h.maxOff
	}
	k3 := (seq & 0xFFFFFF) * 0x9E3779B1 >> (h.sh3 & 31) & (1<<hcHash3Max - 1)
	k4 := seq * 0x9E3779B1 >> (h.sh4 & 31) & (1<<hcHash4Max - 1)
	p := uint32(h.head3[k3])
	node := uint32(h.head4[k4])
	h.head3[k3] = uint16(cur)
	h.prev[pos&(hc16Chunk-1)] = uint16(node)
	h.head4[k4] = uint16(cur)
	if p < lim {
		return 0, 0
	}
	best, bestOff := minLen, uint32(0)
	if best < 3 && h.load(p-1)&0xFFFFFF == seq&0xFFFFFF {
		best, bestOff = 3, cur-p
	}
	if best < 4 {
		for {
			if node < lim || depth <= 0 {
				if bestOff == 0 {
					return 0, 0
				}
				return best, bestOff
			}
			m := node - 1
			node = uint32(h.prev[m&(hc16Chunk-1)])
			depth--
			if h.load(m) == seq {
				best, bestOff = matchLen(h.win[:h.n], int(m), pos, 4, maxLen), uint32(pos)-m
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
	bt := uint32(best) - 3
	tail := h.load(uint32(pos) + bt)
	for ; node >= lim && depth > 0; depth-- {
		m := node - 1
		node = uint32(h.prev[m&(hc16Chunk-1)])
		if h.load(m+bt) != tail || h.load(m) != seq {
			continue
		}
		n := matchLen(h.win[:h.n], int(m), pos, 4, maxLen)
		if n > best {
			best, bestOff = n, uint32(pos)-m
			if n >= nice || n >= maxLen {
				break
			}
			bt = uint32(best) - 3
			tail = h.load(uint32(pos) + bt)
		}
	}
	if bestOff == 0 {
		return 0, 0
	}
	return best, bestOff
}
