package lzx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

// ErrCorrupt is wrapped by every error Decompress returns for malformed or
// truncated input, so callers can test for it with errors.Is.
var ErrCorrupt = errors.New("lzx: corrupt input")

// Root table sizes (log2) of the Huffman decoding tables. Longer codewords
// go through one level of subtables.
const (
	mainTableBits    = 11
	lenTableBits     = 10
	preTableBits     = 6
	alignedTableBits = maxAlignedCodeLen // no subtables needed

	// lensOverrun is how far a run in the code length stream may write
	// past the end of the lengths being read (a run of at most 51 when one
	// length is left). The extra values land in the following lengths,
	// as in wimlib, whose decoder is the reference for such streams.
	lensOverrun = 50
)

// Decoding table entries: symbol<<16 | flags | length. For a direct entry
// the length is the number of bits to consume (the codeword length, or its
// part beyond the root index in a subtable). A root entry with entrySub set
// points to a subtable starting at index symbol, indexed by length bits.
const (
	entrySub     = 0x80
	entryLenMask = 0x1f
)

// Decompressor decompresses LZX chunks with a given window (chunk) size.
// Not safe for concurrent use; reuse it.
type Decompressor struct {
	maxChunk int
	order    int // log2 of the window size
	numMain  int // main code symbols for this window

	// Code lengths, kept from block to block of a chunk for delta coding,
	// with room for run overruns.
	mainLens    [maxMainSyms + lensOverrun]uint8
	lenLens     [numLenSyms + lensOverrun]uint8
	alignedLens [numAligned]uint8
	preLens     [numPreSyms]uint8

	mainTable    []uint32
	lenTable     []uint32
	alignedTable []uint32
	preTable     []uint32

	// Scratch space for building tables.
	sorted [maxMainSyms]uint16
	codes  [maxMainSyms]uint32

	// Set when the last chunk had a block where wimlib's decoder departs
	// from the format documents (see alignForBytes). Tests read it.
	wimlibAlignDiffers bool
}

// NewDecompressor returns a decompressor for chunks of at most maxChunk bytes
// (the WIM's chunk size: a power of two, 32768 ... 2097152); error otherwise.
func NewDecompressor(maxChunk int) (*Decompressor, error) {
	if maxChunk < minWindowSize || maxChunk > maxWindowSize || maxChunk&(maxChunk-1) != 0 {
		return nil, fmt.Errorf("lzx: chunk size %d is not a power of two from %d to %d", maxChunk, minWindowSize, maxWindowSize)
	}
	order := windowOrder(maxChunk)
	d := &Decompressor{
		maxChunk: maxChunk,
		order:    order,
		numMain:  numMainSyms(order),
	}
	d.mainTable = make([]uint32, 1<<mainTableBits, 4096)
	d.lenTable = make([]uint32, 1<<lenTableBits, 2048)
	d.alignedTable = make([]uint32, 1<<alignedTableBits)
	d.preTable = make([]uint32, 1<<preTableBits, 1024)
	return d, nil
}

// Decompress decompresses src, one whole compressed chunk, into dst, whose length
// must be exactly the chunk's uncompressed size (<= maxChunk). Error, never panic,
// on corrupt/truncated input or a size mismatch.
func (d *Decompressor) Decompress(dst, src []byte) error {
	if len(dst) > d.maxChunk {
		return fmt.Errorf("lzx: output size %d is larger than the chunk size %d", len(dst), d.maxChunk)
	}
	d.wimlibAlignDiffers = false
	if len(dst) == 0 {
		return nil
	}
	// Code lengths start at zero in every chunk.
	clear(d.mainLens[:])
	clear(d.lenLens[:])

	br := bitReader{src: src}
	recent := [numRecentOffsets]uint32{1, 1, 1}
	pos := 0
	sawCompressed := false
	for pos < len(dst) {
		btype, size, err := d.readBlockHeader(&br, &recent, pos, len(dst))
		if err != nil {
			return err
		}
		if btype == blockUncompressed {
			if sawCompressed && size == defaultBlockSize && d.order > minWindowOrder {
				d.wimlibAlignDiffers = true
			}
			if err := br.readRaw(dst[pos:pos+size], "uncompressed block"); err != nil {
				return err
			}
		} else {
			sawCompressed = true
			if err := d.buildBlockTables(&br, btype); err != nil {
				return err
			}
			if err := d.decodeBlock(&br, dst, pos, pos+size, btype == blockAligned, &recent); err != nil {
				return err
			}
		}
		pos += size
	}
	e8Postprocess(dst)
	return nil
}

// corruptf returns an ErrCorrupt error about the input near byte off.
func corruptf(off int, format string, args ...any) error {
	return fmt.Errorf("%w at byte %d: %s", ErrCorrupt, off, fmt.Sprintf(format, args...))
}

// readBlockHeader reads the header of a block starting at output position
// pos of a chunk of chunkLen bytes. For compressed blocks it reads the code
// lengths; for uncompressed blocks it aligns the stream and reads the
// recent offsets, leaving br at the block's first data byte.
func (d *Decompressor) readBlockHeader(br *bitReader, recent *[numRecentOffsets]uint32, pos, chunkLen int) (btype, size int, err error) {
	start := br.bytePos()
	if err := br.ensure(32); err != nil {
		return 0, 0, err
	}
	btype = int(br.pop(3))
	if br.pop(1) == 1 {
		size = defaultBlockSize
	} else if d.order > minWindowOrder {
		size = int(br.pop(24))
	} else {
		size = int(br.pop(16))
	}
	if err := br.checkTruncated(); err != nil {
		return 0, 0, err
	}
	if size < 1 || size > chunkLen-pos {
		return 0, 0, corruptf(start, "block size %d at output position %d overruns the chunk's %d bytes", size, pos, chunkLen)
	}
	switch btype {
	case blockAligned:
		for i := range d.alignedLens {
			v, err := br.read(alignedLenBits)
			if err != nil {
				return 0, 0, err
			}
			d.alignedLens[i] = uint8(v)
		}
		fallthrough
	case blockVerbatim:
		if err := d.readLens(br, d.mainLens[:numChars+lensOverrun], numChars); err != nil {
			return 0, 0, err
		}
		if err := d.readLens(br, d.mainLens[numChars:d.numMain+lensOverrun], d.numMain-numChars); err != nil {
			return 0, 0, err
		}
		if err := d.readLens(br, d.lenLens[:], numLenSyms); err != nil {
			return 0, 0, err
		}
	case blockUncompressed:
		var r [12]byte
		if err := br.alignForBytes(); err != nil {
			return 0, 0, err
		}
		off := br.bytePos()
		if err := br.readRaw(r[:], "uncompressed block header"); err != nil {
			return 0, 0, err
		}
		for i := range recent {
			recent[i] = binary.LittleEndian.Uint32(r[4*i:])
			if recent[i] == 0 {
				return 0, 0, corruptf(off+4*i, "uncompressed block header sets recent offset R%d to 0", i)
			}
		}
	default:
		return 0, 0, corruptf(start, "invalid block type %d", btype)
	}
	return btype, size, nil
}

// readLens reads a pretree and then n code lengths coded with it as deltas
// against the previous lengths in lens. lens must have room for
// lensOverrun lengths past n; a final run may spill into them.
func (d *Decompressor) readLens(br *bitReader, lens []uint8, n int) error {
	start := br.bytePos()
	for i := range d.preLens {
		v, err := br.read(preLenBits)
		if err != nil {
			return err
		}
		d.preLens[i] = uint8(v)
	}
	t, ok := d.buildTable(d.preTable, d.preLens[:], preTableBits, maxPreCodeLen)
	if !ok {
		return corruptf(start, "invalid pretree code lengths")
	}
	d.preTable = t
	lens = lens[:n+lensOverrun]
	for i := 0; i < n; {
		if err := br.ensure(48); err != nil {
			return err
		}
		sym := br.decode(t, preTableBits)
		if sym < 17 {
			lens[i] = uint8((uint32(lens[i]) + 17 - sym) % 17)
			i++
			continue
		}
		var run int
		var v uint8
		switch sym {
		case 17:
			run = 4 + int(br.pop(4))
		case 18:
			run = 20 + int(br.pop(5))
		default: // 19
			run = 4 + int(br.pop(1))
			s := br.decode(t, preTableBits)
			if s > 17 {
				return corruptf(br.bytePos(), "pretree symbol %d after a same-length run code", s)
			}
			v = uint8((uint32(lens[i]) + 34 - s) % 17)
		}
		for end := i + run; i < end; i++ {
			lens[i] = v
		}
	}
	return br.checkTruncated()
}

// buildBlockTables builds the decoding tables of a compressed block. On
// error the tables keep their previous contents: they stay well-formed.
func (d *Decompressor) buildBlockTables(br *bitReader, btype int) error {
	off := br.bytePos()
	t, ok := d.buildTable(d.mainTable, d.mainLens[:d.numMain], mainTableBits, maxMainCodeLen)
	if !ok {
		return corruptf(off, "invalid main code lengths")
	}
	d.mainTable = t
	if t, ok = d.buildTable(d.lenTable, d.lenLens[:numLenSyms], lenTableBits, maxLenCodeLen); !ok {
		return corruptf(off, "invalid length code lengths")
	}
	d.lenTable = t
	if btype == blockAligned {
		if t, ok = d.buildTable(d.alignedTable, d.alignedLens[:], alignedTableBits, maxAlignedCodeLen); !ok {
			return corruptf(off, "invalid aligned offset code lengths")
		}
		d.alignedTable = t
	}
	return nil
}

// buildTable builds, reusing t's storage, the decoding table of the
// canonical Huffman code with the given codeword lengths (0 = unused),
// with a root of 1<<tableBits entries. It reports false, leaving t
// untouched, unless the lengths form a complete prefix code or are all
// zero; an empty code decodes as symbol 0 using no bits, as in wimlib.
func (d *Decompressor) buildTable(t []uint32, lens []uint8, tableBits, maxLen uint) ([]uint32, bool) {
	var count [maxMainCodeLen + 1]int
	for _, l := range lens {
		count[l]++
	}
	left := 1
	for l := uint(1); l <= maxLen; l++ {
		left = left<<1 - count[l]
		if left < 0 {
			return t, false // oversubscribed
		}
	}
	if left != 0 && left != 1<<maxLen {
		return t, false // incomplete and not empty
	}
	t = append(t[:0], make([]uint32, 1<<tableBits)...)
	if left != 0 {
		return t, true // empty: all entries are symbol 0, length 0
	}

	// Sort the used symbols by length, then value, and assign codewords.
	var next [maxMainCodeLen + 2]int
	for l := uint(1); l <= maxLen; l++ {
		next[l+1] = next[l] + count[l]
	}
	used := next[maxLen+1]
	sorted := d.sorted[:used]
	for s, l := range lens {
		if l != 0 {
			sorted[next[l]] = uint16(s)
			next[l]++
		}
	}
	codes := d.codes[:used]
	code := uint32(0)
	prevLen := uint(0)
	for i, s := range sorted {
		l := uint(lens[s])
		code <<= l - prevLen
		prevLen = l
		codes[i] = code
		code++
	}

	i := 0
	// Codewords that fit in the root table.
	for ; i < used; i++ {
		s := sorted[i]
		l := uint(lens[s])
		if l > tableBits {
			break
		}
		e := uint32(s)<<16 | uint32(l)
		lo := codes[i] << (tableBits - l)
		fill := t[lo : lo+1<<(tableBits-l)]
		for j := range fill {
			fill[j] = e
		}
	}
	// Longer codewords, grouped by their root prefix into subtables.
	for i < used {
		prefix := codes[i] >> (uint(lens[sorted[i]]) - tableBits)
		// The group's last codeword is its longest.
		j := i
		for j+1 < used && codes[j+1]>>(uint(lens[sorted[j+1]])-tableBits) == prefix {
			j++
		}
		subBits := uint(lens[sorted[j]]) - tableBits
		base := len(t)
		t = append(t, make([]uint32, 1<<subBits)...)
		t[prefix] = uint32(base)<<16 | entrySub | uint32(subBits)
		for ; i <= j; i++ {
			s := sorted[i]
			l := uint(lens[s]) - tableBits
			e := uint32(s)<<16 | uint32(l)
			lo := base + int(codes[i]&(1<<l-1))<<(subBits-l)
			fill := t[lo : lo+1<<(subBits-l)]
			for k := range fill {
				fill[k] = e
			}
		}
	}
	return t, true
}

// decodeBlock decodes the literals and matches of a verbatim or aligned
// offset block into out[pos:end]. Matches may reach back to out[0].
func (d *Decompressor) decodeBlock(br *bitReader, out []byte, pos, end int, aligned bool, recent *[numRecentOffsets]uint32) error {
	mainTable := d.mainTable
	lenTable := d.lenTable
	// Root tables as arrays: indexing them needs no bounds checks.
	mainRoot := (*[1 << mainTableBits]uint32)(mainTable)
	lenRoot := (*[1 << lenTableBits]uint32)(lenTable)
	var alignedTable *[1 << alignedTableBits]uint32 // used only in aligned blocks
	minAligned := maxOffsetSlots
	if aligned {
		alignedTable = (*[1 << alignedTableBits]uint32)(d.alignedTable)
		minAligned = minAlignedSlot
	}
	r0, r1, r2 := recent[0], recent[1], recent[2]
	out = out[:end]

	// The bit reader lives in locals in this loop.
	src := br.src
	ip := br.ip
	buf := br.buf
	n := br.n

	for pos < len(out) {
		if n < 32 {
			if ip+8 <= len(src) {
				v := binary.LittleEndian.Uint64(src[ip:])
				v = bits.RotateLeft64(v, 32)
				v = (v&0x0000ffff0000ffff)<<16 | (v>>16)&0x0000ffff0000ffff
				buf |= v >> n
				k := (64 - n) >> 4
				ip += int(k) * 2
				n += k * 16
			} else {
				br.ip, br.buf, br.n = ip, buf, n
				if err := br.refillSlow(); err != nil {
					return err
				}
				ip, buf, n = br.ip, br.buf, br.n
			}
		}

		// Main symbols: at least 49 bits are buffered; decode literals
		// while 16 bits are left.
		var sym uint32
		for {
			e := mainRoot[buf>>(64-mainTableBits)]
			if e&entrySub != 0 {
				buf <<= mainTableBits
				n -= mainTableBits
				e = mainTable[(e>>16)+uint32(buf>>(64-(e&entryLenMask)))]
			}
			l := uint(e & entryLenMask)
			buf <<= l
			n -= l
			sym = e >> 16
			if sym >= numChars {
				break
			}
			out[pos] = byte(sym)
			pos++
			if pos >= len(out) || n < 16 {
				break
			}
		}
		if sym < numChars {
			continue
		}

		// Match: length header and position slot.
		sym -= numChars
		length := int(sym & (numLenHeaders - 1))
		slot := int(sym >> 3)
		if length == numPrimaryLens {
			if n < 16 {
				if ip+8 <= len(src) {
					v := binary.LittleEndian.Uint64(src[ip:])
					v = bits.RotateLeft64(v, 32)
					v = (v&0x0000ffff0000ffff)<<16 | (v>>16)&0x0000ffff0000ffff
					buf |= v >> n
					k := (64 - n) >> 4
					ip += int(k) * 2
					n += k * 16
				} else {
					br.ip, br.buf, br.n = ip, buf, n
					if err := br.refillSlow(); err != nil {
						return err
					}
					ip, buf, n = br.ip, br.buf, br.n
				}
			}
			e := lenRoot[buf>>(64-lenTableBits)]
			if e&entrySub != 0 {
				buf <<= lenTableBits
				n -= lenTableBits
				e = lenTable[(e>>16)+uint32(buf>>(64-(e&entryLenMask)))]
			}
			l := uint(e & entryLenMask)
			buf <<= l
			n -= l
			length += int(e >> 16)
		}
		length += minMatchLen

		var offset uint32
		switch slot {
		case 0:
			offset = r0
		case 1:
			offset = r1
			r1 = r0
			r0 = offset
		case 2:
			offset = r2
			r2 = r0
			r0 = offset
		default:
			// Up to 17 extra bits, or 14 plus an aligned codeword of
			// at most 7: refill when fewer than 24 are left.
			if n < 24 {
				if ip+8 <= len(src) {
					v := binary.LittleEndian.Uint64(src[ip:])
					v = bits.RotateLeft64(v, 32)
					v = (v&0x0000ffff0000ffff)<<16 | (v>>16)&0x0000ffff0000ffff
					buf |= v >> n
					k := (64 - n) >> 4
					ip += int(k) * 2
					n += k * 16
				} else {
					br.ip, br.buf, br.n = ip, buf, n
					if err := br.refillSlow(); err != nil {
						return err
					}
					ip, buf, n = br.ip, br.buf, br.n
				}
			}
			extra := uint(extraBits[slot])
			var v uint32
			if slot >= minAligned {
				extra -= alignedBits
				v = uint32(buf>>1>>(63-extra)) << alignedBits
				buf <<= extra
				n -= extra
				e := alignedTable[buf>>(64-alignedTableBits)]
				l := uint(e & entryLenMask)
				buf <<= l
				n -= l
				v |= e >> 16
			} else {
				v = uint32(buf >> 1 >> (63 - extra))
				buf <<= extra
				n -= extra
			}
			offset = slotBase[slot] + v - offsetAdjust
			r2 = r1
			r1 = r0
			r0 = offset
		}

		// Copy the match.
		if uint(offset) > uint(pos) {
			br.ip, br.buf, br.n = ip, buf, n
			return corruptf(br.bytePos(), "match offset %d at output position %d reaches before the chunk's start", offset, pos)
		}
		if length > end-pos {
			br.ip, br.buf, br.n = ip, buf, n
			return corruptf(br.bytePos(), "match of length %d at output position %d overruns its block, which ends at %d", length, pos, end)
		}
		if src := pos - int(offset); offset >= 8 && length <= 16 && pos+16 <= len(out) {
			// Short match, common: two 8-byte moves.
			binary.LittleEndian.PutUint64(out[pos:], binary.LittleEndian.Uint64(out[src:]))
			binary.LittleEndian.PutUint64(out[pos+8:], binary.LittleEndian.Uint64(out[src+8:]))
			pos += length
		} else {
			pos = copyMatch(out, pos, int(offset), length)
		}
	}

	recent[0], recent[1], recent[2] = r0, r1, r2
	br.ip, br.buf, br.n = ip, buf, n
	return br.checkTruncated()
}

// copyMatch copies length bytes from out[pos-offset:] to out[pos:] (the two
// may overlap, repeating the source) and returns pos+length. The caller has
// checked 1 <= offset <= pos and pos+length <= len(out).
func copyMatch(out []byte, pos, offset, length int) int {
	src := pos - offset
	end := pos + length
	if offset >= 8 && end+8 <= len(out) {
		// Eight bytes at a time; each load reads bytes already written.
		for pos < end {
			binary.LittleEndian.PutUint64(out[pos:], binary.LittleEndian.Uint64(out[src:]))
			pos += 8
			src += 8
		}
		return end
	}
	if offset >= length {
		copy(out[pos:end], out[src:pos])
		return end
	}
	if offset == 1 {
		b := out[src]
		for i := pos; i < end; i++ {
			out[i] = b
		}
		return end
	}
	// Overlapping: the repeated pattern doubles with each copy.
	for pos < end {
		pos += copy(out[pos:end], out[src:pos])
	}
	return end
}

// bitReader reads the LZX bit stream: 16-bit little-endian words, each read
// from its most significant bit. Past the end of the input it supplies zero
// words, counting them in over, so that lookahead near the end is free;
// consuming any of those bits is reported as truncation.
type bitReader struct {
	src  []byte
	ip   int    // next byte of src to load into buf
	buf  uint64 // the next n bits, left-justified; bits below are 0 or the bits that follow
	n    uint
	over int // zero words loaded past the end of src
}

// bytePos returns the offset of the byte holding the next unread bit, for
// error messages.
func (br *bitReader) bytePos() int {
	return (8*(br.ip+2*br.over) - int(br.n)) / 8
}

// refillSlow fills buf with more than 48 bits near or past the end of the
// input, a word at a time.
func (br *bitReader) refillSlow() error {
	for br.n <= 48 {
		if br.ip+8 <= len(br.src) {
			v := binary.LittleEndian.Uint64(br.src[br.ip:])
			v = bits.RotateLeft64(v, 32)
			v = (v&0x0000ffff0000ffff)<<16 | (v>>16)&0x0000ffff0000ffff
			br.buf |= v >> br.n
			k := (64 - br.n) >> 4
			br.ip += int(k) * 2
			br.n += k * 16
			return nil
		}
		if err := br.checkTruncated(); err != nil {
			return err
		}
		var w uint64
		if br.ip+2 <= len(br.src) {
			w = uint64(br.src[br.ip]) | uint64(br.src[br.ip+1])<<8
			br.ip += 2
		} else {
			br.over++
		}
		br.buf |= w << (48 - br.n)
		br.n += 16
	}
	return nil
}

// checkTruncated reports an error if bits past the end of the input have
// been consumed.
func (br *bitReader) checkTruncated() error {
	if int(br.n) < 16*br.over {
		return corruptf(len(br.src), "compressed data is truncated")
	}
	return nil
}

// ensure makes at least k (<= 48) bits available.
func (br *bitReader) ensure(k uint) error {
	if br.n < k {
		return br.refillSlow()
	}
	return nil
}

// pop removes and returns the next k (<= 32) bits, which must be buffered.
func (br *bitReader) pop(k uint) uint32 {
	v := uint32(br.buf >> 1 >> (63 - k))
	br.buf <<= k
	br.n -= k
	return v
}

// read returns the next k (<= 32) bits.
func (br *bitReader) read(k uint) (uint32, error) {
	if err := br.ensure(k); err != nil {
		return 0, err
	}
	return br.pop(k), nil
}

// decode decodes one symbol with table t, whose root is indexed by
// tableBits bits. At least 16 bits must be buffered.
func (br *bitReader) decode(t []uint32, tableBits uint) uint32 {
	e := t[br.buf>>(64-tableBits)]
	if e&entrySub != 0 {
		br.buf <<= tableBits
		br.n -= tableBits
		e = t[(e>>16)+uint32(br.buf>>(64-(e&entryLenMask)))]
	}
	l := uint(e & entryLenMask)
	br.buf <<= l
	br.n -= l
	return e >> 16
}

// alignForBytes ends the bit stream before an uncompressed block's fields:
// it skips 1 to 16 bits, to the next 16-bit boundary (a whole word when the
// stream is already on one), and leaves br reading bytes at ip.
//
// This is the padding [MS-PATCH] 2.3.2.1 defines. wimlib's decoder drops
// whatever its 32-bit lookahead holds instead; that is the same thing
// except when the block's size was given by the 1-bit "32768" flag, follows
// a compressed block and the window is over 32 KiB: wimlib may then skip
// one more word. Its compressor writes no uncompressed blocks at all.
func (br *bitReader) alignForBytes() error {
	if err := br.checkTruncated(); err != nil {
		return err
	}
	bitPos := 8*(br.ip+2*br.over) - int(br.n)
	bitPos = (bitPos + 16) &^ 15
	br.ip = bitPos / 8
	br.buf, br.n, br.over = 0, 0, 0
	if br.ip > len(br.src) {
		return corruptf(len(br.src), "compressed data is truncated")
	}
	return nil
}

// readRaw copies len(p) bytes of an uncompressed block (or its header),
// named what in errors, from the input, then skips the padding byte after
// an odd-sized block unless the input ends there (Microsoft's compressor
// leaves it out at the end). br must be in byte mode (after alignForBytes);
// it stays there, and the next refill resumes the bit stream at ip.
func (br *bitReader) readRaw(p []byte, what string) error {
	if len(br.src)-br.ip < len(p) {
		return corruptf(br.ip, "%s of %d bytes is truncated to %d", what, len(p), len(br.src)-br.ip)
	}
	br.ip += copy(p, br.src[br.ip:])
	if len(p)&1 != 0 && br.ip < len(br.src) {
		br.ip++
	}
	return nil
}
