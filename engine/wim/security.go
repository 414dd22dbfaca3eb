package wim

import (
	"encoding/binary"
	"fmt"
)

// maxSecurityDescriptors bounds the descriptor count of one image, as the
// security id of an entry is a signed 32-bit index.
const maxSecurityDescriptors = 0x80000000

// parseSecurity reads the security data that starts a metadata resource:
// {u32 total length, u32 count, u64 size[count], descriptors}. It returns
// the descriptors (nil for a zero-length one) and the offset of the root
// directory entry: the total length, rounded up to 8.
func parseSecurity(data []byte) ([][]byte, uint64, error) {
	if len(data) < 8 {
		return nil, 0, &FormatError{Offset: int64(len(data)), Msg: fmt.Sprintf("metadata resource of %d bytes is too short for its security data", len(data))}
	}
	le := binary.LittleEndian
	total := align8(uint64(le.Uint32(data[0:])))
	count := uint64(le.Uint32(data[4:]))
	if total == 0 {
		total = 8 // a zero length means just the two u32 fields
	}
	if total > uint64(len(data)) {
		return nil, 0, &FormatError{Offset: 0, Msg: fmt.Sprintf("security data length %d exceeds the metadata resource (%d bytes)", total, len(data))}
	}
	if count > maxSecurityDescriptors {
		return nil, 0, &FormatError{Offset: 4, Msg: fmt.Sprintf("security descriptor count %d is too large", count)}
	}
	// The sizes array and every descriptor must fit in the total length,
	// which bounds count by the data actually present.
	fixed := 8 + 8*count
	if fixed > total {
		return nil, 0, &FormatError{Offset: 4, Msg: fmt.Sprintf("%d security descriptor sizes do not fit in the security data (%d bytes)", count, total)}
	}
	descs := make([][]byte, count)
	pos := fixed
	for i := uint64(0); i < count; i++ {
		size := le.Uint64(data[8+8*i:])
		if size > total-pos {
			return nil, 0, &FormatError{Offset: int64(8 + 8*i), Msg: fmt.Sprintf("security descriptor %d (%d bytes at offset %d) runs past the security data (%d bytes)", i, size, pos, total)}
		}
		if size > 0 {
			descs[i] = append([]byte(nil), data[pos:pos+size]...)
		}
		pos += size
	}
	return descs, total, nil
}

// align8 rounds n up to a multiple of 8 (n must be below 2^64-7).
func align8(n uint64) uint64 { return (n + 7) &^ 7 }
