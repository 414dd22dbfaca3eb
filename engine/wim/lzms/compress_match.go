package lzms

import (
	"encoding/binary"
	"math/bits"
)

// The match finder: hash chains on the next three bytes. head holds, for
// each hash, the most recent position + 1 (0: none); prev links each
// position to the previous one with the same hash. Every position is
// inserted, those inside matches too, so that the chains see all of the
// chunk.

const (
	mfMinHashBits = 10
	mfMaxHashBits = 18
)

// lzMatch is a match found at a position.
type lzMatch struct {
	length uint32
	offset uint32
}

type matchFinder struct {
	head     []uint32
	prev     []uint32
	hashBits uint
}

// reset prepares the finder for a chunk of n bytes: the hash table grows
// with the chunk (up to 2^18 heads) so that small chunks clear little.
func (mf *matchFinder) reset(n int) {
	hb := uint(min(max(bits.Len(uint(n)), mfMinHashBits), mfMaxHashBits))
	mf.hashBits = hb
	if cap(mf.head) < 1<<hb {
		mf.head = make([]uint32, 1<<hb)
	}
	mf.head = mf.head[:1<<hb]
	clear(mf.head)
	if cap(mf.prev) < n {
		mf.prev = make([]uint32, n)
	}
	mf.prev = mf.prev[:n] // every entry is written before it is read
}

// hash hashes data[pos:pos+3]; data has 4 readable bytes from pos on (the
// compressor's buffer is padded).
func (mf *matchFinder) hash(data []byte, pos int) uint32 {
	return (binary.LittleEndian.Uint32(data[pos:]) & 0xFFFFFF) * 0x9E3779B1 >> (32 - mf.hashBits)
}

// insert adds position pos without searching.
func (mf *matchFinder) insert(data []byte, pos int) {
	h := mf.hash(data, pos)
	mf.prev[pos] = mf.head[h]
	mf.head[h] = uint32(pos) + 1
}

// find inserts pos and appends to out its matches of at least 3 bytes, in
// strictly increasing length (each with the smallest offset found for it),
// visiting at most depth chain entries and stopping at a match of nice
// bytes. maxLen bounds the lengths; data[pos:pos+maxLen] lies in the chunk.
func (mf *matchFinder) find(data []byte, pos, maxLen, nice, depth int, out []lzMatch) []lzMatch {
	h := mf.hash(data, pos)
	cur := mf.head[h]
	mf.prev[pos] = cur
	mf.head[h] = uint32(pos) + 1
	if maxLen < 3 {
		return out
	}
	nice = min(nice, maxLen)
	best := 2
	for ; cur != 0 && depth > 0; depth-- {
		m := int(cur - 1)
		cur = mf.prev[m]
		// best < maxLen here, so both bytes lie in the chunk.
		if data[m+best] != data[pos+best] {
			continue
		}
		l := matchLen(data, m, pos, maxLen)
		if l > best {
			best = l
			out = append(out, lzMatch{uint32(l), uint32(pos - m)})
			if l >= nice {
				break
			}
		}
	}
	return out
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
