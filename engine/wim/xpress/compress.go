package xpress

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
)

// Match finder and parser parameters. The parse is wimlib's at its default
// level (lazy, over hash chains), with less search effort: wimlib's level
// 50 examines 46 and 23 chain entries, stops at 93 bytes and looks past any
// match shorter than that. On tree A of the bench corpus, wimlib's settings
// in this parser took 1.16 times the CPU time of these, which make 1.003
// times wimlib's output (0.9994 with wimlib's settings and the offset rule
// in parse); TestCompressionRatio checks the ratio.
//
// Measured without gain (BenchmarkTreeSum on tree A every 3rd file, CPU
// seconds, medians of interleaved runs on a loaded 2-core host, where one
// run varies by +-8%): nice 48 or 40 (1.797 -> 1.836 and 1.824 s; output
// +0.02% and +0.04%), lazy depth 6 with nice 48 (1.856 s, +0.08%); depth 16
// or lazy depth 4 cost +0.17% and +0.15% output. The search is bound by
// the loads of the heads and chains (the two hottest instructions), not by
// search effort.
const (
	hash3Bits = 15
	hash4Bits = 16

	defaultDepth     = 24 // chain entries examined per search
	defaultLazyDepth = 8  // the same one byte past a match
	defaultNice      = 64 // stop searching at a match this long (< 256)
	defaultLazyNice  = 16 // take a match this long without looking past it
)

// Compressor compresses chunks. Not safe for concurrent use; reuse it.
type Compressor struct {
	maxChunk  int
	depth     int // chain entries examined per search
	lazyDepth int // the same when looking one byte past a match
	nice      int // stop searching at a match this long (< 256)
	lazyNice  int // take a match this long without looking one byte on

	mf *matchTables

	// items are the chosen literals and matches, each as its symbol
	// (bits 0-8), number of offset bits (9-12) and offset bits (13-27).
	// longLens holds length-3 of each match with length header 15, in order.
	items    []uint32
	longLens []uint16

	wordBuf []byte // the words of the bit stream, before splicing
	splits  []int  // for each long match, the words before its bytes
	freqs   [numSymbols]uint32
	lens    [numSymbols]uint8
	codes   [numSymbols]uint16
	enc     [numSymbols]uint32 // codes<<8 | lens, for write
	huff    huffmanBuilder
}

// matchTables are the match finder's hash chains. Each entry is a position
// in the chunk; 0 means none, so position 0 is never a match source (as in
// wimlib: one lost offset per chunk, and no +1/-1 on every access).
type matchTables struct {
	head3 [1 << hash3Bits]uint16 // latest position with each 3-byte hash
	head4 [1 << hash4Bits]uint16 // latest position with each 4-byte hash
	prev  [MaxChunkSize]uint16   // previous position with the same 4-byte hash

	// next3 and next4 are the hashes of the next position to insert,
	// computed from the 4 bytes after the current position while it is
	// inserted, as wimlib does (wimlib also prefetches their table
	// entries; Go has no prefetch).
	next3, next4 uint32

	// full is set when the hash tables may hold entries of the last chunk.
	full bool

	// A copy of the chunk, padded so that reading 4 bytes at a uint16
	// position plus a uint8 length needs no bounds check.
	win [MaxChunkSize + 256 + 4]byte
}

// NewCompressor returns a Compressor for chunks of up to maxChunk bytes,
// which must be between 1 and MaxChunkSize.
func NewCompressor(maxChunk int) (*Compressor, error) {
	if maxChunk < 1 || maxChunk > MaxChunkSize {
		return nil, fmt.Errorf("xpress: chunk size %d out of range 1 to %d", maxChunk, MaxChunkSize)
	}
	return &Compressor{
		maxChunk:  maxChunk,
		depth:     defaultDepth,
		lazyDepth: defaultLazyDepth,
		nice:      defaultNice,
		lazyNice:  defaultLazyNice,
		mf:        new(matchTables),
		items:     make([]uint32, 0, maxChunk),
	}, nil
}

// minCompressedSize is the size of the smallest possible output: the table,
// then one word holding the end-of-data codeword and the zero padding word.
const minCompressedSize = tableBytes + 4

// Compress compresses src (len(src) <= maxChunk) into dst and returns the number of
// bytes written, or 0 if the result would not fit in dst (callers pass
// dst = make([]byte, len(src)-1) to demand that the data shrink).
//
// It also returns 0 when src is longer than the Compressor's maxChunk. The
// output always ends with the end-of-data symbol that Microsoft's decoder
// needs. An empty src compresses to a valid 260-byte chunk if dst has room.
func (c *Compressor) Compress(dst, src []byte) int {
	n := len(src)
	if n > c.maxChunk || len(dst) < minCompressedSize {
		return 0
	}
	c.freqs = [numSymbols]uint32{}
	extraBits, extraBytes := c.parse(src)
	return c.finish(dst, extraBits, extraBytes)
}

// finish makes the Huffman code for the recorded items and writes them to
// dst, returning the size, or 0 if dst is too small.
func (c *Compressor) finish(dst []byte, extraBits, extraBytes int) int {
	c.freqs[endOfData]++
	c.huff.build(&c.freqs, &c.lens, &c.codes)

	// The exact output size: every word the bit stream fills, the final
	// partial word, the padding word, and the interleaved bytes.
	totalBits := extraBits
	for _, s := range c.huff.syms {
		totalBits += int(c.freqs[s]) * int(c.lens[s])
	}
	size := tableBytes + 2*((totalBits+15)/16+1) + extraBytes
	if size > len(dst) {
		return 0
	}
	c.write(dst[:size])
	return size
}

func hash3(x uint32) uint32 { return (x & 0xffffff) * 0x1e35a7bd >> (32 - hash3Bits) }
func hash4(x uint32) uint32 { return x * 0x1e35a7bd >> (32 - hash4Bits) }

// smallChunk is the largest chunk after which the hash tables are emptied
// entry by entry, rehashing its positions, rather than cleared whole at
// the next chunk: clearing both tables writes 192 KiB, more than
// rehashing a few thousand positions, and most chunks of a folder of small
// files are that small.
const smallChunk = 4096

// reset prepares the tables for a chunk: empty chains, the chunk in win,
// and the hashes of its first position.
func (mf *matchTables) reset(src []byte) {
	if mf.full {
		clear(mf.head3[:])
		clear(mf.head4[:])
		mf.full = false
	}
	copy(mf.win[:], src)
	x := binary.LittleEndian.Uint32(mf.win[:])
	mf.next3, mf.next4 = hash3(x), hash4(x)
}

// release empties the hash tables after a chunk of n bytes if it is small,
// by zeroing the entries its positions used (positions within 5 bytes of
// the end are never inserted); otherwise it leaves them to reset.
func (mf *matchTables) release(n int) {
	if n > smallChunk {
		mf.full = true
		return
	}
	win := &mf.win
	for p := 0; p < n-4; p++ {
		x := binary.LittleEndian.Uint32(win[uint16(p):])
		mf.head3[hash3(x)] = 0
		mf.head4[hash4(x)] = 0
	}
}

// parse chooses literals and matches with lazy evaluation, as wimlib does:
// a match is taken unless the next position has a longer one. Two rules
// differ: a match of lazyNice bytes or more is taken at once (a longer one
// a byte on saves little), and a match one byte longer is not worth a
// literal when its offset takes two or more bits more. It records
// the items and symbol frequencies and returns the number of offset bits
// and of extra length bytes they need.
//
// Its shape follows wimlib's: one search for a match at each position, a
// second, shallower one at the next position while a match is pending, and
// the positions a chosen match covers inserted without searching. (An
// earlier version with one search site and a pending-match state did the
// same search in 1.19× the time: more live values than registers, spilled
// on every position.)
func (c *Compressor) parse(src []byte) (extraBits, extraBytes int) {
	n := len(src)
	mf := c.mf
	freqs := &c.freqs
	items := c.items[:0]
	c.longLens = c.longLens[:0]
	depth, lazyDepth, nice, lazyNice := c.depth, c.lazyDepth, c.nice, c.lazyNice
	far3 := 4096 // length-3 matches this far away cost more than literals
	if n <= 8192 {
		far3 = 2048
	}
	mf.reset(src)
	for i := 0; i < n; {
		length, offset := mf.longest(src, i, 2, nice, depth)
		i++
		if length < minMatch || (length == minMatch && offset >= far3) {
			freqs[src[i-1]]++
			items = append(items, uint32(src[i-1]))
			continue
		}
		// A match starts at start = i-1. Unless it is long enough to take
		// at once, look one byte on: a longer match there makes start a
		// literal, and the search goes on from the new match.
		start := i - 1
		for length < lazyNice {
			next, nextOffset := mf.longest(src, i, length, nice, lazyDepth)
			i++
			if next <= length || next == length+1 && bits.Len32(uint32(nextOffset)) > bits.Len32(uint32(offset))+1 {
				break
			}
			freqs[src[start]]++
			items = append(items, uint32(src[start]))
			start++
			length, offset = next, nextOffset
		}

		adj := length - minMatch
		obits := bits.Len32(uint32(offset)) - 1
		sym := numChars + obits<<4 + min(adj, 15)
		freqs[sym]++
		items = append(items, uint32(sym)|uint32(obits)<<9|uint32(offset&(1<<obits-1))<<13)
		extraBits += obits
		if adj >= 15 {
			extraBytes += c.longLength(adj)
		}
		// Positions before i are inserted; insert the rest of the match.
		mf.skip(src, i, start+length-i)
		i = start + length
	}
	mf.release(n)
	c.items = items
	return extraBits, extraBytes
}

// longLength records the length of a match with length header 15 and
// returns the number of bytes it takes in the stream.
func (c *Compressor) longLength(adj int) int {
	c.longLens = append(c.longLens, uint16(adj))
	if adj < 15+255 {
		return 1
	}
	return 3
}

// skip inserts count positions from i into the hash chains without
// searching. Near the end of the chunk, where longest does not search,
// nothing is inserted.
//
// Hashing each position from its own bytes, so that no hash carried over
// from the last iteration needs a bounds check, made the same output in
// 0.984 times the CPU time (medians of 12 interleaved pairs, of which it
// won 6) and no faster capture: not kept.
func (mf *matchTables) skip(src []byte, i, count int) {
	if count+5 > len(src)-i {
		return
	}
	win := &mf.win
	h3, h4 := mf.next3&(1<<hash3Bits-1), mf.next4&(1<<hash4Bits-1)
	for p, end := uint16(i), uint16(i+count); p != end; p++ {
		mf.head3[h3] = p
		mf.prev[p] = mf.head4[h4]
		mf.head4[h4] = p
		y := binary.LittleEndian.Uint32(win[p+1:])
		h3, h4 = hash3(y), hash4(y)
	}
	mf.next3, mf.next4 = h3, h4
}

// longest inserts position i into the hash chains and returns the longest
// match at i longer than best (with its offset), or best and 0: it examines
// at most depth chain entries and stops at a match of nice bytes or more.
// Within 5 bytes of the end it neither searches nor inserts.
//
// Two ways to hide the latency of the head loads were measured without
// gain (same output; BenchmarkTreeSum medians): loading the next
// position's heads as soon as its hashes are known, into a sink field, in
// place of wimlib's prefetch (1.861 -> 1.878 s); and inserting in parse,
// with longest called only when a 3-byte predecessor exists, since even
// the PGO build of the CLI calls longest at every position (2.109 ->
// 2.169 s).
func (mf *matchTables) longest(src []byte, i, best, nice, depth int) (int, int) {
	n := len(src)
	if n-i < 5 {
		return best, 0
	}
	nice = min(nice, n-i)
	win := &mf.win
	p := uint16(i) // i < n <= MaxChunkSize
	h3, h4 := mf.next3&(1<<hash3Bits-1), mf.next4&(1<<hash4Bits-1)
	cand3, cand := mf.head3[h3], mf.head4[h4]
	mf.head3[h3] = p
	mf.head4[h4] = p
	mf.prev[p] = cand
	y := binary.LittleEndian.Uint32(win[p+1:])
	mf.next3, mf.next4 = hash3(y), hash4(y)

	x := binary.LittleEndian.Uint32(win[p:])
	length, offset := best, 0
	if length < 4 {
		// No 3-byte predecessor means no 4-byte one either.
		if cand3 == 0 {
			return length, offset
		}
		if length < minMatch && binary.LittleEndian.Uint32(win[cand3:])&0xffffff == x&0xffffff {
			length, offset = minMatch, i-int(cand3)
		}
		// The first 4 bytes decide until a match of 4 or more is found.
		for {
			if cand == 0 {
				return length, offset
			}
			if binary.LittleEndian.Uint32(win[cand:]) == x {
				break
			}
			cand = mf.prev[cand]
			if depth--; depth <= 0 {
				return length, offset
			}
		}
		length, offset = mf.matchLen(int(cand), i, n-i), i-int(cand)
		if length >= nice {
			return length, offset
		}
		cand = mf.prev[cand]
		if depth--; depth <= 0 {
			return length, offset
		}
	} else if length >= nice {
		return length, offset
	}
	// 4 <= length < nice < 256. A longer match must agree on the 4 bytes
	// ending at index length, and on the first 4.
	tail := binary.LittleEndian.Uint32(win[int(p)+int(uint8(length-3)):])
	for ; cand != 0 && depth > 0; depth-- {
		j := cand
		cand = mf.prev[j]
		if binary.LittleEndian.Uint32(win[int(j)+int(uint8(length-3)):]) != tail || binary.LittleEndian.Uint32(win[j:]) != x {
			continue
		}
		if l := mf.matchLen(int(j), i, n-i); l > length {
			length, offset = l, i-int(j)
			if l >= nice {
				break
			}
			tail = binary.LittleEndian.Uint32(win[int(p)+int(uint8(length-3)):])
		}
	}
	return length, offset
}

// matchLen returns the length, at most limit, of the common prefix of the
// chunk at positions a < b, where b+limit is at most the chunk's length and
// the first 4 bytes are known to agree. It compares 8 bytes of win at a
// time: bytes past the chunk may be compared but the result is capped, and
// every index it reads is a uint16 position plus less than 8, within win.
func (mf *matchTables) matchLen(a, b, limit int) int {
	win := &mf.win
	for k := 4; k < limit; k += 8 {
		x := binary.LittleEndian.Uint64(win[uint16(a+k):]) ^ binary.LittleEndian.Uint64(win[uint16(b+k):])
		if x != 0 {
			return min(k+bits.TrailingZeros64(x)>>3, limit)
		}
	}
	return limit
}

// write emits the table and the items into out, which has exactly the
// computed size.
//
// The bit stream is laid out as wimlib lays it out: it is a sequence of
// 16-bit words, and the length bytes of a long match go after the first k
// words, where k is one more than the number of words the bits up to and
// including the match's codeword touch. (This is where Microsoft's decoder,
// which keeps 16 to 31 bits loaded after each codeword, reads them.) The
// words are packed first, straight into out when no match is long, and the
// bytes are spliced in afterwards otherwise.
func (c *Compressor) write(out []byte) {
	lens := &c.lens
	for i, t := 0, out[:tableBytes]; i < len(t); i++ {
		t[i] = lens[2*i] | lens[2*i+1]<<4
	}
	// Codeword and length of each symbol in one table (the items use
	// only symbols with a codeword).
	enc := &c.enc
	for _, s := range c.huff.syms {
		enc[s] = uint32(c.codes[s])<<8 | uint32(c.lens[s])
	}
	words := out[tableBytes:]
	if len(c.longLens) > 0 {
		c.wordBuf = slices.Grow(c.wordBuf[:0], len(words))[:len(words)]
		words = c.wordBuf
		c.splits = c.splits[:0]
	}
	var (
		acc  uint64 // pending bits, in the low nacc bits
		nacc uint32 // at most 31 between items
		p    int    // bytes of words stored
	)
	// Pairs of words are stored without branching: a store made while
	// fewer than 32 bits are pending writes a wrong value that a later
	// store overwrites (the stream always ends with at least the partial
	// word and the padding word after such a store).
	for _, it := range c.items {
		e := enc[it&0x1ff]
		obits := it >> 9 & 15
		if it&0x10f == 0x10f {
			// A long match: note where its bytes go, after the codeword.
			acc = acc<<(e&0xff) | uint64(e>>8)
			nacc += e & 0xff
			bitsSoFar := 8*p + int(nacc)
			c.splits = append(c.splits, (bitsSoFar+15)/16+1)
			if nacc >= 32 {
				nacc -= 32
				x := uint32(acc >> nacc)
				binary.LittleEndian.PutUint32(words[p:], x>>16|x<<16)
				p += 4
			}
			e = 0
		}
		// The codeword and the offset bits, at most 30 bits.
		n := e&0xff + obits
		acc = acc<<n | uint64(e>>8<<obits|it>>13)
		nacc += n
		f := nacc >> 5 // 1 if 32 bits or more are pending
		nacc &= 31
		x := uint32(acc >> nacc)
		binary.LittleEndian.PutUint32(words[p:], x>>16|x<<16)
		p += int(f) << 2
	}
	e := enc[endOfData]
	acc = acc<<(e&0xff) | uint64(e>>8)
	nacc += e & 0xff
	// The remaining 1 to 46 bits, left-aligned in whole words, then the
	// padding word.
	for nacc > 0 {
		if nacc >= 16 {
			nacc -= 16
			binary.LittleEndian.PutUint16(words[p:], uint16(acc>>nacc))
		} else {
			binary.LittleEndian.PutUint16(words[p:], uint16(acc<<(16-nacc)))
			nacc = 0
		}
		p += 2
	}
	binary.LittleEndian.PutUint16(words[p:], 0)
	p += 2
	if len(c.longLens) == 0 {
		return
	}

	// Splice in the length bytes.
	o, w := tableBytes, 0
	for i, adj := range c.longLens {
		k := 2 * c.splits[i]
		o += copy(out[o:], words[w:k])
		w = k
		if adj < 15+255 {
			out[o] = byte(adj - 15)
			o++
		} else {
			out[o] = 255
			binary.LittleEndian.PutUint16(out[o+1:], adj)
			o += 3
		}
	}
	copy(out[o:], words[w:p])
}
