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

// The delta match finder. A delta match with span 1<<power repeats the
// differences data[i] - data[i-span] of an earlier stretch whose distance
// is a multiple of span. One table serves all powers: it is indexed by a
// hash of the power, the position modulo span and the next three
// differences, and holds the most recent position + 1 with that hash.
const (
	deltaPowers      = 6 // powers searched: spans 1 to 32, as wimlib does
	deltaMinHashBits = 10
	deltaMaxHashBits = 17
	deltaMinLen      = 3 // the bytes hashed
)

type deltaFinder struct {
	table    []uint32
	hashBits uint
}

func (df *deltaFinder) reset(n int) {
	hb := uint(min(max(bits.Len(uint(n))+1, deltaMinHashBits), deltaMaxHashBits))
	df.hashBits = hb
	if cap(df.table) < 1<<hb {
		df.table = make([]uint32, 1<<hb)
	}
	df.table = df.table[:1<<hb]
	clear(df.table)
}

// hash hashes the differences at pos with the given span (pos >= span,
// pos+3 <= len(data)).
func (df *deltaFinder) hash(data []byte, pos int, power uint) uint32 {
	span := 1 << power
	d0 := data[pos] - data[pos-span]
	d1 := data[pos+1] - data[pos+1-span]
	d2 := data[pos+2] - data[pos+2-span]
	v := uint32(span+pos&(span-1))<<24 | uint32(d2)<<16 | uint32(d1)<<8 | uint32(d0)
	return v * 0x9E3779B1 >> (32 - df.hashBits)
}

// insert adds pos for every power. With found non-nil, it also returns in
// found[power] the longest delta match of the earlier position with the
// same hash (length 0 if none).
func (df *deltaFinder) insert(data []byte, pos int, found *[deltaPowers]deltaFound) {
	if found != nil {
		*found = [deltaPowers]deltaFound{}
	}
	n := len(data)
	if pos+deltaMinLen > n {
		return
	}
	for power := range uint(deltaPowers) {
		span := 1 << power
		if pos < span {
			break
		}
		h := df.hash(data, pos, power)
		cur := df.table[h]
		df.table[h] = uint32(pos) + 1
		if found == nil || cur == 0 {
			continue
		}
		// off is 0 when another power's entry for pos shares the hash.
		off := pos - int(cur-1)
		if off == 0 || off&(span-1) != 0 || off+span > pos {
			continue
		}
		if l := deltaLen(data, pos, off, span, n-pos); l >= deltaMinLen {
			found[power] = deltaFound{uint32(l), uint32(off >> power)}
		}
	}
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
	for i := range a {
		if a[i]-b[i] != c[i]-d[i] {
			return i
		}
	}
	return limit
}
