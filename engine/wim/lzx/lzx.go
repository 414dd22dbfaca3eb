// Package lzx implements the LZX compressed data format as used in WIM
// files: one chunk in, one chunk out.
//
// LZX is an LZ77 and Huffman format described in Microsoft's "LZX Data
// Compression Format" (the CAB document, 1997) and "[MS-PATCH]: LZX DELTA
// Compression and Decompression". WIM files use a restricted form of it:
//
//   - The window size equals the chunk size, a power of two from 32 KiB
//     (the only size WIMGAPI accepts) to 2 MiB. Every chunk is compressed
//     on its own: nothing carries over from one chunk to the next.
//   - The number of position (offset) slots, and so the number of symbols of
//     the main Huffman code (256 literals plus 8 length headers per slot),
//     depends on the window size: 30 slots for 32 KiB up to 50 for 2 MiB.
//   - The bit stream is a sequence of 16-bit little-endian words, read from
//     the most significant bit down.
//   - A chunk is a sequence of blocks. Each starts with a 3-bit block type
//     (1 verbatim, 2 aligned offset, 3 uncompressed) and a 1-bit flag: 1
//     means the block holds 32768 bytes; 0 means an explicit size follows in
//     16 bits (24 bits when the window is larger than 32 KiB). There is no
//     E8 translation header bit: translation is always on.
//   - Verbatim and aligned offset blocks carry their Huffman codes: aligned
//     blocks first give eight 3-bit aligned offset code lengths; then the
//     main code's lengths (in two parts: the 256 literals, then the match
//     headers) and the length code's lengths are sent through a pretree
//     (20 symbols, 4-bit lengths) as deltas against the previous block's
//     lengths in the same chunk (all zero at the chunk's start), with run
//     length symbols 17, 18 and 19.
//   - Huffman codes are canonical and must be complete (or empty); the
//     longest codewords are 16 bits (main and length codes), 15 (pretree)
//     and 7 (aligned offset code).
//   - A match is a main symbol 256+8*slot+lengthHeader; header 7 means a
//     length code symbol follows, giving lengths 2 to 257. Slots 0, 1 and 2
//     repeat the recent offsets R0, R1, R2 (1, 1, 1 at the start of each
//     chunk; using R1 or R2 swaps it with R0); other slots take extra bits,
//     and in aligned blocks the low 3 bits of slots 8 and up come from the
//     aligned offset code. A match stays inside its block and may reach
//     back to the chunk's first byte but not before it.
//   - An uncompressed block aligns the bit stream to 16 bits (consuming 16
//     zero bits when it is already aligned), stores R0, R1 and R2 as 32-bit
//     little-endian values, then the raw bytes, padded to an even count
//     (Microsoft's compressor leaves out the padding byte at a chunk's end).
//   - Before compression, the targets of x86 CALL instructions (byte 0xE8
//     followed by a 32-bit relative offset) are made absolute with the
//     fixed "file size" 12000000; the decompressor undoes this over the whole
//     chunk after decoding it. No call may start in the last 10 bytes.
//
// Where the documents and wimlib (the reference implementation, which reads
// Microsoft's WIM files) differ, this package follows wimlib, with one
// exception: a 32768-byte uncompressed block whose size is given by the
// 1-bit flag, after a compressed block, in a window over 32 KiB, starts
// after the padding [MS-PATCH] defines, where wimlib's decoder may skip
// one more 16-bit word. wimlib never writes uncompressed blocks.
//
// A Decompressor decodes one chunk at a time into a buffer of the chunk's
// uncompressed size; a Compressor does the reverse:
//
//	d, err := lzx.NewDecompressor(chunkSize)
//	...
//	err = d.Decompress(out[:uncompressedSize], compressedChunk)
package lzx

import "bytes"

// Format constants shared by the compressor and the decompressor.
const (
	numChars = 256 // literal symbols in the main code

	minMatchLen    = 2
	maxMatchLen    = 257
	numPrimaryLens = 7                                              // length headers 0..6 give lengths 2..8 directly
	numLenHeaders  = numPrimaryLens + 1                             // header 7: a length symbol follows
	numLenSyms     = maxMatchLen - minMatchLen + 1 - numPrimaryLens // 249

	blockVerbatim     = 1
	blockAligned      = 2
	blockUncompressed = 3

	minWindowOrder = 15
	maxWindowOrder = 21
	minWindowSize  = 1 << minWindowOrder // 32 KiB
	maxWindowSize  = 1 << maxWindowOrder // 2 MiB

	maxOffsetSlots = 50
	maxMainSyms    = numChars + maxOffsetSlots*numLenHeaders // 656

	numPreSyms     = 20 // pretree symbols
	preLenBits     = 4  // bits per pretree code length
	numAligned     = 8  // aligned offset symbols
	alignedBits    = 3  // offset bits coded by the aligned offset code
	alignedMask    = numAligned - 1
	alignedLenBits = 3 // bits per aligned offset code length

	minAlignedSlot = 8 // first slot whose low 3 bits are aligned-coded

	maxMainCodeLen    = 16
	maxLenCodeLen     = 16
	maxPreCodeLen     = 15
	maxAlignedCodeLen = 7

	defaultBlockSize = 32768 // block size when the header's flag bit is 1

	numRecentOffsets = 3
	offsetAdjust     = numRecentOffsets - 1 // formatted offset = offset + 2

	e8FileSize = 12000000 // the fixed x86 translation "file size" of WIM
)

// slotBase maps a position slot to its first formatted offset (match
// offset + offsetAdjust), as in the LZX documents. Slots 0..2 are the
// recent offsets; slot maxOffsetSlots is a sentinel.
var slotBase = [maxOffsetSlots + 1]uint32{
	0, 1, 2, 3, 4, 6, 8, 12, 16, 24,
	32, 48, 64, 96, 128, 192, 256, 384, 512, 768,
	1024, 1536, 2048, 3072, 4096, 6144, 8192, 12288, 16384, 24576,
	32768, 49152, 65536, 98304, 131072, 196608, 262144, 393216, 524288, 655360,
	786432, 917504, 1048576, 1179648, 1310720, 1441792, 1572864, 1703936, 1835008, 1966080,
	2097152,
}

// extraBits maps a position slot to its number of extra offset bits (in
// verbatim blocks; aligned blocks code the low alignedBits of slots
// >= minAlignedSlot with the aligned offset code instead).
var extraBits = [maxOffsetSlots]uint8{
	0, 0, 0, 0, 1, 1, 2, 2, 3, 3,
	4, 4, 5, 5, 6, 6, 7, 7, 8, 8,
	9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
	14, 14, 15, 15, 16, 16, 17, 17, 17, 17,
	17, 17, 17, 17, 17, 17, 17, 17, 17, 17,
}

// windowOrder returns log2 of the LZX window for chunks of at most maxChunk
// bytes: maxChunk rounded up to a power of two, at least minWindowOrder. It
// returns 0 when maxChunk is not in 1..maxWindowSize.
func windowOrder(maxChunk int) int {
	if maxChunk <= 0 || maxChunk > maxWindowSize {
		return 0
	}
	order := minWindowOrder
	for 1<<order < maxChunk {
		order++
	}
	return order
}

// numOffsetSlots returns the number of position slots for a window of
// 1<<order bytes. The largest offset is window-3 (a match may not copy the
// chunk's first two bytes onto its last two), whose formatted value is
// window-1.
func numOffsetSlots(order int) int {
	maxFormatted := uint32(1)<<order - 1
	n := 30
	for n < maxOffsetSlots && maxFormatted >= slotBase[n] {
		n++
	}
	return n
}

// numMainSyms returns the number of main code symbols for a window of
// 1<<order bytes.
func numMainSyms(order int) int {
	return numChars + numOffsetSlots(order)*numLenHeaders
}

// e8Preprocess applies the E8 (x86 CALL) translation before compression:
// relative call targets become absolute.
func e8Preprocess(data []byte) {
	e8Filter(data, true)
}

// e8Postprocess undoes the E8 translation after decompression.
func e8Postprocess(data []byte) {
	e8Filter(data, false)
}

// e8Filter scans data for 0xE8 bytes that may start a call (none in the
// last 10 bytes) and translates the 32-bit little-endian value after each,
// forward (relative to absolute) or back. The four bytes after an 0xE8 are
// skipped whether or not they were changed.
func e8Filter(data []byte, forward bool) {
	n := len(data)
	if n <= 10 {
		return
	}
	end := n - 10
	for i := 0; i < end; {
		j := bytes.IndexByte(data[i:end], 0xE8)
		if j < 0 {
			return
		}
		i += j
		p := data[i+1 : i+5 : i+5]
		v := int32(uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24)
		pos := int32(i)
		var out int32
		ok := false
		if forward {
			if v >= -pos && v < e8FileSize {
				ok = true
				if v < e8FileSize-pos {
					out = v + pos
				} else {
					out = v - e8FileSize
				}
			}
		} else {
			if v >= 0 {
				if v < e8FileSize {
					ok = true
					out = v - pos
				}
			} else if v >= -pos {
				ok = true
				out = v + e8FileSize
			}
		}
		if ok {
			u := uint32(out)
			p[0], p[1], p[2], p[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
		}
		i += 5
	}
}
