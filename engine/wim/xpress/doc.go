// Package xpress implements the XPRESS-Huffman codec as WIM files use it
// (Microsoft's [MS-XCA] "LZ77+Huffman" algorithm), one chunk at a time.
//
// A WIM resource compressed with XPRESS is cut into chunks of at most
// MaxChunkSize (normally 32 KiB) uncompressed bytes, and each chunk is
// compressed on its own: matches never reach into another chunk, so the
// window is the chunk itself.
//
// A compressed chunk is:
//
//   - 256 bytes holding 512 four-bit Huffman codeword lengths, symbol 2i in
//     the low nibble of byte i and symbol 2i+1 in its high nibble. Length 0
//     means the symbol is unused; the others must form a complete prefix
//     code, assigned canonically (shorter codewords first, then by symbol).
//   - A bit stream of little-endian 16-bit words, each read from its most
//     significant bit down, with whole bytes interleaved between the words
//     for long match lengths.
//
// Symbols 0-255 are literal bytes. Symbol 256+(k<<4|l) is a match whose
// offset has k extra bits (offset = 1<<k | next k bits, so 1 to 65535) and
// whose length is l+3 when l < 15. When l is 15, a byte follows in the byte
// stream and the length is 18 plus that byte; when the byte is 255, a
// little-endian 16-bit value follows and the length is that value plus 3.
// A byte is taken from just after the 16-bit words the decoder has loaded
// at that moment: Microsoft's decoder keeps between 16 and 31 bits loaded
// after each codeword, so an encoder reserves two words ahead of the bytes.
//
// Symbol 256 (a match of length 3 with offset 1) is also the end-of-data
// marker: decoders stop when the chunk's uncompressed size is reached, but
// Microsoft's decoder expects symbol 256 to follow the data, so Compress
// always emits it. Like wimlib, it then fills the partial last word with
// zero bits and writes the reserved word after it as zero.
package xpress

import "errors"

// MaxChunkSize is the largest chunk the codec handles: match offsets are at
// most 65535, and wimlib refuses XPRESS chunks larger than 64 KiB.
const MaxChunkSize = 1 << 16

// ErrCorrupt is wrapped by every error Decompress returns for bad input.
var ErrCorrupt = errors.New("xpress: corrupt input")

const (
	numChars   = 256 // literal symbols
	numSymbols = 512 // literals and match headers
	maxCodeLen = 15  // longest codeword
	endOfData  = 256 // end-of-data symbol
	minMatch   = 3   // shortest match
	tableBytes = numSymbols / 2
)
