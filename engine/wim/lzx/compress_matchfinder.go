package lzx

import (
	"encoding/binary"
	"math/bits"
)

// The compressor finds matches with binary trees: positions whose next four
// bytes hash alike form a binary search tree ordered by the bytes that
// follow them, and the tree is re-rooted at the current position by the same
// walk that finds its matches. A small hash table adds the most recent
// length 3 matches, which the trees (keyed on four bytes) miss. Explicit
// offset matches of length 2 are not searched for, and the parse still finds
// repeat offset matches of length 2. (wimlib searches them with a third
// table; measured here on the old benchmark corpus, they made the output
// 0.7% smaller and took 12% more time, most of it in the path search at
// the many positions that then have a match. On tree A, every 10th file,
// at depth 24 and nice 32, they made it only 0.08% smaller for 11% more
// encoder CPU; paid for with depth 16 and nice 28, the output was 0.12%
// larger than without them at 24 and 32, for 8% more CPU: they buy too
// little size to spend on a shorter nice length.) The slow level searches
// them (hash2 below): the most recent position with the same two bytes.
//
// A search that stops at a match of niceLen bytes leaves the tree ordered on
// the first niceLen bytes only, and a later search trusts the order as far
// as its own niceLen: so niceLen must not shrink along a chunk, except near
// its end (see findRegionMatches).
//
// Table entries hold position+1 (0: empty), in 16 bits when chunks are at
// most 32 KiB (smaller tables stay in cache) and in 32 bits otherwise.

const (
	mfHash3Bits = 15
	mfHash4Bits = 16
)

// lzMatch is one match found at a position: its length and offset.
type lzMatch struct {
	length uint32
	offset uint32
}

// mfPos is the type of the match finder's table entries.
type mfPos interface{ ~uint16 | ~uint32 }

// matchFinder finds matches in one chunk at a time.
type matchFinder[T mfPos] struct {
	hash2  []T    // most recent position by its two bytes (nil: not searched)
	hash3  [][2]T // two most recent positions by hash of three bytes
	hash4  []T    // tree roots
	child  [][2]T // left, right child of each position
	data   []byte
	maxOff uint32 // largest offset the window allows
}

func newMatchFinder[T mfPos](maxChunk int, maxOff uint32, len2 bool) *matchFinder[T] {
	mf := &matchFinder[T]{
		hash3:  make([][2]T, 1<<mfHash3Bits),
		hash4:  make([]T, 1<<mfHash4Bits),
		child:  make([][2]T, maxChunk),
		maxOff: maxOff,
	}
	if len2 {
		mf.hash2 = make([]T, 1<<16)
	}
	return mf
}

// reset prepares the finder for a new chunk.
func (mf *matchFinder[T]) reset(data []byte) {
	clear(mf.hash2)
	clear(mf.hash3)
	clear(mf.hash4)
	mf.data = data
}

func hash3(v uint32) uint32 { return (v & 0xFFFFFF) * 0x9E3779B1 >> (32 - mfHash3Bits) }
func hash4(v uint32) uint32 { return v * 0x9E3779B1 >> (32 - mfHash4Bits) }

// matchLen returns how far a[i:] and a[j:] agree, starting from length
// start, up to limit (j < i, i+limit <= len(a)).
func matchLen(a []byte, j, i, start, limit int) int {
	n := start
	for n+8 <= limit {
		x := binary.LittleEndian.Uint64(a[i+n:]) ^ binary.LittleEndian.Uint64(a[j+n:])
		if x != 0 {
			return n + bits.TrailingZeros64(x)>>3
		}
		n += 8
	}
	for n < limit && a[i+n] == a[j+n] {
		n++
	}
	return n
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

// find inserts position pos and appends to out its matches, in strictly
// increasing length and offset. maxLen bounds the lengths (pos+maxLen <=
// len(data)); the tree search visits at most depth nodes and stops at the
// first match of niceLen (<= maxLen) bytes.
func (mf *matchFinder[T]) find(pos, maxLen, niceLen, depth int, out []lzMatch) []lzMatch {
	data := mf.data
	cur := uint32(pos) + 1
	first := len(out)
	if maxLen < 4 {
		// Too close to the end for the trees; matches this short
		// there are not worth the search.
		return out
	}
	seq := binary.LittleEndian.Uint32(data[pos:])
	best := 2
	if mf.hash2 != nil {
		// Length 2: the most recent position with the same two bytes.
		k := uint16(seq)
		if p := uint32(mf.hash2[k]); p != 0 && cur-p <= mf.maxOff {
			out = append(out, lzMatch{2, cur - p})
		}
		mf.hash2[k] = T(cur)
	}
	// Length 3: the more recent of the two last positions with the same
	// hash whose three bytes agree.
	hash3 := &mf.hash3[hash3(seq)]
	p0, p1 := uint32(hash3[0]), uint32(hash3[1])
	hash3[0], hash3[1] = T(cur), T(p0)
	s3 := seq & 0xFFFFFF
	if p0 != 0 && cur-p0 <= mf.maxOff && binary.LittleEndian.Uint32(data[p0-1:])&0xFFFFFF == s3 {
		out = addMatch(out, first, 3, cur-p0)
		best = 3
	} else if p1 != 0 && cur-p1 <= mf.maxOff && binary.LittleEndian.Uint32(data[p1-1:])&0xFFFFFF == s3 {
		out = addMatch(out, first, 3, cur-p1)
		best = 3
	}
	// Length 4 and up: the binary tree.
	h4 := hash4(seq)
	node := uint32(mf.hash4[h4])
	mf.hash4[h4] = T(cur)
	child := mf.child
	// Where to link the next node less than pos, and greater: as in
	// wimlib, pointers to the pending child slots.
	cp := &child[pos]
	lt, gt := &cp[0], &cp[1]
	if node == 0 {
		*lt, *gt = 0, 0
		return out
	}
	ltLen, gtLen := 0, 0
	n := 0
	for {
		m := int(node - 1)
		a, b := data[m+n], data[pos+n]
		if a == b {
			n = matchLen(data, m, pos, n+1, maxLen)
			if n > best && cur-node <= mf.maxOff {
				best = n
				out = addMatch(out, first, uint32(n), cur-node)
			}
			if n >= niceLen {
				mc := &child[m]
				*lt, *gt = mc[0], mc[1]
				return out
			}
			// n < niceLen <= maxLen: both bytes are in the data.
			a, b = data[m+n], data[pos+n]
		}
		if a < b {
			*lt = T(node)
			lt = &child[m][1]
			node = uint32(*lt)
			ltLen = n
			n = min(n, gtLen)
		} else {
			*gt = T(node)
			gt = &child[m][0]
			node = uint32(*gt)
			gtLen = n
			n = min(n, ltLen)
		}
		depth--
		if node == 0 || depth == 0 {
			*lt, *gt = 0, 0
			return out
		}
	}
}
