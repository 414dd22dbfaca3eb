//go:build !amd64

package lzms

import (
	"encoding/binary"
	"math/bits"
)

// opcodeScan returns the position of the first byte of buf[p:end] that can
// start a translated instruction (isOpcode), or a position at or past end
// when there is none; it reads up to 7 bytes past end, which buf must hold
// (amd64 tests 16 bytes at a time; see x86_amd64.go).
func opcodeScan(buf []byte, p, end int) int {
	for ; p < end; p += 8 {
		if m := opcodeBytes(binary.LittleEndian.Uint64(buf[p : p+8])); m != 0 {
			return p + bits.TrailingZeros64(m)>>3
		}
	}
	return p
}
