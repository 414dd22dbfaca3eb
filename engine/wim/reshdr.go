package wim

import (
	"encoding/binary"
	"fmt"
)

// resourceHeaderSize is the size of a resource header on disk.
const resourceHeaderSize = 24

// Resource header flags (ResourceHeader.Flags).
const (
	ResFree       = 0x01 // unused space; ignored by readers
	ResMetadata   = 0x02 // image metadata, and also the blob table and XML data
	ResCompressed = 0x04 // chunked resource compressed with the file's codec
	ResSpanned    = 0x08 // historically: resource continues in the next part; ignored
	ResSolid      = 0x10 // solid resource or a blob inside one (version 0xE00 only)
)

// maxStoredSize is the largest stored size a resource header can express
// (56 bits).
const maxStoredSize = 1<<56 - 1

// solidResourceMagic is the uncompressed size recorded in the blob table
// entry that describes a solid resource itself (rather than a blob in it).
const solidResourceMagic = 0x100000000

// ResourceHeader locates a resource in a WIM file: StoredSize bytes at
// Offset, decompressing to Size bytes. On disk it is 24 bytes: a 56-bit
// stored size, 8 bits of flags, a 64-bit offset and a 64-bit size.
//
// For a blob inside a solid resource, Offset is the blob's position in the
// uncompressed data of the solid run, StoredSize is the blob's size and Size
// is zero (see BlobEntry).
type ResourceHeader struct {
	StoredSize int64
	Flags      uint8
	Offset     int64
	Size       int64
}

// IsZero reports whether every field of r is zero (an absent resource).
func (r ResourceHeader) IsZero() bool { return r == ResourceHeader{} }

// Compressed reports whether r has the compressed flag.
func (r ResourceHeader) Compressed() bool { return r.Flags&ResCompressed != 0 }

// Solid reports whether r has the solid flag.
func (r ResourceHeader) Solid() bool { return r.Flags&ResSolid != 0 }

// Metadata reports whether r has the metadata flag.
func (r ResourceHeader) Metadata() bool { return r.Flags&ResMetadata != 0 }

// End returns Offset+StoredSize, the file offset just past the resource.
func (r ResourceHeader) End() int64 { return r.Offset + r.StoredSize }

// String describes r for messages.
func (r ResourceHeader) String() string {
	return fmt.Sprintf("{stored %d at 0x%x, size %d, flags 0x%02x}", r.StoredSize, r.Offset, r.Size, r.Flags)
}

// decodeResourceHeader decodes the 24-byte on-disk form of a resource
// header. Values above the int64 range come back negative; callers validate
// them against the file size.
func decodeResourceHeader(b []byte) ResourceHeader {
	_ = b[23]
	v := binary.LittleEndian.Uint64(b[0:8])
	return ResourceHeader{
		StoredSize: int64(v & maxStoredSize),
		Flags:      uint8(v >> 56),
		Offset:     int64(binary.LittleEndian.Uint64(b[8:16])),
		Size:       int64(binary.LittleEndian.Uint64(b[16:24])),
	}
}

// Encode writes the 24-byte on-disk form of r into b. StoredSize is
// truncated to 56 bits.
func (r ResourceHeader) Encode(b []byte) {
	_ = b[23]
	binary.LittleEndian.PutUint64(b[0:8], uint64(r.StoredSize)&maxStoredSize|uint64(r.Flags)<<56)
	binary.LittleEndian.PutUint64(b[8:16], uint64(r.Offset))
	binary.LittleEndian.PutUint64(b[16:24], uint64(r.Size))
}

// appendEncode appends the 24-byte on-disk form of r to b.
func (r ResourceHeader) appendEncode(b []byte) []byte {
	var buf [resourceHeaderSize]byte
	r.Encode(buf[:])
	return append(b, buf[:]...)
}
