package lzms

import (
	"encoding/binary"
	"math/bits"
)

// The match finder: binary trees, as in the LZX compressor. Positions
// whose next four bytes hash alike form a binary search tree ordered by the
// bytes that follow them, and the tree is re-rooted at the current position
// by the same walk that finds its matches. A small hash table adds the most
// recent length 3 matches, which the trees (keyed on four bytes) miss.
//
// A search that stops at a match of nice bytes leaves the tree ordered on
// the first nice bytes only, and a later search trusts the order as far as
// its own nice length: so nice must not shrink along a chunk, except near
// its end, where maxLen bounds it.
//
// Table entries hold position+1 (0: empty).

const (
	mfHash3Bits    = 15
	mfMinHash4Bits = 10
	mfMaxHash4Bits = 20
)

// lzMatch is a match found at a position.
type lzMatch struct {
	length uint32
	offset uint32
}

type matchFinder struct {
	hash3     []uint32 // two most recent positions by hash of three bytes
	hash4     []uint32 // tree roots
	child     []uint32 // left, right child of each position
	hash4Bits uint
}

// reset prepares the finder for a chunk of n bytes: the root table grows
// with the chunk so that small chunks clear little.
func (mf *matchFinder) reset(n int) {
	hb := uint(min(max(bits.Len(uint(n))-3, mfMinHash4Bits), mfMaxHash4Bits))
	mf.hash4Bits = hb
	if cap(mf.hash4) < 1<<hb {
		mf.hash4 = make([]uint32, 1<<hb)
	}
	mf.hash4 = mf.hash4[:1<<hb]
	clear(mf.hash4)
	if mf.hash3 == nil {
		mf.hash3 = make([]uint32, 2<<mfHash3Bits)
	}
	clear(mf.hash3)
	if cap(mf.child) < 2*n {
		mf.child = make([]uint32, 2*n)
	}
	mf.child = mf.child[:2*n] // every entry is written before it is read
}

// ahead starts, with prefetches that retire at once (see prefetch3), the
// cache misses of the root table entries that find will read at pos
// (pos+4 <= len of the padded buffer) and, with df non-nil, of the delta
// finder's table entries for the keys keysAt computed at dpos. It returns
// 0 (amd64) or a sum of the loads to keep.
func (mf *matchFinder) ahead(data []byte, pos int, df *deltaFinder, dpos int) uint32 {
	seq := binary.LittleEndian.Uint32(data[pos:])
	h3 := &mf.hash3[hash3(seq)*2]
	h4 := &mf.hash4[seq*0x9E3779B1>>(32-mf.hash4Bits)]
	if df != nil {
		return prefetch3d(h3, h4, h4, df.table, &df.slots[dpos&(deltaRing-1)])
	}
	return prefetch3(h3, h4, h4)
}

func hash3(v uint32) uint32 { return (v & 0xFFFFFF) * 0x9E3779B1 >> (32 - mfHash3Bits) }

// find inserts position pos and appends to out its matches, in strictly
// increasing length and offset. maxLen bounds the lengths (pos+maxLen <=
// len(data)); the tree search visits at most depth nodes and stops at the
// first match of nice (<= maxLen) bytes. data has 4 readable bytes from pos
// on (the compressor's buffer is padded).
func (mf *matchFinder) find(data []byte, pos, maxLen, nice, depth int, out []lzMatch) []lzMatch {
	cur := uint32(pos) + 1
	first := len(out)
	if maxLen < 4 {
		// Too close to the end for the trees; matches this short
		// there are not worth the search.
		return out
	}
	seq := binary.LittleEndian.Uint32(data[pos:])
	best := 2
	// Length 3: the more recent of the two last positions with the same
	// hash whose three bytes agree.
	h3 := hash3(seq) * 2
	h := mf.hash3[h3 : h3+2 : h3+2]
	p0, p1 := h[0], h[1]
	h[0], h[1] = cur, p0
	s3 := seq & 0xFFFFFF
	if p0 != 0 && binary.LittleEndian.Uint32(data[p0-1:])&0xFFFFFF == s3 {
		out = append(out, lzMatch{3, cur - p0})
		best = 3
	} else if p1 != 0 && binary.LittleEndian.Uint32(data[p1-1:])&0xFFFFFF == s3 {
		out = append(out, lzMatch{3, cur - p1})
		best = 3
	}
	// Length 4 and up: the binary tree.
	h4 := seq * 0x9E3779B1 >> (32 - mf.hash4Bits)
	node := mf.hash4[h4]
	mf.hash4[h4] = cur
	child := mf.child
	lt := 2 * pos   // where to link the next node less than pos
	gt := 2*pos + 1 // where to link the next node greater than pos
	if node == 0 {
		child[lt], child[gt] = 0, 0
		return out
	}
	ltLen, gtLen := 0, 0
	n := 0
	for {
		m := int(node - 1)
		if data[m+n] == data[pos+n] {
			n = n + 1 + matchLen(data, m+n+1, pos+n+1, maxLen-n-1)
			if n > best {
				best = n
				out = addMatch(out, first, uint32(n), cur-node)
			}
			if n >= nice {
				child[lt] = child[2*m]
				child[gt] = child[2*m+1]
				return out
			}
		}
		if data[m+n] < data[pos+n] {
			child[lt] = node
			lt = 2*m + 1
			node = child[lt]
			ltLen = n
			n = min(n, gtLen)
		} else {
			child[gt] = node
			gt = 2 * m
			node = child[gt]
			gtLen = n
			n = min(n, ltLen)
		}
		depth--
		if node == 0 || depth == 0 {
			child[lt], child[gt] = 0, 0
			return out
		}
	}
}

// addMatch appends a match of length n (longer than any of out[first:])
// and offset off to out, first dropping the shorter matches of out[first:]
// whose offsets are not smaller: the new match covers their lengths as
// cheaply or more.
func addMatch(out []lzMatch, first int, n, off uint32) []lzMatch {
	for len(out) > first && out[len(out)-1].offset >= off {
		out = out[:len(out)-1]
	}
	return append(out, lzMatch{n, off})
}

// matchLen returns how far data[j:] and data[i:] agree, up to limit bytes
// (j < i, i+limit <= len(data)).
func matchLen(data []byte, j, i, limit int) int {
	n := 0
	for n+8 <= limit {
		x := binary.LittleEndian.Uint64(data[i+n:]) ^ binary.LittleEndian.Uint64(data[j+n:])
		if x != 0 {
			return n + bits.TrailingZeros64(x)>>3
		}
		n += 8
	}
	for n < limit && data[i+n] == data[j+n] {
		n++
	}
	return n
}

// The delta match finder. A delta match with span 1<<power repeats the
// differences data[i] - data[i-span] of an earlier stretch whose distance
// is a multiple of span. One table serves all powers: it is indexed by a
// hash of the power, the position modulo span and the next three
// differences (the key), and holds the most recent position with that hash
// (low posBits bits) and a tag, more bits of the key's hash (the bits
// above), which rejects most collisions without reading the data. Four
// bytes an entry, as wimlib's: the table is half the size it was with
// eight-byte entries (whole keys and positions), and its cache misses are
// the finder's main cost. Positions below 64 MiB leave 6 tag bits (a
// collision reads the data once in 64 times), 128 KiB chunks 15. A
// position 0 entry, as in the cleared table, never gives a match: no
// source lies before position 0.
const (
	deltaPowers      = 6 // powers searched: spans 1 to 32, as wimlib does
	deltaMinHashBits = 10
	deltaMaxHashBits = 17
	deltaMinLen      = 3 // the bytes hashed

	// deltaAhead is how many positions ahead of the one the parse is at
	// it computes the keys and prefetches their table entries (see
	// keysAt): one position ahead, the load of an entry in insert still
	// held up retirement (the load after it took 3.5% of a 64 MiB
	// chunk's samples). Four ahead, tree A's first 64 MiB chunk, old and
	// new run at once, CPU: 53.2 -> 51.4 s, 56.7 -> 55.3 s, 63.3 ->
	// 62.0 s; output unchanged. deltaRing, a power of two over
	// deltaAhead, is how many positions' keys are kept.
	deltaAhead = 4
	deltaRing  = 2 * deltaAhead

	// deltaStepCap bounds the step between the positions a power is
	// inserted and searched at in chunks under lcpitMinChunk (see
	// active): every position for span 1, every second for the others.
	// Tree A's files (every 10th) in 128 KiB chunks: CPU 14.4 -> 13.5 s,
	// output 1.0024 -> 1.0028 times libwim's (cap 4: 13.3 s, 1.0031;
	// cap 8: 13.5 s, 1.0041). Not in the interval tree's (solid)
	// chunks: there cap 2 made tree A's 16 MiB chunks 0 to 2 0.13 % to
	// 0.26 % larger for 5-13 % less CPU, and the output of
	// TestCompressSolidRatioVsLibwim 1.0033 -> 1.0050 times libwim's
	// (the same with the step on spans 8 to 32 alone: binaries' delta
	// matches are of the large spans).
	deltaStepCap = 2
)

type deltaFinder struct {
	table    []uint32
	hashBits uint
	posBits  uint // an entry's position bits; the tag has the rest
	stepCap  uint // 1 or deltaStepCap: see active

	// The keys and table slots of deltaRing positions, by position
	// modulo deltaRing (see keysAt): the parse computes them deltaAhead
	// positions ahead of the one insert is to take next, prefetches
	// their table entries (see lcpFinder.findAhead), and insert then
	// uses them. Slots of powers a
	// position is not past are 0 or another position's: prefetching them
	// costs nothing but the prefetch.
	at    [deltaRing]int
	np    [deltaRing]int                 // how many powers have a key at at (span <= at, and active)
	tags  [deltaRing][deltaPowers]uint32 // the tag, in place above posBits
	slots [deltaRing][deltaPowers]uint32
}

func (df *deltaFinder) reset(n int) {
	hb := uint(min(max(bits.Len(uint(n))-1, deltaMinHashBits), deltaMaxHashBits))
	df.hashBits = hb
	if cap(df.table) < 1<<hb {
		df.table = make([]uint32, 1<<hb)
	}
	df.table = df.table[:1<<hb]
	clear(df.table)
	df.posBits = uint(bits.Len(uint(max(n, 1) - 1))) // positions are below n
	df.stepCap = deltaStepCap
	if n >= lcpitMinChunk {
		df.stepCap = 1
	}
	for k := range df.at {
		df.at[k] = -1
	}
	df.slots = [deltaRing][deltaPowers]uint32{} // below the table's length
}

// keysAt computes the tag and table slot of pos for every power whose span
// it is past. The key: the span and the position modulo span (which a
// match's must share), then the next three differences; its hash gives the
// slot (high bits) and the tag (the bits below). buf has 4 readable bytes
// from pos on, so the three differences of every power come from two
// 32-bit loads.
//
// Past the first 1<<(deltaPowers-1) positions, where every power has a
// key, the powers are unrolled and the three smallest spans share one
// 64-bit load: the loop over them kept its state on the stack, and the
// call was 1.5 % of a solid chunk's samples.
func (df *deltaFinder) keysAt(buf []byte, pos int) {
	const all = 1 << (deltaPowers - 1)
	if pos < all {
		df.keysAtLoop(buf, pos)
		return
	}
	// The hash times 1<<hashBits holds the slot in its high 32 bits and
	// the tag, before the mask, in its low ones: one multiplication for
	// the two variable shifts, which x86 only does by the CL register
	// (Go then shuffled and spilled registers around each).
	mul := uint64(1) << df.hashBits
	tagMask := ^uint32(0) << df.posBits
	b := pos & (deltaRing - 1)
	tags, slots := &df.tags[b], &df.slots[b]
	win := buf[pos-all : pos+4 : pos+4]             // one bounds check for the six loads
	near := binary.LittleEndian.Uint64(win[all-4:]) // bytes pos-4 to pos+3
	x := uint32(near >> 32)
	put := func(power int, y uint32) {
		span := 1 << power
		k := uint32(span+pos&(span-1))<<24 | subBytes32(x, y)&0xFFFFFF
		m := uint64(k*0x9E3779B1) * mul
		tags[power] = uint32(m) & tagMask
		slots[power] = uint32(m >> 32)
	}
	put(0, uint32(near>>24))
	put(1, uint32(near>>16))
	put(2, uint32(near))
	put(3, binary.LittleEndian.Uint32(win[all-8:]))
	put(4, binary.LittleEndian.Uint32(win[all-16:]))
	put(5, binary.LittleEndian.Uint32(win))
	np := df.active(pos)
	for power := np; power < deltaPowers; power++ {
		slots[power] = slots[0] // its prefetch then costs nothing
	}
	df.at[b], df.np[b] = pos, np
}

// ahead computes the keys of pos (see keysAt) and starts the cache misses
// of their table entries, for insert to take a few positions on; it
// returns 0 (amd64) or a sum of the loads to keep. For the positions the
// parse skips (inside long matches), where no walk's prefetch call carries
// them: prefetch3d's three other words are the slots themselves, already
// in the cache.
func (df *deltaFinder) ahead(buf []byte, pos int) uint32 {
	df.keysAt(buf, pos)
	s := &df.slots[pos&(deltaRing-1)]
	return prefetch3d(&s[0], &s[1], &s[2], df.table, s)
}

// active returns how many powers, from power 0 on, the finder inserts and
// searches pos for: a power of span 1<<power only at every
// min(span, df.stepCap)-th position. A delta match's offset is a multiple
// of its span, so positions a multiple of the step apart still meet; a
// match is found up to step-1 positions after its start, and the parse's
// repeat delta matches carry it on from there.
func (df *deltaFinder) active(pos int) int {
	t := bits.TrailingZeros(uint(pos) | df.stepCap)
	if 1<<t == df.stepCap {
		return deltaPowers
	}
	return t + 1
}

// keysAtLoop is keysAt for any position, a power at a time.
func (df *deltaFinder) keysAtLoop(buf []byte, pos int) {
	x := binary.LittleEndian.Uint32(buf[pos:])
	shift := 32 - df.hashBits
	tagMask := ^uint32(0) << df.posBits
	np := min(bits.Len(uint(pos)), df.active(pos))
	tags, slots := &df.tags[pos&(deltaRing-1)], &df.slots[pos&(deltaRing-1)]
	for power := range np {
		span := 1 << power
		y := binary.LittleEndian.Uint32(buf[pos-span:])
		k := uint32(span+pos&(span-1))<<24 | subBytes32(x, y)&0xFFFFFF
		h := k * 0x9E3779B1
		tags[power] = h << df.hashBits & tagMask // the bits below the slot's
		slots[power] = h >> shift
	}
	df.at[pos&(deltaRing-1)], df.np[pos&(deltaRing-1)] = pos, np
}

// insert adds pos for every power active at pos (see active). With found
// non-nil, it also returns in found[power] the longest delta match of the
// earlier position with the same hash (length 0 if none), and a mask of
// the powers that have one (bit power set), which spares the parse a look
// at the other powers. data is
// the chunk; its backing array has encPad readable bytes past its end (the
// compressor's padding). The keys come from keysAt if it was called for
// pos, else they are computed here: each position's are computed once.
func (df *deltaFinder) insert(data []byte, pos int, found *[deltaPowers]deltaFound) (mask uint32) {
	if found != nil {
		*found = [deltaPowers]deltaFound{}
	}
	n := len(data)
	if pos+deltaMinLen > n {
		return 0
	}
	b := pos & (deltaRing - 1)
	buf := data[:n+encPad]
	if df.at[b] != pos {
		df.keysAt(buf, pos)
	}
	table := df.table
	posMask := uint32(1)<<df.posBits - 1
	tags, slots := &df.tags[b], &df.slots[b]
	x8 := binary.LittleEndian.Uint64(buf[pos:])
	for power := range df.np[b] {
		tag, h := tags[power], slots[power]
		e := table[h]
		table[h] = tag | uint32(pos)
		if found == nil || e&^posMask != tag {
			continue
		}
		// The same tag means most likely the same span and three
		// differences. off is 0 when another power's entry for pos
		// shares the slot.
		span := 1 << power
		off := pos - int(e&posMask)
		if off <= 0 || off&(span-1) != 0 || off+span > pos {
			continue
		}
		// The first eight differences are compared from 64-bit loads
		// (pos+8 <= n+encPad) before deltaLen is called: a tag agrees
		// by chance once in 64 in 64 MiB chunks (6 bits), and the
		// first three differences then most likely differ; and most
		// matches end within eight bytes (7.3 on average in the first
		// 4 MiB of tree A's solid stream), where deltaLen's slicing
		// and loop took about 170 instructions a call.
		src := pos - off
		d := subBytes(x8, binary.LittleEndian.Uint64(buf[pos-span:])) ^
			subBytes(binary.LittleEndian.Uint64(buf[src:]), binary.LittleEndian.Uint64(buf[src-span:]))
		if d&0xFFFFFF != 0 {
			continue
		}
		// The match runs to the first difference, or to the chunk's
		// end (n-pos >= deltaMinLen), whichever comes first: what
		// deltaLen returns.
		l := n - pos
		if d != 0 {
			l = min(l, bits.TrailingZeros64(d)>>3)
		} else if l > 8 {
			l = deltaLen(data, pos, off, span, l)
		}
		found[power] = deltaFound{uint32(l), uint32(off >> power)}
		mask |= 1 << power
	}
	return mask
}

// deltaFound is a delta match found for one power: its length and raw
// offset (the offset over the span).
type deltaFound struct{ length, raw uint32 }

// deltaLen returns how long a delta match at pos with offset off and span
// runs, up to limit bytes (off+span <= pos).
func deltaLen(data []byte, pos, off, span, limit int) int {
	a := data[pos : pos+limit]
	b := data[pos-span : pos-span+limit]
	c := data[pos-off : pos-off+limit]
	d := data[pos-off-span : pos-off-span+limit]
	i := 0
	// Eight bytes at a time: a-b and c-d byte by byte, without borrows
	// between bytes.
	for ; i+8 <= limit; i += 8 {
		x := subBytes(binary.LittleEndian.Uint64(a[i:]), binary.LittleEndian.Uint64(b[i:])) ^
			subBytes(binary.LittleEndian.Uint64(c[i:]), binary.LittleEndian.Uint64(d[i:]))
		if x != 0 {
			return i + bits.TrailingZeros64(x)>>3
		}
	}
	for ; i < limit; i++ {
		if a[i]-b[i] != c[i]-d[i] {
			return i
		}
	}
	return limit
}

// subBytes32 is subBytes for four bytes.
func subBytes32(x, y uint32) uint32 {
	const h = 0x80808080
	return ((x | h) - (y &^ h)) ^ ((x ^ ^y) & h)
}

// subBytes returns the bytewise differences x[k]-y[k] (mod 256) of the
// eight bytes of x and y.
func subBytes(x, y uint64) uint64 {
	const h = 0x8080808080808080
	return ((x | h) - (y &^ h)) ^ ((x ^ ^y) & h)
}
