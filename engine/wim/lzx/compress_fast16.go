package lzx

import (
	"encoding/binary"
	"math/bits"
)

// hashChains16 is the fast level's finder for chunks of at most 32 KiB, the
// WIM chunk size: hashChains[uint16]'s rules, with the tables, the links
// and the chunk itself in arrays of fixed size, so that the chain walk has
// no bounds checks and keeps its state in registers (the generic walk took
// about twice wimlib's time per link).
//
// A chain node is a position+1 (0: none), and both the links and the
// window are indexed by the node itself: position p is at win[p+1] and its
// link at prev[p+1]. A 16-bit node indexes the 1<<16 links without a mask,
// so each step of the walk is one load whose address is the last load's
// value (the walk waits on that load at every link: an add and a mask
// before it made each link two cycles longer). Links past the chunk's
// are never touched.
//
// The chunk is held in win[1:], where the compressor translates it (see
// NewCompressorLevel); reset copies any other data there.
type hashChains16 struct {
	head3 [1 << hcHash3Max]uint16
	head4 [1 << hcHash4Max]uint16
	prev  [1 << 16]uint16 // previous node in the chain of each node
	win   [hc16Win]byte   // a byte, the chunk, then slack for 4-byte loads
	n     int             // bytes of the chunk in win
	sh3   uint32          // hash shifts: 32 less the bits of each table
	sh4   uint32
	sink  uint16 // the last link of the next position's chain (see longest)

	// The hashes of the position of node nextCur (0: none), which
	// longest works out for the next position.
	nextCur  uint16
	nk3, nk4 uint32
}

const (
	hc16Chunk = 1 << 15
	// A node (at most 1<<15) plus a match's length less 3 (at most
	// maxMatchLen-3, below 1<<8) stays below hc16Win-4: such an index,
	// typed uint16 plus uint8, is proven in range without a mask.
	hc16Win = 1<<16 + 1<<8 + 4
	// hc16Mask masks an index below 1<<16 (changing none: nodes plus
	// match lengths stay below 1<<15 + 1<<9) to prove an 8-byte load in
	// range.
	hc16Mask = 1<<16 - 1
)

// newHashChains16 returns a finder for chunks of at most hc16Chunk bytes
// in a window of at least 32 KiB (an LZX window is never smaller): every
// earlier position of such a chunk is within reach of longest, which is
// never asked about its last 3 positions (offsets of at most 32764, the
// window's reach 32765), so a chain ends only at node 0.
func newHashChains16() *hashChains16 {
	return &hashChains16{}
}

// window returns the chunk's place in win, for n bytes.
func (h *hashChains16) window(n int) []byte {
	return h.win[1 : 1+n]
}

// reset starts a chunk, data (at most hc16Chunk bytes): h.window itself or
// copied into it.
func (h *hashChains16) reset(data []byte) {
	if len(data) > 0 && &data[0] != &h.win[1] {
		copy(h.win[1:], data)
	}
	h.n = len(data)
	h.nextCur = 0
	b := hcBits(len(data))
	h.sh4 = 32 - b
	h.sh3 = 32 - (b - 1)
	clear(h.head3[:1<<(b-1)])
	clear(h.head4[:1<<b])
}

// load returns the 4 bytes at win[node+k]: those of the chunk at
// position node-1+k.
func (h *hashChains16) load(node uint16, k uint8) uint32 {
	return binary.LittleEndian.Uint32(h.win[uint32(node)+uint32(k):])
}

// insert links position pos (pos+4 <= n) into the tables.
func (h *hashChains16) insert(pos int) {
	cur := uint16(pos + 1)
	seq := h.load(cur, 0)
	h.head3[(seq&0xFFFFFF)*0x9E3779B1>>(h.sh3&31)&(1<<hcHash3Max-1)] = cur
	k := seq * 0x9E3779B1 >> (h.sh4 & 31) & (1<<hcHash4Max - 1)
	h.prev[cur] = h.head4[k]
	h.head4[k] = cur
}

// insertRange links positions from..to-1 (to+3 <= n) into the tables:
// insert, with the hash shifts and the tables in locals (the loop reloaded
// the shifts after every store to the tables).
func (h *hashChains16) insertRange(from, to int) {
	sh3, sh4 := h.sh3&31, h.sh4&31
	head3, head4, prev, win := &h.head3, &h.head4, &h.prev, &h.win
	for p := from; p < to; p++ {
		cur := uint16(p + 1)
		seq := binary.LittleEndian.Uint32(win[uint32(cur):])
		head3[(seq&0xFFFFFF)*0x9E3779B1>>sh3&(1<<hcHash3Max-1)] = cur
		k := seq * 0x9E3779B1 >> sh4 & (1<<hcHash4Max - 1)
		prev[cur] = head4[k]
		head4[k] = cur
	}
}

// extend returns how far the chunk agrees at nodes m and cur (m < cur),
// from the 4 bytes known to, up to limit (cur-1+limit <= n): matchLen over
// the window, whose fixed size proves the loads in range.
func (h *hashChains16) extend(m, cur uint16, limit int) int {
	return h.extendFrom(m, cur, 4, limit)
}

// extendFrom is extend from the n bytes known to agree (n <= limit).
//
// It compares 8 bytes at a time up to the first that differ and caps the
// count at limit: the loads may read past limit (past the chunk too, into
// the window's slack or an earlier chunk's bytes), which the cap makes
// harmless. Without a byte loop for the last few bytes it is small enough
// to inline, so longest's chain walk has no call in it, and keeps its
// state in registers (after a call every value it holds is reloaded from
// the stack, and the walk reloaded some at every link).
func (h *hashChains16) extendFrom(m, cur uint16, n, limit int) int {
	for ; n < limit; n += 8 {
		x := binary.LittleEndian.Uint64(h.win[(uint32(cur)+uint32(n))&hc16Mask:]) ^
			binary.LittleEndian.Uint64(h.win[(uint32(m)+uint32(n))&hc16Mask:])
		if x != 0 {
			return min(n+bits.TrailingZeros64(x)>>3, limit)
		}
	}
	return limit
}

// longest is hashChains.longest over the window, for nice <= maxLen (as
// the compressor asks), without a reach test (see newHashChains16).
func (h *hashChains16) longest(pos, minLen, maxLen, nice, depth int) (int, uint32) {
	cur := uint16(pos + 1)
	seq := h.load(cur, 0)
	// The hashes of this position, worked out by the search at the
	// position before when there was one (as wimlib's next_hashes): the
	// head loads need not wait for the hashing.
	k3, k4 := h.nk3, h.nk4
	if cur != h.nextCur {
		k3 = (seq & 0xFFFFFF) * 0x9E3779B1 >> (h.sh3 & 31) & (1<<hcHash3Max - 1)
		k4 = seq * 0x9E3779B1 >> (h.sh4 & 31) & (1<<hcHash4Max - 1)
	}
	p := h.head3[k3&(1<<hcHash3Max-1)]
	node := h.head4[k4&(1<<hcHash4Max-1)]
	h.head3[k3&(1<<hcHash3Max-1)] = cur
	h.prev[cur] = node
	h.head4[k4&(1<<hcHash4Max-1)] = cur
	seqN := h.load(cur+1, 0)
	k4n := seqN * 0x9E3779B1 >> (h.sh4 & 31) & (1<<hcHash4Max - 1)
	h.nextCur = cur + 1
	h.nk3 = (seqN & 0xFFFFFF) * 0x9E3779B1 >> (h.sh3 & 31) & (1<<hcHash3Max - 1)
	h.nk4 = k4n
	if p == 0 {
		return 0, 0
	}
	// The walk also follows the chain of the next position (nb), link for
	// link, whatever it holds: the lazy step (or the next search) walks
	// that chain next, and finds its links in the L1 cache. The two
	// chains' loads wait together, where the walks would wait on each in
	// turn.
	nb := h.head4[k4n]
	best, bestNode := minLen, uint16(0)
	if best < 3 && h.load(p, 0)&0xFFFFFF == seq&0xFFFFFF {
		best, bestNode = 3, p
	}
	if best < 4 {
		for {
			if node == 0 || depth <= 0 {
				h.sink = nb
				if bestNode == 0 {
					return 0, 0
				}
				return best, uint32(cur - bestNode)
			}
			m := node
			node = h.prev[m]
			nb = h.prev[nb]
			depth--
			if h.load(m, 0) == seq {
				best, bestNode = h.extend(m, cur, maxLen), m
				break
			}
		}
	}
	h.sink = nb
	if best >= nice {
		if bestNode == 0 {
			return 0, 0 // minLen is already maxLen
		}
		return best, uint32(cur - bestNode)
	}
	bt := uint8(best - 3)
	tail := h.load(cur, bt)
walk:
	for {
		// Most nodes fail the tail test: this inner loop passes them
		// over and leaves only at a node whose 4 bytes at both ends
		// agree. (Written as one loop with a continue, the compiled
		// walk moved registers and reloaded two values from the stack
		// at every link: 2.8% of the fast level's time.)
		var m uint16
		for {
			if node == 0 || depth <= 0 {
				break walk
			}
			m = node
			node = h.prev[m]
			nb = h.prev[nb]
			depth--
			if h.load(m, bt) == tail && h.load(m, 0) == seq {
				break
			}
		}
		n := h.extend(m, cur, maxLen)
		if n > best {
			best, bestNode = n, m
			if n >= nice {
				break
			}
			bt = uint8(best - 3)
			tail = h.load(cur, bt)
		}
	}
	h.sink = nb
	if bestNode == 0 {
		return 0, 0
	}
	return best, uint32(cur - bestNode)
}

// fastMatch is Compressor.fastMatch over the window, for position pos of
// the chunk (maxL >= 4): the repeat offsets are tried by 8-byte loads that
// the window's fixed size proves in range, with no bounds checks and no
// shorter path near the chunk's end (the bytes the loads read past the
// chunk lie beyond maxL, which caps the length).
func (h *hashChains16) fastMatch(pos, maxL, l int, off uint32, q recentOffsets) (int, uint32, int) {
	if l < 3 {
		return 0, 0, 0
	}
	bl, bc, bg := 0, uint32(0), 0
	r0, r1, r2 := q.get(0), q.get(1), q.get(2)
	code := off + offsetAdjust
	switch off {
	case r0:
		code = 0
	case r1:
		code = 1
	case r2:
		code = 2
	}
	// A short far match costs more than its literals.
	if l > 3 || code < numRecentOffsets || off < 8192 {
		bl, bc, bg = l, code, fastGain(l, code)
	}
	cur := uint32(pos + 1)
	w := binary.LittleEndian.Uint64(h.win[cur&hc16Mask:])
	for r, o := range [numRecentOffsets]uint32{r0, r1, r2} {
		if o >= cur || (uint32(r) == code && l >= 4) {
			continue
		}
		m := (cur - o) & hc16Mask
		x := w ^ binary.LittleEndian.Uint64(h.win[m:])
		var rl int
		switch {
		case x&0xFFFFFF != 0:
			continue
		case x != 0:
			rl = min(bits.TrailingZeros64(x)>>3, maxL)
		case maxL <= 8:
			rl = maxL
		default:
			rl = h.extendFrom(uint16(m), uint16(cur), 8, maxL)
		}
		if g := fastGain(rl, uint32(r)); g > bg {
			bl, bc, bg = rl, uint32(r), g
		}
	}
	return bl, bc, bg
}
