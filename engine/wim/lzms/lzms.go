// Package lzms implements the LZMS decompressor and compressor: Microsoft's
// "recovery" compression format, used for solid resources in ESD files and in
// WIM files written with wimlib-imagex --compress=lzms or --solid.
//
// Microsoft has published no specification; the facts below follow wimlib's
// implementation, the de-facto reference.
//
// # Format
//
// Each chunk is compressed on its own, with no header or framing: the
// decompressor must be told both the compressed and the uncompressed size.
// The compressed chunk is a sequence of 16-bit little-endian units (so its
// length is even, and at least 4 bytes) read from both ends at once:
//
//   - From the front, a binary range decoder (range initially 0xFFFFFFFF,
//     code the first two units, renormalised by 16 bits whenever the range
//     drops to 0xFFFF or below) decodes the decisions that select the item
//     type. Each decision uses an adaptive probability entry chosen by the
//     last 4 (literal or match), 5 (LZ or delta match) or 6 (explicit or
//     repeat offset, and which repeat) decisions of the same kind. An entry's
//     probability of a 0 is the number of 0s among the last 64 bits coded
//     with it, out of 64 and kept within 1..63; entries start as if they had
//     seen 0x0000000055555555 (48 zeros).
//
//   - From the back, a bitstream (units read backwards, high bit first)
//     carries Huffman-coded symbols and verbatim extra bits. Five canonical
//     Huffman codes are used: literals (256 symbols, rebuilt every 1024
//     symbols), LZ offset slots and delta offset slots (one symbol per offset
//     slot the chunk size needs, at most 799; every 1024), match length slots
//     (54; every 512) and delta powers (8; every 512). All codes start with
//     every symbol at frequency 1 and are rebuilt from the counts of the
//     symbols decoded, after which the counts are halved. The code built is
//     the classic Huffman code with ties broken in favour of leaves, which
//     never needs codewords longer than 15 bits.
//
// Items are literals, LZ matches (length and offset: copy from offset bytes
// back) and delta matches (length, power p in 0..7 and raw offset r: with
// span 1<<p and offset r<<p, each output byte is out[i-offset] + out[i-span]
// - out[i-offset-span]). Range-coded decisions say literal or match, then LZ
// or delta, then explicit source or repeat, then which of the three recent
// sources. A literal is one Huffman symbol; an explicit LZ offset is an
// offset slot and its extra bits; an explicit delta source is a power, then
// an offset slot and its extra bits; every match then ends with a length
// slot and its extra bits. The recent-source queues (LZ offsets; delta
// power/offset pairs) are LRU lists with a quirk: a newly used source is
// only inserted after the following item has been decoded. Lengths range
// over 1..1073809578 and offsets over 1..1180427428.
//
// After decoding, an x86 machine-code filter is undone: the compressor turned
// the 32-bit relative targets of likely CALL (E8), indirect CALL (FF 15),
// LOCK ADD (F0 83 05) and RIP-relative LEA/MOV (48/4C 8D/8B) instructions into
// absolute ones (position of the instruction in the chunk plus
// displacement), but only within 1023 bytes (511 for E8) of the last spot
// that looked like real code: an instruction whose target (low 16 bits) was
// already used by one less than 64 KiB before. The filter depends only on
// the chunk's own bytes and positions within it; it skips the first byte and
// the last 16, and chunks of 17 bytes or fewer.
//
// # Compressor
//
// Compressor writes chunks that this package's Decompressor and wimlib's
// decompressor both restore, with the Compress contract of the other codec
// packages (0 when the result does not fit in dst). It finds LZ matches,
// delta matches and repeat sources, chooses among them with a minimum-cost
// path search over windows of the chunk, and codes each window's path as it
// goes (see compress.go); its output is within about 1% of the size of
// wimlib's at its default level.
//
// # Corrupt data
//
// The format has no checksum, and a range coder decodes any input to
// something, so corruption is often not detectable here; WIM and ESD
// resources carry SHA-1 digests that catch it. Decompress never panics, and
// its work is bounded by the output size. It reports an error when the
// compressed size is odd or under 4 bytes, the output size is 0 or over the
// decompressor's limit, a match reaches before the start of the chunk or
// past its end, a chunk of 1 or 2 bytes has an explicit match offset (it
// cannot have one), or the Huffman bitstream runs out (bits would have to
// come from before the start of the compressed data, which no valid chunk
// needs). Everything else decodes: an output size that is too small but ends
// on an item boundary, or damage that still decodes to the right number of
// bytes, goes unnoticed, as it does in wimlib. On error, the contents of
// dst are unspecified.
package lzms

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MaxChunkSize is the largest uncompressed chunk a Decompressor accepts:
// 1 GiB, wimlib's limit. Microsoft's tools write chunks of up to 64 MiB.
const MaxChunkSize = 1 << 30

// Probability model parameters.
const (
	probBits    = 6
	probDenom   = 1 << probBits
	initZeros   = 48
	initRecent  = 0x0000000055555555
	numLZReps   = 3
	numRepSlots = numLZReps + 1 // one more for the delayed insertion

	// Probability entries per decision kind, selected by the last 4, 5 or
	// 6 decisions of that kind.
	numMainProbs  = 16 // literal or match
	numMatchProbs = 32 // LZ or delta match
	numOtherProbs = 64 // explicit or repeat offset; which repeat
)

// Rebuild frequencies of the adaptive Huffman codes, in symbols.
const (
	literalRebuild     = 1024
	lzOffsetRebuild    = 1024
	lengthRebuild      = 512
	deltaOffsetRebuild = 1024
	deltaPowerRebuild  = 512
)

// Root table sizes of the Huffman decoding tables, in bits. They only
// affect speed.
const (
	literalTableBits     = 10
	lzOffsetTableBits    = 11
	lengthTableBits      = 9
	deltaOffsetTableBits = 11
	deltaPowerTableBits  = 7
)

var (
	errInputExhausted = errors.New("lzms: compressed data exhausted (truncated or corrupt chunk)")
	errNoOffsetCode   = errors.New("lzms: explicit offset in a chunk too small to have one")
)

// probEntry is an adaptive probability: the last 64 bits coded with it
// (newest in bit 0) and how many of them are 0.
type probEntry struct {
	recent uint64
	zeros  uint32
}

// Decompressor decompresses LZMS chunks. Not safe for concurrent use; reuse it.
//
// A Decompressor takes about 320 KiB whatever the chunk size, and Decompress
// allocates nothing (except to report an error).
type Decompressor struct {
	maxChunk int

	main     [numMainProbs]probEntry
	match    [numMatchProbs]probEntry
	lz       [numOtherProbs]probEntry
	delta    [numOtherProbs]probEntry
	lzRep    [numLZReps - 1][numOtherProbs]probEntry
	deltaRep [numLZReps - 1][numOtherProbs]probEntry

	literal     huffCode
	lzOffset    huffCode
	length      huffCode
	deltaOffset huffCode
	deltaPower  huffCode
	scratch     buildScratch

	x86 x86State

	m matchState // match decoding state

	// Zero bits supplied after the Huffman bitstream ran out, and whether
	// any were consumed (see refillEnd).
	pad     uint
	overrun bool

	// release and step: see DecompressReleasing.
	release func(front, back int)
	step    int

	// Matches decoded and not copied yet: npend of them, oldest first.
	pend  [2 * pendBatch]pendingMatch
	npend int
}

// NewDecompressor returns a decompressor for chunks of at most maxChunk bytes;
// error if maxChunk is zero or above the format's limit.
func NewDecompressor(maxChunk int) (*Decompressor, error) {
	if maxChunk <= 0 || maxChunk > MaxChunkSize {
		return nil, fmt.Errorf("lzms: chunk size %d out of range 1..%d", maxChunk, MaxChunkSize)
	}
	d := &Decompressor{maxChunk: maxChunk}
	d.literal.init(literalRebuild, literalTableBits)
	d.lzOffset.init(lzOffsetRebuild, lzOffsetTableBits)
	d.length.init(lengthRebuild, lengthTableBits)
	d.deltaOffset.init(deltaOffsetRebuild, deltaOffsetTableBits)
	d.deltaPower.init(deltaPowerRebuild, deltaPowerTableBits)
	d.x86.init()
	return d, nil
}

// Decompress decompresses src, one whole compressed chunk, into dst, whose length
// must be exactly the chunk's uncompressed size. Error, never panic, on corrupt or
// truncated input or a size mismatch.
func (d *Decompressor) Decompress(dst, src []byte) error {
	switch {
	case len(dst) == 0:
		return errors.New("lzms: empty output chunk")
	case len(dst) > d.maxChunk:
		return fmt.Errorf("lzms: output size %d exceeds the decompressor's chunk size %d", len(dst), d.maxChunk)
	case len(src) < 4:
		return fmt.Errorf("lzms: compressed chunk of %d bytes is too short (minimum 4)", len(src))
	case len(src)%2 != 0:
		return fmt.Errorf("lzms: compressed chunk has odd length %d", len(src))
	}
	if err := d.decode(dst, src); err != nil {
		return err
	}
	d.x86.undo(dst)
	return nil
}

// DecompressReleasing is Decompress, calling release after every step
// bytes of output or so (step > 0) with how far src has been read: the
// decoder reads src[:front] no more (the range coder's units, read from
// the front) nor src[back:] (the bitstream's, read from the back). A
// caller holding a large chunk's compressed bytes can give their pages
// back as the output's pages fill, rather than hold both whole at the
// end. Release must not change src.
func (d *Decompressor) DecompressReleasing(dst, src []byte, step int, release func(front, back int)) error {
	if step <= 0 || release == nil {
		return d.Decompress(dst, src)
	}
	d.release, d.step = release, step
	defer func() { d.release = nil }()
	return d.Decompress(dst, src)
}

// reset puts the model in its initial state for a chunk of outSize bytes.
func (d *Decompressor) reset(outSize int) {
	for _, t := range [][]probEntry{d.main[:], d.match[:], d.lz[:], d.delta[:],
		d.lzRep[0][:], d.lzRep[1][:], d.deltaRep[0][:], d.deltaRep[1][:]} {
		for i := range t {
			t[i] = probEntry{recent: initRecent, zeros: initZeros}
		}
	}
	slots := numOffsetSlots(outSize)
	d.literal.reset(numLiteralSyms, &d.scratch)
	d.lzOffset.reset(slots, &d.scratch)
	d.length.reset(numLengthSyms, &d.scratch)
	d.deltaOffset.reset(slots, &d.scratch)
	d.deltaPower.reset(numDeltaPowerSyms, &d.scratch)
}

// Item kinds, for the delayed update of the recent-offset queues.
const (
	itemLiteral = iota
	itemLZ
	itemDelta
)

// deltaPair is a delta match source: span 1<<power, offset raw<<power.
type deltaPair struct{ power, raw uint32 }

// pendingMatch is a decoded match not copied yet. The decoder copies
// matches in batches of pendBatch, one batch behind: as a batch is
// complete, the sources of its matches are prefetched and the batch before
// it is copied. In a 64 MiB chunk, sources lie anywhere in the megabytes
// already decoded, and the load of a far one missed every cache: with the
// copy right after the decoding of its match, each miss held up the
// decoding of the matches after it (86% of copyMatch's samples were on that
// load). Decoding never reads the output, so the copies can wait; literals
// are stored at once, which is why a copy must not write past its match's
// end (copyMatch).
type pendingMatch struct {
	pos    uint32 // where the match goes in the output
	off    uint32 // how far back its source is (delta: raw offset << power)
	length uint32
	span   uint32 // delta matches: 1 << power; 0 for LZ matches
}

// pendBatch is the number of matches prefetched, and then copied, together.
const pendBatch = 16

// flushHalf copies the older half of the queue, once the newer half's
// sources have been prefetched, and makes the newer half the older.
//
//go:noinline
func (d *Decompressor) flushHalf(out []byte) {
	newer := (*[pendBatch]pendingMatch)(d.pend[pendBatch:])
	prefetchSources(&out[0], newer)
	d.copyPending(out, d.pend[:pendBatch])
	copy(d.pend[:pendBatch], newer[:])
	d.npend = pendBatch
}

// flushAll copies every queued match.
func (d *Decompressor) flushAll(out []byte) {
	d.copyPending(out, d.pend[:min(d.npend, len(d.pend))])
	d.npend = 0
}

// copyPending copies the queued matches ms, in order. The decoder checked
// their bounds as it queued them.
func (d *Decompressor) copyPending(out []byte, ms []pendingMatch) {
	for _, pm := range ms {
		if pm.span == 0 {
			copyMatch(out, int(pm.pos), int(pm.off), int(pm.length))
		} else {
			deltaMatch(out, int(pm.pos), int(pm.off), int(pm.span), int(pm.length))
		}
	}
}

// copyMatch copies length bytes from off bytes back to out[pos:]; the source
// may overlap the destination. It writes nothing past the match: the bytes
// after it may hold literals decoded since (see pendingMatch). The caller
// has checked the bounds.
func copyMatch(out []byte, pos, off, length int) {
	src := pos - off
	if off >= 8 && length <= 64 && len(out)-pos >= length+7 {
		// Word by word: each word read lies before the one written, as
		// off >= 8. The last, partial word keeps the bytes past the
		// match as they are.
		i := 0
		for ; i+8 <= length; i += 8 {
			binary.LittleEndian.PutUint64(out[pos+i:], binary.LittleEndian.Uint64(out[src+i:]))
		}
		if r := uint(length - i); r != 0 {
			keep := ^uint64(0) << (8 * r)
			w := binary.LittleEndian.Uint64(out[src+i:])
			dst := out[pos+i:]
			binary.LittleEndian.PutUint64(dst, w&^keep|binary.LittleEndian.Uint64(dst)&keep)
		}
		return
	}
	if off >= length {
		copy(out[pos:pos+length], out[src:])
		return
	}
	if off == 1 {
		b := out[src]
		t := out[pos : pos+length]
		for i := range t {
			t[i] = b
		}
		return
	}
	// Overlapping: the copied region doubles each time.
	end := pos + length
	for pos < end {
		pos += copy(out[pos:end], out[src:pos])
	}
}

// deltaMatch applies a delta match; the caller has checked that off+span <=
// pos and pos+length <= len(out).
func deltaMatch(out []byte, pos, off, span, length int) {
	a := out[pos : pos+length]
	b := out[pos-off : pos-off+length]
	c := out[pos-span : pos-span+length]
	dd := out[pos-off-span : pos-off-span+length]
	for i := range a {
		a[i] = b[i] + c[i] - dd[i]
	}
}
