package xpress

import (
	"encoding/binary"
	"fmt"
)

const (
	rootBits = 11                    // bits indexing the root decode table
	subBits  = maxCodeLen - rootBits // bits indexing a subtable
	// At most one subtable per symbol whose codeword is longer than rootBits.
	maxSubtables = numSymbols

	// Decode table entries: the codeword length (bits 0-3), then the
	// symbol (bits 8-16) or a subtable number (bits 8 and up), and flags.
	entryLit = 1 << 24 // the symbol is a literal
	entrySub = 1 << 31 // points to a subtable
	entryLen = 15
)

// Decompressor decompresses XPRESS chunks. Not safe for concurrent use; reuse it.
type Decompressor struct {
	root [1 << rootBits]uint32
	sub  [maxSubtables << subBits]uint32
	lens [numSymbols]uint8
	// Entries of the used symbols, sorted by codeword length, then symbol.
	sorted [numSymbols]uint32
}

// entry returns the decode table entry for one symbol.
func entry(sym, length int) uint32 {
	e := uint32(sym)<<8 | uint32(length)
	if sym < numChars {
		e |= entryLit
	}
	return e
}

// NewDecompressor returns a Decompressor.
func NewDecompressor() *Decompressor {
	return new(Decompressor)
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

// buildTable reads the codeword lengths from the first 256 bytes of src and
// builds the decode tables. It reports whether the code is empty (all lengths
// zero), which is a valid table but cannot decode anything.
func (d *Decompressor) buildTable(src []byte) (empty bool, err error) {
	var count [maxCodeLen + 1]int
	for i, b := range src[:tableBytes] {
		lo, hi := b&15, b>>4
		d.lens[2*i] = lo
		d.lens[2*i+1] = hi
		count[lo]++
		count[hi]++
	}
	if count[0] == numSymbols {
		return true, nil
	}
	left := 1
	for l := 1; l <= maxCodeLen; l++ {
		left = left<<1 - count[l]
		if left < 0 {
			return false, corrupt("Huffman code lengths at offset 0 are over-subscribed")
		}
	}
	if left != 0 {
		return false, corrupt("Huffman code lengths at offset 0 form an incomplete code")
	}

	// Sort the symbols' entries by (length, symbol).
	var start [maxCodeLen + 2]int
	for l := 1; l <= maxCodeLen; l++ {
		start[l+1] = start[l] + count[l]
	}
	for s, l := range &d.lens {
		if l != 0 {
			d.sorted[start[l]&(numSymbols-1)] = entry(s, int(l))
			start[l]++
		}
	}

	// Codewords in canonical order are consecutive integers; moving to a
	// longer length shifts left. Short codewords fill runs of root entries.
	i := 0
	code := 0
	for l := 1; l <= rootBits; l++ {
		run := 1 << (rootBits - l)
		for range count[l] {
			e := d.sorted[i&(numSymbols-1)]
			i++
			for k := code; k < code+run; k++ {
				d.root[k&(1<<rootBits-1)] = e
			}
			code += run
		}
	}
	// Long codewords go to subtables of 1<<subBits entries, one per root
	// prefix; the complete code guarantees each subtable is filled. Here
	// code counts in units of 2^-maxCodeLen.
	code <<= subBits
	nsub, prefix := 0, -1
	for l := rootBits + 1; l <= maxCodeLen; l++ {
		run := 1 << (maxCodeLen - l)
		for range count[l] {
			e := d.sorted[i&(numSymbols-1)]
			i++
			if p := code >> subBits; p != prefix {
				prefix = p
				d.root[p&(1<<rootBits-1)] = entrySub | uint32(nsub)<<8
				nsub++
			}
			first := (nsub-1)<<subBits | code&(1<<subBits-1)
			for k := first; k < first+run; k++ {
				d.sub[k&(maxSubtables<<subBits-1)] = e
			}
			code += run
		}
	}
	return false, nil
}

// Decompress decompresses src, one whole compressed chunk, into dst, whose length
// must be exactly the chunk's uncompressed size. It returns an error (never panics)
// when src is corrupt, truncated, or does not produce exactly len(dst) bytes.
//
// Like wimlib, it does not require the end-of-data symbol and ignores
// anything after the last symbol it needs, so a dst shorter than the data
// goes unnoticed when a symbol happens to end exactly at len(dst) (WIM
// readers catch that with the blob's SHA-1). An all-zero length table is
// accepted only when dst is empty.
func (d *Decompressor) Decompress(dst, src []byte) error {
	if len(src) < tableBytes {
		return corrupt("chunk of %d bytes is shorter than the %d-byte Huffman table", len(src), tableBytes)
	}
	empty, err := d.buildTable(src)
	if err != nil {
		return err
	}
	if len(dst) == 0 {
		return nil
	}
	if empty {
		return corrupt("Huffman code at offset 0 has no symbols but %d bytes are expected", len(dst))
	}

	var (
		// Bits not yet consumed, the next one in bit 63. The bits below the
		// nbits valid ones are zero.
		bitbuf uint64
		nbits  uint
		pos    = tableBytes // next input byte
		// Words of zeros loaded past the end of src. They stand in for
		// look-ahead; consuming any of their bits means src is truncated.
		virt uint
		op   int // next output byte
	)
	n := len(dst)
	root := &d.root
	sub := &d.sub

	for op < n {
		// Refill to at least 49 bits (whole words only, as the stream
		// interleaves bytes with them): enough for several codewords, or a
		// codeword and the offset bits of a match.
		if nbits < 32 {
			if pos+8 <= len(src) {
				x := binary.LittleEndian.Uint64(src[pos:])
				// Put the first 16-bit word on top.
				x = x>>32 | x<<32
				x = x>>16&0x0000ffff0000ffff | x&0x0000ffff0000ffff<<16
				// Take the whole words that fit, dropping the rest.
				words := (64 - nbits) >> 4
				x = x >> ((64 - words<<4) & 63) << ((64 - words<<4 - nbits) & 63)
				bitbuf |= x
				nbits += words << 4
				pos += int(words) << 1
			} else {
				if virt > 0 && nbits < virt<<4 {
					return corrupt("input truncated at offset %d with %d of %d bytes decoded", len(src), op, n)
				}
				for nbits <= 48 {
					var w uint64
					if pos+2 <= len(src) {
						w = uint64(binary.LittleEndian.Uint16(src[pos:]))
						pos += 2
					} else {
						virt++
					}
					bitbuf |= w << (48 - nbits)
					nbits += 16
				}
			}
		}

		// Decode literals while at least 15 bits remain.
		var e uint32
		for {
			e = root[bitbuf>>(64-rootBits)]
			if e&entrySub != 0 {
				e = sub[int(e>>8&0x7fff)<<subBits|int(bitbuf>>(64-maxCodeLen))&(1<<subBits-1)]
			}
			if e&entryLit == 0 {
				break
			}
			dst[op] = byte(e >> 8)
			op++
			bitbuf <<= e & entryLen
			nbits -= uint(e & entryLen)
			if op >= n || nbits < maxCodeLen {
				break
			}
		}
		if e&entryLit != 0 {
			continue
		}
		bitbuf <<= e & entryLen
		nbits -= uint(e & entryLen)
		sym := uint(e >> 8 & 0x1ff)

		// A match. Its offset bits follow the codeword; they must already be
		// loaded, and so must every word Microsoft's decoder would have
		// loaded by now (at least 16 bits' worth), because extra length
		// bytes come after those words.
		if nbits < 16 {
			if pos+2 <= len(src) {
				bitbuf |= uint64(binary.LittleEndian.Uint16(src[pos:])) << (48 - nbits)
				pos += 2
			} else {
				virt++
			}
			nbits += 16
		}
		length := int(sym & 15)
		obits := (sym >> 4) & 15
		if length == 15 {
			// Give back the words loaded ahead of Microsoft's decoder
			// (which holds 16 to 31 bits here): they were bytes.
			if extra := (nbits - 16) >> 4; extra > 0 {
				v := min(extra, virt)
				virt -= v
				pos -= int(extra-v) << 1
				nbits -= extra << 4
				bitbuf &= ^(^uint64(0) >> nbits)
			}
			if pos >= len(src) {
				return corrupt("input truncated at offset %d reading a match length (%d of %d bytes decoded)", pos, op, n)
			}
			length += int(src[pos])
			pos++
			if length == 15+255 {
				if pos+2 > len(src) {
					return corrupt("input truncated at offset %d reading a match length (%d of %d bytes decoded)", pos, op, n)
				}
				length = int(binary.LittleEndian.Uint16(src[pos:]))
				pos += 2
			}
		}
		length += minMatch
		offset := int(1<<obits | bitbuf>>1>>((63-obits)&63))
		bitbuf <<= obits
		nbits -= obits

		if offset > op {
			return corrupt("match at output byte %d has offset %d, before the start of the chunk (input offset about %d)", op, offset, pos)
		}
		if length > n-op {
			return corrupt("match of length %d at output byte %d overruns the %d-byte chunk (input offset about %d)", length, op, n, pos)
		}
		from := op - offset
		end := op + length
		if offset >= 8 && length <= 40 && end+8 <= n {
			// Copy 8 bytes at a time; each load reads only bytes already
			// written, and the stores past end are overwritten later.
			for ; op < end; op, from = op+8, from+8 {
				binary.LittleEndian.PutUint64(dst[op:], binary.LittleEndian.Uint64(dst[from:]))
			}
			op = end
		} else if offset >= length {
			copy(dst[op:end], dst[from:from+length])
			op = end
		} else if offset == 1 {
			b := dst[from]
			for ; op < end; op++ {
				dst[op] = b
			}
		} else {
			// Overlapping copy: the copied region doubles each time, and
			// stays a whole number of periods behind op.
			for op < end {
				op += copy(dst[op:end], dst[from:op])
			}
		}
	}
	if nbits < virt<<4 {
		return corrupt("input truncated at offset %d: the %d-byte chunk needs more bits", len(src), n)
	}
	return nil
}
